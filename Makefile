# The README's commands. Each target sets up what it needs on a fresh Debian machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit test-kernel bench lint typecheck clean system

$(BIN)/python:
	$(PY) -m venv $(VENV) || (scripts/setup-system.sh base && $(PY) -m venv $(VENV))

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

system:
	scripts/setup-system.sh zookeeper netns

demo: $(STAMP)
	$(BIN)/python examples/three_replicas.py

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test-unit: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) system lint typecheck test-unit

bench: $(STAMP)
	$(BIN)/python benchmarks/crdt_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
