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
| `q` | quit (the lab keeps running: `lab down` stops it; workers started here stop) |
| `?` | this help (`escape` or `?` closes it) |
| `t` | the chapter step by step (the start screen) |
| `p` | pause the display; events are still collected |
| `s` | submit 5, 20 or 100 URLs of the load balancer, the sample pages or a slow page |
| `w` | start a URL2PNG worker (`lab worker`, in the background) |
| `k` | kill a worker with SIGKILL, its message comes back (asks; on compose: a container) |
| `f` `l` `h` | fail, slow or heal a web server: watch its health checks |
| `o` `b` | stop a web server, or start it again (on compose, a web container) |
| `c` | the delivery model: a preset (classroom, realistic, duplicates, reordering) or off |
| `+` `-` | the emulator's clock faster or slower |
| `x` | purge a queue (asks first) |
| `a` | the anomalies list: arrows choose, `enter` shows that message's whole history |
| `/` | filter the event log: `type:sqs.receive queue:url2png job:4f2a message:9b1`, words |
| `e` | export the events shown to a file (`.jsonl`, or `.csv`) |
| `space` | replay: pause or play the recording |
| `n` | replay: the next event (while paused) |
| `>` `<` | replay: play faster or slower |

The mouse works too: click a row of the anomalies list, an option, a button.

**Queues**: visible, in flight, delayed as GetQueueAttributes answers (a replay estimates
them from the events); sent, received, deleted per second over the last real minute.
**In flight**: who holds each message and when its visibility timeout runs out
(emulated seconds, and real ones when the clock runs fast; `*`: a copy the delivery model
injected, a row of its own). **Delivery anomalies**: duplicates by cause and messages that
overtook older ones, as `lab trace check` finds them. **Workers**: the step each is at and
its last real minute: `·` polling, `█` rendering (a digit: that many pages at once), `▄`
uploading and deleting, `✗` a failure, `✝` the process died. **Load balancer**: each
target's health as DescribeTargetHealth answers, requests per second, the listener rules,
the last status codes and who answered.

Where the endpoint has no lab event stream (LocalStack, real AWS), the panels that need it
are greyed out; queues and target health still come from the AWS APIs.
"""


class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "*"  # its first control (the app itself focuses nothing)
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.text = HELP

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)


class TourScreen(ModalScreen[None]):
    """The start screen: the chapter step by step (``lab.tour``, as ``lab tour`` prints it)."""

    AUTO_FOCUS = "*"
    BINDINGS = [
        Binding("escape,t,enter", "dismiss", "close"),
        Binding("q", "app.quit", "quit"),  # as everywhere else: a first-timer's q quits
    ]

    def compose(self) -> ComposeResult:
        from lab.tour import markdown

        with VerticalScroll(id="tour"):
            yield Markdown(markdown())
