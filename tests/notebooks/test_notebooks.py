"""The chapter's notebooks (notebooks/*.ipynb) run on a real Jupyter kernel against a running
lab of the module's own (`lab up`), without an error, and every plot is there and not empty:
each figure is a PNG that decodes to a picture of many colours, there are as many figures as the
notebook says it drew, and the numbers behind them (the JSON the last cell prints) show that
something was measured, and that it is what the chapter says."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from tests.support.lab import isolated_env, lab_down, run_lab  # noqa: E402

pytestmark = pytest.mark.slow  # three notebooks with real workers: about 8 minutes

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("01-load-balancing.ipynb", "02-queues.ipynb", "03-limits-of-sqs.ipynb")


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = isolated_env(Path(tmp_path_factory.mktemp("lab")))
    run_lab(env, "up")
    yield env
    lab_down(env)


def execute(path: Path, env: dict[str, str]) -> tuple[nbformat.NotebookNode, float]:
    """The notebook after a run on kernel python3, with the lab's LAB_* variables (and none
    of the caller's) in the kernel's environment; and how long it took."""
    book = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith(("LAB_", "AWS_"))]:
        del os.environ[name]
    os.environ.update({k: v for k, v in env.items() if k.startswith("LAB_")})
    start = time.monotonic()
    try:
        NotebookClient(
            book,
            timeout=900,  # per cell: three bursts of 500 jobs on a loaded machine
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return book, time.monotonic() - start


def outputs(book: nbformat.NotebookNode) -> list[Any]:
    return [o for cell in book.cells for o in cell.get("outputs", [])]


def images(book: nbformat.NotebookNode) -> list[np.ndarray]:
    return [
        mpimg.imread(io.BytesIO(base64.b64decode(o["data"]["image/png"])), format="png")
        for o in outputs(book)
        if "image/png" in o.get("data", {})
    ]


def measured(book: nbformat.NotebookNode) -> dict[str, Any]:
    """What the last cell printed last: the notebook's measurements as JSON."""
    text = "".join(o.get("text", "") for o in book.cells[-1].get("outputs", []))
    return json.loads(text.strip().splitlines()[-1])


def colours(image: np.ndarray) -> int:
    pixels = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def check_figures(book: nbformat.NotebookNode, expected: int) -> None:
    errors = [o for o in outputs(book) if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    found = images(book)
    assert len(found) == expected, f"{len(found)} figures, {expected} expected"
    for image in found:
        height, width = image.shape[:2]
        assert width >= 400 and height >= 200
        # axes, labels, lines in several colours: a blank or one-colour picture has a few
        assert colours(image) > 50
        # not mostly background: something is drawn over a good part of it
        assert (image[..., :3] < 0.9).any(axis=-1).mean() > 0.02


@pytest.mark.parametrize("name", NAMES)
def test_the_notebooks_are_saved_without_outputs(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(book)
    assert book.metadata.kernelspec.name == "python3"
    assert not outputs(book), "run notebooks are not committed with their outputs"
    assert book.cells[0].cell_type == "markdown" and book.cells[0].source.startswith("# 15.")
    code = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert "LabConfig.from_env()" in code and "nb.clean(config)" in code
    assert "isolated_env" not in code and '"up"' not in code  # the running lab, not its own


def test_load_balancing(lab_env: dict[str, str]) -> None:
    book, took = execute(NOTEBOOKS / NAMES[0], lab_env)
    print(f"{NAMES[0]}: {took:.0f} s")
    found = measured(book)
    check_figures(book, found["figures"])
    assert found["figures"] == 1
    per_target = found["per_target"]
    assert set(per_target) == {"127.0.0.11", "127.0.0.12", "127.0.0.13"}
    assert all(n > 20 for n in per_target.values())
    # the balancer sent the unhealthy server nothing, the others everything
    assert found["requests_while_unhealthy"] > 20
    assert found["to_victim_while_unhealthy"] == 0
    assert found["errors"] > 0  # before its health check had failed twice


@pytest.mark.timeout(1800)  # three bursts of 500 jobs: about five minutes, more when loaded
def test_queues(lab_env: dict[str, str]) -> None:
    book, took = execute(NOTEBOOKS / NAMES[1], lab_env)
    print(f"{NAMES[1]}: {took:.0f} s")
    found = measured(book)
    check_figures(book, found["figures"])
    runs = found["runs"]
    assert set(runs) == {"1", "2", "4"}
    for run in runs.values():
        assert run["sent"] == run["deleted"] == found["burst"] == 500  # the burst
        assert run["peak"] > found["burst"] * 0.8  # the queue held the burst
    assert runs["1"]["drained_s"] > runs["2"]["drained_s"] > runs["4"]["drained_s"]


def test_limits_of_sqs(lab_env: dict[str, str]) -> None:
    book, took = execute(NOTEBOOKS / NAMES[2], lab_env)
    print(f"{NAMES[2]}: {took:.0f} s")
    found = measured(book)
    check_figures(book, found["figures"])
    assert found["figures"] == 2
    duplicates = {int(k): v for k, v in found["duplicates"].items()}
    shortest, longest = min(duplicates), max(duplicates)
    assert duplicates[shortest]["extra_deliveries"] > 0
    # a timeout that ran out mid-render; on a busy machine a worker's report of a delivery can
    # come after the reading, and the checker then says "timeout, unreported": still a timeout
    causes = set(duplicates[shortest]["causes"])
    assert causes and causes <= {"visibility_timeout", "visibility_timeout_unreported"}, causes
    assert duplicates[longest]["extra_deliveries"] == 0
    for run in duplicates.values():  # idempotent: one picture per job, duplicates or not
        assert run["pictures"] == run["distinct_pictures"] == 4
        assert run["work_s"] > 60  # the queue's clock: 3 s of a slow page at 20x
    disorder = found["disorder"]
    assert set(disorder) == {"1", "2", "4"}
    assert all(d["delivered"] > 0 and d["reordered_receives"] > 0 for d in disorder.values())
    # one worker, one message at a time: the jobs finish in the order they were delivered
    assert disorder["1"]["finished"] == pytest.approx(disorder["1"]["delivered"])
