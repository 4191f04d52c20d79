"""``check_grad``: compare a method's gradient with an independent reference.

In the spirit of ``torch.autograd.gradcheck`` and JAX's ``check_grads``: the analytic gradient
(by ``method``) must match finite differences (by default fourth-order central differences, a
real-arithmetic scheme that shares no code with the AD engines) component by component within
``atol + rtol * |reference|``. On failure the message lays the two side by side. Tests use it,
and so can anyone writing a new rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .api import grad


class GradientMismatch(AssertionError):
    """The gradient disagrees with the reference; the message tabulates the disagreement."""


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
            method under test is itself numeric).
        atol, rtol: a component passes when |analytic - reference| <= atol + rtol*|reference|.
        raise_exception: raise ``GradientMismatch`` on failure (else print and return False).
    Returns:
        True when every component passes.
    """
    if reference is None:
        reference = "forward" if method.startswith("numeric") else "numeric:central4"
    got = grad(expr, point, method=method, wrt=wrt)
    want = grad(expr, point, method=reference, wrt=wrt)
    rows = []
    for name in got:
        a = np.atleast_1d(np.asarray(got[name], dtype=float))
        b = np.atleast_1d(np.asarray(want[name], dtype=float))
        bad = ~(np.abs(a - b) <= atol + rtol * np.abs(b))  # nan counts as bad
        bad &= ~(np.isnan(a) & np.isnan(b))
        for index in zip(*np.nonzero(bad), strict=False):
            rows.append((name, index, a[index], b[index]))
    if not rows:
        return True
    shown = rows[:20]
    lines = [f"gradient check failed: {method} vs {reference} at {len(rows)} component(s)",
             f"{'variable':<12}{'index':<12}{method:>24}{reference:>24}{'|difference|':>16}"]
    for name, index, a, b in shown:
        idx = ",".join(map(str, index)) if len(np.shape(got[name])) else "-"
        lines.append(f"{name:<12}{idx:<12}{a:>24.16g}{b:>24.16g}{abs(a - b):>16.3g}")
    if len(rows) > len(shown):
        lines.append(f"... and {len(rows) - len(shown)} more")
    message = "\n".join(lines)
    if raise_exception:
        raise GradientMismatch(message)
    print(message)
    return False
