"""The event reference in docs/ is written from the event types themselves."""

from emulator.events import catalog
from emulator.events.reference import reference
from tests.support.emulator import REPO

DOC = REPO / "docs" / "events.md"


def test_events_reference_is_current():
    assert DOC.read_text() == reference(), (
        "run: python -m emulator.events.reference > docs/events.md"
    )


def test_events_reference_names_every_type_and_its_publisher():
    text = DOC.read_text()
    for kind in catalog.all_types():
        assert f"### `{kind.type}`" in text
        assert f"published by `{kind.publisher}`" in text
        assert (REPO / kind.publisher).is_file()
