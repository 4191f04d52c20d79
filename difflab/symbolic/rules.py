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
    return factors[0] if len(factors) == 1 else _built(sympy.Mul, factors)


def _total(terms):
    """An unevaluated sum of the non-zero terms."""
    terms = [t for t in terms if t is not ZERO]
    if not terms:
        return ZERO
    return terms[0] if len(terms) == 1 else _built(sympy.Add, terms)


def _built(cls, args):
    """``cls(*args, evaluate=False)`` past SymPy's cache, hashed at once. The cache compares
    a new node's arguments with the entries' by SymPy's recursive ==: a tangent chain built
    again for another input (or a Hessian's second pass) after its first copy's oldest links
    left the cache meets a newer link of that copy, and the comparison recurses down the
    whole chain, in time exponential in its depth. Hashing now, from the arguments' cached
    hashes, keeps any later hash of the node one level deep."""
    node = cls._from_args(args)
    hash(node)
    return node


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
    # d sqrt(b) is 1/2 / sqrt(b), as JAX writes it: b**(-1/2) would be +inf at b = -0.0 and
    # 0 at -inf, where 1/2 / sqrt(b) is -inf and nan.
    base, expo = node.args
    base_dot, expo_dot = dot(base), dot(expo)
    terms = []
    if base_dot is not ZERO and expo is sympy.S.Half:
        terms.append(_product(sympy.S.Half * sympy.Pow(node, -1), base_dot))
    elif base_dot is not ZERO:
        terms.append(_product(expo * base ** (expo - 1), base_dot))
    if expo_dot is not ZERO:
        log_base = sympy_bridge.piecewise((ZERO, sympy.Eq(base, 0)), (sympy.log(base), sympy.true))
        terms.append(_product(log_base, node, expo_dot))
    return _total(terms)


def _d_piecewise(node, dot):
    # The conditions are comparisons (b == 0): constant almost everywhere, so d acts per piece
    # (and where every piece is flat, so is the whole).
    pieces = [(dot(piece), cond) for piece, cond in node.args]
    if all(piece is ZERO for piece, _ in pieces):
        return ZERO
    return sympy_bridge.piecewise(*pieces)


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
class Dag:
    """The distinct nodes reachable from ``roots``, each after its arguments (an explicit
    stack), told apart by value numbering instead of SymPy's ``==``.

    SymPy compares compound nodes structurally and recursively, without memo: two equal but
    separately built copies of a deep DAG compare in time exponential in the depth (and
    overflow the stack). Here a node is its type with its children's numbers (an atom is
    itself), so equal copies get one number, and no compound nodes are ever compared.

    Args:
        roots: SymPy expressions.
        children: node -> the nodes it reads (default: its ``args``).
        signature: node -> what besides its type and children tells it apart (default None).
    """

    def __init__(self, roots: Sequence, children=None, signature=None):
        self.order: list = []            # one representative per distinct node
        self._at: dict[int, int] = {}    # id(object) -> its representative's position
        self._alive: list = []           # the objects whose ids are keys
        order, at, alive, table, seen = self.order, self._at, self._alive, {}, set()
        stack: list = [(root, None) for root in reversed(roots)]
        while stack:
            node, kids = stack.pop()
            if kids is None:  # first visit: come back once the children are numbered
                if id(node) in seen:
                    continue
                seen.add(id(node))
                alive.append(node)
                kids = node.args if children is None else children(node)
                stack.append((node, kids))
                stack.extend((a, None) for a in reversed(kids) if id(a) not in seen)
                continue
            if kids:
                key = (type(node), signature(node) if signature else None,
                       tuple([at[id(a)] for a in kids]))
            else:
                key = (type(node), node) if node.is_Atom else (type(node), None, ())
            k = table.get(key)
            if k is None:
                k = table[key] = len(order)
                order.append(node)
            at[id(node)] = k

    def at(self, node) -> int:
        """The position in ``order`` of ``node`` (any object reached from the roots)."""
        return self._at[id(node)]


def graph(roots: Sequence) -> list:
    """Every distinct SymPy node reachable from ``roots``, arguments first (iterative)."""
    return Dag(roots).order


def _rule(node):
    rule = DIFF_RULES.get(type(node))
    if rule is not None:
        return rule
    if not isinstance(node, sympy.Expr):  # conditions, (expr, cond) pairs: not differentiated
        return _d_zero
    if hasattr(node, "fdiff"):
        return _d_function
    raise NotImplementedError(f"symbolic: no derivative rule for SymPy's {type(node).__name__}")


WIDE = 16  # a sum of more arguments is differentiated from the arguments that vary only


