"""Writes docs/cli.md from the real ``--help`` output of every ``lab`` command, so the reference
cannot drift from the code (a test fails when docs/cli.md is stale).

    python -m lab.cli_reference > docs/cli.md
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from lab.cli import main


def _commands(group: click.Group, path: list[str]) -> list[list[str]]:
    out = [path]
    ctx = click.Context(group, info_name=path[-1] if path else "lab")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            out += _commands(command, [*path, name])
        elif command is not None:
            out.append([*path, name])
    return out


def reference() -> str:
    runner = CliRunner()
    parts = [
        "# `lab` command reference\n",
        "Generated from `lab ... --help` by `python -m lab.cli_reference > docs/cli.md`; "
        "do not edit by hand.\n",
    ]
    for path in _commands(main, []):
        result = runner.invoke(main, [*path, "--help"], prog_name="lab", terminal_width=100)
        title = " ".join(["lab", *path])
        parts.append(f"## `{title}`\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
