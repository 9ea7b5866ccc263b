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
    assert (view.clock_speed, view.chaos_summary()) == (20.0, "on: dup 20%, seed 7")
    view.apply_health({"clock": {"speed": 5}, "chaos": {"enabled": False}})
    assert view.chaos_summary() == "on: dup 20%, seed 7"  # the stream's newer word stands


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


def test_an_injected_copy_is_a_row_of_its_own_while_both_are_held() -> None:
    story = Story()
    story.send("m1", 1)
    story.receive("m1", 1)
    story.worker("received", "w1", "m1")
    story.later(1).receive("m1", 1, count=2, injected=True)
    story.worker("received", "w2", "m1", count=2)
    view = view_of(story)
    rows = view.in_flight_rows()
    assert [(m.message_id, m.injected, m.worker) for m in rows] == [
        ("m1", False, "w1"),
        ("m1", True, "w2"),
    ]
    assert view.not_visible(view.queues["url2png"]) == 2
    story.delete("m1", 1, injected=True)
    [left] = view_of(story).in_flight_rows()
    assert (left.injected, left.worker) == (False, "w1")


def test_the_timeline_shows_renders_side_by_side_and_a_death() -> None:
    story = Story()
    story.add("worker.polling", worker="w1", queue="url2png")
    story.later(10).worker("received", "w1", "m1")
    story.worker("rendering", "w1", "m1", url="http://a/")
    story.worker("received", "w1", "m2")
    story.worker("rendering", "w1", "m2", url="http://b/")
    story.later(10).worker("uploaded", "w1", "m1", key="m1.png", bytes=1)
    story.worker("deleted", "w1", "m1")
    story.later(10).add("worker.polling", worker="w1", queue="url2png")
    view = view_of(story)
    worker = view.workers["w1"]
    slots = view.timeline(worker, 6)  # the last 60 s in slots of 10 s, the newest last
    assert [phase for phase, _ in slots] == ["", "", "polling", *["rendering"] * 3]
    assert slots[3:] == [("rendering", 2), ("rendering", 2), ("rendering", 1)]  # pages at once
    view.now += 5
    view.apply_workers_alive({"w1": False}, since=view.now - 2)
    assert worker.died and worker.step == "died"
    assert view.timeline(worker, 6)[-1][0] == "died"
    view.apply_workers_alive({"w1": True})  # a dead worker stays dead until it starts again
    assert worker.died


def test_target_health_from_aws_replaces_what_the_events_said() -> None:
    view = view_of(classroom_run())
    view.apply_target_health(
        [
            {"target_group": "lab-web", "target_id": "127.0.0.11", "port": 8001,
             "state": "unhealthy", "reason": "Target.Timeout"},
            {"target_group": "lab-web", "target_id": "127.0.0.13", "port": 8001,
             "state": "initial", "reason": "Elb.RegistrationInProgress"},
        ]
    )  # fmt: skip
    assert view.targets[("lab-web", "127.0.0.11")].state == "unhealthy"
    assert view.targets[("lab-web", "127.0.0.11")].requests.total == 3  # the events' counts
    assert view.targets[("lab-web", "127.0.0.13")].from_aws
    view.apply_target_health([])  # deregistered: gone from the panel
    assert set(view.targets) == {("lab-web", "127.0.0.12")}  # only ever seen in events


def test_anomaly_rows_say_which_message_and_why() -> None:
    rows = view_of(classroom_run()).anomalies().rows()
    assert [(r.kind, r.message_id, r.job_id, r.cause, r.detail) for r in rows] == [
        ("duplicate", "m2", "job-m2", "injected", "delivery 2"),
        ("out of order", "m2", "job-m2", None, "overtook 1 older"),
    ]


def test_a_message_history_runs_from_send_to_delete() -> None:
    view = view_of(classroom_run())
    types = [event["type"] for event in view.history("m2")]
    assert types[0] == "sqs.send" and types.count("sqs.receive") == 2
    assert types.count("sqs.delete") == 2 and "worker.duplicate" in types
    assert all(event["message_id"] == "m2" for event in view.history("m2"))
    assert view.history("nope") == []


def test_the_last_answers_name_the_private_ip_of_the_target() -> None:
    story = Story()
    for target, status in (("i-1", 200), ("i-2", 200), (None, 503)):
        story.add("elb.request", load_balancer="lb", listener_port=80, method="GET", path="/",
                  rule="default", target_group="web", target_id=target,
                  target_address=None if target is None else "127.0.1.5", status=status,
                  ms=1.0, answered_by="target" if target else "load_balancer")  # fmt: skip
    view = view_of(story)
    view.apply_target_health(
        [{"target_group": "web", "target_id": "i-1", "port": 80, "state": "healthy",
          "reason": None, "private_ip": "10.0.1.17"}]
    )  # fmt: skip
    assert view.recent_answers(3) == [(200, "10.0.1.17"), (200, "i-2"), (503, "-")]
