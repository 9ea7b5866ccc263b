"""The status line, always visible: where the events come from, the clock's speed, the
delivery model's state, whether the display is paused and the log filtered (notices come as
toasts). Short enough for 80 columns."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lab.tui.model import LabView


class StatusBar(Static):
    def show(self, view: LabView, source: str, paused: bool, filtered: str = "") -> None:
        """The line in full, or in short where the terminal is narrow (80 columns): the
        seed and the labels go first, the state stays."""
        width = self.size.width - 2 or 80
        for short in (False, True):
            line = self.line(view, source, paused, filtered, short)
            if line.cell_len <= width:
                break
        self.update(line, layout=False)  # one line, always

    @staticmethod
    def line(view: LabView, source: str, paused: bool, filtered: str, short: bool) -> Text:
        on = (view.chaos or {}).get("enabled")
        chaos = view.chaos_summary()
        if short:
            chaos = chaos.split(", seed")[0].removeprefix("on: ")
        line = Text.assemble(
            (source, "bold"),
            " · " if short else " · clock ",
            (f"{view.clock_speed:g}x", "bold"),
            " · chaos ",
            (chaos, "bold red" if on else "bold"),
            f" · {view.events_seen:,}" + ("" if short else " events"),
        )
        if filtered:
            line.append(f" · filter {filtered}", style="bold yellow")
        if paused:
            line.append(" · PAUSED" + ("" if short else " (p)"), style="reverse bold")
        return line
