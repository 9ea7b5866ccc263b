"""SQS errors as data: each knows its JSON shape name, its query-protocol code and its HTTP
status, so both wire protocols answer with what the SDKs expect (docs/aws-behaviour.md
section 4.4)."""

from __future__ import annotations

# shape name -> (query code, HTTP status)
_MODELLED: dict[str, tuple[str, int]] = {
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "QueueDeletedRecently": ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
    "InvalidAttributeName": ("InvalidAttributeName", 400),
    "InvalidAttributeValue": ("InvalidAttributeValue", 400),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", 404),
    "InvalidIdFormat": ("InvalidIdFormat", 400),
    "MessageNotInflight": ("AWS.SimpleQueueService.MessageNotInflight", 400),
    "TooManyEntriesInBatchRequest": ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "InvalidBatchEntryId": ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    "BatchRequestTooLong": ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
    "InvalidMessageContents": ("InvalidMessageContents", 400),
    "OverLimit": ("OverLimit", 403),
    "PurgeQueueInProgress": ("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    "UnsupportedOperation": ("AWS.SimpleQueueService.UnsupportedOperation", 400),
    "InvalidAddress": ("InvalidAddress", 404),
    "InvalidSecurity": ("InvalidSecurity", 403),
    "RequestThrottled": ("RequestThrottled", 403),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
}

# Common errors that are not in the service model: the same code in both protocols.
_COMMON: dict[str, int] = {
    "InvalidParameterValue": 400,
    "MissingParameter": 400,
    "InvalidAction": 400,
    "InvalidParameterCombination": 400,
    "InvalidQueryParameter": 400,
    "MalformedQueryString": 404,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "SerializationException": 400,
    "UnknownOperationException": 400,
}


class SqsError(Exception):
    """An SQS error reply. ``shape`` is what the JSON protocol puts after ``#`` in ``__type``."""

    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        if shape in _MODELLED:
            self.query_code, self.status = _MODELLED[shape]
        elif shape in _COMMON:
            self.query_code, self.status = shape, _COMMON[shape]
        else:
            raise ValueError(f"unknown SQS error {shape}")
        self.shape = shape
        self.message = message

    @property
    def sender_fault(self) -> bool:
        return self.status < 500

    def __repr__(self) -> str:
        return f"SqsError({self.shape!r}, {self.message!r})"


def invalid_value(name: str, value: object, reason: str) -> SqsError:
    return SqsError(
        "InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Reason: {reason}"
    )


def missing(name: str) -> SqsError:
    return SqsError("MissingParameter", f"The request must contain the parameter {name}.")


def no_queue() -> SqsError:
    return SqsError("QueueDoesNotExist", "The specified queue does not exist.")
