"""The event log: the stream, one line per event, newest at the bottom, through the log
filter (``/``). Pausing it (the app's ``p``) stops the drawing only: the model keeps
collecting, and resuming draws what came in meanwhile.

Lines wait in a short buffer and are written together every ``FLUSH`` seconds: a write
scrolls the log and repaints the screen, so one write per event would cost a frame per
event at a busy stream (bench/tui_follow.py measured half the TUI's CPU there). What is on
the screen trails the model by at most ``FLUSH``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from lab import events as stream
from lab.tui.logfilter import LogFilter

SHOWN = 60  # events kept for the next write at most (more than a tall log shows): a burst
# shows its end, and only those are formatted
FLUSH = 0.25  # seconds between writes: four frames a second, as a log is read


class EventLog(RichLog):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=1000, wrap=False, highlight=False, markup=False, **kwargs)
        self.border_title = "Events"
        self.lines_written = 0  # events shown (through the filter), written or waiting
        self.filter = LogFilter()
        self._waiting: deque[stream.Event] = deque(maxlen=SHOWN)

    def on_mount(self) -> None:
        self.set_interval(FLUSH, self.flush)

    def show(self, events: Iterable[stream.Event]) -> None:
        shown = self.filter.select(events) if self.filter else list(events)
        self._waiting.extend(shown[-SHOWN:])
        self.lines_written += len(shown[-SHOWN:])

    def flush(self) -> None:
        """The waiting events, as lines in one write (one scroll, one repaint)."""
        if self._waiting:
            lines = "\n".join(stream.line(event) for event in self._waiting)
            block = Text(lines, no_wrap=True, overflow="crop")
            self._waiting.clear()
            self.write(block)

    def redraw(self, events: Iterable[stream.Event]) -> None:
        """Start again from ``events`` (after a pause, or a new filter)."""
        self.clear()
        self._waiting.clear()
        self.show(events)
        self.flush()
        self.border_title = f"Events: {self.filter.text}" if self.filter else "Events"
