"""Listener rule evaluation (pure): conditions, priorities, actions."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from emulator.elb.rules import RequestInfo, compile_rules, evaluate, wildcard_regex

TG_A = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/a/1"
TG_B = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/b/2"


def fwd(arn: str = TG_B) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": arn}]


def rules_with(*rules: dict) -> list:
    default = {"Priority": "default", "IsDefault": True, "Conditions": [], "Actions": fwd(TG_A)}
    return compile_rules([*rules, default])


def req(path: str = "/", **kw) -> RequestInfo:
    return RequestInfo(method=kw.pop("method", "GET"), path=path, **kw)


def target(rules: list, request: RequestInfo) -> str | None:
    decision = evaluate(rules, request, random.Random(1))
    assert decision is not None
    return decision.target_group_arn


def test_default_rule_when_nothing_matches():
    rules = rules_with(
        {
            "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["/x"]}],
            "Actions": fwd(),
        }
    )
    decision = evaluate(rules, req("/y"), random.Random())
    assert decision.target_group_arn == TG_A and decision.rule_priority is None


def test_lowest_priority_wins_regardless_of_creation_order():
    rules = rules_with(
        {
            "Priority": 20,
            "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
            "Actions": fwd(TG_A),
        },
        {
            "Priority": 10,
            "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
            "Actions": fwd(TG_B),
        },
    )
    decision = evaluate(rules, req("/api/x"), random.Random())
    assert decision.target_group_arn == TG_B and decision.rule_priority == 10


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/api/*", "/api/", True),
        ("/api/*", "/api/v1/users", True),
        ("/api/*", "/API/v1", False),  # case-sensitive
        ("/api/*", "/api", False),
        ("/img/?.png", "/img/a.png", True),
        ("/img/?.png", "/img/ab.png", False),
        ("*.jpg", "/photos/cat.jpg", True),
        ("/exact", "/exact", True),
        ("/a.b", "/aXb", False),  # dots are literal
    ],
)
def test_path_pattern(pattern, path, expected):
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}],
        }
    )
    assert (target(rules, req(path)) == TG_B) is expected


def test_path_pattern_ignores_query():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [{"Field": "path-pattern", "Values": ["/search"]}],
        }
    )
    assert target(rules, req("/search", query="q=1")) == TG_B


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*.example.com", "test.example.com", True),
        ("*.example.com", "TEST.Example.COM", True),  # case-insensitive
        ("*.example.com", "example.com", False),
        ("*.example.com", "test.example.com:8080", True),  # port ignored
        ("api.example.com", "api.example.com", True),
        ("api?.example.com", "api1.example.com", True),
    ],
)
def test_host_header(pattern, host, expected):
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [pattern]}}],
        }
    )
    assert (target(rules, req(host=host)) == TG_B) is expected


def test_http_header_name_and_values_case_insensitive_repeated_header_searched():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [
                {
                    "Field": "http-header",
                    "HttpHeaderConfig": {
                        "HttpHeaderName": "User-Agent",
                        "Values": ["*Mobile*", "curl/*"],
                    },
                }
            ],
        }
    )
    assert target(rules, req(headers=[("user-agent", "X mobile Y")])) == TG_B
    assert target(rules, req(headers=[("User-Agent", "CURL/8.0")])) == TG_B
    assert target(rules, req(headers=[("User-Agent", "Firefox")])) == TG_A
    assert target(rules, req(headers=[("User-Agent", "a"), ("User-Agent", "curl/1")])) == TG_B
    assert target(rules, req(headers=[])) == TG_A


def test_http_request_method_is_case_sensitive_exact():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [
                {
                    "Field": "http-request-method",
                    "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]},
                }
            ],
        }
    )
    assert target(rules, req(method="POST")) == TG_B
    assert target(rules, req(method="PUT")) == TG_B
    assert target(rules, req(method="post")) == TG_A
    assert target(rules, req(method="GET")) == TG_A


def test_query_string_key_optional_wildcards_escapes_case():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [
                {
                    "Field": "query-string",
                    "QueryStringConfig": {
                        "Values": [
                            {"Key": "version", "Value": "v1"},
                            {"Value": "*beta*"},
                            {"Key": "lit", "Value": "a\\*b"},
                        ]
                    },
                }
            ],
        }
    )
    assert target(rules, req(query="version=V1")) == TG_B
    assert target(rules, req(query="x=1&version=v1")) == TG_B
    assert target(rules, req(query="version=v2")) == TG_A
    assert target(rules, req(query="anything=is-beta-now")) == TG_B
    assert target(rules, req(query="lit=a*b")) == TG_B
    assert target(rules, req(query="lit=axxb")) == TG_A
    assert target(rules, req(query="")) == TG_A
    # percent-encoded values match in decoded form too
    assert target(rules, req(query="q=my%20beta")) == TG_B


def test_source_ip_cidrs():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [
                {
                    "Field": "source-ip",
                    "SourceIpConfig": {"Values": ["127.0.0.0/24", "10.0.0.0/8", "::1/128"]},
                }
            ],
        }
    )
    assert target(rules, req(source_ip="127.0.0.5")) == TG_B
    assert target(rules, req(source_ip="127.0.1.5")) == TG_A
    assert target(rules, req(source_ip="::1")) == TG_B
    assert target(rules, req(source_ip="::ffff:10.1.2.3")) == TG_B
    assert target(rules, req(source_ip="garbage")) == TG_A


def test_conditions_are_anded_values_ored():
    rules = rules_with(
        {
            "Priority": 1,
            "Actions": fwd(),
            "Conditions": [
                {"Field": "path-pattern", "Values": ["/a", "/b"]},
                {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
            ],
        }
    )
    assert target(rules, req("/a")) == TG_B
    assert target(rules, req("/b")) == TG_B
    assert target(rules, req("/a", method="POST")) == TG_A
    assert target(rules, req("/c")) == TG_A


def test_weighted_forward_splits_by_weight_and_skips_zero():
    rules = compile_rules(
        [
            {
                "IsDefault": True,
                "Priority": "default",
                "Conditions": [],
                "Actions": [
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": TG_A, "Weight": 3},
                                {"TargetGroupArn": TG_B, "Weight": 1},
                                {"TargetGroupArn": "zero", "Weight": 0},
                            ]
                        },
                    }
                ],
            }
        ]
    )
    rng = random.Random(42)
    counts = Counter(evaluate(rules, req(), rng).target_group_arn for _ in range(4000))
    assert "zero" not in counts
    assert 0.70 < counts[TG_A] / 4000 < 0.80


def test_forward_with_all_weights_zero_has_no_group():
    rules = compile_rules(
        [
            {
                "IsDefault": True,
                "Priority": "default",
                "Conditions": [],
                "Actions": [
                    {
                        "Type": "forward",
                        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_A, "Weight": 0}]},
                    }
                ],
            }
        ]
    )
    decision = evaluate(rules, req(), random.Random())
    assert decision.kind == "forward" and decision.target_group_arn is None


def test_fixed_response():
    rules = rules_with(
        {
            "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["/f"]}],
            "Actions": [
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {
                        "StatusCode": "418",
                        "ContentType": "application/json",
                        "MessageBody": '{"tea": true}',
                    },
                }
            ],
        }
    )
    d = evaluate(rules, req("/f"), random.Random())
    assert (d.kind, d.status, d.content_type, d.body) == (
        "fixed-response",
        418,
        "application/json",
        '{"tea": true}',
    )


def redirect(config: dict, request: RequestInfo, port_map=lambda p: p):
    rules = rules_with(
        {
            "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["*"]}],
            "Actions": [{"Type": "redirect", "RedirectConfig": config}],
        }
    )
    return evaluate(rules, request, random.Random(), port_map)


def test_redirect_http_to_https_with_placeholders():
    d = redirect(
        {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
        req("/a/b", query="x=1", host="shop.example.com"),
    )
    assert (d.kind, d.status, d.location) == ("redirect", 301, "https://shop.example.com/a/b?x=1")


def test_redirect_keeps_left_out_components_and_maps_ports():
    d = redirect(
        {"Path": "/new/#{path}", "StatusCode": "HTTP_302"},
        req("/old", host="localhost:8080", listener_port=80),
        port_map=lambda p: p + 8000 if p < 1024 else p,
    )
    assert (d.status, d.location) == (302, "http://localhost:8080/new/old")


def test_redirect_to_other_host_and_port_without_query():
    d = redirect(
        {"Host": "#{host}.example.org", "Port": "9000", "Query": "", "StatusCode": "HTTP_301"},
        req("/p", query="q=2", host="www"),
    )
    assert d.location == "http://www.example.org:9000/p"


def test_wildcard_regex_escapes():
    assert wildcard_regex("a\\?b", ignore_case=False, escapes=True).fullmatch("a?b")
    assert not wildcard_regex("a\\?b", ignore_case=False, escapes=True).fullmatch("axb")


def test_bad_rule_is_skipped_not_fatal():
    rules = rules_with({"Priority": 1, "Conditions": [{"Field": "nonsense"}], "Actions": fwd()})
    assert target(rules, req()) == TG_A
