"""The query protocol with XML answers: what older SDKs speak, such as aws-sdk v2 for JavaScript,
which the book's producer and worker use. Flattened form names (``Attribute.1.Name``) are mapped
to and from the API member names the service works in.

Requests come as a POSTed form or as a GET with the parameters in the URL, and a client that
accepts ``application/json`` gets the same answer as JSON (docs/aws-behaviour.md section 4.3)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from emulator.sqs.errors import SqsError

XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
JSON_CONTENT_TYPE = "application/json"
# What AWS answers a GET of a queue URL without an Action: a bare element, status 404, whatever
# the Accept header asks for (recorded on AWS in LocalStack's TestSqsQueryApi).
UNKNOWN_OPERATION = b"<UnknownOperationException/>"
# Actions that a queue URL does not take (recorded on AWS: GET of a queue URL with
# Action=CreateQueue or ListQueues answers InvalidAction; POST is unverified).
_NOT_ON_QUEUE_URL = frozenset({"CreateQueue", "ListQueues"})
# An XML parser turns a bare CR into LF, so a body's CR travels as a character reference.
_XML_ENTITIES = {"\r": "&#xD;"}
# Characters XML 1.0 cannot carry at all, even as references; only error messages that echo a
# client's input can hold them (stored messages are checked against SQS's narrower set).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# form prefix -> (API member, kind); kind is "list", "map:<key>:<value>" or "entries"
_FORM_NAMES: dict[str, tuple[str, str]] = {
    "AttributeName": ("AttributeNames", "list"),
    "MessageSystemAttributeName": ("MessageSystemAttributeNames", "list"),
    "MessageAttributeName": ("MessageAttributeNames", "list"),
    "TagKey": ("TagKeys", "list"),
    # AddPermission: the WSDL's names, and the ones SDKs built from today's model send
    "AWSAccountId": ("AWSAccountIds", "list"),
    "AWSAccountIds": ("AWSAccountIds", "list"),
    "ActionName": ("Actions", "list"),
    "Actions": ("Actions", "list"),
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
    "Results": "Results",  # ListMessageMoveTasks: a flattened list without a member name
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
        # An empty list travels as the bare name (``SendMessageBatchRequestEntry=``).
        items = [] if value == "" else _indexed(value, key)
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


def read_form(query: str, body: bytes | None) -> dict[str, str]:
    """The parameters of a query-protocol request: the URL's query string (a GET, or a POST that
    puts some there) with the form body's over it. Percent-escapes must decode as UTF-8: SQS
    refuses other bytes rather than store a changed message."""
    form: dict[str, str] = {}
    for part in (query, body):
        if not part:
            continue
        try:
            raw = part.encode("utf-8") if isinstance(part, str) else part
            form.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict"))
        except UnicodeError:
            raise SqsError(
                "MalformedInput", "The request is not valid UTF-8 once its escapes are decoded."
            ) from None
    return form


def is_queue_path(path: str) -> bool:
    """``/ACCOUNT/NAME``, or the path-style ``/queue/REGION/ACCOUNT/NAME`` (``queue_urls``)."""
    parts = [p for p in path.split("/") if p]
    return len(parts) == 2 or (len(parts) == 4 and parts[0] == "queue")


def decode(form: dict[str, str], path: str) -> tuple[str, dict[str, Any]]:
    """(action, params) from a query-protocol form; the queue URL may be the request path, and
    then a QueueUrl parameter still wins (as AWS does)."""
    action = form.get("Action")
    if not action:
        raise SqsError("MissingParameter", "The request must contain the parameter Action.")
    on_queue_url = is_queue_path(path)
    if on_queue_url and action in _NOT_ON_QUEUE_URL:
        raise SqsError("InvalidAction", f"The action {action} is not valid for this endpoint.")
    tree = _nest({k: v for k, v in form.items() if k not in ("Action", "Version")})
    params = _convert(tree)
    if action == "CreateQueue" and "Tags" in params:
        params["tags"] = params.pop("Tags")
    if "QueueUrl" not in params and on_queue_url:
        params["QueueUrl"] = path
    return action, params


def _text(value: Any) -> str:
    return escape(value if isinstance(value, str) else str(value), _XML_ENTITIES)


def _element(name: str, value: Any) -> str:
    """One scalar member; XML spells booleans in lower case (a batch entry's SenderFault)."""
    text = ("true" if value else "false") if isinstance(value, bool) else value
    return f"<{name}>{_text(text)}</{name}>"


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
                body = _members(inner, action) if isinstance(inner, dict) else _text(inner)
                out.append(f"<{item}>{_element(k, name)}<{v}>{body}</{v}></{item}>")
        elif isinstance(value, dict):
            out.append(f"<{key}>{_members(value, action)}</{key}>")
        else:
            out.append(_element(key, value))
    return "".join(out)


# Actions whose empty result still has its (empty) Result element.
_EMPTY_RESULT = frozenset({"ReceiveMessage", "ListQueues", "GetQueueAttributes", "ListQueueTags"})


def encode(action: str, reply: dict[str, Any], request_id: str) -> bytes:
    result = f"<{action}Result>{_members(reply, action)}</{action}Result>" if reply else ""
    if not reply and action in _EMPTY_RESULT:
        result = f"<{action}Result/>"
    return (
        f'<?xml version="1.0"?><{action}Response xmlns="{XMLNS}">{result}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    ).encode()


def _json_members(node: dict[str, Any]) -> dict[str, Any]:
    """A reply in the query protocol's JSON form: API member names, with each map a list of
    entries named as the XML names them (``{"Name": ..., "Value": ...}``)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _MAP_ITEMS and isinstance(value, dict):
            _, k, v = _MAP_ITEMS[key]
            out[key] = [{k: name, v: inner} for name, inner in value.items()]
        elif isinstance(value, list):
            out[key] = [_json_members(x) if isinstance(x, dict) else x for x in value]
        elif isinstance(value, dict):
            out[key] = _json_members(value)
        else:
            out[key] = value
    return out


def encode_json(action: str, reply: dict[str, Any], request_id: str) -> bytes:
    """The answer to a query-protocol request that accepts ``application/json``: the XML
    document's structure in JSON (recorded on AWS for GetQueueAttributes: ``{"Get...Response":
    {"Get...Result": {"Attributes": [{"Name", "Value"}, ...]}}}``)."""
    response: dict[str, Any] = {}
    if reply or action in _EMPTY_RESULT:
        response[f"{action}Result"] = _json_members(reply)
    response["ResponseMetadata"] = {"RequestId": request_id}
    return json.dumps({f"{action}Response": response}, separators=(",", ":")).encode()


def _error_fields(error: SqsError) -> tuple[str, str, str]:
    fault = "Sender" if error.sender_fault else "Receiver"
    return fault, error.query_code, _NOT_XML.sub("\ufffd", error.query_message)


def encode_error(error: SqsError, request_id: str) -> tuple[int, bytes]:
    fault, code, message = _error_fields(error)
    body = (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{XMLNS}"><Error><Type>{fault}</Type>'
        f"<Code>{_text(code)}</Code><Message>{_text(message)}</Message>"
        f"<Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return error.status, body.encode()


def encode_error_json(error: SqsError, request_id: str) -> tuple[int, bytes]:
    """The error in the query protocol's JSON form (recorded on AWS: ``Error.Code`` and
    ``Error.Message``, status as in XML)."""
    fault, code, message = _error_fields(error)
    body = {"Error": {"Type": fault, "Code": code, "Message": message}, "RequestId": request_id}
    return error.status, json.dumps(body, separators=(",", ":")).encode()
