"""What the screen looks like, from the fixed classroom recording, at 80x24 and 160x48
(pytest-textual-snapshot; ``--snapshot-update`` rewrites them after a deliberate change)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lab.tui.app import LabApp
from lab.tui.sources import ReplaySource
from tests.support.waiting import wait_until_async
from tests.tui.kit import classroom_run


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event log prints local times: the same screen in every time zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_classroom_run(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = LabApp(ReplaySource(classroom_run().write(tmp_path / "rec.jsonl"), speed=1000))

    async def played(pilot: Pilot) -> None:
        await wait_until_async(lambda: app.source.player.done, timeout=10)  # type: ignore[union-attr]
        total = len(app.source.player.events)  # type: ignore[union-attr]
        await wait_until_async(lambda: app.view.events_seen >= total, timeout=10)
        app.redraw()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=played)
