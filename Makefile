# Two commands do everything on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
AIMGEN := $(VENV)/bin/aimgen
TOOLS := .tools
export PATH := $(CURDIR)/$(TOOLS)/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export AIM_SHARED_DIR ?= $(abspath $(CURDIR)/../shared)

.PHONY: venv dev tools shared bytecode run test bench test-engines clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

venv: $(VENV)/.installed

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@

dev: $(VENV)/.installed-test

tools: dev
	bash scripts/install-tools.sh

# A pip install of a wheel byte-compiles the package; an editable install does not, and with
# PYTHONDONTWRITEBYTECODE set (as on CI machines) every `aimgen` process would compile ~130 modules again
# (about 90 ms of its start-up). Compiled files whose source changed later are ignored by Python, never stale.
bytecode: venv
	$(PY) -m compileall -q generator

shared:
	$(PY) scripts/fetch_shared.py --shared "$(AIM_SHARED_DIR)"

run: venv bytecode shared
	mkdir -p out
	$(AIMGEN) render Qwen/Qwen3-8B --gpu mi300x -o out/qwen3-8b.yaml
	$(AIMGEN) validate out/qwen3-8b.yaml
	@echo "rendered and validated: out/qwen3-8b.yaml"

test: tools bytecode shared
	$(PY) -m pytest -q -p no:cacheprovider

bench: tools bytecode shared
	$(PY) scripts/bench.py

test-engines: dev
	bash scripts/test-engines.sh

clean:
	rm -rf out $(VENV) $(TOOLS)
