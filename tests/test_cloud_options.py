"""`--target` and `--endpoint`: every command that talks to the cloud takes them, they win over
LAB_TARGET / LAB_ENDPOINT_URL for that one command, and a bad value is one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main
from lab.config import LabConfig
from tests.support.ports import free_port

LAB = str(Path(sys.executable).parent / "lab")


def lab(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    return subprocess.run(
        [LAB, *args], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def commands_with_options(group=main, prefix: str = "") -> dict[str, set[str]]:
    """Each command's path and the option names it takes."""
    import click

    ctx = click.Context(group)
    found = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(commands_with_options(command, path + " "))
        else:
            found[path] = {o for p in command.params for o in p.opts}
    return found


@pytest.mark.parametrize(
    "path",
    [
        "up",
        "down",
        "status",
        "env",
        "worker",
        "url2png submit",
        "url2png status",
        "url2png dlq",
        "tui",
        "check",
        "exercise start",
        "events",
        "trace check",
        "chaos on",
        "clock",
        "lb health",
        "stack deploy",
        "notebook",
    ],
)
def test_every_command_that_talks_to_the_cloud_takes_both(path: str) -> None:
    options = commands_with_options()[path]
    assert {"--target", "--endpoint"} <= options, path


def test_the_option_wins_over_the_environment_for_one_command() -> None:
    """`lab env --target localstack` names LocalStack's endpoint although LAB_TARGET says lab;
    `--endpoint` wins over both."""
    port = str(free_port())
    default = lab("env", LAB_PORT=port)
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in default.stdout
    other = lab("env", "--target", "localstack", LAB_TARGET="lab", LAB_PORT=port)
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4566" in other.stdout
    given = lab("env", "--endpoint", "http://127.0.0.1:4999", LAB_TARGET="localstack")
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4999" in given.stdout


def test_on_real_aws_env_exports_no_endpoint_and_no_keys() -> None:
    """The user's own credentials stay theirs: `lab env --target aws` sets only the region."""
    out = lab("env", "--target", "aws", LAB_REGION="eu-central-1").stdout
    assert "AWS_ENDPOINT_URL" not in out and "AWS_ACCESS_KEY_ID" not in out
    assert "AWS_REGION=eu-central-1" in out


@pytest.mark.parametrize(
    ("args", "env", "sentence"),
    [
        (["status", "--endpoint", "ftp://x"], {}, "lab: --endpoint='ftp://x' is not an http://"),
        (["status"], {"LAB_TARGET": "cloud9"}, "lab: LAB_TARGET='cloud9' must be one of lab,"),
        (["status"], {"LAB_ENDPOINT_URL": "x"}, "lab: LAB_ENDPOINT_URL='x' is not an http://"),
    ],
)
def test_a_bad_value_is_one_sentence(args: list[str], env: dict[str, str], sentence: str) -> None:
    run = lab(*args, **env)
    assert run.returncode != 0
    assert run.stderr.startswith(sentence), run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_bad_target_on_the_command_line_is_clicks_one_line_usage_error() -> None:
    run = lab("status", "--target", "cloud9")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "'cloud9' is not one of 'lab', 'compose', 'localstack', 'aws'" in run.stderr


def test_children_of_the_lab_inherit_the_target() -> None:
    """A worker the TUI starts gets LAB_TARGET and LAB_ENDPOINT_URL from `to_env`, so it joins
    the same cloud as the TUI."""
    config = LabConfig(target="localstack", endpoint_url="http://127.0.0.1:4999")
    again = LabConfig.from_env(config.to_env())
    assert (again.target, again.aws_endpoint_url) == ("localstack", "http://127.0.0.1:4999")
