"""The delivery anomalies panel: duplicates with their cause and out-of-order deliveries,
as ``lab trace check`` counts them (``lab.trace``), and a list to choose one from: enter (or
a click) opens that message's whole history."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from lab.trace import checker
from lab.tui.model import DUPLICATE, OUT_OF_ORDER, Anomaly, LabView
from lab.tui.widgets.panel import NO_STREAM, Drawn

LISTED = 200  # the newest anomalies listed
KINDS = {DUPLICATE: "duplicate", OUT_OF_ORDER: "reordered"}  # one width for the column
KIND_STYLES = {DUPLICATE: "magenta", OUT_OF_ORDER: "yellow"}
# the checker's causes, short enough for a column (lab trace check says them in full)
CAUSES = {
    checker.INJECTED: "injected",
    checker.TIMEOUT_WHILE_WORKING: "timeout while working",
    checker.WORKER_DIED: "worker died",
    checker.RESTART: "emulator restart",
    checker.RETRY_AFTER_FAILURE: "retry after failure",
    checker.TIMEOUT: "timeout",
}


def cause(name: str) -> str:
    return CAUSES.get(name, name)


class AnomaliesPanel(Drawn, Vertical):
    TITLE = "Delivery anomalies"
    EVERY = 2.0  # seconds at least between two checks (each goes over every message kept)
    SHARE = 0.05  # and at most this share of the time checking: a long run checks less often

    class Chosen(Message):
        """The student chose an anomaly: show its message's history."""

        def __init__(self, anomaly: Anomaly) -> None:
            super().__init__()
            self.anomaly = anomaly

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listed: list[Anomaly] = []

    def compose(self) -> ComposeResult:
        yield Static(id="anomaly-summary")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=False)
        for name, width in (("kind", 9), ("message", 12), ("job", 10), ("why", None)):
            table.add_column(name, width=width)
        yield table

    def show(self, view: LabView, force: bool = True) -> None:
        started = time.monotonic()
        super().show(view, force)
        took = time.monotonic() - started
        self.EVERY = max(type(self).EVERY, took / self.SHARE)

    def draw(self, view: LabView, missing: bool) -> None:
        summary = self.query_one("#anomaly-summary", Static)
        table = self.query_one(DataTable)
        table.display = not missing
        if missing:
            summary.update(Text(NO_STREAM, style="dim"))
            return
        found = view.anomalies()
        duplicates = found.duplicates
        causes = ", ".join(f"{cause(c)} {n}" for c, n in sorted(found.causes.items()))
        width = summary.size.width or 80
        for short in (False, True):
            line = Text.assemble(
                ("dup " if short else "duplicates ", "bold"),
                str(len(duplicates)),
                f" ({causes})" if causes else "",
                ("  order " if short else "  out of order ", "bold"),
                str(found.out_of_order),
                (f"/{found.producer_out_of_order}" if short else
                 f" ({found.producer_out_of_order} by producer seq)", "dim"),
            )  # fmt: skip
            if line.cell_len <= width:
                break
        summary.update(line)
        self.rows = [
            ("duplicates", str(len(duplicates))),
            ("out_of_order", str(found.out_of_order)),
        ]
        listed = found.rows()[-LISTED:]
        if listed == self.listed:
            return
        chosen = self.listed[table.cursor_row] if self.listed and table.row_count else None
        self.listed = listed
        table.clear()
        for anomaly in listed:
            detail = anomaly.detail
            if anomaly.cause:
                detail = f"{cause(anomaly.cause)}, {detail}"
            table.add_row(
                Text(
                    KINDS.get(anomaly.kind, anomaly.kind), style=KIND_STYLES.get(anomaly.kind, "")
                ),
                anomaly.message_id[:12],
                (anomaly.job_id or "-")[:10],
                detail,
            )
        if chosen in listed:
            table.move_cursor(row=listed.index(chosen), animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.listed):
            self.post_message(self.Chosen(self.listed[event.cursor_row]))
