"""The queues panel: depth (from GetQueueAttributes when polled), a sparkline of it, dead
letters, and sent, received and deleted per second over the last minute."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.text import Text

from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, rate, table

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 16


def sparkline(values: Iterable[int], width: int = SPARK_WIDTH) -> str:
    """The last ``width`` values as block characters, scaled to the largest."""
    points = list(values)[-width:]
    if not points:
        return ""
    top = max(points) or 1
    return "".join(
        BLOCKS[min(len(BLOCKS) - 1, value * (len(BLOCKS) - 1) // top)] for value in points
    )


class QueuesPanel(Panel):
    TITLE = "Queues"
    NEEDS_STREAM = False  # GetQueueAttributes fills it anywhere
    LAYOUT = True  # as high as its queues

    def render_view(self, view: LabView) -> RenderableType:
        grid = table(
            "queue",
            "visible",
            "in flight",
            "delayed",
            "to dlq",
            "sent/s",
            "recv/s",
            "del/s",
            "depth",
            justify=("left", "right", "right", "right", "right", "right", "right", "right"),
        )
        self.rows = []
        polled = False
        streamed = view.stream_available is not False
        for name in sorted(view.queues):
            queue = view.queues[name]
            polled = polled or queue.from_aws
            row = (
                name,
                str(view.visible(queue)),
                str(view.not_visible(queue)),
                "-" if queue.delayed is None else str(queue.delayed),
                str(queue.dead_lettered) if streamed else "-",
                *(
                    rate(counted.per_second(view.now, view.clock_speed)) if streamed else "-"
                    for counted in (queue.sent, queue.received, queue.deleted)
                ),
            )
            self.rows.append(row)
            grid.add_row(*row, Text(sparkline(queue.depth_history), style="cyan"))
        if not self.rows:
            return Text("no queues yet", style="dim")
        where = "GetQueueAttributes" if polled else "estimated from the events"
        return Group(grid, Text(f"depth: {where}; rates: last real minute", style="dim"))
