"""The lab's own SQS: a pure queue engine (``engine``) with adapters for storage (``store``), the
action layer (``service``) and both wire protocols (``wire_json``, ``wire_query``) around it; one
engine per region (``regions``), picked per request by the HTTP adapter (``http``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from emulator.clock import Clock
from emulator.component import Component
from emulator.config import EmulatorSettings
from emulator.events.model import Event
from emulator.events.sqs import SqsEvent
from emulator.sqs.chaos import ChaosControl, load_settings
from emulator.sqs.delivery import DeliveryModel
from emulator.sqs.engine import EventSink, SqsEngine
from emulator.sqs.http import SqsHttp
from emulator.sqs.regions import Regions
from emulator.sqs.service import SqsService
from emulator.sqs.store import SqliteStore

TICK_SECONDS = 0.05
log = logging.getLogger("emulator.sqs")


def _in_region(publish: EventSink, region: str) -> EventSink:
    """``publish`` for the engine of a region other than the default: its events say which
    region their queue is in, as a queue name alone no longer names one queue."""

    def publish_in_region(event: Event) -> None:
        if isinstance(event, SqsEvent):
            event = dataclasses.replace(event, region=region)
        publish(event)

    return publish_in_region


def install(settings: EmulatorSettings, clock: Clock, publish: EventSink) -> Component:
    """The SQS service on the state folder's SQLite store, publishing to the event log, with
    the delivery model as the last run left it and its control endpoint (``/_lab/chaos``).
    Every region the store has queues in is restored now; others start on first use."""
    store = SqliteStore(settings.state_dir / "sqs.sqlite3", region=settings.region)
    model = DeliveryModel(load_settings(settings.state_dir))

    def region(name: str) -> SqsService:
        view = store.in_region(name)
        engine = SqsEngine(
            clock,
            region=name,
            account_id=settings.account_id,
            store=view,
            on_event=publish if name == settings.region else _in_region(publish, name),
            delivery=model if name == settings.region else None,
        )
        engine.restore(*view.load())
        return SqsService(engine)

    regions = Regions(settings.region, region)
    for name in store.regions():
        regions.service(name)
    ticker: dict[str, asyncio.Task] = {}

    async def tick_forever() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                with store.transaction():
                    for engine in regions.engines():
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

    chaos = ChaosControl(model, regions.default_engine, settings.state_dir, publish)
    http = SqsHttp(
        regions, strategy=settings.sqs_endpoint_strategy, public_host=settings.public_host
    )
    return Component(
        "sqs",
        handlers={"sqs": http.handle},
        control_routes={"/_lab/chaos": chaos.handle},
        start=[start],
        stop=[stop],
        report=lambda: {"chaos": {"enabled": model.settings.enabled}},
    )
