"""What an event is, for every reader and publisher.

An event type is a frozen dataclass whose class names its ``type`` (``service.what``) and who
publishes it, and whose fields say what happened. Fields carry their meaning
(``described("...")``), so ``docs/events.md`` is written from the classes themselves and cannot
drift from them (``emulator.events.reference``).

The log adds the envelope when an event is published: the schema version, the stream id, the
id and the time (see ``emulator.events.log``). Those names are reserved; no event type may use
them for a field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

# Raised when a field is removed or renamed or changes its meaning. New event types and new
# fields can appear without a new version: readers skip what they do not know.
SCHEMA = 1
ENVELOPE = ("schema", "stream", "id", "type", "at")


def described(
    meaning: str,
    default: Any = dataclasses.MISSING,
    *,
    kw_only: bool = False,
    omit_empty: bool = False,
) -> Any:
    """A field of an event type, with the meaning docs/events.md shows for it. ``kw_only``: a
    base class's field with a default, which its subclasses' fields without one may follow.
    ``omit_empty``: left out of the JSON while it is ``""``, for a field most events of the type
    do not need (readers then see the events as before it existed)."""
    metadata = {"doc": meaning, "omit_empty": omit_empty}
    if kw_only:
        return dataclasses.field(default=default, kw_only=True, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event type. Subclasses set ``type`` and ``publisher`` and add fields."""

    type: ClassVar[str] = ""
    # The module that publishes it, as a path from the repository's root.
    publisher: ClassVar[str] = ""


def field_names(kind: type[Event]) -> tuple[str, ...]:
    """The fields of an event type in declaration order (base class fields first), which is
    also their order in the JSON form."""
    return tuple(f.name for f in dataclasses.fields(kind))


def omitted_when_empty(kind: type[Event]) -> frozenset[str]:
    """The fields of an event type that its JSON leaves out while they are ``""``."""
    return frozenset(f.name for f in dataclasses.fields(kind) if f.metadata.get("omit_empty"))


def check_type(kind: type[Event]) -> None:
    """Refuse an event type that readers could not tell apart or that would overwrite the
    envelope: called by the catalog for every type it lists."""
    if not dataclasses.is_dataclass(kind) or not kind.__dataclass_params__.frozen:
        raise TypeError(f"{kind.__name__} must be a frozen dataclass")
    if not kind.type or "." not in kind.type:
        raise TypeError(f"{kind.__name__} needs a type like 'service.what'")
    if not kind.publisher:
        raise TypeError(f"{kind.__name__} needs a publisher")
    doc = (kind.__doc__ or "").strip()
    if not doc or doc.startswith(kind.__name__ + "("):  # dataclass writes a signature there
        raise TypeError(f"{kind.__name__} needs a docstring saying when it happens")
    taken = set(field_names(kind)) & set(ENVELOPE)
    if taken:
        raise TypeError(f"{kind.__name__} uses envelope names {sorted(taken)} for fields")
    for f in dataclasses.fields(kind):
        if not f.metadata.get("doc"):
            raise TypeError(f"{kind.__name__}.{f.name} needs a meaning: use described()")
