# Every target is listed by `make help`: the text after `##` on its .PHONY line is its description.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PY := $(VENV)/bin/python
# pip is pinned once, in the Dockerfile.
PIP_VERSION := $(shell sed -n 's/^ARG PIP_VERSION=//p' Dockerfile)
COMPOSE ?= docker compose
# Compose reads .env itself; the Makefile needs it only to know where the mirror goes (KEY=value lines).
-include .env
EXPORT_DIR_HOST ?= ./moto_export
# The exporter writes as the owner of the mirror folder, which make creates as whoever runs it. Root's own
# folder is the one owner the exporter refuses unless told (Docker makes missing folders root's): root
# running make on a folder of its own means it.
ifeq ($(shell id -u),0)
ifeq ($(shell stat -c %u "$(EXPORT_DIR_HOST)" 2>/dev/null || echo 0),0)
export HOST_UID ?= 0
export HOST_GID ?= 0
endif
endif
# The base image for builds: PYTHON_IMAGE if set, else python:3.12-slim, else a local one (see the script).
WITH_BASE_IMAGE = PYTHON_IMAGE=$$(scripts/ensure-docker.sh) && export PYTHON_IMAGE &&

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

.PHONY: mirror-dir  ## create the mirror folder (EXPORT_DIR_HOST) as the current user, check it is writable
mirror-dir:
	@mkdir -p "$(EXPORT_DIR_HOST)"
	@if [ ! -w "$(EXPORT_DIR_HOST)" ]; then \
		echo "error: $(EXPORT_DIR_HOST) belongs to uid $$(stat -c %u "$(EXPORT_DIR_HOST)") and you (uid $$(id -u)) cannot write it; fix: sudo chown -R $$(id -u):$$(id -g) $(EXPORT_DIR_HOST)" >&2; \
		exit 1; \
	fi

.PHONY: up  ## build and start the stack, wait until every service is healthy
up: mirror-dir
	@$(WITH_BASE_IMAGE) $(COMPOSE) up -d --build --wait

.PHONY: down  ## stop the stack (the mirror in ./moto_export stays)
down:
	$(COMPOSE) down --remove-orphans

.PHONY: seed  ## put the sample objects into test-bucket
seed:
	@$(WITH_BASE_IMAGE) $(COMPOSE) run --rm --build sample-client seed

.PHONY: unseed  ## delete exactly the sample objects that seed put
unseed:
	@$(WITH_BASE_IMAGE) $(COMPOSE) run --rm --build sample-client unseed

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
		$(WITH_BASE_IMAGE) $(PY) -m pytest $(PYTEST_ARGS); \
	fi

.PHONY: test-fast  ## run the tests that need no Docker, no browser and no Ceph
test-fast: $(VENV)/.installed
	SKIP_DOCKER=1 $(PY) -m pytest -m "not compose and not browser and not ceph" $(PYTEST_ARGS)

.PHONY: browser  ## install Debian's headless Chromium for the browser tests, if missing
browser:
	@scripts/ensure-chromium.sh

.PHONY: bench  ## run the benchmarks (docs/benchmarks.md; one alone: python -m bench NAME)
bench: $(VENV)/.installed
	$(PY) -m bench

.PHONY: clean  ## remove the venv and caches; asks before removing the mirror in ./moto_export
clean:
	rm -rf $(VENV) .pytest_cache
	@if [ -d "$(EXPORT_DIR_HOST)" ]; then \
		read -r -p "Remove the mirror $(EXPORT_DIR_HOST) and everything in it? [y/N] " answer; \
		if [ "$$answer" = y ] || [ "$$answer" = Y ]; then rm -rf "$(EXPORT_DIR_HOST)"; echo "removed"; else echo "kept"; fi; \
	fi

# Snapshots of the running stack's S3 state, kept in the gateway's memory (docs/snapshots.md).
MOTO_PORT ?= 9876
S3_URL = http://127.0.0.1:$(MOTO_PORT)
NEED_NAME = @if [ -z "$(NAME)" ]; then echo "usage: make $@ NAME=<name> (A-Z a-z 0-9 . _ -, up to 64)" >&2; exit 2; fi

.PHONY: snapshot  ## save every bucket and object as snapshot NAME (make snapshot NAME=clean)
snapshot:
	$(NEED_NAME)
	@curl -sS --fail-with-body -X POST "$(S3_URL)/_snapshots/$(NAME)" && echo

.PHONY: restore-snapshot  ## make S3 exactly snapshot NAME again (make restore-snapshot NAME=clean)
restore-snapshot:
	$(NEED_NAME)
	@curl -sS --fail-with-body -X POST "$(S3_URL)/_snapshots/$(NAME)/restore" && echo

.PHONY: snapshots  ## list the snapshots with their object counts and sizes
snapshots:
	@curl -sS --fail-with-body "$(S3_URL)/_snapshots" && echo

.PHONY: snapshot-export  ## write snapshot NAME to one file (make snapshot-export NAME=clean FILE=clean.snapshot)
snapshot-export:
	$(NEED_NAME)
	@if [ -z "$(FILE)" ]; then echo "usage: make $@ NAME=<name> FILE=<path>" >&2; exit 2; fi
	@curl -sS --fail-with-body -o "$(FILE)" "$(S3_URL)/_snapshots/$(NAME)/export" && echo "snapshot $(NAME) written to $(FILE)"

.PHONY: snapshot-import  ## read a snapshot file as snapshot NAME (default: the file's name) (make snapshot-import FILE=clean.snapshot)
snapshot-import:
	@if [ -z "$(FILE)" ]; then echo "usage: make $@ FILE=<path> [NAME=<name>]" >&2; exit 2; fi
	@name="$(NAME)"; [ -n "$$name" ] || name="$$(basename "$(FILE)" | sed -E 's/\..*$$//')"; \
	curl -sS --fail-with-body -X POST --data-binary "@$(FILE)" "$(S3_URL)/_snapshots/$$name/import" && echo

.PHONY: reset  ## empty S3: every bucket and object gone (snapshots are kept)
reset:
	@curl -sS --fail-with-body -X POST "$(S3_URL)/_reset" && echo

.PHONY: examples  ## run examples/ (tests as a user writes them, with motostack's pytest plugin) against the stack
examples: $(VENV)/.installed
	cd examples && PYTHONPATH=$(CURDIR) MOTOSTACK_ENDPOINT=$(S3_URL) $(abspath $(PY)) -m pytest -p testkit.pytest_plugin -n 2 -k "not isolated"
	cd examples && PYTHONPATH=$(CURDIR) MOTOSTACK_ENDPOINT=$(S3_URL) $(abspath $(PY)) -m pytest -p testkit.pytest_plugin -k isolated
