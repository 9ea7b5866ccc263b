"""The listener rules in words, from DescribeRules answers as the ELBv2 API Reference shapes
them (the old ``Values`` form and the newer ``...Config`` form of conditions)."""

from __future__ import annotations

from lab.tui.polls import rule_words

ARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{}/0123456789abcdef"


def test_conditions_and_actions_read_as_one_line() -> None:
    names = {ARN.format("images"): "images"}
    rule = {
        "Priority": "10",
        "IsDefault": False,
        "Conditions": [
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/images/*", "/img/*"]}},
            {"Field": "host-header", "Values": ["static.example.com"]},
        ],
        "Actions": [{"Type": "forward", "TargetGroupArn": ARN.format("images"), "Order": 1}],
    }
    assert rule_words(rule, names) == (
        "10 path /images/*,/img/* and host-header static.example.com -> forward images"
    )


def test_weighted_forward_redirect_and_unknown_groups() -> None:
    weighted = {
        "Priority": "default",
        "IsDefault": True,
        "Conditions": [],
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": ARN.format("blue"), "Weight": 90},
                        {"TargetGroupArn": ARN.format("green"), "Weight": 10},
                    ]
                },
            }
        ],
    }
    assert rule_words(weighted, {}) == "default -> forward blue,green"
    redirect = {
        "Priority": "5",
        "Conditions": [
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}
        ],
        "Actions": [{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}],
    }
    assert rule_words(redirect, {}) == "5 http-request-method GET -> redirect 301"
