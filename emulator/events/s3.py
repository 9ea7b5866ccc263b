"""S3 events: objects put into and deleted from a bucket that hosts a website (URL2PNG's
gallery of PNGs, the chapter's static site), as moto stored them.

Published by the moto bridge (``MotoBridge.handle``, with ``emulator/moto_bridge/website.py``)
after moto answered a PutObject, CopyObject, CompleteMultipartUpload, DeleteObject or
DeleteObjects with success, path-style (``/BUCKET/KEY``, as the lab's clients send) or
virtual-host style (``BUCKET.HOST/KEY``). Buckets without website hosting publish nothing:
they are not what the lab shows. Browser form uploads (POST to the bucket) are not seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emulator.events.model import Event, described

PUBLISHER = "emulator/moto_bridge/website.py"


@dataclass(frozen=True, slots=True)
class S3ObjectEvent(Event):
    """Base of the object events: each names its bucket, key, size and type."""

    publisher: ClassVar[str] = PUBLISHER
    bucket: str = described("name of the bucket (it has website hosting)")
    key: str = described("the object's key")
    size: int = described("the object's size in bytes")
    content_type: str | None = described("its Content-Type, as stored (null: none stored)")


@dataclass(frozen=True, slots=True)
class S3ObjectPut(S3ObjectEvent):
    """An object was written (new, or replacing one with the same key): the website serves it
    from now on."""

    type: ClassVar[str] = "s3.object_put"


@dataclass(frozen=True, slots=True)
class S3ObjectDeleted(S3ObjectEvent):
    """An object was deleted (DeleteObject, or one key of DeleteObjects); ``size`` and
    ``content_type`` are those it had. Deleting a key that holds no object publishes
    nothing."""

    type: ClassVar[str] = "s3.object_deleted"


TYPES: tuple[type[S3ObjectEvent], ...] = (S3ObjectPut, S3ObjectDeleted)
