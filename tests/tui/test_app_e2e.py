"""The TUI on a whole lab (`lab up`: emulator, web servers, load balancer, a real `lab worker`
on Chromium), driven by its keys as a student would: start a worker, slow a web server so
the worker holds a page, kill the worker with SIGKILL and watch its message come back, fail a
web server and watch it leave the rotation, purge the queue. At each step the panels must say
what GetQueueAttributes and DescribeTargetHealth say."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lab import aws
from lab.config import LabConfig
from lab.tui import actions
from lab.tui.app import LabApp
from lab.tui.sources import LiveSource
from lab.tui.widgets.balancer import BalancerPanel
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.queues import QueuesPanel
from lab.tui.widgets.workers import WorkersPanel
from lab.url2png.producer import submit
from tests.support.lab import WEB_IPS, isolated_env, lab_down, run_lab
from tests.support.waiting import wait_until_async

DEPTH = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")


def test_a_student_session_on_the_whole_lab(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    config = LabConfig.from_env(env)
    run_lab(env, "up")
    sqs, elb = aws.client("sqs", config), aws.client("elbv2", config)
    queue_url = sqs.get_queue_url(QueueName=config.url2png_queue)["QueueUrl"]
    [group] = elb.describe_target_groups()["TargetGroups"]
    [balancer] = elb.describe_load_balancers()["LoadBalancers"]
    [listener] = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    elb.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/images/*"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )

    def queue_says() -> tuple[str, ...]:
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH))
        return tuple(attrs["Attributes"][name] for name in DEPTH)

    def health_says() -> list[tuple[str, str]]:
        found = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        return sorted(
            (t["Target"]["Id"], t["TargetHealth"]["State"])
            for t in found["TargetHealthDescriptions"]
        )

    async def main() -> None:
        app = LabApp(LiveSource(config), config)
        async with app.run_test(size=(160, 48)) as pilot:

            def queue_shown() -> tuple[str, ...]:
                app.redraw()
                rows = [r for r in app.query_one(QueuesPanel).rows if r[0] == config.url2png_queue]
                return rows[0][1:3] if rows else ()

            def health_shown() -> list[tuple[str, str]]:
                app.redraw()
                return sorted((row[1], row[3]) for row in app.query_one(BalancerPanel).rows)

            async def panels_agree() -> None:
                """The panels and AWS, read until they agree (the TUI polls every 2 s)."""

                async def agree() -> bool:
                    queue, health = await asyncio.to_thread(lambda: (queue_says(), health_says()))
                    return queue_shown() == queue and health_shown() == health

                for _ in range(100):
                    if await agree():
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError(f"panels {queue_shown()} {health_shown()} differ from AWS")

            await wait_until_async(
                lambda: [s for _, s in health_shown()] == ["healthy"] * 3, timeout=30
            )
            await panels_agree()
            rules = [":80 10 path /images/* -> fixed 404", ":80 default -> forward lab-web"]
            await wait_until_async(lambda: app.view.rules == rules, timeout=10)

            for _ in range(4):  # 1x -> 2x -> 5x -> 10x -> 20x: 120 s of visibility in 6 s
                await pilot.press("plus")
                await wait_until_async(lambda: app.view.clock_speed > 1, 10)
            await wait_until_async(lambda: app.view.clock_speed == 20, 10)

            await pilot.press("w")  # a real `lab worker`, on Chromium
            await wait_until_async(
                lambda: any(w.step == "polling" for w in app.view.workers.values()), timeout=60
            )
            [worker] = app.view.workers.values()
            assert actions.killable(worker)

            await pilot.press("l", "enter")  # slow the first web server: 3 s an answer
            await wait_until_async(
                lambda: "slow" in str(actions.web_servers(config)[0].state), 10, blocking=True
            )
            slow = f"http://{WEB_IPS[0]}:{config.web_port}/"
            await asyncio.to_thread(submit, [slow], config)
            await wait_until_async(lambda: worker.step.startswith("rendering"), timeout=30)
            inflight = app.query_one(InFlightPanel)
            await wait_until_async(lambda: (app.redraw(), len(inflight.rows) == 1)[1], 10)
            [held] = inflight.rows
            assert held[3] == worker.name  # who holds it
            await panels_agree()  # ("0", "1"): one message in flight

            await pilot.press("k", "enter")  # kill it: asks first
            await pilot.pause()
            await pilot.press("y")
            await wait_until_async(lambda: worker.died, timeout=10)
            assert [row[1] for row in app.query_one(WorkersPanel).rows] == ["died"]
            # its message comes back when the visibility timeout runs out (6 s at 20x)
            await wait_until_async(lambda: queue_shown() == ("1", "0"), timeout=30)
            await panels_agree()
            assert any(e["type"] == "sqs.visibility_expired" for e in app.view.log)

            await pilot.press("h", "enter")  # heal the slow one
            await pilot.press("f", "down", "enter")  # fail the second
            await wait_until_async(
                lambda: ("127.0.0.12", "unhealthy") in health_shown(), timeout=40
            )
            await panels_agree()

            await pilot.press("o", "down", "down", "enter")  # stop the third web server
            await wait_until_async(
                lambda: ("127.0.0.13", "unhealthy") in health_shown(), timeout=40
            )
            assert actions.web_servers(config)[2].state == "stopped"
            await pilot.press("b", "down", "down", "enter")  # and start it again
            await wait_until_async(lambda: ("127.0.0.13", "healthy") in health_shown(), timeout=40)
            await panels_agree()

            await pilot.press("x", "enter")  # purge url2png: asks first
            await pilot.pause()
            await pilot.press("y")
            await wait_until_async(lambda: queue_shown() == ("0", "0"), timeout=20)
            await panels_agree()
            await pilot.press("q")

    try:
        asyncio.run(main())
    finally:
        actions.stop_started_workers(config)
        lab_down(env)
