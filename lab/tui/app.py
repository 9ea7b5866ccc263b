"""The TUI: one screen of panels over a ``LabView``, fed by a live or a replay source.

Events arrive as messages (``lab.tui.sources``) and go into the model at once; the panels are
redrawn from the model on a timer, so a burst of thousands of events costs one redraw, and
countdowns tick between events. Every action on the lab (``lab.tui.actions``: submitting
URLs, starting and killing workers, failing web servers, the delivery model, the clock, a
purge) runs on a worker thread: the UI never waits on I/O. Destructive ones ask first."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.reactive import reactive
from textual.widgets import Footer

from lab.chaos_cli import set_speed
from lab.config import LabConfig
from lab.runtime import LabError
from lab.tui import actions
from lab.tui.logfilter import FilterError, LogFilter, export
from lab.tui.model import LabView
from lab.tui.sources import (
    AttributesRead,
    BalancerRead,
    EventsPlayed,
    EventsReady,
    HealthRead,
    LiveSource,
    ReadFailed,
    ReplaySource,
    SourceNote,
    StreamMissing,
)
from lab.tui.widgets.anomalies import AnomaliesPanel
from lab.tui.widgets.balancer import BalancerPanel
from lab.tui.widgets.choose import AskScreen, ChooseScreen, ConfirmScreen
from lab.tui.widgets.eventlog import EventLog
from lab.tui.widgets.help import HelpScreen, TourScreen
from lab.tui.widgets.history import HistoryScreen
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.panel import Drawn
from lab.tui.widgets.queues import QueuesPanel
from lab.tui.widgets.status import StatusBar
from lab.tui.widgets.workers import WorkersPanel

REFRESH = 0.5  # seconds between redraws of the panels
ALIVE_EVERY = 2.0  # seconds between looks at whether this machine's workers still run
SUBMIT_COUNTS = (5, 20, 100)  # how many URLs the `s` key offers to submit
SPEEDS = (1, 2, 5, 10, 20, 50, 100)  # the clock speeds `+` and `-` step through
REPLAY_SPEEDS = (0.25, 0.5, 1, 2, 5, 10, 50)
LIVE = ("submit", "start_worker", "kill_worker", "web", "chaos", "clock", "purge")
REPLAY = ("play", "step", "replay_speed")

Source = LiveSource | ReplaySource


class LabApp(App[None]):
    """``lab tui``: the lab on one screen."""

    CSS_PATH = "app.tcss"
    TITLE = "Decoupling Lab"
    AUTO_FOCUS = None  # keys go to the app; `a` (or a click) gives the anomalies list focus
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("p", "pause", "pause"),
        Binding("t", "tour", "tour", show=False),
        Binding("s", "submit", "submit"),
        Binding("w", "start_worker", "worker"),
        Binding("k", "kill_worker", "kill"),
        Binding("f", "web('fail')", "fail web"),
        Binding("l", "web('slow')", "slow web", show=False),
        Binding("h", "web('heal')", "heal web", show=False),
        Binding("o", "web('stop')", "stop web", show=False),
        Binding("b", "web('start')", "start web", show=False),
        Binding("c", "chaos", "chaos"),
        Binding("plus", "clock(1)", "faster", key_display="+"),
        Binding("minus", "clock(-1)", "slower", key_display="-"),
        Binding("x", "purge", "purge", show=False),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("e", "export", "export", show=False),
        Binding("a", "anomalies", "anomalies", show=False),
        Binding("space", "play", "play/pause"),
        Binding("n", "step", "step"),
        Binding("greater_than_sign", "replay_speed(1)", "faster", key_display=">", show=False),
        Binding("less_than_sign", "replay_speed(-1)", "slower", key_display="<", show=False),
    ]

    paused: reactive[bool] = reactive(False)

    def __init__(self, source: Source, config: LabConfig | None = None, tour: bool = False) -> None:
        super().__init__()
        self.show_tour = tour  # open on the chapter's steps (a student's first time)
        self.source = source
        self.config = config
        self.view = LabView()
        self.clock_offset: float | None = None  # emulated minus real time (live)
        self.log_filter = LogFilter()
        self.export_dir = Path.cwd()
        self._looked: float | None = None  # when the workers' processes were last looked at

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
            self.set_interval(ALIVE_EVERY, self._look_at_workers)
        else:
            self.set_interval(ReplaySource.TICK, self._replay_tick)
        self.set_interval(REFRESH, lambda: self.redraw(force=False))
        self.redraw()
        if self.show_tour:
            self.action_tour()

    def on_unmount(self) -> None:
        if isinstance(self.source, LiveSource):
            self.source.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that need a live lab, or a replay, show only where they work."""
        live = isinstance(self.source, LiveSource)
        if action in LIVE:
            return live
        if action in REPLAY:
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
        first = not any(queue.from_aws for queue in self.view.queues.values())
        self.view.apply_attributes(message.attributes)
        if message.clock:
            self.view.clock_speed = float(message.clock.get("speed", self.view.clock_speed))
            self.clock_offset = float(message.clock.get("offset", 0.0))
        if first:  # the queues at once, not at the next turn of the refresh timer
            self.redraw()

    def on_balancer_read(self, message: BalancerRead) -> None:
        self.view.apply_target_health(message.targets)
        self.view.apply_rules(message.rules)
        self.view.balancer_error = None

    def on_read_failed(self, message: ReadFailed) -> None:
        if message.what == "DescribeTargetHealth":
            self.view.balancer_error = message.reason

    def on_health_read(self, message: HealthRead) -> None:
        self.view.apply_health(message.health)

    def on_stream_missing(self, message: StreamMissing) -> None:
        self.view.stream_missing()
        self.redraw()

    def on_source_note(self, message: SourceNote) -> None:
        self._note(message.sentence)

    def on_anomalies_panel_chosen(self, message: AnomaliesPanel.Chosen) -> None:
        message_id = message.anomaly.message_id
        self.push_screen(HistoryScreen(message_id, self.view.history(message_id)))

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

    def _look_at_workers(self) -> None:
        """Workers whose process ended without saying so died (SIGKILL, a crash): /proc only,
        no network, so it runs on the UI thread."""
        self.view.apply_workers_alive(actions.alive(list(self.view.workers.values())), self._looked)
        self._looked = self.view.now

    # -- drawing ---------------------------------------------------------------------------

    def redraw(self, force: bool = True) -> None:
        """Every panel from the model (skipped while the display is paused); on the timer
        (``force`` false) costly panels may wait for a later turn."""
        if self.clock_offset is not None:  # live: countdowns follow the emulator's clock
            self.view.now = max(self.view.now, time.time() + self.clock_offset)
        self.query_one(StatusBar).show(
            self.view, self.source.describe(), self.paused, self.log_filter.text
        )
        if self.paused:
            return
        for panel in self.query(".panel"):
            if isinstance(panel, Drawn):
                panel.show(self.view, force)

    def watch_paused(self, paused: bool) -> None:
        if not paused and self.is_mounted:
            self.query_one(EventLog).redraw(self.view.log)
        if self.is_mounted:
            self.redraw()

    # -- keys: the display -----------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_tour(self) -> None:
        self.push_screen(TourScreen())

    def action_anomalies(self) -> None:
        self.query_one(AnomaliesPanel).query_one("DataTable").focus()

    def action_filter(self) -> None:
        def apply(text: object) -> None:
            if text is None:
                return
            try:
                self.log_filter = LogFilter.parse(str(text))
            except FilterError as exc:
                self.notify(str(exc), severity="error")
                return
            log = self.query_one(EventLog)
            log.filter = self.log_filter
            log.redraw(self.view.log)
            self.redraw()

        self.push_screen(
            AskScreen(
                "Show only the events that match (empty: all)",
                self.log_filter.text,
                "type:sqs.receive  queue:url2png  job:4f2a  message:9b1  or plain words",
            ),
            apply,
        )

    def action_export(self) -> None:
        default = self.export_dir / time.strftime("lab-events-%Y%m%d-%H%M%S.jsonl")

        def write(text: object) -> None:
            if not text:
                return
            path = Path(str(text)).expanduser()
            try:
                count = export(path, self.log_filter.select(self.view.log))
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror}", severity="error")
                return
            self.notify(f"wrote {count} event(s) to {path}")

        self.push_screen(
            AskScreen(
                "Export the events shown to (.jsonl, or .csv for a spreadsheet)",
                str(default),
                "what is shown: the last events kept, through the filter",
            ),
            write,
        )

    # -- keys: a replay --------------------------------------------------------------------

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

    # -- keys: the live lab ----------------------------------------------------------------

    def action_submit(self) -> None:
        config = self._config()
        balancer = f"http://{config.listener_host}:{config.local_port(80)}/"
        choices: list[tuple[str, object]] = [
            (f"{count} URLs of the load balancer (each picture shows who answered)", count)
            for count in SUBMIT_COUNTS
        ]
        choices += [
            ("the sample pages (lab url2png pages)", "pages"),
            ("a slow page: 5 s to answer (longer than a short visibility timeout)", "slow"),
        ]

        def submit(choice: object) -> str:
            from lab.pages.service import urls as sample_pages
            from lab.url2png.producer import submit

            if choice == "pages":
                urls = sample_pages(config)[:3]
            elif choice == "slow":
                urls = [f"{config.pages_url}/slow?ms=5000"]
            else:
                urls = [f"{balancer}?page={n}" for n in range(int(str(choice)))]
            return f"submitted {len(submit(urls, config))} URL(s) to URL2PNG"

        self._choose_then("Submit to URL2PNG:", choices, submit)

    def action_start_worker(self) -> None:
        config = self._config()
        self._run(lambda: actions.start_worker(config))

    def action_kill_worker(self) -> None:
        config = self._config()
        if config.target == "compose":
            self._fetch_then(
                lambda: actions.worker_containers(config), self._kill_a_worker_container
            )
            return
        workers = [w for w in self.view.workers.values() if actions.killable(w)]
        if not workers:
            self.notify("no running lab worker on this machine to kill (w starts one)")
            return
        busy_first = sorted(workers, key=lambda w: (not w.busy, w.name))

        def question(worker: Any) -> str:
            return (
                f"Kill {worker.name} (pid {worker.pid}) with SIGKILL? What it holds comes back "
                "when its visibility timeout runs out."
            )

        self._choose_then(
            "Kill which worker with SIGKILL?",
            [(f"{w.name}  {w.step}", w) for w in busy_first],
            actions.kill_worker,
            confirm=question,
        )

    def _kill_a_worker_container(self, found: list[actions.WorkerContainer]) -> None:
        if not found:
            self.notify("no worker container runs (lab up --target compose starts two)")
            return
        config = self._config()
        self._choose_then(
            "Kill which worker container with SIGKILL?",
            [(c.label, c) for c in found],
            lambda c: actions.kill_worker_container(config, c),
            confirm=lambda c: (
                f"Kill container {c.name} with SIGKILL? What its worker holds comes back when "
                "its visibility timeout runs out."
            ),
        )

    def action_web(self, action: str) -> None:
        config = self._config()

        def choose(servers: list[actions.WebServer]) -> None:
            if not servers:
                self.notify("no web servers known (lab up starts them)", severity="warning")
                return
            self._choose_then(
                f"Which web server should {action}?",
                [(server.label, server) for server in servers],
                lambda server: actions.web_control(config, server, action),
            )

        self._fetch_then(lambda: actions.web_servers(config), choose)

    def action_chaos(self) -> None:
        config = self._config()
        on = bool((self.view.chaos or {}).get("enabled"))
        choices: list[tuple[str, object]] = [(f"{name} preset", name) for name in actions.PRESETS]
        choices.insert(0 if on else len(choices), ("off", None))
        self._choose_then(
            "The delivery model (lab chaos):",
            choices,
            lambda preset: actions.set_preset(config, preset),
        )

    def action_clock(self, direction: int) -> None:
        config = self._config()
        speed = _next(SPEEDS, self.view.clock_speed, direction)
        self._run(lambda: f"clock: {set_speed(config, speed)['speed']:g}x")

    def action_purge(self) -> None:
        config = self._config()

        def choose(queues: list[str]) -> None:
            if not queues:
                self.notify("no queues to purge", severity="warning")
                return
            self._choose_then(
                "Purge which queue?",
                [(name, name) for name in queues],
                lambda queue: actions.purge(config, str(queue)),
                confirm=lambda queue: f"Delete every message in {queue}? This cannot be undone.",
            )

        self._fetch_then(lambda: actions.queue_names(config), choose)

    # -- how actions run -------------------------------------------------------------------

    def _config(self) -> LabConfig:
        assert self.config is not None, "live actions need the lab's configuration"
        return self.config

    def _choose_then(
        self,
        question: str,
        choices: list[tuple[str, object]],
        act: Callable[[Any], str],
        confirm: Callable[[Any], str] | None = None,
    ) -> None:
        """Ask which, ask whether (``confirm``: destructive), then act on a worker thread."""

        def chosen(index: object) -> None:
            if not isinstance(index, int):
                return  # escape
            value = choices[index][1]
            if confirm is None:
                self._run(lambda: act(value))
                return
            self.push_screen(
                ConfirmScreen(confirm(value)),
                lambda yes: self._run(lambda: act(value)) if yes else None,
            )

        self.push_screen(ChooseScreen(question, [label for label, _ in choices]), chosen)

    @work(thread=True, group="actions")
    def _fetch_then(self, fetch: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """``fetch`` on a worker thread (it asks the cloud), then ``then`` on the UI thread."""
        try:
            found = fetch()
        except LabError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(then, found)

    @work(thread=True, group="actions")
    def _run(self, call: Callable[[], str]) -> None:
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
