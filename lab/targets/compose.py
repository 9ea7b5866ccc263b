"""The compose target (``lab up --target compose``): the chapter's lab in containers, from
``compose.yaml`` at the top of the checkout: nginx in front of 3 web containers that report
their private IPs, 2 URL2PNG workers with Chromium, the sample pages, and a cloud (the lab's
emulator, profile ``emulator``, or LocalStack, profile ``localstack``).

Up and down shell out to the compose tool of the engine present (podman-compose for podman,
``docker compose`` or ``docker-compose`` for Docker Engine): they are what a student would type,
and they know the compose file's semantics (profiles, replicas, networks) better than a second
implementation would. Everything that looks at containers (health, IPs, status, kill and stop)
goes through the Docker SDK, which speaks to Docker Engine and to ``podman system service``
alike; for podman the lab starts that service on its socket when none answers.

Podman without systemd runs no health checks on its own: its containers say ``starting``
forever. So where the engine is podman, the lab runs a container's check (libpod's
``/containers/NAME/healthcheck``, the API form of ``podman healthcheck run``) whenever it needs
to know the container's health: while ``lab up`` waits, and when ``lab status`` looks.

The cloud profile is compose's own ``COMPOSE_PROFILES`` (default ``emulator``): the same
variable chooses it for ``lab up --target compose`` and for a compose command typed by hand.

Images are built when missing or when their sources changed (a hash of what each image copies,
kept as a label), on ``LAB_BASE_IMAGE`` (default ``docker.io/library/debian:bookworm-slim``;
``localhost/debian-base`` is made by ``docker/build-base.sh`` when asked for and missing).

The TUI's later controls (kill a worker container, stop a web container) call ``kill``,
``stop``, ``start`` and ``control`` here, by service and replica index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import runtime
from lab.config import LabConfig
from lab.runtime import LabError
from lab.targets import Echo

PROJECT = "decoupling-lab"  # the compose project, unless COMPOSE_PROJECT_NAME says otherwise
ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE_FILE = ROOT / "compose.yaml"
BUILD_BASE = ROOT / "docker" / "build-base.sh"
CONTAINERS_CONF = ROOT / "docker" / "containers.conf"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_CA = ROOT / "docker" / "certs" / "host-ca.crt"

LOCAL_BASE = "localhost/debian-base"  # what docker/build-base.sh makes
CLOUDS = ("emulator", "localstack")
DEFAULT_PROFILE = "emulator"
SOURCES_LABEL = "org.decoupling-lab.sources"
PODMAN_SERVICE = "podman-service"  # lab.runtime's name for `podman system service`

# image -> (Dockerfile, what it copies from the checkout: its sources, for the rebuild check)
IMAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "localhost/decoupling-lab:latest": (
        "docker/lab.Dockerfile",
        ("pyproject.toml", "lab", "emulator", "docker/web.py", "docker/worker.sh"),
    ),
    "localhost/decoupling-lab-nginx:latest": ("docker/nginx.Dockerfile", ("docker/nginx",)),
}

UP_WAIT = 240.0  # seconds for every container to be healthy (Chromium's first start is slow)
HEALTH_EVERY = 2.0  # seconds between two checks of one container, where the lab runs them
WEB_PORT = 8001  # the web containers' port (compose.yaml)
STOP_TIMEOUT = 3  # seconds a container has to stop before it is killed (lab down)

# LocalStack's images after 4.14 exit with this status when no account token is set.
LOCALSTACK_NO_TOKEN_EXIT = 55
LOCALSTACK_NO_TOKEN_WORDS = ("license activation failed", "requires an account to run")


# ---------------------------------------------------------------- the engine


@dataclass(frozen=True)
class Engine:
    """A container engine the lab can drive: its name (``podman`` or ``docker``), its CLI,
    the compose command for it, and the Docker API socket the SDK reads containers through."""

    name: str
    cli: str
    compose: tuple[str, ...]
    api: str
    version: str = ""
    started_service: bool = False  # whether this lab started `podman system service`

    def env(self) -> dict[str, str]:
        """The environment of the engine's commands: podman here needs runc
        (docker/containers.conf), unless the user has a containers.conf of their own in
        CONTAINERS_CONF."""
        env = dict(os.environ)
        if self.name == "podman":
            env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
        else:
            env.setdefault("DOCKER_HOST", self.api)
        return env

    def client(self, timeout: int = 30) -> Any:
        import docker

        return docker.DockerClient(base_url=self.api, timeout=timeout)

    def describe(self) -> str:
        tool = os.path.basename(self.compose[0]) + (
            f" {self.compose[1]}" if len(self.compose) > 1 else ""
        )
        return f"{self.name} {self.version}".strip() + f", {tool}, Docker API at {self.api}"


NO_ENGINE = (
    "no container engine was found: install podman and podman-compose "
    "(apt-get install podman; pip install podman-compose), or Docker Engine with its compose "
    "plugin, then run lab up --target compose again"
)


def _api_answers(url: str) -> tuple[str, str] | None:
    """(engine name, version) of the Docker API at ``url``, or None when nothing answers."""
    try:
        import docker

        client = docker.DockerClient(base_url=url, timeout=3)
        try:
            version = client.version()
        finally:
            client.close()
    except Exception:
        return None
    names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    return ("podman" if "podman" in names.lower() else "docker"), str(version.get("Version", ""))


def _podman_socket() -> str:
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def _podman_compose() -> str | None:
    beside = Path(sys.executable).with_name("podman-compose")
    return str(beside) if beside.exists() else shutil.which("podman-compose")


def _docker_compose() -> tuple[str, ...] | None:
    docker_cli = shutil.which("docker")
    if docker_cli:
        probe = subprocess.run(
            [docker_cli, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return (docker_cli, "compose")
    v1 = shutil.which("docker-compose")
    return (v1,) if v1 else None


def find_engine(config: LabConfig, echo: Echo | None = None, start_service: bool = True) -> Engine:
    """Docker Engine when its API answers (DOCKER_HOST, or /var/run/docker.sock) and a compose
    tool for it exists; else podman with podman-compose, starting ``podman system service`` on
    its socket when none answers (and saying so); else a ``LabError`` in one sentence."""
    docker_api = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    answer = _api_answers(docker_api)
    if answer and answer[0] == "docker":
        compose = _docker_compose()
        if compose is None:
            raise LabError(
                f"Docker Engine answers at {docker_api} but no compose tool was found: install "
                "its compose plugin (or Debian's docker-compose), then try again"
            )
        return Engine("docker", shutil.which("docker") or "docker", compose, docker_api, answer[1])
    podman = shutil.which("podman")
    podman_compose = _podman_compose()
    if not podman or not podman_compose:
        if podman and not podman_compose:
            raise LabError(
                "podman is installed but podman-compose is not: pip install podman-compose "
                "(make setup does), then try again"
            )
        raise LabError(NO_ENGINE)
    for api in dict.fromkeys([docker_api if answer else "", _podman_socket()]):
        if api and (found := _api_answers(api)):
            return Engine("podman", podman, (podman_compose,), api, found[1])
    api = _podman_socket()
    if not start_service:
        return Engine("podman", podman, (podman_compose,), api)
    return _start_podman_service(config, echo, podman, podman_compose, api)


def _start_podman_service(
    config: LabConfig, echo: Echo | None, podman: str, podman_compose: str, api: str
) -> Engine:
    """``podman system service`` on ``api`` in the background (``lab down`` stops it): the
    Docker API the lab reads containers through, where no Docker socket exists."""
    path = Path(api.removeprefix("unix://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = Engine("podman", podman, (podman_compose,), api, started_service=True)
    found: tuple[str, str] | None = None

    def ready() -> bool:
        nonlocal found
        found = _api_answers(api)
        return found is not None

    runtime.start_and_wait(
        config,
        PODMAN_SERVICE,
        [podman, "system", "service", "--time=0", api],
        ready,
        what="podman system service",
        wait=20.0,
        env=engine.env(),
    )
    if echo:
        echo(
            f"started podman system service on {api} (no Docker socket here: the lab reads "
            "containers through it; lab down --target compose stops it)"
        )
    return dataclasses.replace(engine, version=found[1] if found else "")


# ---------------------------------------------------------------- compose


def project() -> str:
    """The compose project's name: ``COMPOSE_PROJECT_NAME`` (compose's own variable, so a
    second lab, the tests', can run beside the first), else ``decoupling-lab``."""
    return os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT


