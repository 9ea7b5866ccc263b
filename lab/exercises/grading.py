"""A checker's verdict, in the manner of check50: one line per check, ✓ or ✗, with the reason
in one plain sentence and a hint, expected beside actual where that helps; points per check
for a teacher grading a class (``--json``). Pure: no I/O, no AWS."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL = "✓", "✗"


@dataclass(frozen=True)
class Outcome:
    """One check: what it looks at, whether it holds, and why, in words a student reads."""

    title: str
    passed: bool
    reason: str
    hint: str | None = None
    expected: str | None = None
    actual: str | None = None
    points: int = 1

    def lines(self) -> list[str]:
        out = [f"{PASS if self.passed else FAIL} {self.title}: {self.reason}"]
        if not self.passed and (self.expected is not None or self.actual is not None):
            out.append(f"    expected {self.expected}, saw {self.actual}")
        if not self.passed and self.hint:
            out.append(f"    hint: {self.hint}")
        return out


@dataclass
class Grader:
    """What a checker fills, check by check (``that``), and what stops it early (``stop``:
    nothing after a failed precondition can be judged)."""

    outcomes: list[Outcome] = field(default_factory=list)

    def that(
        self,
        title: str,
        passed: bool,
        reason: str,
        *,
        hint: str | None = None,
        expected: object = None,
        actual: object = None,
        points: int = 1,
    ) -> bool:
        self.outcomes.append(
            Outcome(
                title,
                bool(passed),
                reason,
                hint,
                None if expected is None else str(expected),
                None if actual is None else str(actual),
                points,
            )
        )
        return bool(passed)


class Stop(Exception):
    """A checker cannot go on (the lab is not up, a precondition failed): the outcomes so far
    stand, and the report says this sentence."""


@dataclass(repr=False)
class Report:
    """Everything ``lab check N`` prints, and its JSON; in Jupyter, the same lines."""

    number: int
    title: str
    outcomes: list[Outcome]
    stopped: str | None = None  # why the checker stopped early, if it did

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and self.stopped is None and all(o.passed for o in self.outcomes)

    @property
    def points(self) -> int:
        return sum(o.points for o in self.outcomes if o.passed)

    @property
    def max_points(self) -> int:
        return sum(o.points for o in self.outcomes)

    def lines(self) -> list[str]:
        out = [f"Exercise {self.number}: {self.title}"]
        for outcome in self.outcomes:
            out += outcome.lines()
        if self.stopped:
            out.append(f"{FAIL} {self.stopped}")
        verdict = "all checks hold" if self.passed else "not yet"
        out.append(f"{self.points}/{self.max_points} points: {verdict}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.number,
            "title": self.title,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "stopped": self.stopped,
            "checks": [asdict(o) for o in self.outcomes],
        }

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__  # a notebook's plain-text view of the last cell

    def _repr_html_(self) -> str:
        """In Jupyter: the same lines, green and red."""
        rows = []
        for line in self.lines():
            colour = "green" if line.startswith(PASS) else "#c00" if line.startswith(FAIL) else ""
            style = f' style="color:{colour}"' if colour else ""
            rows.append(f"<div{style}>{html.escape(line)}</div>")
        return f'<pre style="line-height:1.4">{"".join(rows)}</pre>'
