"""What the lab built with moto (buckets, objects, sites, load balancers, networks, stacks) is
still there after ``lab down`` / ``lab up``, and after the emulator was killed."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.moto_bridge.snapshot import loads

if TYPE_CHECKING:
    from tests.support.emulator import EmulatorProcess

BUCKET = "url2png-persist"
STACK_TEMPLATE = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"},
        },
    },
    "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}}},
}


def website(emulator: EmulatorProcess, path: str, bucket: str = BUCKET) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        host = f"{bucket}.s3-website.localhost:{emulator.port}"
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def build_the_lab(emulator: EmulatorProcess) -> dict[str, Any]:
    """The chapter's resources: a website bucket, and a load balancer in front of an auto
    scaling group in a VPC, plus a CloudFormation stack."""
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_website(
        Bucket=BUCKET,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
        },
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="index.html",
        Body=b"<h1>home</h1>",
        ACL="public-read",
        ContentType="text/html",
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="error.html",
        Body=b"<h1>error</h1>",
        ACL="public-read",
        ContentType="text/html",
    )
    s3.put_object(Bucket=BUCKET, Key="private.html", Body=b"secret", ContentType="text/html")
    big = bytes(range(256)) * 1024  # 256 KiB, like a screenshot
    s3.put_object(
        Bucket=BUCKET, Key="shot.png", Body=big, ACL="public-read", ContentType="image/png"
    )

    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    elb = emulator.client("elbv2")
    lb = elb.create_load_balancer(Name="url2png-lb", Subnets=subnets)["LoadBalancers"][0]
    tg = elb.create_target_group(Name="url2png-tg", Protocol="HTTP", Port=80, VpcId=vpc)[
        "TargetGroups"
    ][0]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    autoscaling = emulator.client("autoscaling")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="url2png-lc", ImageId="ami-12c6146b", InstanceType="t2.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="url2png-asg",
        LaunchConfigurationName="url2png-lc",
        MinSize=1,
        MaxSize=3,
        VPCZoneIdentifier=subnets[0],
        TargetGroupARNs=[tg["TargetGroupArn"]],
    )
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName="url2png-net", TemplateBody=json.dumps(STACK_TEMPLATE))
    return {"vpc": vpc, "subnets": subnets, "lb": lb, "tg": tg, "big": big}


def assert_the_lab_is_back(emulator: EmulatorProcess, built: dict[str, Any]) -> None:
    s3 = emulator.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"index.html", "error.html", "private.html", "shot.png"}
    assert s3.get_bucket_website(Bucket=BUCKET)["ErrorDocument"] == {"Key": "error.html"}
    shot = s3.get_object(Bucket=BUCKET, Key="shot.png")
    assert shot["Body"].read() == built["big"]
    assert shot["ContentType"] == "image/png"
    assert website(emulator, "/") == (200, b"<h1>home</h1>")
    assert website(emulator, "/shot.png") == (200, built["big"])
    assert website(emulator, "/private.html")[0] == 403  # the ACLs came back too
    assert website(emulator, "/nope") == (404, b"<h1>error</h1>")

    ec2 = emulator.client("ec2")
    assert ec2.describe_vpcs(VpcIds=[built["vpc"]])["Vpcs"][0]["CidrBlock"] == "10.0.0.0/16"
    found = ec2.describe_subnets(SubnetIds=built["subnets"])["Subnets"]
    assert sorted(s["CidrBlock"] for s in found) == ["10.0.1.0/24", "10.0.2.0/24"]

    elb = emulator.client("elbv2")
    lbs = elb.describe_load_balancers(Names=["url2png-lb"])["LoadBalancers"]
    assert lbs[0]["LoadBalancerArn"] == built["lb"]["LoadBalancerArn"]
    assert lbs[0]["DNSName"] == built["lb"]["DNSName"]
    listeners = elb.describe_listeners(LoadBalancerArn=lbs[0]["LoadBalancerArn"])["Listeners"]
    assert [(x["Port"], x["DefaultActions"][0]["TargetGroupArn"]) for x in listeners] == [
        (80, built["tg"]["TargetGroupArn"])
    ]

    # The restored auto scaling group still drives the restored EC2 and target group.
    autoscaling = emulator.client("autoscaling")
    autoscaling.set_desired_capacity(AutoScalingGroupName="url2png-asg", DesiredCapacity=2)
    health = elb.describe_target_health(TargetGroupArn=built["tg"]["TargetGroupArn"])
    assert len(health["TargetHealthDescriptions"]) == 2

    stack = emulator.client("cloudformation").describe_stacks(StackName="url2png-net")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    stack_vpc = stack["Outputs"][0]["OutputValue"]
    assert ec2.describe_vpcs(VpcIds=[stack_vpc])["Vpcs"][0]["CidrBlock"] == "10.9.0.0/16"


def wait_for_snapshot(state_dir: Path, since: float, timeout: float = 15.0) -> None:
    """The snapshot follows changes by about half a second; wait for it instead of guessing."""
    path = state_dir / "moto" / "state.pickle"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime > since:
            time.sleep(0.2)
            return
        time.sleep(0.05)
    raise AssertionError(f"no snapshot written to {path} within {timeout} s")


def test_everything_is_back_after_stop_and_start(fresh_emulator):
    built = build_the_lab(fresh_emulator)
    fresh_emulator.stop()
    fresh_emulator.start()
    assert_the_lab_is_back(fresh_emulator, built)


def test_everything_is_back_after_kill_9(fresh_emulator):
    built = build_the_lab(fresh_emulator)
    last_change = time.time()
    wait_for_snapshot(fresh_emulator.state_dir, last_change - 0.05)
    fresh_emulator.kill9()
    fresh_emulator.start()
    assert_the_lab_is_back(fresh_emulator, built)


def test_an_upload_just_before_kill_9_survives_once_the_snapshot_ran(fresh_emulator):
    s3 = fresh_emulator.client("s3")
    s3.create_bucket(Bucket="late")
    wait_for_snapshot(fresh_emulator.state_dir, 0)
    before = time.time()
    s3.put_object(Bucket="late", Key="result.png", Body=b"png" * 50000)
    wait_for_snapshot(fresh_emulator.state_dir, before)
    fresh_emulator.kill9()
    fresh_emulator.start()
    body = fresh_emulator.client("s3").get_object(Bucket="late", Key="result.png")["Body"].read()
    assert body == b"png" * 50000


def test_deleted_things_stay_deleted_and_their_bodies_leave_the_disk(fresh_emulator):
    s3 = fresh_emulator.client("s3")
    s3.create_bucket(Bucket="shots")
    for i in range(3):
        s3.put_object(Bucket="shots", Key=f"{i}.png", Body=bytes([i]) * 300_000)
    s3.delete_object(Bucket="shots", Key="0.png")
    s3.delete_object(Bucket="shots", Key="1.png")
    fresh_emulator.stop()
    blobs = list((fresh_emulator.state_dir / "moto" / "blobs").iterdir())
    assert sum(p.stat().st_size for p in blobs) < 400_000  # only the remaining image
    fresh_emulator.start()
    keys = [
        o["Key"] for o in fresh_emulator.client("s3").list_objects_v2(Bucket="shots")["Contents"]
    ]
    assert keys == ["2.png"]


def test_versions_of_a_versioned_bucket_survive(fresh_emulator):
    s3 = fresh_emulator.client("s3")
    s3.create_bucket(Bucket="history")
    s3.put_bucket_versioning(Bucket="history", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="history", Key="page.html", Body=b"v1")
    s3.put_object(Bucket="history", Key="page.html", Body=b"v2")
    fresh_emulator.stop()
    fresh_emulator.start()
    s3 = fresh_emulator.client("s3")
    versions = s3.list_object_versions(Bucket="history")["Versions"]
    assert len(versions) == 2
    assert s3.get_object(Bucket="history", Key="page.html")["Body"].read() == b"v2"
    oldest = [v for v in versions if not v["IsLatest"]][0]["VersionId"]
    old = s3.get_object(Bucket="history", Key="page.html", VersionId=oldest)
    assert old["Body"].read() == b"v1"


def test_a_corrupt_snapshot_starts_empty_instead_of_not_at_all(fresh_emulator):
    fresh_emulator.client("s3").create_bucket(Bucket="before-corruption")
    fresh_emulator.stop()
    state = fresh_emulator.state_dir / "moto" / "state.pickle"
    state.write_bytes(b"this is not a pickle")
    fresh_emulator.start()
    s3 = fresh_emulator.client("s3")
    assert s3.list_buckets()["Buckets"] == []
    assert "could not restore moto state" in fresh_emulator.log.read_text()
    kept = list(state.parent.glob("state.pickle.unreadable-*"))
    assert [p.read_bytes() for p in kept] == [b"this is not a pickle"]  # set aside, not lost
    # The emulator works, and the next snapshot replaces the broken file.
    s3.create_bucket(Bucket="after-corruption")
    fresh_emulator.stop()
    fresh_emulator.start()
    names = [b["Name"] for b in fresh_emulator.client("s3").list_buckets()["Buckets"]]
    assert names == ["after-corruption"]


def test_a_truncated_snapshot_also_starts_empty(fresh_emulator):
    build_the_lab(fresh_emulator)
    fresh_emulator.stop()
    state = fresh_emulator.state_dir / "moto" / "state.pickle"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    fresh_emulator.start()
    assert fresh_emulator.client("s3").list_buckets()["Buckets"] == []
    assert fresh_emulator.client("elbv2").describe_load_balancers()["LoadBalancers"] == []


def test_a_change_right_before_lab_down_is_kept(fresh_emulator):
    """``lab down`` may come within the debounce window; the shutdown snapshot covers it."""
    s3 = fresh_emulator.client("s3")
    s3.create_bucket(Bucket="quick")
    s3.put_object(Bucket="quick", Key="last.txt", Body=b"just in time")
    fresh_emulator.stop()
    fresh_emulator.start()
    body = fresh_emulator.client("s3").get_object(Bucket="quick", Key="last.txt")["Body"].read()
    assert body == b"just in time"


def test_a_snapshot_from_before_the_codec_had_its_own_module_still_loads(tmp_path):
    """A pickle names the codec's functions by module; snapshots written before the split name
    ``emulator.moto_bridge.persistence``, and ``lab up`` must still read them."""
    (tmp_path / "d1g3st").write_bytes(b"the body")
    old = b"cemulator.moto_bridge.persistence\n_load_blob\n(Vd1g3st\ntR."
    assert loads(old, tmp_path) == b"the body"
