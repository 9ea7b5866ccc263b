"""The replay source alone: loading a recording and the playhead's pause, step and speed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.tui.sources import Player, RecordingError, load_recording
from tests.tui.kit import Story, classroom_run


def test_a_recording_loads_in_its_order(tmp_path: Path) -> None:
    story = classroom_run()
    path = story.write(tmp_path / "rec.jsonl")
    path.write_text(path.read_text() + "\n")  # a trailing blank line is fine
    assert load_recording(path) == story.events


def test_a_broken_recording_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text('{"type": "sqs.send"}\nnot json\n')
    with pytest.raises(RecordingError, match="line 2 is not JSON"):
        load_recording(path)


def test_the_playhead_plays_at_the_recordings_pace() -> None:
    story = Story()
    story.send("m1", 1)
    story.later(1).send("m2", 2)
    player = Player(story.events)
    assert [e["message_id"] for e in player.advance(0.5)] == ["m1"]
    assert player.advance(0.4) == []
    assert [e["message_id"] for e in player.advance(0.2)] == ["m2"]
    assert player.done


def test_speed_and_a_fast_clock_play_faster() -> None:
    story = Story()
    story.add("control.clock_speed", speed=10.0, previous=1.0)
    story.later(20).send("m1", 1)  # 20 emulated seconds: 2 real ones at 10x
    player = Player(story.events, speed=2.0, max_gap=100)
    player.advance(0.01)
    assert player.clock_speed == 10.0
    assert player.advance(0.9) == []
    assert len(player.advance(0.2)) == 1


def test_long_idle_stretches_are_skipped() -> None:
    story = Story()
    story.send("m1", 1)
    story.later(3600).send("m2", 2)
    player = Player(story.events, max_gap=2.0)
    player.advance(0.1)
    assert player.advance(2.1) != []


def test_paused_it_plays_nothing_but_steps_one_event_at_a_time() -> None:
    player = Player(classroom_run().events, paused=True)
    assert player.advance(100) == []
    assert [e["id"] for e in player.step()] == [1]
    assert [e["id"] for e in player.step()] == [2]
    assert player.index == 2
