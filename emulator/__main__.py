"""``python -m emulator``: run the local cloud in the foreground (``lab up`` runs it in the
background). ``--help`` lists every setting."""

from __future__ import annotations

import gc
import logging

# Off until moto is loaded (``MotoBridge._load`` turns it back on): what start-up makes lives as
# long as the process, and collecting while it is made only costs time.
gc.disable()

from aiohttp import web  # noqa: E402 - after the collector is off: imports make most of it

from emulator.app import build_emulator  # noqa: E402
from emulator.config import EmulatorSettings  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    settings = EmulatorSettings.from_argv(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    emulator = build_emulator(settings)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # uvloop is an optional speed-up; asyncio's loop works the same
        loop = None
    web.run_app(
        emulator.application(),
        loop=loop,
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=lambda *_: logging.getLogger("emulator").info("listening on %s", settings.endpoint),
        handle_signals=True,
        shutdown_timeout=2.0,
    )


if __name__ == "__main__":
    main()
