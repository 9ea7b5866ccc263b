"""``lab tui`` with a side channel, for ``bench.tui_follow``: the real app, on the real Linux
driver, in whatever terminal it is started in, that also writes down when each event reached
its model.

    LAB_PORT=... python -m bench.tui_driver --stats DIR [--profile FILE]

Nothing of the app is changed: ``LabApp`` with a ``LiveSource`` on ``LabConfig.from_env()``, as
``lab tui`` runs it. The subclass only wraps ``_take`` (where a drained batch goes into the
model and the event log) to note the wall time after it returned, with each event's id and
``at``, in arrays (two dict lookups per event, a few appends per batch), and
adds a 0.1 s timer that appends what was noted to files in ``DIR``:

- ``ids.bin``, ``ats.bin``: every applied event's id (int64) and ``at`` (float64), in order;
- ``batches.jsonl``: one line per tick, ``{"t": wall time, "seen": events_seen, "batches":
  [[wall time applied, events], ...]}``; the batches' counts walk through the two arrays.
  The ticks' own times show how late the UI thread ran its timers (a stalled loop).

The arrays are written before the line, so a reader that trusts only whole lines never reads
an id that has no time yet. ``--profile FILE`` runs the app under cProfile and dumps it there
on exit (a SIGTERM ends the app cleanly, as ``q`` would).
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from array import array
from pathlib import Path
from typing import Any

from lab.config import LabConfig
from lab.tui import app as tui_app
from lab.tui.app import LabApp
from lab.tui.sources import LiveSource

TICK = 0.1

# The one private name the side channel relies on: where the app puts a batch into the model.
if not callable(getattr(LabApp, "_take", None)):
    raise SystemExit("bench.tui_driver: LabApp has no _take(events) any more; update the driver")


class StatsApp(LabApp):
    """``LabApp``, noting when each batch of events was applied."""

    CSS_PATH = str(Path(tui_app.__file__).with_name(LabApp.CSS_PATH))  # (relative to lab/tui)

    def __init__(self, source: LiveSource, config: LabConfig, stats: Path) -> None:
        super().__init__(source, config)
        stats.mkdir(parents=True, exist_ok=True)
        self._ids_file = open(stats / "ids.bin", "ab")  # noqa: SIM115 (closed on unmount)
        self._ats_file = open(stats / "ats.bin", "ab")  # noqa: SIM115
        self._lines = open(stats / "batches.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._ids = array("q")
        self._ats = array("d")
        self._batches: list[list[float]] = []

    # Textual calls the ``on_mount`` and ``on_unmount`` of every class in the MRO: LabApp's run
    # by themselves (calling them here too would start a second follower).
    def on_mount(self) -> None:
        self.set_interval(TICK, self._flush)

    def _take(self, events: list[dict[str, Any]]) -> None:
        super()._take(events)
        if events:
            done = time.time()
            self._ids.extend([event.get("id", 0) for event in events])
            self._ats.extend([event.get("at", 0.0) for event in events])
            self._batches.append([done, len(events)])

    def _flush(self) -> None:
        self._ids.tofile(self._ids_file)
        self._ats.tofile(self._ats_file)
        self._ids_file.flush()
        self._ats_file.flush()
        line = {"t": time.time(), "seen": self.view.events_seen, "batches": self._batches}
        self._lines.write(json.dumps(line) + "\n")
        self._lines.flush()
        self._ids, self._ats, self._batches = array("q"), array("d"), []

    def on_unmount(self) -> None:
        self._flush()
        for file in (self._ids_file, self._ats_file, self._lines):
            file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stats", type=Path, required=True, help="folder for the side channel")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the app into FILE")
    args = parser.parse_args(argv)
    config = LabConfig.from_env()
    app = StatsApp(LiveSource(config), config, args.stats)
    signal.signal(signal.SIGTERM, lambda *_: app.call_later(app.exit))
    if args.profile is None:
        app.run()
        return 0
    import cProfile

    profile = cProfile.Profile()
    profile.runcall(app.run)
    profile.dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
