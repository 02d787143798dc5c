# The clinic's front-desk assistant. `make run` and `make test` install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
# The model is named after what it is trained from, so it is trained again only when that changes.
MODEL_HASH = $(shell cat config.yml domain.yml $$(find data -name '*.yml' | LC_ALL=C sort) | sha256sum | cut -c1-12)
MODEL := models/clinic-$(MODEL_HASH).tar.gz
# The chat widget's socket.io client, vendored from the npm registry (pinned, integrity-checked).
WIDGET_JS := bot/web/static/vendor/socket.io.min.js
# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
CHROMIUM := /usr/bin/chromium

.PHONY: help install model run run-rasa test lint validate train widget staff-user purge bench-nlu bench-dialogue bench-load clean

help:
	@echo "make run     - install, train if needed, start Rasa (5005), actions (5055) and the web app (8000)"
	@echo "make run-rasa RASA_PORT=5006 - one more Rasa server for the same actions (needs REDIS_URL; deploy/README.md)"
	@echo "make test    - install, train if needed, run every test"
	@echo "make lint    - ruff and mypy"
	@echo "make train   - train the model for the current data (if not trained yet)"
	@echo "make staff-user USERNAME=x ROLE=admin - create a staff account (asks for the password)"
	@echo "make purge DAYS=N - delete conversations idle for N days (audited)"
	@echo "make bench-nlu - language benchmark against dateparser, timefhuman and the stock pipeline"
	@echo "make bench-dialogue - simulated patients talk to the real bot; figures in bench/reports/dialogue.md"

$(VENV)/bin/python:
	"$$(scripts/find-python310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25" "setuptools<71" wheel

$(INSTALLED): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(INSTALLED)

$(MODEL): | $(INSTALLED)
	mkdir -p models
	$(RASA) train --fixed-model-name clinic-$(MODEL_HASH) --out models --quiet
	@ls models/clinic-*.tar.gz | grep -v "$(MODEL_HASH)" | xargs -r rm -f

model train: $(MODEL)

$(WIDGET_JS): scripts/vendor_js.py | $(INSTALLED)
	$(PY) scripts/vendor_js.py

widget: $(WIDGET_JS)

run: $(MODEL) $(WIDGET_JS)
	$(PY) -m bot.run --model $(MODEL)

# One more Rasa server (RASA_PORT) beside `make run`, sharing its action server, database and Redis.
run-rasa: $(MODEL)
	$(PY) -m bot.run --model $(MODEL) --only rasa

$(CHROMIUM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Browser tests need Debian's chromium at $(CHROMIUM) (apt-get install chromium); without it they are skipped."; \
	fi

# The spelling test checks every English word of Debian's word lists (tests/language/test_spelling_dictionary.py).
WORDLISTS := /usr/share/dict/american-english /usr/share/dict/british-english
$(WORDLISTS):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wamerican wbritish >/dev/null; \
	else \
		echo "The spelling test needs Debian's word lists (apt-get install wamerican wbritish)."; \
	fi

# The database-outage tests stop and start a private PostgreSQL cluster of their own (initdb, pg_ctl).
POSTGRES_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
postgres-server:
	@if [ -n "$(POSTGRES_INITDB)" ] || command -v initdb >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "The database-outage tests need PostgreSQL's server binaries (apt-get install postgresql)."; \
	fi

# The scale-out tests (tests/deploy) put Debian's nginx in front of two Rasa servers.
NGINX := /usr/sbin/nginx
$(NGINX):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else \
		echo "The scale-out tests need Debian's nginx at $(NGINX) (apt-get install nginx); without it they are skipped."; \
	fi

test: $(MODEL) $(WIDGET_JS) | $(CHROMIUM) $(WORDLISTS) postgres-server $(NGINX)
	CLINIC_MODEL=$(MODEL) $(PY) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check bot actions tests
	$(VENV)/bin/mypy bot actions

staff-user: | $(INSTALLED)
	$(PY) -m bot.cli create-staff-user --username "$(USERNAME)" --role "$(or $(ROLE),staff)"

purge: | $(INSTALLED)
	$(PY) -m bot.cli purge --older-than-days "$(DAYS)"

# The peers of the benchmark live in their own venv: their current releases need newer
# regex / dateutil / pytz than Rasa 3.6 allows.
PEERS := bench/.venv-peers
$(PEERS)/.installed: bench/requirements.txt
	"$$(scripts/find-python310)" -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet -r bench/requirements.txt
	touch $@

bench-nlu: $(MODEL) $(PEERS)/.installed
	CLINIC_MODEL=$(MODEL) $(PY) bench/nlu.py

# Simulated patients (bench/dialogue/*.yml) over the REST channel of a real Rasa + action server.
bench-dialogue: $(MODEL)
	CLINIC_MODEL=$(MODEL) $(PY) bench/dialogue.py

# N patients (default 20) for DURATION s (default 45) against ours, then the stock `rasa init`
# assistant (trained once into bench/.cache); figures in bench/reports/load.md.
bench-load: $(MODEL)
	CLINIC_MODEL=$(MODEL) $(PY) bench/load.py --patients $(or $(N),20) --duration $(or $(DURATION),45)

validate: $(INSTALLED)
	$(RASA) data validate

clean:
	rm -rf models results .rasa bot/web/static/vendor
