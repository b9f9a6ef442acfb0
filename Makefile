# voicedesk — the two commands of the quick start:
#   make run    install what is missing, then serve on http://127.0.0.1:8080 (embedded SQLite)
#   make test   install the test extras, then run lint, type checks and the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# Debian packages the service and its tests need: espeak-ng (speech synthesis through pyttsx3).
DEBS   := espeak-ng
# The browser tests drive Debian's Chromium (never a downloaded one); Nanum renders Korean;
# sox is the reference the μ-law encoder is checked against.
# The suite starts its own throwaway PostgreSQL and Redis servers from Debian's binaries
# (tests/support/servers.py), never the machine-wide services these packages also set up.
TEST_DEBS := chromium fonts-nanum postgresql redis-server sox
PKGS = $(DEBS)

.PHONY: run test install install-test system-deps lint typecheck pytest fuzz bench clean

run: system-deps install .env
	$(BIN)/voicedesk serve

test: PKGS = $(DEBS) $(TEST_DEBS)
test: system-deps install-test lint typecheck pytest

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

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy config ivr telephony speech agents callbacks calls chat history web

pytest: install-test
	$(BIN)/pytest -q -p no:cacheprovider

# The fuzz tests with the "fuzz" profile: 5,000 cases per family on SQLite and PostgreSQL
# (`make test` runs the same tests with the "ci" profile, 200 cases each; tests/support/fuzzing.py).
fuzz: PKGS = $(DEBS) $(TEST_DEBS)
fuzz: system-deps install-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

bench: install-test
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) build *.egg-info prompt-cache .mypy_cache .ruff_cache
