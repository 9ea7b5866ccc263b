"""The delivery model's draws: seeded, per queue, within the settings, never on FIFO queues."""

from __future__ import annotations

import pytest

from emulator.sqs.delivery import PRESETS, Chaos, ChaosError, DeliveryModel, Settings


def model(seed: int = 7, **chaos) -> DeliveryModel:
    return DeliveryModel(Settings(enabled=True, seed=seed, default=Chaos(**chaos)))


def draws(m: DeliveryModel, queue: str = "q", n: int = 200) -> list:
    chaos = m.chaos(queue, fifo=False)
    assert chaos is not None
    return [
        (
            m.send_delay(queue, chaos),
            m.pick(queue, chaos, ready=5).index,
            m.duplicate_after(queue, chaos),
            m.receive_limit(queue, chaos, wanted=10, available=3),
        )
        for _ in range(n)
    ]


def test_the_seed_decides_everything():
    settings = dict(duplicate=0.3, reorder=0.5, delay=(0.0, 2.0), sampling=True)
    assert draws(model(1, **settings)) == draws(model(1, **settings))
    assert draws(model(1, **settings)) != draws(model(2, **settings))


def test_each_queue_has_its_own_random_source():
    m1, m2 = model(duplicate=0.5), model(duplicate=0.5)
    chaos = m1.chaos("a", fifo=False)
    assert chaos is not None
    for _ in range(50):  # traffic on another queue changes nothing on "a"
        m2.duplicate_after("b", chaos)
    assert [m1.duplicate_after("a", chaos) for _ in range(100)] == [
        m2.duplicate_after("a", chaos) for _ in range(100)
    ]


def test_probabilities_are_kept_roughly():
    m = model(duplicate=0.2, reorder=0.5)
    chaos = m.chaos("q", fifo=False)
    assert chaos is not None
    copies = sum(m.duplicate_after("q", chaos) is not None for _ in range(5000))
    out_of_order = sum(m.pick("q", chaos, ready=10).index > 0 for _ in range(5000))
    assert 850 < copies < 1150 and 2300 < out_of_order < 2700


def test_draws_stay_inside_their_ranges():
    m = model(duplicate=1.0, reorder=1.0, reorder_window=4, delay=(1.0, 2.0), sampling=True)
    chaos = m.chaos("q", fifo=False)
    assert chaos is not None
    for _ in range(500):
        assert 1.0 <= m.send_delay("q", chaos) <= 2.0
        assert 1 <= m.pick("q", chaos, ready=50).index < 4
        assert 0.5 <= (m.duplicate_after("q", chaos) or 0) <= 3.0
        assert 0 <= m.receive_limit("q", chaos, wanted=10, available=3) <= 3
    assert m.pick("q", chaos, ready=1).index == 0  # nothing to reorder


def test_fifo_queues_and_a_disabled_model_inject_nothing():
    m = model(duplicate=1.0)
    assert m.chaos("jobs.fifo", fifo=True) is None
    off = DeliveryModel(Settings(enabled=False, default=Chaos(duplicate=1.0)))
    assert off.chaos("q", fifo=False) is None
    per_queue = DeliveryModel(Settings(enabled=True, queues=(("only", Chaos(reorder=0.5)),)))
    assert per_queue.chaos("only", False) is not None and per_queue.chaos("other", False) is None


@pytest.mark.parametrize(
    "data, words",
    [
        ({"duplicate": 1.5}, "duplicate must be a probability from 0 to 1"),
        ({"reorder": -0.1}, "reorder must be a probability"),
        ({"delay": "5-1"}, "delay must be MIN-MAX seconds with 0 <= MIN <= MAX"),
        ({"delay": "soon"}, "delay must be MIN-MAX seconds"),
        ({"sampling": "yes"}, "sampling must be true or false"),
        ({"loud": True}, "unknown setting 'loud'"),
    ],
)
def test_bad_settings_say_why(data, words):
    with pytest.raises(ChaosError, match=words):
        Chaos.from_dict(data)


def test_settings_round_trip_through_json_data():
    settings = Settings(
        enabled=True, seed=3, default=PRESETS["classroom"], queues=(("q", Chaos(reorder=0.2)),)
    )
    assert Settings.from_dict(settings.as_dict()) == settings
