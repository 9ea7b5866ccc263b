"""``--target localstack``, as a user runs it, against LocalStack's own core on this machine:
``lab up`` makes the URL2PNG queue, its dead-letter queue and the website bucket there; a real
``lab worker`` renders a sample page into it; the picture is served by LocalStack's website
endpoint; ``lab status``, ``lab url2png status``, ``lab url2png dlq`` and the TUI read it back;
``lab down`` leaves LocalStack and what it holds. A LocalStack that does not answer, and an
exercise whose checker needs the lab's own cloud, are one sentence each."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.pages.server import SAMPLE_PAGES
from tests.support import png
from tests.support.ports import free_port
from tests.support.waiting import wait_until, wait_until_async
from tests.targets.conftest import LAB, LocalStack, lab_env, ok, one_sentence, run_lab

JOB_ID = re.compile(r"PNG will be soon available at (\S+/([0-9a-f-]{36})\.png)")


def names(tmp_path: Path) -> dict[str, str]:
    """Queue and bucket names of the test's own: the tests share one LocalStack."""
    tag = re.sub(r"[^a-z0-9]", "", tmp_path.name.lower())[-20:]
    return {
        "LAB_URL2PNG_QUEUE": f"jobs-{tag}",
        "LAB_URL2PNG_DLQ": f"jobs-{tag}-dlq",
        "LAB_URL2PNG_BUCKET": f"pictures-{tag}",
    }


def website_get(
    localstack: LocalStack, bucket: str, path: str
) -> tuple[int, dict[str, str], bytes]:
    """A browser's request to LocalStack's website endpoint for ``bucket`` (the name
    resolves to 127.0.0.1 publicly; here the Host header says it, with no DNS)."""
    conn = http.client.HTTPConnection("127.0.0.1", localstack.port, timeout=10)
    try:
        host = f"{bucket}.s3-website.localhost.localstack.cloud:{localstack.port}"
        conn.request("GET", path, headers={"Host": host})
        reply = conn.getresponse()
        return reply.status, dict(reply.headers), reply.read()
    finally:
        conn.close()


