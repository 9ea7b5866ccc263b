"""Exercise 4: the checker fails the starting state (the chapter's stack at 2) and a stack
scaled to 3; it passes the stack updated to NumberOfVirtualMachines=4. Starting another
exercise deletes the stack and gives lab-web its port 80 back."""

from __future__ import annotations

import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import aws
from lab.config import LabConfig
from lab.stack import chapter
from lab.web.page import IP_HEADER
from tests.exercises.conftest import check, failed, start
from tests.support.lab import isolated_env, lab_down, run_lab
from tests.support.ports import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a stack of four instances

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A lab whose stack instances run on a loopback network and port of their own (other
    labs on this machine may run stacks too)."""
    env = isolated_env(Path(tmp_path_factory.mktemp("lab")))
    env.update(
        LAB_INSTANCE_NETWORK=f"127.{random.randint(64, 250)}.{random.randint(0, 255)}.0/24",
        LAB_INSTANCE_PORT=str(free_port()),
        LAB_PAGES_PORT=str(free_port()),  # the sample pages: another lab may have 7081
    )
    try:
        run_lab(env, "up")
        yield env
    finally:  # a lab up that failed half-way may have started its emulator
        lab_down(env)


def listener_ports(config: LabConfig, name: str = "lab-web") -> list[int]:
    elb = aws.client("elbv2", config)
    [balancer] = elb.describe_load_balancers(Names=[name])["LoadBalancers"]
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    return sorted(listener["Port"] for listener in listeners)


def answers_from(url: str) -> str:
    """The private IP of the server that answers ``url`` ("" when none does)."""
    try:
        with OPENER.open(url, timeout=5) as reply:
            return str(reply.headers.get(IP_HEADER, ""))
    except (urllib.error.URLError, OSError):
        return ""


def test_stack_of_four(lab_env: dict[str, str], config: LabConfig) -> None:
    shown = start(lab_env, 4)
    assert "deploying the chapter's stack loadbalancer" in shown, shown
    assert listener_ports(config) == [81]
    status, shown, report = check(lab_env, 4)
    assert status == 1 and "wants 2 instances (2 to 4)" in shown, shown
    assert report["max_points"] == 6 and report["points"] == 1, shown  # the stack is complete

    cfn, autoscaling = aws.client("cloudformation", config), aws.client("autoscaling", config)
    stack = chapter.find(cfn, "loadbalancer")
    assert stack is not None
    chapter.scale(autoscaling, stack, 3)  # wrong: 3 instances, not 4
    status, shown, report = check(lab_env, 4)
    assert status == 1 and failed(report) == [
        "its auto-scaling group wants 4 instances",
        "4 instances are in service",
        "4 targets are healthy",
        "requests reach 4 different private IPs",
    ], shown
    assert "showed 3 private IP(s)" in shown, shown

    # right: aws cloudformation update-stack with NumberOfVirtualMachines=4 (the rest as before)
    params = chapter.parameters(
        4, config.health_check_interval, web_server_port=config.instance_port
    )
    action, _ = chapter.deploy(cfn, "loadbalancer", params, timeout=120)
    assert action == "updated"
    status, shown, report = check(lab_env, 4)
    assert status == 0 and report["points"] == 6, shown
    assert "showed 4 private IP(s): 10.0." in shown, shown

    # lab up again meanwhile: it gives lab-web a new listener on 80 (which cannot be served
    # while the stack's holds the local port)
    run_lab(lab_env, "up")
    assert listener_ports(config) == [80, 81]

    # another exercise: the stack is gone, lab-web has one listener, on port 80, and answers
    shown = start(lab_env, 1)
    assert "deleted the stack loadbalancer" in shown, shown
    assert chapter.find(cfn, "loadbalancer") is None
    assert listener_ports(config) == [80]
    url = f"http://{config.listener_host}:{config.local_port(80)}/"
    assert wait_until(lambda: answers_from(url), 15).startswith("127.0.0.1")
