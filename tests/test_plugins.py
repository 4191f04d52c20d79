"""Methods as plugins: a user's method, difflab's peers and entry points, in the API and the lab.

The user's method is ``FixedCentral`` below: central differences with a fixed step, declared
approximate. Its gradients are checked against hand-written derivatives; the peers
(numdifftools, scipy.differentiate) against the independent JAX oracle (tests/jax_oracle.py)
within the tolerance they declare.
"""

from __future__ import annotations

import json
import os
import textwrap

import jax
import numpy as np
import pytest
from jax_oracle import jax_function

import difflab as dl
from difflab import api, cli, method_table
from difflab.lab import Cell, Run, Settings, load, run_sweep
from difflab.lab.accuracy import flatten, rho, tolerance
from difflab.plugin import MethodPlugin


class FixedCentral:
    """Central differences with a fixed step h: (f(x + h e_i) - f(x - h e_i)) / 2h."""

    exact = False
    tolerance = 1e-6
    info = {"step": "fixed"}

    def prepare(self, expr, wrt, shapes, step=1e-5):
        f = lambda point: float(dl.evaluate(expr, point))  # noqa: E731

        def gradient(point):
            out = {}
            for name in wrt:
                x = np.asarray(point[name], dtype=float)
                g = np.zeros(x.shape)
                for i in np.ndindex(x.shape):
                    up, down = x.copy(), x.copy()
                    up[i] += step
                    down[i] -= step
                    g[i] = (f({**point, name: up}) - f({**point, name: down})) / (2 * step)
                out[name] = g
            return out
        return gradient


METHOD = FixedCentral()
F = "sin(x) * exp(y) + x**2"
POINT = {"x": 1.0, "y": 0.5}
HAND = {"x": np.cos(1.0) * np.exp(0.5) + 2.0, "y": np.sin(1.0) * np.exp(0.5)}


@pytest.fixture
def mine():
    """``fixed_central`` registered by object for one test."""
    dl.register_method("fixed_central", METHOD)
    yield "fixed_central"
    method_table.unregister_method("fixed_central")


def test_a_registered_method_works_in_grad_compare_and_check_grad(mine):
    got = dl.grad(F, POINT, method=mine)
    assert set(got) == {"x", "y"} and isinstance(got["x"], float)
    for name in HAND:  # central differences at h = 1e-5: error ~ h^2 f'''/6 ~ 1e-10
        assert abs(got[name] - HAND[name]) < 1e-8
    assert dl.grad(F, POINT, method=mine, step=1e-3)["x"] != got["x"]  # the option reaches it
    array = dl.grad("sum(v * v)", {"v": np.array([1.0, -2.0, 3.0])}, method=mine)["v"]
    np.testing.assert_allclose(array, [2.0, -4.0, 6.0], rtol=1e-8)
    table = dl.compare(F, POINT, methods=["reverse", mine])
    row = table.set_index("method").loc[mine]
    assert row["status"] == "ok" and 1e-13 < row["max rho"] < 1e-6  # approximate, judged so
    assert dl.check_grad(F, POINT, method=mine)
    assert mine in dl.methods() and mine not in dl.METHODS
    assert dl.METHODS == ("symbolic", "numeric", "forward", "reverse", "jax")


def test_the_declared_tolerance_judges_it_not_the_exact_standard(mine):
    assert tolerance(mine) == 1e-6 and tolerance(mine, "hessian") == pytest.approx(1e-3)

    class Strict(FixedCentral):  # the same method declared exact: held to 1e-12, and failing
        exact = True
        tolerance = None
    dl.register_method("strict_central", Strict())
    try:
        assert tolerance("strict_central") == 1e-12
        row = dl.compare(F, POINT, methods=["strict_central"]).set_index("method")
        assert row.loc["strict_central", "status"] == "wrong"
    finally:
        method_table.unregister_method("strict_central")


