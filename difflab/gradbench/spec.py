"""What an eval module of ``difflab.gradbench.evals`` declares: its two functions, how its JSON
input becomes a point, the IR of the objective, how the derivative is taken, and how results
become GradBench's JSON.

GradBench (github.com/gradbench/gradbench) names a module per eval (``lse``, ``gmm`` ...) with a
primal function and a derivative function (``primal``/``gradient``, ``objective``/``jacobian``,
``cost``/``dir``). An ``Eval`` says, for one of them:

    sizes(input)          the shape key of a JSON input (the IR is built once per key)
    point(input, sizes)   the input as NumPy values by variable name (not timed)
    objective(*sizes)     the primal's IR
    derivative(sizes, method)   a ``Derivative``: what to differentiate, how, by what
    primal_output / derivative_output   results -> GradBench's JSON (not timed)

The ``Derivative`` kinds: "grad" (a gradient), "jacobian", and "newton" (the gradient divided
elementwise by the Hessian-vector product with a vector of ones: k-means' Newton direction,
J ⊘ (H·1), which is J ⊘ diag H when H is diagonal). Variables in ``zeros`` are evaluated at 0:
they are the broadcast parameters of a compressed Jacobian (see ``evals/ba.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.expr import Expr

KINDS = ("grad", "jacobian", "newton")
JSON = Any  # what json.loads gives: dicts, lists, str, numbers, bools, None


@dataclass(frozen=True)
class Derivative:
    """A derivative to prepare with a method: ``kind`` of ``expr`` with respect to ``wrt``."""

    kind: str
    expr: Expr
    wrt: tuple[str, ...]
    zeros: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # name -> shape, at 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"derivative kind must be one of {', '.join(KINDS)}, "
                             f"got {self.kind!r}")


@dataclass(frozen=True)
class Eval:
    """One GradBench eval implemented in difflab's IR (see the module docstring)."""

    name: str
    primal: str                                            # the primal function's name
    derivative_name: str                                   # the derivative function's name
    sizes: Callable[[object], tuple]
    point: Callable[[object, tuple], dict]
    objective: Callable[..., Expr]
    derivative: Callable[[tuple, str], Derivative]
    primal_output: Callable[[object, object], object]
    derivative_output: Callable[[dict, object], object]
    runs: bool = True              # the input carries min_runs and min_seconds (not hello)

    @property
    def functions(self) -> tuple[str, str]:
        """The eval's function names, primal first."""
        return (self.primal, self.derivative_name)


class InputError(ValueError):
    """A GradBench input that does not fit the eval (a missing field, a ragged array)."""


def kind_of(value: object) -> str:
    """What a JSON value is, for a message: "a string", "a boolean", "null", "a list" ..."""
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "a boolean"
    return {str: "a string", dict: "an object", list: "a list", tuple: "a list"}.get(
        type(value), f"a {type(value).__name__}")


def field_of(input: JSON, name: str) -> JSON:
    """``input[name]``, or an InputError naming the missing field."""
    if not isinstance(input, Mapping):
        raise InputError(f"the input must be a JSON object, got {type(input).__name__}")
    if name not in input:
        raise InputError(f"the input has no field {name!r} (it has "
                         f"{', '.join(map(repr, input)) or 'none'})")
    return input[name]


NUMBERS = (float, int)   # what json.loads gives for a JSON number (bool is an int: refused)


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (an integer of 400 digits says so)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _number(value: object) -> bool:
    return (type(value) in NUMBERS or isinstance(value, np.floating | np.integer)) and \
        not isinstance(value, bool | np.bool_)


