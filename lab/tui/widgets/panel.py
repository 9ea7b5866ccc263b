"""What every panel shares: a bordered ``Static`` drawn from the model on each refresh."""

from __future__ import annotations

import time
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from textual.widgets import Static

from lab.tui.model import LabView


class Panel(Static):
    """A panel keeps the rows it last drew (``rows``), so a test reads the numbers a student
    sees without scraping the screen."""

    TITLE = ""
    EVERY = 0.0  # seconds at least between two redraws on the timer (costly panels)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
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
        self.update(self.render_view(view))

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
