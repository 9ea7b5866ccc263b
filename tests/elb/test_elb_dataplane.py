"""The ALB data plane against real processes: the emulator, three backend web servers on
loopback aliases, and an ALB created with plain boto3."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import pytest
from elbkit import BACKEND_IPS, connects, free_port, wait_until

IP1, IP2, IP3 = BACKEND_IPS
ALL_HEALTHY = dict.fromkeys(BACKEND_IPS, "healthy")


def test_loopback_aliases_reachable(backends):
    for server in backends:
        with socket.create_connection((server.ip, server.port), timeout=1):
            pass


def test_round_robin_over_three_servers_and_forwarded_headers(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    alb.wait_states(tg, ALL_HEALTHY, timeout=5)
    ips = alb.ips(9)
    assert len(set(ips[:3])) == 3
    assert Counter(ips) == dict.fromkeys(BACKEND_IPS, 3)
    assert ips[0:3] == ips[3:6] == ips[6:9]  # a strict cycle

    seen = json.loads(alb.get("/echo?a=1", headers={"X-Forwarded-For": "203.0.113.7"}).data)
    headers = seen["headers"]
    assert seen["path"] == "/echo?a=1"
    assert headers["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Port"] == str(alb.port)
    root = headers["X-Amzn-Trace-Id"]
    assert root.startswith("Root=1-") and len(root) == len("Root=1-") + 8 + 1 + 24
    assert abs(int(root[7:15], 16) - time.time()) < 60

    sent = "Root=1-63441c4a-abcdef012345678912345678;Lineage=a:1"
    traced = json.loads(alb.get("/", headers={"X-Amzn-Trace-Id": sent}).data)["headers"]
    self_field, rest = traced["X-Amzn-Trace-Id"].split(";", 1)
    assert self_field.startswith("Self=1-") and rest == sent

    # health checks are real GETs with the ELB user agent
    assert backends[0].health_checks[0][1]["User-Agent"] == "ELB-HealthChecker/2.0"


def test_rule_routing_takes_effect_within_a_second(alb, backends):
    port = backends[0].port
    web = alb.target_group(port, "web")
    api = alb.target_group(port, "api")
    listener = alb.listen(web)
    alb.register(web, [IP1, IP2])
    alb.register(api, [IP3])
    alb.wait_states(web, {IP1: "healthy", IP2: "healthy"}, timeout=5)

    rule = alb.elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": api}],
    )["Rules"][0]["RuleArn"]
    started = time.monotonic()
    wait_until(lambda: alb.ip("/api/users") == IP3, 1.0, 0.05)
    assert time.monotonic() - started < 1.0
    assert set(alb.ips(4, "/api/x")) == {IP3}
    assert set(alb.ips(4, "/other")) == {IP1, IP2}

    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=5,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/teapot"]}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {
                    "StatusCode": "418",
                    "ContentType": "application/json",
                    "MessageBody": '{"short": "stout"}',
                },
            }
        ],
    )
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=20,
        Conditions=[
            {
                "Field": "http-header",
                "HttpHeaderConfig": {"HttpHeaderName": "X-Old", "Values": ["*"]},
            },
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
        ],
        Actions=[
            {
                "Type": "redirect",
                "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_302"},
            }
        ],
    )
    wait_until(lambda: alb.get("/api/teapot").status == 418, 1.0, 0.05)
    teapot = alb.get("/api/teapot")
    assert teapot.data == b'{"short": "stout"}'
    assert teapot.headers["Content-Type"].startswith("application/json")
    wait_until(lambda: alb.get("/page", headers={"X-Old": "1"}).status == 302, 1.0, 0.05)
    moved = alb.get("/page?x=1", headers={"X-Old": "1", "Host": "localhost"})
    assert moved.headers["Location"] == f"http://localhost:{alb.port}/new/page?x=1"
    assert alb.get("/page", headers={"X-Old": "1"}, method="POST").status == 200  # method ANDed

    alb.elb.delete_rule(RuleArn=rule)
    wait_until(lambda: alb.ip("/api/users") in (IP1, IP2), 1.0, 0.05)

    # The default action can change too.
    alb.elb.modify_listener(
        ListenerArn=listener, DefaultActions=[{"Type": "forward", "TargetGroupArn": api}]
    )
    wait_until(lambda: alb.ip("/anything") == IP3, 1.0, 0.05)


def test_weighted_forward_across_target_groups(alb, backends):
    port = backends[0].port
    blue = alb.target_group(port, "blue")
    green = alb.target_group(port, "green")
    alb.register(blue, [IP1])
    alb.register(green, [IP2])
    weighted = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": blue, "Weight": 1},
                {"TargetGroupArn": green, "Weight": 3},
            ]
        },
    }
    alb.listen(DefaultActions=[weighted])
    alb.wait_states(green, {IP2: "healthy"}, timeout=5)
    tally = Counter(alb.ips(80))
    assert set(tally) == {IP1, IP2}
    assert 40 <= tally[IP2] <= 75


def test_health_transitions_reasons_and_fail_open(alb, backends):
    """interval 5 s x threshold 2: a target is unhealthy between 5 and ~10 s after it starts
    failing, and healthy again as long after it recovers. Two groups over the same servers
    (different health paths) run at once: in ``part`` one target fails and gets no traffic;
    in ``down`` every target fails (three ways) and the group fails open."""
    part = alb.target_group(backends[0].port, "part", HealthCheckPath="/health-part")
    down = alb.target_group(backends[0].port, "down", HealthCheckPath="/health-down")
    listener = alb.listen(part)
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/down/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": down}],
    )
    alb.register(part, BACKEND_IPS)
    alb.register(down, BACKEND_IPS)
    alb.wait_states(part, ALL_HEALTHY, timeout=5)
    alb.wait_states(down, ALL_HEALTHY, timeout=5)

    b1, b2, b3 = backends
    b2.health_modes["/health-part"] = 503
    b1.health_modes["/health-down"] = "hang"  # the check times out after 2 s
    b2.health_modes["/health-down"] = "reset"
    b3.health_modes["/health-down"] = 404
    failing_since = time.monotonic()
    wait_until(lambda: alb.states(part)[IP2] == "unhealthy", 12, 0.2)
    took = time.monotonic() - failing_since
    assert 4.5 <= took <= 11, took
    wait_until(lambda: set(alb.states(down).values()) == {"unhealthy"}, 3, 0.2)

    assert alb.health(part) == {
        IP1: ("healthy", None, None),
        IP2: (
            "unhealthy",
            "Target.ResponseCodeMismatch",
            "Health checks failed with these codes: [503]",
        ),
        IP3: ("healthy", None, None),
    }
    assert Counter(alb.ips(6)) == {IP1: 3, IP3: 3}
    health = alb.health(down)
    assert health[IP1][1:] == ("Target.Timeout", "Request timed out")
    assert health[IP2][1:] == ("Target.FailedHealthChecks", "Health checks failed")
    assert health[IP3][1:] == (
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [404]",
    )
    # fail-open: every target is unhealthy, so all of them get traffic, in turn
    assert Counter(alb.ips(9, "/down/x")) == dict.fromkeys(BACKEND_IPS, 3)

    for b in backends:
        b.health_modes.clear()
    recovering = time.monotonic()
    alb.wait_states(part, ALL_HEALTHY, timeout=12)
    alb.wait_states(down, ALL_HEALTHY, timeout=6)
    assert time.monotonic() - recovering >= 4.5  # two passing checks, one interval apart


def test_no_registered_targets_is_503_and_registration_serves_within_a_second(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    response = alb.get("/")
    assert response.status == 503
    assert response.headers["Server"] == "awselb/2.0"
    alb.register(tg, [IP1])
    # initial targets are not healthy yet, but a group without healthy targets fails open
    wait_until(lambda: alb.get("/").status == 200, 1.0, 0.05)
    alb.elb.modify_target_group_attributes(
        TargetGroupArn=tg,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}],
    )
    alb.deregister(tg, [IP1])
    wait_until(lambda: alb.get("/").status == 503, 1.0, 0.05)
    assert alb.health(tg) == {}


def test_502_reset_garbage_refused_and_504_timeout(alb, backends):
    b1 = backends[0]
    tg = alb.target_group(b1.port)
    alb.listen(tg)
    alb.elb.modify_load_balancer_attributes(
        LoadBalancerArn=alb.arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "1"}]
    )
    alb.register(tg, [IP1])
    alb.wait_states(tg, {IP1: "healthy"}, timeout=5)
    time.sleep(0.5)  # let the sync pick up the idle timeout

    assert alb.get("/reset").status == 502
    assert alb.get("/garbage").status == 502
    started = time.monotonic()
    assert alb.get("/hang").status == 504
    assert 0.8 <= time.monotonic() - started < 4
    assert alb.get("/fine").status == 200  # a slow answer within the timeout is fine
    assert alb.get("/slow?s=0.3").status == 200

    # nothing listens on the refused target's port
    refused = alb.target_group(free_port(), "refused")
    alb.register(refused, [IP2])
    alb.elb.modify_listener(
        ListenerArn=alb.listeners[0],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": refused}],
    )
    wait_until(lambda: alb.get("/").status == 502, 1.0, 0.05)


def test_draining_without_failed_requests(alb, backends):
    b1, b2, b3 = backends
    tg = alb.target_group(b1.port)
    alb.elb.modify_target_group_attributes(
        TargetGroupArn=tg,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "3"}],
    )
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    alb.wait_states(tg, ALL_HEALTHY, timeout=5)

    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        import urllib3

        http = urllib3.PoolManager(retries=False)
        while not stop.is_set():
            statuses.append(http.request("GET", alb.url + "/slow?s=0.4").status)

    workers = [threading.Thread(target=load) for _ in range(6)]
    for w in workers:
        w.start()
    time.sleep(1.0)
    assert b1.in_flight > 0 or any(p == "/slow" for _, p in b1.requests)
    alb.deregister(tg, [IP1])
    deregistered = time.monotonic()
    assert alb.health(tg)[IP1] == (
        "draining",
        "Target.DeregistrationInProgress",
        "Target deregistration is in progress",
    )
    time.sleep(1.5)
    stop.set()
    for w in workers:
        w.join()
    assert statuses and set(statuses) == {200}, Counter(statuses)
    late = [t for t, _ in b1.requests if t > deregistered + 0.1]
    assert late == [], "the draining target got new requests"
    assert b1.in_flight == 0
    # still draining until the delay ends, then it leaves the group
    assert alb.states(tg)[IP1] == "draining"
    wait_until(lambda: IP1 not in alb.states(tg), 3, 0.1)
    one = alb.elb.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": IP1}])
    assert one["TargetHealthDescriptions"][0]["TargetHealth"] == {
        "State": "unused",
        "Reason": "Target.NotRegistered",
        "Description": "Target is not registered to the target group",
    }


def test_garbage_request_gets_400_and_the_listener_keeps_serving(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])
    for garbage in (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", alb.port), timeout=3) as raw:
            raw.sendall(garbage)
            reply = raw.recv(4096)
        assert reply.split(b" ", 2)[1] == b"400", reply[:80]
    assert alb.get("/").status == 200
    trace = alb.get("/", method="TRACE")
    assert trace.status == 405


def test_least_outstanding_requests(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.elb.modify_target_group_attributes(
        TargetGroupArn=tg,
        Attributes=[
            {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}
        ],
    )
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    alb.wait_states(tg, ALL_HEALTHY, timeout=5)
    time.sleep(0.4)

    slow_ips: list[str] = []

    def slow() -> None:
        slow_ips.append(alb.ip("/slow?s=1.5"))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    busy = {b.ip for b in backends if b.in_flight}
    assert len(busy) == 2
    (idle,) = set(BACKEND_IPS) - busy
    assert set(alb.ips(5)) == {idle}
    for t in threads:
        t.join()
    assert set(slow_ips) == busy


def test_listener_port_change_and_delete(alb, backends):
    tg = alb.target_group(backends[0].port)
    listener = alb.listen(tg)
    alb.register(tg, [IP1])
    old = alb.port
    new = free_port()
    alb.elb.modify_listener(ListenerArn=listener, Port=new)
    wait_until(lambda: connects(new) and not connects(old), 1.0, 0.05)
    alb.port = new
    assert alb.ip() == IP1
    alb.elb.delete_listener(ListenerArn=listener)
    alb.listeners.remove(listener)
    wait_until(lambda: not connects(new), 1.0, 0.05)


def test_target_group_in_no_listener_is_unused(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.register(tg, [IP1])
    assert alb.health(tg)[IP1] == (
        "unused",
        "Target.NotInUse",
        "Target group is not configured to receive traffic from the load balancer",
    )
    assert backends[0].health_checks == []
    alb.listen(tg)
    alb.wait_states(tg, {IP1: "healthy"}, timeout=5)


def test_instance_targets_resolve_to_the_private_ip(alb, emulator):
    ec2 = alb.ec2
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=alb.subnets[0])[
        "Instances"
    ][0]
    tg = alb.target_group(80, "inst", TargetType="instance")
    alb.listen(tg)
    alb.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance["InstanceId"]}])
    import urllib.request

    def described():
        data = json.loads(urllib.request.urlopen(emulator.endpoint + "/_lab/elb").read())
        for group in data["target_groups"]:
            if group["arn"] == tg:
                return group["targets"]
        return None

    targets = wait_until(described, 2)
    assert targets[0]["address"] == instance["PrivateIpAddress"]
    # a 10.x address is off this machine: never contacted, it fails its checks
    wait_until(lambda: alb.states(tg).get(instance["InstanceId"]) == "unhealthy", 8, 0.2)
    assert alb.health(tg)[instance["InstanceId"]][1] == "Target.FailedHealthChecks"
    assert alb.get("/").status == 502


@pytest.mark.parametrize(
    "unknown",
    ["arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/nope/0123456789abcdef"],
)
def test_describe_target_health_of_unknown_group_is_moto_error(alb, unknown):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        alb.elb.describe_target_health(TargetGroupArn=unknown)
    assert info.value.response["Error"]["Code"] == "TargetGroupNotFound"


def test_request_bodies_and_head_pass_through(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])
    posted = json.loads(alb.get("/form", method="POST", body=b"a=1&b=2").data)
    assert (posted["method"], posted["body"]) == ("POST", "a=1&b=2")

    def chunks():
        yield b"hello "
        yield b"world"

    chunked = json.loads(alb.get("/c", method="PUT", body=chunks(), chunked=True).data)
    assert chunked["body"] == "hello world"
    assert chunked["headers"]["Content-Length"] == "11"  # sent on with a length
    head = alb.get("/h", method="HEAD")
    assert head.status == 200 and int(head.headers["Content-Length"]) > 0 and head.data == b""


def test_load_balancer_survives_an_emulator_restart(fresh_emulator, backends):
    from elbkit import Alb

    alb = Alb(fresh_emulator)
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    assert alb.get("/").status == 200
    fresh_emulator.stop()
    assert not connects(alb.port)
    fresh_emulator.start()
    wait_until(lambda: connects(alb.port), 2.0, 0.05)
    assert set(alb.ips(3)) == set(BACKEND_IPS)
    alb.close()
