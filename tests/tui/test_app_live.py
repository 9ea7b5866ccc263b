"""The app against a real emulator: the queues panel says what GetQueueAttributes says, and
the live keys act on the lab."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from lab.chaos_cli import chaos_state, clock_state
from lab.config import LabConfig
from lab.tui.app import SUBMIT_COUNTS, LabApp
from lab.tui.sources import LiveSource, ReplaySource
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.queues import QueuesPanel
from tests.support.emulator import EmulatorProcess
from tests.support.ports import free_port
from tests.support.url2png import Url2PngCloud
from tests.support.waiting import wait_until_async

LAB = str(Path(sys.executable).with_name("lab"))
DEPTH = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def test_live_panels_equal_aws_and_the_keys_act_on_the_lab(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    cloud = Url2PngCloud(emulator, tmp_path)
    sqs, url, config = cloud.sqs, cloud.resources.queue_url, cloud.config
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"body {n}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    [held] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]

    def aws_says() -> tuple[str, ...]:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(DEPTH))["Attributes"]
        return (cloud.queue, *(attrs[name] for name in DEPTH))

    async def main() -> None:
        app = LabApp(LiveSource(config), config)
        async with app.run_test(size=(120, 40)) as pilot:

            def shown() -> tuple[str, ...] | None:
                app.redraw()
                rows = [r for r in app.query_one(QueuesPanel).rows if r[0] == cloud.queue]
                return rows[0][:4] if rows else None

            await wait_until_async(lambda: shown() == (cloud.queue, "2", "1", "1"), 10)
            assert shown() == await asyncio.to_thread(aws_says)
            inflight = app.query_one(InFlightPanel)
            assert any(held["MessageId"].startswith(row[0]) for row in inflight.rows)

            await pilot.press("s", "enter")  # submit 5: the queue grows, and the panel with it
            submitted = 2 + SUBMIT_COUNTS[0]
            await wait_until_async(lambda: shown() == (cloud.queue, str(submitted), "1", "1"), 10)
            assert shown() == await asyncio.to_thread(aws_says)

            before = chaos_state(config)["enabled"]
            # the health document says what is in force before any control event
            await wait_until_async(lambda: app.view.chaos_summary() != "unknown", 10)
            assert (app.view.chaos or {}).get("enabled") == before
            await pilot.press("c", "down", "enter")  # off is last when it is off
            await wait_until_async(
                lambda: chaos_state(config)["default"]["reorder"] == 0.1, 10, blocking=True
            )  # the realistic preset
            await wait_until_async(lambda: app.view.chaos_summary().startswith("on: dup 1%"), 10)
            await pilot.press("c", "enter")  # off is first when it is on
            await wait_until_async(lambda: not chaos_state(config)["enabled"], 10, blocking=True)
            await pilot.press("c", "escape")  # backing out changes nothing
            await pilot.pause()
            assert not chaos_state(config)["enabled"]

            await pilot.press("plus")
            await wait_until_async(lambda: clock_state(config)["speed"] == 2, 10, blocking=True)
            await wait_until_async(lambda: app.view.clock_speed == 2, 10)  # from the stream
            await pilot.press("minus")
            await wait_until_async(lambda: clock_state(config)["speed"] == 1, 10, blocking=True)
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(main())


def test_a_recording_of_the_live_stream_replays_into_the_same_panels(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    # the session's emulator has served every test before this one: record from here on
    with urllib.request.urlopen(f"{emulator.endpoint}/_lab/events?limit=1") as reply:
        mark = json.loads(reply.read())["last_id"]
    cloud = Url2PngCloud(emulator, tmp_path)
    for n in range(2):
        cloud.sqs.send_message(QueueUrl=cloud.resources.queue_url, MessageBody=f"body {n}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_PORT=str(emulator.port), LAB_STATE_DIR=str(emulator.state_dir))
    recording = tmp_path / "rec.jsonl"
    done = subprocess.run(
        [LAB, "events", "--record", str(recording), "--after", str(mark), "--limit", "10000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    recorded = [json.loads(line) for line in recording.read_text().splitlines()]
    assert len(recorded) == len(done.stdout.splitlines())  # one JSON line per event shown

    async def main() -> None:
        app = LabApp(ReplaySource(recording, speed=1000))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until_async(lambda: app.source.player.done, 10)  # type: ignore[union-attr]
            app.redraw()
            await pilot.pause()
            [row] = [r for r in app.query_one(QueuesPanel).rows if r[0] == cloud.queue]
            assert row[1:3] == ("2", "0")  # visible, in flight: estimated from the events

    asyncio.run(main())


def test_without_a_lab_it_says_so_and_stays_responsive(tmp_path: Path) -> None:
    config = LabConfig(host="127.0.0.1", port=free_port(), state_dir=tmp_path / "state")

    async def main() -> None:
        app = LabApp(LiveSource(config), config)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until_async(
                lambda: any("not answering" in n for n in app.view.notices), timeout=10
            )
            await wait_until_async(
                lambda: any("GetQueueAttributes failed" in n for n in app.view.notices), 30
            )
            await pilot.press("p")
            assert app.paused
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(main())
