"""What the screen looks like, from the fixed classroom recording, at 80x24 and 160x48
(pytest-textual-snapshot; ``--snapshot-update`` rewrites them after a deliberate change)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lab.tui.app import LabApp
from lab.tui.sources import ReplaySource
from lab.tui.widgets.eventlog import EventLog
from tests.support.waiting import wait_until_async
from tests.tui.kit import classroom_run


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event log prints local times: the same screen in every time zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _played(app: LabApp) -> Callable[[Pilot], Awaitable[None]]:
    """Until the recording has played and the screen shows all of it."""

    async def played(pilot: Pilot) -> None:
        await wait_until_async(lambda: app.source.player.done, timeout=10)  # type: ignore[union-attr]
        total = len(app.source.player.events)  # type: ignore[union-attr]
        await wait_until_async(lambda: app.view.events_seen >= total, timeout=10)
        app.redraw()
        await pilot.pause()
        log = app.query_one(EventLog)  # the log scrolls to its end after a refresh
        await wait_until_async(lambda: len(log.lines) == min(total, log.max_lines), timeout=10)
        await pilot.pause()
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()

    return played


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_classroom_run(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = LabApp(ReplaySource(classroom_run().write(tmp_path / "rec.jsonl"), speed=1000))

    assert snap_compare(app, terminal_size=size, run_before=_played(app))


def test_the_classroom_run_on_a_light_terminal(snap_compare, tmp_path: Path) -> None:
    """Colours come from the theme: a light one reads as well as the dark default."""
    app = LabApp(ReplaySource(classroom_run().write(tmp_path / "rec.jsonl"), speed=1000))
    app.theme = "textual-light"
    assert snap_compare(app, terminal_size=(100, 30), run_before=_played(app))
