"""From derivative components to one NumPy function, without recursion: a straight-line program.

SymPy's ``cse``, its printers and ``lambdify`` recurse over an expression's depth (a chain of
~250 levels overflowed Python's stack). Here the SymPy DAG of all components is walked with an
explicit stack, arguments first, and every distinct node (SymPy hash-conses them) becomes one
line of Python, ``t7 = np.sin(t3)``: common subexpressions are shared by construction, and
the depth of the expression is no longer a limit. A node without symbols is folded into a
float64 constant by the very operations the line would run, so a constant that is not real
(``sqrt(-1)``, ``log(-2)``, SymPy's ``I`` or ``zoo``) is nan as in NumPy, never a complex
number. The source is made of internal names (``a3``, ``c0``, ``t7``) and the operators and
functions of the node types, never of text from the user, and is compiled once.

Values are NumPy float64 scalars (IEEE: 1/0 is inf, 0/0 nan, never an exception). A program
of + and * alone runs on Python floats instead (``python_floats``): the same IEEE results for
those operations, ~3x faster each; a division or power could raise on Python floats.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Sequence

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1 as sp_expm1
from sympy.codegen.cfunctions import log1p as sp_log1p
from sympy.core.function import Application

from ..core import sympy_bridge
from .budget import Clock
from .rules import Dag, tree_ops

CHUNK = 64  # operands per line of a long sum or product: Python's compiler recurses over a
#             chain of binary operators (3,000 overflowed it)
MAX_NEST = 8  # a node read once is written inside its reader's line, up to this nesting

# SymPy function -> the NumPy function of a line. The bridge's own functions (sigmoid, relu,
# max2 ...) come from sympy_bridge.NUMPY_FUNCTIONS by name; any other function is compiled
# by lambdify alone (one level deep, so SymPy's printer does not recurse far).
_NUMPY = {
    sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan, sympy.asin: np.arcsin,
    sympy.acos: np.arccos, sympy.atan: np.arctan, sympy.sinh: np.sinh, sympy.cosh: np.cosh,
    sympy.tanh: np.tanh, sympy.exp: np.exp, sympy.log: np.log, sp_log1p: np.log1p,
    sp_expm1: np.expm1, sympy.Abs: np.abs, sympy.sign: np.sign,
}
_COMPARE = {sympy.Eq: "==", sympy.Ne: "!=", sympy.Lt: "<", sympy.Le: "<=", sympy.Gt: ">",
            sympy.Ge: ">="}
_COMPARE_FN = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}
_BINARY_FN = {"+": operator.add, "*": operator.mul, "/": operator.truediv}
_ONE, _ZERO = np.float64(1.0), np.float64(0.0)


def heaviside(x, h0=0.5):
    """H(x): 1 for x > 0, h0 at 0, and 0 below and at nan: d relu = H(x, 0) is JAX's
    select(x > 0, 1, 0), which is 0 at nan (np.heaviside gives nan there)."""
    return _ONE if x > 0 else (np.float64(h0) if x == 0 else _ZERO)


def _reciprocal(factor) -> bool:
    return factor.is_Pow and factor.exp is sympy.S.NegativeOne


def _operands(node) -> list:
    """The nodes a node's line reads: a factor 1/b of a product is read as b (a / b)."""
    if node.is_Atom:
        return []
    if node.is_Mul:
        return [f.base if _reciprocal(f) else f for f in node.args]
    if isinstance(node, sympy.Piecewise):
        return [part for pair in node.args for part in pair.args]
    return list(node.args)


def _atom(node):
    """A leaf's float64 value (nan where it is not real), or a bool for a logical constant."""
    if node is sympy.S.true or node is sympy.S.false:
        return bool(node)
    try:
        return np.float64(float(node))
    except (TypeError, ValueError):  # I, zoo: complex, so nan as float64 arithmetic has it
        return np.float64(np.nan)


