"""The in-flight panel: each message a consumer holds, and when its visibility timeout runs
out. The chapter's visibility timeout, made visible."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, table


class InFlightPanel(Panel):
    TITLE = "In flight"

    def render_view(self, view: LabView) -> RenderableType:
        messages = view.in_flight_rows()
        self.border_title = f"{self.TITLE} ({len(messages)})"
        if not messages:
            return Text("no message is held by a consumer", style="dim")
        fast = view.clock_speed != 1
        columns = ["message", "job", "rc", "holder", "back in"] + (["real"] if fast else [])
        grid = table(*columns, justify=("left", "left", "right", "left", "right", "right"))
        self.rows = []
        for message in messages:
            left = view.seconds_left(message)
            row = (
                message.message_id[:8],
                (message.job_id or "-")[:8],
                str(message.receive_count) + ("*" if message.injected else ""),
                message.worker or "?",
                f"{max(0.0, left):.0f} s",
            ) + ((f"{max(0.0, view.real_seconds(left)):.1f} s",) if fast else ())
            self.rows.append(row)
            style = "bold red" if left <= 0 else ("yellow" if view.real_seconds(left) < 5 else "")
            grid.add_row(*row, style=style)
        return grid
