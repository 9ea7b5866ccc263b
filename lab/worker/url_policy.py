"""Which URLs a URL2PNG worker may render, and which addresses the page may reach while rendering.

A screenshot worker is a server-side request forgery machine: whoever can put a message on the
queue chooses what the worker's browser fetches, from inside the worker's network. On EC2 the
prize is the instance metadata service (169.254.169.254, fd00:ec2::254), which hands out the
instance role's credentials. So link-local and metadata addresses are refused always, whatever
the configuration; private and loopback addresses are refused unless an allow-list admits them
(the embedded lab admits them, because its sample pages and load balancer live on this machine).

This module is pure: it never touches the network. Hostnames are resolved by a function the
caller passes in, so tests decide what a name "resolves" to and the renderer can resolve
asynchronously.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str], Iterable[str]]
"""Hostname -> its addresses as strings. Raises ``OSError`` when the name does not resolve."""

AsyncResolver = Callable[[str], Awaitable[Iterable[str]]]

ALLOWED_SCHEMES = ("http", "https")

# Refused whatever the allow-list says: these are how a page reaches the machine's own secrets.
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
# AWS's IPv6 instance services (metadata fd00:ec2::254, DNS ::23, NTP ::123) sit inside fc00::/7,
# so "private allowed" must not let them through.
AWS_INSTANCE_SERVICES = (ipaddress.ip_network("fd00:ec2::/32"),)
# Chromium on Linux connects 0.0.0.0 (and ::) to the local machine: a loopback in disguise.
UNSPECIFIED = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("::/128"))

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PRIVATE = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("fc00::/7"),
)


class PolicyError(ValueError):
    """The URL (or a request the page made) is not allowed. ``reason`` is one line for logs and
    for the job's failed status."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused {url!r}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Verdict(True, "allowed")


@dataclass(frozen=True)
class Target:
    """What the policy needs from a URL, after normalising it the way Chromium would."""

    scheme: str
    host: str
    address: IPAddress | None  # set when the host is an IP literal in any of its spellings


