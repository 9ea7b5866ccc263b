"""The `lab` commands as a student types them, in a shell, against real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port

LAB = str(Path(sys.executable).parent / "lab")


@pytest.fixture
def lab_env(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(
        LAB_STATE_DIR=str(tmp_path / "state"),
        LAB_PORT=str(free_port()),
        LAB_PAGES_PORT=str(free_port()),
    )
    yield env
    subprocess.run([LAB, "down"], env=env, capture_output=True, timeout=60)


def lab(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([LAB, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert run.returncode == 0, run.stdout + run.stderr
    return run


def shell(env: dict[str, str], script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script],
        env={**env, "PATH": f"{Path(LAB).parent}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_status_env_down(lab_env):
    assert lab(lab_env, "status", check=False).returncode == 3
    up = lab(lab_env, "up")
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in lab(lab_env, "env").stdout.split("\n")
        if line
    )
    # `lab up` names the endpoint `lab env` exports
    assert f"local cloud running at {exported['AWS_ENDPOINT_URL']} " in up.stdout
    status = lab(lab_env, "status")
    for service in ("sqs", "s3", "elasticloadbalancing", "cloudformation"):
        assert service in status.stdout
    # the exports work for boto3 and the AWS CLI in a plain shell
    run = shell(
        lab_env,
        'eval "$(lab env)" && python -c "import boto3; '
        "print(boto3.client('sqs').create_queue(QueueName='from-shell')['QueueUrl'])\" && "
        'aws --endpoint-url "$AWS_ENDPOINT_URL" sqs list-queues',
    )
    assert run.returncode == 0, run.stderr
    assert "from-shell" in run.stdout
    assert lab(lab_env, "up").returncode == 0  # a second up finds it running
    assert "stopped" in lab(lab_env, "down").stdout
    assert lab(lab_env, "status", check=False).returncode == 3
    assert "not running" in lab(lab_env, "down").stdout


def test_state_survives_down_and_up_and_reset_empties_it(lab_env):
    lab(lab_env, "up")
    run = shell(
        lab_env,
        'eval "$(lab env)" && python -c "'
        "import boto3; s = boto3.client('sqs'); "
        "u = s.create_queue(QueueName='kept')['QueueUrl']; s.send_message(QueueUrl=u, MessageBody='hi'); "
        "b = boto3.client('s3'); b.create_bucket(Bucket='kept-bucket'); "
        "b.put_object(Bucket='kept-bucket', Key='a.txt', Body=b'still here')\"",
    )
    assert run.returncode == 0, run.stderr
    lab(lab_env, "down")
    lab(lab_env, "up")
    check = (
        'eval "$(lab env)" && python -c "'
        "import boto3; s = boto3.client('sqs'); u = s.get_queue_url(QueueName='kept')['QueueUrl']; "
        "print(s.receive_message(QueueUrl=u)['Messages'][0]['Body']); "
        "print(boto3.client('s3').get_object(Bucket='kept-bucket', Key='a.txt')['Body'].read().decode())\""
    )
    run = shell(lab_env, check)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["hi", "still", "here"]
    lab(lab_env, "reset", "--yes")
    run = shell(lab_env, check)
    assert run.returncode != 0
    assert "NonExistentQueue" in run.stderr
    assert lab(lab_env, "status").returncode == 0  # reset restarted what was running


def test_unknown_command_and_bad_port_are_clear(lab_env):
    run = lab(lab_env, "explode", check=False)
    assert run.returncode == 2 and "No such command" in run.stderr
    busy = {**lab_env, "LAB_PORT": "not-a-port"}
    run = lab(busy, "up", check=False)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert run.stderr.strip() == "lab: LAB_PORT='not-a-port' is not a whole number"
    for name, value, words in (
        ("LAB_LISTENER_PORT_OFFSET", "-5", "must be 0 to 64000"),
        ("LAB_INSTANCE_NETWORK", "10.0.0.0/24", "not a loopback network"),
        ("LAB_INSTANCE_WORKLOADS", "maybe", "is not on or off"),
        ("LAB_HEALTH_CHECK_INTERVAL", "2", "must be 5 to 300"),
    ):
        run = lab({**lab_env, name: value}, "status", check=False)
        assert run.returncode == 1 and "Traceback" not in run.stderr
        assert run.stderr.startswith(f"lab: {name}=") and words in run.stderr, run.stderr


def test_lab_up_hands_its_settings_to_the_emulator_on_its_command_line(lab_env, tmp_path):
    """The emulator runs with what `lab up` was configured with, as options, not through
    inherited LAB_* variables (it reads none)."""
    offset = str(free_port() - 80)
    env = {**lab_env, "LAB_LISTENER_PORT_OFFSET": offset, "LAB_WEB_SERVERS": "0"}
    lab(env, "up")
    pid = (Path(lab_env["LAB_STATE_DIR"]) / "run" / "emulator.pid").read_text().strip()
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert [b"--listener-port-offset", offset.encode()] == argv[
        argv.index(b"--listener-port-offset") :
    ][:2]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environ if v.startswith(b"LAB_")]
    listeners = json.loads(
        urllib.request.urlopen(f"http://127.0.0.1:{lab_env['LAB_PORT']}/_lab/elb").read()
    )
    assert listeners["port_offset"] == int(offset)


def test_emulator_options_are_checked_before_it_starts(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulator",
            "--elb-sync-interval",
            "fast",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--elb-sync-interval='fast' is not a number" in run.stderr


def test_lab_tour_walks_through_the_chapter(lab_env) -> None:
    shown = lab(lab_env, "tour").stdout
    sections = [line for line in shown.splitlines() if line[:1].isdigit()]
    assert len(sections) >= 8 and "(section 15.1)" in sections[0]
    assert "lab exercise start 1" in shown and "TUI: k" in shown