def test_check_grad_compares_an_approximate_method_with_forward_mode():
    class Off(FixedCentral):
        def prepare(self, expr, wrt, shapes, step=1e-5):
            inner = super().prepare(expr, wrt, shapes, step)
            return lambda point: {k: v * 1.001 for k, v in inner(point).items()}
    dl.register_method("off_central", Off())
    try:
        with pytest.raises(dl.GradientMismatch, match="off_central vs forward"):
            dl.check_grad(F, POINT, method="off_central")
    finally:
        method_table.unregister_method("off_central")


@pytest.mark.parametrize("name, obj, error, message", [
    ("my method", METHOD, ValueError, "'my method' cannot name a method"),
    ("mine:fast", METHOD, ValueError, "':' separates a variant"),
    (3, METHOD, TypeError, "a method name must be a string"),
    ("reverse", METHOD, ValueError, "'reverse' is a built-in method; pass replace=True"),
    ("scipy", METHOD, ValueError, "'scipy' is difflab's peer; pass replace=True"),
    ("mine", object(), TypeError, "has no prepare\\(expr, wrt, shapes\\)"),
    ("mine", type("Vague", (), {"prepare": staticmethod(lambda e, w, s: None)}), ValueError,
     "must say how to judge it: exact = True"),
    ("mine", type("Neg", (), {"prepare": staticmethod(lambda e, w, s: None),
                              "tolerance": -1.0}), ValueError, "tolerance must be a positive"),
    ("mine", type("Cls", (FixedCentral,), {}), TypeError,
     "prepare must take \\(expr, wrt, shapes\\).*register an instance, not the class"),
    ("mine", "no_such_module:thing", ValueError, "'no_such_module:thing' does not load: "
     "ModuleNotFoundError"),
    ("mine", "test_plugins:NOPE", ValueError, "does not load: AttributeError"),
])
def test_registration_is_checked_with_clear_errors(name, obj, error, message):
    with pytest.raises(error, match=message):
        dl.register_method(name, obj)
    assert "mine" not in dl.methods()


def test_a_built_in_can_be_replaced_and_comes_back():
    before = dl.grad(F, POINT, method="numeric")
    dl.register_method("numeric", METHOD, replace=True)
    try:
        assert tolerance("numeric") == 1e-6
        assert dl.grad(F, POINT, method="numeric") != before  # fixed step vs numeric's own
        assert dl.methods().count("numeric") == 1
    finally:
        method_table.unregister_method("numeric")
    assert dl.grad(F, POINT, method="numeric") == before
    with pytest.raises(KeyError, match="no method 'numeric' is registered"):
        method_table.unregister_method("numeric")


def test_registering_again_needs_replace_unless_it_is_the_same(mine):
    dl.register_method(mine, METHOD)  # the same object: fine
    with pytest.raises(ValueError, match="already registered .*pass replace=True"):
        dl.register_method(mine, FixedCentral())
    dl.register_method(mine, "test_plugins:METHOD", replace=True)
    assert method_table.exported() == (("fixed_central", "test_plugins:METHOD"),)


def test_a_missing_kind_and_bad_results_are_named(mine):
    with pytest.raises(NotImplementedError, match="method 'fixed_central' has no jacobian"):
        dl.jacobian("x * y", POINT, method=mine)
    with pytest.raises(NotImplementedError, match="has no hessian"):
        dl.hessian(F, POINT, method=mine)
    with pytest.raises(TypeError, match="method 'fixed_central' has no option 'stepp'"):
        dl.grad(F, POINT, method=mine, stepp=1.0)

    def plugin(result):
        return MethodPlugin("bad", type("Bad", (), {
            "exact": True, "prepare": staticmethod(lambda e, w, s: lambda p: result)})())
    shapes = {"v": (3,)}
    point = {"v": np.ones(3)}
    cases = [({"w": 1.0}, ValueError, "returned no derivative for 'v'"),
             ({"v": np.ones(2)}, ValueError, "returned shape \\(2,\\) for 'v', expected \\(3,\\)"),
             ([1.0, 2.0, 3.0], TypeError, "returned list, not a dict"),
             ({"v": "abc"}, TypeError, "returned str for 'v', not numbers")]
    for result, error, message in cases:
        with pytest.raises(error, match=message):
            plugin(result).prepare(dl.parse("sum(v)"), ("v",), shapes)(point)


