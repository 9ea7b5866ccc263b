"""Exercise 1 (section 15.1): reload the load balancer's URL and see every private IP."""

from __future__ import annotations

from collections import Counter

from lab.exercises import Grader
from lab.exercises.context import Lab

TITLE = "Reload the load balancer's URL and see every private IP"
SECTION = "15.1"
RUNS_ON = ("lab",)  # it counts the load balancer's requests in the lab's event stream
GROUP = "lab-web"
HEALTHY_WITHIN = 60.0  # seconds: two passing health checks at the chapter's 10-second interval

NOTEBOOK_CELLS = (
    (
        "markdown",
        "## Reload, from Python\n"
        "Each answer names its server in the `X-Lab-Private-Ip` header (and on the page).",
    ),
    (
        "code",
        """import urllib.request

from lab.config import LabConfig

config = LabConfig.from_env()
url = f"http://{config.listener_host}:{config.local_port(80)}/"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# TODO: request `url` a few times and print the private IP of each answer
with opener.open(url) as reply:
    print(reply.headers["X-Lab-Private-Ip"])""",
    ),
)


def start(lab: Lab) -> None:
    """Every web server healthy and answering; the requests counted from now."""
    for ip in lab.config.web_ips:
        lab.web(ip, "heal")
    lab.say(f"healed the {len(lab.config.web_ips)} web servers; waiting until all are healthy")
    healthy, _ = lab.wait(
        lambda: set(lab.target_health(GROUP).values()) == {"healthy"}, timeout=HEALTHY_WITHIN
    )
    lab.say("all healthy" if healthy else "not all healthy yet (lab lb health says why)")
    lab.say(f"open {lab.listener_url()} in a browser and reload it")


def check(lab: Lab, grade: Grader) -> None:
    health = lab.target_health(GROUP)
    healthy = sorted(target for target, state in health.items() if state == "healthy")
    grade.that(
        "the targets are healthy",
        bool(healthy) and len(healthy) == len(health),
        f"{len(healthy)} of {len(health)} targets of {GROUP} are healthy",
        hint="lab lb health shows each target's state and reason; lab web heal IP heals one",
    )
    answered = [
        event
        for event in lab.events("elb.request")
        if event.get("load_balancer") == "lab-web" and event.get("target_id")
    ]
    grade.that(
        "you sent requests through the load balancer",
        bool(answered),
        f"the load balancer forwarded {len(answered)} request(s) since the exercise started",
        hint=f"open {lab.listener_url()} and reload it; a web server's own address does not "
        "go through the load balancer",
        expected="at least one",
        actual=len(answered),
    )
    reached = Counter(str(event["target_id"]) for event in answered)
    missing = [target for target in healthy if not reached[target]]
    spread = ", ".join(f"{target} {reached[target]}" for target in sorted(reached)) or "none"
    grade.that(
        "requests reached every healthy target",
        bool(answered) and not missing,
        f"requests per target: {spread}",
        hint="each reload goes to the next target (round robin): reload until every private "
        "IP has shown up",
        expected=f"a request at each of {', '.join(healthy)}",
        actual=f"none at {', '.join(missing)}" if missing else "one at each",
        points=2,
    )
