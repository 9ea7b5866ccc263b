"""The compose lab end to end, with podman: `lab up --target compose` (the emulator profile),
the balancer over 3 web containers, a URL2PNG job from the host rendered in a worker
container, a web container stopped and restarted, a worker killed by service and index (what
the TUI will call), `lab status`, and `lab down` leaving no container.

One lab for the module (starting it is the expensive part), in a project of its own
(``decoupling-lab-test``) on free ports; the tests run in file order and leave it as they found
it, the last one takes it down."""

from __future__ import annotations

import http.client
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.targets import compose
from lab.web.page import IP_HEADER, server_colour
from tests.compose.conftest import compose_env, project_containers, remove_project
from tests.support import png
from tests.support.lab import run_lab
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

PROJECT = "decoupling-lab-test"


@dataclass
class ComposeLab:
    env: dict[str, str]
    config: LabConfig
    up_output: str
    up_seconds: float

    def get(self, port: int, path: str = "/", host: str | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            conn.request("GET", path, headers={"Host": host} if host else {})
            reply = conn.getresponse()
            return reply.status, dict(reply.getheaders()), reply.read()
        finally:
            conn.close()

    def through_nginx(self, n: int) -> list[tuple[int, str | None]]:
        """(status, private IP) of ``n`` requests through nginx."""
        answers = []
        for _ in range(n):
            status, headers, _ = self.get(self.config.nginx_port)
            answers.append((status, headers.get(IP_HEADER)))
        return answers


@pytest.fixture(scope="module")
def lab(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeLab]:
    tmp: Path = tmp_path_factory.mktemp("compose")
    remove_project(PROJECT)  # what an interrupted run may have left
    env = compose_env(tmp, PROJECT)
    started = time.monotonic()
    done = run_lab(env, "up", "--target", "compose", check=False, timeout=1400)
    seconds = time.monotonic() - started
    # the in-process controls (compose.kill, stop, start) read the same variables
    with pytest.MonkeyPatch.context() as patch:
        for name in ("COMPOSE_PROJECT_NAME", "CONTAINERS_CONF", "LAB_BASE_IMAGE"):
            patch.setenv(name, env[name])
        patch.delenv("COMPOSE_PROFILES", raising=False)
        try:
            assert done.returncode == 0, done.stdout + done.stderr
            yield ComposeLab(env, LabConfig.from_env(env), done.stdout, seconds)
        finally:
            run_lab(env, "down", "--target", "compose", check=False, timeout=300)
            remove_project(PROJECT)


def test_up_says_where_everything_is(lab: ComposeLab) -> None:
    out = lab.up_output
    assert f"cloud: the lab's emulator at http://127.0.0.1:{lab.config.port}" in out
    assert f"http://127.0.0.1:{lab.config.nginx_port}/" in out
    assert "url2png: queue" in out and "web containers: 3" in out
    assert "URL2PNG workers: 2 containers" in out
    print(f"lab up --target compose took {lab.up_seconds:.1f} s")


def test_nginx_names_three_container_ips(lab: ComposeLab) -> None:
    web_ips = {
        c.ip for c in compose.containers(compose.find_engine(lab.config)) if c.service == "web"
    }
    answers = lab.through_nginx(12)
    assert all(status == 200 for status, _ in answers), answers
    seen = [ip for _, ip in answers]
    assert set(seen) == web_ips and len(web_ips) == 3
    assert sorted(Counter(seen).values()) == [4, 4, 4], "round robin: each answers a third"
    # the page shows the same address, read from the container's own interface
    _, _, body = lab.get(lab.config.nginx_port)
    assert any(f'id="private-ip">{ip}<' in body.decode() for ip in web_ips)


def test_url2png_job_from_the_host_renders_in_a_worker_container(lab: ComposeLab) -> None:
    done = run_lab(
        lab.env, "url2png", "submit", "--target", "compose", "http://nginx/", "--wait",
        timeout=180,
    )  # fmt: skip
    found = re.search(r"available at \S+/([0-9a-f-]{36})\.png", done.stdout)
    assert found, done.stdout + done.stderr
    job_id = found.group(1)
    assert f"{job_id}  done" in done.stdout, done.stdout
    # the PNG, through the website endpoint the host's browser would open
    status, headers, body = lab.get(
        lab.config.port, f"/{job_id}.png", host=f"url2png.s3-website.localhost:{lab.config.port}"
    )
    assert status == 200 and headers.get("Content-Type") == "image/png"
    picture = png.decode(body)
    assert (picture.width, picture.height) == (1280, 800)
    # the colour band at the top is that of one of the web containers, rendered through nginx
    engine = compose.find_engine(lab.config)
    web = [c.ip for c in compose.containers(engine) if c.service == "web"]
    band = picture.pixel(10, 10)
    colours = [tuple(int(server_colour(ip)[i : i + 2], 16) for i in (1, 3, 5)) for ip in web]
    assert any(png.close_to(band, colour) for colour in colours), (band, colours)
    # and a worker container says it did the job
    client = engine.client()
    try:
        logs = "".join(
            client.containers.get(c.id).logs().decode(errors="replace")
            for c in compose.containers(engine, client)
            if c.service == "worker"
        )
    finally:
        client.close()
    assert f"done job={job_id}" in logs


def test_a_stopped_web_container_leaves_the_rotation(lab: ComposeLab) -> None:
    stopped = compose.stop(lab.config, "web", 2)
    try:
        # nginx retries a failed connection on the next server: no request fails meanwhile
        answers = lab.through_nginx(9)
        assert all(status == 200 for status, _ in answers), answers
        # the next DNS look-up (every 2 s) drops it from the upstream
        wait_until(
            lambda: (
                stopped.ip.encode() not in lab.get(lab.config.nginx_port, "/_nginx/upstream")[2]
            ),
            15,
        )
        seen = {ip for _, ip in lab.through_nginx(12)}
        assert stopped.ip not in seen and len(seen) == 2
    finally:
        again = compose.start(lab.config, "web", 2)
    # started again (maybe on a new address), it comes back into rotation
    wait_until(lambda: again.ip and len({ip for _, ip in lab.through_nginx(6)}) == 3, 30, 0.5)


def test_kill_a_worker_by_service_and_index(lab: ComposeLab) -> None:
    killed = compose.kill(lab.config, "worker", 1)
    assert killed.up and killed.service == "worker" and killed.index == 1
    gone = wait_until(lambda: not compose.container(lab.config, "worker", 1).up, 30)
    assert gone
    assert compose.container(lab.config, "worker", 1).exit_code == 137  # SIGKILL
    assert compose.container(lab.config, "worker", 2).up  # the other one goes on
    compose.start(lab.config, "worker", 1)
    assert wait_until(lambda: compose.container(lab.config, "worker", 1).up, 30)


def test_the_tui_kills_a_worker_container_and_stops_a_web_container(lab: ComposeLab) -> None:
    """On the compose target the TUI's keys act on containers: `k` kills a worker container
    (asks first), `o` stops a web container and `b` starts it again; what follows shows in the
    containers' states and in the rotation through nginx."""
    import asyncio

    from lab.tui.app import LabApp
    from lab.tui.sources import LiveSource

    async def main() -> None:
        app = LabApp(LiveSource(lab.config), lab.config)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("k")
            await pilot.pause(2.0)  # the containers are listed on a worker thread
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("y")
            await asyncio.to_thread(
                wait_until, lambda: not compose.container(lab.config, "worker", 1).up, 30
            )
            assert compose.container(lab.config, "worker", 1).exit_code == 137
            assert compose.container(lab.config, "worker", 2).up

            await pilot.press("o")
            await pilot.pause(2.0)
            await pilot.press("down", "enter")  # the second web container
            await asyncio.to_thread(
                wait_until, lambda: not compose.container(lab.config, "web", 2).up, 30
            )
            await pilot.press("b")
            await pilot.pause(2.0)
            await pilot.press("down", "enter")
            await asyncio.to_thread(
                wait_until, lambda: compose.container(lab.config, "web", 2).up, 30
            )
            await pilot.press("q")

    try:
        asyncio.run(main())
    finally:
        compose.start(lab.config, "worker", 1)
    assert wait_until(lambda: compose.container(lab.config, "worker", 1).up, 30)
    wait_until(lambda: len({ip for _, ip in lab.through_nginx(6)}) == 3, 30, 0.5)


def test_control_a_web_container_from_inside(lab: ComposeLab) -> None:
    """The lab's own controls reach a web container (its control endpoint answers loopback
    only, so the command is run inside it), as the TUI's fail and heal keys will."""
    state = compose.control(lab.config, 1, {"action": "fail"})
    try:
        assert state["failing"] is True and state["private_ip"]
        web1 = compose.container(lab.config, "web", 1)
        engine = compose.find_engine(lab.config)
        client = engine.client()
        try:
            assert compose.run_healthcheck(engine, client, web1) == "unhealthy"
        finally:
            client.close()
    finally:
        state = compose.control(lab.config, 1, {"action": "heal"})
    assert state["failing"] is False


def test_status_lists_containers_ips_and_health(lab: ComposeLab) -> None:
    done = run_lab(lab.env, "status", "--target", "compose", timeout=120)
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith(f"  {PROJECT}_")]
    assert len(lines) == 8, done.stdout
    for name, _service, state, health, ip in lines:
        assert state == "running" and ip.count(".") == 3, (name, state, ip)
        assert health == "healthy", done.stdout
    assert {row[1] for row in lines} == {"emulator", "nginx", "pages", "web", "worker"}


