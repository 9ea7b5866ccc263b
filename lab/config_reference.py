"""Writes docs/configuration.md from the settings' own declarations, so the reference cannot
drift from the code (a test fails when docs/configuration.md is stale).

    python -m lab.config_reference > docs/configuration.md
"""

from __future__ import annotations

import dataclasses

from emulator import settings as st
from lab.config import ENV_PREFIX, LabConfig, env_name

INTRO = """\
# Configuration reference

Generated from the settings' own declarations (`lab/config.py`, `emulator/config.py`) by
`python -m lab.config_reference > docs/configuration.md`; do not edit by hand.

Every setting of the lab is a `LAB_*` environment variable, read once, by
`LabConfig.from_env()`: the `lab` command, the TUI, notebooks and tests all start there.
Settings passed to the emulator are handed to it by `lab up` as command-line options
(`python -m emulator --help` lists them, `LAB_LISTENER_PORT_OFFSET` being
`--listener-port-offset`); the emulator reads no environment of its own. A bad value stops the
command with one sentence naming the variable and what it accepts.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def reference() -> str:
    passed = {f.name for f in dataclasses.fields(LabConfig) if f.metadata.get("emulator")}
    lines = [
        INTRO,
        "| variable | default | passed to the emulator | meaning |",
        "|---|---|---|---|",
    ]
    for name, default, meaning in st.reference_rows(LabConfig, env_name):
        field_name = name[len(ENV_PREFIX) :].lower()
        to_emulator = "yes" if field_name in passed else ""
        lines.append(f"| `{name}` | `{_cell(default)}` | {to_emulator} | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
