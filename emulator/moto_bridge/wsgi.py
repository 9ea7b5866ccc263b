"""Call moto's WSGI application from aiohttp without blocking the event loop."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from aiohttp import web

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class WsgiRunner:
    """Runs every call of one WSGI app on a single dedicated thread, in the order they come.
    The app may be set later (``app`` None), by a job run on that thread before any request:
    the calls behind it wait for it."""

    def __init__(self, app: WsgiApp | None, server_name: str, server_port: int) -> None:
        self.app = app
        self.server_name = server_name
        self.server_port = server_port
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moto")

    def run_sync(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn`` on moto's thread (for snapshots and reads of moto state)."""
        return asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        environ = self._environ(request, body)
        status, headers, payload = await self.run_sync(self._call, environ)
        response = web.Response(status=status, body=payload)
        for name, value in headers:
            if name.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            response.headers.add(name, value)
        return response

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        if self.app is None:
            raise RuntimeError("the WSGI app is not loaded")
        chunks = self.app(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], payload

    def _environ(self, request: web.Request, body: bytes) -> dict[str, Any]:
        raw_path = request.raw_path
        path, _, query = raw_path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "RAW_URI": raw_path,
            "REQUEST_URI": raw_path,
            "QUERY_STRING": query,
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": str(self.server_port),
            "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
            "REMOTE_ADDR": request.remote or "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key == "CONTENT_LENGTH":
                continue
            else:
                http_key = "HTTP_" + key
                environ[http_key] = f"{environ[http_key]},{value}" if http_key in environ else value
        environ.setdefault("CONTENT_TYPE", "")
        return environ
