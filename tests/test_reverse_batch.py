"""Reverse mode with many cotangents or tangents in one sweep: Jacobians, Hessians, budgets.

References: jax.jacrev / jax.hessian on the independent oracle (tests/jax_oracle.py), x64,
and, for the batch convention of every vjp rule, k separate one-cotangent sweeps of the same
program. Agreement per component in rho = |a - b| / max(1, |a| + |b|) <= 1e-12.
"""

import numpy as np
import pytest
from jax_oracle import jax, jax_function

import difflab as dl
from difflab import reverse
from difflab.core import arrays as arrays_mod
from difflab.core import expr as ir
from difflab.core import ops
from difflab.lab.families import build_rosenbrock, sample_rosenbrock
from difflab.reverse import batch, curvature
from difflab.reverse.diagonal import Diagonal
from difflab.reverse.jet import Jet
from difflab.reverse.program import compile_program
from difflab.reverse.sweep import sweep

TOL = 1e-12
SEED = 20240615


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(all="ignore"):
        r = np.where(both_nan | (a == b), 0.0, np.abs(a - b) / np.maximum(1.0, np.abs(a) +
                                                                           np.abs(b)))
    return float(np.max(r, initial=0.0))


def draw(rng, shapes, low=0.3, high=0.9) -> dict:
    return {n: rng.uniform(low, high, size=s) if s else float(rng.uniform(low, high))
            for n, s in shapes.items()}


JACOBIANS = [
    ("tanh(A @ x + b)", {"A": (3, 4), "x": (4,), "b": (3,)}),
    ("sin(A) * x + b", {"A": (2, 3), "x": (3,), "b": ()}),
    ("A @ B - transpose(C) * s", {"A": (2, 3), "B": (3, 4), "C": (4, 2), "s": ()}),
    ("x @ A + relu(x @ A - 0.5) * sum(A)", {"x": (3,), "A": (3, 2)}),
    ("(x @ y) * x + mean(y) * exp(x)", {"x": (3,), "y": (3,)}),
    ("max(A, B) * log(B) / (1 + min(A, 0.6)) - sqrt(A) ** B", {"A": (2, 3), "B": (3,)}),
    ("x", {"x": (4,)}),
]


@pytest.mark.parametrize("text, shapes", JACOBIANS)
def test_batched_jacobian_matches_jacrev(text, shapes):
    f = dl.parse(text)
    names = f.variables
    point = draw(np.random.default_rng(SEED), {n: shapes[n] for n in names})
    got = reverse.jacobian(f, point)
    want = jax.jacrev(jax_function(f, names), argnums=tuple(range(len(names))))(
        *(np.asarray(point[n]) for n in names))
    for name, w in zip(names, want, strict=True):
        assert rho(got[name], w) <= TOL, name
    m = int(np.prod(np.shape(dl.evaluate(f, point))))
    assert dl.prepared("jacobian", f, None, {n: shapes[n] for n in names},
                       "reverse").info["rows_per_sweep"] == m


@pytest.mark.parametrize("text, shapes", JACOBIANS)
def test_a_dense_identity_seed_gives_the_same_rows(text, shapes):
    """The rules' batch convention on its own (no Diagonal): seed a full (m,) + out eye."""
    f = dl.parse(text)
    shapes = {n: shapes[n] for n in f.variables}
    point = draw(np.random.default_rng(SEED), shapes)
    program = compile_program(f, f.variables, shapes)
    out_shape = program.shapes[program.plan.out]
    m = int(np.prod(out_shape))
    with np.errstate(all="ignore"):
        values = program.record(point, live_only=True)
        bars = sweep(batch.batched(program, m), values.copy(),
                     np.eye(m).reshape((m,) + out_shape))
        rows = batch.jacobian_rows(program, values)
    for name, row in zip(program.wrt, rows, strict=True):
        dense = np.broadcast_to(bars[program.plan.var_slots[name]], row.shape)
        assert rho(dense, row) <= TOL, name


# ---- every rule keeps a batch axis in front: k cotangents at once == k sweeps of one ---------
UNARY = ("neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp",
         "log", "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu", "softplus", "sum", "mean",
         "transpose")
ELEMENTWISE_BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")