def test_a_second_up_keeps_the_running_containers(lab: ComposeLab) -> None:
    engine = compose.find_engine(lab.config)
    before = {c.name: c.id for c in compose.containers(engine)}
    done = run_lab(lab.env, "up", "--target", "compose", timeout=600)
    after = {c.name: c.id for c in compose.containers(engine)}
    assert set(after) == set(before)
    if "building" in done.stdout:
        # the checkout changed since the first `lab up` (someone edits the tree): the images
        # are built again and every container runs the new code
        assert not set(after.values()) & set(before.values()), done.stdout
    else:
        assert after == before  # nothing changed: nothing built, nothing recreated
    assert len({ip for _, ip in lab.through_nginx(6)}) == 3


def test_the_emulator_balances_the_same_containers(lab: ComposeLab) -> None:
    """The cloud LocalStack's free edition lacks: ELBv2 with a data plane, in front of the web
    containers (`lab lb hit` works against the compose lab as against the embedded one)."""
    done = run_lab(lab.env, "lb", "hit", "--target", "compose", "-n", "6", timeout=120)
    web = {c.ip for c in compose.containers(compose.find_engine(lab.config)) if c.service == "web"}
    assert sum(ip in done.stdout for ip in web) >= 2, done.stdout


def test_down_leaves_no_container(lab: ComposeLab) -> None:
    done = run_lab(lab.env, "down", "--target", "compose", timeout=300)
    assert "compose lab: removed 8 containers" in done.stdout, done.stdout
    assert project_containers(PROJECT) == []
    status = run_lab(lab.env, "status", "--target", "compose", check=False, timeout=120)
    assert status.returncode == 3 and "not running" in status.stdout
