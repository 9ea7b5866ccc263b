"""AddPermission, RemovePermission and the Policy attribute: the document AWS writes, its errors,
and that the policy is kept as a queue attribute (through a restart) but never enforced.

Pure tests call ``emulator.sqs.permissions`` and the engine; the rest go through the real server
with boto3 (JSON protocol), raw query-protocol HTTP and the AWS CLI. Answers marked "recorded"
follow LocalStack's AWS-validated ``test_sqs_permission_lifecycle`` (test_sqs.snapshot.json)."""

from __future__ import annotations

import json
import random
import subprocess
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.sqs import permissions
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError
from tests.sqs.wire import query_xml, queue_path
from tests.support.emulator import REPO

ARN = "arn:aws:sqs:us-east-1:000000000000:q"
ME = "000000000000"
OTHER = "668614515564"


def raises(call, *args) -> SqsError:
    with pytest.raises(SqsError) as err:
        call(*args)
    return err.value


# -- the document, pure ---------------------------------------------------------------------


def test_first_permission_writes_the_default_policy_document():
    """AddPermission (SQS API Reference: "AddPermission generates a policy for you"), as
    recorded on AWS: version 2008-10-17, id <queue ARN>/SQSDefaultPolicy, one statement named
    by the label, one principal and one action each as a plain string."""
    text = permissions.add_permission(None, ARN, "send", [ME], ["SendMessage"])
    assert json.loads(text) == {
        "Version": "2008-10-17",
        "Id": f"{ARN}/SQSDefaultPolicy",
        "Statement": [
            {
                "Sid": "send",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ME}:root"},
                "Action": "SQS:SendMessage",
                "Resource": ARN,
            }
        ],
    }
    assert ": " not in text and ", " not in text  # compact, as GetQueueAttributes returns it


def test_several_principals_and_actions_are_lists():
    """AddPermission (SQS API Reference): AWSAccountIds and Actions are lists; with more than
    one, the statement lists them (recorded on AWS for two accounts)."""
    text = permissions.add_permission(None, ARN, "two", [ME, OTHER], ["ReceiveMessage", "*"])
    (statement,) = json.loads(text)["Statement"]
    assert statement["Principal"] == {
        "AWS": sorted([f"arn:aws:iam::{ME}:root", f"arn:aws:iam::{OTHER}:root"])
    }
    assert statement["Action"] == ["SQS:ReceiveMessage", "SQS:*"]


def test_a_second_label_adds_a_statement_and_a_repeated_label_is_refused():
    """AddPermission (SQS API Reference: the label is "the unique identification of the
    permission"); the duplicate's error is recorded on AWS."""
    text = permissions.add_permission(None, ARN, "a", [ME], ["ReceiveMessage"])
    text = permissions.add_permission(text, ARN, "b", [ME], ["ReceiveMessage"])
    assert [s["Sid"] for s in json.loads(text)["Statement"]] == ["a", "b"]
    error = raises(permissions.add_permission, text, ARN, "a", [OTHER], ["ReceiveMessage"])
    assert (error.shape, error.status) == ("InvalidParameterValue", 400)
    assert error.message == "Value a for parameter Label is invalid. Reason: Already exists."


def test_add_permission_extends_a_policy_set_by_set_queue_attributes():
    """SetQueueAttributes (SQS API Reference: Policy is "the queue's policy") and AddPermission
    edit the same document: a statement is added to what the queue has, its version and id
    kept; a lone Statement object becomes a list."""
    own = json.dumps(
        {"Version": "2012-10-17", "Id": "mine", "Statement": {"Sid": "x", "Effect": "Deny"}}
    )
    document = json.loads(permissions.add_permission(own, ARN, "y", [ME], ["SendMessage"]))
    assert (document["Version"], document["Id"]) == ("2012-10-17", "mine")
    assert [s["Sid"] for s in document["Statement"]] == ["x", "y"]


def test_remove_permission_keeps_the_others_and_removes_the_policy_with_the_last():
    """RemovePermission (SQS API Reference: "Revokes any permissions in the queue policy that
    matches the specified Label"); after the last one AWS answers without a Policy
    (recorded: GetQueueAttributes returns no attributes)."""
    text = permissions.add_permission(None, ARN, "a", [ME], ["ReceiveMessage"])
    text = permissions.add_permission(text, ARN, "b", [ME], ["ReceiveMessage"])
    text = permissions.remove_permission(text, "a")
    assert [s["Sid"] for s in json.loads(text)["Statement"]] == ["b"]
    assert permissions.remove_permission(text, "b") is None


