# Two commands do all the setup: `make run` (main job) and `make test` (tests).
# Both create .venv when it is missing and reuse it afterwards.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

.PHONY: run test test-slow bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(VENV)/bin/landscape run --out out

# The suite runs twice: in float64 (exactness) and in float32 (dtype-dependent tolerances).
test: $(VENV)/.installed-test
	JAX_ENABLE_X64=1 $(PYTEST) landscape tests -q -m "not slow"
	JAX_ENABLE_X64=0 $(PYTEST) tests -q -m "not slow" -p no:cacheprovider

test-slow: $(VENV)/.installed-test
	JAX_ENABLE_X64=1 $(PYTEST) tests -q -m slow

bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache
