"""What a web server answers, without sockets."""

from __future__ import annotations

import pytest

from lab.web.page import (
    Behaviour,
    ControlError,
    Identity,
    apply_control,
    build_replies,
    ip_of_reply,
    parse_control,
    render_page,
)

ME = Identity("10.0.1.23", "i-0123456789abcdef0", "web-a", "/index.html")


def test_page_shows_private_ip_instance_name_and_health_path():
    page = render_page(ME)
    assert "Hello AWS in Action!" in page
    assert '<td id="private-ip">10.0.1.23</td>' in page
    assert "i-0123456789abcdef0" in page and "web-a" in page
    assert '<td id="health-path">/index.html</td>' in page


def test_page_without_instance_shows_only_what_it_has():
    page = render_page(Identity("127.0.0.11"))
    assert "instance-id" not in page and 'id="name"' not in page
    assert ip_of_reply({}, page) == "127.0.0.11"


def test_failing_fails_the_health_paths_only():
    replies = build_replies(ME, Behaviour(failing=True))
    assert replies["/"].status == 200
    assert replies["/index.html"].status == 503
    assert replies["/health"].status == 503


def test_fail_all_fails_every_page():
    replies = build_replies(ME, Behaviour(failing=True, fail_all=True))
    assert {r.status for r in replies.values()} == {503}


def test_custom_health_path_is_served_and_failed():
    me = Identity("127.0.0.11", health_path="/ping")
    assert build_replies(me, Behaviour())["/ping"].status == 200
    assert build_replies(me, Behaviour(failing=True))["/ping"].status == 503


def test_controls():
    b = apply_control(Behaviour(), {"action": "fail"})
    assert b.failing and not b.fail_all
    b = apply_control(b, {"action": "slow", "ms": 800})
    assert b.delay_ms == 800 and b.failing
    assert "slow (+800 ms)" in b.describe() and "health check" in b.describe()
    assert apply_control(b, {"action": "heal"}) == Behaviour()
    assert apply_control(Behaviour(), {"action": "fail", "all": True}).fail_all


@pytest.mark.parametrize(
    "command",
    [
        {"action": "explode"},
        {"action": "slow"},
        {"action": "slow", "ms": -1},
        {"action": "slow", "ms": True},
    ],
)
def test_bad_controls_are_refused(command):
    with pytest.raises(ControlError):
        apply_control(Behaviour(), command)


def test_parse_control_wants_an_object():
    assert parse_control(b'{"action": "heal"}') == {"action": "heal"}
    for raw in (b"[1]", b"not json"):
        with pytest.raises(ControlError):
            parse_control(raw)


def test_ip_of_reply_prefers_the_header_then_the_page_then_any_address():
    assert ip_of_reply({"x-lab-private-ip": "127.0.0.12"}, "10.0.0.1") == "127.0.0.12"
    assert ip_of_reply({}, "<html>Hello, I am 10.0.2.7</html>") == "10.0.2.7"
    assert ip_of_reply({}, "nothing") is None
