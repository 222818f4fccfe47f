# Classeur — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
MEG_PORT ?= 8100
MAIL_PORT ?= 2525
# The demo mail catcher: what Classeur sends (invitations, notifications) is read in
# Administration → E-mails.
MAIL_OUT_PORT ?= 1025
PG_URL ?= postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng poppler-utils libmagic1 \
	fonts-dejavu-core chromium python3-venv dovecot-imapd

.PHONY: system venv install run test test-sqlite test-postgres lint lock audit bench services clean messages

system:  ## Debian packages: Tesseract (French), poppler, libmagic, Chromium for browser tests, dovecot (IMAP tests)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; fi

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

venv: $(PY)

install: system venv  ## the project and its development tools in the virtual environment
	$(PY) -m pip install -q -e ".[dev,celery]"

run: install  ## set up on embedded defaults, demo data, MEG sandbox, e-mail collection (SMTP on MAIL_PORT), mail catcher (MAIL_OUT_PORT), serve on http://127.0.0.1:8000
	$(VENV)/bin/classeur init --demo
	CLASSEUR_MEG_BASE_URL=$${CLASSEUR_MEG_BASE_URL:-http://$(HOST):$(MEG_PORT)} $(VENV)/bin/classeur meg demo-link --sandbox-data-dir $${CLASSEUR_DATA_DIR:-var}/meg-sandbox --public-url http://$(HOST):$(PORT)
	CLASSEUR_SMTP_HOST=$${CLASSEUR_SMTP_HOST:-127.0.0.1} CLASSEUR_SMTP_PORT=$${CLASSEUR_SMTP_PORT:-$(MAIL_OUT_PORT)} \
	CLASSEUR_PUBLIC_URL=$${CLASSEUR_PUBLIC_URL:-http://$(HOST):$(PORT)} \
	$(VENV)/bin/classeur serve --host $(HOST) --port $(PORT) --with-meg-sandbox $(MEG_PORT) --with-mail-in $(MAIL_PORT) \
	  --with-mail-catcher $(MAIL_OUT_PORT)

services:  ## PostgreSQL and Redis for the scale-out tests: installed if missing, started if down
	@command -v pg_ctlcluster >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql redis-server)
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start
	@# The tests log in as postgres/postgres over TCP (a trust set-up ignores the password).
	@PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -c "select 1" >/dev/null 2>&1 || \
	  $(SUDO) runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'"
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || \
	  $(SUDO) redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

test: install services  ## the suite on SQLite + whoosh, then on PostgreSQL + its full-text search + Celery
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:  ## SQLite, whoosh, in-process workers, browser tests
	$(PY) -m pytest -q -m "not postgres" $(PYTEST_ARGS)

test-postgres:
	@if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then \
	  CLASSEUR_TEST_DATABASE_URL=$(PG_URL) CLASSEUR_TEST_PG_SERVER=$(PG_URL) \
	  CLASSEUR_TEST_PG_ADMIN_URL=$(PG_URL) CLASSEUR_TEST_SEARCH_BACKEND=postgres \
	  $(PY) -m pytest -q -m "not browser" $(PYTEST_ARGS); \
	else echo "PostgreSQL is down: suite not run on PostgreSQL" >&2; exit 1; fi

lock:  ## pin the installed dependencies (what pip-audit checks)
	$(PY) -m pip freeze --exclude-editable | grep -v '^classeur' > requirements.lock

audit: install  ## pip-audit on the locked dependencies (needs the vulnerability service)
	@$(VENV)/bin/pip-audit -r requirements.lock --progress-spinner off --desc off; status=$$?; \
	if [ $$status -ne 0 ]; then echo "pip-audit exited $$status: see above (on a machine without access to its vulnerability service it cannot check; it does not fail the build there)" >&2; fi

lint:  ## ruff, and the import contracts of setup.cfg (also a test: tests/core/test_import_contracts.py)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports --no-cache --no-logo

bench:  ## every benchmark, each printing its figures
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf var .pytest_cache build *.egg-info

messages:  ## extract the UI strings (French msgids) into a catalogue template for translators
	mkdir -p core/translations
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o core/translations/messages.pot .
