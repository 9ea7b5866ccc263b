"""Typed settings that carry their own documentation.

Both processes declare their settings the same way: a frozen dataclass whose fields are made
with ``setting(default, "what it is", ...)``. From those declarations this module parses
strings (environment variables on the lab side, command-line options on the emulator side)
into checked values, turns a settings object back into command-line options, and writes the
reference table of ``docs/configuration.md``. A default is written once, in its declaration.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

Check = Callable[[Any], None]  # raises ValueError with the reason in words
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingError(ValueError):
    """A setting that cannot be used; the message names it and says why."""


def setting(
    default: Any,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: Iterable[str] = (),
    check: Check | None = None,
    shown: str | None = None,
) -> Any:
    """A dataclass field with its meaning and the values it accepts; ``shown`` is how the
    reference writes a default that depends on the machine (a path in the checkout)."""
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "lo": lo,
            "hi": hi,
            "choices": tuple(choices),
            "check": check,
            "shown": shown,
        },
    )


def declared(cls: type) -> list[tuple[dataclasses.Field[Any], type]]:
    """The settings of ``cls`` with their types, in declaration order."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if "help" in f.metadata]


def parse(field: dataclasses.Field[Any], kind: type, raw: str, label: str) -> Any:
    """``raw`` as the field's type, checked; ``label`` names it in errors (``LAB_PORT``)."""
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                value: Any = True
            elif text.lower() in _FALSE:
                value = False
            else:
                raise ValueError("is not on or off (true/false, 1/0, yes/no)")
        elif kind is int:
            value = int(text)
        elif kind is float:
            value = float(text)
        elif kind is Path:
            value = Path(text).expanduser().resolve()
        else:
            value = raw
    except ValueError as exc:
        reason = str(exc) if kind is bool else f"is not {_article(kind)}"
        raise SettingError(f"{label}={raw!r} {reason}") from None
    check(field, value, label)
    return value


def check(field: dataclasses.Field[Any], value: Any, label: str) -> None:
    """Whether ``value`` is one the field accepts; raises ``SettingError`` saying why not."""
    meta = field.metadata
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SettingError(f"{label}={value!r} must be {_range(lo, hi)}")
    choices = meta.get("choices") or ()
    if choices and value not in choices:
        raise SettingError(f"{label}={value!r} must be one of {', '.join(choices)}")
    extra = meta.get("check")
    if extra is not None:
        try:
            extra(value)
        except ValueError as exc:
            raise SettingError(f"{label}={value!r} {exc}") from None


def check_all(obj: Any, label: Callable[[str], str]) -> None:
    """Check every setting of a settings object (for values given in code, not parsed)."""
    for field, _ in declared(type(obj)):
        check(field, getattr(obj, field.name), label(field.name))


def from_strings(cls: type, raw: Mapping[str, str], label: Callable[[str], str]) -> dict[str, Any]:
    """Parsed values for the fields named in ``raw`` (field name -> text)."""
    values = {}
    for field, kind in declared(cls):
        if field.name in raw:
            values[field.name] = parse(field, kind, raw[field.name], label(field.name))
    return values


def option(name: str) -> str:
    """The option of a field: ``listener_port_offset`` -> ``--listener-port-offset``."""
    return "--" + name.replace("_", "-")


def to_argv(obj: Any) -> list[str]:
    """Command-line options for every setting that differs from its default."""
    argv: list[str] = []
    for field, kind in declared(type(obj)):
        value = getattr(obj, field.name)
        if value == field.default:
            continue
        if kind is bool:
            argv.append(option(field.name) if value else "--no-" + option(field.name)[2:])
        else:
            argv += [option(field.name), str(value)]
    return argv


def default_text(field: dataclasses.Field[Any]) -> str:
    if field.metadata.get("shown"):
        return field.metadata["shown"]
    value = field.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == "":
        return "(empty)"
    return str(value)


def reference_rows(cls: type, label: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """(name, default, meaning) for each setting, for the configuration reference."""
    rows = []
    for field, _ in declared(cls):
        meaning = field.metadata["help"]
        lo, hi = field.metadata.get("lo"), field.metadata.get("hi")
        if lo is not None or hi is not None:
            meaning += f" ({_range(lo, hi)})"
        if field.metadata.get("choices"):
            meaning += f" (one of {', '.join(field.metadata['choices'])})"
        rows.append((label(field.name), default_text(field), meaning))
    return rows


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    if lo is not None:
        return f"at least {lo:g}"
    return f"at most {hi:g}"


def _article(kind: type) -> str:
    return {int: "a whole number", float: "a number", Path: "a path"}.get(kind, kind.__name__)
