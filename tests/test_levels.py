"""Level schedules (difflab.levels) and the gradients swept on them (reverse_levels,
forward_levels) against the per-slot sweeps of reverse.py and forward.py.

The per-slot sweeps are checked against JAX and hand-written derivatives in test_reverse and
test_forward; here the level-at-a-time sweeps must agree with them on a wide scalar graph that
holds every op of the IR, fan-out inside a group (np.add.at), kinks (relu and abs at 0, max and
min ties), a negative base under a constant exponent and points outside the domain (nan, inf).
Agreement: rho = |a - b| / max(1, |a| + |b|) <= 1e-12, nan where the other has nan, equal infs.
"""

import math
import warnings

import numpy as np
import pytest

import difflab as dl
from difflab import forward, reverse
from difflab.core import levels
from difflab.core.plan import compile_plan
from difflab.core.shapes import infer_shapes
from difflab.lab.families import balanced_sum, build_rosenbrock, sample_rosenbrock

TOL = 1e-12
N = 96  # variables

# one term per op of the IR (on scalars), cycling over the variables
TERMS = [
    lambda a, b: dl.sin(a) * b, lambda a, b: dl.cos(a) - b, lambda a, b: dl.tan(a) + b,
    lambda a, b: dl.asin(a) * b, lambda a, b: dl.acos(a) * b, lambda a, b: dl.atan(a) / (2.0 + b),
    lambda a, b: dl.sinh(a) * b, lambda a, b: dl.cosh(a) * b, lambda a, b: dl.tanh(a) * b,
    lambda a, b: dl.exp(a) * b, lambda a, b: dl.log(a) * b, lambda a, b: dl.log1p(a) * b,
    lambda a, b: dl.expm1(a) * b, lambda a, b: dl.sqrt(a) * b, lambda a, b: dl.abs(a) * b,
    lambda a, b: dl.sigmoid(a) * b, lambda a, b: dl.relu(a) * b, lambda a, b: dl.softplus(a) * b,
    lambda a, b: dl.sum(a) * dl.mean(b), lambda a, b: dl.transpose(a) * -b,
    lambda a, b: dl.max(a, b), lambda a, b: dl.min(a, b), lambda a, b: a ** b,
    lambda a, b: a ** 3.0 + 2.0 ** b, lambda a, b: b / a, lambda a, b: (a - b) * (a + b),
]


def wide_graph():
    x = dl.variables(" ".join(f"x{i}" for i in range(N)))
    terms = [TERMS[k % len(TERMS)](x[k % N], x[(3 * k + 1) % N]) for k in range(4 * N)]
    # every term also feeds a product with one shared hidden value: fan-out within a group
    hidden = dl.tanh(balanced_sum(x[:8]))
    return balanced_sum(t * hidden + t for t in terms)


def point_with_edges(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-0.9, 0.9, size=N)
    values[::11] = 0.0              # relu, abs, sqrt at their kinks; b / a at a = 0
    values[5::13] = values[4::13][: len(values[5::13])]  # ties for max and min
    values[7] = -2.0                # a negative base: (-2)**3, log and sqrt of a negative
    return {f"x{i}": float(v) for i, v in enumerate(values)}


