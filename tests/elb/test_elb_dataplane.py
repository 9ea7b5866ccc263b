"""The ALB data plane against real processes: the emulator, three backend web servers on
loopback aliases, and an ALB created with plain boto3."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter

import pytest

from tests.elb.elbkit import BACKEND_IPS, Alb
from tests.support.ports import connects, free_port
from tests.support.waiting import wait_until

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
    # no wait for the idle timeout: an ELBv2 call that changes records returns once the data
    # plane has synced it (emulator/elb/api.py)
    alb.wait_states(tg, {IP1: "healthy"}, timeout=5)

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
    wait_until(lambda: b1.in_flight > 0 or any(p == "/slow" for _, p in b1.requests), 5, 0.05)
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

    slow_ips: list[str] = []

    def slow() -> None:
        slow_ips.append(alb.ip("/slow?s=1.5"))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for started, t in enumerate(threads, 1):
        t.start()  # the next request is balanced once this one is outstanding at its backend
        wait_until(lambda n=started: sum(b.in_flight for b in backends) == n, 2, 0.02)
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
    wait_until(lambda: connects("127.0.0.1", new) and not connects("127.0.0.1", old), 1.0, 0.05)
    alb.port = new
    assert alb.ip() == IP1
    alb.elb.delete_listener(ListenerArn=listener)
    alb.listeners.remove(listener)
    wait_until(lambda: not connects("127.0.0.1", new), 1.0, 0.05)


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


def test_instance_targets_reach_the_instances_web_server(alb, emulator):
    """An instance target is reached where the emulator runs the instance (emulator.ec2: a
    loopback address of its own, never the 10.x private IP, which is off this machine); the
    instance's web server reports the private IP."""
    ec2 = alb.ec2
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=alb.subnets[0])[
        "Instances"
    ][0]
    iid = instance["InstanceId"]
    try:
        tg = alb.target_group(80, "inst", TargetType="instance")
        alb.listen(tg)
        alb.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": iid}])
        import ipaddress
        import urllib.request

        def address():
            data = json.loads(urllib.request.urlopen(emulator.endpoint + "/_lab/elb").read())
            for group in data["target_groups"]:
                if group["arn"] == tg and group["targets"]:
                    return group["targets"][0]["address"]
            return None

        def loopback() -> bool:
            found = address()
            return found is not None and ipaddress.ip_address(found).is_loopback

        wait_until(loopback, 3)
        alb.wait_states(tg, {iid: "healthy"}, timeout=20)
        response = alb.get("/")
        assert response.status == 200
        assert response.headers["X-Lab-Private-Ip"] == instance["PrivateIpAddress"]
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


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
    alb = Alb(fresh_emulator)
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    assert alb.get("/").status == 200
    fresh_emulator.stop()
    assert not connects("127.0.0.1", alb.port)
    fresh_emulator.start()
    wait_until(lambda: connects("127.0.0.1", alb.port), 2.0, 0.05)
    assert set(alb.ips(3)) == set(BACKEND_IPS)
    alb.close()


# -- the proxy's ugly cases, on raw sockets -----------------------------------------------------


