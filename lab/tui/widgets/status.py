"""The status line, always visible: where the events come from, the clock's speed, the
delivery model's state, whether the display is paused (notices come as toasts)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lab.tui.model import LabView


class StatusBar(Static):
    def show(self, view: LabView, source: str, paused: bool) -> None:
        line = Text.assemble(
            (source, "bold"),
            "   clock ",
            (f"{view.clock_speed:g}x", "bold"),
            "   delivery model ",
            (view.chaos_summary(), "bold red" if (view.chaos or {}).get("enabled") else "bold"),
            f"   events {view.events_seen:,}",
        )
        if paused:
            line.append("   PAUSED (p)", style="reverse bold")
        self.update(line)
