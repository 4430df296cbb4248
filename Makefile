# Reelstack: `make demo` runs the platform on embedded defaults; `make test` runs the whole suite.
# Both create .venv and install everything they need (Python packages and Debian packages).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the suite and the benchmarks use (installed when missing; you are root on CI).
SYSTEM_PACKAGES := redis-server ffmpeg libchromaprint1 libchromaprint-tools chromium chromium-driver

.PHONY: install system test test-fast lint typecheck demo bench clean web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch is cached on these machines; an unpinned torch pulls GBs of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# The suite starts its own services (tansu Kafka-protocol broker, redis-server) on free loopback
# ports through session fixtures in tests/services/, and stops them when it ends. Lint and types first
# (about a minute): a checkout that drifted from either fails before the long part.
test: install system lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q tests/unit

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy events projections actors serve reelstack bench media ml sim moderation blobs pipeline

demo: install
	$(BIN)/reel up --demo

bench: install system
	$(BIN)/reel bench log --url file://$(CURDIR)/.reel/bench-log --events 500000 --json

# Rebuild the web client's committed bundle (web/dist) from web/src; needs the npm registry. Not run by `test`.
web:
	cd web && npm ci && npm run build

clean:
	rm -rf $(VENV) .reel .pytest_cache .mypy_cache .ruff_cache
