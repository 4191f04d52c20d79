"""Symbolic differentiation's rules: the chain rule once per distinct SymPy node.

SymPy differentiates the expression *tree*; here the chain rule runs once per distinct SymPy
node (a walk over the DAG in topological order, memoised), with SymPy's own derivative of each
function (``fdiff``: sin' = cos, Abs' = sign, Max' = Heaviside(a - b) ...) and the rules for
sums, products and powers in ``DIFF_RULES``. ``sympy_rules`` maps every IR op to the SymPy
construction the bridge uses for it (the table the rule-coverage test reads).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from ..core import sympy_bridge
from ..core import sympy_functions as fns
from ..core.sympy_arrays import SYMPY_ARRAY
from .budget import ONE, ZERO, Clock


# ---- the rules: d(node)/dx from the node's arguments and their tangents ------------------
def _product(*factors):
    """An unevaluated product, without factors of 1 (no canonical re-sorting of deep args)."""
    factors = [f for f in factors if f is not ONE]
    if not factors:
        return ONE
    return factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)


def _total(terms):
    """An unevaluated sum of the non-zero terms."""
    terms = [t for t in terms if t is not ZERO]
    if not terms:
        return ZERO
    return terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)


def _d_add(node, dot):
    # d(a + b + ...) = a_dot + b_dot + ...
    return _total([dot(a) for a in node.args])


def _d_mul(node, dot):
    # Product rule: d(a b c) = a_dot b c + a b_dot c + a b c_dot (only the varying factors).
    args = node.args
    return _total([_product(*args[:i], *args[i + 1:], a_dot)
                   for i, a_dot in enumerate(map(dot, args)) if a_dot is not ZERO])


def _d_pow(node, dot):
    # d(b**e) = e b**(e-1) b_dot + log(b) b**e e_dot. The log term exists only where e varies
    # (x**3 at x = -2 is 12, not nan) and uses log(1) = 0 at b = 0, as JAX's pow rule does.
    base, expo = node.args
    base_dot, expo_dot = dot(base), dot(expo)
    terms = []
    if base_dot is not ZERO:
        terms.append(_product(expo * base ** (expo - 1), base_dot))
    if expo_dot is not ZERO:
        log_base = sympy.Piecewise((ZERO, sympy.Eq(base, 0)), (sympy.log(base), True))
        terms.append(_product(log_base, node, expo_dot))
    return _total(terms)


def _d_piecewise(node, dot):
    # The conditions are comparisons (b == 0): constant almost everywhere, so d acts per piece.
    return sympy.Piecewise(*[(dot(piece), cond) for piece, cond in node.args])


def _d_zero(node, dot):
    # sign and Heaviside are flat away from 0; JAX takes their derivative as 0 everywhere.
    return ZERO


def _d_select(node, dot):
    # d select(c, a) = select(c, a_dot): the tangent is selected, so a branch not taken adds
    # exactly 0 even where its derivative is inf or nan; the mask c has derivative 0.
    c, a = node.args
    a_dot = dot(a)
    return ZERO if a_dot is ZERO else node.func(c, a_dot)


def _d_function(node, dot):
    # Chain rule with SymPy's own derivative of the function: d f(a, b) = f_a a_dot + f_b b_dot.
    return _total([_product(node.fdiff(i + 1), a_dot)
                   for i, a_dot in enumerate(map(dot, node.args)) if a_dot is not ZERO])


# IR op -> the SymPy it becomes (over object arrays of SymPy scalars), as sympy_bridge builds
# it: elementwise ops are the bridge's SymPy functions, structural ops become sums and products
# of scalars. Symbolic's derivative of an op is the derivative of that SymPy (DIFF_RULES below,
# or the function's own fdiff). tests/test_symbolic.py checks this table against the bridge.
RULE_TABLES = ("sympy_rules",)
sympy_rules = {
    **sympy_bridge.SYMPY_UNARY,
    **sympy_bridge.SYMPY_BINARY,
    "matmul": lambda a, b: np.matmul(a, b),                  # Add of Mul per element
    "sum": lambda a: sympy.Add(*np.ravel(a)),
    "mean": lambda a: sympy.Add(*np.ravel(a)) / max(np.size(a), 1),
    "transpose": lambda a: np.transpose(a),                  # no arithmetic: moves scalars
    **sympy_bridge.SYMPY_MASKS,                              # 0/1 masks, where's halves
    **SYMPY_ARRAY,       # index, reshape, permute, concat move scalars; reductions combine them
}


# SymPy node class -> rule(node, dot) where dot(arg) is the argument's tangent. Any other
# function (sin ... tanh, exp, log, log1p, expm1, Abs, Max, Min, sigmoid, softplus, relu,
# max_of and min_of: ties split equally, logsumexp: d = softmax) uses _d_function, i.e. its
# SymPy ``fdiff``. Comparison masks are flat (0), selects select the tangent.
DIFF_RULES = {
    sympy.Add: _d_add,
    sympy.Mul: _d_mul,
    sympy.Pow: _d_pow,
    sympy.Piecewise: _d_piecewise,
    sympy.sign: _d_zero,
    sympy.Heaviside: _d_zero,
    **{cls: _d_zero for cls in fns.MASKS},
    fns.max_shift: _d_zero,  # the constant shift of the softmax family
    fns.select_if: _d_select,
    fns.select_unless: _d_select,
}


# ---- walking the SymPy DAG --------------------------------------------------------------
def graph(roots: Sequence) -> list:
    """Every distinct SymPy node reachable from ``roots``, arguments first (iterative)."""
    order, seen = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in seen)
    return order


def _rule(node):
    rule = DIFF_RULES.get(type(node))
    if rule is not None:
        return rule
    if not isinstance(node, sympy.Expr):  # conditions, (expr, cond) pairs: not differentiated
        return _d_zero
    if hasattr(node, "fdiff"):
        return _d_function
    raise NotImplementedError(f"symbolic: no derivative rule for SymPy's {type(node).__name__}")


def jacobian_exprs(outputs: Sequence, inputs: Sequence, clock: Clock | None = None) -> list:
    """d outputs[i] / d inputs[j] as SymPy expressions: ``result[i][j]``.

    One memoised forward walk per input over the outputs' DAG: each distinct node's tangent is
    built once, from its arguments' tangents. Nodes that do not depend on the input are
    skipped (a bit mask per node says which inputs it depends on).

    Args:
        outputs: SymPy scalar expressions.
        inputs: the SymPy symbols to differentiate by.
        clock: checked every few hundred nodes (raises SymbolicTooLarge when time is up).
    Returns:
        a list (per output) of lists (per input) of SymPy expressions.
    """
    order = graph(outputs)
    bit = {x: 1 << j for j, x in enumerate(inputs)}
    depends: dict = {}
    for node in order:
        mask = bit.get(node, 0) if node.is_Symbol else 0
        for a in node.args:
            mask |= depends[a]
        depends[node] = mask
    rules = [_rule(node) if depends[node] and not node.is_Symbol else None for node in order]
    result = [[ZERO] * len(inputs) for _ in outputs]
    done = 0
    for j, x in enumerate(inputs):
        x_bit, tangent = bit[x], {x: ONE}
        dot = lambda a: tangent.get(a, ZERO)  # noqa: B023 - used within this iteration only
        for node, rule in zip(order, rules, strict=True):
            if rule is not None and depends[node] & x_bit:
                tangent[node] = rule(node, dot)
                done += 1
                if clock is not None and done % 256 == 0:
                    clock.check("differentiating")
        for i, out in enumerate(outputs):
            result[i][j] = dot(out)
    return result


def tree_ops(exprs: Sequence) -> int:
    """Operations of ``exprs`` written out as trees (shared subexpressions counted per use).

    Counted on the DAG (a node's count is 1 + its arguments' counts), so a tree of 10**12
    operations is counted exactly without being built. Leaves (symbols, numbers) count 0.
    """
    count: dict = {}
    for node in graph(exprs):
        count[node] = (0 if node.is_Atom else 1) + sum(count[a] for a in node.args)
    return sum(count[e] for e in exprs)
