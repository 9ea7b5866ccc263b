"""Exercise 2 (section 15.1): health checks that take a failed web server out of the rotation
within 15 seconds and put it back after it heals. The checker fails a server itself and
watches, in the emulator's own time (a faster clock does not change the verdict)."""

from __future__ import annotations

from lab.chaos_cli import clock_state
from lab.exercises import Grader
from lab.exercises.context import Lab
from lab.lb.stack import chapter_health_check

TITLE = "Health checks: a failed web server leaves the rotation within 15 seconds"
SECTION = "15.1"
RUNS_ON = ("lab",)  # the checker fails one of the lab's web servers
GROUP = "lab-web"
LEAVES_WITHIN = 15.0  # emulated seconds from the failure to "unhealthy"
BACK_WITHIN = 60.0  # emulated seconds from the heal to "healthy"
VICTIM = 1  # the second web server (127.0.0.12) is the one the checker fails
# where the exercise starts: checks so slow and so patient that a dead server keeps its
# traffic for two and a half minutes
SLOW = {
    "HealthCheckIntervalSeconds": 30,
    "HealthCheckTimeoutSeconds": 10,
    "UnhealthyThresholdCount": 5,
    "HealthyThresholdCount": 5,
}


# what the checker tries on the running lab, once the settings can pass
LIVE = (
    ("a failed server leaves the rotation within 15 s", 2),
    ("no request reaches it while it is unhealthy", 1),
    ("it comes back after it heals", 1),
)


def _modify(lab: Lab, settings: dict[str, object]) -> None:
    arn = lab.target_group(GROUP)["TargetGroupArn"]
    lab.client("elbv2").modify_target_group(TargetGroupArn=arn, **settings)


NOTEBOOK_CELLS = (
    (
        "markdown",
        "## The target group's health check\nRead it, then change it with `modify_target_group`.",
    ),
    (
        "code",
        """from lab import aws
from lab.config import LabConfig

elb = aws.client("elbv2", LabConfig.from_env())
[group] = elb.describe_target_groups(Names=["lab-web"])["TargetGroups"]
{k: v for k, v in group.items() if k.startswith(("HealthCheck", "Healthy", "Unhealthy"))}""",
    ),
    (
        "code",
        """# TODO: a failed server must leave within 15 seconds
# elb.modify_target_group(
#     TargetGroupArn=group["TargetGroupArn"], HealthCheckIntervalSeconds=..., ...
# )""",
    ),
)


def start(lab: Lab) -> None:
    _modify(lab, SLOW)
    for ip in lab.config.web_ips:
        lab.web(ip, "heal")
    lab.say(
        f"target group {GROUP}: a health check every {SLOW['HealthCheckIntervalSeconds']} s, "
        f"{SLOW['UnhealthyThresholdCount']} failures to leave, "
        f"{SLOW['HealthyThresholdCount']} successes to come back"
    )
    lab.say("change it (aws elbv2 modify-target-group ...) so a failed server leaves within 15 s")


def undo(lab: Lab) -> None:
    chapter = chapter_health_check(lab.config.health_check_interval).api_args()
    _modify(lab, {k: v for k, v in chapter.items() if k != "HealthCheckProtocol"})
    lab.say(f"target group {GROUP}: the chapter's health check again")


def _emulated_now(lab: Lab) -> float:
    """The emulator's clock now: event times are on it, and it may run faster than ours."""
    return float(clock_state(lab.config)["now"])