def test_remove_permission_of_an_unknown_label_is_refused():
    """RemovePermission (SQS API Reference), error recorded on AWS: "can't find label"."""
    text = permissions.add_permission(None, ARN, "a", [ME], ["ReceiveMessage"])
    for policy in (text, None):
        error = raises(permissions.remove_permission, policy, "gone")
        assert error.shape == "InvalidParameterValue"
        assert (
            error.message == "Value gone for parameter Label is invalid. Reason: can't find label."
        )


@pytest.mark.parametrize(
    "action, reason",
    [
        ("RemovePermission", "Only the queue owner is allowed to invoke this action."),
        ("CreateQueue", "Only the queue owner is allowed to invoke this action."),
        ("SendMessageBatch", "Please refer to the appropriate WSDL for a list of valid actions."),
        ("Fly", "Please refer to the appropriate WSDL for a list of valid actions."),
    ],
)
def test_actions_that_cannot_be_granted_are_refused(action, reason):
    """AddPermission (SQS API Reference: "the name of any action or *"), less the actions
    "Cross-account permissions don't apply to" (SQS Developer Guide, Limitations of Amazon SQS
    custom policies); batch actions come with their single action. Wording as moto and other
    emulators have it (unverified)."""
    error = raises(permissions.add_permission, None, ARN, "l", [ME], [action])
    assert error.shape == "InvalidParameterValue"
    assert (
        error.message == f"Value SQS:{action} for parameter ActionName is invalid. Reason: {reason}"
    )


def test_more_than_seven_actions_is_over_the_limit():
    """Amazon SQS policy quotas (SQS Developer Guide): 7 actions per statement; AddPermission
    names OverLimit for "the maximum number of permissions" (its errors in the API
    Reference). Message as moto words it (unverified)."""
    actions = sorted(permissions.GRANTABLE - {"*"}) + ["*"]
    assert len(actions) == 9
    error = raises(permissions.add_permission, None, ARN, "l", [ME], actions[:8])
    assert (error.shape, error.status, error.query_code) == ("OverLimit", 403, "OverLimit")
    assert error.message == "8 Actions were found, maximum allowed is 7."
    permissions.add_permission(None, ARN, "l", [ME], actions[:7])


def test_more_than_twenty_statements_is_over_the_limit():
    """Amazon SQS policy quotas (SQS Developer Guide): 20 statements a policy."""
    text = None
    for i in range(20):
        text = permissions.add_permission(text, ARN, f"l{i}", [ME], ["SendMessage"])
    error = raises(permissions.add_permission, text, ARN, "l20", [ME], ["SendMessage"])
    assert error.shape == "OverLimit"


@pytest.mark.parametrize(
    "label, accounts, actions, shape, message",
    [
        (None, [ME], ["SendMessage"], "MissingParameter", "parameter Label."),
        ("a b", [ME], ["SendMessage"], "InvalidParameterValue", "1 to 80 in length."),
        ("x" * 81, [ME], ["SendMessage"], "InvalidParameterValue", "1 to 80 in length."),
        ("l", [ME], [], "MissingParameter", "parameter Actions."),
        ("l", [], ["SendMessage"], "InvalidParameterValue", "Reason: Unable to verify."),
        ("l", ["12"], ["SendMessage"], "InvalidParameterValue", "Reason: Unable to verify."),
    ],
)
def test_label_accounts_and_actions_are_checked(label, accounts, actions, shape, message):
    """AddPermission (SQS API Reference): Label is "Maximum 80 characters. Allowed characters
    include alphanumeric characters, hyphens (-), and underscores (_)"; Label, AWSAccountIds
    and Actions are required. Messages as moto has them (unverified)."""
    error = raises(permissions.add_permission, None, ARN, label, accounts, actions)
    assert error.shape == shape and error.message.endswith(message)


@pytest.mark.parametrize(
    "value",
    ["{not json", "[]", '"text"', "{}", '{"Statement": []}', '{"Statement": ["x"]}'],
)
def test_set_queue_attributes_refuses_what_is_not_a_policy(value):
    """SetQueueAttributes (SQS API Reference: Policy is "a valid AWS policy"): recorded on AWS,
    an invalid policy is InvalidAttributeValue "Invalid value for the parameter Policy."; a
    policy without statements is refused too (which is why removing the last permission
    removes the attribute)."""
    error = raises(permissions.check_policy, "Policy", value)
    assert (error.shape, error.status) == ("InvalidAttributeValue", 400)
    assert error.message == "Invalid value for the parameter Policy."


