"""The app driven by its keys from a fixed recording: no emulator needed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from lab.tui.app import LabApp
from lab.tui.sources import ReplaySource
from lab.tui.widgets.anomalies import AnomaliesPanel
from lab.tui.widgets.balancer import BalancerPanel
from lab.tui.widgets.choose import AskScreen
from lab.tui.widgets.eventlog import EventLog
from lab.tui.widgets.help import HelpScreen, TourScreen
from lab.tui.widgets.history import HistoryScreen
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.queues import QueuesPanel
from lab.tui.widgets.workers import WorkersPanel
from tests.support.waiting import wait_until_async
from tests.tui.kit import classroom_run

Scenario = Callable[[LabApp, Pilot], Awaitable[None]]


def run(
    tmp_path: Path,
    scenario: Scenario,
    speed: float = 1000.0,
    size: tuple[int, int] = (100, 30),
    held: bool = False,
) -> None:
    """``scenario`` against the app replaying the classroom recording; ``held``: the player
    starts paused, so nothing plays before the scenario says so."""
    source = ReplaySource(classroom_run().write(tmp_path / "rec.jsonl"), speed=speed)
    source.player.paused = held

    async def main() -> None:
        app = LabApp(source)
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def played(app: LabApp) -> None:
    """Until the player is done and the app has applied every event it posted (the last
    batches may still be on their way as messages when the player finishes)."""
    assert isinstance(app.source, ReplaySource)
    await wait_until_async(lambda: app.source.player.done, timeout=10)  # type: ignore[union-attr]
    total = len(app.source.player.events)  # type: ignore[union-attr]
    await wait_until_async(lambda: app.view.events_seen >= total, timeout=10)


async def redrawn(app: LabApp, pilot: Pilot) -> None:
    app.redraw()
    await pilot.pause()


def test_the_panels_show_the_recording(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await played(app)
        await redrawn(app, pilot)
        assert app.query_one(QueuesPanel).rows[0][:5] == ("url2png", "1", "1", "-", "0")
        [held] = app.query_one(InFlightPanel).rows
        assert held[:4] == ("m1", "job-m1", "1", "w2")
        assert app.query_one(AnomaliesPanel).rows == [("duplicates", "1"), ("out_of_order", "1")]
        assert [row[:3] for row in app.query_one(WorkersPanel).rows] == [
            ("w1", "done", "1"),
            ("w2", "received", "0"),
        ]
        assert [row[3] for row in app.query_one(BalancerPanel).rows] == ["healthy", "unhealthy"]
        assert app.query_one(EventLog).lines_written == len(classroom_run().events)

    run(tmp_path, scenario)


def test_it_fits_80_by_24(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await played(app)
        await redrawn(app, pilot)
        for panel in (QueuesPanel, InFlightPanel, AnomaliesPanel, WorkersPanel, BalancerPanel):
            region = app.query_one(panel).region
            assert region.width >= 30 and region.height >= 3, panel
            assert region.right <= 80 and region.bottom <= 24, panel

    run(tmp_path, scenario, size=(80, 24))


def test_q_quits(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running

    run(tmp_path, scenario)


def test_p_pauses_the_display_while_collection_goes_on(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await pilot.press("p")
        assert app.paused
        await pilot.press("space")  # only now does the recording play (it started held)
        await played(app)
        await redrawn(app, pilot)
        log = app.query_one(EventLog)
        assert log.lines_written == 0  # nothing drawn while paused
        assert app.query_one(QueuesPanel).rows == []
        assert app.view.events_seen == len(classroom_run().events)  # but all collected
        await pilot.press("p")
        await redrawn(app, pilot)
        assert not app.paused
        assert log.lines_written == len(classroom_run().events)
        assert app.query_one(QueuesPanel).rows[0][0] == "url2png"

    run(tmp_path, scenario, held=True)


def test_question_mark_opens_help_and_escape_closes_it(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)

    run(tmp_path, scenario)


def test_space_pauses_the_replay_and_n_steps_it(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        assert isinstance(app.source, ReplaySource)
        player = app.source.player
        await pilot.press("space")
        assert player.paused
        await pilot.pause()  # a batch posted just before the pause is applied before counting
        shown = app.view.events_seen
        await pilot.press("n")
        await pilot.pause()
        assert app.view.events_seen == shown + 1
        await pilot.press("n")
        await pilot.pause()
        assert app.view.events_seen == shown + 2
        await asyncio.sleep(0.3)  # paused: the timer plays nothing
        assert app.view.events_seen == shown + 2

    run(tmp_path, scenario, speed=0.01)


def test_greater_and_less_than_change_the_replay_speed(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        assert isinstance(app.source, ReplaySource)
        await pilot.press("greater_than_sign")
        assert app.source.player.speed == 2
        await pilot.press("less_than_sign", "less_than_sign")
        assert app.source.player.speed == 0.5

    run(tmp_path, scenario, speed=1)


def test_live_keys_do_nothing_in_a_replay(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await pilot.press("s", "w", "k", "f", "l", "h", "c", "plus", "minus", "x")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no question was asked
        assert app.view.clock_speed in (1.0, 20.0)  # what the recording says, untouched
        assert [w for w in app.workers if w.group == "actions"] == []

    run(tmp_path, scenario)


def test_slash_filters_the_log_and_a_bad_filter_says_how(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await played(app)
        log = app.query_one(EventLog)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        await pilot.press(*"type:sqs.delete", "enter")
        await pilot.pause()
        assert app.log_filter.types == ("sqs.delete",)
        assert [line.text for line in log.lines][-1].split()[2] == "sqs.delete"
        assert len(log.lines) == 2  # the two deletes of the recording, nothing else
        assert "filter type:sqs.delete" in str(app.query_one("#status").render())
        await pilot.press("slash", *"colour:red", "enter")
        await pilot.pause()
        assert any("is not a filter" in n.message for n in app._notifications)
        assert app.log_filter.types == ("sqs.delete",)  # the old filter stays
        await pilot.press("slash", "ctrl+u", "enter")  # empty: everything again
        await pilot.pause()
        assert not app.log_filter and len(log.lines) == len(classroom_run().events)

    run(tmp_path, scenario)


def test_e_exports_what_is_shown(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await played(app)
        await pilot.press("slash", *"t:elb.request", "enter")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        await pilot.press("ctrl+u", *str(target), "enter")
        await pilot.pause()
        assert any("wrote 3 event(s)" in n.message for n in app._notifications)

    run(tmp_path, scenario)
    lines = target.read_text().splitlines()
    assert lines[0].startswith("id,at,type,") and len(lines) == 4
    assert all(",elb.request," in line for line in lines[1:])


def test_choosing_an_anomaly_opens_its_message_history(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await played(app)
        await redrawn(app, pilot)
        await pilot.press("a", "down", "enter")  # the second row: m2 out of order
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.message_id == "m2"
        assert [e["type"] for e in app.screen.events][:2] == ["sqs.send", "sqs.receive"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)
        table = "#anomalies DataTable"  # the mouse: a click chooses a row, a second opens it
        await pilot.click(table, offset=(5, 1))
        await pilot.click(table, offset=(5, 1))
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)

    run(tmp_path, scenario, size=(160, 48))


def test_t_opens_the_chapter_step_by_step_and_escape_closes_it(tmp_path: Path) -> None:
    async def scenario(app: LabApp, pilot: Pilot) -> None:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TourScreen)
        shown = app.screen.query_one("Markdown")
        assert "15.2.6" in shown.source and "lab exercise start 1" in shown.source
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TourScreen)

    run(tmp_path, scenario)
