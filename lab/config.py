"""The lab's one configuration object, and the only reader of ``LAB_*`` variables on the lab
side: the CLI, the TUI, notebooks and tests build one ``LabConfig`` and agree on where the local
cloud is and how it runs.

Settings the emulator uses are declared once, in ``emulator.config.EmulatorSettings``; the lab
takes them over with the same default and checks (``_emulator``) and passes them to the
emulator on its command line (``emulator_settings``). ``docs/configuration.md`` is written from
these declarations (``lab.config_reference``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator import settings as st
from emulator.config import EmulatorSettings
from emulator.settings import SettingError, setting

ENV_PREFIX = "LAB_"
ConfigError = SettingError  # a LAB_* setting that cannot be used; the message names it

_EMULATOR_FIELDS = {f.name: f for f in dataclasses.fields(EmulatorSettings)}


def _emulator(name: str) -> Any:
    """A setting the lab passes on to the emulator: its default and checks are the
    emulator's own."""
    field = _EMULATOR_FIELDS[name]
    return dataclasses.field(default=field.default, metadata={**field.metadata, "emulator": True})


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _allow_list(text: str) -> None:
    from lab.worker.url_policy import UrlPolicy

    UrlPolicy.from_strings(text.split(","))


TARGETS = ("lab", "compose", "localstack", "aws")


def _url(text: str) -> None:
    if text and not text.startswith(("http://", "https://")):
        raise ValueError("is not an http:// or https:// URL")


