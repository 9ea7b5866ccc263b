"""Where the load balancers may send traffic and health checks: the ``elb_target_networks``
setting (loopback by default), so the lab never sends anything off the machine. A target
outside them fails its checks and answers 502."""

from __future__ import annotations

import ipaddress

MAX_CACHED = 4096


class TargetNetworks:
    """The allowed networks, and the answer per address cached: the proxy asks once per
    forwarded request, and parsing an address costs more than the rest of the check."""

    def __init__(self, text: str) -> None:
        self.networks = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        ]
        self._cache: dict[str, bool] = {}

    def allows(self, address: str) -> bool:
        allowed = self._cache.get(address)
        if allowed is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                allowed = False
            else:
                allowed = any(ip.version == n.version and ip in n for n in self.networks)
            if len(self._cache) > MAX_CACHED:
                self._cache.clear()
            self._cache[address] = allowed
        return allowed
