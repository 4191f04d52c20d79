"""The house: no import cycles, modules of one concept (at most 400 lines), one op table, and
prepared derivatives found for a rebuilt graph without visiting it."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import difflab as dl
from difflab import api, forward, jax_ref, numeric, reverse, symbolic
from difflab.core import arrays as arrays_mod
from difflab.core import expr as expr_mod
from difflab.core import ops, plan

PACKAGE = pathlib.Path(dl.__file__).parent
MAX_LINES = 400


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """module -> the difflab modules it imports, read from the source (every import
    statement, at the top or inside a function)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:  # a submodule imported by name, else the module
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else source)
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (an iterative depth-first search with colours)."""
    colour = dict.fromkeys(graph, 0)  # 0 new, 1 on the stack, 2 done
    for start in sorted(graph):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                colour[node] = 2
            elif colour[child] == 1:
                return path[path.index(child):] + [child]
            elif colour[child] == 0:
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "difflab.api" in graph["difflab.forward.prepare"]  # (a one-shot grad's import)
    assert "difflab.core.ops" in graph["difflab.core.expr"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_modules_are_at_most_400_lines(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_LINES, f"{_module_name(path)} has {lines} lines (limit {MAX_LINES})"


def test_one_op_table():
    for name, op in ops.OPS.items():
        assert op.name == name and op.arity in (0, 1, 2, 3)
        assert (op.primal is None) == (op.arity == 0) == (op.shape is None)
    assert set(ops.PRIMAL) == set(ops.OPS) - set(ops.LEAVES)
    assert set(arrays_mod.BUILDERS) == set(ops.OPS) - set(ops.LEAVES)
    for module in (forward, reverse, symbolic, numeric, jax_ref):  # keyed by the same names
        for table in module.RULE_TABLES:
            assert set(getattr(module, table)) >= set(ops.OPS) - set(ops.LEAVES), table


def test_shape_rules_come_from_the_op_table():
    assert ops.OPS["matmul"].shape((2, 3), (3, 4)) == (2, 4)
    assert ops.OPS["add"].shape((2, 1), (3,)) == (2, 3)
    assert ops.OPS["sum"].shape((5, 2)) == ()
    with pytest.raises(ValueError, match=r"mul: shapes \(2,\) and \(3,\)"):
        ops.OPS["mul"].shape((2,), (3,))


def _mlp_loss(params, X, y):
    """A micrograd-style scalar MLP loss built with + in Python loops (~30,000 nodes)."""
    k = 0
    scores = []
    for x in X:
        h = x
        for fan_in, fan_out, last in ((16, 32, False), (32, 32, False), (32, 1, True)):
            out = []
            for j in range(fan_out):
                w, b = params[k + j * (fan_in + 1):k + (j + 1) * (fan_in + 1) - 1], \
                    params[k + (j + 1) * (fan_in + 1) - 1]
                out.append(sum((wi * xi for wi, xi in zip(w, h, strict=True)), b))
            k += fan_out * (fan_in + 1)
            h = out if last else [dl.relu(a) for a in out]
        k = 0
        scores.append(h[0])
    return sum(dl.relu(1 + -yi * si) for yi, si in zip(y, scores, strict=True)) * 0.125


def test_a_rebuilt_graph_finds_its_prepared_derivative_without_visiting_a_node(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 16)).tolist()
    y = [1.0 if i % 2 else -1.0 for i in range(8)]
    n = 16 * 32 + 32 + 32 * 32 + 32 + 32 + 1
    names = [f"p{k}" for k in range(n)]
    params = dl.variables(names)
    point = dict(zip(names, rng.uniform(-1, 1, size=n).tolist(), strict=True))
    built = _mlp_loss(params, X, y)
    assert len(expr_mod.toposort(built)) > 30_000  # nodes as built (27,000 after merging)
    first = dl.grad(built, point)  # prepares (and compiles the plan)

    visits = {"toposort": 0, "compile": 0, "equal": 0}

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            visits[name] += 1
            return fn(*args, **kwargs)
        return wrapped
    monkeypatch.setattr(expr_mod, "toposort", counting("toposort", expr_mod.toposort))
    monkeypatch.setattr(plan, "toposort", counting("toposort", plan.toposort))
    monkeypatch.setattr(plan, "_compile", counting("compile", plan._compile))
    monkeypatch.setattr(expr_mod, "structurally_equal",
                        counting("equal", expr_mod.structurally_equal))

    loss = _mlp_loss(params, X, y)  # built afresh: equal in structure, no node shared
    again = dl.grad(loss, point)
    assert visits == {"toposort": 0, "compile": 0, "equal": 0}
    assert again == first
    # no node below the root was touched: none of them holds derived facts
    assert all(not hasattr(arg, "_cache") for arg in loss.args)


def test_fingerprints_tell_structures_apart():
    x, y = dl.variables("x y")
    assert (x * y).key == (x * y).key and (x * y).key != (y * x).key
    assert dl.sin(x).key != dl.cos(x).key and (x + 1.0).key != (x + 2.0).key
    assert dl.constant(np.ones(3)).key != dl.constant(np.ones(4)).key
    assert api.prepared("grad", x * y, method="reverse") is \
        api.prepared("grad", dl.variable("x") * dl.variable("y"), method="reverse")


# Payloads whose Python hashes are equal: hash(-1) == hash(-2) (for ints and floats), and a
# number hashes by its value modulo 2^61 - 1, so hash(2.0 ** 61) == hash(1.0).
COLLIDING = [
    ("x * (-1)", "x * (-2)", {"x": 1.5}),
    ("x * 2305843009213693952.0", "x * 1.0", {"x": 1.5}),
    ("x * 0.0", "x * (-0.0)", {"x": 1.5}),
    ("log_softmax(v, axis=-1)", "log_softmax(v, axis=-2)", {"v": np.arange(6.0).reshape(2, 3)}),
    ("sum(v[-1] * v)", "sum(v[-2] * v)", {"v": np.array([1.0, 2.0, 3.0])}),
]


@pytest.mark.parametrize("a, b, point", COLLIDING, ids=[c[0] for c in COLLIDING])
def test_payloads_that_python_hashes_alike_have_different_fingerprints(a, b, point):
    ea, eb = dl.parse(a), dl.parse(b)
    assert ea.key != eb.key and ea != eb
    for method in ("reverse", "forward", "symbolic"):
        ga = dl.jacobian(ea, point, method=method)  # prepared and cached first ...
        gb = dl.jacobian(eb, point, method=method)  # ... must not be handed to the second
        want = dl.jacobian(eb, point, method="jax")
        for name in gb:
            np.testing.assert_allclose(gb[name], want[name], rtol=1e-12, atol=1e-300)
            if method != "symbolic":  # (SymPy's numbers have no -0: its zero is 0)
                assert np.array_equal(np.signbit(gb[name]), np.signbit(want[name])), method
        if method != "symbolic" or "0.0" not in a:
            assert any(not np.array_equal(ga[n], gb[n]) or
                       not np.array_equal(np.signbit(ga[n]), np.signbit(gb[n])) for n in gb)
