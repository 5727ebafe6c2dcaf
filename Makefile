# TVShop CRM — the two commands for a new machine are `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# The test wiring: real PostgreSQL and Redis on this machine (see .ci/run).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tvshop
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SECRET_KEY=test-only-not-secret DEBUG=0 ALLOWED_HOSTS=127.0.0.1,localhost,testserver

.PHONY: run test install lint format check messages clean bench services chromium demo

$(STAMP): pyproject.toml constraints.txt package.json
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP) locale/.compiled

# Translations are compiled at set-up (the .mo files are build output, not committed).
locale/.compiled: $(STAMP) $(wildcard locale/*/LC_MESSAGES/django.po)
	@command -v msgfmt >/dev/null || { apt-get update -qq && apt-get install -y -qq gettext; }
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
	touch locale/.compiled

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py load_demo --if-empty
	$(BIN)/python manage.py load_demo_seats -v 0
	@echo ""
	@echo "  TVShop CRM: http://127.0.0.1:$(PORT)/"
	@echo "  Demo log-ins (password for all: $$($(BIN)/python manage.py load_demo --print-password)):"
	@$(BIN)/python manage.py load_demo --print-logins
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	@# A CJK font, or the Chinese pages render as boxes in screenshots.
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei; }

services:
	bash .ci/services

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(TEST_ENV) $(BIN)/python manage.py check --fail-level WARNING
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run -v 1

test: install chromium services lint check
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=var --ignore=bench --no-obsolete
	$(BIN)/python manage.py makemessages -d djangojs -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=var --ignore=bench --no-obsolete

# Benchmarks fill their own database (a million customers), not the test or dev one.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tvshop_bench
bench: install services
	$(TEST_ENV) DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m bench.run $(BENCH)

clean:
	rm -rf $(VENV) node_modules staticfiles locale/.compiled
