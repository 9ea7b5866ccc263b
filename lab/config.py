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
        return config

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def aws_env(self) -> dict[str, str]:
        """What a shell (or a child process) needs to reach the lab with any AWS client."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
