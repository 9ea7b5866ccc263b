"""Real nginx, configured through the ELBv2 API of the real emulator, in front of three real
web servers."""

from __future__ import annotations

import time
from collections import Counter

from lab.lb import hits, nginx
from lab.lb.stack import StackSpec, chapter_health_check, ensure_stack
from lab.web import fleet
from tests.support.ports import free_port


def make_site(emulator, lab_config, web_servers, name):
    elbv2, ec2 = emulator.client("elbv2"), emulator.client("ec2")
    stack = ensure_stack(
        ec2,
        elbv2,
        StackSpec(
            targets=tuple(s.ip for s in web_servers),
            target_port=lab_config.web_port,
            name=name,
            listener_port=free_port(),
            health=chapter_health_check(5),
        ),
    )
    return nginx.site_from_elbv2(
        elbv2, ec2, stack.target_group_arn, nginx.paths_for(lab_config), lab_config.nginx_port
    )


def served_root(config, spec) -> int:
    return fleet.control(spec).get("paths", {}).get("/", 0)


def test_nginx_round_robin_and_passive_health(emulator, lab_config, web_servers, unique_name):
    site = make_site(emulator, lab_config, web_servers, unique_name)
    assert (site.max_fails, site.fail_timeout_s) == (2, 5)
    assert nginx.start(lab_config, site) is True
    url = f"http://127.0.0.1:{lab_config.nginx_port}/"

    answers = [hits.hit(url) for _ in range(12)]
    assert {h.status for h in answers} == {200}
    assert hits.count(answers) == Counter({"127.0.0.11": 4, "127.0.0.12": 4, "127.0.0.13": 4})

    # a server whose every page fails: nginx retries elsewhere (the client sees 200) and, after
    # max_fails failed requests, leaves it out for fail_timeout
    broken = web_servers[1]
    fleet.control(broken, {"action": "fail", "all": True})
    before = served_root(lab_config, broken)
    started = time.monotonic()
    answers = [hits.hit(url) for _ in range(30)]
    assert time.monotonic() - started < site.fail_timeout_s  # all inside one fail_timeout
    assert {h.status for h in answers} == {200}
    assert set(hits.count(answers)) == {"127.0.0.11", "127.0.0.13"}
    assert served_root(lab_config, broken) - before == site.max_fails

    # a stopped server (connection refused) is skipped the same way, without client errors
    fleet.control(broken, {"action": "heal"})
    fleet.stop(lab_config, web_servers[2])
    answers = [hits.hit(url) for _ in range(12)]
    assert {h.status for h in answers} == {200}
    assert "127.0.0.13" not in hits.count(answers)


def test_nginx_reload_follows_registrations(emulator, lab_config, web_servers, unique_name):
    site = make_site(emulator, lab_config, web_servers, unique_name)
    nginx.start(lab_config, site)
    elbv2 = emulator.client("elbv2")
    tg_arn = elbv2.describe_target_groups(Names=[unique_name])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.deregister_targets(
        TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.11", "Port": lab_config.web_port}]
    )
    site = nginx.site_from_elbv2(
        elbv2, None, tg_arn, nginx.paths_for(lab_config), lab_config.nginx_port
    )
    nginx.reload(lab_config, site)
    url = f"http://127.0.0.1:{lab_config.nginx_port}/"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # old workers finish, new ones take over
        answers = [hits.hit(url) for _ in range(6)]
        if "127.0.0.11" not in hits.count(answers):
            break
        time.sleep(0.1)
    assert hits.count(answers) == Counter({"127.0.0.12": 3, "127.0.0.13": 3})
    assert nginx.stop(lab_config)
