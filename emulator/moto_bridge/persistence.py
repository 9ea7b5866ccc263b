"""moto keeps everything in memory; this keeps it across ``lab down`` / ``lab up`` and crashes.

The lab's moto services are pickled, as one object graph, into ``STATE_DIR/moto/state.pickle``
(written to a temporary file, then renamed over the old one, so a crash mid-write leaves the
previous snapshot intact). One graph matters: backends point at each other (an Auto Scaling
backend holds its EC2 and ELB backends), and pickling them together keeps those links pointing
at the restored copies.

Object bodies of S3 are not in the pickle: the chapter's worker uploads a screenshot per
message, and re-pickling every image after every upload would grow without bound. Bodies larger
than ``INLINE_BYTES`` go to ``moto/blobs/<sha256>`` once and the pickle names them.

Snapshots are taken on moto's thread (the only thread that may touch its objects), shortly after
requests that change something (debounced) and at clean shutdown. A snapshot that cannot be read
back is reported in the log and the emulator starts empty rather than not at all."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copyreg
import functools
import hashlib
import importlib
import io
import logging
import os
import pickle
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("emulator.moto.persistence")

# moto services the lab creates resources in. ``elb`` and ``s3control`` are not used directly,
# but the Auto Scaling backend holds an ELB backend and the website honours account-level
# Block Public Access, so they belong to the same graph.
LAB_SERVICES = (
    "s3",
    "s3control",
    "elbv2",
    "elb",
    "ec2",
    "autoscaling",
    "cloudformation",
    "iam",
    "sts",
)
FORMAT_VERSION = 1
INLINE_BYTES = 32 * 1024
DEBOUNCE_SECONDS = 0.5
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_PREFIXES = ("Describe", "List", "Get")


def is_read_only(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> bool:
    """Whether a moto request cannot have changed moto's state. The query-protocol services
    (EC2, ELBv2, IAM, ...) send every call as a POST, and the lab polls Describe* calls, so the
    action name decides; when unsure the request counts as a change (one snapshot too many)."""
    if method.upper() in READ_ONLY_METHODS:
        return True
    action = (headers.get("X-Amz-Target") or "").rpartition(".")[2]
    if not action:
        action = query.get("Action") or ""
    if not action and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        try:
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        except ValueError:
            action = ""
    return bool(action) and action.startswith(READ_ONLY_PREFIXES)


@dataclass(frozen=True)
class _BlobRef:
    digest: str


def _new_object(cls: type) -> Any:
    """Re-creates an object without calling ``__init__`` (which in moto registers and
    allocates things); its state is restored right after."""
    return cls.__new__(cls)


def _set_dict_lists(obj: dict[str, Any], lists: dict[str, Any]) -> None:
    dict.update(obj, lists)


class _Snapshot:
    """One snapshot being taken: the pickle plus the new blobs it refers to."""

    def __init__(self, state: bytes, new_blobs: dict[str, bytes], blobs: set[str]) -> None:
        self.state = state
        self.new_blobs = new_blobs
        self.blobs = blobs


class MotoState:
    """Captures moto's lab services into bytes and installs them back (moto's thread only)."""

    def __init__(self, services: Iterable[str] = LAB_SERVICES) -> None:
        self.services = tuple(services)
        # Object bodies never change after upload, so a key's digest is computed once.
        self._digests: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.blobs_on_disk: set[str] = set()

    def capture(self) -> _Snapshot:
        from moto.backends import get_backend

        graph: dict[str, dict[str, dict[str, Any]]] = {}
        for service in self.services:
            backends = get_backend(service)  # type: ignore[call-overload]
            graph[service] = {
                account: dict(dict.items(regions)) for account, regions in dict.items(backends)
            }
        s3 = get_backend("s3")
        root = {
            "format": FORMAT_VERSION,
            "moto_version": _moto_version(),
            "saved_at": time.time(),
            "backends": graph,
            "s3_bucket_accounts": dict(s3.bucket_accounts),
        }
        new_blobs: dict[str, bytes] = {}
        used: set[str] = set()
        buffer = io.BytesIO()
        _Pickler(buffer, self, set(self.services), new_blobs, used).dump(root)
        return _Snapshot(buffer.getvalue(), new_blobs, used)

    def install(self, data: bytes, blob_dir: Path) -> tuple[list[str], str]:
        """Replaces moto's backends by the snapshot's; returns the services restored and the
        moto version that saved them. Raises on an unreadable snapshot, before anything in moto
        was changed."""
        from moto.backends import get_backend

        token = _BLOB_DIR.set(blob_dir)
        try:
            root = pickle.loads(data)
        finally:
            _BLOB_DIR.reset(token)
        if not isinstance(root, dict) or root.get("format") != FORMAT_VERSION:
            raise ValueError("not a moto snapshot of this format")
        restored = []
        for service, accounts in root["backends"].items():
            backends = get_backend(service)
            for account, regions in accounts.items():
                account_backends = backends[account]
                for region, backend in regions.items():
                    dict.__setitem__(account_backends, region, backend)
            restored.append(service)
        s3 = get_backend("s3")
        s3.bucket_accounts.clear()
        s3.bucket_accounts.update(root["s3_bucket_accounts"])
        return restored, str(root.get("moto_version"))

    def blob_of(self, key: Any, new_blobs: dict[str, bytes]) -> bytes | _BlobRef:
        if getattr(key, "disposed", False):
            return b""
        if getattr(key, "contentsize", INLINE_BYTES + 1) <= INLINE_BYTES:
            return key.value
        digest = self._digests.get(key)
        value = None
        if digest is None:
            value = key.value
            digest = hashlib.sha256(value).hexdigest()
            self._digests[key] = digest
        if digest not in self.blobs_on_disk and digest not in new_blobs:
            new_blobs[digest] = value if value is not None else key.value
        return _BlobRef(digest)


_MODULE_ATTRS: dict[int, tuple[str, str]] = {}
# Where the blobs of the snapshot being loaded are (set around ``pickle.loads``).
_BLOB_DIR: contextvars.ContextVar[Path] = contextvars.ContextVar("moto_blob_dir")


def _module_attr(backends: Any) -> tuple[str, str] | None:
    """Where a BackendDict lives (module, attribute), to find it again in another process."""
    cached = _MODULE_ATTRS.get(id(backends))
    if cached:
        return cached
    module_name = backends.backend.__module__
    candidates = [module_name, module_name.rpartition(".")[0]]
    for name in candidates:
        module = sys.modules.get(name)
        for attr, value in vars(module or object).items():
            if value is backends:
                _MODULE_ATTRS[id(backends)] = (name, attr)
                return name, attr
    return None


def _load_blob(digest: str) -> bytes:
    blob_dir = _BLOB_DIR.get()
    try:
        return (blob_dir / digest).read_bytes()
    except OSError:
        log.warning("object body %s missing in %s; it reads empty", digest, blob_dir)
        return b""


def _live_services(module: str, attr: str) -> Any:
    return getattr(importlib.import_module(module), attr)


def _live_accounts(module: str, attr: str, account: str) -> Any:
    return _live_services(module, attr)[account]


def _live_backend(module: str, attr: str, account: str, region: str) -> Any:
    return _live_services(module, attr)[account][region]


class _Pickler(pickle.Pickler):
    """Adds moto-specific reductions. They are all per-class (``dispatch_table``), which the C
    pickler looks up cheaply; a ``persistent_id`` hook would be called for every one of the
    hundreds of thousands of objects and made snapshots four times slower."""

    def __init__(
        self,
        file: io.BytesIO,
        state: MotoState,
        saved_services: set[str],
        new_blobs: dict[str, bytes],
        used: set[str],
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        from moto.core.base_backend import BackendDict
        from moto.s3.models import FakeKey
        from moto.s3.utils import _VersionedKeyStore

        self._state = state
        self._new_blobs = new_blobs
        self._used = used
        self._live: dict[int, tuple[Callable[..., Any], tuple[str, ...]]] = {}
        table = copyreg.dispatch_table.copy()
        table[FakeKey] = self._reduce_key
        table[_VersionedKeyStore] = self._reduce_versioned
        table[_BlobRef] = self._reduce_blob
        # Containers of backends, and backends of services not saved, are stored by name so
        # that they mean the restoring process's own objects.
        for backends in list(BackendDict._instances):
            where = _module_attr(backends)
            if where is None:
                continue
            self._live[id(backends)] = (_live_services, where)
            table[type(backends)] = self._reduce_live
            saved = backends.service_name in saved_services or (
                where[1].removesuffix("_backends") in saved_services
            )
            for account, regions in dict.items(backends):
                self._live[id(regions)] = (_live_accounts, (*where, account))
                table[type(regions)] = self._reduce_live
                if saved:
                    continue
                for region, backend in dict.items(regions):
                    self._live[id(backend)] = (_live_backend, (*where, account, region))
                    table[type(backend)] = self._reduce_live
        self.dispatch_table = table

    def _reduce_live(self, obj: Any) -> Any:
        live = self._live.get(id(obj))
        if live is not None:
            return live
        return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)

    def _reduce_blob(self, ref: _BlobRef) -> Any:
        self._used.add(ref.digest)
        return (_load_blob, (ref.digest,))

    def _reduce_key(self, key: Any) -> Any:
        """FakeKey's own ``__getstate__`` copies the body into the pickle; this stores a
        reference to the blob instead (FakeKey.__setstate__ reads ``value`` either way)."""
        state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
        try:
            state["value"] = self._state.blob_of(key, self._new_blobs)
        except ValueError:  # body already disposed: the key was deleted
            state["value"] = b""
        return (_new_object, (type(key),), state)

    @staticmethod
    def _reduce_versioned(store: dict[str, Any]) -> Any:
        """Its ``items()`` yields only the newest version of each key, which would drop the
        history of versioned buckets; keep the per-key lists instead."""
        lists = {k: list(v) for k, v in dict.items(store)}
        return (_new_object, (type(store),), lists, None, None, _set_dict_lists)


@functools.cache
def _moto_version() -> str:
    try:
        from importlib.metadata import version

        return version("moto")
    except Exception:  # noqa: BLE001 - only informative
        return "unknown"


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

    async def restore(self) -> None:
        """Startup hook: load the last snapshot, if any, before the first request."""
        await self.run_on_moto(self._restore)

    def _restore(self) -> None:
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
        if saved_by != _moto_version():
            log.warning(
                "moto state was saved by moto %s and is used by moto %s; if requests fail, "
                "run `lab reset`",
                saved_by,
                _moto_version(),
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

    def _write(self, snapshot: _Snapshot) -> None:
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
