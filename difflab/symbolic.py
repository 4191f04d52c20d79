"""Symbolic differentiation with SymPy: IR -> SymPy, differentiate, share, lambdify.

The expression becomes SymPy scalars (``sympy_bridge``: an array variable is an object array of
scalar symbols), every scalar input in ``wrt`` is differentiated, common subexpressions are
eliminated over all derivative components together, and ONE ``lambdify`` turns the result into
a NumPy function of the flat scalar inputs.

Why not plain ``sympy.diff``: SymPy differentiates the expression *tree*. Every use of a shared
subexpression is differentiated again, and each nested ``Derivative`` re-walks its whole
argument (``replace``, ``free_symbols``), so d l_13 of the logistic map takes ~8 s although
the expression has 43 distinct nodes. Here the chain rule runs once per distinct SymPy node
(a walk over the DAG in topological order, memoised), with SymPy's own derivative of each
function (``fdiff``: sin' = cos, Abs' = sign, Max' = Heaviside(a - b) ...) and this module's
rules for sums, products and powers in ``DIFF_RULES``. The chain-rule products are left
unevaluated (``Mul(..., evaluate=False)``): SymPy's canonical ordering would compare deep
arguments at every level (a 200-deep chain took 14 s to differentiate that way, 0.01 s so).
The raw derivative is exactly what the chain rule writes — its tree (``raw_ops``) swells
exponentially on the logistic map — and CSE shrinks it back (``cse_ops``); Baydin et al. 2018.

Kinks follow JAX: d relu(0) = 0 (Heaviside(x, 0)), d abs(0) = 0 (sign), d max(a, b) at a tie
is 1/2 to each (Heaviside(a - b) with Heaviside(0) = 1/2), and sign and Heaviside have
derivative 0 (so Hessians never meet a DiracDelta). x**y: d/dx = y x**(y-1); d/dy =
log(x) x**y only where y depends on the variable, with log(0) replaced by 0 as JAX does.

A budget keeps SymPy from hanging: the size and depth are checked before anything is built
(``SymbolicTooLarge``), and the wall clock is checked while differentiating and before CSE.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
import sympy
from sympy.simplify.cse_main import tree_cse
from sympy.utilities.iterables import numbered_symbols

from . import sympy_bridge
from .ir import Expr, toposort
from .plan import compile_plan
from .protocol import Prepared, shaped
from .shapes import infer_shapes

Shape = tuple[int, ...]
MAX_NODES = 100_000   # scalar SymPy nodes of the expression (an estimate made before building)
MAX_DEPTH = 200       # SymPy's constructors, CSE and printers recurse: ~250 levels overflow
TIME_BUDGET = 30.0    # seconds for differentiation + CSE
ZERO, ONE = sympy.S.Zero, sympy.S.One

__all__ = ["SymbolicTooLarge", "prepare", "prepare_jacobian", "prepare_hessian", "grad",
           "derivative_expr", "DIFF_RULES"]


# ---- the budget --------------------------------------------------------------------------
class SymbolicTooLarge(ValueError):
    """The expression is beyond the symbolic budget: too many nodes, too deep, or too slow."""


@dataclass(frozen=True)
class ScalarSize:
    """The expression written in scalars, as ``to_sympy_arrays`` will build it (estimates)."""

    nodes: int   # scalar nodes of the DAG (a matmul element of inner size k costs 2k)
    tree: int    # nodes of the scalar tree (shared subexpressions counted per use)
    depth: int   # longest path, in scalar operations


def scalar_size(expr: Expr, shapes: Mapping[str, Shape]) -> ScalarSize:
    """Estimate the size of ``expr`` in scalars from its plan and shapes (nothing is built).

    Args:
        expr: the expression.
        shapes: every variable's shape.
    Returns:
        a ``ScalarSize``.
    """
    plan = compile_plan(expr)
    slot_shapes = infer_shapes(plan, shapes)
    tree: list[int] = []
    depth: list[int] = []
    nodes = 0
    for slot, op in enumerate(plan.ops):
        args = plan.args[slot]
        size = int(np.prod(slot_shapes[slot], dtype=np.int64))
        arg_tree = [tree[a] for a in args]
        arg_depth = max((depth[a] for a in args), default=-1)
        if op in ("var", "const"):
            cost, t, d = size, 1, 0
        elif op == "matmul":  # each element: an Add of k products
            k = slot_shapes[args[0]][-1]
            cost, t, d = size * 2 * k, 1 + k * (1 + sum(arg_tree)), arg_depth + 2
        elif op in ("sum", "mean"):  # one Add of every element (and a division for mean)
            n = int(np.prod(slot_shapes[args[0]], dtype=np.int64))
            cost, t, d = n + 1, 2 + n * arg_tree[0], arg_depth + 2
        elif op == "transpose":
            cost, t, d = 0, arg_tree[0], arg_depth
        else:  # elementwise
            cost, t, d = size, 1 + sum(arg_tree), arg_depth + 1
        nodes += cost
        tree.append(t)
        depth.append(d)
    out_size = int(np.prod(slot_shapes[plan.out], dtype=np.int64))
    return ScalarSize(nodes, tree[plan.out] * out_size, depth[plan.out])


def check_count(expr: Expr, max_nodes: int, what: str = "symbolic", option: str = "max_nodes",
                error: type[SymbolicTooLarge] = SymbolicTooLarge) -> None:
    """Refuse an expression with more IR nodes than ``max_nodes``, in the time of one
    topological sort (before compiling a plan: a million-node chain is refused at once)."""
    count = len(toposort(expr))
    if count > max_nodes:
        raise error(f"too large for {what}: the expression has {count:,} nodes (limit "
                    f"{max_nodes:,}); pass {option}= to raise it")


def check_budget(expr: Expr, shapes: Mapping[str, Shape], *, max_nodes: int, max_depth: int,
                 what: str = "symbolic", tree: bool = False, inputs: int = 1,
                 option: str = "max_nodes",
                 error: type[SymbolicTooLarge] = SymbolicTooLarge) -> ScalarSize:
    """Refuse an expression too big for SymPy before building anything.

    First the IR's node count (``check_count``), then the scalar estimate of ``scalar_size``.

    Args:
        expr, shapes: the expression and its variables' shapes.
        max_nodes: the limit on scalar nodes (DAG nodes, or tree nodes if ``tree``) times
            ``inputs``.
        max_depth: the limit on depth.
        what: the method's name, for the message.
        tree: measure the scalar tree (for tree-walking ``sympy.diff``) instead of the DAG.
        inputs: number of scalar inputs differentiated by (each costs one tree walk).
        option: the name of the option that raises the limit, for the message.
        error: the exception class to raise (SymbolicTooLarge or a subclass).
    Returns:
        the ``ScalarSize``.
    Raises:
        SymbolicTooLarge: naming the size and the limit.
    """
    check_count(expr, max_nodes, what, option, error)
    size = scalar_size(expr, shapes)
    if size.depth > max_depth:
        raise error(f"too deep for {what}: depth {size.depth:,} (limit {max_depth:,}; SymPy "
                    f"recurses over depth)")
    measure = (size.tree if tree else size.nodes) * max(inputs, 1)
    if measure > max_nodes:
        kind = "tree" if tree else "DAG"
        times = f" x {inputs:,} inputs" if inputs > 1 else ""
        raise error(f"too large for {what}: {kind} of {measure // max(inputs, 1):,} scalar "
                    f"nodes{times} (limit {max_nodes:,}); pass {option}= to raise it")
    return size


class Clock:
    """Wall-clock budget. SymPy cannot be interrupted, so callers check between steps."""

    def __init__(self, budget: float, what: str = "symbolic",
                 error: type[SymbolicTooLarge] = SymbolicTooLarge):
        self.start, self.budget, self.what = time.perf_counter(), budget, what
        self.error = error

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def check(self, step: str) -> None:
        """Raise SymbolicTooLarge if the budget is spent (``step`` says where we were)."""
        if self.elapsed() > self.budget:
            raise self.error(f"too slow for {self.what}: {step} ran past the time "
                                   f"budget of {self.budget:g} s (time_budget=)")


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
}


# SymPy node class -> rule(node, dot) where dot(arg) is the argument's tangent. Any other
# function (sin ... tanh, exp, log, log1p, expm1, Abs, Max, Min, sigmoid, softplus, relu)
# uses _d_function, i.e. its SymPy ``fdiff``.
DIFF_RULES = {
    sympy.Add: _d_add,
    sympy.Mul: _d_mul,
    sympy.Pow: _d_pow,
    sympy.Piecewise: _d_piecewise,
    sympy.sign: _d_zero,
    sympy.Heaviside: _d_zero,
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


# ---- compiling a list of derivative components ------------------------------------------
def eliminate_common(exprs: Sequence) -> tuple[list, list]:
    """``sympy.cse`` without its ``opt_cse`` pass: (replacements, reduced expressions).

    opt_cse's matching of common arguments is superlinear (27 s on d l_24 of the logistic
    map against 0.2 s without) and gave more operations, not fewer; tree_cse alone shares
    every repeated node in time linear in the DAG.
    """
    return tree_cse(list(exprs), numbered_symbols("_c", real=True), opt_subs={}, order="none")


def lambdify_shared(args: Sequence, exprs: Sequence, modules: list,
                    shared: tuple[list, list] | None = None):
    """One function of ``args`` returning the list ``exprs``, common subexpressions computed
    once (``shared`` = the result of ``eliminate_common(exprs)``, computed if not given)."""
    replacements, reduced = shared if shared is not None else eliminate_common(exprs)
    # SymPy's complex infinity (x/0 = zoo*x) has no printer and no real value: undefined, nan.
    # After CSE the expressions are small trees, so checking and replacing is cheap.
    zoo = {sympy.zoo: sympy.nan}
    replacements = [(s, e.xreplace(zoo) if e.has(sympy.zoo) else e) for s, e in replacements]
    reduced = [e.xreplace(zoo) if e.has(sympy.zoo) else e for e in reduced]
    return sympy.lambdify(list(args), reduced, modules=modules,
                          cse=lambda _: (replacements, reduced))


def _compile(components: list, args: list, clock: Clock) -> tuple:
    """CSE over all components, then one lambdify to NumPy; returns (function, info)."""
    info = {"raw_ops": tree_ops(components), "raw_dag_ops": sum(
        1 for node in graph(components) if not node.is_Atom), "components": len(components)}
    clock.check("starting common-subexpression elimination")
    start = time.perf_counter()
    replacements, reduced = eliminate_common(components)
    info["cse_seconds"] = time.perf_counter() - start
    clock.check("eliminating common subexpressions")
    info["cse_ops"] = sum(tree_ops([rhs]) for _, rhs in replacements) + tree_ops(reduced)
    info["cse_temporaries"] = len(replacements)
    start = time.perf_counter()
    fn = lambdify_shared(args, components, [sympy_bridge.NUMPY_FUNCTIONS, "numpy"],
                         (replacements, reduced))
    info["lambdify_seconds"] = time.perf_counter() - start
    info["python_floats"] = arithmetic_only([rhs for _, rhs in replacements] + list(reduced))
    return fn, info


_ARITHMETIC = (sympy.Add, sympy.Mul, sympy.Symbol, sympy.Number)


def arithmetic_only(exprs: Sequence) -> bool:
    """True when the expressions use only + - * and numbers (no division by a variable, no
    powers, no functions). Python floats then compute exactly what NumPy float64 does, IEEE
    included (overflow gives inf, inf - inf nan, never an exception), ~3x faster per
    operation; a division or power could raise (1/0.0, 1e200**2) and needs NumPy scalars."""
    stack, seen = list(exprs), set()
    while stack:  # iterative: a derivative's tree can be deep
        e = stack.pop()
        if not isinstance(e, _ARITHMETIC):
            return False
        if e.args and e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return True


def input_symbols(names: Sequence[str], shapes: Mapping[str, Shape]) -> dict:
    """Fresh real symbols ``_x0, _x1 ...`` per variable (object arrays of the variable's shape).

    Internal names keep the generated code clear of any clash between a variable's name and
    a NumPy/mpmath function the printer uses (a variable called ``sign`` or ``select``).
    """
    symbols, k = {}, 0
    for name in names:
        shape = tuple(shapes[name])
        block = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            block[index] = sympy.Symbol(f"_x{k}", real=True)
            k += 1
        symbols[name] = block
    return symbols


def flat_args(point: Mapping, names: Sequence[str]) -> list:
    """The point's scalars in the order of ``input_symbols``, as NumPy float64 (IEEE: 1/0 is
    inf, not a ZeroDivisionError as with Python floats)."""
    args: list = []
    for name in names:
        value = point[name]
        if np.ndim(value) == 0:
            args.append(np.float64(value))
        else:
            args.extend(np.asarray(value, dtype=np.float64).ravel())
    return args


def float_args(point: Mapping, names: Sequence[str]) -> list:
    """The point's scalars in the order of ``input_symbols``, as Python floats (for code that
    only adds, subtracts and multiplies: see ``arithmetic_only``)."""
    args: list = []
    for name in names:
        value = point[name]
        if value.__class__ is float:
            args.append(value)
        elif np.ndim(value) == 0:
            args.append(float(value))
        else:
            args.extend(np.asarray(value, dtype=np.float64).ravel().tolist())
    return args


def _check_names(expr: Expr, wrt: tuple, shapes: Mapping) -> None:
    known = set(expr.variables)  # a set: 100,000 names must not cost 100,000^2 comparisons
    for name in wrt:
        if name not in known:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(expr.variables) or 'no variables'}")
    for name in expr.variables:
        if name not in shapes:
            raise ValueError(f"no shape given for variable {name!r}")


# ---- preparing ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=128)
def _prepare(kind: str, expr: Expr, wrt: tuple, shape_key: tuple, max_nodes: int,
             max_depth: int, time_budget: float) -> Prepared:
    shapes = dict(shape_key)
    _check_names(expr, wrt, shapes)
    begin = time.perf_counter()
    size = check_budget(expr, shapes, max_nodes=max_nodes, max_depth=max_depth,
                        what="symbolic")
    plan = compile_plan(expr)
    out_shape = infer_shapes(plan, shapes)[plan.out]
    if kind != "jacobian" and out_shape != ():
        raise ValueError(f"the {kind} needs a scalar expression; this one has shape "
                         f"{out_shape} (use prepare_jacobian)")
    names = expr.variables
    symbols = input_symbols(names, shapes)
    args = [s for name in names for s in symbols[name].ravel()]
    inputs = [s for name in wrt for s in symbols[name].ravel()]
    clock = Clock(time_budget, "symbolic")
    try:
        outputs = list(sympy_bridge.to_sympy_arrays(expr, shapes, symbols).ravel())
        jac = jacobian_exprs(outputs, inputs, clock)
        if kind == "hessian":
            jac = jacobian_exprs(jac[0], inputs, clock)
        diff_seconds = clock.elapsed()
        components, unpack = layout(kind, jac, wrt, shapes, out_shape)
        fn, info = _compile(components, args, clock)
    except RecursionError:
        raise SymbolicTooLarge(f"too deep for symbolic: SymPy's recursion overflowed at depth "
                               f"{size.depth} (limit {max_depth})") from None
    info.update(method="symbolic", kind=kind, diff_seconds=diff_seconds,
                primal_ops=tree_ops(outputs), scalar_nodes=size.nodes, depth=size.depth,
                prepare_seconds=time.perf_counter() - begin)

    if info["python_floats"]:  # only + - * (a polynomial): Python floats, same IEEE results
        def evaluate(point: Mapping) -> dict:
            return unpack(np.array(fn(*float_args(point, names)), dtype=np.float64))

        return Prepared(evaluate, info)

    def evaluate(point: Mapping) -> dict:
        with np.errstate(all="ignore"):
            flat = np.asarray(fn(*flat_args(point, names)), dtype=np.float64)
        return unpack(flat)

    return Prepared(evaluate, info)


def layout(kind: str, jac: list, wrt: Sequence[str], shapes: Mapping, out_shape: Shape):
    """Flatten a derivative matrix into one component list, in the protocol's layout.

    Args:
        kind: "gradient", "jacobian" or "hessian".
        jac: ``jac[i][j]`` = d output i / d input j (for a Hessian: d2 f / d input i d input j),
            inputs being the scalars of ``wrt`` in order.
        wrt, shapes, out_shape: the variables, their shapes and the output's shape.
    Returns:
        (components, unpack): ``unpack(flat values)`` gives gradient {name: shape(name)},
        jacobian {name: out_shape + shape(name)} or hessian {a: {b: shape(a) + shape(b)}}.
    """
    spans, k = {}, 0
    for name in wrt:
        n = int(np.prod(shapes[name], dtype=int))
        spans[name] = range(k, k + n)
        k += n
    blocks = []  # (key, shape, components)
    for a in wrt:
        if kind == "hessian":
            for b in wrt:
                blocks.append(((a, b), tuple(shapes[a]) + tuple(shapes[b]),
                               [jac[i][j] for i in spans[a] for j in spans[b]]))
        else:
            rows = range(len(jac)) if kind == "jacobian" else range(1)
            shape = (out_shape if kind == "jacobian" else ()) + tuple(shapes[a])
            blocks.append((a, shape, [jac[i][j] for i in rows for j in spans[a]]))
    components, slices, start = [], [], 0
    for key, shape, block in blocks:
        components.extend(block)
        slices.append((key, shape, slice(start, start + len(block))))
        start += len(block)

    def unpack(flat: np.ndarray) -> dict:
        result: dict = {}
        for key, shape, part in slices:
            if kind == "hessian":
                result.setdefault(key[0], {})[key[1]] = shaped(flat[part], shape)
            else:
                result[key] = shaped(flat[part], shape)
        return result

    return components, unpack


def _options(expr: Expr, wrt, shapes: Mapping, max_nodes: int, max_depth: int,
             time_budget: float) -> tuple:
    if not isinstance(expr, Expr):
        raise TypeError(f"symbolic: expected an expression, got {type(expr).__name__}")
    wrt = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    shape_key = tuple(sorted((name, tuple(int(n) for n in shape))
                             for name, shape in shapes.items()))
    budget = {"max_nodes": max_nodes, "max_depth": max_depth, "time_budget": time_budget}
    for name, value in budget.items():  # a number, or an error naming the option
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"symbolic: option {name} must be a number, got {value!r}")
    return expr, wrt, shape_key, int(max_nodes), int(max_depth), float(time_budget)


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
            max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH,
            time_budget: float = TIME_BUDGET) -> Prepared:
    """The gradient of a scalar expression, differentiated symbolically and lambdified.

    Args:
        expr: a scalar-valued expression.
        wrt: names of the variables to differentiate by.
        shapes: every variable's shape (``()`` for a scalar).
        max_nodes: refuse expressions with more estimated scalar SymPy nodes than this.
        max_depth: refuse deeper expressions (SymPy recurses over depth).
        time_budget: seconds allowed for differentiation and CSE.
    Returns:
        a cached ``Prepared``: point -> {name: gradient}; ``info`` has the derivative's sizes
        (``raw_ops``, ``raw_dag_ops``, ``cse_ops``, ``cse_temporaries``, ``primal_ops``) and
        the seconds spent (``diff_seconds``, ``cse_seconds``, ``lambdify_seconds``).
    Raises:
        SymbolicTooLarge: the expression exceeds the budget (a ValueError).
        ValueError: the expression is not scalar, or a name or shape is missing.
    """
    return _prepare("gradient", *_options(expr, wrt, shapes, max_nodes, max_depth, time_budget))


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
                     max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH,
                     time_budget: float = TIME_BUDGET) -> Prepared:
    """The Jacobian of any expression: point -> {name: array of out_shape + shape(name)}.

    Arguments, info and errors as ``prepare``.
    """
    return _prepare("jacobian", *_options(expr, wrt, shapes, max_nodes, max_depth, time_budget))


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping[str, Shape], *,
                    max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH,
                    time_budget: float = TIME_BUDGET) -> Prepared:
    """The Hessian of a scalar expression: point -> {a: {b: array of shape(a) + shape(b)}}.

    The gradient's components are differentiated again by the same rules. Arguments, info
    and errors as ``prepare``.
    """
    return _prepare("hessian", *_options(expr, wrt, shapes, max_nodes, max_depth, time_budget))


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None) -> dict:
    """One-shot gradient: ``grad(f, {"x": 1.0})`` -> {"x": df/dx}.

    Args:
        expr: a scalar-valued expression.
        point: maps every variable of ``expr`` to a float or an array.
        wrt: the variables to differentiate by (default: all).
    Returns:
        {name: value with that variable's shape}.
    """
    from . import api  # validation and the preparation cache live there, for every method

    return api.grad(expr, point, method="symbolic", wrt=wrt)


def derivative_expr(expr: Expr, wrt: str | Sequence[str]):
    """The derivative as a SymPy expression, for a reader (scalar variables, natural names).

    Args:
        expr: a scalar expression of scalar variables.
        wrt: one variable name (returns an expression) or several (returns {name: expr}).
    Returns:
        the SymPy derivative (evaluated, so it reads as SymPy would print it), or a dict.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    _check_names(expr, tuple(names), {v: () for v in expr.variables})
    check_budget(expr, {v: () for v in expr.variables}, max_nodes=MAX_NODES,
                 max_depth=MAX_DEPTH, what="symbolic")
    f = sympy_bridge.to_sympy(expr)
    if not isinstance(f, sympy.Expr):
        raise ValueError("derivative_expr needs a scalar expression of scalar variables")
    symbols = [sympy.Symbol(name, real=True) for name in names]
    row = jacobian_exprs([f], symbols)[0]
    exprs = {name: d.doit() for name, d in zip(names, row, strict=True)}
    return exprs[wrt] if isinstance(wrt, str) else exprs
