"""The chapter's S3 commands, typed with the real AWS CLI against the emulator, and the website
they produce."""

from __future__ import annotations

import http.client
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.emulator import REPO

AWS = str(REPO / ".venv" / "bin" / "aws")


def aws(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [AWS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"aws {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def website(port: int, bucket: str, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": f"{bucket}.s3-website.localhost:{port}"})
        response = conn.getresponse()
        return response.status, response.headers.get("Content-Type", ""), response.read()
    finally:
        conn.close()


@pytest.fixture
def url2png_bucket(aws_env: dict[str, str]) -> str:
    """The chapter names its bucket url2png-<something unique>."""
    return f"url2png-test-{uuid.uuid4().hex[:8]}"


def test_chapter_commands_make_a_working_website(emulator, aws_env, url2png_bucket, tmp_path):
    bucket = url2png_bucket
    assert f"make_bucket: {bucket}" in aws(aws_env, "s3", "mb", f"s3://{bucket}")
    aws(
        aws_env,
        "s3",
        "website",
        f"s3://{bucket}",
        "--index-document",
        "index.html",
        "--error-document",
        "error.html",
    )
    config = json.loads(aws(aws_env, "s3api", "get-bucket-website", "--bucket", bucket))
    assert config["IndexDocument"] == {"Suffix": "index.html"}
    assert config["ErrorDocument"] == {"Key": "error.html"}

    (tmp_path / "index.html").write_text("<h1>url2png</h1>")
    (tmp_path / "error.html").write_text("<h1>not here</h1>")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    (tmp_path / "968d88c6.png").write_bytes(png)
    (tmp_path / "draft.html").write_text("<h1>draft</h1>")
    for name in ("index.html", "error.html", "968d88c6.png"):
        aws(
            aws_env, "s3", "cp", name, f"s3://{bucket}/{name}", "--acl", "public-read", cwd=tmp_path
        )
    aws(aws_env, "s3", "cp", "draft.html", f"s3://{bucket}/draft.html", cwd=tmp_path)
    listing = aws(aws_env, "s3", "ls", f"s3://{bucket}")
    assert "968d88c6.png" in listing and "draft.html" in listing

    assert website(emulator.port, bucket, "/") == (200, "text/html", b"<h1>url2png</h1>")
    status, content_type, body = website(emulator.port, bucket, "/968d88c6.png")
    assert (status, content_type, body) == (200, "image/png", png)
    assert website(emulator.port, bucket, "/nothing.png") == (
        404,
        "text/html",
        b"<h1>not here</h1>",
    )
    status, _, body = website(emulator.port, bucket, "/draft.html")
    assert status == 403 and b"draft" not in body


def test_object_acl_change_with_the_cli_publishes_a_private_object(emulator, aws_env, tmp_path):
    bucket = f"url2png-acl-{uuid.uuid4().hex[:8]}"
    aws(aws_env, "s3", "mb", f"s3://{bucket}")
    aws(aws_env, "s3", "website", f"s3://{bucket}", "--index-document", "index.html")
    (tmp_path / "index.html").write_text("later public")
    aws(aws_env, "s3", "cp", "index.html", f"s3://{bucket}/index.html", cwd=tmp_path)
    assert website(emulator.port, bucket, "/")[0] == 403
    aws(
        aws_env,
        "s3api",
        "put-object-acl",
        "--bucket",
        bucket,
        "--key",
        "index.html",
        "--acl",
        "public-read",
    )
    assert website(emulator.port, bucket, "/")[2] == b"later public"


def test_chapter_sqs_commands(emulator, aws_env):
    """Section 15.2.3 and 15.2.4's commands; AWS CLI v1 needs --endpoint-url for SQS."""
    endpoint = ["--endpoint-url", emulator.endpoint]
    name = f"url2png-{uuid.uuid4().hex[:6]}"
    url = json.loads(aws(aws_env, *endpoint, "sqs", "create-queue", "--queue-name", name))[
        "QueueUrl"
    ]
    assert url.endswith(f"/000000000000/{name}")
    body = json.dumps({"id": "968d88c6", "url": "http://127.0.0.1:8080/"})
    aws(aws_env, *endpoint, "sqs", "send-message", "--queue-url", url, "--message-body", body)
    attrs = json.loads(
        aws(
            aws_env,
            *endpoint,
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            url,
            "--attribute-names",
            "ApproximateNumberOfMessages",
        )
    )
    assert attrs == {"Attributes": {"ApproximateNumberOfMessages": "1"}}
    got = json.loads(aws(aws_env, *endpoint, "sqs", "receive-message", "--queue-url", url))
    assert json.loads(got["Messages"][0]["Body"]) == {
        "id": "968d88c6",
        "url": "http://127.0.0.1:8080/",
    }
    aws(
        aws_env,
        *endpoint,
        "sqs",
        "delete-message",
        "--queue-url",
        url,
        "--receipt-handle",
        got["Messages"][0]["ReceiptHandle"],
    )
    result = subprocess.run(
        [AWS, *endpoint, "sqs", "get-queue-url", "--queue-name", "no-such-queue"],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in result.stderr


def test_control_planes_moto_answers(emulator, aws_env):
    """STS, IAM, EC2, Auto Scaling, CloudFormation and ELBv2 answer on the same endpoint."""
    identity = json.loads(aws(aws_env, "sts", "get-caller-identity"))
    assert identity["Account"] == "000000000000"
    role = f"lab-role-{uuid.uuid4().hex[:6]}"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    aws(aws_env, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust)
    assert role in aws(aws_env, "iam", "list-roles")
    vpc = json.loads(aws(aws_env, "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"))["Vpc"][
        "VpcId"
    ]
    assert vpc in aws(aws_env, "ec2", "describe-vpcs")
    assert "AutoScalingGroups" in aws(aws_env, "autoscaling", "describe-auto-scaling-groups")
    assert "StackSummaries" in aws(aws_env, "cloudformation", "list-stacks")
    assert "LoadBalancers" in aws(aws_env, "elbv2", "describe-load-balancers")
