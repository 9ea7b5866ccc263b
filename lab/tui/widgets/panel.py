"""What every panel shares: a bordered ``Static`` drawn from the model on each refresh."""

from __future__ import annotations

import time
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from lab.tui.model import LabView

NO_STREAM = "not on this endpoint: it has no lab event stream (LocalStack, AWS)"


class Drawn:
    """What every panel does: drawn from the model on the app's refresh, keeping the rows it
    last drew (``rows``) so a test reads the numbers a student sees without scraping the
    screen; greyed out where the endpoint has no event stream and the panel needs one."""

    TITLE = ""
    EVERY = 0.0  # seconds at least between two redraws on the timer (costly panels)
    NEEDS_STREAM = True  # False: AWS APIs alone can fill it

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # the widget class it is mixed into
        self.add_class("panel")  # type: ignore[attr-defined]
        self.border_title = self.TITLE
        self.rows: list[tuple[str, ...]] = []
        self._drawn = float("-inf")

    def show(self, view: LabView, force: bool = True) -> None:
        """Draw the panel from ``view`` (on the UI thread); on the refresh timer (``force``
        false) a costly panel skips turns, so a busy stream cannot make the UI lag."""
        now = time.monotonic()
        if not force and now - self._drawn < self.EVERY:
            return
        self._drawn = now
        missing = self.NEEDS_STREAM and view.stream_available is False
        self.set_class(missing, "unavailable")  # type: ignore[attr-defined]
        self.draw(view, missing)

    def draw(self, view: LabView, missing: bool) -> None:
        raise NotImplementedError


class Panel(Drawn, Static):
    """A panel that is one renderable."""

    LAYOUT = False  # True: its height follows its rows (a new layout when their number changes)

    def draw(self, view: LabView, missing: bool) -> None:
        """A new layout costs the whole screen: only when the panel's height may change."""
        rows = len(self.rows)
        content = Text(NO_STREAM, style="dim") if missing else self.render_view(view)
        self.update(content, layout=self.LAYOUT and len(self.rows) != rows)

    def render_view(self, view: LabView) -> RenderableType:
        raise NotImplementedError


def table(*columns: str, justify: tuple[str, ...] = ()) -> Table:
    """A compact table: no box, header in bold, columns right-aligned where numbers are."""
    grid = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    for index, name in enumerate(columns):
        align = justify[index] if index < len(justify) else "left"
        grid.add_column(
            name,
            justify=align,  # type: ignore[arg-type]
            no_wrap=True,
            overflow="ellipsis",
            min_width=len(name),
        )
    return grid


def rate(value: float) -> str:
    return f"{value:.2f}" if value else "0"