def _rule_cases():
    """op -> (an expression exercising its rule, shapes). A new op adds its own case here."""
    x, y, A, B = ir.variable("x"), ir.variable("y"), ir.variable("A"), ir.variable("B")
    cases = {op: (arrays_mod.BUILDERS[op](A), {"A": (2, 3)}) for op in UNARY}
    for op in ELEMENTWISE_BINARY:  # broadcasting both ways: (2, 3) with (3,), (2, 1)
        cases[op] = (arrays_mod.BUILDERS[op](A, x) + arrays_mod.BUILDERS[op](B, A),
                     {"A": (2, 3), "x": (3,), "B": (2, 1)})
    # every kind: 2-D @ 2-D, 2-D @ 1-D, 1-D @ 2-D, 1-D @ 1-D
    cases["matmul"] = ((A @ B) @ x + (y @ A) * (x @ y),
                       {"A": (2, 2), "B": (2, 2), "x": (2,), "y": (2,)})
    # the array ops (their rules address value axes from the end: core/axes.py)
    a23 = {"A": (2, 3)}
    array_cases = {
        "square": dl.square(A), "index": A[:, ::2] * 2.0 + A[1, 0], "reduce_sum":
        dl.sum(A, axis=0), "reduce_mean": dl.mean(A, axis=1, keepdims=True),
        "reduce_prod": dl.prod(A, axis=0), "reduce_max": dl.max(A, axis=1),
        "reduce_min": dl.min(A, axis=0, keepdims=True), "logsumexp": dl.logsumexp(A, axis=1),
        "softmax": dl.softmax(A, axis=0), "log_softmax": dl.log_softmax(A, axis=-1),
        "reshape": dl.reshape(A, (3, 2)), "permute": dl.transpose(A, (1, 0)),
        "concat": dl.concatenate([A, A * A], axis=1),
        "where": dl.where(A > 0.5, A * A, -A), "select": dl.where(A > 0.5, A, 2.0 * A),
        "select_not": dl.where(A < 0.5, A, 3.0 * A),
    }
    cases.update({op: (f, a23) for op, f in array_cases.items()})
    cases["index_gather"] = (A[:, [0, 2, 2]], a23)
    for op in ("lt", "le", "gt", "ge", "eq", "ne"):  # masks: derivative 0, a cotangent to A
        cases[op] = (arrays_mod.BUILDERS[op](A, 0.5) * A + A, a23)
    return cases


RULE_CASES = _rule_cases()


def test_every_op_has_a_batched_case():
    missing = set(ops.OPS) - set(ops.LEAVES) - set(RULE_CASES)
    assert not missing, (f"no batched-cotangent case for {sorted(missing)}: add one to "
                         f"RULE_CASES (the batch convention: difflab/reverse/rules.py)")


@pytest.mark.parametrize("op", sorted(RULE_CASES))
def test_every_rule_takes_a_batch_of_cotangents(op):
    f, shapes = RULE_CASES[op]
    point = draw(np.random.default_rng(SEED), shapes, 0.2, 0.8)
    program = compile_program(f, sorted(shapes), shapes)
    out_shape = program.shapes[program.plan.out]
    k = 3
    seeds = np.random.default_rng(SEED + 1).normal(size=(k,) + out_shape)
    with np.errstate(all="ignore"):
        values = program.record(point, live_only=True)
        many = sweep(batch.batched(program, k), values.copy(), seeds)
        for r in range(k):
            one = sweep(program, values.copy(), seeds[r] if out_shape else np.float64(seeds[r]))
            for name in sorted(shapes):
                slot = program.plan.var_slots[name]
                assert rho(np.broadcast_to(many[slot], (k,) + shapes[name])[r],
                           np.broadcast_to(one[slot], shapes[name])) <= TOL, (op, name)


def test_the_scalar_gradient_builds_no_batched_program():
    f = dl.parse("sum(tanh(A @ x + b))")
    shapes = {"A": (3, 4), "x": (4,), "b": (3,)}
    dl.grad(f, draw(np.random.default_rng(SEED), shapes), method="reverse")
    program = compile_program(f, f.variables, shapes)
    assert program.derived == {}  # the hot path runs the program itself, no batch variant


