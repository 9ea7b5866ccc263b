"""Durability for the SQS engine. SQLite in WAL mode: a write is in the WAL before the call that
made it returns, so a message whose SendMessage returned survives ``kill -9`` of the emulator.

Visibility is not stored: after a crash every undeleted message is visible again (redelivery,
which SQS allows), while receive counts are kept so dead-letter rules still hold.

Every row carries its region, as a queue name is unique per account and region only: one file
holds every region's queues, and each region's engine writes through its own view of the store
(``in_region``), which shares the file and its transactions.

``SqliteStore`` is the engine's ``ports.Store``; the engine does not know it exists."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from emulator.sqs.messages import AttributeValue, md5_of_attributes, md5_of_body
from emulator.sqs.model import SENDER_ID, Message, Queue

DEFAULT_REGION = "us-east-1"
_TABLES = {
    "queues": """
CREATE TABLE IF NOT EXISTS queues (
    region TEXT, name TEXT, arn TEXT, fifo INTEGER, attributes TEXT, tags TEXT,
    created_at REAL, modified_at REAL, last_purge_at REAL, dedup_scope TEXT,
    PRIMARY KEY (region, name)
)""",
    "messages": """
CREATE TABLE IF NOT EXISTS messages (
    region TEXT, queue TEXT, message_id TEXT, seq INTEGER, body TEXT, attributes TEXT,
    system_attributes TEXT, sent_at REAL, visible_at REAL, group_id TEXT, dedup_id TEXT,
    sequence_number TEXT, dead_letter_source_arn TEXT, receive_count INTEGER,
    first_receive_at REAL, enqueued_at REAL,
    PRIMARY KEY (region, queue, message_id)
)""",
}
# Columns added since the first schema. A state file written before them gets them, empty, when
# it is opened; loading reads an empty one as "as before" (see ``load``). The region, part of
# each table's key, came last: a file without it is rebuilt once, every row in the default
# region (``_add_regions``).
_ADDED = {
    "queues": {"dedup_scope": "TEXT"},
    "messages": {"enqueued_at": "REAL"},
}
_QUEUE_COLUMNS = (
    "name, arn, fifo, attributes, tags, created_at, modified_at, last_purge_at, dedup_scope"
)
_MESSAGE_COLUMNS = (
    "queue, message_id, seq, body, attributes, system_attributes, sent_at, visible_at, group_id, "
    "dedup_id, sequence_number, dead_letter_source_arn, receive_count, first_receive_at, "
    "enqueued_at"
)


def _encode_attributes(attributes: dict[str, AttributeValue]) -> str:
    return json.dumps(
        {
            name: [
                v.data_type,
                v.string_value,
                base64.b64encode(v.binary_value).decode() if v.binary_value is not None else None,
            ]
            for name, v in attributes.items()
        }
    )


def _decode_attributes(text: str) -> dict[str, AttributeValue]:
    return {
        name: AttributeValue(kind, string, base64.b64decode(binary) if binary is not None else None)
        for name, (kind, string, binary) in json.loads(text).items()
    }


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _add_regions(db: sqlite3.Connection, region: str) -> None:
    """Rebuild a table written before regions were kept, its rows in ``region``: the key
    changes, which SQLite cannot alter in place. One transaction, so a crash leaves the file
    as it was."""
    old = [table for table in _TABLES if "region" not in _columns(db, table)]
    if not old:
        return
    db.execute("BEGIN")
    for table in old:
        columns = ", ".join(sorted(_columns(db, table)))
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_without_regions")
        db.execute(_TABLES[table])
        db.execute(
            f"INSERT INTO {table} (region, {columns}) "
            f"SELECT ?, {columns} FROM {table}_without_regions",
            (region,),
        )
        db.execute(f"DROP TABLE {table}_without_regions")
    db.execute("COMMIT")


class SqliteStore:
    """The engine's ``Store`` on one SQLite file, for the queues of one region (``region``, the
    default region unless the view says otherwise). Transactions nest, across the views of one
    file too: only the outermost commits, so an action that changes several things (a batch) is
    one commit, one WAL write."""

    def __init__(self, path: Path, *, region: str = DEFAULT_REGION) -> None:
        """``region`` is also where the rows of a file from before regions go."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for create in _TABLES.values():
            self.db.execute(create)
        for table, columns in _ADDED.items():
            present = _columns(self.db, table)
            for column, kind in columns.items():
                if column not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        _add_regions(self.db, region)
        self.region = region
        self._root = self
        self._depth = 0

    def in_region(self, region: str) -> SqliteStore:
        """The same file, for another region's engine: its writes and loads are that region's
        rows, its transactions the file's."""
        view = copy.copy(self)
        view.region = region
        return view

    def regions(self) -> list[str]:
        """The regions that have queues in the file, to restore at start."""
        return [row[0] for row in self.db.execute("SELECT DISTINCT region FROM queues")]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        root = self._root
        if root._depth == 0:
            self.db.execute("BEGIN")
        root._depth += 1
        try:
            yield
        finally:
            root._depth -= 1
            if root._depth == 0:
                self.db.execute("COMMIT")

    def save_queue(self, queue: Queue) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO queues (region, {_QUEUE_COLUMNS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                self.region,
                queue.name,
                queue.arn,
                int(queue.fifo),
                json.dumps(queue.attributes),
                json.dumps(queue.tags),
                queue.created_at,
                queue.modified_at,
                queue.last_purge_at,
                queue.dedup_scope,
            ),
        )

    def drop_queue(self, name: str) -> None:
        self.db.execute("DELETE FROM queues WHERE region=? AND name=?", (self.region, name))
        self.db.execute("DELETE FROM messages WHERE region=? AND queue=?", (self.region, name))

    def save_message(self, queue: str, m: Message) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO messages (region, {_MESSAGE_COLUMNS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                self.region,
                queue,
                m.message_id,
                m.seq,
                m.body,
                _encode_attributes(m.attributes),
                _encode_attributes(m.system_attributes),
                m.sent_at,
                m.visible_at,
                m.group_id,
                m.dedup_id,
                m.sequence_number,
                m.dead_letter_source_arn,
                m.receive_count,
                m.first_receive_at,
                m.enqueued_at,
            ),
        )

    def save_deliveries(self, queue: str, messages: list[Message]) -> None:
        self.db.executemany(
            "UPDATE messages SET receive_count=?, first_receive_at=? "
            "WHERE region=? AND queue=? AND message_id=?",
            [
                (m.receive_count, m.first_receive_at, self.region, queue, m.message_id)
                for m in messages
            ],
        )

    def drop_message(self, queue: str, message_id: str) -> None:
        self.db.execute(
            "DELETE FROM messages WHERE region=? AND queue=? AND message_id=?",
            (self.region, queue, message_id),
        )

    def drop_all_messages(self, queue: str) -> None:
        self.db.execute("DELETE FROM messages WHERE region=? AND queue=?", (self.region, queue))

    def load(self) -> tuple[list[Queue], dict[str, list[Message]]]:
        """This region's queues and their messages."""
        queues = []
        for row in self.db.execute(
            f"SELECT {_QUEUE_COLUMNS} FROM queues WHERE region=?", (self.region,)
        ):
            name, arn, fifo, attributes, tags, created, modified, purged, scope = row
            attrs = json.loads(attributes)
            queues.append(
                Queue(
                    name=name,
                    arn=arn,
                    fifo=bool(fifo),
                    attributes=attrs,
                    tags=json.loads(tags),
                    created_at=created,
                    modified_at=modified,
                    last_purge_at=purged,
                    # an older file did not keep it: the attribute is the best guess
                    dedup_scope=scope or attrs.get("DeduplicationScope", "queue"),
                )
            )
        messages: dict[str, list[Message]] = {}
        for row in self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE region=? ORDER BY seq", (self.region,)
        ):
            (queue, mid, seq, body, attrs, system, sent, visible, group, dedup, seqno, dlq, count,
             first, enqueued) = row  # fmt: skip
            attributes = _decode_attributes(attrs)
            system_attributes = _decode_attributes(system)
            messages.setdefault(queue, []).append(
                Message(
                    message_id=mid,
                    body=body,
                    attributes=attributes,
                    system_attributes=system_attributes,
                    md5_body=md5_of_body(body),
                    md5_attributes=md5_of_attributes(attributes),
                    md5_system_attributes=md5_of_attributes(system_attributes),
                    sent_at=sent,
                    seq=seq,
                    sender_id=SENDER_ID,
                    group_id=group,
                    dedup_id=dedup,
                    sequence_number=seqno,
                    dead_letter_source_arn=dlq,
                    visible_at=visible or 0.0,
                    receive_count=count or 0,
                    first_receive_at=first,
                    enqueued_at=enqueued or sent,
                )
            )
        return queues, messages

    def close(self) -> None:
        self.db.close()
