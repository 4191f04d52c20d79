# difflab: `make report` runs the main job, `make test` the tests; both install first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test lint report bench fuzz clean

install: $(STAMP)

# Re-running is quick: the venv is rebuilt only when pyproject.toml changes. The `peers` extra
# (numdifftools, scipy >= 1.15) comes too: `make report` compares them and `make test` tests them.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,peers]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check difflab tests experiments notebooks

# Runs every experiment at its default sizes into results/ and rebuilds reports/.
report: install
	$(PY) -m difflab.cli run

# Cross-method fuzzing for FUZZ_SECONDS (default 10 minutes): every method against the
# 50-digit truth (scalars) or JAX (arrays); prints the counts and any disagreement.
FUZZ_SECONDS ?= 600
fuzz: install
	$(PY) -m difflab.fuzz --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

# The speed benchmark (experiments/speed.py): installs the optional `bench` extra (micrograd,
# HIPS autograd, threadpoolctl; a peer that cannot be installed is reported as unavailable),
# prints every target of the speed issue with its figure and verdict, and writes reports/bench/.
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds) slow a
# current NumPy: they are unset for this command alone; the report records the BLAS kernel.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,peers,bench]' || \
	  for peer in micrograd autograd threadpoolctl; do \
	    $(PY) -m pip install --quiet "$$peer" || \
	      echo "make bench: $$peer is not installable; the benchmark reports it unavailable"; \
	  done
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) experiments/speed.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
