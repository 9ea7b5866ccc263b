# make lab  : set everything up, then start the lab (and open its TUI in a terminal)
# make test : set everything up, then run the whole test suite (what CI runs)
# make test-fast: the default suite, without the slow tests (under 8 minutes)
# make setup: the shared set-up step (a second run does nothing)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the lab runs for real: the browser the workers drive, the web server behind
# `lab lb --engine nginx`, fonts for rendered pages.
APT_PACKAGES := chromium nginx-light fonts-dejavu-core sqlite3
# What the benchmarks drive besides the lab: wrk, the load generator of bench/alb_vs_nginx.
BENCH_PACKAGES := wrk
# The lab in containers (compose.yaml, lab up --target compose, tests/compose): podman as root
# with runc (docker/containers.conf), catatonit for `init: true`, debootstrap for the base image
# where no registry is reachable (docker/build-base.sh), Debian's docker-compose to validate
# compose.yaml; podman-compose comes from PyPI (the dev extras).
COMPOSE_PACKAGES := podman runc catatonit debootstrap docker-compose

.PHONY: setup system lab test test-fast lint bench clean

setup: system $(STAMP)

system:
	@missing=""; \
	for p in $(APT_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The lab needs these Debian packages; install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@echo "setting up: a Python environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@echo "setting up: pip"
	@$(BIN)/pip install -q --upgrade pip
	@echo "setting up: the lab and its Python packages (boto3, moto, pyppeteer, textual, ...; about a minute the first time)"
	@$(BIN)/pip install -q -e '.[dev]'
	@echo "setting up: aws-sdk v2 for the book's Node.js producer (tests/js)"
	@cd tests/js && npm install --no-audit --no-fund --silent
	@touch $(STAMP)
	@echo "set up: $(BIN)/lab is ready"

# In a terminal, the lab opens on one screen (lab tui); without one (CI, scripts) it only starts.
# `lab up --tui` does both in one process (it checks for the terminal), loading the TUI while
# the local cloud starts.
lab: setup
	$(BIN)/lab up --tui

test: EXTRA_PACKAGES = $(COMPOSE_PACKAGES)
test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "slow or not slow"

test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: EXTRA_PACKAGES = $(BENCH_PACKAGES)
bench: setup
	$(BIN)/python -m bench.sqs_throughput

clean:
	rm -rf $(VENV) .lab
