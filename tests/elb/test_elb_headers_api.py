"""Pure pieces of the adapters: forwarded headers, the listener port mapping, the target
networks, and the DescribeTargetHealth XML (parsed with botocore's own parser, as boto3
would)."""

from __future__ import annotations

import random
import re

import botocore.session
from botocore.parsers import QueryParser

from emulator.actions import form_params
from emulator.config import EmulatorSettings
from emulator.elb.api import requested_targets, target_health_xml
from emulator.elb.headers import amzn_trace_header, connection_names, count_addresses, forwarded_for
from emulator.elb.health import TargetHealth, TargetKey
from emulator.elb.networks import TargetNetworks
from emulator.elb.reconcile import local_port

TRACE = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")


def test_trace_header_fresh_root():
    value = amzn_trace_header(None, 1_665_400_000, random.Random(1))
    assert value.startswith("Root=") and TRACE.match(value[5:])
    assert value[7:15] == f"{1_665_400_000:08x}"


def test_trace_header_keeps_client_root_and_custom_fields_and_replaces_self():
    sent = "Self=1-00000000-000000000000000000000000;Root=1-63441c4a-abcdef012345678912345678;A=b"
    value = amzn_trace_header(sent, 1_665_400_000, random.Random(1))
    first, rest = value.split(";", 1)
    assert first.startswith("Self=") and TRACE.match(first[5:])
    assert rest == "Root=1-63441c4a-abcdef012345678912345678;A=b"


def test_trace_header_without_root_gets_a_root():
    assert amzn_trace_header("Foo=bar", 0, random.Random()).startswith("Root=1-")


def test_forwarded_for_modes():
    assert forwarded_for([], "10.0.0.1") == "10.0.0.1"
    assert forwarded_for(["1.1.1.1, 2.2.2.2"], "10.0.0.1") == "1.1.1.1, 2.2.2.2, 10.0.0.1"
    assert forwarded_for(["1.1.1.1", "2.2.2.2"], "10.0.0.1") == "1.1.1.1, 2.2.2.2, 10.0.0.1"
    assert forwarded_for(["1.1.1.1"], "10.0.0.1", "preserve") == "1.1.1.1"
    assert forwarded_for([], "10.0.0.1", "preserve") is None
    assert forwarded_for(["1.1.1.1"], "10.0.0.1", "remove") is None
    assert count_addresses(", ".join(["1.1.1.1"] * 31)) == 31


def test_connection_names_lowercased_without_empty_tokens():
    assert connection_names([b"Keep-Alive, X-Secret ,", b"close"]) == {
        b"keep-alive",
        b"x-secret",
        b"close",
    }
    assert connection_names([]) == set()


def test_listener_port_mapping():
    assert local_port(80, 8000) == 8080
    assert local_port(443, 8000) == 8443
    assert local_port(1023, 8000) == 9023
    assert local_port(1024, 8000) == 1024
    assert local_port(8888, 8000) == 8888
    assert local_port(80, 10000) == 10080
    assert local_port(80, 0) == 80


def test_target_networks_default_to_loopback():
    networks = TargetNetworks(EmulatorSettings().elb_target_networks)
    assert [str(n) for n in networks.networks] == ["127.0.0.0/8", "::1/128"]
    assert networks.allows("127.0.0.11") and networks.allows("::1")
    assert not networks.allows("10.0.1.23")
    assert not networks.allows("not-an-address")


def test_target_networks_from_a_setting():
    networks = TargetNetworks(" 10.0.0.0/16 , ,192.168.1.7")
    assert networks.allows("10.0.200.1") and networks.allows("192.168.1.7")
    assert not networks.allows("127.0.0.1")


def test_request_parameters():
    body = (
        b"Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Atg"
        b"&Targets.member.2.Id=127.0.0.12&Targets.member.1.Id=127.0.0.11"
        b"&Targets.member.1.Port=8080"
    )
    params = form_params({}, body)
    assert params["TargetGroupArn"] == "arn:tg"
    assert requested_targets(params) == [("127.0.0.11", 8080), ("127.0.0.12", None)]


def test_describe_target_health_xml_parses_with_botocore():
    xml = target_health_xml(
        [
            (TargetKey("127.0.0.11", 80), "80", TargetHealth("healthy")),
            (
                TargetKey("i-0123", 8080),
                "9000",
                TargetHealth(
                    "unhealthy",
                    "Target.ResponseCodeMismatch",
                    "Health checks failed with these codes: [503]",
                ),
            ),
            (TargetKey("a<b", 1), "1", TargetHealth("unused", "Target.NotRegistered", "x & y")),
        ],
        request_id="req-1",
    )
    model = botocore.session.get_session().get_service_model("elbv2")
    shape = model.operation_model("DescribeTargetHealth").output_shape
    parsed = QueryParser().parse({"body": xml.encode(), "headers": {}, "status_code": 200}, shape)
    descriptions = parsed["TargetHealthDescriptions"]
    assert descriptions[0] == {
        "Target": {"Id": "127.0.0.11", "Port": 80},
        "HealthCheckPort": "80",
        "TargetHealth": {"State": "healthy"},
    }
    assert descriptions[1]["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert descriptions[1]["HealthCheckPort"] == "9000"
    assert descriptions[2]["Target"]["Id"] == "a<b"
    assert descriptions[2]["TargetHealth"]["Description"] == "x & y"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
