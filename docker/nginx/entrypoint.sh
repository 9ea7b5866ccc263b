#!/bin/sh
# nginx in front of the web replicas, with an upstream that follows them.
#
# Why not `server web:8001;` in the upstream: open-source nginx (1.22 in bookworm) resolves an
# upstream's names once, when it loads its configuration, so replicas started, stopped or
# scaled later would never be seen. (`proxy_pass http://$name` with a `resolver` re-resolves, but
# then nginx picks one address at random per request: no round robin, no max_fails.) So this
# script asks the compose network's DNS (aardvark-dns under podman, Docker's embedded DNS, both
# answer the service name with every running replica's address) every UPSTREAM_REFRESH seconds,
# writes one `server IP:PORT` line per replica, and reloads nginx when the set changes. A reload
# is graceful: requests in progress finish on the old workers.
#
# Between a replica's stop and the next look-up, nginx's passive checks cover the gap: a
# connection that fails (1 s connect timeout) is retried on the next server, and the failed
# server is skipped for fail_timeout.
set -eu

SERVICE=${UPSTREAM_SERVICE:-web}
PORT=${UPSTREAM_PORT:-8001}
REFRESH=${UPSTREAM_REFRESH:-2}
UPSTREAM=/etc/nginx/lab-upstream.conf

servers() {
  # Every IPv4 address the service name has now, sorted so the same set gives the same file.
  getent ahostsv4 "$SERVICE" 2>/dev/null | awk '{print $1}' | sort -u -t . -k1,1n -k2,2n -k3,3n -k4,4n
}

render() {
  addresses=$(servers)
  {
    echo "# written by docker/nginx/entrypoint.sh from the DNS name $SERVICE; do not edit"
    if [ -z "$addresses" ]; then
      echo "server 127.0.0.1:9 down;  # no replica of $SERVICE runs"
    fi
    for ip in $addresses; do
      echo "server $ip:$PORT max_fails=1 fail_timeout=10s;"
    done
  } >"$UPSTREAM.new"
  if ! cmp -s "$UPSTREAM.new" "$UPSTREAM" 2>/dev/null; then
    mv "$UPSTREAM.new" "$UPSTREAM"
    return 0
  fi
  rm -f "$UPSTREAM.new"
  return 1
}

follow() {
  while sleep "$REFRESH"; do
    if render; then
      echo "nginx: upstream $SERVICE now $(grep -c '^server [0-9]' "$UPSTREAM" || true) server(s): reloading" >&2
      nginx -s reload || true
    fi
  done
}

render || true
echo "nginx: upstream $SERVICE: $(grep -c "^server .*max_fails" "$UPSTREAM" || true) server(s) at start" >&2
nginx -t -q
follow &
exec nginx -g 'daemon off;'
