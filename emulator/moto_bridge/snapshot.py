"""The moto snapshot codec: moto's lab services as bytes, and back.

The services are pickled as one object graph. One graph matters: backends point at each other
(an Auto Scaling backend holds its EC2 and ELB backends), and pickling them together keeps those
links pointing at the restored copies. Containers of backends, and the backends of services not
saved, are pickled by name, so they mean the restoring process's own objects.

Object bodies of S3 are not in the pickle: the chapter's worker uploads a screenshot per
message, and re-pickling every image after every snapshot would grow without bound. Bodies
larger than ``INLINE_BYTES`` are handed out as new blobs (named by their SHA-256) once, and the
pickle names them. Capturing and installing touch moto's objects, so both run on moto's thread;
where and when the bytes are written is ``persistence``'s business."""

from __future__ import annotations

import contextvars
import copyreg
import functools
import hashlib
import importlib
import io
import logging
import pickle
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# Snapshots written before the codec had a module of its own name its functions there.
_FORMER_MODULES = {"emulator.moto_bridge.persistence": __name__}


@dataclass(frozen=True)
class _BlobRef:
    digest: str


def _new_object(cls: type) -> Any:
    """Re-creates an object without calling ``__init__`` (which in moto registers and
    allocates things); its state is restored right after."""
    return cls.__new__(cls)


def _set_dict_lists(obj: dict[str, Any], lists: dict[str, Any]) -> None:
    dict.update(obj, lists)


class Snapshot:
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

    def capture(self) -> Snapshot:
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
            "moto_version": moto_version(),
            "saved_at": time.time(),
            "backends": graph,
            "s3_bucket_accounts": dict(s3.bucket_accounts),
        }
        new_blobs: dict[str, bytes] = {}
        used: set[str] = set()
        buffer = io.BytesIO()
        _Pickler(buffer, self, set(self.services), new_blobs, used).dump(root)
        return Snapshot(buffer.getvalue(), new_blobs, used)

    def install(self, data: bytes, blob_dir: Path) -> tuple[list[str], str]:
        """Replaces moto's backends by the snapshot's; returns the services restored and the
        moto version that saved them. Raises on an unreadable snapshot, before anything in moto
        was changed."""
        from moto.backends import get_backend

        root = loads(data, blob_dir)
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
# Where the blobs of the snapshot being loaded are (set around the unpickling).
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


def loads(data: bytes, blob_dir: Path) -> Any:
    """The snapshot's root object; the blobs it names are read from ``blob_dir``."""
    token = _BLOB_DIR.set(blob_dir)
    try:
        return _Unpickler(io.BytesIO(data)).load()
    finally:
        _BLOB_DIR.reset(token)


class _Unpickler(pickle.Unpickler):
    """Finds the codec's functions under the module name older snapshots used. It is asked once
    per distinct global (the pickle memoizes them), so it costs nothing measurable."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_FORMER_MODULES.get(module, module), name)


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
def moto_version() -> str:
    try:
        from importlib.metadata import version

        return version("moto")
    except Exception:  # noqa: BLE001 - only informative
        return "unknown"
