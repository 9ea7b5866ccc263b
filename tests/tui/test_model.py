"""The TUI's model from hand-written events: what each panel would show."""

from __future__ import annotations

from lab.tui.model import RATE_WINDOW, LabView
from tests.tui.kit import STREAM, Story, classroom_run


def view_of(story: Story) -> LabView:
    view = LabView()
    view.apply_all(story.events)
    return view


def test_queue_counts_and_rates_come_from_the_events() -> None:
    view = view_of(classroom_run())
    queue = view.queues["url2png"]
    assert (queue.sent.total, queue.received.total, queue.deleted.total) == (3, 3, 2)
    assert queue.sent.per_second(view.now) == 3 / RATE_WINDOW
    assert queue.sent.per_second(view.now, speed=20) == 3 / RATE_WINDOW
    # m3 never received: visible; m1 held by w2: in flight
    assert view.visible(queue) == 1
    assert view.not_visible(queue) == 1
    assert not queue.from_aws


def test_rates_forget_what_is_older_than_the_window() -> None:
    story = Story()
    story.send("m1", 1)
    story.later(RATE_WINDOW + 1).send("m2", 2)
    view = view_of(story)
    # at 20x the last real minute is 20 emulated minutes: both sends are in it
    assert view.queues["url2png"].sent.per_second(view.now, speed=20) == 2 / RATE_WINDOW
    assert view.queues["url2png"].sent.per_second(view.now) == 1 / RATE_WINDOW
    assert view.queues["url2png"].sent.total == 2


def test_attributes_replace_the_estimate_and_feed_the_sparkline() -> None:
    view = view_of(classroom_run())
    view.apply_attributes(
        {
            "url2png": {
                "ApproximateNumberOfMessages": "4",
                "ApproximateNumberOfMessagesNotVisible": "2",
                "ApproximateNumberOfMessagesDelayed": "1",
            }
        }
    )
    queue = view.queues["url2png"]
    assert (view.visible(queue), view.not_visible(queue), queue.delayed) == (4, 2, 1)
    assert list(queue.depth_history) == [7]


def test_in_flight_shows_holder_job_and_when_it_comes_back() -> None:
    view = view_of(classroom_run())
    [held] = view.in_flight_rows()
    assert (held.message_id, held.worker, held.job_id, held.receive_count) == (
        "m1",
        "w2",
        "job-m1",
        1,
    )
    # received at start+2 with 120 s; the newest event is at start+3
    assert view.seconds_left(held) == 119
    assert view.real_seconds(view.seconds_left(held)) == 119 / 20


def test_visibility_timeout_running_out_gives_the_message_back() -> None:
    story = Story()
    story.send("m1", 1)
    story.receive("m1", 1, timeout=30)
    story.later(30).add(
        "sqs.visibility_expired", queue="url2png", message_id="m1", seq=1, receive_count=1
    )
    view = view_of(story)
    assert view.in_flight == {}
    assert view.visible(view.queues["url2png"]) == 1


def test_change_visibility_moves_the_deadline_or_gives_back() -> None:
    story = Story()
    story.send("m1", 1)
    story.receive("m1", 1, timeout=30)
    story.later(10).add("sqs.change_visibility", queue="url2png", message_id="m1", timeout=60)
    view = view_of(story)
    assert view.seconds_left(view.in_flight_rows()[0]) == 60
    story.add("sqs.change_visibility", queue="url2png", message_id="m1", timeout=0)
    view = view_of(story)
    assert view.in_flight == {}


def test_dead_letter_moves_the_message_to_the_target_queue() -> None:
    story = Story()
    story.send("m1", 1)
    story.add("sqs.dead_letter", queue="url2png", message_id="m1", target="url2png-dlq")
    view = view_of(story)
    assert view.queues["url2png"].dead_lettered == 1
    assert view.visible(view.queues["url2png-dlq"]) == 1
    assert view.visible(view.queues["url2png"]) == 0


def test_anomalies_name_the_duplicate_cause_and_count_inversions() -> None:
    anomalies = view_of(classroom_run()).anomalies()
    [extra] = anomalies.duplicates
    assert (extra.message_id, extra.cause) == ("m2", "injected")
    assert anomalies.causes == {"injected": 1}
    assert anomalies.out_of_order == 1  # m2 delivered before m1
    assert anomalies.producer_out_of_order == 1


def test_workers_show_their_step_and_what_they_did() -> None:
    story = classroom_run()
    view = view_of(story)
    w1, w2 = view.workers["w1"], view.workers["w2"]
    assert (w1.pages_done, w1.duplicates, w1.step) == (1, 1, "done")
    assert w2.step == "received"
    story.worker("rendering", "w2", "m1", url="http://127.0.0.1:8081/forest.html")
    assert view_of(story).workers["w2"].step == "rendering http://127.0.0.1:8081/forest.html"
    story.worker("failed", "w2", "m1", kind="failed", reason="it broke", final=False)
    w2 = view_of(story).workers["w2"]
    assert (w2.failures, w2.step) == (1, "failed: failed")


def test_load_balancer_targets_requests_and_statuses() -> None:
    view = view_of(classroom_run())
    healthy = view.targets[("lab-web", "127.0.0.11")]
    sick = view.targets[("lab-web", "127.0.0.12")]
    assert (healthy.state, healthy.requests.total, healthy.address) == (
        "healthy",
        3,
        "127.0.0.11:8001",
    )
    assert (sick.state, sick.reason) == ("unhealthy", "Target.ResponseCodeMismatch")
    assert view.recent_statuses() == [200, 200, 503]


def test_clock_and_delivery_model_from_control_events_or_health() -> None:
    view = LabView()
    view.apply_health({"clock": {"speed": 5}, "chaos": {"enabled": False, "seed": 1}})
    assert (view.clock_speed, view.chaos_summary()) == (5.0, "off")
    view = view_of(classroom_run())
    assert (view.clock_speed, view.chaos_summary()) == (20.0, "on (seed 7)")
    view.apply_health({"clock": {"speed": 5}, "chaos": {"enabled": False}})
    assert view.chaos_summary() == "on (seed 7)"  # the stream's newer word stands


def test_a_restart_gives_in_flight_messages_back() -> None:
    story = Story()
    story.send("m1", 1)
    story.receive("m1", 1)
    story.add("sqs.queue_created", queue="other", stream="another")
    view = view_of(story)
    assert view.in_flight == {}
    assert view.visible(view.queues["url2png"]) == 1
    assert view.stream == "another" != STREAM


def test_unknown_types_reach_only_the_log() -> None:
    view = LabView()
    view.apply({"type": "future.thing", "id": 1, "at": 5.0, "x": 1})
    assert len(view.log) == 1 and view.queues == {} and view.now == 5.0


def test_without_aws_the_sparkline_samples_the_events_once_a_real_second() -> None:
    story = Story()
    story.send("m1", 1)
    story.later(0.5).send("m2", 2)
    story.later(1).send("m3", 3)
    story.later(1).receive("m1", 1)
    view = view_of(story)
    assert list(view.queues["url2png"].depth_history) == [1, 3, 3]