class _Writer:
    """Lines of the program; constants (bound by name) and functions (``f<k>``) in ``names``."""

    def __init__(self):
        self.lines: list[str] = []
        self.names: dict[str, object] = {"np": np}
        self.constants: dict = {}
        self.functions: dict = {}
        self.temporaries = self.ops = 0
        self.python_floats = True

    def constant(self, value) -> str:
        if isinstance(value, bool):
            return str(value)
        key = value.tobytes()
        if key not in self.constants:
            self.constants[key] = name = f"c{len(self.constants)}"
            self.names[name] = value
        return self.constants[key]

    def function(self, fn) -> str:
        if id(fn) not in self.functions:
            self.functions[id(fn)] = name = f"f{len(self.functions)}"
            self.names[name] = fn
        return self.functions[id(fn)]

    def temporary(self) -> str:
        self.temporaries += 1
        return f"t{self.temporaries - 1}"


def _function_of(node):
    """The NumPy function for a SymPy function node."""
    fn = _NUMPY.get(node.func)
    if fn is not None:
        return fn
    if node.func is sympy.Heaviside:
        return heaviside
    name = node.func.__name__
    if name in sympy_bridge.NUMPY_FUNCTIONS and node.func.__module__ == sympy_bridge.__name__:
        return sympy_bridge.NUMPY_FUNCTIONS[name]
    return _lambdified(node.func, len(node.args))


@functools.lru_cache(maxsize=256)
def _lambdified(func, nargs: int):
    """Any other SymPy function of ``nargs`` arguments, compiled by lambdify one level deep."""
    dummies = [sympy.Dummy() for _ in range(nargs)]
    with sympy.evaluate(False):
        alone = func(*dummies)
    return sympy.lambdify(dummies, alone, modules=[sympy_bridge.NUMPY_FUNCTIONS, "numpy"])


def _line(node, refs: list, writer: _Writer) -> tuple:
    """What becomes of a node, given its operands' refs ((value, None) for a constant, else
    (None, name)): ("const", value) if it folds, ("alias", ref) if it is an operand itself,
    or ("line", source) with source a text or, for a chain a + b - ..., (texts, operators)."""
    values = [v for v, _ in refs]
    constant = all(name is None for _, name in refs)
    text = [name if name is not None else writer.constant(v) for v, name in refs]
    if node.is_Add:
        return _chain(values, text, ["+"] * (len(refs) - 1), constant, writer)
    if node.is_Mul:  # the numerators in order, then the divisions: a * b / c (as the IR's a / c)
        recip = [_reciprocal(f) for f in node.args]
        order = [i for i, r in enumerate(recip) if not r] + [i for i, r in enumerate(recip) if r]
        values, text = [values[i] for i in order], [text[i] for i in order]
        ops = ["/" if recip[i] else "*" for i in order[1:]]
        if recip[order[0]]:  # no numerator: 1 / c
            values, text, ops = [_ONE, *values], [writer.constant(_ONE), *text], ["/", *ops]
        return _chain(values, text, ops, constant, writer)
    if node.is_Pow:
        (base, _), (expo, expo_name) = refs
        if expo_name is None and expo == 1.0:  # x ** 1 is x, exactly (nan and inf too)
            return "alias", refs[0]
        if expo_name is None and expo in (2.0, -1.0):  # x * x and 1 / x: correctly rounded
            if expo == 2.0:
                return _chain([base, base], [text[0]] * 2, ["*"], constant, writer)
            return _chain([_ONE, base], [writer.constant(_ONE), text[0]], ["/"], constant,
                          writer)
        writer.python_floats = False
        if expo_name is None and node.exp is sympy.S.Half:  # sympy.sqrt(u): np.sqrt, as the IR
            return _call(np.sqrt, values[:1], text[:1], constant, writer)
        if constant:
            return "const", operator.pow(base, expo)
        writer.ops += 1
        return "line", f"{text[0]} ** {text[1]}"
    writer.python_floats = False
    if isinstance(node, sympy.Piecewise):  # pieces and conditions alternate in refs
        if constant:
            chosen = next((values[k] for k in range(0, len(values), 2) if values[k + 1]),
                          np.float64(np.nan))
            return "const", chosen
        writer.ops += 1
        pairs = []  # (piece, condition), up to the first condition that always holds
        for k in range(0, len(text), 2):
            if refs[k + 1][1] is None and not values[k + 1]:
                continue
            pairs.append((text[k], text[k + 1]))
            if refs[k + 1][1] is None:
                break
        else:  # no condition holds: undefined
            pairs.append((writer.constant(np.float64(np.nan)), "True"))
        tail = pairs[-1][0]
        for piece, condition in reversed(pairs[:-1]):
            tail = f"({piece} if {condition} else {tail})"
        return "line", tail
    if type(node) in _COMPARE:
        op = _COMPARE[type(node)]
        if constant:
            return "const", bool(_COMPARE_FN[op](*values))
        writer.ops += 1
        return "line", f"({text[0]} {op} {text[1]})"
    if isinstance(node, sympy.And | sympy.Or | sympy.Not):
        if constant:
            if isinstance(node, sympy.Not):
                return "const", not values[0]
            return "const", (all if isinstance(node, sympy.And) else any)(values)
        writer.ops += 1
        if isinstance(node, sympy.Not):
            return "line", f"(not {text[0]})"
        return "line", "(" + (" and " if isinstance(node, sympy.And) else " or ").join(text) + ")"
    if isinstance(node, Application):  # functions, and Max/Min
        return _call(_function_of(node), values, text, constant, writer)
    raise NotImplementedError(f"symbolic: no code for SymPy's {type(node).__name__}")


