"""The S3 side of URL2PNG: job status records, failure records, PNGs and the gallery, through
boto3 only (so the same calls work on the emulator, LocalStack and AWS).

Everything the worker writes here is either immutable (status and gallery records, the PNG, which
is written with ``If-None-Match: *`` so a second render of the same job cannot replace the
first) or rebuilt from immutable objects (``index.html``). That is what makes a worker that is
killed at any point, or two workers handling the same message, harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab.url2png import gallery as gal
from lab.url2png import records as rec

PUBLIC_READ = "public-read"


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in ("404", "NoSuchKey", "NotFound")


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in ("412", "PreconditionFailed", "ConditionalRequestConflict")


def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every object under ``prefix`` (ListObjectsV2 pages of 1,000)."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        yield from page.get("Contents", [])
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


class JobStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    # --- status records --------------------------------------------------------------------

    def record(self, status: rec.StatusRecord) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=status.key,
            Body=status.body(),
            ContentType="application/json",
        )

    def records(self, job_id: str) -> list[rec.StatusRecord]:
        """Records named by the keys alone: enough to fold, without bodies."""
        found = []
        for obj in list_keys(self.s3, self.bucket, rec.job_prefix(job_id)):
            record = rec.parse_status_key(obj["Key"])
            if record is not None:
                found.append(record)
        return found

    def read_record(self, key: str) -> rec.StatusRecord | None:
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return rec.parse_status(data)

    def status(self, job_id: str) -> rec.JobStatus:
        """The folded status with the URL and, for a failure, the reason (two small GETs)."""
        status = rec.fold(job_id, self.records(job_id))
        if status.state == rec.STATE_UNKNOWN:
            return status
        first = self.read_record(status.first.key) if status.first else None
        decisive = None
        if status.decisive is not None:
            same = status.first is not None and status.decisive.key == status.first.key
            decisive = first if same else self.read_record(status.decisive.key)
        return rec.with_details(status, first, decisive)

    def statuses(self, job_ids: Iterable[str], threads: int = 8) -> dict[str, rec.JobStatus]:
        """Folded statuses from listings only (no bodies): what a progress bar needs."""
        ids = list(job_ids)
        with ThreadPoolExecutor(max_workers=max(1, min(threads, len(ids)))) as pool:
            folded = pool.map(lambda i: rec.fold(i, self.records(i)), ids)
            return dict(zip(ids, folded, strict=True))

    # --- failures --------------------------------------------------------------------------

    def record_failure(self, record: rec.FailureRecord) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=record.key,
            Body=record.body(),
            ContentType="application/json",
        )

    def failure(self, message_id: str) -> rec.FailureRecord | None:
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=rec.failure_key(message_id))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return rec.parse_failure(data["Body"].read())

    def forget_failure(self, message_id: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=rec.failure_key(message_id))

    # --- PNGs ------------------------------------------------------------------------------

    def png_info(self, job_id: str) -> dict[str, Any] | None:
        """HeadObject of ``ID.png``, or None when it does not exist yet."""
        try:
            return self.s3.head_object(Bucket=self.bucket, Key=f"{job_id}.png")
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    def put_png(self, job_id: str, png: bytes) -> bool:
        """Upload ``ID.png`` unless it exists. False means another delivery of the same message
        got there first: its object stays, and this render is a duplicate."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=f"{job_id}.png",
                Body=png,
                ContentType="image/png",
                ACL=PUBLIC_READ,
                IfNoneMatch="*",
            )
        except Exception as exc:
            if is_precondition_failed(exc):
                return False
            raise
        return True


class Gallery:
    """Publishes ``index.html`` from the records under ``gallery/``. Records never change once
    written, so their contents are cached and a rebuild costs one listing plus the new ones."""

    def __init__(self, s3: Any, bucket: str, title: str = "URL2PNG") -> None:
        self.s3 = s3
        self.bucket = bucket
        self.title = title
        self._cache: dict[str, gal.Entry] = {}
        self._lock = threading.Lock()

    def add(self, entry: gal.Entry) -> bool:
        """Write the job's record once; False if it was already there."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=gal.record_key(entry.job_id),
                Body=entry.body(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except Exception as exc:
            if is_precondition_failed(exc):
                return False
            raise
        self._cache[gal.record_key(entry.job_id)] = entry
        return True

    def entries(self) -> list[gal.Entry]:
        found = []
        for obj in list_keys(self.s3, self.bucket, rec.GALLERY_PREFIX):
            key = obj["Key"]
            entry = self._cache.get(key)
            if entry is None:
                try:
                    data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                except Exception as exc:
                    if is_not_found(exc):
                        continue
                    raise
                entry = gal.parse_record(data)
                if entry is None:
                    continue
                self._cache[key] = entry
            found.append(entry)
        return found

    def publish(self, entries: list[gal.Entry] | None = None) -> int:
        """Rebuild and upload ``index.html``; returns how many pictures it lists. One publish
        at a time per process: parallel renders finishing together need only one."""
        with self._lock:
            entries = self.entries() if entries is None else entries
            self.s3.put_object(
                Bucket=self.bucket,
                Key=gal.INDEX_KEY,
                Body=gal.render_index(entries, self.title).encode(),
                ContentType="text/html; charset=utf-8",
                CacheControl="no-cache",
                ACL=PUBLIC_READ,
            )
            return len(entries)

    def published_fingerprint(self) -> str | None:
        try:
            page = self.s3.get_object(Bucket=self.bucket, Key=gal.INDEX_KEY)["Body"].read()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return gal.published_fingerprint(page.decode("utf-8", "replace"))

    def converge(self) -> bool:
        """Republish if the page does not list exactly the recorded pictures (another worker's
        publish may have overtaken a newer one). True if it published."""
        entries = self.entries()
        if self.published_fingerprint() == gal.fingerprint(entries):
            return False
        self.publish(entries)
        return True