# ---- chunks: a small budget gives the same numbers --------------------------------------------
def test_a_small_cotangent_budget_sweeps_in_chunks_with_the_same_rows(monkeypatch):
    f = dl.parse("tanh(A @ x + b) * sum(x)")
    point = draw(np.random.default_rng(SEED), {"A": (7, 4), "b": (7,), "x": (4,)})
    whole = reverse.jacobian(f, point)
    program = compile_program(f, f.variables, {n: np.shape(v) for n, v in point.items()})
    assert set(program.derived) == {("batched", 7)}  # all 7 rows in one sweep
    monkeypatch.setattr(batch, "COTANGENT_BUDGET", 2 * 28)  # A has 28 entries: 2 rows a sweep
    assert batch.rows_per_sweep(program, 7) == 2
    chunked = reverse.jacobian(f, point)
    for name in whole:
        assert rho(chunked[name], whole[name]) <= TOL
    assert {key[1] for key in program.derived} == {7, 2, 1}  # then 2 + 2 + 2 + 1 rows


def test_a_small_tangent_budget_pushes_directions_in_chunks(monkeypatch):
    f = dl.parse("sum(softplus(A @ x) * v) + sum(x ** 3) * sum(v)")
    point = draw(np.random.default_rng(SEED), {"A": (3, 2), "x": (2,), "v": (3,)})
    whole = reverse.hessian(f, point)
    monkeypatch.setattr(curvature, "JET_BUDGET", 3 * 6)  # A has 6 entries: 3 directions a sweep
    info = reverse.prepare_hessian(f, f.variables, {"A": (3, 2), "x": (2,), "v": (3,)}).info
    assert info["chunk"] == 3 and info["sweeps"] == 4   # 11 directions, 3 per sweep
    chunked = reverse.hessian(f, point)
    for a in whole:
        for b in whole[a]:
            assert rho(chunked[a][b], whole[a][b]) <= TOL, (a, b)


@pytest.mark.parametrize("build", ["rosenbrock", "fan_out"])
def test_the_level_hessian_in_chunks(monkeypatch, build):
    rng = np.random.default_rng(SEED)
    if build == "rosenbrock":  # sparse: 3 column groups, 2 per sweep
        f, per_sweep = build_rosenbrock(70), 2
        point = sample_rosenbrock(rng, {"n": 70})
    else:                      # dense: 81 directions, 16 per sweep
        f, per_sweep = _fan_out(80), 16
        point = {n: float(rng.uniform(0.2, 1.2)) for n in f.variables}
    shapes = dict.fromkeys(point, ())
    whole = reverse.hessian(f, point)
    size = compile_program(f, f.variables, shapes).plan.size
    monkeypatch.setattr(curvature, "JET_BUDGET", per_sweep * size)
    prepared = reverse.prepare_hessian(f, f.variables, shapes)
    assert prepared.info["chunk"] == per_sweep and prepared.info["sweeps"] >= 2
    chunked = prepared(point)
    assert all(chunked[a][b] == whole[a][b] for a in whole for b in whole)


# ---- Hessians: the level schedule, the per-slot sweep, one direction at a time --------------
def _jax_hessian(f, point):
    names = f.variables
    H = jax.hessian(jax_function(f, names), argnums=tuple(range(len(names))))(
        *(np.asarray(point[n]) for n in names))
    return {a: {b: np.asarray(H[i][j]) for j, b in enumerate(names)}
            for i, a in enumerate(names)}


def _fan_out(n: int) -> dl.Expr:
    """sum_i sin(x_i * y) * x_i^2 / (1 + y): y read by every slot of its groups."""
    y = dl.variable("y")
    xs = dl.variables(" ".join(f"x{i}" for i in range(n)))
    terms = [dl.sin(x * y) * x ** 2.0 / (1.0 + y) + dl.relu(x - 0.5) ** 3.0 for x in xs]
    from difflab.lab.families import balanced_sum
    return balanced_sum(terms)


@pytest.mark.parametrize("build", ["rosenbrock", "fan_out"])
def test_the_level_hessian_matches_jax(build):
    rng = np.random.default_rng(SEED)
    if build == "rosenbrock":
        f = build_rosenbrock(64)
        point = sample_rosenbrock(rng, {"n": 64})
    else:
        f = _fan_out(80)
        point = {n: float(rng.uniform(0.2, 1.2)) for n in f.variables}
    prepared = dl.prepared("hessian", f, None, dict.fromkeys(point, ()), "reverse")
    assert prepared.info["sweep"] == "levels" and prepared.info["sweeps"] == 1
    got = prepared(point)
    want = _jax_hessian(f, point)
    for a in want:
        for b in want[a]:
            assert isinstance(got[a][b], float)
            assert rho(got[a][b], want[a][b]) <= TOL, (a, b)


