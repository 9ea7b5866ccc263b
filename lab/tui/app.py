"""The TUI: one screen of panels over a ``LabView``, fed by a live or a replay source.

Events arrive as messages (``lab.tui.sources``) and go into the model at once; the panels are
redrawn from the model on a timer, so a burst of thousands of events costs one redraw, and
countdowns tick between events. Every cloud call (submitting URLs, switching the delivery
model, changing the clock speed) runs on a worker thread: the UI never waits on I/O."""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.reactive import reactive
from textual.widgets import Footer

from lab.chaos_cli import chaos_state, set_chaos, set_speed
from lab.config import LabConfig
from lab.tui.model import LabView
from lab.tui.sources import (
    AttributesRead,
    EventsPlayed,
    EventsReady,
    HealthRead,
    LiveSource,
    ReplaySource,
    SourceNote,
)
from lab.tui.widgets.anomalies import AnomaliesPanel
from lab.tui.widgets.balancer import BalancerPanel
from lab.tui.widgets.eventlog import EventLog
from lab.tui.widgets.help import HelpScreen
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.panel import Panel
from lab.tui.widgets.queues import QueuesPanel
from lab.tui.widgets.status import StatusBar
from lab.tui.widgets.workers import WorkersPanel

REFRESH = 0.5  # seconds between redraws of the panels
SUBMIT = 5  # URLs the `s` key submits
SPEEDS = (1, 2, 5, 10, 20, 50, 100)  # the clock speeds `+` and `-` step through
REPLAY_SPEEDS = (0.25, 0.5, 1, 2, 5, 10, 50)

Source = LiveSource | ReplaySource


