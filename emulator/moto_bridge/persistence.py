"""moto keeps everything in memory; this keeps it across ``lab down`` / ``lab up`` and crashes.

``snapshot`` turns moto's lab services into bytes; this decides when, and puts them on disk.
The pickle goes to ``STATE_DIR/moto/state.pickle`` and large object bodies to
``STATE_DIR/moto/blobs/<sha256>``, each written to a temporary file and then renamed over the
old one, so a crash mid-write leaves the previous snapshot intact.

Snapshots are taken on moto's thread (the only thread that may touch its objects), shortly after
requests that change something (debounced) and at clean shutdown. A snapshot that cannot be read
back is reported in the log and the emulator starts empty rather than not at all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from emulator.moto_bridge.snapshot import LAB_SERVICES, MotoState, Snapshot, moto_version

log = logging.getLogger("emulator.moto.persistence")

DEBOUNCE_SECONDS = 0.5


class MotoPersistence:
    """Restores moto at startup and saves it after changes (debounced) and at shutdown."""

    def __init__(
        self,
        run_on_moto: Callable[..., Awaitable[Any]],
        state_dir: Path,
        debounce: float = DEBOUNCE_SECONDS,
        services: Iterable[str] = LAB_SERVICES,
    ) -> None:
        self.run_on_moto = run_on_moto
        self.dir = state_dir / "moto"
        self.path = self.dir / "state.pickle"
        self.blob_dir = self.dir / "blobs"
        self.debounce = debounce
        self.state = MotoState(services)
        self._changes = 0
        self._saved = 0
        self._task: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()

    def restore(self) -> None:
        """Load the last snapshot, if any. On moto's thread, before any request: ``MotoBridge``
        runs it as the first job of that thread."""
        if not self.path.exists():
            log.info("no saved moto state in %s; starting empty", self.path)
            return
        try:
            data = self.path.read_bytes()
            services, saved_by = self.state.install(data, self.blob_dir)
        except Exception as exc:  # noqa: BLE001 - any unreadable snapshot means "start empty"
            kept = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            with contextlib.suppress(OSError):
                os.replace(self.path, kept)
            log.warning(
                "could not restore moto state from %s (%s: %s); starting empty, the file is "
                "kept as %s",
                self.path,
                type(exc).__name__,
                exc,
                kept.name,
            )
            return
        with contextlib.suppress(OSError):
            self.state.blobs_on_disk = set(os.listdir(self.blob_dir))
        if saved_by != moto_version():
            log.warning(
                "moto state was saved by moto %s and is used by moto %s; if requests fail, "
                "run `lab reset`",
                saved_by,
                moto_version(),
            )
        log.info("restored moto state (%s) from %s", ", ".join(services), self.path)

    def changed(self) -> None:
        """Note that moto's state changed; a snapshot follows within ``debounce`` seconds,
        covering every change made until it starts."""
        self._changes += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._save_soon())

    async def _save_soon(self) -> None:
        while self._saved != self._changes:
            await asyncio.sleep(self.debounce)
            try:
                await self.save()
            except Exception:  # noqa: BLE001 - keep serving; the next change tries again
                log.exception("saving moto state failed")
                return

    async def save(self) -> None:
        """Takes and writes a snapshot. Shielded: a shutdown that cancels the debounce task
        mid-write must not start a second writer on the same files before the first is done."""
        await asyncio.shield(self._save())

    async def _save(self) -> None:
        async with self._save_lock:
            generation = self._changes
            started = time.monotonic()
            snapshot = await self.run_on_moto(self.state.capture)
            captured = time.monotonic()
            await asyncio.to_thread(self._write, snapshot)
            log.debug(
                "saved moto state: %d bytes + %d new bodies, capture %.0f ms, write %.0f ms",
                len(snapshot.state),
                len(snapshot.new_blobs),
                (captured - started) * 1000,
                (time.monotonic() - captured) * 1000,
            )
            self.state.blobs_on_disk.update(snapshot.new_blobs)
            self._saved = max(self._saved, generation)

    async def close(self) -> None:
        """Shutdown hook: a last snapshot if anything changed since the previous one."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._saved != self._changes:
            try:
                await self.save()
                log.info("saved moto state to %s", self.path)
            except Exception:  # noqa: BLE001
                log.exception("saving moto state at shutdown failed")

    def _write(self, snapshot: Snapshot) -> None:
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        for digest, body in snapshot.new_blobs.items():
            _atomic_write(self.blob_dir / digest, body)
        _atomic_write(self.path, snapshot.state)
        _fsync_dir(self.dir)
        # The new snapshot is in place; bodies only older snapshots used can go.
        for name in os.listdir(self.blob_dir):
            if name not in snapshot.blobs and not name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    (self.blob_dir / name).unlink()
                self.state.blobs_on_disk.discard(name)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