def test_hessian_by_directions_for_ops_outside_jet_ops(monkeypatch):
    f = dl.parse("sum(tanh(A @ x) ** 2) + sigmoid(s) * sum(x) + max(s, 0.4) * sum(A) "
                 "+ sum(relu(x - 0.5) * x) * s")
    shapes = {"A": (3, 2), "x": (2,), "s": ()}
    point = draw(np.random.default_rng(SEED), shapes)
    point["x"][0] = 0.5  # relu's kink: its derivative there is 0 (as JAX), not max's 1/2
    want = _jax_hessian(f, point)
    on_jets = reverse.prepare_hessian(f, f.variables, shapes)(point)
    monkeypatch.setattr(curvature, "JET_OPS", curvature.JET_OPS - {"tanh"})
    prepared = reverse.prepare_hessian(f, f.variables, shapes)
    assert "Duals per scalar input" in prepared.info["passes"]
    got = prepared(point)
    for a in want:
        for b in want[a]:
            assert rho(got[a][b], want[a][b]) <= TOL, (a, b)
            assert rho(on_jets[a][b], want[a][b]) <= TOL, (a, b)


def test_the_hessian_is_one_sweep_for_all_directions():
    f = dl.parse("mean((tanh(X @ W + b) - Y)**2)")
    shapes = {"X": (5, 3), "W": (3, 2), "b": (2,), "Y": (5, 2)}
    info = dl.prepared("hessian", f, ["W", "b"], shapes, "reverse").info
    assert info["directions"] == 8 and info["sweeps"] == 1


# ---- the numbers the sweeps run on ------------------------------------------------------------
def test_jets_carry_k_tangents_through_broadcasting_and_reductions():
    rng = np.random.default_rng(SEED)
    a, a_dot = rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3))
    b, b_dot = rng.normal(size=3), rng.normal(size=(4, 3))
    A, B = Jet(a, a_dot), Jet(b, b_dot)

    def f(p, q):  # the same code on arrays (JAX) and on Jets
        xp = np if isinstance(p, Jet) else jax.numpy
        s = xp.sum(xp.where(p > 0.0, p * q, 0.0), axis=0) + xp.transpose(p)[..., None][..., 0, 0]
        return xp.exp(s) @ xp.broadcast_to(xp.reshape(q, (3, 1)), (3, 2)) / (1.0 + q[0] ** 2)

    got = f(A, B)
    for j in range(4):
        value, tangent = jax.jvp(f, (a, b), (a_dot[j], b_dot[j]))
        assert rho(got.value, value) <= TOL
        assert rho(got.dot[j], tangent) <= TOL
    with pytest.raises(TypeError, match="np.concatenate is not supported on Jets"):
        np.concatenate([A, B])
    with pytest.raises(TypeError, match="cannot convert a Jet to float"):
        float(Jet(1.0, np.ones(2)))
    with pytest.raises(ValueError, match=r"tangents of shape \(2, 2\).*\(3,\)"):
        Jet(np.ones(3), np.ones((2, 2)))


def test_the_diagonal_seed_is_the_identity_and_leaks_no_nan():
    d = np.array([2.0, 0.0, 3.0, 5.0])
    seed = Diagonal(d, 1, 4)
    eye = np.eye(4)[1:4] * d
    assert rho(seed.dense(), eye) == 0.0
    m = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    for got, want in ((seed * np.cos(d), eye * np.cos(d)), (np.cos(d) * seed, eye * np.cos(d)),
                      (-seed / 2.0, -eye / 2.0), (seed + seed, 2 * eye),
                      (seed @ m, eye @ m), (np.where(d > 1.0, seed, 0.0), eye * (d > 1.0)),
                      (seed + np.ones(4), eye + 1.0), (np.ones(4) - seed, 1.0 - eye),
                      (np.sum(seed, axis=1), eye.sum(axis=1))):
        assert rho(np.asarray(got), want) == 0.0
    assert isinstance(seed * np.cos(d), Diagonal) and isinstance(seed @ m, np.ndarray)
    # d log(x) at x = (0, 1): the one-hot rows divide by x only on the diagonal, so the 0 / 0
    # off it never happens: a dense identity gives nan at J[1, 0], the Diagonal gives 0
    with np.errstate(all="ignore"):
        J = reverse.jacobian(dl.log(dl.variable("x")), {"x": np.array([0.0, 1.0])})["x"]
    assert J[0, 0] == np.inf and J[1, 1] == 1.0 and J[0, 1] == 0.0 and J[1, 0] == 0.0


