"""The instance runner's pure decisions and the metadata service, without processes."""

from __future__ import annotations

import ipaddress

import pytest

from emulator.clock import ManualClock
from emulator.config import EmulatorSettings
from emulator.ec2 import core
from emulator.ec2.core import InstanceView, Workload
from emulator.ec2.imds import MetadataService, is_imds_path
from emulator.settings import SettingError

NET = ipaddress.IPv4Network("127.0.1.0/24")


def view(iid: str, state: str = "running", **kw) -> InstanceView:
    kw.setdefault("private_ip", "10.0.1.4")
    return InstanceView(iid, state, "us-east-1", **kw)


def test_addresses_are_stable_and_freed_by_termination_only():
    first = core.allocate([view("i-b"), view("i-a")], {}, NET)
    assert first == {"i-a": "127.0.1.1", "i-b": "127.0.1.2"}
    # i-a stops (keeps its address), a new instance takes the lowest free one
    second = core.allocate([view("i-a", "stopped"), view("i-b"), view("i-c")], first, NET)
    assert second == {"i-a": "127.0.1.1", "i-b": "127.0.1.2", "i-c": "127.0.1.3"}
    # i-a terminates: its address is free for the next instance
    third = core.allocate(
        [view("i-a", "terminated"), view("i-b"), view("i-c"), view("i-d")], second, NET
    )
    assert third == {"i-b": "127.0.1.2", "i-c": "127.0.1.3", "i-d": "127.0.1.1"}
    # addresses outside the (changed) network are given anew
    assert core.allocate([view("i-b")], {"i-b": "127.0.9.9"}, NET) == {"i-b": "127.0.1.1"}


def test_plan_starts_running_instances_and_stops_the_rest():
    addresses = {"i-a": "127.0.1.1", "i-b": "127.0.1.2", "i-c": "127.0.1.3"}
    workloads = {
        "i-a": Workload("i-a", "127.0.1.1", pid=10),
        "i-b": Workload("i-b", "127.0.1.2", pid=11),
    }
    todo = core.plan([view("i-a"), view("i-b", "stopped"), view("i-c")], addresses, workloads, 0)
    assert todo.stop == ("i-b",) and todo.start == ("i-c",)
    # a process on an address that changed is stopped and started again
    moved = core.plan([view("i-a")], {"i-a": "127.0.1.7"}, workloads, 0)
    assert moved.stop == ("i-a", "i-b") and moved.start == ("i-a",)


def test_plan_restarts_a_crashed_workload_with_backoff():
    crashed = Workload("i-a", "127.0.1.1", pid=None, exits=3, last_exit=100.0)
    assert crashed.backoff() == 4.0
    addresses = {"i-a": "127.0.1.1"}
    early = core.plan([view("i-a")], addresses, {"i-a": crashed}, 102.0)
    assert early.start == () and early.waiting == {"i-a": pytest.approx(2.0)}
    assert core.plan([view("i-a")], addresses, {"i-a": crashed}, 104.5).start == ("i-a",)


def test_command_line_template():
    argv = core.command_line(
        EmulatorSettings().instance_command,
        python="/py",
        address="127.0.1.4",
        port=80,
        imds="http://127.0.0.1:4566",
        view=view("i-a", name="web server"),
    )
    assert argv == [
        "/py", "-m", "lab.web.server", "--ip", "127.0.1.4", "--port", "80",
        "--imds", "http://127.0.0.1:4566", "--name", "web server",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="fields"):
        core.command_line(
            "{python} {nope}", python="p", address="a", port=1, imds="i", view=view("i-a")
        )


def test_instance_settings_are_checked():
    with pytest.raises(SettingError, match="--instance-network.*loopback"):
        EmulatorSettings(instance_network="10.0.0.0/24")
    with pytest.raises(SettingError, match="--instance-port"):
        EmulatorSettings(instance_port=0)
    with pytest.raises(SettingError, match="fields"):
        EmulatorSettings(instance_command="{python} {nope}")


@pytest.fixture
def imds():
    clock = ManualClock()
    views = {
        "127.0.1.1": view(
            "i-a",
            private_dns="ip-10-0-1-4.ec2.internal",
            availability_zone="us-east-1a",
            user_data=b"#!/bin/bash\n",
        ),
        "127.0.1.2": view("i-b", private_ip="10.0.2.9", http_tokens="required"),
    }
    service = MetadataService(views.get, "000000000000", clock)
    return service, clock


def test_metadata_items_and_listing(imds):
    service, _ = imds

    def ask(path, source="127.0.1.1", method="GET", headers=None):
        return service.answer(method, path, source, headers or {})

    assert ask("/latest/meta-data/local-ipv4").text == "10.0.1.4"
    assert ask("/latest/meta-data/instance-id").text == "i-a"
    assert ask("/latest/meta-data/local-hostname").text == "ip-10-0-1-4.ec2.internal"
    assert ask("/latest/meta-data/placement/availability-zone").text == "us-east-1a"
    listing = ask("/latest/meta-data/").text.splitlines()
    assert {"instance-id", "local-ipv4", "local-hostname", "placement/"} <= set(listing)
    assert ask("/latest/meta-data/placement/").text.splitlines() == ["availability-zone", "region"]
    assert ask("/latest/user-data").text == "#!/bin/bash\n"
    assert '"instanceId": "i-a"' in ask("/latest/dynamic/instance-identity/document").text
    assert ask("/latest/meta-data/public-ipv4").status == 404
    assert ask("/latest/meta-data/local-ipv4/x").status == 404
    unknown = ask("/latest/meta-data/local-ipv4", source="127.0.0.1")
    assert unknown.status == 404 and "127.0.0.1" in unknown.text
    assert ask("/latest/meta-data/local-ipv4", method="POST").status == 405
    assert is_imds_path("/latest/meta-data/") and not is_imds_path("/latest-bucket/key")


def test_imdsv2_tokens(imds):
    service, clock = imds

    def put(ttl, source="127.0.1.1", **headers):
        if ttl is not None:
            headers["X-aws-ec2-metadata-token-ttl-seconds"] = ttl
        return service.answer("PUT", "/latest/api/token", source, headers)

    for bad in (None, "0", "21601", "abc"):
        assert put(bad).status == 400
    assert put("60", **{"X-Forwarded-For": "1.2.3.4"}).status == 403
    assert service.answer("GET", "/latest/api/token", "127.0.1.1", {}).status == 405
    token = put("60").text

    def get(path, source="127.0.1.1", token=token):
        headers = {"X-aws-ec2-metadata-token": token} if token else {}
        return service.answer("GET", path, source, headers)

    assert get("/latest/meta-data/instance-id").text == "i-a"
    assert get("/latest/meta-data/instance-id", source="127.0.1.2").status == 401  # other's
    assert get("/latest/meta-data/instance-id", token="nope").status == 401
    # HttpTokens=required: no token, no answer; with its own token, an answer
    assert get("/latest/meta-data/local-ipv4", source="127.0.1.2", token=None).status == 401
    own = put("60", source="127.0.1.2").text
    assert get("/latest/meta-data/local-ipv4", source="127.0.1.2", token=own).text == "10.0.2.9"
    clock.advance(61)
    assert get("/latest/meta-data/instance-id").status == 401  # expired
