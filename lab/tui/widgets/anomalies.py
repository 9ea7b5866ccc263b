"""The delivery anomalies panel: duplicates with their cause and out-of-order deliveries,
as ``lab trace check`` counts them (``lab.trace``)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from lab.trace import checker
from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, table

LISTED = 8  # the newest duplicates listed
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


class AnomaliesPanel(Panel):
    TITLE = "Delivery anomalies"
    EVERY = 2.0  # the checker folds the whole history: 0.1 s per 100,000 events

    def render_view(self, view: LabView) -> RenderableType:
        found = view.anomalies()
        duplicates = found.duplicates
        causes = ", ".join(f"{cause(c)} {n}" for c, n in sorted(found.causes.items()))
        summary = Text.assemble(
            ("duplicates ", "bold"),
            str(len(duplicates)),
            f" ({causes})" if causes else "",
            ("  out of order ", "bold"),
            str(found.out_of_order),
            (" (send order) ", "dim"),
            str(found.producer_out_of_order),
            (" (producer)", "dim"),
        )
        self.rows = [
            ("duplicates", str(len(duplicates))),
            ("out_of_order", str(found.out_of_order)),
        ]
        if not duplicates:
            return summary
        grid = table("message", "job", "recv", "cause", "held before by")
        for extra in duplicates[-LISTED:]:
            grid.add_row(
                extra.message_id[:12],
                (extra.job_id or "-")[:10],
                str(extra.receive_count),
                cause(extra.cause),
                extra.worker or "-",
            )
        return Group(summary, grid)
