"""``check_grad``: compare a method's gradient with an independent reference.

In the spirit of ``torch.autograd.gradcheck`` and JAX's ``check_grads``: the analytic gradient
(by ``method``) must match finite differences (by default fourth-order central differences, a
real-arithmetic scheme that shares no code with the AD engines) component by component within
``atol + rtol * |reference|``. On failure the message lays the two side by side. Tests use it,
and so can anyone writing a new rule.

A reference can fail too: central differences step to both sides of x, so near the edge of a
domain (sqrt or log at x = 1e-10, where the step is 2e-4) they evaluate f outside it and give
nan. With the default reference, such components are taken from the first of ``FALLBACKS``
that is finite there — the complex step (which never leaves the real point: x + ih), then the
one-sided schemes (one of which stays inside the domain) — and the message names the reference
each component came from. Where no reference is finite the failure says "reference not
finite", apart from the real mismatches: the check could not be made there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .api import grad
from .method_table import judging

FALLBACKS = ("numeric:complex", "numeric:forward", "numeric:backward")
NOT_FINITE = "reference not finite"


class GradientMismatch(AssertionError):
    """The gradient disagrees with the reference; the message tabulates the disagreement."""


def _arrays(derivative: Mapping) -> dict[str, np.ndarray]:
    return {k: np.atleast_1d(np.array(v, dtype=float)) for k, v in derivative.items()}


def _references(expr, point, wrt, reference: str, default: bool, got: dict):
    """The reference values and, per component, the name of the reference they came from."""
    want = _arrays(grad(expr, point, method=reference, wrt=wrt))
    source = {k: np.full(v.shape, reference, dtype=object) for k, v in want.items()}
    need = _failing(got, want)
    if default and reference.startswith("numeric"):
        for fallback in FALLBACKS:
            if not any(m.any() for m in need.values()):
                break
            try:
                other = _arrays(grad(expr, point, method=fallback, wrt=wrt))
            except (ValueError, NotImplementedError, TypeError):  # complex step on abs, ...
                continue
            for k, mask in need.items():
                take = mask & np.isfinite(other[k])
                want[k][take] = other[k][take]
                source[k][take] = fallback
            need = _failing(got, want)
    for k, mask in need.items():
        source[k][mask] = NOT_FINITE
    return want, source


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _failing(got: dict, want: dict) -> dict[str, np.ndarray]:
    """Where the reference is not finite and the method's value is not that same value (both
    nan, or the same inf, agree): there another reference is needed."""
    return {k: ~np.isfinite(want[k]) & ~_same(got[k], want[k]) for k in want}


def check_grad(expr, point: Mapping, method: str = "reverse",
               wrt: Sequence[str] | None = None, reference: str | None = None,
               atol: float = 1e-6, rtol: float = 1e-6, raise_exception: bool = True) -> bool:
    """Check ``method``'s gradient of ``expr`` at ``point`` against ``reference``.

    Args:
        expr: a scalar-valued expression, its text, or a Python function (``dl.trace``:
            traced once per shapes, so both methods see the same IR).
        point: every variable -> float or array.
        method: the method under test.
        wrt: variables to check (default: all).
        reference: the method to trust (default ``numeric:central4``, or ``forward`` when the
            method under test is itself numeric, or a registered method that declares itself
            approximate). With the default, components where central
            differences are not finite come from ``FALLBACKS`` (see the module docstring).
        atol, rtol: a component passes when |analytic - reference| <= atol + rtol*|reference|
            (or both are the same inf, or both nan).
        raise_exception: raise ``GradientMismatch`` on failure (else print and return False).
    Returns:
        True when every component passes.
    """
    default = reference is None
    if default:
        declared = judging(method)  # (exact, tolerance) of a registered method
        approximate = method.startswith("numeric") or (declared is not None and not declared[0])
        reference = "forward" if approximate else "numeric:central4"
    raw = grad(expr, point, method=method, wrt=wrt)
    shapes = {k: np.shape(v) for k, v in raw.items()}
    got = _arrays(raw)
    want, source = _references(expr, point, wrt, reference, default, got)
    rows = []
    for name in got:
        a, b = got[name], want[name]
        bad = ~(np.abs(a - b) <= atol + rtol * np.abs(b)) & ~_same(a, b)  # nan counts as bad
        bad |= source[name] == NOT_FINITE
        for index in zip(*np.nonzero(bad), strict=False):
            rows.append((name, index, a[index], b[index], source[name][index]))
    if not rows:
        return True
    message = _message(rows, method, reference, shapes)
    if raise_exception:
        raise GradientMismatch(message)
    print(message)
    return False


def _message(rows: list, method: str, reference: str, shapes: dict) -> str:
    """The failure laid out: a headline, then one line per component (at most 20)."""
    unchecked = sum(1 for *_, src in rows if src == NOT_FINITE)
    mismatched = len(rows) - unchecked
    parts = []
    if mismatched:
        parts.append(f"{mismatched} component(s) differ")
    if unchecked:
        parts.append(f"at {unchecked} component(s) the reference itself is not finite "
                     f"(nan or inf: the check could not be made there)")
    sources = {src for *_, src in rows}
    fallbacks = sorted(sources - {reference, NOT_FINITE})
    if fallbacks:
        parts.append(f"{reference} was not finite at some components, {', '.join(fallbacks)} "
                     f"served there (last column)")
    lines = [f"gradient check failed: {method} vs {reference}: " + "; ".join(parts)]
    per_row = sources != {reference}
    lines.append(f"{'variable':<12}{'index':<12}{method:>24}{'reference':>24}{'|difference|':>16}"
                 + ("  reference used" if per_row else ""))
    shown = rows[:20]
    for name, index, a, b, src in shown:
        idx = ",".join(map(str, index)) if shapes[name] else "-"
        lines.append(f"{name:<12}{idx:<12}{a:>24.16g}{b:>24.16g}{abs(a - b):>16.3g}"
                     + (f"  {src}" if per_row else ""))
    if len(rows) > len(shown):
        lines.append(f"... and {len(rows) - len(shown)} more")
    return "\n".join(lines)
