"""moto_server as ``moto_server`` runs it, except that queues are loaded with their backlog
before it serves: moto's SendMessage gets slower with every message already queued, so filling
10,000 messages through its API takes most of an hour on this machine, while filling its backend
directly takes a second. Every measured call still goes through moto's HTTP server.

    python -m bench.moto_prefilled --port P --queue NAME:COUNT [--queue NAME:COUNT ...]
"""

from __future__ import annotations

import argparse
import uuid

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sqs.models import Message, sqs_backends
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queue", action="append", default=[], help="NAME:COUNT")
    args = parser.parse_args()
    backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    for spec in args.queue:
        name, count = spec.rsplit(":", 1)
        queue = backend.create_queue(name, VisibilityTimeout="600")
        for _ in range(int(count)):
            # what backend.send_message does, minus its recount of the whole queue per message
            message = Message(str(uuid.uuid4()), "x" * 100)
            message.mark_sent(delay_seconds=0)
            queue.add_message(message)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