def _returning(result):
    """A method whose gradient is ``result`` whatever the point."""
    return MethodPlugin("fixed", type("Fixed", (), {
        "exact": True, "prepare": staticmethod(lambda e, w, s: lambda p: result)})())


def test_a_result_must_have_the_variables_shape_and_be_real_numbers():
    expr, shapes = dl.parse("sum(A) * s"), {"A": (2, 3), "s": ()}
    point = {"A": np.ones((2, 3)), "s": 1.0}
    good = np.arange(6.0).reshape(2, 3)
    got = _returning({"A": good, "s": np.float64(2.5)}).prepare(expr, ("A", "s"), shapes)(point)
    assert got["A"].dtype == np.float64 and np.array_equal(got["A"], good) and got["s"] == 2.5
    for scalar in (2, 2.0, np.array(2.0), np.int64(2)):  # a scalar: any 0-d number
        got = _returning({"A": good, "s": scalar}).prepare(expr, ("A", "s"), shapes)(point)
        assert got["s"] == 2.0 and type(got["s"]) is float
    ints = _returning({"A": np.arange(6).reshape(2, 3), "s": 1})
    assert ints.prepare(expr, ("A", "s"), shapes)(point)["A"].dtype == np.float64
    cases = [  # the same six numbers as a (3, 2) array would be scrambled by a reshape
        ({"A": good.reshape(3, 2), "s": 1.0}, ValueError,
         r"method 'fixed' returned shape \(3, 2\) for 'A', expected \(2, 3\)"),
        ({"A": good.ravel(), "s": 1.0}, ValueError, r"returned shape \(6,\) for 'A'"),
        ({"A": good, "s": np.ones(1)}, ValueError,
         r"returned shape \(1,\) for 's', expected \(\) \(a float or a 0-d array"),
        ({"A": good, "s": 1 + 5j}, TypeError,
         r"method 'fixed' returned complex numbers \(complex128\) for 's'"),
        ({"A": good + 0j, "s": 1.0}, TypeError, r"returned complex numbers .* for 'A'"),
        ({"A": good > 2, "s": 1.0}, TypeError, r"returned ndarray of bool for 'A', not numbers"),
        ({"A": good, "s": None}, TypeError, r"returned NoneType for 's', not numbers"),
        ({"A": [[1.0], [2.0, 3.0]], "s": 1.0}, TypeError, r"returned list for 'A', not numbers"),
    ]
    for result, error, message in cases:
        with pytest.raises(error, match=message):
            _returning(result).prepare(expr, ("A", "s"), shapes)(point)


def test_a_jacobian_and_a_hessian_are_checked_against_their_shapes_too():
    wrong = {"v": {"v": np.eye(3)[:, :2]}}  # (3, 2) for a (3, 3) block
    obj = type("Blocks", (), {
        "exact": True, "prepare": staticmethod(lambda e, w, s: None),
        "prepare_hessian": staticmethod(lambda e, w, s: lambda p: wrong),
        "prepare_jacobian": staticmethod(lambda e, w, s: lambda p: {"v": np.ones((3, 2))})})()
    plugin = MethodPlugin("blocks", obj)
    with pytest.raises(ValueError, match=r"'blocks' returned shape \(3, 2\) for 'v,v', "
                                         r"expected \(3, 3\)"):
        plugin.prepare_hessian(dl.parse("sum(v * v)"), ("v",), {"v": (3,)})({"v": np.ones(3)})
    with pytest.raises(ValueError, match=r"returned shape \(3, 2\) for 'v', expected \(2, 3\)"):
        plugin.prepare_jacobian(dl.parse("v[:2]"), ("v",), {"v": (3,)})({"v": np.ones(3)})


