"""What a URL2PNG message carries, checked before any work: a message that cannot be a job is
poison, and the worker must say why instead of crashing on it (section 15.2 of the chapter)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# The id becomes an S3 key (<id>.png) on a public website: no slashes, no dot-dot, no spaces.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_URL_LENGTH = 2048


class PoisonMessage(ValueError):
    """``job_id`` is set when the body names a usable id although the rest is wrong, so the
    failure can still be recorded in that job's status."""

    def __init__(self, reason: str, job_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.job_id = job_id


@dataclass(frozen=True)
class Job:
    id: str
    url: str
    seq: int | None = None

    @property
    def key(self) -> str:
        return f"{self.id}.png"


def parse_job(body: str) -> Job:
    """The producer's ``{"id": ..., "url": ..., "seq": ...}``; anything else is poison."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise PoisonMessage(
            f"body is not JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None
    if not isinstance(data, dict):
        raise PoisonMessage(f"body is JSON but not an object ({type(data).__name__})")
    raw_id = data.get("id")
    hint = raw_id if isinstance(raw_id, str) and ID_PATTERN.fullmatch(raw_id) else None
    missing = [name for name in ("id", "url") if name not in data]
    if missing:
        raise PoisonMessage("body lacks " + " and ".join(repr(m) for m in missing), hint)
    job_id, url, seq = data["id"], data["url"], data.get("seq")
    if hint is None:
        raise PoisonMessage(f"id {job_id!r} is not 1-64 letters, digits, '-' or '_'")
    if not isinstance(url, str) or not url:
        raise PoisonMessage("url is not a non-empty string", hint)
    if len(url) > MAX_URL_LENGTH:
        raise PoisonMessage(f"url is longer than {MAX_URL_LENGTH} characters", hint)
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
        raise PoisonMessage(f"seq {seq!r} is not an integer", hint)
    return Job(job_id, url, seq)
