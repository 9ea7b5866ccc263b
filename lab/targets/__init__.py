"""Where the lab's cloud runs (``LAB_TARGET``, ``--target``): the embedded emulator (the
default), containers from ``compose.yaml``, a running LocalStack, or real AWS. Each target is a
module of its own with the same three functions, so ``lab up``, ``lab down`` and ``lab status``
are one command for all of them; everything else in the lab reaches the cloud only through AWS
APIs and, where the cloud is the lab's emulator, its documented ``/_lab/`` endpoints.

A target module defines::

    def up(config: LabConfig, echo: Echo, preload: Callable[[], None] | None) -> None
    def down(config: LabConfig, echo: Echo) -> bool      # whether something was running
    def status(config: LabConfig, echo: Echo) -> bool    # whether it runs
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Protocol

from lab.config import TARGETS, LabConfig

Echo = Callable[[str], None]

# target name -> module
MODULES = {
    "lab": "lab.targets.embedded",
    "compose": "lab.targets.compose",
    "localstack": "lab.targets.localstack",
    "aws": "lab.targets.aws",
}
assert set(MODULES) == set(TARGETS)


class Target(Protocol):
    def up(
        self, config: LabConfig, echo: Echo, preload: Callable[[], None] | None = None
    ) -> None: ...

    def down(self, config: LabConfig, echo: Echo) -> bool: ...

    def status(self, config: LabConfig, echo: Echo) -> bool: ...


def of(config: LabConfig) -> ModuleType:
    """The module of the config's target, imported when first asked for."""
    return importlib.import_module(MODULES[config.target])
