"""``--target aws``: the chapter on real AWS, with the user's own credentials (as boto3 finds
them: ``aws configure``, ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``) in the region ``LAB_REGION``
(us-east-1 unless set).

What ``lab up --target aws`` creates is what the chapter builds by hand: the URL2PNG queue
with its dead-letter queue, the website bucket, and the load-balancer stack of
``lab/templates/loadbalancer.yaml`` through CloudFormation. Because it costs money, it first
says what it will create and what that costs, and asks (``--yes`` skips the question);
``--dry-run`` only lists the plan.

Why it is careful about what it deletes: an account holds more than this lab. Every resource
it creates carries the tag ``decoupling-lab=ID`` (the stack's tag reaches what the stack
makes) and is written to a record in the state folder as soon as it exists
(``STATE/targets/aws-REGION.json``); ``lab down --target aws`` deletes what the record names,
never a resource whose tag names another lab, and without a record (a reset state folder)
only the lab's own names that carry the tag. A queue, bucket or stack of the same name that
the lab did not make stops ``lab up`` before it creates anything.

Bucket names are global, so unless ``LAB_URL2PNG_BUCKET`` names one, the bucket is
``url2png-ACCOUNT-REGION``; every other command (``lab worker``, ``lab url2png ...``) finds the
same name (``settle``), on any machine with the same credentials.

``--endpoint`` points all of it at another AWS API, as the tests do with the lab's own emulator
standing in for AWS (there is no internet there)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.config import LabConfig
from lab.runtime import LabError
from lab.targets import Echo
from lab.targets.localstack import bucket_line, queue_line

TAG = "decoupling-lab"
STACK = "loadbalancer"  # the chapter's stack, as `lab stack` names it
DEFAULT_BUCKET = next(
    f.default for f in dataclasses.fields(LabConfig) if f.name == "url2png_bucket"
)
STACK_TIMEOUT = 1800.0  # seconds; the template's instances signal within 10 minutes
COST = (
    "This costs money while it exists: the load balancer and the 2 instances (with their public "
    "IPv4 addresses) are billed by the hour, roughly US$0.07 an hour in us-east-1 at on-demand "
    "prices (about US$1.70 a day; less within the free tier); SQS and S3 cost cents at this size."
)
STACK_PARTS = (
    "a VPC with 2 subnets and an internet gateway, an Application Load Balancer with a listener "
    "on port 80 and its target group, and an auto-scaling group of 2 t3.micro instances "
    "(Amazon Linux 2023 running httpd)"
)
_NO_SUCH_QUEUE = ("NonExistentQueue", "QueueDoesNotExist")


# -- the record of what the lab made -----------------------------------------------------------


@dataclass
class Record:
    """What ``lab up`` made in one account and region (and endpoint), kept in the state folder
    so that ``lab down`` deletes exactly that."""

    path: Path
    lab_id: str
    account: str
    region: str
    endpoint: str | None
    made: list[dict[str, str]] = field(default_factory=list)

    @staticmethod
    def path_for(config: LabConfig) -> Path:
        place = config.region
        if config.aws_endpoint_url:
            place += "-" + re.sub(r"[^A-Za-z0-9.]+", "-", config.aws_endpoint_url.split("//")[-1])
        return config.state_dir / "targets" / f"aws-{place}.json"

    @classmethod
    def load(cls, config: LabConfig) -> Record | None:
        path = cls.path_for(config)
        try:
            data = json.loads(path.read_text())
            return cls(
                path,
                str(data["lab_id"]),
                str(data["account"]),
                str(data["region"]),
                data.get("endpoint"),
                [dict(m) for m in data.get("made", [])],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "lab_id": self.lab_id,
            "account": self.account,
            "region": self.region,
            "endpoint": self.endpoint,
            "made": self.made,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path)

    def add(self, kind: str, name: str, ref: str) -> None:
        """Write it down the moment it exists, before anything else can fail."""
        self.made = [m for m in self.made if (m["kind"], m["name"]) != (kind, name)]
        self.made.append({"kind": kind, "name": name, "ref": ref})
        self.save()

    def drop(self, kind: str, name: str) -> None:
        self.made = [m for m in self.made if (m["kind"], m["name"]) != (kind, name)]
        if self.made:
            self.save()
        else:
            self.path.unlink(missing_ok=True)

    def has(self, kind: str, name: str) -> bool:
        return any((m["kind"], m["name"]) == (kind, name) for m in self.made)


# -- the account ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _client(config: LabConfig, service: str) -> Any:
    """One client per service and configuration (a boto3 client takes a while to make)."""
    from lab import aws

    return aws.client(service, config, connect_timeout=5)


_ACCOUNTS: dict[tuple[str | None, str], str] = {}


def account_of(config: LabConfig) -> str:
    """The account of the credentials (STS GetCallerIdentity, read-only); one sentence when
    there are none or AWS does not answer."""
    key = (config.aws_endpoint_url, config.region)
    if key in _ACCOUNTS:
        return _ACCOUNTS[key]
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        account = str(_client(config, "sts").get_caller_identity()["Account"])
    except NoCredentialsError:
        raise LabError(
            "no AWS credentials found: --target aws uses your own (aws configure, or "
            "AWS_PROFILE / AWS_ACCESS_KEY_ID)"
        ) from None
    except ClientError as exc:
        raise LabError(f"AWS refused your credentials: {_message(exc)}") from None
    except BotoCoreError as exc:
        raise LabError(f"AWS does not answer at {config.endpoint}: {exc}") from None
    _ACCOUNTS[key] = account
    return account


def bucket_name(config: LabConfig, account: str | None) -> str | None:
    """``LAB_URL2PNG_BUCKET`` when it names a bucket, else ``url2png-ACCOUNT-REGION`` (bucket
    names are global: ``url2png`` is long taken); None when the account is not known."""
    if config.url2png_bucket != DEFAULT_BUCKET:
        return config.url2png_bucket
    if account is None:
        return None
    return f"{DEFAULT_BUCKET}-{account}-{config.region}"


def settle(config: LabConfig) -> LabConfig:
    """The configuration every ``--target aws`` command runs with: the bucket ``lab up``
    made (its record, else the account's name for it). Unchanged when the bucket is named, or
    when the account cannot be read now (the command itself then says why)."""
    if config.target != "aws" or config.url2png_bucket != DEFAULT_BUCKET:
        return config
    record = Record.load(config)
    made = [m["name"] for m in record.made if m["kind"] == "bucket"] if record else []
    if made:
        return dataclasses.replace(config, url2png_bucket=made[0])
    try:
        account = account_of(config)
    except LabError:
        return config
    return dataclasses.replace(config, url2png_bucket=str(bucket_name(config, account)))


# -- what exists ----------------------------------------------------------------------------


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Message") or error.get("Code") or exc)


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except Exception as exc:
        if any(code in _code(exc) for code in _NO_SUCH_QUEUE):
            return None
        raise


FOREIGN = "foreign"  # a bucket name another account holds


@dataclass(frozen=True)
class Found:
    """One of the lab's names as the cloud has it now."""

    kind: str  # queue | bucket | stack
    name: str
    exists: bool
    tag: str | None = None  # the decoupling-lab tag's value, if it has one
    ref: str = ""  # queue URL, bucket name, stack id
    detail: str = ""  # a stack's status; FOREIGN for a bucket of another account


def find_queue(sqs: Any, name: str) -> Found:
    url = _queue_url(sqs, name)
    if url is None:
        return Found("queue", name, False)
    tags = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
    return Found("queue", name, True, tags.get(TAG), url)


def find_bucket(s3: Any, name: str) -> Found:
    try:
        s3.head_bucket(Bucket=name)
    except Exception as exc:
        code = _code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return Found("bucket", name, False)
        if code in ("403", "AccessDenied", "Forbidden"):
            return Found("bucket", name, True, ref=name, detail=FOREIGN)
        raise
    try:
        tags = s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
    except Exception as exc:
        if _code(exc) != "NoSuchTagSet":
            raise
        tags = []
    value = next((t["Value"] for t in tags if t["Key"] == TAG), None)
    return Found("bucket", name, True, value, name)


def find_stack(cfn: Any, name: str) -> Found:
    from lab.stack import chapter

    stack = chapter.find(cfn, name)
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        return Found("stack", name, False)
    value = next((t["Value"] for t in stack.get("Tags") or [] if t["Key"] == TAG), None)
    return Found("stack", name, True, value, stack["StackId"], stack["StackStatus"])


def _find(config: LabConfig, kind: str, name: str) -> Found:
    if kind == "queue":
        return find_queue(_client(config, "sqs"), name)
    if kind == "bucket":
        return find_bucket(_client(config, "s3"), name)
    return find_stack(_client(config, "cloudformation"), name)


@dataclass
class Plan:
    """Where, and what: the names the lab uses and what the cloud has of them now (when
    credentials let it look)."""

    config: LabConfig
    account: str | None
    problem: str | None  # why the account is not known
    lab_id: str
    bucket: str | None
    record: Record | None
    found: dict[tuple[str, str], Found] = field(default_factory=dict)

    @property
    def names(self) -> list[tuple[str, str]]:
        """(kind, name) in the order ``up`` creates them."""
        c = self.config
        bucket = self.bucket or f"{DEFAULT_BUCKET}-ACCOUNT-{c.region}"
        return [
            ("queue", c.url2png_dlq),
            ("queue", c.url2png_queue),
            ("bucket", bucket),
            ("stack", STACK),
        ]

    def state(self, kind: str, name: str) -> Found | None:
        return self.found.get((kind, name))

    def ours(self, found: Found) -> bool:
        return found.exists and found.detail != FOREIGN and found.tag == self.lab_id

    def conflicts(self) -> list[str]:
        """Resources of the lab's names that the lab did not make (up stops before them)."""
        out = []
        for found in self.found.values():
            if not found.exists or self.ours(found):
                continue
            if found.detail == FOREIGN:
                out.append(
                    f"bucket {found.name} belongs to another account (bucket names are global): "
                    "set LAB_URL2PNG_BUCKET to a name of your own"
                )
            elif found.tag is not None:
                out.append(
                    f"{found.kind} {found.name} was made by another lab ({TAG}={found.tag}, "
                    "another state folder or machine): lab down --target aws there first"
                )
            else:
                out.append(
                    f"{found.kind} {found.name} exists and the lab did not make it (no {TAG} "
                    "tag): delete or rename it, or give the lab other names "
                    "(LAB_URL2PNG_QUEUE, LAB_URL2PNG_DLQ, LAB_URL2PNG_BUCKET)"
                )
        return out


def plan(config: LabConfig, look: bool = True) -> Plan:
    """The plan; ``look``: also read what exists (read-only calls), when credentials allow."""
    record = Record.load(config)
    try:
        account: str | None = account_of(config)
        problem = None
    except LabError as exc:
        account, problem = (record.account if record else None), str(exc)
    found_plan = Plan(
        config,
        account,
        problem,
        record.lab_id if record else "",
        bucket_name(config, account),
        record,
    )
    if look and problem is None:
        with _aws_errors(config, None, "to look at what exists"):
            for kind, name in found_plan.names:
                found_plan.found[(kind, name)] = _find(config, kind, name)
    if not found_plan.lab_id:
        # no record here: a state folder reset keeps the lab's id on what it tagged
        tags = {f.tag for f in found_plan.found.values() if f.tag}
        found_plan.lab_id = tags.pop() if len(tags) == 1 else new_lab_id(config)
    return found_plan


def new_lab_id(config: LabConfig) -> str:
    """The id of this state folder's lab in this region: the same in a dry run and the ``up``
    after it, another for another state folder (another machine, another checkout)."""
    place = f"{config.state_dir.resolve()}|{config.region}|{config.aws_endpoint_url or ''}"
    return hashlib.sha256(place.encode()).hexdigest()[:8]


def _where(config: LabConfig, account: str | None) -> str:
    who = f"account {account}" if account else "your account"
    there = f" at {config.aws_endpoint_url}" if config.aws_endpoint_url else ""
    return f"{who}, region {config.region}{there}"


def _what(kind: str, name: str, config: LabConfig) -> str:
    if kind == "queue" and name == config.url2png_dlq:
        return f"queue {name} (the dead-letter queue, messages kept 14 days)"
    if kind == "queue":
        return f"queue {name} (dead letters after {config.url2png_max_receive} receives)"
    if kind == "bucket":
        return f"bucket {name} with website hosting (its pictures and gallery public-read)"
    return f"stack {name} from lab/templates/loadbalancer.yaml: {STACK_PARTS}"


# -- up ---------------------------------------------------------------------------------------


@contextmanager
def _aws_errors(config: LabConfig, record: Record | None, doing: str) -> Iterator[None]:
    """A refusal from AWS while creating or deleting, as one sentence (what was made so far
    stays recorded, so ``lab down`` finds it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        text = f"AWS refused {doing}: {_message(exc)}"
        if "QueueDeletedRecently" in code:
            text += " (AWS lets a queue's name be used again 60 s after it was deleted)"
        if record is not None and record.made:
            text += "; lab down --target aws deletes what was made so far"
        raise LabError(text) from None
    except BotoCoreError as exc:
        raise LabError(f"AWS does not answer at {config.endpoint} ({doing}): {exc}") from None


def up(
    config: LabConfig,
    echo: Echo,
    preload: Callable[[], None] | None = None,
    *,
    yes: bool = False,
    dry_run: bool = False,
    confirm: Callable[[str], bool] | None = None,
) -> None:
    """Say what it creates and what that costs, ask (unless ``yes``), then create it, tagged
    and recorded. ``dry_run``: the plan only (read-only calls, and none without credentials).
    ``confirm``: how to ask (the terminal by default)."""
    chosen = plan(config)
    echo(f"lab up --target aws, in {_where(config, chosen.account)}:")
    todo = []
    for kind, name in chosen.names:
        found = chosen.state(kind, name)
        if found is not None and chosen.ours(found):
            echo(f"  keep   {kind} {name} (made by the lab earlier)")
        else:
            echo(f"  create {_what(kind, name, config)}")
            todo.append((kind, name))
    if todo:
        echo(f"  each tagged {TAG}={chosen.lab_id}, and recorded in {Record.path_for(config)}")
        echo(COST)
    conflicts = chosen.conflicts()
    if dry_run:
        if chosen.problem:
            echo(f"nothing was looked up: {chosen.problem}")
        for line in conflicts:
            echo(f"would stop: {line}")
        echo("dry run: nothing was created")
        return
    if chosen.problem:
        raise LabError(chosen.problem)
    if conflicts:
        raise LabError(conflicts[0] + " (nothing was created)")
    if todo and not yes:
        ask = confirm or _ask
        if not ask("Create these resources?"):
            raise LabError("nothing was created (not confirmed; --yes creates without asking)")
    if preload is not None:
        preload()
    _create(config, chosen, echo)


def _ask(question: str) -> bool:
    import click

    try:
        return bool(click.confirm(question, default=False))
    except click.Abort:  # end of input, Ctrl-C
        return False


def _create(config: LabConfig, chosen: Plan, echo: Echo) -> None:
    from lab.url2png import resources as url2png_resources

    assert chosen.account is not None and chosen.bucket is not None
    record = chosen.record or Record(
        Record.path_for(config),
        chosen.lab_id,
        chosen.account,
        config.region,
        config.aws_endpoint_url,
    )
    tags = {TAG: chosen.lab_id}
    sqs, s3, cfn = (_client(config, s) for s in ("sqs", "s3", "cloudformation"))
    for name in (config.url2png_dlq, config.url2png_queue):
        found = chosen.state("queue", name)
        if found is not None and found.exists:
            record.add("queue", name, found.ref)  # ours: see conflicts()
            continue
        with _aws_errors(config, record, f"to create the queue {name}"):
            url = sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"]
        record.add("queue", name, url)
        echo(f"created queue {name}")
    bucket = chosen.bucket
    found = chosen.state("bucket", bucket)
    if found is not None and found.exists:
        record.add("bucket", bucket, bucket)
    else:
        with _aws_errors(config, record, f"to create the bucket {bucket}"):
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if config.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": config.region}
            s3.create_bucket(**kwargs)
            record.add("bucket", bucket, bucket)
            s3.put_bucket_tagging(
                Bucket=bucket, Tagging={"TagSet": [{"Key": TAG, "Value": chosen.lab_id}]}
            )
            # as lab.url2png.resources does for a bucket it makes: public ACLs for the website
            s3.put_bucket_ownership_controls(
                Bucket=bucket,
                OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
            )
            s3.delete_public_access_block(Bucket=bucket)
        echo(f"created bucket {bucket}")
    settled = dataclasses.replace(config, url2png_bucket=bucket)
    with _aws_errors(config, record, "to set up the queues and the website"):
        made = url2png_resources.ensure(settled, sqs, s3)
    echo(url2png_resources.summary(made))
    _create_stack(config, chosen, record, cfn, echo)
    echo(
        "every lab command takes --target aws (or: export LAB_TARGET=aws): lab worker, lab "
        "url2png submit URL, lab status; lab down --target aws deletes all of it"
    )


def _create_stack(config: LabConfig, chosen: Plan, record: Record, cfn: Any, echo: Echo) -> None:
    from lab.stack import chapter

    found = chosen.state("stack", STACK)
    if found is not None and found.exists:
        record.add("stack", STACK, found.ref)
        stack_id = found.ref
        echo(f"stack {STACK}: {found.detail}")
    else:
        params = chapter.parameters(
            health_check_interval=config.health_check_interval,
            web_server_port=config.instance_port,
        )
        echo(f"creating stack {STACK} (on AWS this takes about 5 minutes)")
        with _aws_errors(config, record, f"to create the stack {STACK}"):
            stack_id = cfn.create_stack(
                StackName=STACK,
                TemplateBody=chapter.template_body(),
                Parameters=params,
                Tags=[{"Key": TAG, "Value": chosen.lab_id}, {"Key": "lab", "Value": "chapter-15"}],
            )["StackId"]
        record.add("stack", STACK, stack_id)
    with _aws_errors(config, record, f"while creating the stack {STACK}"):
        try:
            stack = chapter.wait(cfn, stack_id, STACK_TIMEOUT, echo)
        except chapter.StackError as exc:
            raise LabError(f"{exc}; lab down --target aws deletes what was made") from None
        if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
            reasons = "; ".join(chapter.failure_reasons(cfn, stack_id)) or stack.get(
                "StackStatusReason", ""
            )
            raise LabError(
                f"stack {STACK} is {stack['StackStatus']}: {reasons}; lab down --target aws "
                "deletes what was made"
            )
    url = chapter.outputs(stack).get("URL")
    if url:
        echo(f"load balancer URL: {url}   (reload it: each answer names a web server)")


# -- down -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doomed:
    """One resource ``down`` deletes, and what is in it."""

    found: Found
    contents: str = ""


def _doomed(config: LabConfig, chosen: Plan) -> tuple[list[Doomed], list[str]]:
    """What ``down`` deletes (stack first: its instances cost the most), and what it leaves
    with the reason."""
    record = chosen.record
    order = {"stack": 0, "queue": 1, "bucket": 2}
    names = [(m["kind"], m["name"]) for m in record.made] if record else chosen.names
    sqs, s3 = _client(config, "sqs"), _client(config, "s3")
    doomed, left = [], []
    for kind, name in sorted(names, key=lambda kn: order[kn[0]]):
        found = chosen.state(kind, name) or _find(config, kind, name)
        if not found.exists:
            if record is not None:
                left.append(f"{kind} {name} is already gone")
            continue
        if found.detail == FOREIGN or (found.tag is not None and found.tag != chosen.lab_id):
            left.append(f"left {kind} {name}: it is not this lab's ({TAG}={found.tag or '-'})")
            continue
        if found.tag is None and (record is None or not record.has(kind, name)):
            continue  # no record and no tag: not the lab's
        doomed.append(Doomed(found, _contents(sqs, s3, found)))
    return doomed, left


def _contents(sqs: Any, s3: Any, found: Found) -> str:
    from lab.url2png.store import list_keys

    if found.kind == "queue":
        attributes = sqs.get_queue_attributes(
            QueueUrl=found.ref,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        count = sum(int(v) for v in attributes.values())
        return f"{count} message(s) in it"
    if found.kind == "bucket":
        return f"{sum(1 for _ in list_keys(s3, found.name, ''))} object(s) in it"
    return f"{found.detail}, and everything it made"


def down(config: LabConfig, echo: Echo, *, dry_run: bool = False) -> bool:
    """Delete what ``lab up --target aws`` made (its record, else the lab's names carrying
    its tag), saying what; ``dry_run``: only say it. Whether anything of the lab's was
    there."""
    chosen = plan(config)
    if chosen.problem:
        if not dry_run:
            raise LabError(chosen.problem)
        # without credentials, the record alone says what down would delete
        path = Record.path_for(config)
        if chosen.record is None:
            echo(f"nothing is recorded in {path}, and without credentials nothing was looked up")
            echo(f"({chosen.problem})")
        else:
            echo(f"from the record {path} (without credentials nothing was looked up):")
            for made in chosen.record.made:
                echo(f"  would delete {made['kind']} {made['name']}")
        echo("dry run: nothing was deleted")
        return chosen.record is not None
    with _aws_errors(config, chosen.record, "to list the lab's resources"):
        doomed, left = _doomed(config, chosen)
    where = _where(config, chosen.account)
    if not doomed:
        for line in left:
            echo(line)
        echo(f"nothing of the lab's to delete in {where}")
        if chosen.record is not None and not dry_run:
            chosen.record.path.unlink(missing_ok=True)
        return False
    echo(f"lab down --target aws, in {where}:")
    for item in doomed:
        verb = "would delete" if dry_run else "delete"
        echo(f"  {verb} {item.found.kind} {item.found.name} ({item.contents})")
    for line in left:
        echo(f"  {line}")
    if dry_run:
        echo("dry run: nothing was deleted")
        return True
    record = chosen.record or Record(
        Record.path_for(config), chosen.lab_id, str(chosen.account), config.region, None
    )
    for item in doomed:
        with _aws_errors(config, None, f"to delete the {item.found.kind} {item.found.name}"):
            _delete(config, item.found, echo)
        record.drop(item.found.kind, item.found.name)
        echo(f"deleted {item.found.kind} {item.found.name}")
    record.path.unlink(missing_ok=True)
    if any(i.found.kind == "queue" for i in doomed):
        echo("(AWS lets a deleted queue's name be used again after 60 s)")
    return True


def _delete(config: LabConfig, found: Found, echo: Echo) -> None:
    from lab.stack import chapter

    if found.kind == "stack":
        echo(f"deleting stack {found.name} (on AWS this takes a few minutes)")
        try:
            chapter.delete(_client(config, "cloudformation"), found.ref, STACK_TIMEOUT)
        except chapter.StackError as exc:
            raise LabError(str(exc)) from None
    elif found.kind == "queue":
        _client(config, "sqs").delete_queue(QueueUrl=found.ref)
    else:
        _empty_and_delete(_client(config, "s3"), found.name)


def _empty_and_delete(s3: Any, bucket: str) -> None:
    """Every object (and version, were versioning ever switched on), then the bucket."""
    while True:
        listing = s3.list_object_versions(Bucket=bucket, MaxKeys=1000)
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
        ]
        if not keys:
            break
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


# -- status -----------------------------------------------------------------------------------


def status(config: LabConfig, echo: Echo) -> bool:
    """The account and region, and what of the lab's exists there: queues with their
    message counts, the bucket with its website, the stack with its load balancer's URL.
    Whether any of it exists."""
    chosen = plan(config)
    if chosen.problem:
        raise LabError(chosen.problem)
    echo(f"AWS: {_where(config, chosen.account)}")
    ours = [f for f in chosen.found.values() if chosen.ours(f)]
    if not ours:
        echo("nothing of the lab's here: lab up --target aws (lab up --target aws --dry-run "
             "lists what it creates)")  # fmt: skip
        return False
    record = f", recorded in {chosen.record.path}" if chosen.record else ""
    echo(f"made by the lab ({TAG}={chosen.lab_id}{record}):")
    sqs, s3, cfn = (_client(config, s) for s in ("sqs", "s3", "cloudformation"))
    with _aws_errors(config, None, "to describe the lab's resources"):
        for found in ours:
            if found.kind == "queue":
                echo(f"  {queue_line(sqs, found.name)}")
            elif found.kind == "bucket":
                echo(f"  {bucket_line(config, s3, found.name)}")
            else:
                echo(f"  {_stack_line(cfn, found)}")
    missing = [
        f"{k} {n}" for k, n in chosen.names if (k, n) not in {(f.kind, f.name) for f in ours}
    ]
    if missing:
        echo(f"  not there: {', '.join(missing)} (lab up --target aws makes them)")
    return True


def _stack_line(cfn: Any, found: Found) -> str:
    from lab.stack import chapter

    stack = cfn.describe_stacks(StackName=found.ref)["Stacks"][0]
    url = chapter.outputs(stack).get("URL")
    return f"stack {found.name}: {stack['StackStatus']}" + (f", load balancer {url}" if url else "")
