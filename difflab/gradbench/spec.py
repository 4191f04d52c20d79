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


def array(input: JSON, name: str, ndim: int) -> np.ndarray:
    """Field ``name`` as a float64 array of ``ndim`` dimensions, or an InputError saying why."""
    value = field_of(input, name)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"field {name!r} is not a rectangular array of numbers") from None
    if arr.ndim != ndim and not (arr.size == 0 and ndim > 1 and arr.ndim == 1):
        raise InputError(f"field {name!r} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def integer(input: JSON, name: str, low: int = 0) -> int:
    """Field ``name`` as an int >= ``low`` (15.0 is 15), or an InputError."""
    value = field_of(input, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) \
            or value < low:
        raise InputError(f"field {name!r} must be an integer >= {low}, got {value!r}")
    return int(value)


def floats(value: object) -> JSON:
    """A result as JSON numbers: a float, or nested lists of floats."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()
