"""What an exercise's ``start`` and ``check`` work with: the AWS APIs (boto3), the event stream
after the exercise started, HTTP through the load balancer as a student's browser sends it,
and the lab's web servers (a checker fails one itself to watch what follows). Nothing here
reads the emulator's internals, so a checker that uses only the AWS parts runs on LocalStack
and AWS too."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import aws
from lab import events as stream
from lab.chaos_cli import chaos_state, set_chaos
from lab.config import LabConfig
from lab.endpoints import opener
from lab.exercises.grading import Stop
from lab.runtime import LabError
from lab.trace import stream as trace_stream
from lab.web import fleet

STATE_FILE = "exercise.json"


@dataclass
class Started:
    """The exercise in progress: its number, and where in the stream it began."""

    number: int
    stream: str | None
    since: int


def newest_event(config: LabConfig) -> tuple[str | None, int]:
    """The stream's id and its newest event id (None, 0 where there is no stream)."""
    try:
        batch = stream.fetch(config, 0, "", 1)
    except LabError:
        return None, 0
    return batch.stream, batch.last_id


def save_started(config: LabConfig, started: Started) -> None:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / STATE_FILE).write_text(json.dumps(started.__dict__))


def load_started(config: LabConfig) -> Started | None:
    try:
        return Started(**json.loads((config.state_dir / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


class Lab:
    """The running lab, as an exercise sees it."""

    def __init__(
        self,
        config: LabConfig,
        started: Started | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.started = started
        self.say = say  # tells the student what a start is doing, as it does it
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws.client(service, self.config)
        return self._clients[service]

    # -- the event stream ---------------------------------------------------------------

    def since(self) -> int:
        """Events after this id are the student's work (0 when the emulator restarted since
        the exercise began: then every event is)."""
        if self.started is None:
            return 0
        current, _ = newest_event(self.config)
        return self.started.since if current == self.started.stream else 0

    def mark(self) -> int:
        """The newest event id now: what a checker's own actions come after."""
        return newest_event(self.config)[1]

    def events(self, *prefixes: str, after: int | None = None) -> list[stream.Event]:
        """Events of these types after ``after`` (default: since the exercise started)."""
        try:
            reading = trace_stream.read(
                self.config, self.since() if after is None else after, prefixes
            )
        except LabError as exc:
            raise Stop(f"the checker reads the lab's event stream, and {exc}") from None
        return reading.events

    # -- the load balancer ----------------------------------------------------------------

    def load_balancer(self, name: str = "lab-web") -> dict[str, Any]:
        elb = self.client("elbv2")
        try:
            [found] = elb.describe_load_balancers(Names=[name])["LoadBalancers"]
        except elb.exceptions.LoadBalancerNotFoundException:
            raise Stop(f"there is no load balancer {name}: start the lab with lab up") from None
        return found

    def listener_url(self, path: str = "/", balancer: str = "lab-web", port: int = 80) -> str:
        self.load_balancer(balancer)
        return f"http://{self.config.listener_host}:{self.config.local_port(port)}{path}"

    def target_group(self, name: str) -> dict[str, Any]:
        elb = self.client("elbv2")
        try:
            [found] = elb.describe_target_groups(Names=[name])["TargetGroups"]
        except elb.exceptions.TargetGroupNotFoundException:
            raise Stop(f"there is no target group {name}") from None
        return found

    def target_health(self, group: str) -> dict[str, str]:
        """Target id -> state, as DescribeTargetHealth answers."""
        arn = self.target_group(group)["TargetGroupArn"]
        found = self.client("elbv2").describe_target_health(TargetGroupArn=arn)
        return {
            t["Target"]["Id"]: t["TargetHealth"]["State"] for t in found["TargetHealthDescriptions"]
        }

    def get(self, url: str, timeout: float = 10.0) -> tuple[int, str]:
        """GET ``url`` as a browser would (no proxy): status and body."""
        try:
            with opener().open(url, timeout=timeout) as reply:
                return reply.status, reply.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            raise Stop(f"{url} does not answer ({exc}): is the lab up? (lab status)") from None

    # -- the web servers ------------------------------------------------------------------

    def web_server(self, ip: str) -> fleet.ServerSpec:
        spec = fleet.load_spec(self.config, ip)
        if spec is None:
            raise Stop(f"there is no web server {ip}: lab up starts 127.0.0.11 to .13")
        return spec

    def web(self, ip: str, action: str) -> None:
        fleet.control(self.web_server(ip), {"action": action})

    # -- waiting --------------------------------------------------------------------------

    @staticmethod
    def wait(
        predicate: Callable[[], Any], timeout: float, interval: float = 0.25
    ) -> tuple[Any, float]:
        """Poll ``predicate`` until it is true or ``timeout`` passed: its last value and the
        seconds it took."""
        start = time.monotonic()
        while True:
            value = predicate()
            if value or time.monotonic() - start > timeout:
                return value, time.monotonic() - start
            time.sleep(interval)


def student_file(folder: Path, name: str) -> Path:
    """The file a student completes (``worker.py``, ``orderer.py`` ...): the current folder's
    if there is one (a student working in the exercise's folder, or in a copy), else the
    exercise's own."""
    here = Path.cwd() / name
    return here if here.is_file() else folder / name


def from_template(lab: Lab, folder: Path, name: str, template: str) -> Path:
    """``name`` in the exercise's folder, copied from ``template`` unless the student's is
    there already (their work is kept)."""
    target = folder / name
    if target.exists():
        lab.say(f"your {target} is kept (the untouched template is {template})")
    else:
        shutil.copyfile(folder / template, target)
        lab.say(f"wrote {target} from {template}: complete it")
    return target


@contextlib.contextmanager
def delivery_model(lab: Lab, queue: str, seed: int, **effects: object) -> Iterator[None]:
    """The delivery model on ``queue`` alone while a checker runs (``effects`` as ``lab chaos
    on``), then the student's model as it was: on or off, and their seed."""
    before = chaos_state(lab.config)
    set_chaos(lab.config, enabled=True, queue=queue, seed=seed, **effects)
    try:
        yield
    finally:
        set_chaos(lab.config, enabled=False, queue=queue)
        if not before.get("enabled"):
            set_chaos(lab.config, enabled=False)
        set_chaos(lab.config, seed=before["seed"])
