"""``dl.trace``: the IR of a plain Python function, and callables wherever expressions go.

The function is called once with a variable per parameter (named after it), so the operators
and ``difflab.numpy`` calls in its body build the IR, and Python loops unroll. While it runs
the variables' shapes are those of the point, so ``x.shape``, ``len(x)`` and ``for row in X``
answer as in NumPy (``core/tracing.py``). Each trace is cached per (function, variables and
their shapes) on a weak reference to the function, so ``dl.grad(loss, point)`` in a loop traces
``loss`` once, and a function that is dropped takes its traces with it.

Conventions (as JAX's tracing, where they differ from plain Python):

- A parameter without a default is always a variable. A parameter with a default is a
  variable only when the point (or ``shapes``) gives it; otherwise the function gets its default.
  ``*args``, ``**kwargs`` and positional-only parameters are refused: variables need names.
- Python control flow on a traced value (``if x > 0:``, ``while``, ``and``, ``bool(x)``) is a
  TypeError naming the function and the line, saying to use ``dnp.where``: the function runs
  once, with variables, so there is no branch to take. NumPy and ``math`` functions called on a
  traced value are a TypeError that points to ``difflab.numpy``.
- A function may return an expression, or a number or a NumPy array (a constant: its
  derivative is 0). A tuple, list, dict or None is a TypeError: one output, please (join
  several with ``dnp.stack``).
- A parameter the result does not depend on stays a variable, through the term
  ``sum(y < y)`` (exactly 0, derivative 0, for every value including nan), so the point may
  give it and its gradient is 0, as in JAX.
- The function should be pure: it is not called again for the same shapes, so a global it
  reads is read once.
"""

from __future__ import annotations

import inspect
import linecache
import operator
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from numbers import Real
from pathlib import Path

import numpy as np

from .core.arrays import add_n, less
from .core.evaluate import evaluate as _evaluate
from .core.expr import Expr, constant, variable
from .core.expr import sum as _sum
from .core.tracing import SHAPE_HOOKS, NodeShapes

TRACES_PER_FUNCTION = 32  # the shapes remembered per function (least recently used dropped)
_CORE = str(Path(__file__).parent / "core")
_NUMPY = str(Path(np.__file__).parent)
# where a traceback frame is library code, not the user's function (for the error's location):
# difflab's IR, difflab.numpy, this module, then NumPy
_LIBRARY = (_CORE, str(Path(__file__).parent / "numpy"), __file__, _NUMPY)
_NO_DEFAULT = inspect.Parameter.empty


def trace(fn: Callable, shapes: Mapping | None = None) -> Expr:
    """The IR of the Python function ``fn``, with a variable per parameter named after it.

    Args:
        fn: a function of named parameters (no ``*args``/``**kwargs``, no positional-only),
            built from operators, ``difflab.numpy`` (``dnp``) and ``dl.<name>`` calls.
        shapes: parameter name -> shape, known while ``fn`` runs (``x.shape``, ``len(x)``);
            default unknown. A parameter with a default becomes a variable only when named here.
    Returns:
        the expression (cached per function and shapes: ``fn`` runs once for each).
    Raises:
        TypeError: a signature without names, control flow on a traced value, a result that
            is not one value (each message names the function).
    """
    slot = _slot(fn)
    if shapes is None:
        return slot.expr(None)
    if not isinstance(shapes, Mapping):
        raise TypeError(f"dl.trace: shapes must map parameter names to shapes, got "
                        f"{type(shapes).__name__}")
    known = [name for name, _ in slot.params]
    clean = {}
    for name, shape in shapes.items():
        if name not in known:
            raise ValueError(f"dl.trace: {slot.label} has no parameter {name!r}; its "
                             f"parameters: {', '.join(known) or 'none'}")
        clean[name] = _as_shape(shape)
        if clean[name] is None or any(n < 0 for n in clean[name]):
            raise TypeError(f"dl.trace: the shape of {name!r} must be a tuple of "
                            f"non-negative ints, got {shape!r}")
    return slot.expr(clean)


