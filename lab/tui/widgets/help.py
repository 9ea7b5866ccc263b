"""The help screen: every key, and what the panels mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Decoupling Lab: keys

| key | what it does |
|---|---|
| `q` | quit (the lab keeps running: `lab down` stops it) |
| `p` | pause the display; events are still collected |
| `?` | this help (`escape` or `?` closes it) |
| `s` | submit {submit} URLs of the load balancer to URL2PNG (live) |
| `c` | the delivery model's classroom preset on or off (live) |
| `+` `-` | the emulator's clock faster or slower (live) |
| `space` | replay: pause or play the recording |
| `n` | replay: the next event (while paused) |
| `>` `<` | replay: play faster or slower |

**Queues**: visible, in flight, delayed as GetQueueAttributes answers (a replay estimates
them from the events); sent, received, deleted per second over the last minute.
**In flight**: who holds each message and when its visibility timeout runs out
(emulated seconds, and real ones when the clock runs fast; `*`: an injected copy).
**Delivery anomalies**: duplicates by cause and out-of-order pairs, as `lab trace check`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "close"),
    ]

    def __init__(self, submit: int) -> None:
        super().__init__()
        self.text = HELP.format(submit=submit)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)
