# The README's commands. Each target sets up what it needs on a fresh Debian machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chaos demo demo-crdt test test-unit test-kernel bench bench-kernel lint typecheck clean system docs cassandra

$(BIN)/python:
	$(PY) -m venv $(VENV) || (scripts/setup-system.sh base && $(PY) -m venv $(VENV))

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

system:
	scripts/setup-system.sh zookeeper netns vm chaos cassandra

# The main job: three namespaced hosts with meshd agents, two tenants' VMs, real pings and TCP.
demo: $(STAMP)
	scripts/setup-system.sh netns
	$(BIN)/meshd demo

# The chaos suite's long mixed run: 5 hosts, every nemesis (ZooKeeper leader kill included),
# every workload, 10 minutes; writes chaos-out/results.json and chaos-out/report.html.
CHAOS_SEED ?= 1
chaos: $(STAMP)
	scripts/setup-system.sh netns zookeeper chaos
	$(BIN)/pip install -q -e '.[chaos]'
	$(BIN)/meshchaos run --hosts 5 --time-limit 600 --nemesis all --workload all --zookeeper \
		--seed $(CHAOS_SEED) --out chaos-out

# The CRDT-only placeholder of the first milestone, still a useful smoke test.
demo-crdt: $(STAMP)
	$(BIN)/python examples/three_replicas.py

# ruff, and the share of precisely typed expressions per package against the goals that
# scripts/typed_share.py declares (mypy's any-exprs report; see the script).
# The public modules (mesh/__init__ exports lazily, which pdoc cannot follow: name them).
DOC_MODULES := crdt mesh.mesh mesh.replicated_table mesh.setup_errors mesh.errors mesh.events \
	mesh.member mesh.config mesh.keyring mesh.wal mesh.snapshot mesh.metrics mesh.table \
	mesh.node mesh.extension

# The library's API reference (crdt and mesh, from their docstrings) into docs/api/.
docs: $(STAMP)
	$(BIN)/pip install -q 'pdoc>=14'
	rm -rf docs/api
	$(BIN)/pdoc --docformat google -o docs/api $(DOC_MODULES)

lint: $(STAMP)
	$(BIN)/ruff check .
	# Enforced: issue 8's goals where reached; services at its reached 97.5% as a ratchet until
	# it reaches the 98% goal (the script prints every package against the issue's goals).
	$(BIN)/python scripts/typed_share.py --goals crdt=98,mesh=97,services=97.5,datapath=95

typecheck: $(STAMP)
	$(BIN)/mypy

test-unit: $(STAMP)
	$(BIN)/pytest -q --ignore=tests/kernel

# The kernel datapath tests, inside a software-emulated VM with openvswitch.ko.
test-kernel: $(STAMP)
	scripts/test-kernel.sh

test: $(STAMP) system lint typecheck test-unit test-kernel

bench: $(STAMP) system
	$(BIN)/python benchmarks/crdt_bench.py
	$(BIN)/python benchmarks/convergence.py
	$(BIN)/python benchmarks/simulation.py
	$(BIN)/python benchmarks/mesh_real.py --runs 1
	$(BIN)/python benchmarks/datapath.py
	$(BIN)/python benchmarks/agent_path.py
	$(BIN)/python benchmarks/stateful.py
	$(BIN)/python benchmarks/kv_durability.py

# Kernel-backend figures, inside the VM (software emulation: read them as ratios).
bench-kernel: $(STAMP)
	scripts/vm-run.sh ".venv/bin/python benchmarks/datapath.py --kernel"
	scripts/vm-run.sh ".venv/bin/python benchmarks/agent_path.py --backend both --flows 300 --runs 3"

# A real Cassandra on loopback for the session store (services/session/cassandra_store.py):
# `make cassandra` starts one node at 127.0.0.1:9042, `make cassandra N=3` three on
# 127.0.0.1-3; scripts/cassandra/cassandra.sh stop|status.
N ?= 1
cassandra:
	scripts/setup-system.sh cassandra
	scripts/cassandra/cassandra.sh start $(N)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
