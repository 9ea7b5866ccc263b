"""The workers panel: what each URL2PNG worker is doing now, and what it has done."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, table

QUIET = 30.0  # emulated seconds without a report before a worker is shown as quiet


class WorkersPanel(Panel):
    TITLE = "Workers"

    def render_view(self, view: LabView) -> RenderableType:
        if not view.workers:
            return Text("no worker has reported (start one: lab worker)", style="dim")
        grid = table(
            "worker", "step", "done", "dups", "fails", justify=("left", "left", "right", "right")
        )
        self.rows = []
        for name in sorted(view.workers):
            worker = view.workers[name]
            quiet = not worker.stopped and view.now - worker.last_at > QUIET
            step = worker.step + (f" (quiet {view.now - worker.last_at:.0f} s)" if quiet else "")
            row = (name, step, str(worker.pages_done), str(worker.duplicates), str(worker.failures))
            self.rows.append(row)
            style = "dim" if worker.stopped else ("red" if quiet else "")
            grid.add_row(*row, style=style)
        return grid
