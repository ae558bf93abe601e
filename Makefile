# Two commands do all the setup: `make run` (main job) and `make test` (tests).
# Both create .venv when it is missing and reuse it afterwards.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

.PHONY: run test test-slow bench docs lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# The main job: the three papers reproduced on CPU.  Data and figures go to
# out/reproduction/, the report to paper_repro/REPORT.md and REPORT.html.
run: $(VENV)/.installed
	XLA_FLAGS="$$XLA_FLAGS --xla_cpu_multi_thread_eigen=false" $(VENV)/bin/landscape reproduce

# The suite runs twice, side by side: in float64 (exactness, plus the package
# doctests) and in float32 (dtype-dependent tolerances).  Slow-marked runs are
# excluded here; `make test-slow` runs them.
test: $(VENV)/.installed-test
	PY=$(PY) bash tools/run_tests.sh

test-slow: $(VENV)/.installed-test
	JAX_ENABLE_X64=1 $(PYTEST) tests -q -m slow

# The docs site (docs/README.md): its own venv with the docs extra, built in strict mode
# (a warning, a broken link or a failing example stops the build).
DOCS_VENV ?= .venv-docs

$(DOCS_VENV)/.installed-docs: pyproject.toml
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install --quiet -e ".[docs]"
	touch $@

docs: $(DOCS_VENV)/.installed-docs
	XLA_FLAGS="$$XLA_FLAGS --xla_cpu_multi_thread_eigen=false" NO_MKDOCS_2_WARNING=1 \
	    $(DOCS_VENV)/bin/mkdocs build --strict

# Lint and types (pyproject.toml: [tool.ruff], [tool.mypy]) in their own venv with the lint extra;
# tools/check_annotations.py fails on a public function or method without full annotations.
LINT_VENV ?= .venv-lint

$(LINT_VENV)/.installed-lint: pyproject.toml
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LINT_VENV)/bin/python -m pip install --quiet -e ".[lint]"
	touch $@

lint: $(LINT_VENV)/.installed-lint
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .
	$(LINT_VENV)/bin/mypy
	$(LINT_VENV)/bin/python tools/check_annotations.py

bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DOCS_VENV) $(LINT_VENV) site out .pytest_cache .mypy_cache .ruff_cache
