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

# Runs every experiment at its default sizes into results/ and rebuilds reports/.
report: install
	$(PY) -m difflab.cli run

# Cross-method fuzzing for FUZZ_SECONDS (default 10 minutes): every method against the
# 50-digit truth (scalars) or JAX (arrays); prints the counts and any disagreement.
FUZZ_SECONDS ?= 600
fuzz: install
	$(PY) -m difflab.fuzz --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

bench: install
	@echo "make bench: the speed benchmarks are not built yet"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
