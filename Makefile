# voicedesk — the two commands of the quick start:
#   make run    install what is missing, then serve on http://127.0.0.1:8080 (embedded SQLite)
#   make test   install the test extras, then run lint, type checks and the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# Debian packages the service and its tests need: espeak-ng (speech synthesis through pyttsx3).
DEBS   := espeak-ng
# The browser tests drive Debian's Chromium (never a downloaded one); Nanum renders Korean.
TEST_DEBS := chromium fonts-nanum
PKGS = $(DEBS)

.PHONY: run test install install-test system-deps services lint typecheck pytest bench clean

run: system-deps install .env
	$(BIN)/voicedesk serve

test: PKGS = $(DEBS) $(TEST_DEBS)
test: system-deps install-test services lint typecheck pytest

system-deps:
	@missing=""; for pkg in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# A local development secret so `make run` and `voicedesk call` agree on webhook signatures.
# Replace it with your Twilio auth token in production (see docs/DEPLOYMENT.md).
.env:
	@echo "VOICEDESK_TWILIO_AUTH_TOKEN=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')" > $@
	@echo "created .env with a random local VOICEDESK_TWILIO_AUTH_TOKEN"

# The test suite runs against the real PostgreSQL server of this machine kind; start it if down.
services:
	@if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	fi
	@if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
	  $(SUDO) redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	fi
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy config ivr telephony speech agents callbacks calls chat history web

pytest: install-test
	$(BIN)/pytest -q -p no:cacheprovider

bench: install-test
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) build *.egg-info prompt-cache .mypy_cache .ruff_cache