class LabApp(App[None]):
    """``lab tui``: the lab on one screen."""

    CSS_PATH = "app.tcss"
    TITLE = "Decoupling Lab"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("p", "pause", "pause"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("s", "submit", f"submit {SUBMIT}"),
        Binding("c", "chaos", "chaos"),
        Binding("plus", "clock(1)", "faster", key_display="+"),
        Binding("minus", "clock(-1)", "slower", key_display="-"),
        Binding("space", "play", "play/pause"),
        Binding("n", "step", "step"),
        Binding("greater_than_sign", "replay_speed(1)", "faster", key_display=">", show=False),
        Binding("less_than_sign", "replay_speed(-1)", "slower", key_display="<", show=False),
    ]

    paused: reactive[bool] = reactive(False)

    def __init__(self, source: Source, config: LabConfig | None = None) -> None:
        super().__init__()
        self.source = source
        self.config = config
        self.view = LabView()
        self.clock_offset: float | None = None  # emulated minus real time (live)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield QueuesPanel(id="queues")
        with Grid(id="panels"):
            yield InFlightPanel(id="inflight")
            yield AnomaliesPanel(id="anomalies")
            yield WorkersPanel(id="workers")
            yield BalancerPanel(id="balancer")
            yield EventLog(id="log")
        yield Footer()

    def on_mount(self) -> None:
        if isinstance(self.source, LiveSource):
            self.source.start_following(self.post_message)
            self.run_worker(
                lambda: self.source.poll(self.post_message),  # type: ignore[union-attr]
                thread=True,
                name="poll",
                group="source",
            )
        else:
            self.set_interval(ReplaySource.TICK, self._replay_tick)
        self.set_interval(REFRESH, lambda: self.redraw(force=False))
        self.redraw()

    def on_unmount(self) -> None:
        if isinstance(self.source, LiveSource):
            self.source.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that need a live lab, or a replay, show only where they work."""
        live = isinstance(self.source, LiveSource)
        if action in ("submit", "chaos", "clock"):
            return live
        if action in ("play", "step", "replay_speed"):
            return not live
        return True

    # -- what arrives ----------------------------------------------------------------------

    def on_events_ready(self, message: EventsReady) -> None:
        events, notices = message.source.drain()
        for sentence in notices:
            self._note(sentence)
        self._take(events)

    def on_events_played(self, message: EventsPlayed) -> None:
        self._take(message.events)
        self.view.now = max(self.view.now, message.now)

    def on_attributes_read(self, message: AttributesRead) -> None:
        self.view.apply_attributes(message.attributes)
        if message.clock:
            self.view.clock_speed = float(message.clock.get("speed", self.view.clock_speed))
            self.clock_offset = float(message.clock.get("offset", 0.0))

    def on_health_read(self, message: HealthRead) -> None:
        self.view.apply_health(message.health)

    def on_source_note(self, message: SourceNote) -> None:
        self._note(message.sentence)

    def _note(self, sentence: str) -> None:
        """A notice: kept by the model, shown as a toast (it passes; the panels stay)."""
        sentence = sentence.replace(" (Ctrl-C to stop)", "")
        self.view.note(sentence)
        self.notify(sentence, severity="warning", timeout=8)

    def _take(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        self.view.apply_all(events)
        if not self.paused:
            self.query_one(EventLog).show(events)

    def _replay_tick(self) -> None:
        assert isinstance(self.source, ReplaySource)
        self.source.tick(self.post_message)

    # -- drawing ---------------------------------------------------------------------------

    def redraw(self, force: bool = True) -> None:
        """Every panel from the model (skipped while the display is paused); on the timer
        (``force`` false) costly panels may wait for a later turn."""
        if self.clock_offset is not None:  # live: countdowns follow the emulator's clock
            self.view.now = max(self.view.now, time.time() + self.clock_offset)
        self.query_one(StatusBar).show(self.view, self.source.describe(), self.paused)
        if self.paused:
            return
        for panel in self.query(Panel):
            panel.show(self.view, force)

    def watch_paused(self, paused: bool) -> None:
        if not paused and self.is_mounted:
            self.query_one(EventLog).redraw(self.view.log)
        if self.is_mounted:
            self.redraw()

    # -- keys ------------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused

    def action_help(self) -> None:
        self.push_screen(HelpScreen(SUBMIT))

    def action_play(self) -> None:
        assert isinstance(self.source, ReplaySource)
        self.source.player.paused = not self.source.player.paused
        self.redraw()

    def action_step(self) -> None:
        assert isinstance(self.source, ReplaySource)
        self.source.player.paused = True
        self.source.step(self.post_message)

    def action_replay_speed(self, direction: int) -> None:
        assert isinstance(self.source, ReplaySource)
        self.source.player.speed = _next(REPLAY_SPEEDS, self.source.player.speed, direction)
        self.redraw()

    @work(thread=True, group="actions")
    def action_submit(self) -> None:
        from lab.url2png.producer import submit

        assert self.config is not None
        port = self.config.local_port(80)
        urls = [f"http://{self.config.listener_host}:{port}/?page={n}" for n in range(SUBMIT)]
        self._report(lambda: f"submitted {len(submit(urls, self.config))} URL(s) to URL2PNG")

    @work(thread=True, group="actions")
    def action_chaos(self) -> None:
        assert self.config is not None
        config = self.config

        def toggle() -> str:
            on = not chaos_state(config).get("enabled")
            if on:
                set_chaos(config, enabled=True, preset="classroom")
            else:
                set_chaos(config, enabled=False)
            return f"delivery model {'on: classroom preset' if on else 'off'}"

        self._report(toggle)

    @work(thread=True, group="actions")
    def action_clock(self, direction: int) -> None:
        assert self.config is not None
        speed = _next(SPEEDS, self.view.clock_speed, direction)
        config = self.config
        self._report(lambda: f"clock: {set_speed(config, speed)['speed']:g}x")

    def _report(self, call: Any) -> None:
        """Run ``call`` (on this worker thread) and tell the student what came of it."""
        try:
            text, severity = call(), "information"
        except Exception as exc:  # noqa: BLE001 (the lab's errors are sentences)
            text, severity = str(exc), "error"
        self.call_from_thread(self.notify, text, severity=severity)


def _next(steps: tuple[float, ...], current: float, direction: int) -> float:
    """The next step up (or down) from ``current``, which need not be one of ``steps``."""
    if direction > 0:
        return next((s for s in steps if s > current), steps[-1])
    return next((s for s in reversed(steps) if s < current), steps[0])