def profiles() -> list[str]:
    """The compose profiles in force: ``COMPOSE_PROFILES``, else the emulator; exactly one
    cloud among them."""
    named = [p.strip() for p in os.environ.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
    named = named or [DEFAULT_PROFILE]
    clouds = [p for p in named if p in CLOUDS]
    if len(clouds) != 1:
        raise LabError(
            f"COMPOSE_PROFILES={','.join(named)} must name exactly one cloud of "
            f"{' and '.join(CLOUDS)} (unset, the lab uses the emulator)"
        )
    return named


def cloud_service() -> str:
    """The cloud's service: the emulator, or LocalStack."""
    return next(p for p in profiles() if p in CLOUDS)


def compose_env(config: LabConfig, engine: Engine) -> dict[str, str]:
    """What compose.yaml interpolates, from the lab's configuration: the cloud on
    ``config.port``, nginx on ``config.nginx_port``, the emulator's listener port 80 where the
    lab's clients expect it (``config.local_port(80)``, inside the container too)."""
    env = engine.env()
    env.update(
        LAB_PORT=str(config.port),
        LAB_NGINX_PORT=str(config.nginx_port),
        LAB_LB_PORT=str(config.local_port(80)),
        LAB_LISTENER_PORT_OFFSET=str(config.listener_port_offset),
        LAB_BASE_IMAGE=config.base_image,
    )
    env.pop("COMPOSE_PROFILES", None)  # given as --profile
    env.pop("COMPOSE_PROJECT_NAME", None)  # given as -p
    return env


def compose_command(engine: Engine, *args: str, all_profiles: bool = False) -> list[str]:
    chosen = list(CLOUDS) if all_profiles else profiles()
    argv = [*engine.compose, "-p", project(), "-f", str(COMPOSE_FILE)]
    for profile in chosen:
        argv += ["--profile", profile]
    return [*argv, *args]


def _run_logged(
    config: LabConfig, argv: list[str], env: dict[str, str], what: str, log_name: str
) -> None:
    """Run ``argv`` with its output in ``logs/LOG_NAME.log``; a failure is a ``LabError`` with
    the log's tail."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    log = config.log_dir / f"{log_name}.log"
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        done = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=ROOT, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        tail = [
            line
            for line in log.read_text(errors="replace").splitlines()[-12:]
            if "systemd connection" not in line
        ]
        raise LabError(
            f"{what} failed (exit {done.returncode}); last lines of {log}:\n" + "\n".join(tail)
        )


def expected_containers() -> dict[str, int]:
    """service -> replicas, for the services of the profiles in force (from compose.yaml)."""
    import yaml

    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    active = set(profiles())
    expected = {}
    for name, service in spec["services"].items():
        wanted = service.get("profiles")
        if wanted and not active.intersection(wanted):
            continue
        expected[name] = int((service.get("deploy") or {}).get("replicas", 1))
    return expected


# ---------------------------------------------------------------- images


def sources_hash(paths: Iterable[str], dockerfile: str, base: str) -> str:
    """What an image is built from, as one hash: its Dockerfile, the files it copies (as the
    build context sends them, without caches) and its base image's name."""
    digest = hashlib.sha256(base.encode())
    files: list[Path] = [ROOT / dockerfile]
    for name in paths:
        path = ROOT / name
        if path.is_dir():
            files += [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            ]
        elif path.exists():
            files.append(path)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _image_labels(engine: Engine, image: str) -> dict[str, str] | None:
    """An image's labels, or None when the engine has no such image."""
    done = subprocess.run(
        [engine.cli, "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True, text=True, env=engine.env(), check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout.strip() or "null") or {}
    except ValueError:
        return {}


def has_image(engine: Engine, image: str) -> bool:
    return _image_labels(engine, image) is not None


def ensure_base(config: LabConfig, echo: Echo, engine: Engine, base: str) -> None:
    """The base image, made or pulled when missing: docker/build-base.sh for
    ``localhost/debian-base`` (Debian's mirror, no registry), a pull for any other."""
    if has_image(engine, base):
        return
    if base.split(":")[0] == LOCAL_BASE:
        echo(f"building the base image {base} with docker/build-base.sh (about a minute)")
        env = {**engine.env(), "ENGINE": engine.name}
        _run_logged(
            config, ["sh", str(BUILD_BASE), base], env, "docker/build-base.sh", "compose-build"
        )
        return
    echo(f"pulling the base image {base}")
    pulled = subprocess.run(
        [engine.cli, "pull", base], capture_output=True, text=True, env=engine.env(), check=False
    )
    if pulled.returncode != 0:
        raise LabError(
            f"the base image {base} cannot be pulled (is a registry reachable?): make one from "
            f"Debian's mirror with docker/build-base.sh and run again with "
            f"LAB_BASE_IMAGE={LOCAL_BASE}"
        )


def stale_images(engine: Engine, base: str) -> dict[str, str]:
    """image -> the sources hash it should carry, for the images missing or built from other
    sources than the checkout's."""
    stale = {}
    for image, (dockerfile, paths) in IMAGES.items():
        wanted = sources_hash(paths, dockerfile, base)
        labels = _image_labels(engine, image)
        if labels is None or labels.get(SOURCES_LABEL) != wanted:
            stale[image] = wanted
    return stale


def build_images(config: LabConfig, echo: Echo, engine: Engine) -> list[str]:
    """Build the images that are missing or stale (layers are cached: after a code change only
    the last layers are built again); the names built."""
    base = config.base_image
    stale = stale_images(engine, base)
    if not stale:
        return []
    ensure_base(config, echo, engine, base)
    # pip inside the build may sit behind a TLS-inspecting proxy: the host's CA bundle goes in.
    BUILD_CA.parent.mkdir(parents=True, exist_ok=True)
    if HOST_CA.exists() and (
        not BUILD_CA.exists() or BUILD_CA.read_bytes() != HOST_CA.read_bytes()
    ):
        shutil.copyfile(HOST_CA, BUILD_CA)
    for image, wanted in stale.items():
        dockerfile = IMAGES[image][0]
        log = config.log_dir / "compose-build.log"
        echo(f"building {image} from {dockerfile} on {base} (minutes the first time; log {log})")
        argv = [
            engine.cli, "build", "-f", str(ROOT / dockerfile), "-t", image,
            "--build-arg", f"BASE_IMAGE={base}", "--label", f"{SOURCES_LABEL}={wanted}", str(ROOT),
        ]  # fmt: skip
        _run_logged(config, argv, engine.env(), f"building {image}", "compose-build")
    # The images these replaced, now untagged, would pile up at 2 GB a build; only the lab's
    # (by their label) go, the build cache's intermediate layers stay.
    subprocess.run(
        [engine.cli, "image", "prune", "-f", "--filter", f"label={SOURCES_LABEL}"],
        capture_output=True, env=engine.env(), check=False,
    )  # fmt: skip
    return list(stale)


# ---------------------------------------------------------------- containers


@dataclass(frozen=True)
class Container:
    """One container of the project, as the Docker API shows it."""

    name: str
    service: str
    index: int
    state: str  # running, exited, created, paused, ...
    health: str  # healthy, unhealthy, starting, or "" without a health check
    ip: str
    exit_code: int
    id: str

    @property
    def up(self) -> bool:
        return self.state == "running"


def _container(raw: Any) -> Container:
    attrs = raw.attrs
    state = attrs.get("State") or {}
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    ips = [n.get("IPAddress") for n in networks.values() if n.get("IPAddress")]
    labels = raw.labels or {}
    health = state.get("Health") or {}
    return Container(
        name=raw.name,
        service=labels.get("com.docker.compose.service", ""),
        index=int(labels.get("com.docker.compose.container-number") or 1),
        state=str(state.get("Status") or raw.status),
        health=str(health.get("Status") or ""),
        ip=ips[0] if ips else "",
        exit_code=int(state.get("ExitCode") or 0),
        id=raw.id,
    )


def containers(engine: Engine, client: Any = None) -> list[Container]:
    """Every container of the project, running or not, by service and index."""
    own = client or engine.client()
    try:
        found = own.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project()}"}
        )
        listed = [_container(c) for c in found]
    finally:
        if client is None:
            own.close()
    return sorted(listed, key=lambda c: (c.service, c.index))


def run_healthcheck(engine: Engine, client: Any, container: Container) -> str:
    """Run the container's health check now (podman without systemd runs none by itself) and
    return its health; on Docker Engine, which runs them, the health as it is."""
    if engine.name != "podman" or not container.up:
        return container.health
    url = f"{client.api.base_url}/v4.0.0/libpod/containers/{container.id}/healthcheck"
    try:
        reply = client.api.get(url, timeout=30)
        return str(reply.json().get("Status") or container.health) if reply.ok else container.health
    except Exception:
        return container.health


def with_health(engine: Engine, client: Any, listed: list[Container]) -> list[Container]:
    """The containers with their health as of now (checks run in parallel where the lab runs
    them)."""
    if engine.name != "podman":
        return listed
    running = [c for c in listed if c.up and c.health]
    with ThreadPoolExecutor(max(1, min(8, len(running)))) as pool:
        checked = pool.map(lambda c: run_healthcheck(engine, client, c), running)
        health = dict(zip(running, checked, strict=True))
    return [dataclasses.replace(c, health=health.get(c, c.health)) for c in listed]


def _logs_tail(client: Any, container: Container, lines: int = 40) -> str:
    try:
        raw = client.containers.get(container.id).logs(tail=lines)
        return raw.decode(errors="replace")
    except Exception:
        return ""


def explain_exit(client: Any, container: Container) -> str:
    """One sentence on why a container that should run has exited; LocalStack without an
    account token gets what happened and what to do."""
    logs = _logs_tail(client, container)
    if container.service == "localstack" and (
        container.exit_code == LOCALSTACK_NO_TOKEN_EXIT
        or any(word.lower() in logs.lower() for word in LOCALSTACK_NO_TOKEN_WORDS)
    ):
        return (
            "LocalStack exited at start because its image requires an account token (images "
            "after 4.14 do): set LOCALSTACK_AUTH_TOKEN to your token (a free account has one), "
            "or use the token-free LOCALSTACK_IMAGE=docker.io/localstack/localstack:4.14.0, or "
            "the lab's own emulator (COMPOSE_PROFILES=emulator), then lab up --target compose again"
        )
    last = [line for line in logs.splitlines() if line.strip()][-3:]
    said = f"; its last lines: {' | '.join(last)}" if last else ""
    return f"container {container.name} exited with status {container.exit_code}{said}"


def wait_healthy(
    engine: Engine,
    client: Any,
    services: Iterable[str],
    expected: dict[str, int],
    timeout: float = UP_WAIT,
) -> list[Container]:
    """Until every expected container of ``services`` runs and is healthy; a container that
    exits is explained at once, a timeout names the ones that are not ready."""
    wanted = set(services)
    deadline = time.monotonic() + timeout
    checked: dict[str, float] = {}
    while True:
        listed = [c for c in containers(engine, client) if c.service in wanted]
        for container in listed:
            if container.state in ("exited", "dead"):
                raise LabError(explain_exit(client, container))
        due = [
            c for c in listed if c.up and c.health not in ("healthy", "")
            and time.monotonic() - checked.get(c.name, 0.0) >= HEALTH_EVERY
        ]  # fmt: skip
        if due:
            for c in due:
                checked[c.name] = time.monotonic()
            fresh = {c.name: c for c in with_health(engine, client, due)}
            listed = [fresh.get(c.name, c) for c in listed]
        counts = {s: sum(1 for c in listed if c.service == s) for s in wanted}
        ready = all(c.up and c.health in ("healthy", "") for c in listed)
        if ready and all(counts[s] >= expected.get(s, 1) for s in wanted):
            return listed
        if time.monotonic() > deadline:
            waiting = [f"{c.name} ({c.state}, {c.health or 'no check'})" for c in listed
                       if not (c.up and c.health in ("healthy", ""))]  # fmt: skip
            missing = [f"{s} ({counts[s]} of {expected.get(s, 1)})" for s in sorted(wanted)
                       if counts[s] < expected.get(s, 1)]  # fmt: skip
            raise LabError(
                f"the compose lab was not healthy after {timeout:.0f} s: "
                + "; ".join(waiting + missing)
                + " (lab status --target compose; podman logs or docker logs NAME)"
            )
        time.sleep(0.5)


# ---------------------------------------------------------------- the target


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _check_ports(config: LabConfig, listed: list[Container]) -> None:
    """Before compose starts anything: the ports it publishes are free, unless this project's
    containers hold them already (a second ``lab up``)."""
    if any(c.up for c in listed):
        return
    ports = {"the cloud": config.port, "nginx": config.nginx_port}
    if cloud_service() == "emulator":
        ports["the emulator's load balancer"] = config.local_port(80)
    for what, port in ports.items():
        if _port_taken(port):
            raise LabError(
                f"127.0.0.1:{port}, where the compose lab publishes {what}, is taken (the "
                "embedded lab? `lab down` stops it; or choose another port with LAB_PORT, "
                "LAB_NGINX_PORT or LAB_LISTENER_PORT_OFFSET)"
            )


def cloud_config(config: LabConfig) -> LabConfig:
    """The configuration the host's clients use for this cloud: LocalStack serves websites on
    its own host names."""
    if cloud_service() == "localstack" and not config.website_url:
        url = "http://{bucket}.s3-website.localhost.localstack.cloud:" + str(config.port)
        return dataclasses.replace(config, website_url=url)
    return config


def up(config: LabConfig, echo: Echo, preload: Callable[[], None] | None = None) -> None:
    """Build the images if missing or stale, start compose.yaml's services, wait for the cloud,
    create the URL2PNG queues and bucket through boto3, wait for every container's health,
    and print where everything is."""
    if not COMPOSE_FILE.exists():
        raise LabError(f"{COMPOSE_FILE} is missing: run the lab from its checkout")
    engine = find_engine(config, echo)
    cloud = cloud_service()
    expected = expected_containers()
    client = engine.client()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="lab-up") as pool:
            if preload is not None:
                pool.submit(preload)
            listed = containers(engine, client)
            _check_ports(config, listed)
            built = build_images(config, echo, engine)
            recreate = ["--force-recreate"] if built and listed else []
            echo(f"compose lab: starting {_summary(expected)} with {engine.describe()}")
            _run_logged(
                config,
                compose_command(engine, "up", "-d", "--no-build", *recreate),
                compose_env(config, engine),
                "compose up",
                "compose",
            )
            wait_healthy(engine, client, [cloud], expected)
            cfg = cloud_config(config)
            _cloud_ready(cfg, cloud)
            echo(
                f"cloud: {_cloud_name(cloud)} at {cfg.endpoint} (in the containers: http://cloud:4566)"
            )
            from lab.url2png import resources as url2png_resources

            made = url2png_resources.ensure(cfg)
            echo(url2png_resources.summary(made))
            others = [s for s in expected if s != cloud]
            ready = wait_healthy(engine, client, others, expected)
    finally:
        client.close()
    by_service: dict[str, list[Container]] = {}
    for c in ready:
        by_service.setdefault(c.service, []).append(c)
    web = by_service.get("web", [])
    echo(
        f"web containers: {len(web)}, private IPs {', '.join(c.ip for c in web)} port "
        f"{WEB_PORT} (each page shows its container's own)"
    )
    nginx_url = f"http://127.0.0.1:{config.nginx_port}/"
    echo(f"load balancer (nginx, round robin over the web containers): {nginx_url}")
    if cloud == "emulator":
        echo(emulator_balancer(cfg, [c.ip for c in web]))
    workers = by_service.get("worker", [])
    echo(
        f"URL2PNG workers: {len(workers)} containers ({', '.join(c.name for c in workers)}); "
        "they render what the compose network reaches, e.g. lab url2png submit --target "
        "compose http://nginx/ (or http://pages:7081/sunrise.html)"
    )
    echo("point any AWS client at it with:  eval $(lab env --target compose)")
    echo("lab status --target compose lists the containers; lab down --target compose removes them")


