"""Settings of one emulator process, parsed once in its entry point (``python -m emulator``)
from its command line and handed to each part. The emulator reads no ``LAB_*`` environment:
the lab builds these from its own configuration and passes them as options, so what runs is
what ``lab up`` was told, whatever the shell exported."""

from __future__ import annotations

import argparse
import ipaddress
import shlex
from dataclasses import dataclass, fields
from pathlib import Path

from emulator import settings as st
from emulator.settings import setting

ACCOUNT_ID = "000000000000"
CHECKOUT = Path(__file__).resolve().parent.parent
# The command that runs an instance's workload, as a template (``str.format`` fields below).
# The default is the lab's web server, which asks the instance metadata for its private IP.
INSTANCE_COMMAND = (
    "{python} -m lab.web.server --ip {address} --port {port} --imds {imds} --name {name}"
)
INSTANCE_COMMAND_FIELDS = (
    "python",
    "address",
    "port",
    "imds",
    "instance_id",
    "private_ip",
    "name",
)


def _loopback_network(text: str) -> None:
    try:
        network = ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"is not an IPv4 network: {exc}") from None
    if not network.is_loopback:
        raise ValueError("is not a loopback network (workloads never leave the machine)")
    if network.num_addresses < 4:
        raise ValueError("is too small (at least a /30)")


def _networks(text: str) -> None:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("names no network")
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError as exc:
            raise ValueError(f"has {part!r}, which is not a network: {exc}") from None


def _command(template: str) -> None:
    try:
        parts = shlex.split(template)
        for part in parts:
            part.format(**dict.fromkeys(INSTANCE_COMMAND_FIELDS, ""))
    except (KeyError, IndexError, ValueError) as exc:
        fields_text = ", ".join("{" + f + "}" for f in INSTANCE_COMMAND_FIELDS)
        raise ValueError(f"is not a command template ({exc}); fields: {fields_text}") from None
    if not parts:
        raise ValueError("is empty")


@dataclass(frozen=True)
class EmulatorSettings:
    host: str = setting("127.0.0.1", "address the emulator binds")
    port: int = setting(4566, "port of the emulator (every AWS API and /_lab/)", lo=1, hi=65535)
    state_dir: Path = setting(
        CHECKOUT / ".lab",
        "folder for queues, messages, buckets, stacks and logs",
        shown=".lab in the checkout",
    )
    region: str = setting(
        "us-east-1", "region of the lab's resources, and of SQS requests not signed for one"
    )
    account_id: str = setting(ACCOUNT_ID, "account id in ARNs and queue URLs")
    public_host: str = setting(
        "localhost",
        "host name in website endpoints and in `standard` queue URLs (resolves to loopback)",
    )
    # How queue URLs are written (emulator/sqs/queue_urls.py); LocalStack's names for the same.
    sqs_endpoint_strategy: str = setting(
        "off",
        "queue URLs: off = http://HOST:PORT/ACCOUNT/NAME with the host the request reached, "
        "standard = http://sqs.REGION.PUBLIC_HOST:PORT/ACCOUNT/NAME (as AWS), "
        "path = http://HOST:PORT/queue/REGION/ACCOUNT/NAME",
        choices=("off", "standard", "path"),
    )
    # Section 15.1: the load balancer's data plane.
    listener_host: str = setting("127.0.0.1", "address the load balancers' listeners bind")
    listener_port_offset: int = setting(
        8000,
        "a listener on port P < 1024 is served on local port P + offset (80 -> 8080)",
        lo=0,
        hi=64000,
    )
    elb_target_networks: str = setting(
        "127.0.0.0/8,::1/128",
        "networks the load balancers may send traffic and health checks to",
        check=_networks,
    )
    elb_sync_interval: float = setting(
        0.25, "seconds between reads of the ELBv2 records", lo=0.01, hi=60
    )
    elb_request_events: bool = setting(
        True, "publish an elb.request event for every request a listener answers"
    )
    # The chapter's stack: EC2 instances run as local web servers.
    instance_network: str = setting(
        "127.0.1.0/24",
        "loopback network the instances' addresses come from",
        check=_loopback_network,
    )
    instance_port: int = setting(
        80, "port every instance's workload listens on (the target group's port)", lo=1, hi=65535
    )
    instance_command: str = setting(
        INSTANCE_COMMAND,
        "command that runs an instance's workload; fields "
        + ", ".join("{" + f + "}" for f in INSTANCE_COMMAND_FIELDS),
        check=_command,
    )
    instance_sync_interval: float = setting(
        0.3, "seconds between reads of the EC2 records", lo=0.01, hi=60
    )
    instance_workloads: bool = setting(
        True, "run a process per running instance (off: instances are records only)"
    )
    events_capacity: int = setting(
        100_000, "events the event log keeps before the oldest are dropped", lo=100, hi=10_000_000
    )

    def __post_init__(self) -> None:
        st.check_all(self, st.option)

    @property
    def endpoint(self) -> str:
        return f"http://{self.public_host}:{self.port}"

    @property
    def local_endpoint(self) -> str:
        """How a process on this machine reaches the emulator by address (instances' IMDS)."""
        host = self.host
        if host in ("", "0.0.0.0", "::", "localhost"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def to_argv(self) -> list[str]:
        """Command-line options that give ``python -m emulator`` these settings."""
        return st.to_argv(self)

    @classmethod
    def parser(cls) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(
            prog="python -m emulator",
            description="Run the local cloud in the foreground (`lab up` runs it in the "
            "background). Every option is also a LAB_* setting of the lab: "
            "see docs/configuration.md.",
        )
        for field, kind in st.declared(cls):
            parser.add_argument(
                st.option(field.name),
                dest=field.name,
                default=argparse.SUPPRESS,
                help=f"{field.metadata['help']} (default {st.default_text(field)})",
                **({"action": argparse.BooleanOptionalAction} if kind is bool else {}),
            )
        return parser

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> EmulatorSettings:
        """Parse options; a bad value ends the process with one sentence naming it."""
        parser = cls.parser()
        given = vars(parser.parse_args(argv))
        raw = {k: v for k, v in given.items() if not isinstance(v, bool)}
        flags = {k: v for k, v in given.items() if isinstance(v, bool)}
        try:
            values = st.from_strings(cls, raw, st.option)
            return cls(**values, **flags)
        except st.SettingError as exc:
            parser.error(str(exc))
            raise  # unreachable: parser.error exits


SETTING_NAMES = tuple(f.name for f in fields(EmulatorSettings))