def _oracle(expr, point, kind):
    names = sorted(point)
    f = jax_function(expr, names)
    args = [np.asarray(point[n], dtype=float) for n in names]
    d = {"grad": jax.grad, "jacobian": jax.jacfwd, "hessian": jax.hessian}[kind]
    value = d(f, argnums=tuple(range(len(names))))(*args)
    if kind == "hessian":
        return {a: {b: np.asarray(value[i][j]) for j, b in enumerate(names)}
                for i, a in enumerate(names)}
    return {n: np.asarray(v) for n, v in zip(names, value, strict=True)}


PEER_CASES = [
    ("grad", "sin(x) * exp(y) + x**2", {"x": 1.0, "y": 0.5}),
    ("grad", "log1p(x * x) / (1 + y) + tanh(x * y)", {"x": -0.7, "y": 1.3}),
    ("grad", "sum(exp(v) * w) + sum(v * v)", {"v": np.array([0.1, -0.4, 0.8]), "w": 2.0}),
    ("grad", "sum(sigmoid(A @ v))", {"A": np.arange(6.0).reshape(2, 3) / 5,
                                     "v": np.array([0.3, -0.2, 0.1])}),
    ("jacobian", "tanh(A @ v)", {"A": np.arange(6.0).reshape(2, 3) / 5,
                                 "v": np.array([0.3, -0.2, 0.1])}),
    ("hessian", "sin(x) * exp(y) + x**2 * y", {"x": 1.0, "y": 0.5}),
    ("hessian", "sum(v ** 3) * w", {"v": np.array([0.5, -1.0]), "w": 1.5}),
]


@pytest.mark.parametrize("peer", ["numdifftools", "scipy"])
@pytest.mark.parametrize("kind, text, point", PEER_CASES, ids=lambda c: str(c)[:24])
def test_the_peers_agree_with_jax_within_their_declared_tolerance(peer, kind, text, point):
    expr = dl.parse(text)
    got = getattr(dl, kind)(expr, point, method=peer)
    want = _oracle(expr, point, kind)
    tol = tolerance(peer, kind)
    assert tol == method_table.resolve(peer)[0].tolerance * (1000 if kind == "hessian" else 1)
    flat_got = flatten(got)
    for label, value in flatten(want).items():
        assert np.shape(flat_got[label]) == np.shape(value), label
        assert rho(flat_got[label], value).max() <= tol, (label, flat_got[label], value)


PRODUCT_CASES = [
    ("sin(x) * exp(y) + x**2 * y", {"x": 1.0, "y": 0.5}),
    ("tanh(A @ v) * w", {"A": np.arange(6.0).reshape(2, 3) / 5, "v": np.array([0.3, -0.2, 0.1]),
                         "w": 1.5}),
    ("sum(v ** 3) * w + sum(exp(v))", {"v": np.array([0.5, -1.0]), "w": 1.5}),
]


@pytest.mark.parametrize("peer", ["numdifftools", "scipy"])
@pytest.mark.parametrize("text, point", PRODUCT_CASES, ids=lambda c: str(c)[:16])
def test_the_peers_have_every_product_built_from_their_jacobian_and_hessian(peer, text, point):
    """The peers have no prepare_jvp/vjp/hvp: api builds them from the peer's own Jacobian
    (J v, v^T J) and Hessian (H v), judged against jax.jvp, jax.vjp and the jvp of jax.grad."""
    expr = dl.parse(text)
    names = sorted(point)
    g = jax_function(expr, names)
    args = [np.asarray(point[n], dtype=float) for n in names]
    rng = np.random.default_rng(7)
    v = {n: rng.normal(size=np.shape(point[n])) for n in names}
    tol = tolerance(peer, "jacobian")
    _, want = jax.jvp(g, tuple(args), tuple(v[n] for n in names))
    got = dl.jvp(expr, point, {n: v[n] for n in names}, method=peer)
    assert np.shape(got) == np.shape(want) and rho(got, want).max() <= tol
    out, pullback = jax.vjp(g, *args)
    u = rng.normal(size=np.shape(out))
    got = dl.vjp(expr, point, u, method=peer)
    for name, w in zip(names, pullback(u), strict=True):
        assert np.shape(got[name]) == np.shape(point[name]) and rho(got[name], w).max() <= tol
    assert dl.prepared("jvp", expr, None, {n: np.shape(point[n]) for n in names},
                       peer).info["product"] == "J v from the Jacobian"
    if np.shape(out) == ():
        grad = jax.grad(g, argnums=tuple(range(len(names))))
        _, want = jax.jvp(grad, tuple(args), tuple(v[n] for n in names))
        got = dl.hvp(expr, point, v, method=peer)
        for name, w in zip(names, want, strict=True):
            assert rho(got[name], w).max() <= tolerance(peer, "hessian"), name


