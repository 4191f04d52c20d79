"""The cells of the edge-case table (docs/edge_cases.md): one method's gradient at one point,
formatted, or the error it raised. Shared by tests/test_edge_cases.py (the scalar cases, and
the generator that writes the whole file) and tests/test_edge_cases_arrays.py (the array
cases: ties, `where` at its boundary, out-of-range indices, empty reductions).
"""

import warnings
from pathlib import Path

import numpy as np

import difflab as dl
from difflab import truth

DOC = Path(__file__).resolve().parents[1] / "docs" / "edge_cases.md"
METHODS = ("truth", "symbolic", "numeric", "numeric:complex", "forward", "reverse", "jax")


def _number(value) -> str:
    value = float(value)
    return "nan" if np.isnan(value) else f"{value:.6g}"


def fmt(value) -> str:
    """A scalar to 6 digits; an array flattened, ``[0, 0.5, 0.5]``, with its shape after it
    unless it is a vector (``[0, 0.5, 1, 0.5] (2, 2)``, ``[] (2, 0)``)."""
    if np.ndim(value) == 0:
        return _number(value)
    arr = np.asarray(value)
    text = "[" + ", ".join(_number(v) for v in arr.ravel()) + "]"
    return text if arr.ndim == 1 and arr.size else f"{text} {arr.shape}"


def error_text(err: Exception) -> str:
    """An error as its class and its first clause: ``ValueError: index [5] does not fit
    shape (3,)``."""
    return f"{type(err).__name__}: {str(err).split(': ')[0][:60]}"


def gradient(method: str, f, point) -> dict:
    """``method``'s gradient of ``f`` at ``point`` (``truth``: SymPy at 50 digits)."""
    return truth.gradient(f, point) if method == "truth" else dl.grad(f, point, method=method)


def cell(method: str, f, point, errors: str = "refused") -> str:
    """One method's gradient, components in variable order, or why it refused (``errors``:
    ``refused`` writes ``refused: <first words>``, the scalar rows' form; ``class`` writes the
    exception's class and first clause)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
            g = gradient(method, f, point)
    except Exception as err:  # noqa: BLE001 - a refusal is a documented answer
        if errors == "class":
            return error_text(err)
        return f"refused: {str(err).split(':')[0][:40]}"
    return "; ".join(fmt(v) for v in g.values())


def value(f, point, errors: str = "refused") -> str:
    """f at ``point``, formatted (an error as in ``cell``, for ``errors="class"``)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fmt(dl.evaluate(f, point))
    except Exception as err:  # noqa: BLE001 - only array rows are errors
        if errors != "class":
            raise
        return error_text(err)


def at(point) -> str:
    """The point as ``x=0, y=1`` (arrays as in ``fmt``)."""
    return ", ".join(f"{k}={fmt(v)}" for k, v in point.items())


def results(cases, errors: str = "refused") -> list[tuple]:
    """(expression, point, f, {method: cell}, note) per (expression, point, note) case."""
    rows = []
    for text, point, note in cases:
        f = dl.parse(text)
        rows.append((text, point, value(f, point, errors),
                     {m: cell(m, f, point, errors) for m in METHODS}, note))
    return rows


def table_lines(rows) -> list[str]:
    """The markdown table of ``rows`` (from ``results``)."""
    head = ["expression", "at", "f", *METHODS, "what it shows"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for text, point, f_value, cells, note in rows:
        row = [f"`{text}`", at(point), f_value, *(cells[m] for m in METHODS), note]
        lines.append("| " + " | ".join(row) + " |")
    return lines
