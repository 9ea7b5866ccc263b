"""The default target: the lab's own emulator on this machine (``lab up`` with no target),
with the web servers, the load balancer, the URL2PNG resources and the sample pages on it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab import runtime
from lab.config import LabConfig
from lab.targets import Echo


def _clients(config: LabConfig) -> dict[str, Any]:
    from lab import aws

    return {name: aws.client(name, config) for name in ("sqs", "s3", "ec2", "elbv2")}


def up(config: LabConfig, echo: Echo, preload: Callable[[], None] | None = None) -> None:
    """The local cloud, then the chapter's resources on it, created through AWS APIs.

    The emulator's start is the longest step, so it begins first; while it loads, the web
    servers start and boto3 loads (then ``preload`` runs), on threads. What is printed, and in
    which order, is as if each step waited for the one before."""
    launched = runtime.launch_emulator(config)
    from lab.lb import up as lbup
    from lab.pages import service as pages
    from lab.url2png import resources as url2png_resources

    with ThreadPoolExecutor(4, thread_name_prefix="lab-up") as pool:
        servers = pool.submit(lbup.start_web_servers, config)
        sample_pages = pool.submit(pages.start, config)
        clients = pool.submit(_clients, config)
        if preload is not None:
            pool.submit(preload)
        try:
            health = runtime.wait_for_emulator(config, launched)
            echo(f"local cloud running at {config.endpoint} (state in {config.state_dir})")
            echo("services: " + ", ".join(health["services"]))
            made = clients.result()
            resources = url2png_resources.ensure(config, made["sqs"], made["s3"])
            echo(url2png_resources.summary(resources))
            echo(
                f"sample pages at {config.pages_url}/ ({sample_pages.result()}; "
                "lab url2png pages lists them)"
            )
        except BaseException:
            _stop_started(config, servers)
            raise
        echo("point any AWS client at it with:  eval $(lab env)")
        lbup.bring_up(config, echo, servers.result(), (made["ec2"], made["elbv2"]))


def _stop_started(config: LabConfig, servers: Any) -> None:
    """A step before the web servers' line failed: stop the servers this call started early
    (beside the emulator), as if it had not come to them yet."""
    from lab.web import fleet

    try:
        outcomes = servers.result()
    except runtime.LabError:
        return
    for spec in fleet.lab_specs(config):
        if outcomes.get(spec.ip) == fleet.STARTED:
            fleet.stop(config, spec)


def down(config: LabConfig, echo: Echo) -> bool:
    """What ``lab up`` started, stopped (web servers, sample pages, the emulator); whether
    the emulator was running."""
    from lab.lb import up as lbup
    from lab.pages import service as pages

    lbup.bring_down(config, echo)
    if pages.stop(config):
        echo("sample pages stopped")
    stopped = runtime.stop(config, "emulator")
    echo("local cloud stopped" if stopped else "local cloud was not running")
    return stopped


def status(config: LabConfig, echo: Echo) -> bool:
    """What runs: the emulator's services, its clock and the delivery model."""
    health = runtime.emulator_health(config)
    if not health:
        echo(f"local cloud: not running (expected at {config.endpoint})")
        return False
    echo(f"local cloud: running at {config.endpoint}")
    for name, state in health["services"].items():
        echo(f"  {name:22} {state}")
    speed = (health.get("clock") or {}).get("speed", 1)
    echo(f"clock: {'real time' if speed == 1 else f'{speed:g}x faster (lab clock)'}")
    on = (health.get("chaos") or {}).get("enabled")
    echo(f"delivery model: {'on (lab chaos status)' if on else 'off'}")
    return True
