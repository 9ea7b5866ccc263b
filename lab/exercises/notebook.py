"""Each exercise's notebook, written from the exercise itself: its README as the first cell,
a cell that starts it, the cells to work in (``NOTEBOOK_CELLS`` in ``exercise.py``: pairs of
"markdown" or "code" and the cell's text), and a last cell that runs the same checker as
``lab check N`` through the Python API. Generated, so the notebook and the terminal never tell
a student two different things; a test keeps the files current (``python -m
lab.exercises.notebook`` rewrites them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lab.exercises.catalog import Exercise, all_exercises

FILE = "exercise.ipynb"
KERNEL = {"display_name": "Python 3 (the lab)", "language": "python", "name": "python3"}


def _cell(kind: str, text: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": text.strip("\n")}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(found: Exercise) -> dict[str, Any]:
    readme = (found.folder / "README.md").read_text(encoding="utf-8")
    number = found.number
    cells = [
        _cell("markdown", readme),
        _cell(
            "code",
            "# Run once: puts the lab in this exercise's starting state (as `lab exercise start"
            f" {number}`)\nfrom lab import exercises\n\nexercises.start({number})",
        ),
    ]
    for kind, text in getattr(found.module, "NOTEBOOK_CELLS", ()):
        cells.append(_cell(kind, text))
    cells.append(
        _cell(
            "code",
            f"# The same checks as `lab check {number}`: run this when you are done\n"
            f"exercises.check({number})",
        )
    )
    return {
        "cells": cells,
        "metadata": {"kernelspec": KERNEL, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def text_of(found: Exercise) -> str:
    return json.dumps(notebook(found), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every exercise's notebook (``--check``: only say which are out of date)."""
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for found in all_exercises():
        path: Path = found.folder / FILE
        text = text_of(found)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if "--check" not in args:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if '--check' in args else 'wrote'}: {path}")
    return 1 if stale and "--check" in args else 0


if __name__ == "__main__":
    raise SystemExit(main())
