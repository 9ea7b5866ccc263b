"""One message's whole history, from send to delete: what the anomalies list opens. Each
event of the stream about it, in order, with the worker reports between the SQS events, so
a student sees why it came twice (the copy injected, the timeout that ran out, the worker
that died) or what it overtook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, RichLog

from lab import events as stream


def headline(message_id: str, events: Sequence[Mapping[str, Any]]) -> str:
    job = next((e.get("job_id") for e in events if e.get("job_id")), None)
    receives = sum(1 for e in events if e.get("type") == "sqs.receive")
    deletes = sum(1 for e in events if e.get("type") == "sqs.delete")
    return (
        f"message {message_id}" + (f" (job {job})" if job else "") + f": received {receives} "
        f"time(s), deleted {deletes} time(s), {len(events)} event(s)"
    )


class HistoryScreen(ModalScreen[None]):
    AUTO_FOCUS = "*"  # its first control (the app itself focuses nothing)
    BINDINGS = [Binding("escape,q,enter", "dismiss", "close")]

    def __init__(self, message_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(classes="dialog")
        self.message_id = message_id
        self.events = list(events)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(headline(self.message_id, self.events), classes="question")
            yield RichLog(wrap=True, markup=False, highlight=False, id="history")
            yield Label("escape closes", classes="hint")

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for event in self.events:
            log.write(stream.line(event))
        if not self.events:
            log.write("the stream the TUI kept has nothing about this message")