def check(lab: Lab, grade: Grader) -> None:
    group = lab.target_group(GROUP)
    interval = int(group["HealthCheckIntervalSeconds"])
    unhealthy = int(group["UnhealthyThresholdCount"])
    healthy_count = int(group["HealthyThresholdCount"])
    worst = interval * unhealthy
    settings = grade.that(
        "the settings can notice a failure within 15 s",
        worst <= LEAVES_WITHIN,
        f"a check every {interval} s and {unhealthy} failed checks in a row: up to {worst} s",
        hint="HealthCheckIntervalSeconds times UnhealthyThresholdCount is how long a failed "
        "server keeps getting requests; ELBv2 allows an interval of 5 s and a threshold of 2",
        expected=f"at most {LEAVES_WITHIN:g} s",
        actual=f"{worst} s",
    )
    health, _ = lab.wait(
        lambda: set(lab.target_health(GROUP).values()) == {"healthy"}, timeout=BACK_WITHIN
    )
    ready = grade.that(
        "every target is healthy before the test",
        health,
        "the checker fails a healthy server and watches; "
        + ("all are healthy" if health else f"now: {lab.target_health(GROUP)}"),
        hint="lab lb health shows why a target is not healthy; lab web heal IP heals it",
    )
    if not (settings and ready):
        why = (
            "first make the settings notice a failure within 15 s"
            if ready
            else ("first every target must be healthy")
        )
        for title, points in LIVE:
            grade.that(title, False, f"not tried: {why}", points=points)
        return
    victim = lab.config.web_ips[VICTIM]
    if victim not in lab.target_health(GROUP):
        grade.that(f"{victim} is a target", False, f"{victim} is not registered in {GROUP}")
        return
    lab.say(f"failing {victim}'s health check and watching (up to a minute)...")
    mark, failed_at = lab.mark(), _emulated_now(lab)
    try:
        lab.web(victim, "fail")
        left, _ = lab.wait(lambda: lab.target_health(GROUP).get(victim) == "unhealthy", 60)
        took = _state_change(lab, mark, victim, "unhealthy", failed_at)
        grade.that(
            LIVE[0][0],
            bool(left) and took is not None and took <= LEAVES_WITHIN,
            f"{victim} turned unhealthy {took:.1f} s after it failed"
            if took is not None
            else f"{victim} was still {lab.target_health(GROUP).get(victim)} after 60 s",
            expected=f"at most {LEAVES_WITHIN:g} s",
            actual="never" if took is None else f"{took:.1f} s",
            points=2,
        )
        if left:
            _no_traffic_while_failed(lab, grade, victim)
        else:
            grade.that(LIVE[1][0], False, "not tried: it never left the rotation")
    finally:
        mark, healed_at = lab.mark(), _emulated_now(lab)
        lab.web(victim, "heal")
    back, _ = lab.wait(lambda: lab.target_health(GROUP).get(victim) == "healthy", BACK_WITHIN)
    took = _state_change(lab, mark, victim, "healthy", healed_at)
    grade.that(
        LIVE[2][0],
        bool(left) and bool(back) and took is not None,
        f"{victim} healthy again {took:.1f} s after it healed ({healthy_count} good checks)"
        if took is not None
        else f"{victim} was not healthy {BACK_WITHIN:g} s after it healed",
        hint="HealthyThresholdCount good checks in a row bring it back",
    )


def _state_change(lab: Lab, after: int, target: str, state: str, since: float) -> float | None:
    """Emulated seconds from ``since`` to the target's change to ``state`` (the stream's
    elb.target_state event), or None."""
    for event in lab.events("elb.target_state", after=after):
        if event.get("target_id") == target and event.get("state") == state:
            return float(event["at"]) - since
    return None


def _no_traffic_while_failed(lab: Lab, grade: Grader, victim: str) -> None:
    mark = lab.mark()
    for _ in range(6):
        lab.get(lab.listener_url())
    reached = [
        e.get("target_id")
        for e in lab.events("elb.request", after=mark)
        if e.get("load_balancer") == "lab-web"
    ]
    grade.that(
        LIVE[1][0],
        victim not in reached and bool(reached),
        f"6 requests went to {', '.join(sorted(set(map(str, reached)))) or 'no target'}",
        expected=f"none at {victim}",
        actual=f"{reached.count(victim)} at {victim}",
    )
