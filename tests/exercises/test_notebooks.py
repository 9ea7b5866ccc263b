"""Every exercise's notebook is current with its exercise, and runs on a real Jupyter kernel
against a running lab: its last cell shows the same ✓/✗ lines as `lab check N`."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lab.exercises import notebook
from lab.exercises.catalog import all_exercises
from tests.support.lab import run_lab


def test_the_notebooks_are_current() -> None:
    assert notebook.main(["--check"]) == 0, "python -m lab.exercises.notebook rewrites them"
    assert len(all_exercises()) >= 3


def last_output(path: Path, env: dict[str, str], cwd: Path) -> str:
    book = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("LAB_")})
    try:
        NotebookClient(
            book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    errors = [o for cell in book.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    outputs = book.cells[-1].outputs
    return "".join(
        str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs
    )


@pytest.mark.parametrize("number", [1, 3])
def test_an_exercise_notebook_runs_and_checks(number: int, lab_env: dict[str, str]) -> None:
    [found] = [e for e in all_exercises() if e.number == number]
    shown = last_output(found.folder / notebook.FILE, lab_env, found.folder)
    assert shown.startswith(f"Exercise {number}: ")
    assert "✗" in shown and "points: not yet" in shown  # the cells are still to be done
    terminal = run_lab(lab_env, "check", str(number), check=False).stdout
    # the same checks, word for word (their numbers may differ: time has passed)
    assert [line.split(":")[0] for line in shown.splitlines()] == [
        line.split(":")[0] for line in terminal.splitlines()
    ]
