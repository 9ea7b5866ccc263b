"""Durability for the SQS engine. SQLite in WAL mode: a write is in the WAL before the call that
made it returns, so a message whose SendMessage returned survives ``kill -9`` of the emulator.

Visibility is not stored: after a crash every undeleted message is visible again (redelivery,
which SQS allows), while receive counts are kept so dead-letter rules still hold.

``SqliteStore`` is the engine's ``ports.Store``; the engine does not know it exists."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from emulator.sqs.messages import AttributeValue, md5_of_attributes, md5_of_body
from emulator.sqs.model import SENDER_ID, Message, Queue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY, arn TEXT, fifo INTEGER, attributes TEXT, tags TEXT,
    created_at REAL, modified_at REAL, last_purge_at REAL
);
CREATE TABLE IF NOT EXISTS messages (
    queue TEXT, message_id TEXT, seq INTEGER, body TEXT, attributes TEXT, system_attributes TEXT,
    sent_at REAL, visible_at REAL, group_id TEXT, dedup_id TEXT, sequence_number TEXT,
    dead_letter_source_arn TEXT, receive_count INTEGER, first_receive_at REAL,
    PRIMARY KEY (queue, message_id)
);
"""


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


class SqliteStore:
    """The engine's ``Store`` on one SQLite file. Transactions nest: only the outermost commits,
    so an action that changes several things (a batch) is one commit, one WAL write."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth == 0:
            self.db.execute("BEGIN")
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("COMMIT")

    def save_queue(self, queue: Queue) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO queues VALUES (?,?,?,?,?,?,?,?)",
            (
                queue.name,
                queue.arn,
                int(queue.fifo),
                json.dumps(queue.attributes),
                json.dumps(queue.tags),
                queue.created_at,
                queue.modified_at,
                queue.last_purge_at,
            ),
        )

    def drop_queue(self, name: str) -> None:
        self.db.execute("DELETE FROM queues WHERE name=?", (name,))
        self.db.execute("DELETE FROM messages WHERE queue=?", (name,))

    def save_message(self, queue: str, m: Message) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
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
            ),
        )

    def save_deliveries(self, queue: str, messages: list[Message]) -> None:
        self.db.executemany(
            "UPDATE messages SET receive_count=?, first_receive_at=? "
            "WHERE queue=? AND message_id=?",
            [(m.receive_count, m.first_receive_at, queue, m.message_id) for m in messages],
        )

    def drop_message(self, queue: str, message_id: str) -> None:
        self.db.execute("DELETE FROM messages WHERE queue=? AND message_id=?", (queue, message_id))

    def drop_all_messages(self, queue: str) -> None:
        self.db.execute("DELETE FROM messages WHERE queue=?", (queue,))

    def load(self) -> tuple[list[Queue], dict[str, list[Message]]]:
        queues = [
            Queue(
                name=name,
                arn=arn,
                fifo=bool(fifo),
                attributes=json.loads(attributes),
                tags=json.loads(tags),
                created_at=created,
                modified_at=modified,
                last_purge_at=purged,
            )
            for name, arn, fifo, attributes, tags, created, modified, purged in self.db.execute(
                "SELECT * FROM queues"
            )
        ]
        messages: dict[str, list[Message]] = {}
        for row in self.db.execute("SELECT * FROM messages ORDER BY seq"):
            (queue, mid, seq, body, attrs, system, sent, visible, group, dedup, seqno, dlq, count,
             first) = row  # fmt: skip
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
                )
            )
        return queues, messages

    def close(self) -> None:
        self.db.close()