# ---- sparse Hessians: the pattern from the graph, column groups, recovery ---------------------
def _separable(n: int) -> dl.Expr:
    """Terms that couple x_i with x_{i+1}, x_{i+3} (through a quotient) and nothing else."""
    from difflab.lab.families import balanced_sum
    xs = dl.variables(" ".join(f"x{i:03d}" for i in range(n)))
    terms = [dl.sin(xs[i] * xs[(i + 1) % n]) + dl.exp(xs[i]) / (1.0 + xs[(i + 3) % n] ** 2.0)
             + dl.relu(xs[i] - 0.4) * 2.0 - xs[(i + 2) % n] for i in range(n)]
    return balanced_sum(terms)


@pytest.mark.parametrize("build", ["rosenbrock", "separable"])
def test_a_sparse_hessian_from_few_directions_is_the_hessian(build):
    from difflab.core.levels import scalar_schedule
    from difflab.reverse import sparsity

    rng = np.random.default_rng(SEED)
    if build == "rosenbrock":
        f, n = build_rosenbrock(90), 90
        point = sample_rosenbrock(rng, {"n": n})
    else:
        f, n = _separable(60), 60
        point = {name: float(rng.uniform(-1.0, 1.0)) for name in f.variables}
    names = f.variables
    schedule = scalar_schedule(f, names, dict.fromkeys(names, ()))
    P = sparsity.pattern(schedule, names)
    want = _jax_hessian(f, point)
    H = np.array([[want[a][b] for b in names] for a in names])
    assert not np.any((H != 0.0) & ~P)          # the pattern covers every nonzero
    prepared = reverse.prepare_hessian(f, names, dict.fromkeys(names, ()))
    groups = prepared.info["column_groups"]
    assert groups <= (4 if build == "rosenbrock" else 12) and prepared.info["sweeps"] == 1
    got = prepared(point)
    dense = curvature.Hessian(f, names, dict.fromkeys(names, ())).times(point, np.eye(n))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert rho(got[a][b], want[a][b]) <= TOL, (a, b)
            assert got[a][b] == dense[i, j] or abs(got[a][b] - dense[i, j]) <= 1e-13, (a, b)


def test_dense_patterns_keep_the_identity():
    from difflab.reverse import sparsity

    assert sparsity.colouring(np.ones((6, 6), dtype=bool)) is None   # nothing to save
    banded = np.eye(8, dtype=bool) | np.eye(8, k=1, dtype=bool) | np.eye(8, k=-1, dtype=bool)
    groups = sparsity.colouring(banded)
    assert groups.max() + 1 == 3
    for g in range(3):  # no two columns of a group share a row
        assert banded[:, groups == g].sum(axis=1).max() <= 1
    f = _fan_out(80)  # y meets every x_i: all columns share row y
    info = reverse.prepare_hessian(f, f.variables, dict.fromkeys(f.variables, ())).info
    assert "column_groups" not in info and info["chunk"] == 81


def test_hvp_on_the_level_schedule_is_one_sweep_with_one_direction():
    f = build_rosenbrock(64)
    rng = np.random.default_rng(SEED)
    point = sample_rosenbrock(rng, {"n": 64})
    vector = {name: float(rng.normal()) for name in f.variables}
    prepared = dl.prepared("hvp", f, f.variables, dict.fromkeys(point, ()), "reverse")
    assert prepared.info["sweep"] == "levels" and prepared.info["chunk"] == 1
    H = _jax_hessian(f, point)
    got = dl.hvp(f, point, vector, method="reverse")
    for a in f.variables:
        assert rho(got[a], sum(H[a][b] * vector[b] for b in f.variables)) <= TOL, a


def test_an_empty_output_has_an_empty_jacobian():
    x = dl.variable("x")
    J = reverse.jacobian(dl.sin(x) * 2.0, {"x": np.zeros(0)})["x"]
    assert J.shape == (0, 0)