def test_a_policy_over_8192_bytes_is_refused():
    """Amazon SQS policy quotas (SQS Developer Guide): a policy is at most 8,192 bytes."""
    statement = {"Sid": "s", "Effect": "Allow", "Principal": "*", "Action": "SQS:*"}
    small = json.dumps({"Statement": [statement]})
    assert permissions.check_policy("Policy", small) == small
    padded = json.dumps({"Statement": [statement], "Id": "x" * 8192})
    assert raises(permissions.check_policy, "Policy", padded).shape == "InvalidAttributeValue"


# -- through the engine ------------------------------------------------------------------------


@pytest.fixture
def engine() -> SqsEngine:
    return SqsEngine(ManualClock(), rng=random.Random(3))


def test_the_policy_is_a_queue_attribute_and_an_empty_value_removes_it(engine):
    """SetQueueAttributes (SQS API Reference): the Policy attribute is set as text and read
    back by GetQueueAttributes; an empty string removes it."""
    engine.create_queue("q")
    policy = permissions.add_permission(None, engine.arn("q"), "l", [ME], ["SendMessage"])
    engine.set_attributes("q", {"Policy": policy})
    assert engine.get_attributes("q", ["Policy"]) == {"Policy": policy}
    assert engine.get_attributes("q", ["All"])["Policy"] == policy
    engine.set_attributes("q", {"Policy": ""})
    assert engine.get_attributes("q", ["Policy"]) == {}


def test_a_policy_is_never_enforced(engine):
    """Using policies with Amazon SQS (SQS Developer Guide): a policy decides who may call the
    queue. The lab has one account, its owner, so the emulator keeps the policy and applies
    none of it: even a Deny of everything leaves the queue usable."""
    engine.create_queue("q")
    deny = {"Sid": "no", "Effect": "Deny", "Principal": "*", "Action": "SQS:*"}
    engine.set_attributes("q", {"Policy": json.dumps({"Statement": [deny]})})
    engine.send("q", SendRequest("still works"))
    assert [d.message.body for d in engine.receive("q")] == ["still works"]


# -- through the server ------------------------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName=f"perm-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def policy_of(sqs, url: str) -> dict | None:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    text = attributes.get("Attributes", {}).get("Policy")
    return json.loads(text) if text is not None else None


def error_of(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    response = err.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_permission_lifecycle_as_recorded_on_aws(sqs, queue_url):
    """AddPermission and RemovePermission (SQS API Reference), step by step as LocalStack's
    AWS-validated test_sqs_permission_lifecycle recorded them."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    label = "crossaccountpermission"
    added = sqs.add_permission(
        QueueUrl=queue_url, AWSAccountIds=[ME, OTHER], Actions=["ReceiveMessage"], Label=label
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 200
    policy = policy_of(sqs, queue_url)
    assert policy["Version"] == "2008-10-17" and policy["Id"] == f"{arn}/SQSDefaultPolicy"
    (statement,) = policy["Statement"]
    assert statement["Action"] == "SQS:ReceiveMessage" and statement["Resource"] == arn
    assert sorted(statement["Principal"]["AWS"]) == [
        f"arn:aws:iam::{ME}:root",
        f"arn:aws:iam::{OTHER}:root",
    ]
    sqs.remove_permission(QueueUrl=queue_url, Label=label)
    assert (
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"]).get(
            "Attributes", {}
        )
        == {}
    )
    sqs.add_permission(
        QueueUrl=queue_url, AWSAccountIds=[ME], Actions=["ReceiveMessage"], Label=label
    )
    assert policy_of(sqs, queue_url)["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{ME}:root"
    }
    assert error_of(
        sqs.add_permission,
        QueueUrl=queue_url,
        AWSAccountIds=[OTHER],
        Actions=["ReceiveMessage"],
        Label=label,
    ) == (
        "InvalidParameterValue",
        400,
        f"Value {label} for parameter Label is invalid. Reason: Already exists.",
    )
    sqs.add_permission(
        QueueUrl=queue_url, AWSAccountIds=[ME], Actions=["ReceiveMessage"], Label=label + "2"
    )
    assert [s["Sid"] for s in policy_of(sqs, queue_url)["Statement"]] == [label, label + "2"]
    sqs.remove_permission(QueueUrl=queue_url, Label=label)
    assert [s["Sid"] for s in policy_of(sqs, queue_url)["Statement"]] == [label + "2"]
    sqs.remove_permission(QueueUrl=queue_url, Label=label + "2")
    assert policy_of(sqs, queue_url) is None
    assert error_of(sqs.remove_permission, QueueUrl=queue_url, Label=label + "2") == (
        "InvalidParameterValue",
        400,
        f"Value {label}2 for parameter Label is invalid. Reason: can't find label.",
    )


def test_too_many_actions_is_over_limit_403(sqs, queue_url):
    """AddPermission's errors (SQS API Reference): OverLimit, HTTP 403 (service model)."""
    actions = sorted(permissions.GRANTABLE - {"*"})[:8]
    code, status, _ = error_of(
        sqs.add_permission, QueueUrl=queue_url, AWSAccountIds=[ME], Actions=actions, Label="l"
    )
    assert (code, status) == ("OverLimit", 403)


def test_set_queue_attributes_policy_invalid_json_and_removal(sqs, queue_url):
    """SetQueueAttributes (SQS API Reference): the Policy attribute; invalid JSON is refused
    with AWS's error (recorded: InvalidAttributeValue "Invalid value for the parameter
    Policy."), an empty value removes the policy, All includes it."""
    assert error_of(
        sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"Policy": "{oops"}
    ) == ("InvalidAttributeValue", 400, "Invalid value for the parameter Policy.")
    own = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": own})
    everything = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    assert everything["Attributes"]["Policy"] == own
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": ""})
    assert policy_of(sqs, queue_url) is None