@pytest.mark.parametrize("peer", ["numdifftools", "scipy"])
@pytest.mark.parametrize("text, point", [
    ("x * 2", {"x": np.ones(0)}), ("x * y", {"x": np.ones((0, 2)), "y": 1.5}),
    ("sum(x * x)", {"x": np.ones((0, 2))}),
    ("sum(x * x) * y + y * y", {"x": np.ones(0), "y": 1.5})], ids=lambda c: str(c)[:12])
def test_the_peers_give_empty_derivatives_for_zero_size_arrays(peer, text, point):
    """numdifftools and scipy.differentiate fail on empty arrays; difflab does not ask them
    (every derivative is empty, or 0 for the rest): the same as JAX's."""
    expr = dl.parse(text)
    kinds = ["jacobian"] + (["grad", "hessian"] if np.shape(dl.evaluate(expr, point)) == () else [])
    for kind in kinds:
        got, want = flatten(getattr(dl, kind)(expr, point, method=peer)), \
            flatten(_oracle(expr, point, kind))
        assert set(got) == set(want)
        for label, value in want.items():
            assert np.shape(got[label]) == np.shape(value), (kind, label)
            assert rho(got[label], value).max(initial=0.0) <= tolerance(peer, kind), (kind, label)


class JacobianOnly:
    """A user's method with a gradient and a Jacobian (forward mode's), no products."""

    exact = True

    def prepare(self, expr, wrt, shapes):
        return dl.forward.prepare(expr, wrt, shapes)

    def prepare_jacobian(self, expr, wrt, shapes):
        return dl.forward.prepare_jacobian(expr, wrt, shapes)


class HessianToo(JacobianOnly):
    def prepare_hessian(self, expr, wrt, shapes):
        return dl.reverse.prepare_hessian(expr, wrt, shapes)


class OwnJvp(JacobianOnly):
    def prepare_jvp(self, expr, wrt, shapes):  # a plain callable, not a Prepared
        return lambda point, tangents: 42.0


@pytest.mark.parametrize("name, obj", [("jac_only", JacobianOnly()), ("hess_too", HessianToo()),
                                       ("own_jvp", OwnJvp())])
def test_a_registered_method_has_the_products_its_jacobian_and_hessian_give(name, obj):
    """sin(x) * y for x of shape (3,): J_x = diag(y cos x), J_y = sin x; and sum(x**3) * y:
    H_xx = diag(6 x y), H_xy = 3 x**2, H_yy = 0 (by hand)."""
    dl.register_method(name, obj)
    try:
        x, y = np.array([0.3, -1.2, 2.0]), 1.5
        t, u = np.array([1.0, -2.0, 0.5]), np.array([0.25, 1.0, -3.0])
        point = {"x": x, "y": y}
        got = dl.jvp("sin(x) * y", point, {"x": t, "y": 2.0}, method=name)
        want = 42.0 if name == "own_jvp" else y * np.cos(x) * t + np.sin(x) * 2.0
        np.testing.assert_allclose(got, want, rtol=1e-13)
        got = dl.vjp("sin(x) * y", point, u, method=name)
        np.testing.assert_allclose(got["x"], u * y * np.cos(x), rtol=1e-13)
        assert got["y"] == pytest.approx(u @ np.sin(x), rel=1e-13)
        if name != "hess_too":
            with pytest.raises(NotImplementedError, match=f"method '{name}' has no hessian"):
                dl.hvp("sum(x**3) * y", point, {"x": t}, method=name)
            return
        got = dl.hvp("sum(x**3) * y", point, {"x": t, "y": 2.0}, method=name)
        np.testing.assert_allclose(got["x"], 6 * x * y * t + 3 * x**2 * 2.0, rtol=1e-13)
        assert got["y"] == pytest.approx(3 * x**2 @ t, rel=1e-13)
    finally:
        method_table.unregister_method(name)