def emulator_balancer(config: LabConfig, web_ips: list[str]) -> str:
    """The chapter's ALB on the emulator, in front of the same web containers (what LocalStack's
    free edition cannot do): made through EC2 and ELBv2 as on the host, the containers' IPs
    registered as ``ip`` targets, the emulator's listener port 80 published on the host. A web
    container started again gets a new IP: the next ``lab up`` registers it. The line to print."""
    from botocore.exceptions import BotoCoreError, ClientError

    from lab import aws
    from lab.lb import stack as lbstack

    spec = lbstack.StackSpec(
        targets=tuple(web_ips),
        target_port=WEB_PORT,
        health=lbstack.chapter_health_check(config.health_check_interval),
    )
    try:
        made = lbstack.ensure_stack(aws.client("ec2", config), aws.client("elbv2", config), spec)
    except (BotoCoreError, ClientError) as exc:
        raise LabError(f"creating the load balancer on the emulator failed: {exc}") from None
    what = "created " + ", ".join(made.created) if made.created else "reused"
    return (
        f"load balancer {lbstack.NAME} on the emulator, ELBv2 with the chapter's health check "
        f"in front of the same containers ({what}): http://127.0.0.1:{config.local_port(80)}/ "
        "(try: lab lb hit --target compose -n 6)"
    )


