"""The instance runner: every running EC2 instance in moto is a local process.

moto keeps EC2 instances as records. This adapter copies them (on moto's thread) every
``instance_sync_interval`` seconds (default 0.3) and right after EC2, Auto Scaling and
CloudFormation calls that change something, and reconciles:

- each instance that is not terminated holds a loopback address from ``instance_network``
  (default ``127.0.1.0/24``: 127.0.1.1, .2, ...). The allocation is saved in
  ``STATE_DIR/ec2/addresses.json`` and survives restarts; a stopped instance keeps its address,
  a terminated one frees it;
- each *running* instance has one workload process, started from ``instance_command``
  (default: the lab's web server, ``{python} -m lab.web.server --ip {address} --port {port}
  --imds {imds} --name {name}``) on its address and ``instance_port`` (default 80, the
  chapter's target-group port: the load balancer sends traffic to the port the instance is
  registered with). The workload learns its private IP and instance id from the metadata
  service at ``{imds}`` (the emulator's own endpoint), as the chapter's user data does;
- stopping or terminating an instance (directly, by scaling in, by deleting its stack) ends its
  process; a process that exits on its own is started again, with a growing delay;
- terminated instances are deregistered from target groups (moto leaves them registered when an
  Auto Scaling group scales in; Elastic Load Balancing deregisters them on AWS).

The processes are the emulator's children: they are stopped when it shuts down, and started
again for the instances still running in the restored state when it starts. Each has a pid file
in ``STATE_DIR/ec2/run``, so one left behind by an emulator that was killed is ended at the next
start. Their output goes to ``STATE_DIR/ec2/logs/<instance-id>.log``.

``instance_workloads`` off keeps instances as records only (addresses are still given, so
the load balancer reaches whatever serves there). The settings are the emulator's
(``emulator.config``), set from the lab's ``LAB_INSTANCE_*`` variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.config import EmulatorSettings
from emulator.ec2 import core
from emulator.ec2.core import InstanceView, Workload
from emulator.events.ec2 import (
    Ec2InstanceState,
    Ec2WorkloadEvent,
    Ec2WorkloadExit,
    Ec2WorkloadStart,
    Ec2WorkloadStop,
)
from emulator.events.model import Event
from emulator.moto_bridge import MotoBridge
from emulator.waiting import sync_forever

EventSink = Callable[[Event], None]  # the event log's publish

log = logging.getLogger("emulator.ec2")

STOP_TIMEOUT = 3.0
# A process that ran this long before exiting starts again without delay.
STABLE_SECONDS = 30.0


def _sync_on_moto(account_id: str) -> tuple[list[InstanceView], int]:
    from emulator.ec2.moto_state import deregister_terminated, read_instances

    removed = deregister_terminated(account_id)
    return read_instances(account_id), removed


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a reused pid from our process), or None when
    no such process runs (a zombie waiting for its parent counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] in ("Z", "X") else fields[19]


class InstanceRunner:
    def __init__(
        self,
        moto: MotoBridge,
        settings: EmulatorSettings,
        *,
        publish: EventSink | None = None,
    ) -> None:
        self.moto = moto
        self.settings = settings
        self.network = ipaddress.IPv4Network(settings.instance_network, strict=False)
        self.port = settings.instance_port
        self.command = settings.instance_command
        self.sync_interval = settings.instance_sync_interval
        self.run_workloads = settings.instance_workloads
        self.dir = settings.state_dir / "ec2"
        self.addresses_file = self.dir / "addresses.json"
        self.run_dir = self.dir / "run"
        self.log_dir = self.dir / "logs"
        # Replaced, never mutated: ``resolve`` reads them from moto's thread.
        self.addresses: dict[str, str] = self._load_addresses()
        self.by_address: dict[str, str] = {a: i for i, a in self.addresses.items()}
        self.views: dict[str, InstanceView] = {}
        self.workloads: dict[str, Workload] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.on_event: EventSink | None = publish  # ec2.instance_state, ec2.workload.* events

    def _emit(self, kind: type[Ec2WorkloadEvent], instance_id: str, **fields: Any) -> None:
        """Publish a workload event for ``instance_id`` (the log stamps the time), naming its
        private IP as moto records it."""
        if self.on_event is not None:
            view = self.views.get(instance_id)
            private_ip = view.private_ip if view else None
            self.on_event(kind(instance_id=instance_id, private_ip=private_ip, **fields))

    # -- what other parts of the emulator ask -----------------------------------------------

    @property
    def imds_url(self) -> str:
        return self.settings.local_endpoint

    def resolve(self, instance_id: str) -> str | None:
        """The loopback address of an instance (any thread), or None."""
        return self.addresses.get(instance_id)

    def instance_at(self, address: str) -> InstanceView | None:
        instance_id = self.by_address.get(address)
        return self.views.get(instance_id) if instance_id else None

    def describe(self) -> dict[str, Any]:
        instances = []
        for view in sorted(self.views.values(), key=lambda v: v.instance_id):
            work = self.workloads.get(view.instance_id)
            address = self.addresses.get(view.instance_id)
            instances.append(
                {
                    "instance_id": view.instance_id,
                    "state": view.state,
                    "region": view.region,
                    "private_ip": view.private_ip,
                    "availability_zone": view.availability_zone,
                    "name": view.name,
                    "address": address,
                    "url": f"http://{address}:{self.port}/" if address else None,
                    "pid": work.pid if work else None,
                    "restarts": work.exits if work else 0,
                }
            )
        return {
            "network": str(self.network),
            "port": self.port,
            "imds": self.imds_url,
            "workloads": self.run_workloads,
            "command": self.command,
            "instances": instances,
        }

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._end_leftovers)
        self._task = asyncio.create_task(self._loop(), name="ec2-instances")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        async with self._lock:
            await asyncio.gather(*(self._stop(iid) for iid in list(self.procs)))

    def poke(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        await sync_forever(
            self.sync, self._wake, self.sync_interval, lambda: self._stopping, log, "instance"
        )

    # -- reconcile ----------------------------------------------------------------------------

    async def sync(self) -> None:
        async with self._lock:
            views, removed = await self.moto.run_sync(_sync_on_moto, self.settings.account_id)
            if removed:
                self.moto.changed()  # moto's records were fixed behind any request
            previous, self.views = self.views, {view.instance_id: view for view in views}
            self._publish_states(previous)
            addresses = core.allocate(views, self.addresses, self.network)
            if addresses != self.addresses:
                self.addresses = addresses
                self.by_address = {a: i for i, a in addresses.items()}
                await asyncio.to_thread(self._save_addresses, addresses)
            self._reap()
            if not self.run_workloads:
                return
            todo = core.plan(views, self.addresses, self.workloads, time.monotonic())
            if todo.stop:
                await asyncio.gather(*(self._stop(iid) for iid in todo.stop))
            for iid in todo.start:
                self._start(self.views[iid], self.addresses[iid])

    def _publish_states(self, previous: dict[str, InstanceView]) -> None:
        """An ``ec2.instance_state`` event for each instance whose state differs from the last
        read of moto's records (or that was not in it)."""
        for iid, view in self.views.items():
            before = previous.get(iid)
            if before is None or before.state != view.state:
                self._emit(
                    Ec2InstanceState,
                    iid,
                    previous=before.state if before else None,
                    state=view.state,
                )

    def _reap(self) -> None:
        """Notice processes that exited on their own."""
        now = time.monotonic()
        for iid, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[iid]
            (self.run_dir / f"{iid}.pid").unlink(missing_ok=True)
            work = self.workloads.get(iid)
            if work is None:
                continue
            ran = now - work.started_at
            work.exits = 1 if ran > STABLE_SECONDS else work.exits + 1
            work.last_exit, work.exit_code, work.pid = now, code, None
            self._emit(Ec2WorkloadExit, iid, address=work.address, code=code)
            log.warning(
                "workload of %s on %s exited with %s after %.1f s; starting it again in %.0f s "
                "(log: %s)",
                iid,
                work.address,
                code,
                ran,
                work.backoff(),
                self.log_dir / f"{iid}.log",
            )

    def _start(self, view: InstanceView, address: str) -> None:
        try:
            argv = core.command_line(
                self.command,
                python=sys.executable,
                address=address,
                port=self.port,
                imds=self.imds_url,
                view=view,
            )
        except ValueError as exc:
            log.error("%s", exc)
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        work = self.workloads.get(view.instance_id)
        if work is None or work.address != address:
            work = Workload(view.instance_id, address)
            self.workloads[view.instance_id] = work
        try:
            with open(self.log_dir / f"{view.instance_id}.log", "ab") as out:
                proc = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        except OSError as exc:
            work.exits += 1
            work.last_exit = time.monotonic()
            log.error("cannot start the workload of %s: %s", view.instance_id, exc)
            return
        self.procs[view.instance_id] = proc
        work.pid, work.started_at = proc.pid, time.monotonic()
        self._emit(
            Ec2WorkloadStart, view.instance_id, address=address, port=self.port, pid=proc.pid
        )
        (self.run_dir / f"{view.instance_id}.pid").write_text(
            json.dumps({"pid": proc.pid, "start": _start_time(proc.pid), "address": address})
        )
        log.info(
            "instance %s (%s) runs on %s:%d, pid %d",
            view.instance_id,
            view.private_ip,
            address,
            self.port,
            proc.pid,
        )

    async def _stop(self, instance_id: str) -> None:
        self.workloads.pop(instance_id, None)
        proc = self.procs.pop(instance_id, None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.to_thread(proc.wait)
            log.info("instance %s: workload stopped", instance_id)
            self._emit(Ec2WorkloadStop, instance_id, pid=proc.pid)
        (self.run_dir / f"{instance_id}.pid").unlink(missing_ok=True)

    # -- files --------------------------------------------------------------------------------

    def _load_addresses(self) -> dict[str, str]:
        try:
            data = json.loads(self.addresses_file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _save_addresses(self, addresses: dict[str, str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.addresses_file.with_name(self.addresses_file.name + ".tmp")
        tmp.write_text(json.dumps(addresses, indent=1, sort_keys=True))
        os.replace(tmp, self.addresses_file)

    def _end_leftovers(self) -> None:
        """End workloads an earlier emulator of this state folder left running (kill -9)."""
        if not self.run_dir.is_dir():
            return
        leftovers = {}
        for pid_file in self.run_dir.glob("*.pid"):
            try:
                record = json.loads(pid_file.read_text())
                pid, started = int(record["pid"]), record.get("start")
            except (OSError, ValueError, KeyError, TypeError):
                pid, started = 0, None
            pid_file.unlink(missing_ok=True)
            if started is not None and _start_time(pid) == started:
                log.info("ending workload %s left by an earlier run (pid %d)", pid_file.stem, pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
                leftovers[pid] = started
        deadline = time.monotonic() + STOP_TIMEOUT
        while leftovers and time.monotonic() < deadline:
            leftovers = {p: s for p, s in leftovers.items() if _start_time(p) == s}
            time.sleep(0.02)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
