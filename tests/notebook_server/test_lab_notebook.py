"""`lab notebook`: Jupyter on 127.0.0.1 behind a token, with exercises/ and notebooks/, and
kernels in the lab's own environment with the lab's settings: a cell run over Jupyter's own
protocol imports `lab` from this checkout and sees this lab's port."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tornado.websocket import websocket_connect

from bench.common import stop_process
from emulator.config import CHECKOUT
from tests.support.lab import LAB, isolated_env
from tests.support.ports import free_port

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with NO_PROXY.open(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None  # not listening yet


async def run_cell(base: str, token: str, kernel: str, code: str) -> str:
    """``code`` on ``kernel`` through Jupyter's websocket; what it printed."""
    ws = await websocket_connect(
        f"{base.replace('http', 'ws')}/api/kernels/{kernel}/channels?token={token}"
    )
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }))  # fmt: skip
    out = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.read_message(), 60)
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "stream":
            out += message["content"]["text"]
        elif kind == "error":
            raise AssertionError(message["content"])
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            break
    ws.close()
    return out


def test_lab_notebook(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, balancer=False)
    port = free_port()
    proc = subprocess.Popen(
        [LAB, "notebook", "--port", str(port)], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=([0-9a-f]+)", first)
        assert match, first
        base, token = match.groups()
        deadline = time.monotonic() + 60
        while get(f"{base}/api/status?token={token}")[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "Jupyter did not start"
            time.sleep(0.3)
        assert get(f"{base}/api/contents")[0] == 403  # no token, nothing
        status, contents = get(f"{base}/api/contents?token={token}")
        assert status == 200
        names = {item["name"] for item in contents["content"]}  # type: ignore[index]
        assert {"exercises", "notebooks"} <= names
        status, kernel = get(f"{base}/api/kernels?token={token}", "POST", {"name": "python3"})
        assert status in (200, 201), status
        printed = asyncio.run(
            run_cell(
                base,
                token,
                kernel["id"],
                "import os, lab; print(lab.__file__); print(os.environ['LAB_PORT'])",
            )  # type: ignore[index]
        )
        where, lab_port = printed.split()
        assert Path(where).is_relative_to(CHECKOUT) and lab_port == env["LAB_PORT"]
    finally:
        stop_process(proc)
