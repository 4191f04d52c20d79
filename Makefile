# difflab: `make report` runs the main job, `make test` the tests; both install first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test lint report bench fuzz clean

install: $(STAMP)

# Re-running is quick: the venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check difflab tests experiments

report: install
	@echo "make report: the experiments arrive with the lab (not built yet)"

bench: install
	@echo "make bench: the speed benchmarks are not built yet"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
