"""The chapter's stack end to end, against real processes: CloudFormation (boto3, the AWS CLI,
`lab stack`) creates the load balancer and the auto-scaling group; the emulator runs one web
server per instance; reloading the load balancer's URL cycles through the instances' private IPs
(10.0.x.x, as the book says); scaling starts and stops servers; deleting the stack leaves
nothing behind; a restarted emulator serves the instances again."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from lab.stack import chapter
from lab.web.page import IP_HEADER
from tests.stack.conftest import all_healthy, get, health
from tests.support.ports import connects
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # the chapter's stack deployed and scaled

AWS = str(Path(sys.executable).parent / "aws")
LAB = str(Path(sys.executable).parent / "lab")


def stack_outputs(cfn, name: str) -> dict[str, str]:
    return chapter.outputs(cfn.describe_stacks(StackName=name)["Stacks"][0])


def group_ids(autoscaling, group: str) -> set[str]:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return {i["InstanceId"] for i in groups["AutoScalingGroups"][0]["Instances"]}


def private_ips(ec2, ids: set[str]) -> dict[str, str]:
    reservations = ec2.describe_instances(InstanceIds=sorted(ids))["Reservations"]
    return {i["InstanceId"]: i["PrivateIpAddress"] for r in reservations for i in r["Instances"]}


def reload(url: str, n: int) -> list[str]:
    """The private IP on the page, for ``n`` reloads of the load balancer's URL."""
    ips = []
    for _ in range(n):
        status, headers, body = get(url)
        assert status == 200, (status, body[:200])
        assert f'id="private-ip">{headers[IP_HEADER]}<' in body
        ips.append(headers[IP_HEADER])
    return ips


def leftovers(ec2, elbv2) -> dict[str, list]:
    """What a deleted chapter stack must not leave: anything but the default VPC's parts."""
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    return {
        "vpcs": vpcs,
        "gateways": [
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]
        ],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] in vpcs],
        "route_tables": [
            t["RouteTableId"]
            for t in ec2.describe_route_tables()["RouteTables"]
            if t["VpcId"] in vpcs
        ],
        "security_groups": [
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        ],
        "load_balancers": [
            lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        ],
        "target_groups": [
            tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]
        ],
        "launch_templates": [
            t["LaunchTemplateId"] for t in ec2.describe_launch_templates()["LaunchTemplates"]
        ],
    }


def test_boto3_stack_serves_private_ips_scales_and_deletes(cloud):
    cfn, ec2 = cloud.client("cloudformation"), cloud.client("ec2")
    elbv2, autoscaling = cloud.client("elbv2"), cloud.client("autoscaling")
    cfn.create_stack(
        StackName="lb", TemplateBody=chapter.template_body(), Parameters=cloud.params()
    )
    stack = cfn.describe_stacks(StackName="lb")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = chapter.outputs(stack)
    assert out["URL"] == f"http://{out['DNSName']}" and out["DNSName"].endswith(
        ".elb.amazonaws.com"
    )
    tg, group = out["TargetGroupArn"], out["AutoScalingGroupName"]
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "1"} in attributes

    # two instances, two web servers, each reporting its instance's private IP
    ids = group_ids(autoscaling, group)
    assert len(ids) == 2
    ips = private_ips(ec2, ids)
    assert all(ip.startswith("10.0.") for ip in ips.values())
    wait_until(lambda: set(cloud.serving()) == ids, 15)
    wait_until(lambda: all_healthy(elbv2, tg, ids), 20)
    seen = reload(cloud.lb_url, 8)
    assert Counter(seen) == Counter({ip: 4 for ip in ips.values()}), seen
    assert seen[0] != seen[1]  # round robin: every reload the other server

    # each instance reads its own metadata, from its own address; nobody else does
    for iid, instance in cloud.serving().items():
        address = instance["address"]
        base = cloud.endpoint + "/latest/"
        assert get(base + "meta-data/local-ipv4", source=address)[2] == ips[iid]
        status, headers, token = get(
            base + "api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, "PUT", address
        )
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        auth = {"X-aws-ec2-metadata-token": token}
        assert get(base + "meta-data/instance-id", auth, source=address)[2] == iid
        assert get(base + "meta-data/placement/availability-zone", auth, source=address)[
            2
        ].startswith("us-east-1")
        assert "local-ipv4" in get(base + "meta-data/", auth, source=address)[2].splitlines()
        assert get(base + "meta-data/nothing-here", auth, source=address)[0] == 404
        assert (
            get(
                base + "meta-data/local-ipv4",
                {"X-aws-ec2-metadata-token": "forged"},
                source=address,
            )[0]
            == 401
        )
        assert get(base + "api/token", method="PUT", source=address)[0] == 400
    status, _, text = get(cloud.endpoint + "/latest/meta-data/local-ipv4")  # from 127.0.0.1
    assert status == 404 and "no instance has the address 127.0.0.1" in text

    # a stopped instance's server stops; started again, it serves on the same address
    first = sorted(ids)[0]
    address = cloud.serving()[first]["address"]
    ec2.stop_instances(InstanceIds=[first])
    wait_until(lambda: not connects(address, cloud.instance_port), 5, 0.05)
    ec2.start_instances(InstanceIds=[first])
    wait_until(lambda: cloud.serving().get(first, {}).get("address") == address, 10)

    # scale out: four servers, all in rotation
    autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=4)
    four = group_ids(autoscaling, group)
    assert len(four) == 4 and ids < four
    wait_until(lambda: set(cloud.serving()) == four, 15)
    wait_until(lambda: all_healthy(elbv2, tg, four), 20)
    assert set(reload(cloud.lb_url, 8)) == set(private_ips(ec2, four).values())

    # scale in: two servers stop, their targets drain and leave, the other two keep serving
    before = cloud.ec2_state()["instances"]
    autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    two = group_ids(autoscaling, group)
    gone = four - two
    wait_until(lambda: set(cloud.serving()) == two, 10)
    stopped = [i["address"] for i in before if i["instance_id"] in gone]
    assert len(stopped) == 2 and not any(connects(a, cloud.instance_port) for a in stopped)
    wait_until(lambda: set(health(elbv2, tg)) == two, 10)  # drained (1 s) and deregistered
    assert set(reload(cloud.lb_url, 6)) == set(private_ips(ec2, two).values())

    # delete: DELETE_COMPLETE, every server stopped, nothing of the stack left
    stack_id = stack["StackId"]
    cfn.delete_stack(StackName="lb")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert cloud.serving() == {}  # stopped before the call returned
    assert not any(leftovers(ec2, elbv2).values()), leftovers(ec2, elbv2)


