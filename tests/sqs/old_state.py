"""The SQS state file as the lab wrote it before queues had regions and messages their own
enqueue time: tests build one to show such a file still loads."""

OLD_SCHEMA = """
CREATE TABLE queues (
    name TEXT PRIMARY KEY, arn TEXT, fifo INTEGER, attributes TEXT, tags TEXT,
    created_at REAL, modified_at REAL, last_purge_at REAL
);
CREATE TABLE messages (
    queue TEXT, message_id TEXT, seq INTEGER, body TEXT, attributes TEXT, system_attributes TEXT,
    sent_at REAL, visible_at REAL, group_id TEXT, dedup_id TEXT, sequence_number TEXT,
    dead_letter_source_arn TEXT, receive_count INTEGER, first_receive_at REAL,
    PRIMARY KEY (queue, message_id)
);
"""
