# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint pytest pytest-postgres install browser nginx services

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[embeddings,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Run the platform: the embedded SmolLM2 model, SQLite in ./data, on 127.0.0.1:8000.
run: $(STAMP)
	$(BIN)/aicommons serve

## Run every check: lint, types, and the whole test suite on SQLite and on PostgreSQL.
test: $(STAMP) browser nginx services lint pytest pytest-postgres

## The dashboard tests drive Debian's chromium (Playwright's own browser download is not used).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## The upstream tests put Debian's nginx (a reverse proxy, TLS, gzip) in front of a stand-in.
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)

## The suite's services, started when nothing answers, as a fresh machine needs: PostgreSQL
## (127.0.0.1:5432, database test, trust auth) and Redis (127.0.0.1:6379, installed if missing).
services:
	pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	for i in $$(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
	command -v redis-server >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)
	redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || (mkdir -p /var/lib/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis)
	for i in $$(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

pytest-postgres: $(STAMP)
	AICOMMONS_TEST_DATABASE_URL=$(TEST_PG_URL) $(BIN)/python -m pytest
