# The two commands: `make run` (embedded mode) and `make test` (the whole suite).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=
# test files spread over two processes (pytest-xdist; a file's tests stay together)
PYTEST_WORKERS ?= 2

.PHONY: run test unit lint format bench install services browser contracts clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(UV)
	$(UV) sync --frozen --quiet

run: install
	$(UV) run dropship run

services:
	./scripts/ensure-services.sh

browser:
	./scripts/ensure-browser.sh

test: install services browser lint
	$(UV) run pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: install
	$(UV) run pytest -m "not integration and not system" $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/common/src libs/testkit/src apps/dropship/src services/*/src
	$(UV) run lint-imports

format: install
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

contracts: install
	$(UV) run dropship contracts export docs/events

bench: install services
	$(UV) run python -m bench.intake
	$(UV) run python -m bench.pipeline
	$(UV) run python -m bench.faults
	$(UV) run python -m bench.masking
	$(UV) run python -m bench.logistics
	$(UV) run python -m bench.aftersales

clean:
	rm -rf .tools data .pytest_cache .mypy_cache .ruff_cache
