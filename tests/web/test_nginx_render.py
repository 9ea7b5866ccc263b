"""The nginx configuration as a pure function of the target group, and the ELBv2 reading it
comes from (with a stand-in client: no processes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab.lb.nginx import (
    Paths,
    Site,
    Upstream,
    nginx_binary,
    passive_health,
    render,
    site_from_elbv2,
)

TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/lab-web/0123456789abcdef"


def site(tmp_path: Path, servers=(("127.0.0.11", 8001), ("127.0.0.12", 8001))) -> Site:
    return Site(
        upstream_name="tg_lab_web",
        servers=tuple(Upstream(h, p) for h, p in servers),
        listen_host="127.0.0.1",
        listen_port=8090,
        max_fails=2,
        fail_timeout_s=10,
        paths=Paths(tmp_path / "nginx", tmp_path / "logs"),
        source="target group lab-web",
    )


def test_passive_health_follows_the_target_group():
    assert passive_health(2, 10) == (2, 10)  # the chapter's unhealthy 2, interval 10
    assert passive_health(5, 30) == (5, 30)
    assert passive_health(0, 0) == (1, 1)


def test_render_has_the_upstream_round_robin_passive_health_and_headers(tmp_path):
    conf = render(site(tmp_path))
    assert "server 127.0.0.11:8001 max_fails=2 fail_timeout=10s;" in conf
    assert "server 127.0.0.12:8001 max_fails=2 fail_timeout=10s;" in conf
    # round robin is nginx's default: no other balancing directive
    for other in ("least_conn", "ip_hash", "hash ", "random"):
        assert other not in conf
    assert "zone tg_lab_web" in conf  # failures shared by all workers
    assert "listen 127.0.0.1:8090" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_set_header X-Forwarded-Port $server_port;" in conf
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in conf
    assert f"pid {tmp_path}/nginx/nginx.pid;" in conf
    assert "daemon off;" in conf
    assert "health_check" not in conf  # nginx open source has none


def test_render_is_deterministic_and_handles_no_targets(tmp_path):
    assert render(site(tmp_path)) == render(site(tmp_path))
    empty = render(site(tmp_path, servers=()))
    assert "down;" in empty and "max_fails" not in empty


@pytest.mark.parametrize("servers", [(("127.0.0.11", 8001),), ()])
def test_nginx_accepts_the_rendered_configuration(tmp_path, servers):
    s = site(tmp_path, servers)
    for folder in (s.paths.root, s.paths.temp, s.paths.log_dir):
        folder.mkdir(parents=True)
    s.paths.conf.write_text(render(s))
    run = subprocess.run(
        [
            nginx_binary(),
            "-t",
            "-p",
            str(s.paths.root),
            "-c",
            str(s.paths.conf),
            "-e",
            str(s.paths.error_log),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr


class FakeElbv2:
    def describe_target_groups(self, TargetGroupArns):
        assert TargetGroupArns == [TG_ARN]
        return {
            "TargetGroups": [
                {
                    "TargetGroupArn": TG_ARN,
                    "TargetGroupName": "lab-web",
                    "Port": 8001,
                    "HealthCheckIntervalSeconds": 10,
                    "UnhealthyThresholdCount": 2,
                }
            ]
        }

    def describe_target_health(self, TargetGroupArn):
        def d(target, state):
            return {"Target": target, "TargetHealth": {"State": state}}

        return {
            "TargetHealthDescriptions": [
                d({"Id": "127.0.0.13", "Port": 8001}, "unhealthy"),
                d({"Id": "127.0.0.11", "Port": 8001}, "healthy"),
                d({"Id": "127.0.0.12"}, "initial"),
                d({"Id": "127.0.0.14", "Port": 8001}, "draining"),
                d({"Id": "10.0.1.5", "Port": 80}, "healthy"),
                d({"Id": "i-0abc", "Port": 80}, "healthy"),
            ]
        }


class FakeEc2:
    def describe_instances(self, InstanceIds):
        return {"Reservations": [{"Instances": [{"PrivateIpAddress": "127.0.0.21"}]}]}


def test_site_from_elbv2_takes_registrations_not_health(tmp_path):
    s = site_from_elbv2(FakeElbv2(), FakeEc2(), TG_ARN, Paths(tmp_path, tmp_path), 8090)
    # unhealthy and initial targets stay: nginx judges by itself, passively
    assert [(u.host, u.port) for u in s.servers] == [
        ("127.0.0.11", 8001),
        ("127.0.0.12", 8001),
        ("127.0.0.13", 8001),
        ("127.0.0.21", 80),
    ]
    assert (s.max_fails, s.fail_timeout_s) == (2, 10)
    assert s.upstream_name == "tg_lab_web"
    assert any("127.0.0.14" in x and "draining" in x for x in s.skipped)
    assert any("10.0.1.5" in x for x in s.skipped)  # never proxied off the machine