def read_response(f, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response from a buffered socket file (length-framed or close-delimited;
    no body at all for an answer to HEAD)."""
    status_line = f.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if head:
        return status, headers, b""
    return status, headers, f.read(int(length)) if length is not None else f.read()


def raw_exchange(port: int, data: bytes, count: int, shut: bool = False, heads: tuple = ()):
    """Send ``data`` on one connection and read ``count`` answers (``heads``: the indexes of
    answers to HEAD); with ``shut`` the client half-closes after sending and reads to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        f = sock.makefile("rb")
        answers = [read_response(f, i in heads) for i in range(count)]
        return answers, f.read() if shut else None


class RawBackend:
    """A socket-level backend for what http.server will not do: ``answer(conn, n, head)`` gets
    the connection's number, the request's number on it (from 1) and the request head, and
    returns the bytes to send (then keeps the connection), or None to close without a word."""

    def __init__(self, ip: str, answer) -> None:
        self.answer = answer
        self.requests: list[tuple[int, int, bytes]] = []
        self.server = socket.create_server((ip, 0))
        self.ip, self.port = ip, self.server.getsockname()[1]
        self.connections = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock, self.connections), daemon=True).start()

    def _serve(self, sock: socket.socket, conn: int) -> None:
        buffer = b""
        n = 0
        with sock:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                        while len(buffer) < length:
                            buffer += sock.recv(65536)
                        buffer = buffer[length:]
                n += 1
                self.requests.append((conn, n, head))
                if head.startswith(b"GET /health"):
                    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                else:
                    reply = self.answer(conn, n, head)
                if reply is None:
                    return
                sock.sendall(reply)
                if reply.startswith(b"HTTP/1.0") or b"connection: close" in reply.lower():
                    return

    def stop(self) -> None:
        self.stopping = True
        self.server.close()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_pipelined_requests_answer_in_order(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, BACKEND_IPS)
    # all three in rotation first: while only some have passed their first check, only those
    # get traffic
    alb.wait_states(tg, dict.fromkeys(BACKEND_IPS, "healthy"))
    requests = (
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"PUT /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        b"HEAD /four HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /five HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answers, rest = raw_exchange(alb.port, requests, 5, heads=(3,))
    assert [status for status, _, _ in answers] == [200] * 5
    bodies = [json.loads(body) for _, _, body in answers if body]
    assert [b["path"] for b in bodies] == ["/one", "/two", "/three", "/five"]
    assert [b["body"] for b in bodies[1:3]] == ["abc", "hello world"]
    assert bodies[2]["headers"]["Content-Length"] == "11"  # the chunked body, sent with a length
    assert "Transfer-Encoding" not in bodies[2]["headers"]
    assert answers[3][1]["content-length"] != "0" and answers[3][2] == b""  # HEAD
    assert answers[4][1]["connection"] == "close"
    # pipelined requests are spread like any others
    assert len({b["ip"] for b in bodies}) == 3


def test_half_closed_clients(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])
    # a complete request, then the client shuts its side: it still gets the answer, then EOF
    answers, rest = raw_exchange(alb.port, b"GET /half HTTP/1.1\r\nHost: x\r\n\r\n", 1, shut=True)
    assert answers[0][0] == 200 and json.loads(answers[0][2])["path"] == "/half"
    assert rest == b""
    # half a request and then EOF: nothing to answer, the connection just closes
    for partial in (
        b"GET /par",
        b"GET /partial HTTP/1.1\r\nHost: x\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    ):
        with socket.create_connection(("127.0.0.1", alb.port), timeout=5) as sock:
            sock.sendall(partial)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(4096) == b""
    assert all(path not in ("/par", "/partial") for _, path in backends[0].requests)
    assert alb.get("/").status == 200


def test_http10_expect_continue_and_oversized_heads(alb, backends):
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])
    # HTTP/1.0 without Host: answered, then closed; the target still gets a Host
    answers, rest = raw_exchange(alb.port, b"GET /old HTTP/1.0\r\n\r\n", 1, shut=False)
    seen = json.loads(answers[0][2])
    assert seen["headers"]["Host"] == f"{IP1}:{backends[0].port}"
    assert answers[0][1].get("connection") == "close"
    # HTTP/1.0 keep-alive is kept alive
    answers, _ = raw_exchange(
        alb.port, b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2, 2, shut=False
    )
    assert [a[1].get("connection") for a in answers] == ["keep-alive", "keep-alive"]
    # Expect: 100-continue gets the interim answer before the body is sent
    with socket.create_connection(("127.0.0.1", alb.port), timeout=5) as sock:
        sock.sendall(
            b"POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        f = sock.makefile("rb")
        assert f.readline() == b"HTTP/1.1 100 Continue\r\n" and f.readline() == b"\r\n"
        sock.sendall(b"data")
        status, _, body = read_response(f)
        assert status == 200 and json.loads(body)["body"] == "data"
        assert "Expect" not in json.loads(body)["headers"]
    # a header over 16 KiB is a 400; the listener keeps serving
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\n\r\n"
    answers, _ = raw_exchange(alb.port, huge, 1, shut=False)
    assert answers[0][0] == 400 and answers[0][1]["connection"] == "close"
    # hop-by-hop request headers, and those Connection names, do not reach the target
    answers, _ = raw_exchange(
        alb.port,
        b"GET /hop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
        b"Keep-Alive: timeout=5\r\nTE: trailers\r\nX-Kept: 1\r\nConnection: close\r\n\r\n",
        1,
    )
    headers = json.loads(answers[0][2])["headers"]
    assert headers["X-Kept"] == "1"
    assert not {"X-Hop", "Keep-Alive", "TE", "Connection"} & set(headers)


@pytest.fixture
def raw_backend():
    made: list[RawBackend] = []

    def make(answer) -> RawBackend:
        backend = RawBackend("127.0.0.14", answer)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.stop()


def test_target_closing_a_kept_alive_connection(alb, raw_backend):
    """The target answers one request per connection and closes the next one unanswered
    (a keep-alive timeout racing the next request): an idempotent request is retried on a new
    connection, a POST is not (502)."""

    def answer(conn: int, n: int, head: bytes) -> bytes | None:
        return ok(b"%d" % conn) if n == 1 else None

    backend = raw_backend(answer)
    tg = alb.target_group(backend.port)
    alb.listen(tg)
    alb.register(tg, [backend.ip])
    first = int(alb.get("/first").data)
    second = int(alb.get("/second").data)
    # the first connection was reused, closed by the target, and the GET retried on a new one
    assert [(c, n) for c, n, h in backend.requests if b"/second" in h] == [(first, 2), (second, 1)]
    posted = alb.get("/post", method="POST", body=b"x")
    assert posted.status == 502
    assert len([h for _, _, h in backend.requests if b"/post" in h]) == 1  # not sent twice
    assert alb.get("/third").status == 200


def test_answers_framed_by_chunks_or_close_and_hop_by_hop_answer_headers(alb, raw_backend):
    def answer(conn: int, n: int, head: bytes) -> bytes | None:
        path = head.split(b" ")[1]
        if path == b"/chunked":
            return (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: chunked\r\n\r\n"
                b"4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
        if path == b"/delimited":
            return b"HTTP/1.0 200 OK\r\nX-Kind: delimited\r\n\r\nuntil the end\r\n" + b"\0"
        if path == b"/hop":
            return ok(
                b"hop",
                b"Connection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nX-Open: o\r\n",
            )
        if path == b"/interim":
            return b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + ok(b"final")
        if path == b"/nocontent":
            return b"HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n"
        if path == b"/twice":
            return ok(b"one") + ok(b"two")  # a second answer nobody asked for
        return ok(b"plain")

    backend = raw_backend(answer)
    tg = alb.target_group(backend.port)
    alb.listen(tg)
    alb.register(tg, [backend.ip])

    chunked = alb.get("/chunked")
    assert chunked.status == 200 and chunked.data == b"wikipedia"
    assert chunked.headers["Content-Length"] == "9" and "Transfer-Encoding" not in chunked.headers

    # an HTTP/1.0 answer without a length ends when the target closes; the client gets it whole
    delimited = alb.get("/delimited")
    assert delimited.data == b"until the end\r\n\0"
    assert delimited.headers["Content-Length"] == str(len(delimited.data))

    hop = alb.get("/hop")
    assert hop.data == b"hop" and hop.headers["X-Open"] == "o"
    assert "X-Secret" not in hop.headers and "Keep-Alive" not in hop.headers

    interim = alb.get("/interim")
    assert interim.status == 200 and interim.data == b"final"
    empty = alb.get("/nocontent")
    assert empty.status == 204 and empty.headers["X-Kind"] == "empty"

    assert alb.get("/twice").data == b"one"
    # the connection that carried an extra answer is not reused: the next request is clean
    assert alb.get("/after").data == b"plain"


def test_client_leaving_mid_request_ends_its_outstanding_count(alb, backends, emulator):
    import urllib.request

    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])

    def in_flight() -> int:
        data = json.loads(urllib.request.urlopen(emulator.endpoint + "/_lab/elb").read())
        group = next(g for g in data["target_groups"] if g["arn"] == tg)
        return sum(t["in_flight"] for t in group["targets"])

    with socket.create_connection(("127.0.0.1", alb.port), timeout=5) as sock:
        sock.sendall(b"GET /slow?s=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: backends[0].in_flight == 1, 2, 0.02)
        assert in_flight() == 1
        # gone for good (a reset; a plain close could be a half-close still owed its answer)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    wait_until(lambda: in_flight() == 0, 1, 0.05)
    assert alb.get("/").status == 200


def test_upgrade_requests_are_answered_as_plain_ones(alb, backends):
    """The balancer switches no protocol (Upgrade is hop-by-hop): a request asking for one is
    forwarded without it, body included, and is the last on its connection; CONNECT is 405."""
    tg = alb.target_group(backends[0].port)
    alb.listen(tg)
    alb.register(tg, [IP1])
    answers, rest = raw_exchange(
        alb.port,
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhel"
        b"lo"
        b"GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n",
        2,
        shut=True,
    )
    first, upgraded = (json.loads(body) for _, _, body in answers)
    assert first["path"] == "/first"
    assert (upgraded["path"], upgraded["body"]) == ("/h2c", "hello")
    assert not {"Upgrade", "HTTP2-Settings", "Connection"} & set(upgraded["headers"])
    assert answers[1][1]["connection"] == "close" and rest == b""
    assert all(path != "/ignored" for _, path in backends[0].requests)

    answers, _ = raw_exchange(
        alb.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 1
    )
    assert answers[0][0] == 405 and answers[0][1]["connection"] == "close"
    assert alb.get("/").status == 200
