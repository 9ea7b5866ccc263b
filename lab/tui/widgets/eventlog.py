"""The event log: the stream, one line per event, newest at the bottom. Pausing it (the
app's ``p``) stops the drawing only: the model keeps collecting, and resuming draws what
came in meanwhile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import RichLog

from lab import events as stream

SHOWN = 200  # lines drawn from one batch at most: a burst shows its end


class EventLog(RichLog):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=1000, wrap=False, highlight=False, markup=False, **kwargs)
        self.border_title = "Events"
        self.lines_written = 0

    def show(self, events: Iterable[stream.Event]) -> None:
        batch = list(events)[-SHOWN:]
        for event in batch:
            self.write(stream.line(event))
        self.lines_written += len(batch)

    def redraw(self, events: Iterable[stream.Event]) -> None:
        """Start again from ``events`` (after a pause: what the model kept meanwhile)."""
        self.clear()
        self.show(events)
