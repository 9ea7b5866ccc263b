"""``--target`` and ``--endpoint`` on every command that talks to the cloud: the same choice a
class can make once with ``LAB_TARGET`` and ``LAB_ENDPOINT_URL``, for one command."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from emulator import settings
from lab.config import TARGETS, ConfigError, LabConfig
from lab.runtime import LabError

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_KEY = "lab.config"  # in click's context meta: the configuration a command ran with


def _apply(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Put the option's value into this command's configuration (children inherit it)."""
    if value is None:
        return value
    config = ctx.find_object(LabConfig) or LabConfig.from_env()
    (field,) = [f for f in dataclasses.fields(LabConfig) if f.name == param.name]
    try:
        settings.check(field, value, "--" + str(param.opts[0]).lstrip("-"))
    except ConfigError as exc:
        raise LabError(str(exc)) from None
    ctx.obj = dataclasses.replace(config, **{field.name: value})
    return value


def _settled(command: F) -> F:
    """Run ``command`` with the configuration its target completes (``--target aws``: the
    bucket named after the account, since bucket names are global), once every option of the
    command has been applied."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        config = ctx.find_object(LabConfig)
        if config is not None and config.target == "aws":
            from lab.targets import aws

            ctx.obj = config = aws.settle(config)
        ctx.meta[CONFIG_KEY] = config  # meta is shared: `lab`'s error handler reads it
        return command(*args, **kwargs)

    return run  # type: ignore[return-value]


def cloud_options(command: F) -> F:
    """Add ``--target`` and ``--endpoint`` to a click command or group."""
    command = _settled(command)
    command = click.option(
        "--endpoint",
        "endpoint_url",
        metavar="URL",
        expose_value=False,
        callback=_apply,
        help="the cloud's AWS endpoint (default: the target's own; LAB_ENDPOINT_URL)",
    )(command)
    return click.option(
        "--target",
        type=click.Choice(TARGETS),
        expose_value=False,
        callback=_apply,
        is_eager=True,
        help="where the lab's cloud runs (default: lab, the embedded emulator; LAB_TARGET)",
    )(command)
