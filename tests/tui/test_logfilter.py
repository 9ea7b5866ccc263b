"""The event log's filter and export, from hand-written events."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lab.tui.logfilter import FilterError, LogFilter, export
from tests.tui.kit import classroom_run

EVENTS = classroom_run().events


def shown(text: str) -> list[str]:
    return [event["type"] for event in LogFilter.parse(text).select(EVENTS)]


def test_by_type_prefix_queue_job_and_message() -> None:
    assert set(shown("type:sqs.receive")) == {"sqs.receive"}
    assert set(shown("t:elb.")) == {"elb.target_state", "elb.request"}
    assert len(shown("job:job-m2")) == 7  # the workers' reports about m2
    assert all(e["message_id"] == "m1" for e in LogFilter.parse("message:m1").select(EVENTS))
    assert shown("queue:nowhere") == []
    assert shown("type:sqs.delete message:m2") == ["sqs.delete", "sqs.delete"]


def test_plain_words_match_the_line_and_empty_shows_all() -> None:
    assert shown("unhealthy") == ["elb.target_state"]
    assert len(shown("")) == len(EVENTS)
    assert not LogFilter.parse("  ")


@pytest.mark.parametrize("text", ["colour:red", "type:", ":x"])
def test_a_filter_it_cannot_read_says_how_to_write_one(text: str) -> None:
    with pytest.raises(FilterError, match="type:, queue:, job: or message:"):
        LogFilter.parse(text)


def test_export_writes_jsonl_that_replays_and_csv_that_a_spreadsheet_reads(tmp_path: Path) -> None:
    chosen = LogFilter.parse("type:sqs.").select(EVENTS)
    assert export(tmp_path / "a.jsonl", chosen) == len(chosen)
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == chosen
    assert export(tmp_path / "sub" / "a.csv", chosen) == len(chosen)
    with (tmp_path / "sub" / "a.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["type"] for row in rows] == [event["type"] for event in chosen]
    assert json.loads(rows[-1]["fields"]) == {"seq": 2, "injected": True}  # the rest
    assert rows[-1]["message_id"] == chosen[-1]["message_id"]
