"""The lab's one configuration object. Every value can be set from the environment (``LAB_*``), so
the CLI, the TUI, notebooks and tests agree on where the local cloud is."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A ``LAB_*`` setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class LabConfig:
    host: str = "127.0.0.1"
    port: int = 4566
    state_dir: Path = REPO_ROOT / ".lab"
    region: str = "us-east-1"
    access_key: str = "test"
    secret_key: str = "test"
    # Section 15.1: the web servers behind the load balancer (lab/web, lab/lb).
    web_servers: int = 3  # on 127.0.0.11, .12, ...
    web_port: int = 8001
    listener_port_offset: int = 8000  # the emulator's data plane: listener 80 -> 127.0.0.1:8080
    health_check_interval: int = 10  # the chapter's; tests use 5, the API's minimum
    nginx_port: int = 8090  # `lab lb nginx start`
    # URL2PNG (section 15.2): on real AWS the bucket name must be globally unique, so set
    # LAB_URL2PNG_BUCKET; LAB_WEBSITE_URL is the website endpoint with ``{bucket}``/``{region}``,
    # e.g. ``http://{bucket}.s3-website-{region}.amazonaws.com`` (empty: the embedded lab's).
    url2png_queue: str = "url2png"
    url2png_dlq: str = "url2png-dlq"
    url2png_bucket: str = "url2png"
    url2png_max_receive: int = 3
    url2png_allow: str = "loopback,private"
    website_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LabConfig:
        """Defaults, overridden by ``LAB_<FIELD>`` variables (``LAB_PORT=4567``)."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = environ.get(f"LAB_{field.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls, field.name))
            try:
                if kind is int:
                    values[field.name] = int(raw)
                elif issubclass(kind, Path):
                    values[field.name] = Path(raw).resolve()
                else:
                    values[field.name] = raw
            except ValueError:
                raise ConfigError(
                    f"LAB_{field.name.upper()}={raw!r} is not a valid {kind.__name__}"
                ) from None
        config = cls(**values)  # type: ignore[arg-type]
        if not 1 <= config.port <= 65535:
            raise ConfigError(f"LAB_PORT={config.port} is not a port number (1-65535)")
        if not 0 <= config.web_servers <= 200:
            raise ConfigError(f"LAB_WEB_SERVERS={config.web_servers} must be 0-200")
        if not 5 <= config.health_check_interval <= 300:
            raise ConfigError(
                f"LAB_HEALTH_CHECK_INTERVAL={config.health_check_interval} must be 5-300 (seconds, "
                "the ELBv2 API's range)"
            )
        for name in ("web_port", "nginx_port"):
            if not 1 <= getattr(config, name) <= 65535:
                raise ConfigError(
                    f"LAB_{name.upper()}={getattr(config, name)} is not a port number"
                )
        if not 1 <= config.url2png_max_receive <= 1000:
            raise ConfigError(
                f"LAB_URL2PNG_MAX_RECEIVE={config.url2png_max_receive} is not 1-1000 (SQS's range)"
            )
        return config

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def web_ips(self) -> tuple[str, ...]:
        """One loopback address per web server: Linux routes all of 127.0.0.0/8 to ``lo``, so
        each server has an address of its own to report, as instances have private IPs."""
        return tuple(f"127.0.0.{11 + i}" for i in range(self.web_servers))

    def website_endpoint(self, bucket: str) -> str:
        """Where a browser reads the bucket's website: the embedded lab serves
        ``BUCKET.s3-website.localhost:PORT`` (Chromium resolves ``*.localhost`` to loopback)."""
        if self.website_url:
            return self.website_url.format(bucket=bucket, region=self.region).rstrip("/")
        return f"http://{bucket}.s3-website.localhost:{self.port}"

    def aws_env(self) -> dict[str, str]:
        """What a shell (or a child process) needs to reach the lab with any AWS client."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