def test_without_a_running_localstack_up_and_status_say_where_they_looked(
    tmp_path: Path,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = lab_env(tmp_path)
    line = one_sentence(run_lab(env, "up", "--target", "localstack", "--endpoint", nowhere))
    assert f"no LocalStack answers at {nowhere}" in line
    assert "connection refused" in line and "docker run" in line
    status = run_lab(env, "status", "--target", "localstack", "--endpoint", nowhere)
    assert status.returncode == 3
    assert f"LocalStack: not answering at {nowhere}" in status.stdout
    # and a command that only reads the queue says it in one sentence too
    line = one_sentence(
        run_lab(env, "url2png", "status", "abc", "--target", "localstack", "--endpoint", nowhere)
    )
    assert f"the cloud does not answer at {nowhere}" in line


def test_an_endpoint_that_is_not_localstack_is_told_apart(tmp_path: Path, emulator) -> None:
    """The lab's own emulator answers, but has no /_localstack/health."""
    env = lab_env(tmp_path)
    line = one_sentence(
        run_lab(env, "up", "--target", "localstack", "--endpoint", emulator.endpoint)
    )
    assert f"{emulator.endpoint} answers, but not as LocalStack" in line


@pytest.mark.slow  # a real worker on real Chromium, and a poison message through 2 receives
@pytest.mark.timeout(900)  # the first run also makes LocalStack's virtualenv
def test_url2png_end_to_end_on_localstack(tmp_path: Path, localstack: LocalStack) -> None:
    mine = names(tmp_path)
    env = lab_env(tmp_path, LAB_TARGET="localstack", LAB_ENDPOINT_URL=localstack.endpoint)
    env.update(mine, LAB_URL2PNG_MAX_RECEIVE="2")
    queue, dlq, bucket = (
        mine["LAB_URL2PNG_QUEUE"],
        mine["LAB_URL2PNG_DLQ"],
        mine["LAB_URL2PNG_BUCKET"],
    )
    website = f"http://{bucket}.s3-website.localhost.localstack.cloud:{localstack.port}"
    pages = f"http://127.0.0.1:{env['LAB_PAGES_PORT']}"

    out = ok(run_lab(env, "up"))
    assert f"LocalStack running at {localstack.endpoint}" in out
    assert f"/{queue} (dead letters after 2 receives), pictures at {website}/" in out
    assert f"sample pages at {pages}/ (started;" in out
    assert "load balancer: skipped (LocalStack's free edition has no ELBv2" in out
    # ... as LocalStack itself has them: the redrive policy, website hosting, the empty gallery
    sqs, s3 = localstack.client("sqs"), localstack.client("s3")
    queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"].endswith(f":{dlq}")
    assert int(policy["maxReceiveCount"]) == 2
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}
    status, _, body = website_get(localstack, bucket, "/")
    assert status == 200 and b"No pictures yet" in body
    assert ok(run_lab(env, "up")).count("url2png: queue") == 1  # a second up changes nothing

    worker = subprocess.Popen(
        [LAB, "worker", "--target", "localstack", "--wait-time", "1", "--visibility-timeout", "2"],
        env={k: v for k, v in env.items() if k != "LAB_TARGET"},  # the option alone says where
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = SAMPLE_PAGES["ocean"]
        submitted = ok(
            run_lab(env, "url2png", "submit", pages + page.path, "--wait", "--timeout", "90")
        )
        png_url, job_id = JOB_ID.search(submitted).groups()  # type: ignore[union-attr]
        assert png_url == f"{website}/{job_id}.png"
        assert f"{job_id}  done: {png_url}" in submitted
        assert ok(run_lab(env, "url2png", "status", job_id)).strip() == f"done: {png_url}"

        # the picture, from LocalStack's website endpoint: the page's own colours
        status, headers, data = website_get(localstack, bucket, f"/{job_id}.png")
        assert status == 200 and headers["Content-Type"] == "image/png"
        image = png.decode(data)
        assert png.close_to(image.pixel(10, 10), page.band)
        assert png.close_to(image.pixel(700, 500), page.block)
        # and the gallery the worker publishes lists it
        wait_until(lambda: f"{job_id}.png".encode() in website_get(localstack, bucket, "/")[2], 20)

        # a poison message: received twice (maxReceiveCount 2), then LocalStack sets it aside
        sqs.send_message(QueueUrl=queue_url, MessageBody="this is not a job")
        wait_until(lambda: "this is not a job" in run_lab(env, "url2png", "dlq").stdout, 60, 0.5)
        letters = ok(run_lab(env, "url2png", "dlq"))
        assert "reason  poison after 2 receives" in letters, letters
    finally:
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=30)
    assert worker.returncode == 0, log
    assert f"PNGs to {website}/" in log and f"done job={job_id}" in log

    out = ok(run_lab(env, "status"))
    assert f"queue {queue}: 0 visible, 0 in flight, 0 delayed; dead letters after 2 receives" in out
    assert f"queue {dlq}: 1 visible, 0 in flight, 0 delayed" in out
    assert f"bucket {bucket}: 1 picture(s), website {website}/" in out
    assert f"sample pages: running at {pages}/" in out

    # down: LocalStack and what it holds stay; the sample pages this machine ran stop
    out = ok(run_lab(env, "down"))
    assert "sample pages stopped" in out
    assert f"LocalStack keeps running at {localstack.endpoint}" in out
    assert f"bucket {bucket}: 1 picture(s)" in out
    assert website_get(localstack, bucket, f"/{job_id}.png")[0] == 200
    assert "not running" in ok(run_lab(env, "status")).split("sample pages:")[1]


