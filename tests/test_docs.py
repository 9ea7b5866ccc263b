"""The references in docs/ are generated from the code: the real --help output, the settings'
own declarations."""

from lab import config_reference
from lab.cli_reference import reference
from tests.support.emulator import REPO

DOCS = REPO / "docs"


def test_cli_reference_is_current():
    assert (DOCS / "cli.md").read_text() == reference(), (
        "run: python -m lab.cli_reference > docs/cli.md"
    )


def test_configuration_reference_is_current():
    assert (DOCS / "configuration.md").read_text() == config_reference.reference(), (
        "run: python -m lab.config_reference > docs/configuration.md"
    )


def test_configuration_reference_lists_every_setting_with_its_default():
    text = (DOCS / "configuration.md").read_text()
    for name in ("LAB_PORT", "LAB_LISTENER_PORT_OFFSET", "LAB_INSTANCE_NETWORK", "LAB_CHROMIUM"):
        assert f"| `{name}` |" in text
    assert "| `LAB_LISTENER_PORT_OFFSET` | `8000` | yes |" in text
