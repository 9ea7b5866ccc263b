"""The TUI against a cloud that is not the lab: moto's own server, a real process that knows
SQS and ELBv2 but has no lab event stream, as LocalStack and AWS have none. The panels the
stream feeds are greyed out and say why; queue depths and target health still come from
GetQueueAttributes and DescribeTargetHealth."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from lab.config import LabConfig
from lab.tui.app import LabApp
from lab.tui.sources import LiveSource
from lab.tui.widgets.anomalies import AnomaliesPanel
from lab.tui.widgets.balancer import BalancerPanel
from lab.tui.widgets.inflight import InFlightPanel
from lab.tui.widgets.panel import NO_STREAM
from lab.tui.widgets.queues import QueuesPanel
from lab.tui.widgets.workers import WorkersPanel
from tests.support.ports import free_port
from tests.support.waiting import wait_until, wait_until_async

MOTO = str(Path(sys.executable).with_name("moto_server"))


def test_without_an_event_stream_it_greys_what_it_cannot_fill(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [MOTO, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        config = LabConfig(host="127.0.0.1", port=port, state_dir=tmp_path / "state")
        kwargs = dict(
            endpoint_url=config.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        sqs, elb, ec2 = (boto3.client(s, **kwargs) for s in ("sqs", "elbv2", "ec2"))  # type: ignore[call-overload]
        wait_until(lambda: _answers(sqs), timeout=30)
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        group = elb.create_target_group(
            Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]
        elb.register_targets(
            TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": "10.0.1.5", "Port": 80}]
        )
        [health] = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
            "TargetHealthDescriptions"
        ]

        async def main() -> None:
            app = LabApp(LiveSource(config), config)
            async with app.run_test(size=(160, 48)) as pilot:
                await wait_until_async(lambda: queue_row(app) == ("jobs", "2", "1", "0"), 15)
                assert app.view.stream_available is False
                assert any("event stream" in n or "/_lab/" in n for n in app.view.notices)
                for panel in (InFlightPanel, AnomaliesPanel, WorkersPanel):
                    widget = app.query_one(panel)
                    assert widget.has_class("unavailable"), panel
                assert NO_STREAM in str(app.query_one(InFlightPanel).render())
                balancer = app.query_one(BalancerPanel)
                assert not balancer.has_class("unavailable")
                assert not app.query_one(QueuesPanel).has_class("unavailable")
                await wait_until_async(lambda: (app.redraw(), balancer.rows)[1] != [], 15)
                [row] = balancer.rows
                assert (row[1], row[3]) == ("10.0.1.5", health["TargetHealth"]["State"])
                assert row[5] == "-"  # requests per second need the stream
                assert queue_row(app)[0:3] == ("jobs", "2", "1")
                await pilot.press("q")

        asyncio.run(main())
    finally:
        server.terminate()
        server.wait(10)


def queue_row(app: LabApp, name: str = "jobs") -> tuple[str, ...]:
    """The queues panel's row of ``name`` as a student sees it now: queue, visible, in flight,
    delayed."""
    app.redraw()
    rows = [row for row in app.query_one(QueuesPanel).rows if row[0] == name]
    return rows[0][:4] if rows else ()


def _answers(sqs: object) -> bool:
    try:
        sqs.list_queues()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 (not up yet)
        return False
    return True


def test_on_localstack_the_queues_show_and_the_rest_is_greyed(tmp_path: Path) -> None:
    """LocalStack's own core (Python 3.13, a virtualenv of its own, made once: see
    bench/localstack.py): SQS answers, ELBv2 is not in its free edition."""
    from bench import localstack

    try:
        python = localstack.ensure_venv(say=lambda _: None)
    except localstack.Unavailable as exc:
        pytest.skip(str(exc))
    port = free_port()
    (tmp_path / "localstack").mkdir()
    proc = localstack.start(python, port, tmp_path / "localstack")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: localstack.services_available(base, ("sqs",)), timeout=60)
        sqs = boto3.client(
            "sqs", endpoint_url=base, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        config = LabConfig(host="127.0.0.1", port=port, state_dir=tmp_path / "state")

        async def main() -> None:
            app = LabApp(LiveSource(config), config)
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_until_async(lambda: queue_row(app) == ("jobs", "3", "0", "0"), 30)
                await wait_until_async(
                    lambda: (app.redraw(), app.query_one(BalancerPanel))[1].has_class(
                        "unavailable"
                    ),
                    30,
                )
                assert "DescribeTargetHealth fails here" in str(
                    app.query_one(BalancerPanel).render()
                )
                assert all(
                    app.query_one(panel).has_class("unavailable")
                    for panel in (InFlightPanel, AnomaliesPanel, WorkersPanel)
                )
                await pilot.press("q")

        asyncio.run(main())
    finally:
        localstack.stop(proc)
