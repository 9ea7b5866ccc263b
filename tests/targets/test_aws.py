"""``--target aws``, as a user runs it. There is no internet here, so the lab's own emulator
stands in for AWS (``--endpoint``): it speaks SQS, S3, STS and CloudFormation as AWS does,
and runs the chapter's stack. What is shown: the plan and the cost before anything, the
question (and no to it creates nothing), a dry run that creates nothing (with and without
credentials), the whole cycle (up creates and tags, status lists, down deletes exactly that
and leaves the account's other queue, bucket and VPC), a name the lab did not make stopping
``up``, and ``down`` finding the lab's resources by their tag when the record is gone."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lab.pages.server import SAMPLE_PAGES
from tests.stack.conftest import StackEmulator
from tests.targets.conftest import LAB, lab_env, ok, one_sentence, run_lab

BUCKET = "url2png-000000000000-us-east-1"  # the emulator's account is 000000000000
TAG = "decoupling-lab"


def aws_env(tmp_path: Path, cloud: StackEmulator, **more: str) -> dict[str, str]:
    """A user's shell pointed at the stand-in: the target and endpoint as options would give
    them, and the instance port the stand-in's web servers use."""
    return lab_env(
        tmp_path,
        LAB_TARGET="aws",
        LAB_ENDPOINT_URL=cloud.endpoint,
        LAB_INSTANCE_PORT=str(cloud.instance_port),
        **more,
    )


def inventory(cloud: StackEmulator) -> dict[str, list[str]]:
    """What the account holds: queue names, buckets, stacks, VPCs other than the default."""
    sqs, s3, cfn, ec2 = (cloud.client(s) for s in ("sqs", "s3", "cloudformation", "ec2"))
    return {
        "queues": sorted(u.rsplit("/", 1)[1] for u in sqs.list_queues().get("QueueUrls", [])),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "stacks": sorted(
            s["StackName"]
            for s in cfn.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ),
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")),
    }


def someone_elses(cloud: StackEmulator) -> None:
    """The account's own queue and bucket, which the lab must never touch."""
    cloud.client("sqs").create_queue(QueueName="orders")
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="family-photos")
    s3.put_object(Bucket="family-photos", Key="2019/beach.jpg", Body=b"jpeg")


def test_a_dry_run_without_credentials_still_lists_the_plan(tmp_path: Path) -> None:
    """No endpoint, no credentials, no internet: the plan comes from the configuration alone
    (only GetCallerIdentity is tried, and fails before any request for want of keys)."""
    env = lab_env(tmp_path)
    out = ok(run_lab(env, "up", "--target", "aws", "--dry-run"))
    assert "lab up --target aws, in your account, region us-east-1:" in out
    assert "create queue url2png-dlq (the dead-letter queue" in out
    assert "create queue url2png (dead letters after 3 receives)" in out
    assert "create bucket url2png-ACCOUNT-us-east-1 with website hosting" in out
    assert "create stack loadbalancer from lab/templates/loadbalancer.yaml" in out
    assert "auto-scaling group of 2 t3.micro instances" in out
    assert "This costs money while it exists" in out
    assert "nothing was looked up: no AWS credentials found" in out
    assert "dry run: nothing was created" in out
    assert not (tmp_path / "state" / "targets").exists()  # not even the record
    # a bucket the user names is the one planned
    named = ok(
        run_lab({**env, "LAB_URL2PNG_BUCKET": "my-url2png"}, "up", "--target", "aws", "--dry-run")
    )
    assert "create bucket my-url2png with website hosting" in named
    # for real, without credentials: one sentence
    line = one_sentence(run_lab(env, "up", "--target", "aws", "--yes"))
    assert line.startswith("lab: no AWS credentials found: --target aws uses your own")
    line = one_sentence(run_lab(env, "status", "--target", "aws"))
    assert "no AWS credentials found" in line
    out = ok(run_lab(env, "down", "--target", "aws", "--dry-run"))
    assert "nothing is recorded" in out and "dry run: nothing was deleted" in out
    # an exercise whose checker needs the lab's own cloud says so before anything else
    line = one_sentence(run_lab(env, "check", "5", "--target", "aws"))
    assert line.startswith("lab: exercise 5 does not run on aws:")