def _call(fn, values: list, text: list, constant: bool, writer: _Writer) -> tuple:
    if constant:
        return "const", np.float64(fn(*values))
    writer.ops += 1
    return "line", f"{writer.function(fn)}({', '.join(text)})"


def _chain(values: list, text: list, ops: list, constant: bool, writer: _Writer) -> tuple:
    """a op b op c ..., left to right (Python's own order), folded or as a line."""
    if "/" in ops:
        writer.python_floats = False
    if not ops:
        return "alias", (values[0], None if constant else text[0])
    if constant:
        value = values[0]
        for op, v in zip(ops, values[1:], strict=True):
            value = _BINARY_FN[op](value, v)
        return "const", value
    writer.ops += len(ops)
    return "line", (text, ops)


def _emit(target: str, source, writer: _Writer) -> None:
    """One line, or for a long chain one line per CHUNK operands (t = t + ...)."""
    if isinstance(source, str):
        writer.lines.append(f"    {target} = {source}")
        return
    text, ops = source
    acc = text[0]
    for k in range(0, len(ops), CHUNK):
        part = "".join(f" {op} {x}" for op, x in zip(ops[k:k + CHUNK],
                                                     text[k + 1:k + 1 + CHUNK], strict=True))
        writer.lines.append(f"    {target} = {acc}{part}")
        acc = target


def _signature(node):
    """Which factors of a product are divisions (they read the same operands as factors)."""
    return tuple(_reciprocal(f) for f in node.args) if node.is_Mul else None