def test_add_permission_on_a_missing_queue(sqs):
    """AddPermission's errors (SQS API Reference): QueueDoesNotExist."""
    code, status, _ = error_of(
        sqs.add_permission,
        QueueUrl="http://127.0.0.1/000000000000/no-such-queue-perm",
        AWSAccountIds=[ME],
        Actions=["SendMessage"],
        Label="l",
    )
    assert (code, status) == ("AWS.SimpleQueueService.NonExistentQueue", 400)


def test_add_permission_over_the_query_protocol(emulator, sqs, queue_url):
    """AddPermission (SQS API Reference, query request: AWSAccountId.N and ActionName.N; today's
    model names the members AWSAccountIds and Actions, so both spellings are read)."""
    status, root = query_xml(
        emulator.endpoint,
        {
            "Action": "AddPermission",
            "Label": "viaquery",
            "AWSAccountId.1": ME,
            "ActionName.1": "SendMessage",
            "ActionName.2": "ReceiveMessage",
        },
        queue_path(queue_url),
    )
    assert status == 200 and root.tag == "AddPermissionResponse"
    (statement,) = policy_of(sqs, queue_url)["Statement"]
    assert statement["Action"] == ["SQS:SendMessage", "SQS:ReceiveMessage"]
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "AddPermission", "Label": "v2", "AWSAccountIds.1": OTHER, "Actions.1": "*"},
        queue_path(queue_url),
    )
    assert status == 200
    assert policy_of(sqs, queue_url)["Statement"][1]["Action"] == "SQS:*"
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "RemovePermission", "Label": "nope"},
        queue_path(queue_url),
    )
    assert (status, root.findtext("Error/Code")) == (400, "InvalidParameterValue")


def test_policy_survives_a_restart(fresh_emulator):
    """The Policy attribute (SQS API Reference, SetQueueAttributes) is part of the queue, so it
    lasts as long as the queue does: here, through a restart of the emulator."""
    sqs = fresh_emulator.client("sqs")
    url = sqs.create_queue(QueueName="kept-policy")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, AWSAccountIds=[ME], Actions=["SendMessage"], Label="kept")
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    fresh_emulator.stop()
    fresh_emulator.start()
    sqs = fresh_emulator.client("sqs")
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert after == before
    sqs.remove_permission(QueueUrl=url, Label="kept")
    assert policy_of(sqs, url) is None


def test_aws_cli_add_and_remove_permission(emulator, aws_env, sqs, queue_url):
    """aws sqs add-permission / remove-permission (AWS CLI Command Reference, the API
    Reference's example: --label, --aws-account-ids, --actions; "Output: None"). CLI v1 needs
    --endpoint-url for SQS."""
    aws = [str(REPO / ".venv" / "bin" / "aws"), "--endpoint-url", emulator.endpoint, "sqs"]

    def run(*args: str) -> str:
        result = subprocess.run(
            [*aws, *args], env=aws_env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = run(
        "add-permission",
        "--queue-url",
        queue_url,
        "--label",
        "SendMessagesFromMyQueue",
        "--aws-account-ids",
        OTHER,
        "--actions",
        "SendMessage",
    )
    assert out.strip() == ""
    shown = json.loads(
        run("get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "Policy")
    )
    (statement,) = json.loads(shown["Attributes"]["Policy"])["Statement"]
    assert statement["Sid"] == "SendMessagesFromMyQueue"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    run("remove-permission", "--queue-url", queue_url, "--label", "SendMessagesFromMyQueue")
    assert policy_of(sqs, queue_url) is None
