"""Graded exercises, section by section: ``lab exercise start N`` and ``lab check N`` in a
terminal, and the same from Python in a notebook:

    from lab import exercises
    exercises.start(1)
    exercises.check(1)      # shows the same ✓/✗ lines as lab check 1
"""

from lab.exercises.grading import Grader, Outcome, Report, Stop
from lab.exercises.runner import check, start

__all__ = ["Grader", "Outcome", "Report", "Stop", "check", "start"]
