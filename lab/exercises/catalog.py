"""The exercises: one folder each under ``exercises/`` in the checkout (``NN-name``), with a
README for the student, templates to complete, a notebook, and ``exercise.py``, which says
what the exercise is and holds its ``start`` and ``check``. Found by folder name, loaded when
asked for, so ``lab check 3`` imports exercise 3 only."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from emulator.config import CHECKOUT
from lab.runtime import LabError

FOLDER = CHECKOUT / "exercises"
NAME = re.compile(r"^(\d\d)-([a-z0-9-]+)$")


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str
    folder: Path

    @cached_property
    def module(self) -> ModuleType:
        path = self.folder / "exercise.py"
        spec = importlib.util.spec_from_file_location(f"lab_exercise_{self.number:02d}", path)
        if spec is None or spec.loader is None:
            raise LabError(f"exercise {self.number} has no exercise.py in {self.folder}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    @property
    def title(self) -> str:
        return str(self.module.TITLE)

    @property
    def section(self) -> str:
        return str(self.module.SECTION)

    @property
    def runs_on(self) -> tuple[str, ...]:
        """Where its checker can run: ``lab`` always; ``localstack``, ``aws`` where it needs
        nothing but AWS APIs."""
        return tuple(getattr(self.module, "RUNS_ON", ("lab",)))


def all_exercises(folder: Path = FOLDER) -> list[Exercise]:
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = NAME.match(path.name)
        if match and (path / "exercise.py").exists():
            found.append(Exercise(int(match[1]), match[2], path))
    return found


def exercise(number: int, folder: Path = FOLDER) -> Exercise:
    for found in all_exercises(folder):
        if found.number == number:
            return found
    numbers = ", ".join(str(e.number) for e in all_exercises(folder)) or "none"
    raise LabError(f"there is no exercise {number} (there are: {numbers}; lab exercise list)")