def test_aws_cli_and_lab_stack(cloud, tmp_path):
    env = cloud.lab_env(tmp_path)
    template = f"file://{chapter.LOADBALANCER}"
    params = [
        f"ParameterKey={p['ParameterKey']},ParameterValue={p['ParameterValue']}"
        for p in cloud.params()
    ]

    def aws(*args: str) -> str:
        run = subprocess.run(
            [AWS, "--endpoint-url", cloud.endpoint, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    def lab(*args: str) -> str:
        run = subprocess.run(
            [LAB, "stack", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    # the AWS CLI, as in the book
    aws(
        "cloudformation",
        "create-stack",
        "--stack-name",
        "chapter",
        "--template-body",
        template,
        "--parameters",
        *params,
    )
    aws("cloudformation", "wait", "stack-create-complete", "--stack-name", "chapter")
    url = aws(
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        "chapter",
        "--query",
        "Stacks[0].Outputs[?OutputKey=='URL'].OutputValue",
        "--output",
        "text",
    )
    assert url.strip().startswith("http://chapter-")
    wait_until(lambda: len(cloud.serving()) == 2, 15)
    ips = {i["private_ip"] for i in cloud.serving().values()}
    wait_until(lambda: set(reload(cloud.lb_url, 2)) == ips, 20, 0.5)  # fail-open while initial
    aws("cloudformation", "delete-stack", "--stack-name", "chapter")
    aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", "chapter")
    wait_until(lambda: cloud.serving() == {}, 10)
    assert not any(leftovers(cloud.client("ec2"), cloud.client("elbv2")).values())

    # `lab stack`: the same template through the same APIs
    deployed = lab("deploy", "--deregistration-delay", "1", "--wait-healthy", "--timeout", "60")
    assert "stack loadbalancer created" in deployed and f"served here at {cloud.lb_url}" in deployed
    assert deployed.count(" healthy") >= 2
    scaled = lab("scale", "3", "--wait-healthy", "--timeout", "60")
    assert "desired capacity 2 -> 3" in scaled and scaled.count("running") == 3
    assert len(cloud.serving()) == 3
    status = lab("status")
    assert "3 desired (2..4)" in status and status.count("10.0.") == 3
    bad = subprocess.run(
        [LAB, "stack", "scale", "5"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and "2 to 4 instances; 5 is outside" in bad.stderr
    assert "stack loadbalancer: DELETE_COMPLETE" in lab("delete")
    wait_until(lambda: cloud.serving() == {}, 10)
    assert "no stack loadbalancer" in lab("status")


def test_restarted_emulator_serves_the_running_instances_again(cloud):
    cfn, elbv2 = cloud.client("cloudformation"), cloud.client("elbv2")
    cfn.create_stack(
        StackName="lb", TemplateBody=chapter.template_body(), Parameters=cloud.params()
    )
    out = stack_outputs(cfn, "lb")
    serving = wait_until(lambda: len(cloud.serving()) == 2 and cloud.serving(), 15)
    addresses = {iid: i["address"] for iid, i in serving.items()}
    ips = {i["private_ip"] for i in serving.values()}

    cloud.stop()  # lab down: the instances' web servers stop with the emulator
    assert not any(connects(a, cloud.instance_port) for a in addresses.values())
    cloud.start()
    again = wait_until(lambda: len(cloud.serving()) == 2 and cloud.serving(), 15)
    assert {iid: i["address"] for iid, i in again.items()} == addresses  # same addresses
    wait_until(lambda: all_healthy(elbv2, out["TargetGroupArn"], set(addresses)), 20)
    assert set(reload(cloud.lb_url, 4)) == ips

    cloud.kill9()  # a crash leaves the web servers running; the next start ends and restarts them
    wait_until(lambda: all(connects(a, cloud.instance_port) for a in addresses.values()), 5, 0.05)
    cloud.start()
    wait_until(lambda: len(cloud.serving()) == 2, 15)
    pids = {i["pid"] for i in cloud.ec2_state()["instances"] if i["pid"]}
    assert len(pids) == 2
    wait_until(lambda: set(reload(cloud.lb_url, 2)) == ips, 20, 0.5)
