#!/bin/sh
# A URL2PNG worker container: wait until the url2png queue exists (`lab up --target compose`
# creates it once the cloud is healthy), then become `lab worker` (exec: the worker is the
# init's direct child and gets SIGTERM itself, finishing the jobs in flight).
#
# Why wait here rather than restart: the cloud may be LocalStack or the emulator (profiles), so
# no depends_on can name it; and a worker restarted by its engine until the queue appears would
# fill the logs with tracebacks.
set -eu
said=""
until python -c 'from lab.config import LabConfig
from lab.url2png.resources import lookup
lookup(LabConfig.from_env())' 2>/dev/null; do
  if [ -z "$said" ]; then
    echo "worker: waiting for the queue ${LAB_URL2PNG_QUEUE:-url2png} at ${LAB_ENDPOINT_URL} (lab up --target compose creates it)" >&2
    said=1
  fi
  sleep 2
done
exec lab worker "$@"
