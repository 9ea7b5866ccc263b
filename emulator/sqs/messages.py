"""Message contents: what SQS accepts (sizes, characters, attributes; docs/aws-behaviour.md
sections 2.1-2.3) and the MD5 digests the SDKs verify (section 2.5)."""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from emulator.sqs.errors import SqsError, invalid_value

_INVALID_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")
_DATA_TYPE = re.compile(r"^(String|Number|Binary)(\.[^\s]{1,250})?$")
MAX_ATTRIBUTES = 10


@dataclass(frozen=True, slots=True)
class AttributeValue:
    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def size(self) -> int:
        value = self.binary_value if self.binary_value is not None else self.string_value or ""
        raw = value if isinstance(value, bytes) else value.encode()
        return len(self.data_type.encode()) + len(raw)


def check_body(body: object) -> str:
    if not isinstance(body, str):
        raise invalid_value(
            "MessageBody", type(body).__name__, "The message body must be a string."
        )
    if body == "":
        raise invalid_value(
            "MessageBody", "(empty)", "The message body must be at least 1 character."
        )
    bad = _INVALID_CHARS.search(body)
    if bad:
        raise SqsError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, "
            "the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | "
            "[#xE000-#xFFFD] | [#x10000-#x10FFFF].",
        )
    return body


def check_attributes(attributes: dict[str, AttributeValue], *, system: bool = False) -> None:
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid_value(
            "MessageAttributes",
            len(attributes),
            f"At most {MAX_ATTRIBUTES} attributes per message.",
        )
    for name, value in attributes.items():
        if system:
            if name != "AWSTraceHeader":
                raise invalid_value(
                    "MessageSystemAttributes", name, "Only AWSTraceHeader is allowed."
                )
            if value.data_type != "String":
                raise invalid_value(
                    "MessageSystemAttributes", name, "AWSTraceHeader must be String."
                )
        elif not _valid_name(name):
            raise invalid_value("MessageAttributeName", name, "The attribute name is not valid.")
        if not _DATA_TYPE.match(value.data_type):
            raise invalid_value(
                f"MessageAttributes.{name}.DataType",
                value.data_type,
                "The type must be String, Number or Binary, with an optional custom label.",
            )
        base = value.data_type.split(".", 1)[0]
        if base == "Binary":
            if value.binary_value is None or value.binary_value == b"":
                raise SqsError(
                    "InvalidParameterValue",
                    f"Message ({'system' if system else 'user'}) attribute '{name}' must "
                    f"contain a non-empty value of type '{value.data_type}'.",
                )
        else:
            if not value.string_value:
                raise SqsError(
                    "InvalidParameterValue",
                    f"Message ({'system' if system else 'user'}) attribute '{name}' must "
                    f"contain a non-empty value of type '{value.data_type}'.",
                )
            if base == "Number" and not _is_number(value.string_value):
                raise invalid_value(
                    f"MessageAttributes.{name}", value.string_value, "Not a valid number."
                )
            bad = _INVALID_CHARS.search(value.string_value)
            if bad:
                raise SqsError(
                    "InvalidMessageContents",
                    f"Invalid character U+{ord(bad.group()):04X} in attribute {name}.",
                )


def _valid_name(name: str) -> bool:
    return not (
        not _ATTRIBUTE_NAME.match(name)
        or name.lower().startswith(("aws.", "amazon."))
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    )


def select_attributes(
    attributes: dict[str, AttributeValue], wanted: list[str]
) -> dict[str, AttributeValue] | None:
    """The message attributes a ReceiveMessage's ``MessageAttributeNames`` select, or None
    when it selects nothing at all (then the reply has no MessageAttributes member).

    As recorded on AWS: ``All``, ``*`` and ``.*`` select every attribute; ``prefix.*`` every
    name that starts with ``prefix`` (``Hel.*`` takes ``Hello`` and ``Help.Me``); other names
    match exactly. Names that are not valid attribute names are ignored, and a list with only
    those selects nothing, while valid names that match none select an empty map."""
    if not wanted:
        return None
    if "All" in wanted or "*" in wanted or ".*" in wanted:
        return dict(attributes)
    exact = set()
    prefixes = []
    for name in wanted:
        if name.endswith(".*"):
            if _valid_name(name[:-2]):
                prefixes.append(name[:-2])
        elif _valid_name(name):
            exact.add(name)
    if not exact and not prefixes:
        return None
    starts = tuple(prefixes)
    return {k: v for k, v in attributes.items() if k in exact or (starts and k.startswith(starts))}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    digits = len(re.sub(r"[^0-9]", "", text.split("e")[0].split("E")[0]))
    return digits <= 38


def message_size(body: str, attributes: dict[str, AttributeValue]) -> int:
    """What counts against MaximumMessageSize: the body and the message attributes."""
    return len(body.encode()) + sum(len(n.encode()) + v.size for n, v in attributes.items())


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode()).hexdigest()


def md5_of_attributes(attributes: dict[str, AttributeValue]) -> str | None:
    if not attributes:
        return None
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        for part in (name.encode(), value.data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if value.binary_value is not None:
            digest.update(b"\x02" + struct.pack(">I", len(value.binary_value)) + value.binary_value)
        else:
            raw = (value.string_value or "").encode()
            digest.update(b"\x01" + struct.pack(">I", len(raw)) + raw)
    return digest.hexdigest()
