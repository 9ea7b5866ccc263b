"""The lab's web server inside a container: ``lab.web.server.WebServer`` (the same page, health
check, colour band and control endpoint as ``lab web serve``), bound to every address of the
container and reporting the address of the container's own network interface.

    python /opt/lab/web.py [--port 8001] [--name NAME]

Why not ``lab web serve``: on the host the lab's servers bind loopback addresses only (127.0.0.x
stands in for private IPs there, and the lab never listens on the network), so it refuses an
address nginx in another container could reach. Here the container's network namespace is
the machine: its eth0 address is its private IP, as an instance's is on EC2, and that is what
the page shows, read from the interface (``SIOCGIFADDR``), not from DNS or the environment.

The control endpoint still answers only loopback peers: ``podman exec CONTAINER curl -d
'{"action": "fail"}' http://127.0.0.1:8001/_lab/control`` (``lab.targets.compose.control``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import socket
import struct
import sys

from lab.web.page import Identity
from lab.web.server import WebServer

SIOCGIFADDR = 0x8915  # ioctl: an interface's IPv4 address (linux/sockios.h)


def interface_addresses() -> dict[str, str]:
    """Every non-loopback interface's IPv4 address, by interface name (eth0 first in a
    container with one network)."""
    found: dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in sorted(socket.if_nameindex()):
            if name == "lo":
                continue
            try:
                packed = fcntl.ioctl(
                    sock.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode())
                )
            except OSError:  # an interface without an IPv4 address
                continue
            found[name] = socket.inet_ntoa(packed[20:24])
    return found


def private_ip() -> str:
    addresses = interface_addresses()
    if not addresses:
        raise OSError("this container has no network interface with an IPv4 address")
    return addresses.get("eth0") or next(iter(addresses.values()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="web.py", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--name", default=socket.gethostname(), help="name on the page")
    parser.add_argument("--health-path", default="/index.html")
    args = parser.parse_args(argv)
    try:
        identity = Identity(private_ip(), None, args.name, args.health_path)
    except OSError as exc:
        print(f"web: {exc}", file=sys.stderr, flush=True)
        return 1
    server = WebServer(identity, "0.0.0.0", args.port)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(server.serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