def test_dry_run_belongs_to_aws_only(tmp_path: Path) -> None:
    line = one_sentence(run_lab(lab_env(tmp_path), "up", "--dry-run"))
    assert "--dry-run is for --target aws" in line


@pytest.mark.slow  # the chapter's stack, and a real worker on real Chromium
def test_the_whole_cycle_creates_tags_lists_and_deletes_only_its_own(
    tmp_path: Path, stand_in: StackEmulator
) -> None:
    someone_elses(stand_in)
    before = inventory(stand_in)
    env = aws_env(tmp_path, stand_in)

    # the plan, and a dry run that creates nothing
    out = ok(run_lab(env, "up", "--dry-run"))
    assert f"in account 000000000000, region us-east-1 at {stand_in.endpoint}:" in out
    assert f"create bucket {BUCKET} with website hosting" in out
    assert "dry run: nothing was created" in out
    assert inventory(stand_in) == before
    # asked, and answered no: nothing
    refused = run_lab(env, "up", input="n\n")
    assert "This costs money while it exists" in refused.stdout
    assert "Create these resources? [y/N]" in refused.stdout
    assert one_sentence(refused).startswith("lab: nothing was created (not confirmed")
    assert inventory(stand_in) == before

    # yes: created, tagged, recorded
    out = ok(run_lab(env, "up", input="y\n"))
    lab_id = re.search(rf"each tagged {TAG}=([0-9a-f]+)", out).group(1)  # type: ignore[union-attr]
    for line in (
        "created queue url2png-dlq",
        "created queue url2png",
        f"created bucket {BUCKET}",
        f"pictures at http://{BUCKET}.s3-website-us-east-1.amazonaws.com/",
        "creating stack loadbalancer",
        "  CREATE_COMPLETE",
        "load balancer URL: http://",
    ):
        assert line in out, (line, out)
    now = inventory(stand_in)
    assert now["queues"] == sorted([*before["queues"], "url2png", "url2png-dlq"])
    assert now["buckets"] == sorted([*before["buckets"], BUCKET])
    assert now["stacks"] == ["loadbalancer"] and len(now["vpcs"]) == 1
    sqs, s3, cfn, ec2 = (stand_in.client(s) for s in ("sqs", "s3", "cloudformation", "ec2"))
    for name in ("url2png", "url2png-dlq"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        assert sqs.list_queue_tags(QueueUrl=url)["Tags"][TAG] == lab_id
    assert {TAG: lab_id}.items() <= {
        t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    }.items()
    [stack] = cfn.describe_stacks(StackName="loadbalancer")["Stacks"]
    assert {"Key": TAG, "Value": lab_id} in stack["Tags"]
    [vpc] = ec2.describe_vpcs(VpcIds=now["vpcs"])["Vpcs"]
    assert {"Key": TAG, "Value": lab_id} in vpc["Tags"]  # the stack's tag reaches its parts
    assert s3.get_bucket_website(Bucket=BUCKET)["IndexDocument"] == {"Suffix": "index.html"}
    [record] = (tmp_path / "state" / "targets").glob("aws-us-east-1-*.json")
    made = json.loads(record.read_text())["made"]
    assert [(m["kind"], m["name"]) for m in made] == [
        ("queue", "url2png-dlq"),
        ("queue", "url2png"),
        ("bucket", BUCKET),
        ("stack", "loadbalancer"),
    ]
    # a second up keeps what is there and asks nothing
    again = ok(run_lab(env, "up"))
    assert again.count("  keep ") == 4 and "Create these resources?" not in again

    # the other commands find the bucket named after the account: a job, done
    pages = subprocess.Popen(
        [sys.executable, "-m", "lab.pages.server", "--host", "127.0.0.1",
         "--port", env["LAB_PAGES_PORT"]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [LAB, "worker", "--wait-time", "1"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        page = f"http://127.0.0.1:{env['LAB_PAGES_PORT']}{SAMPLE_PAGES['sunrise'].path}"
        done = ok(run_lab(env, "url2png", "submit", page, "--wait", "--timeout", "90"))
        assert f"done: http://{BUCKET}.s3-website-us-east-1.amazonaws.com/" in done
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        pages.terminate()
        pages.wait(10)

    out = ok(run_lab(env, "status"))
    assert f"made by the lab ({TAG}={lab_id}, recorded in {record})" in out
    assert "queue url2png: 0 visible, 0 in flight, 0 delayed; dead letters after 3 receives" in out
    assert "queue url2png-dlq: 0 visible" in out
    assert f"bucket {BUCKET}: 1 picture(s), website http://{BUCKET}.s3-website-us-east-1" in out
    assert "stack loadbalancer: CREATE_COMPLETE, load balancer http://" in out

    # down, dry: the list, and nothing deleted
    out = ok(run_lab(env, "down", "--dry-run"))
    assert "would delete stack loadbalancer (CREATE_COMPLETE, and everything it made)" in out
    assert "would delete queue url2png (0 message(s) in it)" in out
    assert re.search(rf"would delete bucket {BUCKET} \(\d+ object\(s\) in it\)", out)
    assert "dry run: nothing was deleted" in out
    assert inventory(stand_in) == now

    # down: exactly what it made, and the account's own things stay
    out = ok(run_lab(env, "down"))
    for line in (
        "deleted stack loadbalancer",
        "deleted queue url2png-dlq",
        "deleted queue url2png",
        f"deleted bucket {BUCKET}",
    ):
        assert line in out, (line, out)
    assert inventory(stand_in) == before
    assert s3.get_object(Bucket="family-photos", Key="2019/beach.jpg")["Body"].read() == b"jpeg"
    assert not record.exists()
    out = ok(run_lab(env, "down"))
    assert "nothing of the lab's to delete" in out
    status = run_lab(env, "status")
    assert status.returncode == 3 and "nothing of the lab's here" in status.stdout


def test_a_name_the_lab_did_not_make_stops_up_before_anything(
    tmp_path: Path, stand_in: StackEmulator
) -> None:
    """The book's reader may have made a queue url2png by hand: up must not adopt it (down
    would delete it), and must create nothing at all."""
    stand_in.client("sqs").create_queue(QueueName="url2png")
    before = inventory(stand_in)
    env = aws_env(tmp_path, stand_in)
    out = ok(run_lab(env, "up", "--dry-run"))
    assert "would stop: queue url2png exists and the lab did not make it" in out
    line = one_sentence(run_lab(env, "up", "--yes"))
    assert "queue url2png exists and the lab did not make it (no decoupling-lab tag)" in line
    assert line.endswith("(nothing was created)")
    assert inventory(stand_in) == before
    # down, likewise, leaves it
    assert "nothing of the lab's to delete" in ok(run_lab(env, "down"))
    assert inventory(stand_in) == before


def test_without_its_record_down_finds_what_it_tagged(
    tmp_path: Path, stand_in: StackEmulator
) -> None:
    """A state folder emptied (lab reset, another checkout): the names the lab uses that
    carry its tag are still deleted, and nothing else."""
    someone_elses(stand_in)
    before = inventory(stand_in)
    env = aws_env(tmp_path, stand_in, LAB_URL2PNG_BUCKET="class-url2png")
    out = ok(run_lab(env, "up", "--yes"))
    assert "created bucket class-url2png" in out
    for record in (tmp_path / "state" / "targets").glob("*.json"):
        record.unlink()
    out = ok(run_lab(env, "status"))
    assert "bucket class-url2png: 0 picture(s)" in out
    out = ok(run_lab(env, "down"))
    assert "deleted stack loadbalancer" in out and "deleted bucket class-url2png" in out
    assert inventory(stand_in) == before
