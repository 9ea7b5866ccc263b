"""The query protocol with XML answers: what older SDKs speak, such as aws-sdk v2 for JavaScript,
which the book's producer and worker use. Flattened form names (``Attribute.1.Name``) are mapped
to and from the API member names the service works in."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from emulator.sqs.errors import SqsError

XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"

# form prefix -> (API member, kind); kind is "list", "map:<key>:<value>" or "entries"
_FORM_NAMES: dict[str, tuple[str, str]] = {
    "AttributeName": ("AttributeNames", "list"),
    "MessageSystemAttributeName": ("MessageSystemAttributeNames", "list"),
    "MessageAttributeName": ("MessageAttributeNames", "list"),
    "TagKey": ("TagKeys", "list"),
    "Attribute": ("Attributes", "map:Name:Value"),
    "Attributes": ("Attributes", "map:key:value"),
    "Tag": ("Tags", "map:Key:Value"),
    "Tags": ("Tags", "map:key:value"),
    "MessageAttribute": ("MessageAttributes", "attrs"),
    "MessageSystemAttribute": ("MessageSystemAttributes", "attrs"),
    "SendMessageBatchRequestEntry": ("Entries", "entries"),
    "DeleteMessageBatchRequestEntry": ("Entries", "entries"),
    "ChangeMessageVisibilityBatchRequestEntry": ("Entries", "entries"),
}
# reply member -> element name of each item
_LIST_ITEMS = {
    "QueueUrls": "QueueUrl",
    "queueUrls": "QueueUrl",
    "Messages": "Message",
    "Failed": "BatchResultErrorEntry",
}
_MAP_ITEMS = {
    "Attributes": ("Attribute", "Name", "Value"),
    "MessageAttributes": ("MessageAttribute", "Name", "Value"),
    "Tags": ("Tag", "Key", "Value"),
}
_SUCCESS_ITEMS = {
    "SendMessageBatch": "SendMessageBatchResultEntry",
    "DeleteMessageBatch": "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchResultEntry",
}


def _nest(form: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in form.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SqsError("MalformedQueryString", f"Parameter {key} conflicts with another.")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise SqsError("MalformedQueryString", f"Parameter {key} conflicts with another.")
        node[parts[-1]] = value
    return tree


def _indexed(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        raise SqsError("MalformedQueryString", f"{name} must be numbered: {name}.1, {name}.2, ...")
    try:
        keys = sorted(node, key=int)
    except ValueError:
        raise SqsError(
            "MalformedQueryString", f"{name} must be numbered: {name}.1, {name}.2, ..."
        ) from None
    return [node[k] for k in keys]


def _attr_value(node: Any, name: str) -> dict[str, Any]:
    value = node.get("Value") if isinstance(node, dict) else None
    if not isinstance(value, dict):
        raise SqsError("MissingParameter", f"The request must contain {name}.Value.DataType.")
    return value


def _convert(tree: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in tree.items():
        if key not in _FORM_NAMES:
            params[key] = value
            continue
        member, kind = _FORM_NAMES[key]
        items = _indexed(value, key)
        if kind == "list":
            params[member] = items
        elif kind == "entries":
            params[member] = [_convert(item) if isinstance(item, dict) else item for item in items]
        elif kind == "attrs":
            params[member] = {
                item.get("Name"): _attr_value(item, key) for item in items if isinstance(item, dict)
            }
        else:
            _, k, v = kind.split(":")
            params[member] = {item.get(k): item.get(v) for item in items if isinstance(item, dict)}
    return params


def decode(form: dict[str, str], path: str) -> tuple[str, dict[str, Any]]:
    """(action, params) from a query-protocol form; the queue URL may be the request path."""
    action = form.get("Action")
    if not action:
        raise SqsError("MissingParameter", "The request must contain the parameter Action.")
    tree = _nest({k: v for k, v in form.items() if k not in ("Action", "Version")})
    params = _convert(tree)
    if action == "CreateQueue" and "Tags" in params:
        params["tags"] = params.pop("Tags")
    segments = [p for p in path.split("/") if p]
    if "QueueUrl" not in params and len(segments) == 2:
        params["QueueUrl"] = path
    return action, params


def _element(name: str, value: Any) -> str:
    """One scalar member; XML spells booleans in lower case (a batch entry's SenderFault)."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"<{name}>{escape(text)}</{name}>"


def _members(reply: dict[str, Any], action: str) -> str:
    out = []
    for key, value in reply.items():
        if key == "Successful":
            out += [
                f"<{_SUCCESS_ITEMS[action]}>{_members(v, action)}</{_SUCCESS_ITEMS[action]}>"
                for v in value
            ]
        elif key in _LIST_ITEMS and isinstance(value, list):
            item = _LIST_ITEMS[key]
            out += [
                f"<{item}>{_members(v, action)}</{item}>"
                if isinstance(v, dict)
                else _element(item, v)
                for v in value
            ]
        elif key in _MAP_ITEMS and isinstance(value, dict):
            item, k, v = _MAP_ITEMS[key]
            for name, inner in value.items():
                body = _members(inner, action) if isinstance(inner, dict) else escape(str(inner))
                out.append(f"<{item}>{_element(k, name)}<{v}>{body}</{v}></{item}>")
        elif isinstance(value, dict):
            out.append(f"<{key}>{_members(value, action)}</{key}>")
        else:
            out.append(_element(key, value))
    return "".join(out)


def encode(action: str, reply: dict[str, Any], request_id: str) -> bytes:
    result = f"<{action}Result>{_members(reply, action)}</{action}Result>" if reply else ""
    if not reply and action in (
        "ReceiveMessage",
        "ListQueues",
        "GetQueueAttributes",
        "ListQueueTags",
    ):
        result = f"<{action}Result/>"
    return (
        f'<?xml version="1.0"?><{action}Response xmlns="{XMLNS}">{result}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    ).encode()


def encode_error(error: SqsError, request_id: str) -> tuple[int, bytes]:
    fault = "Sender" if error.sender_fault else "Receiver"
    body = (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{XMLNS}"><Error><Type>{fault}</Type>'
        f"<Code>{escape(error.query_code)}</Code><Message>{escape(error.message)}</Message>"
        f"<Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return error.status, body.encode()
