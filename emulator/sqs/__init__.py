"""The lab's own SQS: a pure queue engine (``engine``) with adapters for storage (``store``), the
action layer (``service``) and both wire protocols (``wire_json``, ``wire_query``) around it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from emulator.clock import SystemClock
from emulator.server import Emulator
from emulator.sqs.engine import SqsEngine
from emulator.sqs.http import SqsHttp
from emulator.sqs.service import SqsService
from emulator.sqs.store import SqliteStore

TICK_SECONDS = 0.05
log = logging.getLogger("emulator.sqs")


def install(emulator: Emulator) -> SqsService:
    settings = emulator.settings
    store = SqliteStore(settings.state_dir / "sqs.sqlite3")
    engine = SqsEngine(
        SystemClock(),
        region=settings.region,
        account_id=settings.account_id,
        store=store,
        on_event=emulator.events.publish,
    )
    engine.restore(*store.load())
    service = SqsService(engine)
    emulator.handlers["sqs"] = SqsHttp(service).handle
    ticker: dict[str, asyncio.Task] = {}

    async def tick_forever() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                with store.transaction():
                    engine.tick()
            except Exception:
                log.exception("SQS timer tick failed")

    async def start() -> None:
        ticker["task"] = asyncio.create_task(tick_forever())

    async def stop() -> None:
        task = ticker.pop("task", None)
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store.close()

    emulator.startup.append(start)
    emulator.shutdown.append(stop)
    return service
