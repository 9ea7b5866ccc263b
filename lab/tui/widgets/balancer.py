"""The load balancer panel: targets with their health state and reason, requests per target
per second, the status codes of the last requests and who answered them."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, rate, table

STATE_STYLES = {"healthy": "green", "unhealthy": "bold red", "draining": "yellow"}


class BalancerPanel(Panel):
    TITLE = "Load balancer"

    def render_view(self, view: LabView) -> RenderableType:
        if not view.targets and not view.statuses:
            return Text("no target or request seen yet", style="dim")
        grid = table(
            "target", "state", "reason", "req/s", justify=("left", "left", "left", "right")
        )
        grid.columns[0].min_width, grid.columns[1].min_width = 10, 9  # an IP, "unhealthy"
        self.rows = []
        for key in sorted(view.targets):
            target = view.targets[key]
            row = (
                target.target_id,
                target.state,
                (target.reason or "").removeprefix("Target."),
                rate(target.requests.per_second(view.now, view.clock_speed)),
            )
            self.rows.append(row)
            grid.add_row(row[0], Text(row[1], style=STATE_STYLES.get(row[1], "")), *row[2:])
        codes = Text("last: ", style="dim")
        for status in view.recent_statuses():
            codes.append(f"{status} ", style="green" if status < 400 else "bold red")
        last = view.statuses[-1][1] if view.statuses else None
        if last:
            codes.append(f" answered by {last}", style="dim")
        return Group(grid, codes)