@dataclass(frozen=True)
class LabConfig:
    # Which cloud the lab runs on (lab/targets): the same commands, TUI and checkers on each.
    target: str = setting(
        "lab",
        "where the lab's cloud runs: lab (the embedded emulator), compose (containers, "
        "compose.yaml), localstack (a running LocalStack), aws (real AWS: costs money)",
        choices=TARGETS,
    )
    endpoint_url: str = setting(
        "",
        "the cloud's AWS endpoint (empty: the target's own; http://HOST:PORT for lab and "
        "compose, http://127.0.0.1:4566 for localstack, AWS's endpoints for aws)",
        check=_url,
    )
    # Where the local cloud is, and how it runs (passed to the emulator).
    host: str = _emulator("host")
    port: int = _emulator("port")
    state_dir: Path = _emulator("state_dir")
    region: str = _emulator("region")
    account_id: str = _emulator("account_id")
    public_host: str = _emulator("public_host")
    sqs_endpoint_strategy: str = _emulator("sqs_endpoint_strategy")
    listener_host: str = _emulator("listener_host")
    listener_port_offset: int = _emulator("listener_port_offset")
    elb_target_networks: str = _emulator("elb_target_networks")
    elb_sync_interval: float = _emulator("elb_sync_interval")
    elb_request_events: bool = _emulator("elb_request_events")
    instance_network: str = _emulator("instance_network")
    instance_port: int = _emulator("instance_port")
    instance_command: str = _emulator("instance_command")
    instance_sync_interval: float = _emulator("instance_sync_interval")
    instance_workloads: bool = _emulator("instance_workloads")
    events_capacity: int = _emulator("events_capacity")
    # What clients send (the emulator checks no signature).
    access_key: str = setting("test", "AWS access key id the lab's clients use")
    secret_key: str = setting("test", "AWS secret access key the lab's clients use")
    # Section 15.1: the web servers behind the load balancer (lab/web, lab/lb).
    web_servers: int = setting(
        3, "web servers `lab up` starts, on 127.0.0.11, .12, ...", lo=0, hi=200
    )
    web_port: int = setting(8001, "port of the web servers", lo=1, hi=65535)
    health_check_interval: int = setting(
        10, "target group health-check interval in seconds (the chapter's)", lo=5, hi=300
    )
    nginx_port: int = setting(8090, "port of `lab lb nginx start`", lo=1, hi=65535)
    # The sample pages the workers render (lab/pages): on a port no listener mapping can take
    # (listeners below 1024 are served at 8000 + port, so 8000 to 9023 are theirs).
    pages_port: int = setting(7081, "port of the sample pages `lab up` serves", lo=1, hi=65535)
    # URL2PNG (section 15.2).
    url2png_queue: str = setting("url2png", "queue of URL2PNG jobs")
    url2png_dlq: str = setting("url2png-dlq", "its dead-letter queue")
    url2png_bucket: str = setting(
        "url2png", "bucket with website hosting for the PNGs (globally unique on AWS)"
    )
    url2png_max_receive: int = setting(
        3, "receives before a message goes to the dead-letter queue", lo=1, hi=1000
    )
    url2png_allow: str = setting(
        "loopback,private",
        "addresses pages may reach besides public ones: loopback, private, or CIDR blocks "
        "(link-local and metadata addresses never)",
        check=_allow_list,
    )
    website_url: str = setting(
        "",
        "website endpoint with {bucket} and {region} (empty: the target's own: "
        "http://BUCKET.s3-website.localhost:PORT for lab, LocalStack's and AWS's forms)",
    )
    chromium: str = setting("", "browser the workers drive (empty: Debian's chromium)")
    # The lab in containers (lab up --target compose, compose.yaml).
    base_image: str = setting(
        "docker.io/library/debian:bookworm-slim",
        "base of the compose lab's images, a Debian bookworm image (where no registry answers: "
        "localhost/debian-base, made by docker/build-base.sh)",
    )

    def __post_init__(self) -> None:
        st.check_all(self, env_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LabConfig:
        """Defaults, overridden by ``LAB_<FIELD>`` variables (``LAB_PORT=4567``)."""
        environ = os.environ if environ is None else environ
        raw = {
            f.name: environ[env_name(f.name)]
            for f in dataclasses.fields(cls)
            if env_name(f.name) in environ
        }
        return cls(**st.from_strings(cls, raw, env_name))

    def to_env(self) -> dict[str, str]:
        """Every setting as its ``LAB_*`` variable: what a child process (a worker the TUI
        starts) needs to join this lab, whatever its parent's environment says."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                value = "on" if value else "off"
            out[env_name(f.name)] = str(value)
        return out

    def emulator_settings(self) -> EmulatorSettings:
        """What the emulator of this lab runs with."""
        return EmulatorSettings(**{name: getattr(self, name) for name in _EMULATOR_FIELDS})

    @property
    def endpoint(self) -> str:
        """Where the lab's AWS clients send their requests (for ``aws``: the region's public
        endpoint, which boto3 finds itself; ``aws_endpoint_url`` is then None)."""
        return self.aws_endpoint_url or f"https://sqs.{self.region}.amazonaws.com"

    @property
    def aws_endpoint_url(self) -> str | None:
        """The ``endpoint_url`` of the lab's boto3 clients: None on real AWS."""
        if self.endpoint_url:
            return self.endpoint_url.rstrip("/")
        if self.target == "aws":
            return None
        if self.target == "localstack":
            return "http://127.0.0.1:4566"
        return f"http://{self.host}:{self.port}"

    @property
    def has_lab_endpoints(self) -> bool:
        """Whether the cloud is the lab's own emulator, with ``/_lab/`` (events, clock, the
        delivery model): the embedded lab, and compose with its emulator profile."""
        return self.target in ("lab", "compose")

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def web_ips(self) -> tuple[str, ...]:
        """One loopback address per web server: Linux routes all of 127.0.0.0/8 to ``lo``, so
        each server has an address of its own to report, as instances have private IPs."""
        return tuple(f"127.0.0.{11 + i}" for i in range(self.web_servers))

    def local_port(self, listener_port: int) -> int:
        """Where the emulator serves a load balancer's listener port on this machine."""
        if listener_port < 1024:
            return listener_port + self.listener_port_offset
        return listener_port

    @property
    def pages_url(self) -> str:
        """Where the sample pages are: ``pages_url + "/sunrise.html"``."""
        return f"http://127.0.0.1:{self.pages_port}"

    def website_endpoint(self, bucket: str) -> str:
        """Where a browser reads the bucket's website: the embedded lab serves
        ``BUCKET.s3-website.localhost:PORT`` (Chromium resolves ``*.localhost`` to loopback);
        LocalStack ``BUCKET.s3-website.localhost.localstack.cloud:PORT`` (a public name for
        127.0.0.1), on its endpoint's port; AWS the region's website endpoint, whose separator
        depends on the region (docs/aws-behaviour.md, section 6.1)."""
        if self.website_url:
            return self.website_url.format(bucket=bucket, region=self.region).rstrip("/")
        if self.target == "localstack":
            from urllib.parse import urlsplit

            port = urlsplit(self.aws_endpoint_url or "").port or 4566
            return f"http://{bucket}.s3-website.localhost.localstack.cloud:{port}"
        if self.target == "aws":
            # The Regions from before 2014 (and GovCloud West) have s3-website-REGION; the
            # others s3-website.REGION (https://docs.aws.amazon.com/general/latest/gr/s3.html).
            dash = {"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2"}
            dash |= {"ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1"}
            sep = "-" if self.region in dash else "."
            suffix = ".amazonaws.com.cn" if self.region.startswith("cn-") else ".amazonaws.com"
            return f"http://{bucket}.s3-website{sep}{self.region}{suffix}"
        return f"http://{bucket}.s3-website.localhost:{self.port}"

    def aws_env(self) -> dict[str, str]:
        """What a shell (or a child process) needs to reach the lab with any AWS client. On
        real AWS only the region: the user's own credentials stay where they are."""
        region = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.target == "aws" and not self.endpoint_url:
            return region
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            **region,
        }
