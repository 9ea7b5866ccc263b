"""The delivery checker (``lab trace check``): from the event stream, per queue, what was sent,
delivered and deleted; what was lost, duplicated (and why) or delivered out of order.

- ``history``: folds events into what happened to each message (pure);
- ``checker``: the findings per queue (pure);
- ``words``: the findings in plain sentences, and as JSON;
- ``stream``: all of it on the live stream: ``check()``, what notebooks and graders call;
- ``cli``: ``lab trace check``."""

from __future__ import annotations

from lab.trace.checker import QueueReport
from lab.trace.stream import check
from lab.trace.words import as_dict, numbers, summary

__all__ = ["QueueReport", "as_dict", "check", "numbers", "summary"]
