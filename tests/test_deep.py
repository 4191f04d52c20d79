"""Deep and wide graphs: a 1,000,000-node chain and a 100,000-input sum.

Forward and reverse mode must get through both without RecursionError and in bounded memory;
symbolic and JAX must refuse clearly (SymbolicTooLarge, "too large for jax") and quickly, and
the lab must record that refusal as an "unsupported" cell, not a crash.

Each graph is built and differentiated once, in a child process (``python test_deep.py chain``
or ``... wide``), so its peak RSS (VmHWM, else ``resource.getrusage``) is the graph's own and
not whatever the test session held before; the child reports JSON. tests/test_forward.py,
tests/test_reverse.py and tests/test_evaluate.py keep their own million-node chains (checked
against the chain rule by hand); here one chain serves every method and the memory bound.
"""

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
CHAIN_LINKS = 500_000        # x -> sin(x) * 1.0001: two op nodes per link, 1,000,002 slots
N_INPUTS = 100_000
MIB = 1024 * 1024


def _peak_mib() -> float:
    """This process's peak RSS in MiB. Linux carries ru_maxrss across fork and exec (a child
    of a big pytest starts at the parent's size), so read the address space's own high-water
    mark, VmHWM, where there is one; getrusage elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB  # KiB on Linux


def _refusal(call) -> dict:
    """Run ``call``, which should refuse: its exception's type, message and time."""
    t0 = time.perf_counter()
    try:
        call()
    except Exception as err:  # noqa: BLE001 - the refusal is what is measured
        return {"error": type(err).__name__, "value_error": isinstance(err, ValueError),
                "message": str(err), "seconds": time.perf_counter() - t0}
    return {"error": None, "message": "did not refuse", "seconds": time.perf_counter() - t0}


def _lab_row(expr, point, method: str) -> dict:
    """The lab's row for one cell on ``expr`` (in-process, no timing needed)."""
    from difflab.lab import Cell, Settings, execute

    _GRAPHS["graph"] = (expr, point)
    settings = Settings(problems="test_deep:get_problem", time_primal=False, min_time=1e-4,
                        samples=1, max_time=0.01)
    row = execute(Cell("deep", "graph", {}, method, "grad"), settings)
    return {k: row.get(k) for k in ("outcome", "message", "n_nodes")}


_GRAPHS: dict = {}


class _Instance:
    def __init__(self, expr, point):
        self.expr, self.point, self.wrt, self.truth_source = expr, point, None, None

    def truth(self, kind):
        return None  # no 50-digit truth for a million nodes; the cell checks finiteness


class _Graph:
    def instance(self, params, seed):
        return _Instance(*_GRAPHS["graph"])


def get_problem(name):
    """The lab's problem hook: the graph the child built."""
    return _Graph()


def child_chain() -> dict:
    """Build the chain, differentiate it forward and in reverse, ask symbolic and JAX."""
    import gc

    import difflab as dl
    from difflab import forward, jax_ref, reverse, symbolic

    start = _peak_mib()
    x, c = dl.variable("x"), dl.constant(1.0001)
    gc.disable()  # millions of nodes: skip the collector's scans (speed only)
    f = x
    for _ in range(CHAIN_LINKS):
        f = dl.sin(f) * c
    gc.enable()
    built = _peak_mib()
    t0 = time.perf_counter()
    value = dl.evaluate(f, {"x": 0.5})
    t1 = time.perf_counter()
    g_forward = forward.prepare(f, ("x",), {"x": ()})({"x": 0.5})["x"]
    t2 = time.perf_counter()
    after_forward = _peak_mib()
    g_reverse = reverse.prepare(f, ("x",), {"x": ()})({"x": 0.5})["x"]
    t3 = time.perf_counter()
    after_reverse = _peak_mib()
    v, d, c0 = np.float64(0.5), np.float64(1.0), np.float64(1.0001)
    for _ in range(CHAIN_LINKS):  # the chain rule by hand: prod of cos(v_i) * c
        d = d * np.cos(v) * c0
        v = np.sin(v) * c0
    return {
        "nodes": dl.size(f).dag_nodes, "value": value, "hand_value": float(v),
        "forward": g_forward, "reverse": g_reverse, "hand": float(d),
        "seconds": {"evaluate": t1 - t0, "forward": t2 - t1, "reverse": t3 - t2},
        "mib": {"start": start, "built": built, "forward": after_forward,
                "reverse": after_reverse},
        "symbolic": _refusal(lambda: symbolic.prepare(f, ("x",), {"x": ()})),
        "jax": _refusal(lambda: jax_ref.prepare(f, ("x",), {"x": ()})),
        "api_symbolic": _refusal(lambda: dl.grad(f, {"x": 0.5}, method="symbolic")),
        "lab": {m: _lab_row(f, {"x": 0.5}, m) for m in ("symbolic", "jax", "reverse")},
    }