def traced(fn: Callable, point: Mapping | None = None, shapes: Mapping | None = None) -> Expr:
    """``trace(fn)`` at a point's shapes (or at ``shapes``): how the API turns a callable given
    in place of an expression into one. Values that are not arrays count as unknown shapes
    (the point's own check names them later)."""
    if point is not None:
        shapes = {name: _shape_of(value) for name, value in point.items()} \
            if isinstance(point, Mapping) else None
    elif shapes is not None and isinstance(shapes, Mapping):
        shapes = {name: _as_shape(shape) for name, shape in shapes.items()}
    return _slot(fn).expr(shapes)


def evaluate(expr, point: Mapping):
    """``dl.evaluate``: the value of an expression, or of a Python function traced at the
    point's shapes, at ``point`` (a float, or an ndarray for an array result)."""
    if callable(expr) and not isinstance(expr, Expr):
        expr = traced(expr, point=point)
    return _evaluate(expr, point)


def _shape_of(value):
    if isinstance(value, Expr):
        return None
    try:
        return tuple(np.shape(value))
    except Exception:  # a ragged list and the like: unknown here, named by the point check
        return None


def _as_shape(shape):
    try:
        return tuple(operator.index(n) for n in shape)  # ints only (2.5 is no length)
    except TypeError:
        return None


# ---- the per-function cache -----------------------------------------------------------------
_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # fn -> _Slot
_METHODS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # obj -> {func: _Slot}


def _slot(fn: Callable) -> _Slot:
    """The cache entry of ``fn`` (a bound method's is kept on its object, weakly: a bound
    method is a new object at each attribute access). Unhashable or not weakly referable
    callables are traced afresh at every call."""
    if not callable(fn) or isinstance(fn, Expr):
        raise TypeError(f"dl.trace needs a Python function, got {type(fn).__name__}")
    try:
        if inspect.ismethod(fn):
            table, key = _METHODS.setdefault(fn.__self__, {}), fn.__func__
        else:
            table, key = _FUNCTIONS, fn
        slot = table.get(key)
    except TypeError:  # unhashable or not weakly referable: no cache
        return _Slot(fn)
    if slot is None:
        slot = table[key] = _Slot(fn)
    return slot


class _Slot:
    """One function's parameters (read once) and its traces by variables and shapes."""

    def __init__(self, fn: Callable):
        self.label = _label(fn)
        self.fn = weakref.WeakMethod(fn) if inspect.ismethod(fn) else _ref(fn)
        self.params = _parameters(fn, self.label)
        self.traces: OrderedDict = OrderedDict()

    def expr(self, shapes: dict | None) -> Expr:
        names = tuple(name for name, default in self.params
                      if default is _NO_DEFAULT or (shapes is not None and name in shapes))
        known = shapes or {}
        key = tuple((name, known.get(name)) for name in names)
        found = self.traces.get(key)
        if found is not None:
            self.traces.move_to_end(key)
            return found
        fn = self.fn()
        out = self.traces[key] = _run(fn, self.label, self.params, dict(key))
        if len(self.traces) > TRACES_PER_FUNCTION:
            self.traces.popitem(last=False)
        return out


def _ref(fn: Callable):
    try:
        return weakref.ref(fn)
    except TypeError:  # not weakly referable: hold it (the slot is not cached anyway)
        return lambda: fn


