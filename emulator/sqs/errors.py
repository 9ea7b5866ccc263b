"""SQS errors as data: each knows its JSON ``__type``, its query-protocol code and its HTTP
status, so both wire protocols answer with what the SDKs expect (docs/aws-behaviour.md
section 4.4). Where AWS words the same error differently per protocol or inside a batch, that
wording is data here too, so the engine raises one error and each wire says it as AWS does."""

from __future__ import annotations

# Errors in the service model: name -> (query code, HTTP status). The JSON ``__type`` is
# ``com.amazonaws.sqs#<name>``.
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

# Common errors, not in the model: name (= query code) -> (JSON ``__type``, HTTP status). AWS
# names some of them differently in JSON: botocore shows the JSON name as ``QueryErrorCode``
# (InvalidParameterValueException, MissingRequiredParameterException), recorded on AWS in
# LocalStack's parity snapshots; the ``com.amazon.coral.service`` namespace is unverified.
_CORAL = "com.amazon.coral.service#"
_COMMON: dict[str, tuple[str, int]] = {
    "InvalidParameterValue": (_CORAL + "InvalidParameterValueException", 400),
    "MissingParameter": (_CORAL + "MissingRequiredParameterException", 400),
    "InvalidAction": (_CORAL + "InvalidAction", 400),
    "InvalidParameterCombination": (_CORAL + "InvalidParameterCombination", 400),
    "InvalidQueryParameter": (_CORAL + "InvalidQueryParameter", 400),
    "MalformedQueryString": (_CORAL + "MalformedQueryString", 404),
    "MalformedInput": (_CORAL + "SerializationException", 400),
    "InternalFailure": (_CORAL + "InternalFailure", 500),
    "ServiceUnavailable": (_CORAL + "ServiceUnavailable", 503),
    "UnknownOperationException": (_CORAL + "UnknownOperationException", 400),
}

# The query protocol words some errors otherwise (recorded on AWS: GetQueueAttributes on a
# deleted queue over the query protocol; the JSON protocol says the plain sentence).
_QUERY_WORDING: dict[str, str] = {
    "The specified queue does not exist.": (
        "The specified queue does not exist for this wsdl version."
    ),
}

# A batch entry's error words the start of some messages otherwise than the single call does
# (recorded on AWS: an oversize SendMessageBatch entry).
_BATCH_WORDING: dict[str, str] = {
    "One or more parameters are invalid. ": "One or more parameters cannot be validated. ",
}


class SqsError(Exception):
    """An SQS error reply. ``shape`` names it: the model's shape, or the common error's code."""

    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        if shape in _MODELLED:
            self.query_code, self.status = _MODELLED[shape]
            self.json_type = f"com.amazonaws.sqs#{shape}"
        elif shape in _COMMON:
            self.json_type, self.status = _COMMON[shape]
            self.query_code = shape
        else:
            raise ValueError(f"unknown SQS error {shape}")
        self.shape = shape
        self.message = message

    @property
    def sender_fault(self) -> bool:
        return self.status < 500

    @property
    def query_message(self) -> str:
        """The message as the query protocol says it."""
        return _QUERY_WORDING.get(self.message, self.message)

    def __repr__(self) -> str:
        return f"SqsError({self.shape!r}, {self.message!r})"


def in_batch(error: SqsError) -> SqsError:
    """The error as a batch entry reports it, which for a few messages is worded otherwise."""
    for single, batch in _BATCH_WORDING.items():
        if error.message.startswith(single):
            return SqsError(error.shape, batch + error.message[len(single) :])
    return error


def invalid_value(name: str, value: object, reason: str) -> SqsError:
    return SqsError(
        "InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Reason: {reason}"
    )


def missing(name: str) -> SqsError:
    return SqsError("MissingParameter", f"The request must contain the parameter {name}.")


def no_queue() -> SqsError:
    return SqsError("QueueDoesNotExist", "The specified queue does not exist.")
