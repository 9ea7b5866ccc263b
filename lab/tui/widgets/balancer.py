"""The load balancer panel: targets with their health state and reason (DescribeTargetHealth
where the source polls it), requests per target per second, the listeners' rules, and the
status codes of the last requests with the address that answered."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from lab.tui.model import LabView
from lab.tui.widgets.panel import Panel, rate, table

ANSWERS = 6  # the last requests shown, newest first: "every time you reload the page..."
STATE_STYLES = {"healthy": "green", "unhealthy": "bold red", "draining": "yellow"}


class BalancerPanel(Panel):
    TITLE = "Load balancer"
    NEEDS_STREAM = False  # DescribeTargetHealth and DescribeRules fill most of it

    def render_view(self, view: LabView) -> RenderableType:
        unreadable = view.balancer_error is not None and not view.targets
        self.set_class(unreadable, "unavailable")
        if unreadable:
            return Text(f"DescribeTargetHealth fails here: {view.balancer_error}", style="dim")
        if not view.targets and not view.statuses and not view.rules:
            return Text("no target or request seen yet", style="dim")
        streamed = view.stream_available is not False
        groups = len({group for group, _ in view.targets}) > 1  # one: no column for it
        ips = any(t.private_ip not in (None, t.target_id) for t in view.targets.values())
        names = ["group", "target", "private ip", "state", "reason", "req/s"]
        shown = [groups, True, ips, True, True, True]  # the columns this lab needs
        grid = table(
            *(name for name, on in zip(names, shown, strict=True) if on),
            justify=tuple(
                align for align, on in zip(("left",) * 5 + ("right",), shown, strict=True) if on
            ),
        )
        grid.columns[1 if groups else 0].min_width = 10  # an IP
        grid.columns[sum(shown[:3])].min_width = 9  # "unhealthy"
        self.rows = []
        # targets that take traffic first: an unused group (no rule sends to it) goes last
        for key in sorted(view.targets, key=lambda k: (view.targets[k].state == "unused", k)):
            target = view.targets[key]
            row = (
                target.target_group,
                target.target_id,
                target.shown_ip,
                target.state,
                (target.reason or "").removeprefix("Target.").removeprefix("Elb."),
                rate(target.requests.per_second(view.now, view.clock_speed)) if streamed else "-",
            )
            self.rows.append(row)
            cells: list[RenderableType] = [*row]
            cells[3] = Text(row[3], style=STATE_STYLES.get(row[3], ""))
            grid.add_row(*(cell for cell, on in zip(cells, shown, strict=True) if on))
        parts: list[RenderableType] = [grid]
        for rule in view.rules or []:
            parts.append(Text(f"rule {rule}", style="dim", no_wrap=True, overflow="ellipsis"))
        if streamed and view.statuses:
            answers = Text("last answers: ", style="dim", no_wrap=True, overflow="ellipsis")
            for status, ip in reversed(view.recent_answers(ANSWERS)):
                answers.append(f"{status}", style="green" if status < 400 else "bold red")
                answers.append(f" {ip}  ")
            parts.append(answers)
        return Group(*parts)