def test_a_method_with_only_a_gradient_says_it_has_no_jacobian_for_a_product(mine):
    with pytest.raises(NotImplementedError, match="method 'fixed_central' has no jacobian"):
        dl.jvp(F, POINT, {"x": 1.0}, method=mine)
    with pytest.raises(NotImplementedError, match="method 'fixed_central' has no jacobian"):
        dl.vjp(F, POINT, 1.0, method=mine)
    with pytest.raises(NotImplementedError, match="method 'fixed_central' has no hessian"):
        dl.hvp(F, POINT, {"x": 1.0}, method=mine)


def test_importing_difflab_reads_no_entry_points():
    import subprocess
    import sys

    code = ("import difflab, difflab.method_table as t, difflab.lab.problem_plugins as p; "
            "print(t._entry_points is None, p._entry_points is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=True)
    assert out.stdout.split() == ["True", "True"]


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A package 'mypeers' installed in tmp_path with entry points for a method and a
    problem (a dist-info directory on sys.path, as pip would leave it)."""
    (tmp_path / "mypeers.py").write_text(textwrap.dedent("""
        from test_plugins import FixedCentral
        from difflab.lab.problems import get_problem
        METHOD = FixedCentral()
        def quartic():
            return get_problem("rosenbrock")
    """))
    info = tmp_path / "mypeers-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mypeers\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[difflab.methods]\nep_central = mypeers:METHOD\n\n"
                                           "[difflab.problems]\nep_rosen = mypeers:quartic\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from difflab.lab import problem_plugins

    method_table.discover()
    problem_plugins.discover()
    yield tmp_path
    monkeypatch.undo()
    method_table.discover()
    problem_plugins.discover()


def test_entry_points_give_methods_and_problems_here_and_in_workers(installed, tmp_path):
    assert "ep_central" in dl.methods()
    assert abs(dl.grad(F, POINT, method="ep_central")["x"] - HAND["x"]) < 1e-8
    assert tolerance("ep_central") == 1e-6
    assert "entry point 'mypeers:METHOD' of mypeers" in repr(method_table.resolve("ep_central")[0])
    from difflab.lab.problems import get_problem, problems

    assert "ep_rosen" in [p.name for p in problems()]
    cells = [Cell("plug", "ep_rosen", {"n": 3}, m) for m in ("ep_central", "reverse")]
    with Run.create(tmp_path / "results", run_id="r") as run:
        counts = run_sweep(cells, run, Settings(time_limit=60, time_primal=False),
                           isolate=True, progress=False)  # a fresh worker finds them too
        rows = {r["method"]: r for r in run.rows()}
    assert counts == {"ok": 2}, rows
    assert rows["ep_central"]["tol"] == 1e-6 and rows["ep_central"]["pid"] != os.getpid()
    assert get_problem("ep_rosen").name == "ep_rosen"


def test_a_method_a_worker_cannot_import_is_refused_before_the_sweep(tmp_path):
    class Local(FixedCentral):  # defined in a function: no process can import it
        pass
    dl.register_method("local_central", Local())
    try:
        assert "cannot get" in method_table.portable_error("local_central")
        cells = [Cell("plug", "rosenbrock", {"n": 2}, "local_central")]
        with Run.create(tmp_path, run_id="r") as run:
            with pytest.raises(ValueError, match="register it by import path"):
                run_sweep(cells, run, Settings(), isolate=True, progress=False)
            assert run.rows() == []
            assert run_sweep(cells, run, Settings(time_primal=False), isolate=False,
                             progress=False) == {"ok": 1}  # in this process it runs
    finally:
        method_table.unregister_method("local_central")


def test_a_registered_method_in_an_accuracy_run_and_its_section(mine, tmp_path, capsys):
    """`difflab run` of an experiment file that runs the accuracy study, cells in workers."""
    path = tmp_path / "my_accuracy.py"
    path.write_text(textwrap.dedent("""
        STUDY = "accuracy"
        CONFIG = {"methods": ["fixed_central", "reverse", "numdifftools", "scipy"],
                  "problems": ["squire_trapp", "logistic4"], "seeds": [0], "isolate": True}
        QUICK = {"problems": ["squire_trapp"]}
    """))
    assert cli.main(["run", str(path), "--quick", "--results", str(tmp_path / "results"),
                     "--report", str(tmp_path / "report")]) == 0
    (run_dir,) = (tmp_path / "results").iterdir()
    assert json.loads((run_dir / "meta.json").read_text())["study"] == "accuracy"
    df = load(run_dir).set_index("method")
    assert set(df.index) == {"fixed_central", "reverse", "numdifftools", "scipy"}
    assert (df["outcome"] == "ok").all(), df[["outcome", "message"]]
    assert df.loc["fixed_central", "tol"] == 1e-6 and df.loc["numdifftools", "tol"] == 1e-9
    assert df.loc["fixed_central", "pid"] != os.getpid()  # measured in a worker process
    assert df.loc["fixed_central", "max_rho"] < 1e-9 and df.loc["reverse", "max_rho"] < 1e-15
    report = (tmp_path / "report" / "report.md").read_text()
    assert report.splitlines()[0].startswith("# difflab report — every section from quick runs")
    assert "## Accuracy against the 50-digit truth (my_accuracy)" in report
    rows = [line for line in report.splitlines() if line.startswith("| fixed_central |")]
    # the summary's accuracy over the same cells as every method, then the section's table
    assert len(rows) == 2 and ", squire_trapp)" in rows[0]
    assert "| 1 | 1 | 0 | 0 |" in rows[1]
    assert (tmp_path / "report" / "figures" / "my_accuracy" / "accuracy.png").stat().st_size


def test_the_method_table_lists_what_resolve_knows():
    for name in dl.methods():
        module, options = api.resolve(name)
        assert options == {} and callable(module.prepare)
    with pytest.raises(ValueError, match="unknown method 'revrse'; known methods: symbolic, "
                                         "numeric, forward, reverse, jax, numdifftools, scipy"):
        api.resolve("revrse")
    with pytest.raises(ValueError, match="method 'scipy' has no variants"):
        api.resolve("scipy:fast")


def test_a_module_is_a_method_and_travels_by_its_name(tmp_path, monkeypatch):
    (tmp_path / "module_method.py").write_text(textwrap.dedent("""
        from difflab import reverse
        exact = True
        def prepare(expr, wrt, shapes):
            return reverse.prepare(expr, wrt, shapes)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import module_method

    dl.register_method("by_module", module_method)
    try:
        assert method_table.exported() == (("by_module", "module_method"),)
        assert dl.grad(F, POINT, method="by_module") == dl.grad(F, POINT, method="reverse")
        assert tolerance("by_module") == 1e-12
    finally:
        method_table.unregister_method("by_module")


def test_a_method_that_does_not_load_in_a_worker_says_why():
    method_table.install([("ghost", "no_such_module:METHOD")])  # as a worker would
    try:
        with pytest.raises(ValueError, match="method 'ghost' was registered in the parent "
                                             "process but does not load in this worker: "
                                             "ValueError: .*ModuleNotFoundError"):
            dl.grad(F, POINT, method="ghost")
    finally:
        method_table._broken.pop("ghost")
        method_table._RESOLVED.pop("ghost", None)
