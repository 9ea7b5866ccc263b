"""The workers panel: what each URL2PNG worker is doing now, what it has done, and a
timeline of its last real minute, so renders side by side and a crashed worker stand out."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from lab.tui import model
from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, table

QUIET = 30.0  # emulated seconds without a report before a worker is shown as quiet
# a timeline slot: character and style per phase (two renders at once or more: the count)
MARKS = {
    "": (" ", ""),
    model.POLLING: ("·", "dim"),
    model.RENDERING: ("█", "cyan"),
    model.DELETING: ("▄", "green"),
    model.FAILED: ("✗", "bold red"),
    model.STOPPED: (" ", ""),
    model.DIED: ("✝", "bold red"),
}
STEP_WIDTH = 20  # the step column, when a timeline shares the row
NUMBERS = 4 + 3 + 4  # done, dup, fail
NAME_WIDTH = 16  # a worker's name (host:pid) gets this much before the step column
MIN_SLOTS = 12  # narrower than this, no timeline (an 80-column terminal)


def timeline(view: LabView, worker: model.WorkerView, slots: int) -> Text:
    line = Text()
    for phase, renders in view.timeline(worker, slots):
        mark, style = MARKS.get(phase, ("?", ""))
        if phase == model.RENDERING and renders > 1:
            mark = str(min(renders, 9))
        line.append(mark, style=style)
    return line


class WorkersPanel(Panel):
    TITLE = "Workers"

    def render_view(self, view: LabView) -> RenderableType:
        if not view.workers:
            return Text("no worker has reported (w starts one; or: lab worker)", style="dim")
        name_width = min(NAME_WIDTH, max(6, *(len(name) for name in view.workers)))
        # the panel's inner width, less the other columns and the gaps between them (2 each)
        slots = min(60, self.size.width - 4 - name_width - STEP_WIDTH - NUMBERS - 2 * 5)
        slots = slots if slots >= MIN_SLOTS else 0
        columns = ["worker", "step", "done", "dup", "fail"] + (["last minute"] if slots else [])
        grid = table(*columns, justify=("left", "left", "right", "right", "right", "left"))
        grid.columns[0].min_width = name_width
        if slots:
            grid.columns[1].width = STEP_WIDTH
            grid.columns[-1].width = slots
        self.rows = []
        # the running first, then the dead (a crash is news), the stopped last
        for worker in sorted(view.workers.values(), key=lambda w: (w.stopped, w.died, w.name)):
            name = worker.name
            quiet = not worker.stopped and not worker.died and view.now - worker.last_at > QUIET
            step = worker.step + (f" (quiet {view.now - worker.last_at:.0f} s)" if quiet else "")
            row = (name, step, str(worker.pages_done), str(worker.duplicates), str(worker.failures))
            self.rows.append(row)
            style = "dim" if worker.stopped else ("red" if quiet or worker.died else "")
            cells: list[RenderableType] = [Text(cell, style=style) for cell in row]
            if slots:
                cells.append(timeline(view, worker, slots))
            grid.add_row(*cells)
        return grid