def straight_line(args: Sequence, components: Sequence, clock: Clock | None = None) -> tuple:
    """Compile ``components`` (SymPy expressions of the symbols ``args``) into one function.

    Args:
        args: the SymPy symbols, in the order of the function's input list.
        components: the expressions to evaluate.
        clock: checked every 512 nodes (raises SymbolicTooLarge when the time is up).
    Returns:
        (function, stats): ``function(values)`` takes the inputs' values as a list (Python
        floats if ``stats["python_floats"]``, else NumPy float64) and returns a float64 array
        of the components; ``stats`` has ``ops`` (operations of the program), ``temporaries``,
        ``python_floats``, ``generate_seconds`` and ``compile_seconds``.
    Raises:
        ValueError: a component reads a symbol that is not in ``args``.
    """
    start = time.perf_counter()
    writer = _Writer()
    position = {s: i for i, s in enumerate(args)}
    dag = Dag(components, children=_operands, signature=_signature)
    uses = [0] * len(dag.order)  # how many operands read each node
    for node in dag.order:
        for a in _operands(node):
            uses[dag.at(a)] += 1
    for c in components:
        uses[dag.at(c)] += 1
    refs: list = []  # per node of dag.order: (value, None) for a constant, (None, name)
    nest: list[int] = []  # parentheses an inlined node's text nests
    for k, node in enumerate(dag.order):
        if clock is not None and k % 512 == 511:
            clock.check("generating code")
        nest.append(0)
        if node.is_Symbol:
            if node not in position:
                raise ValueError("symbolic: a derivative reads a symbol that is not an input")
            refs.append((None, f"a{position[node]}"))
            writer.lines.append(f"    a{position[node]} = a[{position[node]}]")
            continue
        if node.is_Atom:
            refs.append((_atom(node), None))
            continue
        operands = [dag.at(a) for a in _operands(node)]
        with np.errstate(all="ignore"):
            kind, what = _line(node, [refs[a] for a in operands], writer)
        if kind == "const":
            refs.append((what, None))
        elif kind == "alias":  # x ** 1: x itself, made a temporary if it was to be inlined
            j = next((a for a in operands if refs[a] == what), None)
            if j is not None and nest[j] and uses[k] > 1:
                target = writer.temporary()
                writer.lines.append(f"    {target} = {what[1]}")
                refs[j] = what = (None, target)
                nest[j] = 0
            refs.append(what)
            nest[k] = nest[j] if j is not None else 0
        else:
            depth = 1 + max((nest[a] for a in operands), default=0)
            short = isinstance(what, str) or len(what[1]) <= CHUNK
            if uses[k] == 1 and short and depth <= MAX_NEST:  # read once: inline it there
                text = what if isinstance(what, str) else what[0][0] + "".join(
                    f" {op} {x}" for op, x in zip(what[1], what[0][1:], strict=True))
                refs.append((None, f"({text})"))
                nest[k] = depth
            else:
                target = writer.temporary()
                _emit(target, what, writer)
                refs.append((None, target))
    template = np.zeros(len(components))
    for i, c in enumerate(components):
        value, name = refs[dag.at(c)]
        if name is None:
            template[i] = float(value)
        else:
            writer.lines.append(f"    out[{i}] = {name}")
    writer.names["template"] = template
    if writer.python_floats:  # + and * only: Python floats compute the same IEEE results
        for name in writer.constants.values():
            writer.names[name] = float(writer.names[name])
    source = "\n".join(["def program(a):", "    out = template.copy()", *writer.lines,
                        "    return out", ""])
    generated = time.perf_counter()
    namespace = dict(writer.names)
    exec(compile(source, "<difflab symbolic program>", "exec"), namespace)  # noqa: S102
    stats = {"ops": writer.ops, "temporaries": writer.temporaries,
             "python_floats": writer.python_floats, "generate_seconds": generated - start,
             "compile_seconds": time.perf_counter() - generated}
    return namespace["program"], stats


def compile_components(components: list, args: list, clock: Clock) -> tuple:
    """The components as one straight-line program; returns (function, info) with the sizes of
    the raw derivative (``raw_ops`` as a tree, ``raw_dag_ops`` distinct) and of the program
    (``cse_ops``, ``cse_temporaries``) and the seconds spent."""
    dag = Dag(components)
    info = {"raw_ops": tree_ops(components, dag), "raw_dag_ops": sum(
        1 for node in dag.order if not node.is_Atom), "components": len(components)}
    clock.check("starting code generation")
    fn, stats = straight_line(args, components, clock)
    info.update(cse_ops=stats["ops"], cse_temporaries=stats["temporaries"],
                cse_seconds=stats["generate_seconds"], lambdify_seconds=stats["compile_seconds"],
                python_floats=stats["python_floats"])
    return fn, info
