"""The lab's one configuration object. Every value can be set from the environment (``LAB_*``), so
the CLI, the TUI, notebooks and tests agree on where the local cloud is."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class LabConfig:
    host: str = field(default_factory=lambda: _env("LAB_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("LAB_PORT", "4566")))
    state_dir: Path = field(
        default_factory=lambda: Path(_env("LAB_STATE_DIR", str(REPO_ROOT / ".lab"))).resolve()
    )
    region: str = field(default_factory=lambda: _env("LAB_REGION", "us-east-1"))
    access_key: str = "test"
    secret_key: str = "test"

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
