"""Real numbers from Python's and NumPy's many number types as float64, or a clear refusal.

Points and constants accept what is a real number: float, int, ``fractions.Fraction``,
``decimal.Decimal``, NumPy's real scalars, and arrays (or nested lists) of them. Each becomes
float64, so a number beyond float64's range (about 1.8e308) cannot be kept: an int or a
Fraction that large, a finite Decimal or long double that would round to inf, is refused
rather than turned into inf (inf and nan given as such stay: IEEE propagation). Refused too:
booleans (True is not the number 1 here), strings (text is read by ``dl.parse``, never as a
number), complex numbers (unless a caller asks for them), ragged lists, and masked arrays
with masked entries (NumPy would drop the mask). Messages describe the value briefly:
``describe`` costs little however large the value.
"""

from __future__ import annotations

import math
import reprlib
from decimal import Decimal
from numbers import Real

import numpy as np

from .printer import summary

FLOAT_MAX = "the largest float64 is about 1.8e308"
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxtuple = 40, 60, 6, 6
_REPR.maxdict, _REPR.maxset, _REPR.maxlevel = 4, 6, 3
_BOOLS = (bool, np.bool_)
_NOT_NUMBERS = (str, bytes, bytearray, memoryview)


def is_expression(value) -> bool:
    """True for an IR node (told by its fields: this module sits below the node class)."""
    return hasattr(value, "op") and hasattr(value, "args") and hasattr(value, "attr") \
        and hasattr(value, "key")


def describe(value, limit: int = 60) -> str:
    """A short description of any value for a message: cheap however large the value.

    Args:
        value: anything (an expression is summarised, a huge int given by its size).
        limit: about how many characters.
    Returns:
        the description.
    """
    if is_expression(value):
        return summary(value, limit)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return _big_int(value)
    try:
        text = _REPR.repr(value)
    except Exception:  # e.g. an int beyond Python's 4,300-digit printing limit, inside a list
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "..."


def _big_int(value: int) -> str:
    digits = math.floor(math.log10(abs(value))) + 1
    sign = "-" if value < 0 else ""
    if abs(value) == 10 ** (digits - 1):
        return f"{sign}10**{digits - 1}"
    return f"{sign}an integer of {digits:,} digits"


def _too_large(value) -> ValueError:
    return ValueError(f"the number {describe(value)} is too large for float64 ({FLOAT_MAX})")


def as_float(value) -> float:
    """A real scalar (int, float, Fraction, Decimal, NumPy real scalar) as a float64.

    Args:
        value: the number.
    Returns:
        the float.
    Raises:
        TypeError: not a real number (a bool, a string, a complex number, ...).
        ValueError: finite but beyond float64's range.
    """
    if isinstance(value, _BOOLS) or not isinstance(value, Real | Decimal):
        raise TypeError(f"expected a real number, got {describe(value)}")
    try:
        out = float(value)
    except OverflowError:  # an int or a Fraction beyond float64
        raise _too_large(value) from None
    except ValueError:  # Decimal('sNaN')
        raise ValueError(f"{describe(value)} has no float64 value") from None
    if math.isinf(out) and _finite(value):  # a Decimal or a long double that would round to inf
        raise _too_large(value)
    return out


def _finite(value) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, np.floating):
        return bool(np.isfinite(value))
    return not isinstance(value, float)  # ints and Fractions are finite; a float is itself


def as_array(value, allow_complex: bool = False) -> np.ndarray:
    """An array-like of real numbers as a float64 array (complex128 where allowed).

    Args:
        value: an ndarray, a nested list, a NumPy or Python scalar.
        allow_complex: keep complex values (the complex-step scheme's inputs).
    Returns:
        the array (0-d for a scalar).
    Raises:
        TypeError: not an array of numbers (ragged, strings, booleans, objects, masked
            entries); ValueError: an entry beyond float64's range.
    """
    if isinstance(value, np.ma.MaskedArray):
        if np.ma.getmaskarray(value).any():
            raise TypeError("a masked array with masked entries (NumPy would ignore the "
                            "mask): fill them first, e.g. value.filled(np.nan)")
        value = value.filled()
    if value is None or isinstance(value, _NOT_NUMBERS) or isinstance(value, _BOOLS):
        raise TypeError(f"expected a number or an array of numbers, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except ValueError as err:  # NumPy >= 1.24: an inhomogeneous (ragged) nesting
        raise TypeError(f"cannot make an array of {describe(value)}: its rows have different "
                        f"lengths (a ragged list)") from err
    except (TypeError, OverflowError, RecursionError) as err:
        raise TypeError(f"cannot make an array of {describe(value)}: {err}") from err
    kind = arr.dtype.kind
    if kind == "O":
        return _from_objects(arr)
    if kind not in ("iufc" if allow_complex else "iuf"):
        raise TypeError(f"expected real numbers, got {arr.dtype} ({type(value).__name__})")
    if kind == "c":
        return arr.astype(np.complex128, copy=False)
    if kind == "f" and arr.dtype.itemsize > 8:  # long double: may hold what float64 cannot
        with np.errstate(over="ignore"):
            out = arr.astype(np.float64)
        lost = np.isinf(out) & np.isfinite(arr)
        if lost.any():
            raise _too_large(arr[np.unravel_index(int(np.argmax(lost)), arr.shape)])
        return out
    return arr.astype(np.float64, copy=False)


def constant_value(value) -> float | np.ndarray:
    """A constant's payload: a real number as a float, an array as a frozen float64 copy.

    Args:
        value: a real number or an array-like of them (not an expression).
    Returns:
        the float (also for a 0-d array), or the read-only array.
    Raises:
        TypeError: not a real number or array (a string, a bool, complex, ...), naming it.
        ValueError: a number beyond float64's range.
    """
    if isinstance(value, bool) or value is None or isinstance(value, _NOT_NUMBERS):
        raise TypeError(f"cannot use {describe(value)} as a constant: expected a real number "
                        f"or array")
    try:
        if isinstance(value, Real | Decimal):
            return as_float(value)
        arr = as_array(value)
    except TypeError as err:
        kind = type(value)
        if hasattr(kind, "__array_ufunc__") and not issubclass(kind, np.ndarray | np.generic):
            # a number type of its own that NumPy computes with (forward mode's Dual): say so
            raise TypeError(
                f"cannot use {describe(value)} as a constant: a {kind.__name__} is not an "
                f"expression's number; difflab's functions (dl.sin, dl.sum, ...) build "
                f"expressions, so compute with {kind.__name__}s by NumPy's functions (np.sin, "
                f"np.sum) or difflab.forward's (forward.sin, forward.sum)") from None
        raise TypeError(f"cannot use {describe(value)} as a constant: {err}") from None
    arr = np.array(arr, dtype=np.float64)  # a private copy, frozen
    arr.setflags(write=False)
    return float(arr) if arr.ndim == 0 else arr


def _from_objects(arr: np.ndarray) -> np.ndarray:
    """An object array (Python ints beyond int64, Fractions, Decimals) converted entry by
    entry; any other entry is refused, naming it and where it is."""
    out = np.empty(arr.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for i, item in enumerate(arr.reshape(-1)):
        try:
            flat[i] = as_float(item)
        except (TypeError, ValueError) as err:
            index = tuple(int(k) for k in np.unravel_index(i, arr.shape))
            where = f" at index {index}" if arr.ndim else ""
            if isinstance(err, ValueError):
                raise ValueError(f"{err}{where}") from None
            what = "an expression" if is_expression(item) else type(item).__name__
            raise TypeError(f"expected real numbers, got {describe(item)} ({what}){where}") \
                from None
    return out
