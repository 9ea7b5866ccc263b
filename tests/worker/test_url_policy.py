"""The URL policy alone: no network, names resolve through a function the test passes."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from lab.worker.url_policy import (
    LAB_POLICY,
    STRICT_POLICY,
    PolicyError,
    UrlPolicy,
    parse_target,
)

NAMES = {
    "example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "metadata.test": ["169.254.169.254"],
    "v6metadata.test": ["fd00:ec2::254"],
    "sneaky.test": ["93.184.215.14", "169.254.10.1"],
    "intranet.test": ["10.1.2.3"],
    "localhost": ["127.0.0.1", "::1"],
}


def resolve(host: str) -> list[str]:
    try:
        return NAMES[host]
    except KeyError:
        raise OSError(f"unknown host {host}") from None


def reason(policy: UrlPolicy, url: str) -> str:
    verdict = policy.check(url, resolve)
    assert not verdict, f"{url} should be refused"
    return verdict.reason


@pytest.mark.parametrize("url", ["http://example.com/", "https://example.com:8443/a?b=c#d"])
def test_public_http_and_https_are_allowed(url: str) -> None:
    assert STRICT_POLICY.check(url, resolve)
    assert LAB_POLICY.check(url, resolve)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:text/html,<h1>x</h1>",
        "chrome://settings",
        "view-source:http://example.com/",
        "example.com",
    ],
)
def test_only_http_and_https(url: str) -> None:
    text = reason(LAB_POLICY, url)
    assert "only http and https" in text


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254:80/latest/meta-data/iam/security-credentials/",
        "http://2852039166/",  # the same address as one decimal number
        "http://0xa9fea9fe/",  # hex
        "http://0251.0376.0251.0376/",  # octal
        "http://169.254.43518/",  # short form
        "http://169.254.169.254./",  # trailing dot
        "http://%31%36%39.254.169.254/",  # percent-encoded
        "http://169.254.169.254\\@example.com/",  # browsers read the host before the backslash
        " http://169.254.169.254/",
        "http://user:pw@169.254.169.254/",
        "HTTP://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.test/",
        "http://v6metadata.test/",
    ],
)
def test_metadata_is_refused_in_every_spelling_even_in_the_lab(url: str) -> None:
    text = reason(LAB_POLICY, url)
    assert "metadata" in text or "link-local" in text or "instance service" in text


@pytest.mark.parametrize(
    "url", ["http://169.254.1.1/", "http://[fe80::1]/", "http://[fe80::1%25eth0]/"]
)
def test_link_local_is_refused(url: str) -> None:
    assert "link-local" in reason(LAB_POLICY, url)


def test_a_name_is_refused_if_any_address_is() -> None:
    text = reason(STRICT_POLICY, "http://sneaky.test/")
    assert "sneaky.test" in text and "169.254.10.1" in text


def test_allow_list_cannot_open_link_local_or_metadata() -> None:
    policy = UrlPolicy.from_strings(["169.254.0.0/16", "fd00::/8", "0.0.0.0/0", "::/0"])
    assert not policy.check("http://169.254.169.254/", resolve)
    assert not policy.check("http://[fd00:ec2::254]/", resolve)
    assert not policy.check("http://0.0.0.0:8080/", resolve)
    assert policy.check("http://10.0.0.1/", resolve)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8081/", "loopback"),
        ("http://127.5.5.5/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.31.0.5/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://intranet.test/", "private"),
    ],
)
def test_private_and_loopback_follow_the_allow_list(url: str, kind: str) -> None:
    assert kind in reason(STRICT_POLICY, url)
    assert "allow-list" in reason(STRICT_POLICY, url)
    assert LAB_POLICY.check(url, resolve)


def test_allow_list_by_cidr() -> None:
    policy = UrlPolicy.from_strings(["172.31.0.0/16"])
    assert policy.check("http://172.31.3.4/", resolve)
    assert not policy.check("http://172.16.0.1/", resolve)
    assert not policy.check("http://127.0.0.1/", resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://0.0.0.0:8080/",
        "http://0/",
        "http://[::]/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
    ],
)
def test_special_addresses_are_refused(url: str) -> None:
    reason(LAB_POLICY, url)


def test_unknown_host_and_broken_urls_are_refused_with_a_reason() -> None:
    assert "does not resolve" in reason(LAB_POLICY, "http://nowhere.test/")
    assert "no host" in reason(LAB_POLICY, "http:///path")
    assert "not a valid URL" in reason(LAB_POLICY, "http://[::1/")
    assert "not a valid URL" in reason(LAB_POLICY, "http://1.2.3.999/")


def test_require_raises_with_the_reason() -> None:
    with pytest.raises(PolicyError) as info:
        LAB_POLICY.require("http://169.254.169.254/latest/meta-data/", resolve)
    assert info.value.reason == "169.254.169.254 is the instance metadata service"
    assert info.value.url.startswith("http://169.254.169.254")
    LAB_POLICY.require("http://localhost:8081/", resolve)


def test_async_check_uses_the_async_resolver() -> None:
    async def aresolve(host: str) -> list[str]:
        return resolve(host)

    async def main() -> None:
        assert await LAB_POLICY.check_async("http://localhost/", aresolve)
        verdict = await LAB_POLICY.check_async("http://metadata.test/", aresolve)
        assert not verdict and "metadata" in verdict.reason

    asyncio.run(main())


def test_parse_target_reads_hosts_as_a_browser_does() -> None:
    assert parse_target("http://a.example:81/x").host == "a.example"
    assert parse_target("http://0x7f.1/").address == ipaddress.ip_address("127.0.0.1")
    assert parse_target("http://[::1]:8080/").address == ipaddress.ip_address("::1")
    assert parse_target("http://evil\\@good.example/").host == "evil"
    assert parse_target("http://1.2.3.4.5/").address is None