def _summary(expected: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" if n > 1 else s for s, n in expected.items())


def _cloud_name(cloud: str) -> str:
    return "the lab's emulator" if cloud == "emulator" else "LocalStack"


def _cloud_ready(config: LabConfig, cloud: str, wait: float = 60.0) -> None:
    """The emulator answers its health check as soon as it listens, while moto's services
    still start: wait for those too."""
    if cloud != "emulator":
        return
    deadline = time.monotonic() + wait
    while not runtime.emulator_ready(runtime.emulator_health(config)):
        if time.monotonic() > deadline:
            raise LabError(f"the emulator at {config.endpoint} did not get ready in {wait:.0f} s")
        time.sleep(0.2)


def down(config: LabConfig, echo: Echo) -> bool:
    """Remove every container of the project (all profiles), and the network; the cloud's
    state volume stays. Stops ``podman system service`` if the lab started it. Whether a
    container was running."""
    try:
        engine = find_engine(config, echo=None, start_service=False)
    except LabError as exc:
        echo(f"compose lab: nothing to stop ({exc})")
        return False
    listed = _list_or_empty(engine)
    running = [c for c in listed if c.up]
    if listed or running:
        _run_logged(
            config,
            compose_command(engine, "down", "-t", str(STOP_TIMEOUT), all_profiles=True),
            compose_env(config, engine),
            "compose down",
            "compose",
        )
    left = _list_or_empty(engine)
    if left:  # a container compose did not know (another profile set, a crash): removed too
        client = engine.client()
        try:
            for c in left:
                with contextlib.suppress(Exception):
                    client.containers.get(c.id).remove(force=True)
        finally:
            client.close()
    if listed:
        echo(f"compose lab: removed {len(listed)} containers ({len(running)} were running)")
    else:
        echo("compose lab: no container was there")
    if runtime.stop(config, PODMAN_SERVICE):
        echo("stopped podman system service (the lab had started it)")
    return bool(running)


def _list_or_empty(engine: Engine) -> list[Container]:
    """The project's containers, through the API if it answers, else through the engine's CLI
    (``lab down`` must work without the socket)."""
    if _api_answers(engine.api):
        return containers(engine)
    done = subprocess.run(
        [engine.cli, "ps", "-a", "--filter", f"label=com.docker.compose.project={project()}",
         "--format", "{{.ID}} {{.State}} {{.Names}}"],
        capture_output=True, text=True, env=engine.env(), check=False,
    )  # fmt: skip
    out = []
    for line in done.stdout.splitlines():
        if line.strip():
            cid, state, name = line.split(maxsplit=2)
            out.append(Container(name, "", 0, state.lower(), "", "", 0, cid))
    return out


def status(config: LabConfig, echo: Echo) -> bool:
    """The project's containers, their IPs and health (checks run now where the engine runs
    none by itself), through the Docker SDK; whether the cloud runs."""
    engine = find_engine(config, echo)
    client = engine.client()
    try:
        listed = with_health(engine, client, containers(engine, client))
        stopped_clouds = [
            explain_exit(client, c) for c in listed if c.service in CLOUDS and not c.up
        ]
    finally:
        client.close()
    if not listed:
        echo(f"compose lab: not running (no container of project {project()}; {engine.describe()})")
        return False
    echo(f"compose lab: project {project()}, {engine.describe()}")
    rows = [
        (c.name, c.service, c.state if c.up else f"{c.state}({c.exit_code})", c.health or "-",
         c.ip or "-")
        for c in listed
    ]  # fmt: skip
    header = ("CONTAINER", "SERVICE", "STATE", "HEALTH", "IP")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        echo(
            "  "
            + " ".join(f"{cell:{w}}" for cell, w in zip(row, widths, strict=False))
            + f" {row[4]}"
        )
    clouds = [c for c in listed if c.service in CLOUDS and c.up]
    if clouds:
        cloud = clouds[0].service
        echo(f"cloud: {_cloud_name(cloud)} at {cloud_config(config).endpoint}")
    else:
        echo("cloud: not running" + (f": {stopped_clouds[0]}" if stopped_clouds else ""))
    if any(c.service == "nginx" and c.up for c in listed):
        echo(f"load balancer (nginx): http://127.0.0.1:{config.nginx_port}/")
    return bool(clouds)


# ---------------------------------------------------------------- controls (for the TUI)


@contextlib.contextmanager
def _client(config: LabConfig) -> Iterator[tuple[Engine, Any]]:
    engine = find_engine(config)
    client = engine.client()
    try:
        yield engine, client
    finally:
        client.close()


def container(config: LabConfig, service: str, index: int) -> Container:
    """Replica ``index`` (1, 2, ...) of ``service``, as compose numbers them."""
    engine = find_engine(config)
    for c in containers(engine):
        if c.service == service and c.index == index:
            return c
    raise LabError(
        f"the compose lab has no container {service} {index} (lab status --target compose)"
    )


def kill(config: LabConfig, service: str, index: int, signal: str = "SIGKILL") -> Container:
    """Kill replica ``index`` of ``service`` (a worker: its message comes back after its
    visibility timeout, as with a crashed instance); the container as it was."""
    target = container(config, service, index)
    with _client(config) as (_, client):
        client.containers.get(target.id).kill(signal=signal)
    return target


def stop(config: LabConfig, service: str, index: int, timeout: int = STOP_TIMEOUT) -> Container:
    """Stop replica ``index`` of ``service`` (a web container: nginx's next connection to it
    fails, the request is retried on another, and the next DNS look-up drops it)."""
    target = container(config, service, index)
    with _client(config) as (_, client):
        client.containers.get(target.id).stop(timeout=timeout)
    return target


def start(config: LabConfig, service: str, index: int) -> Container:
    """Start a stopped or killed replica again (it may get a new IP; nginx follows)."""
    target = container(config, service, index)
    with _client(config) as (_, client):
        client.containers.get(target.id).start()
    return container(config, service, index)


def control(config: LabConfig, index: int, command: dict[str, object]) -> dict[str, Any]:
    """Send a web container the lab's control command (``{"action": "fail"}``, ``heal``,
    ``slow``; lab.web.page.apply_control) from inside it, where its control endpoint answers
    loopback peers; its state document."""
    target = container(config, "web", index)
    body = json.dumps(command)
    with _client(config) as (_, client):
        code, out = client.containers.get(target.id).exec_run(
            ["curl", "-fsS", "-H", "Content-Type: application/json", "-d", body,
             "http://127.0.0.1:8001/_lab/control"],
        )  # fmt: skip
    if code != 0:
        raise LabError(f"{target.name} refused the control command: {out.decode(errors='replace')}")
    return json.loads(out)