@dataclass(frozen=True)
class UrlPolicy:
    """``allow`` lists networks that may be reached although they are not public (loopback,
    private, or any CIDR a deployment needs). Link-local, metadata and unspecified addresses are
    refused even if ``allow`` names them: there is no configuration that opens the metadata
    service."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_strings(cls, entries: Iterable[str]) -> UrlPolicy:
        """Build from config words: ``loopback``, ``private`` or CIDRs (``172.31.0.0/16``)."""
        nets: list[IPNetwork] = []
        for entry in entries:
            word = entry.strip().lower()
            if not word:
                continue
            if word == "loopback":
                nets.extend(LOOPBACK)
            elif word == "private":
                nets.extend(PRIVATE)
            else:
                nets.append(ipaddress.ip_network(word, strict=False))
        return cls(allow=tuple(nets))

    # --- addresses -------------------------------------------------------------------------

    def check_address(self, address: IPAddress | str) -> Verdict:
        ip = _unwrap(ipaddress.ip_address(address) if isinstance(address, str) else address)
        if _in(ip, LINK_LOCAL):
            if ip == ipaddress.ip_address("169.254.169.254"):
                return Verdict(False, f"{ip} is the instance metadata service")
            return Verdict(False, f"{ip} is link-local (169.254.0.0/16, fe80::/10), never allowed")
        if _in(ip, AWS_INSTANCE_SERVICES):
            return Verdict(False, f"{ip} is an AWS instance service address (fd00:ec2::/32)")
        if _in(ip, UNSPECIFIED):
            return Verdict(False, f"{ip} is the unspecified address, which reaches this machine")
        if _in(ip, self.allow):
            return ALLOW
        if _in(ip, LOOPBACK):
            return Verdict(False, f"{ip} is loopback and loopback is not in the allow-list")
        if _in(ip, PRIVATE):
            return Verdict(False, f"{ip} is private and private networks are not in the allow-list")
        if ip.is_multicast:
            return Verdict(False, f"{ip} is multicast")
        if not ip.is_global:
            return Verdict(False, f"{ip} is a reserved, non-public address")
        return ALLOW

    # --- URLs ------------------------------------------------------------------------------

    def check_syntax(self, url: str) -> Target | Verdict:
        """Scheme and host checks that need no resolution. Returns the parsed target, or the
        refusal."""
        try:
            target = parse_target(url)
        except ValueError as exc:
            return Verdict(False, f"not a valid URL: {exc}")
        if target.scheme not in ALLOWED_SCHEMES:
            shown = target.scheme or "(none)"
            return Verdict(False, f"scheme {shown!r} is not allowed; only http and https")
        if not target.host:
            return Verdict(False, "the URL has no host")
        return target

    def check(self, url: str, resolve: Resolver | None = None) -> Verdict:
        """The whole decision for one URL; a hostname is refused if any of its addresses is."""
        target = self.check_syntax(url)
        if isinstance(target, Verdict):
            return target
        if target.address is not None:
            return self.check_address(target.address)
        if is_localhost_name(target.host):
            return self._check_resolved(target.host, list(LOCALHOST_ADDRESSES))
        try:
            addresses = list((resolve or system_resolve)(target.host))
        except OSError as exc:
            return Verdict(False, f"host {target.host!r} does not resolve ({exc})")
        return self._check_resolved(target.host, addresses)

    async def check_async(self, url: str, resolve: AsyncResolver) -> Verdict:
        target = self.check_syntax(url)
        if isinstance(target, Verdict):
            return target
        if target.address is not None:
            return self.check_address(target.address)
        if is_localhost_name(target.host):
            return self._check_resolved(target.host, list(LOCALHOST_ADDRESSES))
        try:
            addresses = list(await resolve(target.host))
        except OSError as exc:
            return Verdict(False, f"host {target.host!r} does not resolve ({exc})")
        return self._check_resolved(target.host, addresses)

    def require(self, url: str, resolve: Resolver | None = None) -> None:
        verdict = self.check(url, resolve)
        if not verdict:
            raise PolicyError(url, verdict.reason)

    def _check_resolved(self, host: str, addresses: list[str]) -> Verdict:
        if not addresses:
            return Verdict(False, f"host {host!r} has no addresses")
        for address in addresses:
            verdict = self.check_address(address)
            if not verdict:
                return Verdict(False, f"host {host!r} resolves to {verdict.reason}")
        return ALLOW


# The embedded lab: sample pages on 127.0.0.1, the load balancer and instances on private IPs.
LAB_POLICY = UrlPolicy.from_strings(["loopback", "private"])
# Real AWS: only public addresses.
STRICT_POLICY = UrlPolicy()


# Chromium answers ``localhost`` and ``*.localhost`` itself with loopback, never asking DNS
# (RFC 6761); the S3 website endpoint of the embedded lab is ``BUCKET.s3-website.localhost``.
LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")


def is_localhost_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def system_resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


# --- parsing the way the browser does ------------------------------------------------------

_STRIP = "".join(chr(c) for c in range(0x21))  # C0 controls and space, trimmed at both ends


def parse_target(url: str) -> Target:
    """Split ``url`` as Chromium will, so the policy judges the host the browser will connect
    to. ``urllib`` alone reads ``http://169.254.169.254\\@example.com/`` as example.com while a
    browser reads 169.254.169.254, and it does not know that ``http://2852039166/`` is an IP."""
    cleaned = url.strip(_STRIP)
    cleaned = re.sub(r"[\t\n\r]", "", cleaned)
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme in ALLOWED_SCHEMES:
        cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(cleaned)
    netloc = parts.netloc.rpartition("@")[2]
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ValueError("unclosed [ in host")
        raw_host = netloc[1:end]
        host = unquote(raw_host).split("%", 1)[0].lower()  # drop an IPv6 zone id
        return Target(scheme, host, ipaddress.IPv6Address(host))
    raw_host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    host = unquote(raw_host).lower().rstrip(".")
    return Target(scheme, host, _ipv4_literal(host))


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """WHATWG URL IPv4 parsing: 1-4 parts, each decimal, 0x-hex or 0-octal, the last part filling
    the remaining bytes. None when the host is a name."""
    parts = host.split(".")
    if not host or len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        if not part:
            return None
        try:
            if part[:2] in ("0x", "0X"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part[0] == "0":
                numbers.append(int(part[1:], 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"invalid IPv4 address {host!r}")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _unwrap(ip: IPAddress) -> IPAddress:
    """``::ffff:169.254.169.254`` is 169.254.169.254 to the kernel."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _in(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)
