"""The lab's own SQS: a pure queue engine (``engine``) with adapters for storage (``store``), the
action layer (``service``) and both wire protocols (``wire_json``, ``wire_query``) around it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from emulator.clock import Clock
from emulator.component import Component
from emulator.config import EmulatorSettings
from emulator.sqs.chaos import ChaosControl, load_settings
from emulator.sqs.delivery import DeliveryModel
from emulator.sqs.engine import EventSink, SqsEngine
from emulator.sqs.http import SqsHttp
from emulator.sqs.service import SqsService
from emulator.sqs.store import SqliteStore

TICK_SECONDS = 0.05
log = logging.getLogger("emulator.sqs")


def install(settings: EmulatorSettings, clock: Clock, publish: EventSink) -> Component:
    """The SQS service on the state folder's SQLite store, publishing to the event log, with
    the delivery model as the last run left it and its control endpoint (``/_lab/chaos``)."""
    store = SqliteStore(settings.state_dir / "sqs.sqlite3")
    model = DeliveryModel(load_settings(settings.state_dir))
    engine = SqsEngine(
        clock,
        region=settings.region,
        account_id=settings.account_id,
        store=store,
        on_event=publish,
        delivery=model,
    )
    engine.restore(*store.load())
    service = SqsService(engine)
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

    chaos = ChaosControl(model, engine, settings.state_dir, publish)
    return Component(
        "sqs",
        handlers={"sqs": SqsHttp(service).handle},
        control_routes={"/_lab/chaos": chaos.handle},
        start=[start],
        stop=[stop],
        report=lambda: {"chaos": {"enabled": model.settings.enabled}},
    )
