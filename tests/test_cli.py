"""The `lab` commands as a student types them, in a shell, against real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

LAB = str(Path(sys.executable).parent / "lab")


@pytest.fixture
def lab_env(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_STATE_DIR=str(tmp_path / "state"), LAB_PORT=str(free_port()))
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
    assert f"127.0.0.1:{lab_env['LAB_PORT']}" in up.stdout or "localhost" in up.stdout
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