def child_wide() -> dict:
    """Sum 100,000 scalar variables with a balanced tree; every partial derivative is 1."""
    import difflab as dl
    from difflab import forward, jax_ref, symbolic

    start = _peak_mib()
    names = [f"x{i}" for i in range(N_INPUTS)]
    terms = list(dl.variables(names))
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    f = terms[0]
    point = {name: float(i % 7) - 3.0 for i, name in enumerate(names)}
    shapes = {name: () for name in names}
    built = _peak_mib()
    t0 = time.perf_counter()
    g_reverse = dl.grad(f, point, method="reverse")
    t1 = time.perf_counter()
    after_reverse = _peak_mib()
    prepared = forward.prepare(f, tuple(names), shapes)
    g_forward = prepared(point)
    t2 = time.perf_counter()
    after_forward = _peak_mib()
    return {
        "n": len(names), "nodes": dl.size(f).dag_nodes, "value": dl.evaluate(f, point),
        "reverse_ones": sum(v == 1.0 for v in g_reverse.values()),
        "forward_ones": sum(v == 1.0 for v in g_forward.values()),
        "forward_info": {k: prepared.info[k] for k in ("directions", "chunk", "passes")},
        "seconds": {"reverse": t1 - t0, "forward": t2 - t1},
        "mib": {"start": start, "built": built, "reverse": after_reverse,
                "forward": after_forward},
        "symbolic": _refusal(lambda: symbolic.prepare(f, tuple(names), shapes)),
        "jax": _refusal(lambda: jax_ref.prepare(f, tuple(names), shapes)),
    }


def _run_child(which: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
    done = subprocess.run([sys.executable, __file__, which], capture_output=True, text=True,
                          timeout=300, env=env, cwd=HERE)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RecursionError" not in done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def chain():
    return _run_child("chain")


@pytest.fixture(scope="module")
def wide():
    return _run_child("wide")


def test_a_million_node_chain_forward_and_reverse(chain):
    assert chain["nodes"] >= 1_000_000
    assert chain["value"] == pytest.approx(chain["hand_value"], rel=1e-12)
    for method in ("forward", "reverse"):
        assert abs(chain[method] - chain["hand"]) <= 1e-12 * abs(chain["hand"]), method


def test_a_million_node_chain_in_bounded_memory(chain):
    mib = chain["mib"]
    graph = mib["built"] - mib["start"]          # the Expr nodes themselves
    # Each sweep keeps the plan and one value per slot (plus a tape for reverse): a few
    # hundred bytes per node at most, measured ~0.3 KiB. Generous: 1 KiB per node, 1.5 GiB.
    for method in ("forward", "reverse"):
        assert mib[method] - mib["built"] <= chain["nodes"] * 1024 / MIB, (method, mib)
    assert mib["reverse"] < 1536, mib
    assert graph > 0


def test_symbolic_and_jax_refuse_the_chain_clearly_and_quickly(chain):
    assert chain["symbolic"]["error"] == "SymbolicTooLarge"
    assert re.search(r"too large for symbolic: .*1,000,00\d nodes \(limit 100,000\)",
                     chain["symbolic"]["message"])
    assert chain["api_symbolic"]["value_error"]
    assert chain["jax"]["value_error"] and "too large for jax" in chain["jax"]["message"]
    for method in ("symbolic", "jax", "api_symbolic"):
        assert chain[method]["seconds"] < 10.0, (method, chain[method])


def test_the_lab_records_the_refusals_as_unsupported(chain):
    lab = chain["lab"]
    assert lab["symbolic"]["outcome"] == "unsupported"
    assert "too large for symbolic" in lab["symbolic"]["message"]
    assert lab["jax"]["outcome"] == "unsupported" and "too large for jax" in lab["jax"]["message"]
    assert lab["reverse"]["outcome"] == "ok" and lab["reverse"]["n_nodes"] >= 1_000_000


def test_a_hundred_thousand_input_sum_forward_and_reverse(wide):
    assert wide["n"] == N_INPUTS and wide["nodes"] == 2 * N_INPUTS - 1
    assert wide["value"] == sum(float(i % 7) - 3.0 for i in range(N_INPUTS))
    assert wide["reverse_ones"] == N_INPUTS and wide["forward_ones"] == N_INPUTS
    # Forward mode needs one direction per input: it pushes them in chunks whose seeds fit
    # forward.SEED_BUDGET, instead of 100,000 x 100,000 floats (80 GB) in one pass.
    info = wide["forward_info"]
    assert info["directions"] == N_INPUTS and info["passes"] > 1
    assert info["chunk"] * info["chunk"] <= 2 ** 24


def test_a_hundred_thousand_input_sum_in_bounded_memory(wide):
    mib = wide["mib"]
    assert mib["reverse"] - mib["built"] < 300, mib
    assert mib["forward"] - mib["built"] < 600, mib   # measured ~130: the seeds of one pass
    assert mib["forward"] < 1536, mib


def test_symbolic_and_jax_refuse_the_wide_sum(wide):
    assert wide["symbolic"]["error"] == "SymbolicTooLarge"
    assert "too large for symbolic" in wide["symbolic"]["message"]
    assert wide["jax"]["value_error"] and "too large for jax" in wide["jax"]["message"]
    assert max(wide["symbolic"]["seconds"], wide["jax"]["seconds"]) < 10.0


if __name__ == "__main__":
    sys.modules.setdefault("test_deep", sys.modules["__main__"])  # the lab's problem hook
    result = {"chain": child_chain, "wide": child_wide}[sys.argv[1]]()
    print(json.dumps(result, default=lambda o: float(o) if np.isscalar(o) else str(o)))
    sys.stdout.flush()
    os._exit(0)  # skip tearing down a million nodes