@pytest.mark.timeout(900)  # the first run also makes LocalStack's virtualenv
def test_the_tui_shows_the_queues_and_greys_what_needs_the_lab(
    tmp_path: Path, localstack: LocalStack
) -> None:
    from lab.tui.app import LabApp
    from lab.tui.sources import LiveSource
    from lab.tui.widgets.anomalies import AnomaliesPanel
    from lab.tui.widgets.balancer import BalancerPanel
    from lab.tui.widgets.inflight import InFlightPanel
    from lab.tui.widgets.queues import QueuesPanel
    from lab.tui.widgets.workers import WorkersPanel

    mine = names(tmp_path)
    env = lab_env(tmp_path, **mine)
    ok(run_lab(env, "up", "--target", "localstack", "--endpoint", localstack.endpoint))
    sqs = localstack.client("sqs")
    url = sqs.get_queue_url(QueueName=mine["LAB_URL2PNG_QUEUE"])["QueueUrl"]
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": str(n), "url": "x"}))
    config = LabConfig(
        target="localstack",
        endpoint_url=localstack.endpoint,
        state_dir=tmp_path / "state",
        url2png_queue=mine["LAB_URL2PNG_QUEUE"],
        url2png_dlq=mine["LAB_URL2PNG_DLQ"],
        url2png_bucket=mine["LAB_URL2PNG_BUCKET"],
    )

    def row(app: LabApp) -> tuple[str, ...]:
        app.redraw()
        rows = [r for r in app.query_one(QueuesPanel).rows if r[0] == config.url2png_queue]
        return tuple(rows[0][:4]) if rows else ()

    async def main() -> None:
        app = LabApp(LiveSource(config), config)
        async with app.run_test(size=(140, 44)) as pilot:
            await wait_until_async(lambda: row(app) == (config.url2png_queue, "4", "0", "0"), 30)
            balancer = app.query_one(BalancerPanel)
            await wait_until_async(lambda: (app.redraw(), balancer)[1].has_class("unavailable"), 30)
            for panel in (InFlightPanel, AnomaliesPanel, WorkersPanel):
                assert app.query_one(panel).has_class("unavailable"), panel
            assert not app.query_one(QueuesPanel).has_class("unavailable")
            await pilot.press("q")

    asyncio.run(main())
    ok(run_lab(env, "down", "--target", "localstack", "--endpoint", localstack.endpoint))


@pytest.mark.parametrize("number", (1, 2, 3, 4, 6, 7, 8))  # 5 and 9 run there
def test_an_exercise_that_needs_the_lab_says_so_in_one_sentence(
    tmp_path: Path, number: int
) -> None:
    """Seven of the nine checkers do not run on LocalStack: 1-4 need the load balancer, 6-8
    the lab's delivery model and event stream (5 and 9 read SQS and S3 there:
    test_localstack_exercises.py). The refusal comes before the checker touches the cloud, so
    no LocalStack is needed to see it."""
    env = lab_env(tmp_path, LAB_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    for args in (("check", str(number)), ("exercise", "start", str(number))):
        line = one_sentence(run_lab(env, *args, "--target", "localstack"))
        assert line.startswith(f"lab: exercise {number} does not run on localstack:"), line
        assert f"lab check {number})" in line
    listing = ok(run_lab(env, "exercise", "list"))
    assert re.search(rf"^ ?{number} .*\[lab\]", listing, re.M), listing


def test_website_endpoints_of_each_target() -> None:
    """Where a browser reads the bucket: LocalStack's name on its endpoint's port; AWS's
    region endpoint with a dash or a dot, as the region has it."""
    assert (
        LabConfig(target="localstack").website_endpoint("b")
        == "http://b.s3-website.localhost.localstack.cloud:4566"
    )
    assert (
        LabConfig(target="localstack", endpoint_url="http://127.0.0.1:4599/").website_endpoint("b")
        == "http://b.s3-website.localhost.localstack.cloud:4599"
    )
    aws = {
        "us-east-1": "http://b.s3-website-us-east-1.amazonaws.com",
        "eu-west-1": "http://b.s3-website-eu-west-1.amazonaws.com",
        "eu-central-1": "http://b.s3-website.eu-central-1.amazonaws.com",
        "us-east-2": "http://b.s3-website.us-east-2.amazonaws.com",
        "cn-north-1": "http://b.s3-website.cn-north-1.amazonaws.com.cn",
    }
    for region, url in aws.items():
        assert LabConfig(target="aws", region=region).website_endpoint("b") == url
    assert LabConfig(port=4600).website_endpoint("b") == "http://b.s3-website.localhost:4600"