def assert_agree(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name in want:
        a, b = float(got[name]), float(want[name])
        if math.isnan(b) or math.isinf(b):
            assert (math.isnan(a) and math.isnan(b)) or a == b, (name, a, b)
        else:
            assert abs(a - b) / max(1.0, abs(a) + abs(b)) <= TOL, (name, a, b)


def per_slot_reverse(f, point, wrt):
    tape = reverse.Tape.record(f, point, wrt)
    return tape.backward()


@pytest.fixture(scope="module")
def graph():
    return wide_graph()


def test_the_wide_graph_gets_a_schedule(graph):
    plan = compile_plan(graph)
    sched = levels.schedule(plan, infer_shapes(plan, {n: () for n in plan.var_slots}))
    assert sched is not None and plan.size >= levels.MIN_SLOTS
    # (every op the schedule batches, but square, which the wide graph does not use)
    assert {op for op, *_ in sched.groups} >= set(levels._BATCHED) - {"var", "const", "matmul",
                                                                   "square"}
    done = set()
    for _, out, a, b in sched.groups:  # a group reads only slots of earlier groups
        assert not set(a.tolist()) & set(out.tolist())
        assert set(a.tolist()) <= done | {s for s, op in enumerate(plan.ops)
                                           if op in ("var", "const")}
        if b is not None:
            assert set(b.tolist()) <= done | {s for s, op in enumerate(plan.ops)
                                               if op in ("var", "const")}
        done |= set(out.tolist())
    # the schedule's primal is the plan's value
    point = point_with_edges()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sched.evaluate(point)[plan.out]
        want = dl.evaluate(graph, point)
    assert (math.isnan(got) and math.isnan(want)) or abs(got - want) <= 1e-12 * max(1, abs(want))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("subset", [False, True])
def test_levelled_gradients_match_the_per_slot_sweeps(graph, seed, subset):
    point = point_with_edges(seed)
    names = graph.variables
    wrt = names[::3] if subset else names
    shapes = {n: () for n in names}
    rev = reverse.prepare(graph, wrt, shapes)
    fwd = forward.prepare(graph, wrt, shapes)
    assert rev.info["sweep"] == "levels" and fwd.info["sweep"] == "levels"
    want = per_slot_reverse(graph, point, wrt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # IEEE results, no warnings
        got_rev, got_fwd = rev(point), fwd(point)
        got_chunked = forward.prepare(graph, wrt, shapes, chunk=len(wrt))(point)  # per slot
    assert list(got_rev) == list(wrt) and list(got_fwd) == list(wrt)
    assert any(math.isnan(v) for v in want.values())  # the edges were reached
    assert_agree(got_rev, want)
    # forward mode pushes every direction through a node at once: where a factor is infinite
    # (sqrt' at 0) the directions with a zero tangent there get 0 * inf = nan, in one pass
    # per slot as in the levelled one; so forward is held to the per-slot forward pass
    assert_agree(got_fwd, got_chunked)
    # inside the domain, away from kinks, forward and reverse agree
    inside = {n: float(v) for n, v in
              zip(names, np.random.default_rng(seed).uniform(0.1, 0.9, size=N), strict=True)}
    want = per_slot_reverse(graph, inside, wrt)
    assert all(math.isfinite(v) for v in want.values())
    assert_agree(rev(inside), want)
    assert_agree(fwd(inside), want)


def test_api_and_rosenbrock_use_the_schedule():
    f = build_rosenbrock(100)
    point = sample_rosenbrock(np.random.default_rng(3), {"n": 100})
    info = dl.prepared("grad", f, None, {}, "reverse").info
    assert info["sweep"] == "levels"
    want = per_slot_reverse(f, point, None)
    assert_agree(dl.grad(f, point, method="reverse"), want)
    assert_agree(dl.grad(f, point, method="forward"), want)
    x = [point[f"x{i}"] for i in range(100)]  # and the gradient written out by hand
    for i in range(100):
        g = 0.0
        if i < 99:
            g += -400.0 * x[i] * (x[i + 1] - x[i] ** 2) - 2.0 * (1.0 - x[i])
        if i > 0:
            g += 200.0 * (x[i] - x[i - 1] ** 2)
        assert abs(want[f"x{i}"] - g) <= 1e-9 * max(1.0, abs(g))


def test_small_chain_like_and_array_graphs_keep_the_per_slot_sweep():
    x = dl.variable("x")
    small = dl.sin(x) * dl.exp(x)
    assert "sweep" not in reverse.prepare(small, ("x",), {"x": ()}).info
    chain = x
    for _ in range(2000):
        chain = dl.sin(chain)
    assert "sweep" not in reverse.prepare(chain, ("x",), {"x": ()}).info
    assert "sweep" not in forward.prepare(chain, ("x",), {"x": ()}).info
    wide = dl.sum(wide_graph())
    shapes = {n: () for n in wide.variables}
    shapes["x0"] = (3,)  # an array anywhere: no schedule
    assert "sweep" not in reverse.prepare(wide, wide.variables, shapes).info


def test_forward_fused_pass_for_one_input():
    x = dl.variable("x")
    f = dl.log1p(x * x) + dl.sin(x) * dl.exp(x / 3.0)
    prepared = forward.prepare(f, ("x",), {"x": ()})
    for v in (-1.3, 0.0, 0.7):
        want = 2 * v / (1 + v * v) + math.exp(v / 3) * (math.cos(v) + math.sin(v) / 3)
        got = prepared({"x": v})["x"]
        assert isinstance(got, float) and abs(got - want) <= 1e-14 * max(1, abs(want))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert forward.prepare(dl.sqrt(x), ("x",), {"x": ()})({"x": 0.0})["x"] == math.inf