def not_a_number(value: object, where: str) -> str | None:
    """Where the first entry of nested lists ``value`` that is not a number is, and what it
    is ("x[0] is a string, not a number"); None when every entry is a number."""
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind in "fiu" else f"{where} holds {value.dtype} values, " \
                                                      f"not numbers"
    if isinstance(value, list | tuple):
        if set(map(type, value)) <= set(NUMBERS):  # the common case, at C speed
            return None
        for i, entry in enumerate(value):
            if not _number(entry):
                inner = f"{where}[{i}]"
                if not isinstance(entry, list | tuple | np.ndarray):
                    return f"{inner} is {kind_of(entry)}, not a number"
                bad = not_a_number(entry, inner)
                if bad:
                    return bad
        return None
    return None if _number(value) else f"{where} is {kind_of(value)}, not a number"


def array(input: JSON, name: str, ndim: int, nonempty: bool = False) -> np.ndarray:
    """Field ``name`` as a float64 array of ``ndim`` dimensions, or an InputError saying why
    (an entry that is not a number is named: strings, booleans and null are refused). An
    empty list is an empty array of ``ndim`` dimensions (refused if ``nonempty``)."""
    value = field_of(input, name)
    if not isinstance(value, list | tuple | np.ndarray) and not _number(value):
        raise InputError(f"field {name!r} must be an array of numbers, got {kind_of(value)}")
    bad = not_a_number(value, name)
    if bad:
        raise InputError(f"field {name!r}: {bad}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise InputError(f"field {name!r} holds an integer too large for a float64") from None
    except (TypeError, ValueError):
        raise InputError(f"field {name!r} is not a rectangular array of numbers") from None
    if arr.size == 0 and ndim > 1 and arr.ndim == 1:
        arr = arr.reshape((0,) * ndim)
    if arr.ndim != ndim:
        raise InputError(f"field {name!r} must have {ndim} dimension(s), got shape {arr.shape}")
    if nonempty and not arr.size:
        raise InputError(f"field {name!r} must not be empty, got shape {arr.shape}")
    return arr


def integer(input: JSON, name: str, low: int = 0, high: int | None = None,
            bound: str = "") -> int:
    """Field ``name`` as an int >= ``low`` (15.0 is 15) and <= ``high`` (``bound`` says why),
    or an InputError naming the field."""
    value = field_of(input, name)
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer):
        raise InputError(f"field {name!r} must be an integer >= {low}, got {kind_of(value)}")
    if isinstance(value, float) and not value.is_integer() or value < low:  # nan, inf, 1.5
        raise InputError(f"field {name!r} must be an integer >= {low}, got {shown(value)}")
    if high is not None and value > high:
        raise InputError(f"field {name!r} must be at most {high:,}{bound}, got {shown(value)}")
    return int(value)


def number(input: JSON, name: str, low: float = 0.0, high: float = math.inf) -> float:
    """Field ``name`` as a finite float from ``low`` to ``high``, or an InputError."""
    value = field_of(input, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"field {name!r} must be a number, got {kind_of(value)}")
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"field {name!r} must be a number from {low:g} to {high:g}, got "
                         f"{shown(value)}")
    return float(value)


def integers(input: JSON, name: str) -> tuple[int, ...]:
    """Field ``name``, a list of integers (3.0 is 3; 1.5, strings and booleans are refused)."""
    value = field_of(input, name)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise InputError(f"field {name!r} must be a list of integers, got {kind_of(value)}")
    for i, entry in enumerate(value):
        if isinstance(entry, bool | np.bool_) or not isinstance(entry, int | float | np.integer) \
                or isinstance(entry, float) and not entry.is_integer():
            what = shown(entry) if isinstance(entry, float) else kind_of(entry)
            raise InputError(f"field {name!r}: {name}[{i}] is {what}, not an integer")
    return tuple(int(entry) for entry in value)


def within(work: int, limit: int, what: str, budget: str) -> None:
    """An InputError when an input's work estimate ``work`` exceeds ``limit``: ``what`` names
    the estimate and its fields, ``budget`` the constant that holds the limit."""
    if work > limit:
        raise InputError(f"{what} is {work:,}, over difflab's budget {budget} = {limit:,}")


def floats(value: object) -> JSON:
    """A result as JSON numbers: a float, or nested lists of floats."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()
