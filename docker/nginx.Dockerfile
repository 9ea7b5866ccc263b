# nginx in front of the compose lab's web replicas, from Debian's nginx-light.
#
#   podman build -f docker/nginx.Dockerfile -t localhost/decoupling-lab-nginx [--build-arg BASE_IMAGE=...] .
#
# Its upstream follows the replicas of the `web` service through the compose network's DNS:
# docker/nginx/entrypoint.sh says how and why.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light curl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stderr /var/log/nginx/error.log

COPY docker/nginx/nginx.conf /etc/nginx/nginx.conf
COPY docker/nginx/entrypoint.sh /usr/local/bin/lab-nginx
RUN chmod 755 /usr/local/bin/lab-nginx

EXPOSE 80
# nginx finishes the requests in progress on SIGQUIT; SIGTERM drops them.
STOPSIGNAL SIGQUIT
CMD ["/usr/local/bin/lab-nginx"]
