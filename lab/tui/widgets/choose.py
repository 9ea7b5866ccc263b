"""The TUI's questions: pick one of several (a worker, a web server, a queue, a preset) and,
before anything destructive, are you sure. Keys and mouse both work; escape backs out."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option


class ChooseScreen(ModalScreen[object]):
    """One of ``choices``; dismissed with its index, or None on escape."""

    AUTO_FOCUS = "*"  # its first control (the app itself focuses nothing)
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, question: str, choices: Sequence[str]) -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.question, classes="question")
            options = (Option(label, id=str(n)) for n, label in enumerate(self.choices))
            yield OptionList(*options)
            yield Label("enter or click chooses, escape cancels", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no to ``question``; ``y`` / ``n`` or the buttons, escape is no."""

    AUTO_FOCUS = "*"  # its first control (the app itself focuses nothing)
    BINDINGS = [
        Binding("y", "dismiss(True)", "yes"),
        Binding("n,escape", "dismiss(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AskScreen(ModalScreen[object]):
    """A line of text (a filter, a file name), prefilled with ``value``; escape cancels."""

    AUTO_FOCUS = "*"  # its first control (the app itself focuses nothing)
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, question: str, value: str = "", hint: str = "") -> None:
        super().__init__(classes="dialog")
        self.question, self.value, self.hint = question, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.question, classes="question")
            yield Input(value=self.value)
            if self.hint:
                yield Label(self.hint, classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