def _sums(dag: Dag, outputs: Sequence) -> tuple[list, dict]:
    """The sums differentiated as one: (what each node reads, {sum: {term: its places}}).

    A sum read only by one other sum (``s + t`` in ``(s + t) + u``, Python's sum() of 1,000
    terms) is an inner sum: its own tangent is never needed, so the outer sum reads the
    inner sum's terms instead (as SymPy's flattening would). Such a sum, and any sum of more
    than WIDE terms, is differentiated from the terms that vary: Rosenbrock with sum() at
    n = 1,000 costs each input its five terms, not the 1,000 partial sums above it."""
    order, at = dag.order, dag.at
    args = [[at(a) for a in node.args] for node in order]
    users: list[set[int]] = [set() for _ in order]
    for k, reads in enumerate(args):
        for p in reads:
            users[p].add(k)
    kept = {at(o) for o in outputs}
    inner = {k for k, node in enumerate(order) if node.is_Add and k not in kept and
             len(users[k]) == 1 and order[next(iter(users[k]))].is_Add}
    reads, sums = list(args), {}
    for k, node in enumerate(order):
        if not node.is_Add or k in inner or (len(args[k]) <= WIDE and
                                             not any(p in inner for p in args[k])):
            continue
        terms, stack = [], list(reversed(args[k]))
        while stack:  # the terms, left to right, through the inner sums
            p = stack.pop()
            if p in inner:
                stack.extend(reversed(args[p]))
            else:
                terms.append(p)
        places: dict[int, list[int]] = {}
        for i, p in enumerate(terms):
            places.setdefault(p, []).append(i)
        reads[k], sums[k] = terms, places
    for k in inner:
        reads[k] = []
    return reads, sums


def _dependents(reads: list, inputs: list, sums: dict) -> list:
    """Per input position: the nodes that depend on it, in order, and for each sum of
    ``sums`` the terms that do. A walk up the users from the input alone, so each input
    costs its own dependents, not the whole DAG."""
    users: list[list[int]] = [[] for _ in reads]
    for k, read in enumerate(reads):
        for p in set(read):
            users[p].append(k)
    result = []
    for start in inputs:
        reached, feeds, stack = set(), {}, ([] if start is None else [start])
        while stack:
            p = stack.pop()
            for u in users[p]:
                if u in sums:
                    feeds.setdefault(u, []).append(p)
                if u not in reached:
                    reached.add(u)
                    stack.append(u)
        result.append((sorted(reached), feeds))
    return result


def jacobian_exprs(outputs: Sequence, inputs: Sequence, clock: Clock | None = None) -> list:
    """d outputs[i] / d inputs[j] as SymPy expressions: ``result[i][j]``.

    One memoised forward walk per input over the nodes that depend on it, in topological
    order: each such node's tangent is built once, from its arguments' tangents (a sum's
    from its varying terms, see ``_sums``).

    Args:
        outputs: SymPy scalar expressions.
        inputs: the SymPy symbols to differentiate by.
        clock: checked every few hundred nodes (raises SymbolicTooLarge when time is up).
    Returns:
        a list (per output) of lists (per input) of SymPy expressions.
    """
    dag = Dag(list(outputs) + list(inputs))
    reads, sums = _sums(dag, outputs)
    at = dag._at
    rules: dict = {}
    result = [[ZERO] * len(inputs) for _ in outputs]
    done = 0
    walks = _dependents(reads, [at.get(id(x)) for x in inputs], sums)
    for j, (x, (reached, feeds)) in enumerate(zip(inputs, walks, strict=True)):
        tangent = {at[id(x)]: ONE}
        dot = lambda a: tangent.get(at[id(a)], ZERO)  # noqa: B023 - used within this input
        for k in reached:
            if k in sums:  # d(a + b + ...) over the varying terms, in their order
                places = sums[k]
                varying = sorted((i, p) for p in feeds[k] for i in places[p])
                tangent[k] = _total([tangent.get(p, ZERO) for _, p in varying])
            else:
                node = dag.order[k]
                rule = rules.get(k)
                if rule is None:
                    rule = rules[k] = _rule(node)
                tangent[k] = rule(node, dot)
            done += 1
            if clock is not None and done % 256 == 0:
                clock.check("differentiating")
        for i, out in enumerate(outputs):
            result[i][j] = dot(out)
    return result


def tree_ops(exprs: Sequence, dag: Dag | None = None) -> int:
    """Operations of ``exprs`` written out as trees (shared subexpressions counted per use).

    Counted on the DAG (a node's count is 1 + its arguments' counts), so a tree of 10**12
    operations is counted exactly without being built. Leaves (symbols, numbers) count 0.
    ``dag``: the ``Dag(exprs)``, if already walked.
    """
    dag = Dag(exprs) if dag is None else dag
    count: list[int] = []
    for node in dag.order:
        count.append((0 if node.is_Atom else 1) + sum(count[dag.at(a)] for a in node.args))
    return sum(count[dag.at(e)] for e in exprs)
