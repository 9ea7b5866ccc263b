"""The CLI reference in docs/ is the real --help output."""

from pathlib import Path

from lab.cli_reference import reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOC.read_text() == reference(), "run: python -m lab.cli_reference > docs/cli.md"