def _label(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _parameters(fn: Callable, label: str) -> tuple[tuple[str, object], ...]:
    """(name, default) per parameter; TypeError for a signature that cannot name variables."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as err:
        raise TypeError(f"dl.trace: cannot read the signature of {label}: {err}") from None
    out = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise TypeError(f"dl.trace: {label} takes {star}{p.name}; each variable is named "
                            f"after a parameter, so write the parameters out "
                            f"(def {label.rpartition('.')[2]}(x, y): ...)")
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"dl.trace: parameter {p.name!r} of {label} is positional-only; "
                            f"variables are passed by name, so drop the '/'")
        out.append((p.name, p.default))
    return tuple(out)


# ---- one trace --------------------------------------------------------------------------------
def _run(fn: Callable, label: str, params, shapes: dict) -> Expr:
    """Call ``fn`` with variables (of ``shapes``; None: unknown) and defaults; its IR."""
    args = {}
    for name, default in params:
        if name not in shapes:
            args[name] = default
            continue
        try:
            args[name] = variable(name)
        except ValueError as err:
            raise ValueError(f"dl.trace: parameter {name!r} of {label} cannot be a variable: "
                             f"{err}") from None
    SHAPE_HOOKS.append(NodeShapes(shapes))
    try:
        out = fn(**args)
    except TypeError as err:
        explained = _explain(err, label)
        if explained is None:
            err.add_note(f"(while tracing {label} with difflab)")
            raise
        raise explained from (None if "Python control flow" in str(explained) else err)
    except Exception as err:
        err.add_note(f"(while tracing {label} with difflab)")
        raise
    finally:
        SHAPE_HOOKS.pop()
    expr = _as_output(out, label)
    used = set(expr.variables)
    unused = [name for name in shapes if name not in used]
    if unused:  # exactly 0 with derivative 0 (for nan too), so the variable stays in the IR
        expr = expr + add_n([_sum(less(v, v)) for v in map(variable, unused)])
    return expr


def _explain(err: TypeError, label: str) -> TypeError | None:
    """A clearer TypeError for the ways a traced value is used as a number, else None."""
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    core = [code.co_filename.startswith(_CORE) for code, _ in frames]
    user = next((k for k in range(len(frames) - 1, -1, -1)
                 if not frames[k][0].co_filename.startswith(_LIBRARY)), None)
    where = ""
    if user is not None:
        code, line = frames[user]
        text = linecache.getline(code.co_filename, line).strip()
        where = f" at {Path(code.co_filename).name}:{line}" + (f" `{text}`" if text else "")
    last = frames[-1][0].co_name if frames else ""
    if core and core[-1] and last == "__bool__":
        return TypeError(
            f"{label}{where}: Python control flow (if, while, and, or, bool()) cannot depend "
            f"on a traced value: the function runs once with variables, not numbers, so there "
            f"is no branch to take. Choose between values with dnp.where(condition, a, b) "
            f"(or dl.where); loops over constant ranges are fine (they unroll)")
    if core and core[-1] and last == "_length":
        return TypeError(f"{label}{where}: {err}")
    if frames and frames[-1][0].co_filename.startswith(_LIBRARY[:3]):
        return None  # difflab's own message (a bad argument to a dnp function ...) says it
    if "Expr" in str(err) or any(code.co_filename.startswith(_NUMPY) for code, _ in frames):
        return TypeError(f"{label}{where}: {err} — a traced value is a difflab expression, not "
                         f"a number or a NumPy array: use difflab.numpy (import difflab.numpy "
                         f"as dnp; dnp.exp, dnp.sum, ...) in place of numpy and math")
    return None


def _as_output(out, label: str) -> Expr:
    """The function's result as an expression; a clear TypeError for what cannot be one."""
    if isinstance(out, Expr):
        return out
    if out is None:
        raise TypeError(f"dl.trace: {label} returned None (is a return statement missing?)")
    if isinstance(out, tuple | list | dict):
        what = f"a {type(out).__name__} of {len(out)} values"
        raise TypeError(f"dl.trace: {label} returned {what}; a traced function returns one "
                        f"value (an expression: a scalar loss for grad, any array for "
                        f"jacobian); join several with dnp.stack([...]) or dnp.concatenate")
    if isinstance(out, np.ndarray) and out.dtype == object:
        raise TypeError(f"dl.trace: {label} returned a NumPy array of expressions; build "
                        f"arrays of traced values with dnp.array([...]) or dnp.stack([...])")
    if isinstance(out, bool | np.bool_) or not isinstance(out, Real | np.ndarray | np.generic):
        raise TypeError(f"dl.trace: {label} returned {type(out).__name__} {out!r:.60}; "
                        f"expected an expression, a number or an array of numbers")
    try:
        return constant(out)  # a constant result: every derivative is 0
    except TypeError as err:
        raise TypeError(f"dl.trace: {label} returned {err}") from None
