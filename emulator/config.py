"""Settings of one emulator process. The lab builds them from its own configuration and passes
them on the command line, so the emulator never reads the lab's files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ACCOUNT_ID = "000000000000"


@dataclass(frozen=True)
class EmulatorSettings:
    host: str = "127.0.0.1"
    port: int = 4566
    state_dir: Path = Path(".lab")
    region: str = "us-east-1"
    account_id: str = ACCOUNT_ID
    # Hostname used in queue URLs and website endpoints; clients resolve it to loopback.
    public_host: str = "localhost"

    @property
    def endpoint(self) -> str:
        return f"http://{self.public_host}:{self.port}"
