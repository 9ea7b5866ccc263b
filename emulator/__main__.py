"""``python -m emulator``: run the local cloud in the foreground (``lab up`` runs it in the
background)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from emulator.app import build_emulator
from emulator.config import EmulatorSettings


def main(argv: list[str] | None = None) -> None:
    defaults = EmulatorSettings()
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument(
        "--host", default=defaults.host, help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="port (default %(default)s)"
    )
    parser.add_argument("--state-dir", type=Path, default=defaults.state_dir, help="state folder")
    parser.add_argument("--region", default=defaults.region)
    parser.add_argument("--public-host", default=defaults.public_host, help="host in queue URLs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = EmulatorSettings(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir.resolve(),
        region=args.region,
        public_host=args.public_host,
    )
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
