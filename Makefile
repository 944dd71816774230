# Every target is listed by `make help`: the text after `##` on its .PHONY line is its description.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PY := $(VENV)/bin/python
PIP_VERSION := 26.0.1
COMPOSE ?= docker compose
EXPORT_DIR_HOST ?= ./moto_export
export HOST_UID := $(shell id -u)
export HOST_GID := $(shell id -g)

.PHONY: help  ## list the targets
help:
	@grep -E '^\.PHONY: [a-z-]+ +## ' $(MAKEFILE_LIST) | sed -E 's/^\.PHONY: ([a-z-]+) +## (.*)/  make \1\t\2/' | expand -t 20

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	$(VENV)/bin/pip install -q --group dev
	touch $@

.PHONY: venv  ## create the development venv (.venv) with every pinned dependency
venv: $(VENV)/.installed

.PHONY: engine  ## make sure a Docker engine, Compose v2 and a Python base image are there
engine:
	@scripts/ensure-docker.sh >/dev/null

$(EXPORT_DIR_HOST):
	mkdir -p $@

.PHONY: up  ## build and start the stack, wait until every service is healthy
up: | $(EXPORT_DIR_HOST)
	PYTHON_IMAGE=$$(scripts/ensure-docker.sh) $(COMPOSE) up -d --build --wait

.PHONY: down  ## stop the stack (the mirror in ./moto_export stays)
down:
	$(COMPOSE) down --remove-orphans

.PHONY: seed  ## put the sample objects into test-bucket
seed:
	$(COMPOSE) run --rm --build sample-client seed

.PHONY: unseed  ## delete exactly the sample objects that seed put
unseed:
	$(COMPOSE) run --rm --build sample-client unseed

.PHONY: logs  ## follow the logs of every service
logs:
	$(COMPOSE) logs -f --tail=100

.PHONY: ps  ## show the services and their health
ps:
	$(COMPOSE) ps

.PHONY: test  ## run every test: unit, integration, browser and the stack in Docker (SKIP_DOCKER=1 skips those)
test: $(VENV)/.installed browser
	@if [ "$${SKIP_DOCKER:-0}" = 1 ]; then \
		$(PY) -m pytest $(PYTEST_ARGS); \
	else \
		PYTHON_IMAGE=$$(scripts/ensure-docker.sh) && export PYTHON_IMAGE && $(PY) -m pytest $(PYTEST_ARGS); \
	fi

.PHONY: test-fast  ## run the tests that need no Docker and no browser
test-fast: $(VENV)/.installed
	SKIP_DOCKER=1 $(PY) -m pytest -m "not compose and not browser" $(PYTEST_ARGS)

.PHONY: browser  ## install Debian's headless Chromium for the browser tests, if missing
browser:
	@scripts/ensure-chromium.sh

.PHONY: bench  ## run the benchmarks (see bench/README.md)
bench: $(VENV)/.installed
	$(PY) -m bench

.PHONY: clean  ## remove the venv and caches; asks before removing the mirror in ./moto_export
clean:
	rm -rf $(VENV) .pytest_cache
	@if [ -d "$(EXPORT_DIR_HOST)" ]; then \
		read -r -p "Remove the mirror $(EXPORT_DIR_HOST) and everything in it? [y/N] " answer; \
		if [ "$$answer" = y ] || [ "$$answer" = Y ]; then rm -rf "$(EXPORT_DIR_HOST)"; echo "removed"; else echo "kept"; fi; \
	fi
