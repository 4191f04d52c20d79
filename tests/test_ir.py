"""The IR: building by operators, structure, equality, variables, sizes."""

import math

import numpy as np
import pytest

import difflab as dl
from difflab.core import arrays as arrays_mod
from difflab.core import expr as ir
from difflab.core import ops


def test_operators_build_the_same_ir_as_text():
    x, y = dl.variables("x y")
    built = dl.sin(x) * dl.exp(y) + x**2
    assert built == dl.parse("sin(x) * exp(y) + x**2")
    assert hash(built) == hash(dl.parse("sin(x)*exp(y)+x**2"))
    assert built != dl.parse("sin(x) * exp(y) + x**3")


@pytest.mark.parametrize("make, text", [
    (lambda x: x * 2.0, "x * 2"),
    (lambda x: 2.0 * x, "2 * x"),
    (lambda x: 1.0 + x, "1 + x"),
    (lambda x: x - 1, "x - 1"),
    (lambda x: 1 - x, "1 - x"),
    (lambda x: x / 3, "x / 3"),
    (lambda x: 3 / x, "3 / x"),
    (lambda x: -x, "-x"),
    (lambda x: x ** 3, "x ** 3"),
    (lambda x: 2 ** x, "2 ** x"),
    (lambda x: +x, "x"),
])
def test_python_numbers_mix_in_on_either_side(make, text):
    assert make(dl.variable("x")) == dl.parse(text)


def test_numpy_arrays_mix_in_on_either_side_and_build_nodes():
    x = dl.variable("x")
    a = np.array([1.0, 2.0, 3.0])
    for e in (a * x, x * a, a + x, a @ x, x @ a, a - x, a / x):
        assert isinstance(e, dl.Expr)
    assert dl.evaluate(a * x, {"x": 2.0}).tolist() == [2.0, 4.0, 6.0]
    assert dl.evaluate(x @ a, {"x": np.ones(3)}) == 6.0
    assert dl.evaluate(a - x, {"x": 1.0}).tolist() == [0.0, 1.0, 2.0]


def test_variables_are_sorted_and_unique():
    f = dl.parse("z * sin(a) + a * b + z")
    assert f.variables == ("a", "b", "z")
    assert dl.parse("2 * pi + e").variables == ()


def test_variable_names_are_checked():
    with pytest.raises(ValueError, match="identifier"):
        dl.variable("2x")
    with pytest.raises(ValueError, match="function or constant"):
        dl.variable("sin")
    with pytest.raises(ValueError, match="function or constant"):
        dl.variable("pi")
    for name in ("where", "clip", "concatenate", "softmax", "reshape", "outer"):
        with pytest.raises(ValueError, match="function or constant"):  # the grammar's too:
            dl.variable(name)                      # its text would parse as a call
    with pytest.raises(ValueError, match="Python reads it as 'fi'"):
        dl.variable("\ufb01")                      # the ligature fi: text parses as fi
    with pytest.raises(TypeError, match="string"):
        dl.variable(3)
    assert [v.attr for v in dl.variables("x, y  z")] == ["x", "y", "z"]


def test_bad_operands_are_refused_with_a_type_error():
    x = dl.variable("x")
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        x * None
    with pytest.raises(TypeError, match="truth value"):
        bool(x)


def test_every_grammar_function_is_exported():
    for name in ops.FUNCTIONS:
        assert callable(getattr(dl, name)), name
    assert set(arrays_mod.BUILDERS) == set(ops.OPS) - {"const", "var"}


def test_negative_numbers_fold_into_constants():
    assert (-dl.constant(2.0)).op == "const"
    assert dl.parse("-2").attr == -2.0
    assert dl.parse("pi").attr == math.pi


def test_structural_equality_is_iterative_on_deep_graphs():
    def chain(n):
        e = dl.variable("x")
        for _ in range(n):
            e = dl.sin(e) + 1.0
        return e

    assert chain(200_000) == chain(200_000)
    assert chain(200_000) != chain(199_999)


def test_toposort_puts_arguments_first_and_each_node_once():
    x, y = dl.variables("x y")
    s = dl.sin(x * y)
    f = s * s + s
    order = ir.toposort(f)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(order) == len({id(n) for n in order}) == 6
    for node in order:
        for arg in node.args:
            assert position[id(arg)] < position[id(node)]


def test_size_counts_dag_tree_and_depth():
    x = dl.variable("x")
    e = x
    for _ in range(30):  # each step uses the previous node twice: the tree doubles
        e = e * e
    s = dl.size(e)
    assert s.dag_nodes == 31 and s.ops == 30 and s.depth == 30
    assert s.tree_nodes == 2**31 - 1
    assert dl.size(dl.parse("sin(x) + sin(x)")).dag_nodes == 3  # equal subtrees merged
    assert dl.size(dl.parse("sin(x) + sin(x)")).tree_nodes == 5


def test_import_difflab_leaves_the_heavy_libraries_for_first_use():
    import subprocess
    import sys

    code = ("import sys, difflab; from difflab import forward, reverse, numeric; "
            "print(sorted(m for m in ('sympy', 'jax', 'pandas', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
    assert dl.to_sympy(dl.parse("x + 1")).free_symbols  # and the bridge still works
