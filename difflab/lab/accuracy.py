"""Accuracy: how far a method's derivative is from the truth, component by component.

Two measures per component, ``a`` the method's value and ``b`` the truth:

    rho     = |a - b| / max(1, |a| + |b|)   absolute error for small values, relative for
                                            large ones; symmetric; at most 1 for finite a, b
    rel_err = |a - b| / |b|                 the textbook relative error; where b = 0 it falls
                                            back to the absolute error |a|

Agreement on non-finite values counts as exact (a = b = +inf, or both nan: the truth says the
derivative is undefined there and the method agrees). A non-finite ``a`` where ``b`` is finite
makes the outcome "nan"; any other disagreement has rho = inf.

Derivatives arrive as the protocol's dicts: a gradient or Jacobian {name: float | array}, a
Hessian {a: {b: float | array}}; ``flatten`` turns either into {label: array} (labels
``"x"`` or ``"x,y"``), so one comparison serves all three.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..method_table import judging

MAX_MISMATCHES = 5

# Tolerance on rho per method. Exact methods (symbolic, forward, reverse, jax, and the complex
# step) differ from the truth only by float64 rounding; finite differences carry truncation
# error ~ h^p plus cancellation ~ eps/h: one-sided schemes ~ sqrt(eps) = 1.5e-8, central
# ~ eps^(2/3) = 4e-11 (before the scale of the higher derivatives, hence the slack).
TOLERANCES: dict[str, float] = {
    "symbolic": 1e-12, "forward": 1e-12, "reverse": 1e-12, "jax": 1e-12,
    "numeric": 1e-6, "numeric:forward": 1e-5, "numeric:backward": 1e-5,
    "numeric:central": 1e-6, "numeric:complex": 1e-11,
}
DEFAULT_TOLERANCE = 1e-12    # a method not in the table is held to the exact standard
# (A registered method is judged by what it declares: its tolerance, or exact / approximate;
# see difflab.plugin. Its declaration wins over this table, even for a name it replaces.)
HESSIAN_FACTOR = {"exact": 100.0, "numeric": 1000.0}  # second derivatives lose more digits


def tolerance(method: str, kind: str = "grad") -> float:
    """The rho tolerance for ``method`` (``numeric:<scheme>`` falls back to ``numeric``; a
    registered method's is the one it declares).

    Args:
        method: a method name, possibly with a variant.
        kind: "grad", "jacobian" or "hessian" (a Hessian gets a looser tolerance).
    Returns:
        the largest acceptable rho per component.
    """
    base = method.partition(":")[0]
    declared = judging(method)
    if declared is not None:
        tol = declared[1]
    else:
        tol = TOLERANCES.get(method, TOLERANCES.get(base, DEFAULT_TOLERANCE))
    if kind == "hessian":
        tol *= HESSIAN_FACTOR["exact" if is_exact(method) else "numeric"]
    return tol


def is_exact(method: str) -> bool:
    """Whether ``method`` is exact up to float64 rounding: the AD methods, symbolic, jax and
    the complex step; not finite differences; a registered method as it declares."""
    declared = judging(method)
    if declared is not None:
        return declared[0]
    return method.partition(":")[0] != "numeric" or method == "numeric:complex"


def rho(a, b) -> np.ndarray:
    """|a - b| / max(1, |a| + |b|) elementwise; 0 where a and b are the same inf or both nan."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(all="ignore"):
        r = np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b))
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.where(np.isnan(r), np.inf, r))


def rel_err(a, b) -> np.ndarray:
    """|a - b| / |b| elementwise (``b`` the truth); |a| where b = 0; 0 where a and b agree."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(all="ignore"):
        diff = np.abs(a - b)
        r = np.where(b == 0, diff, diff / np.abs(b))
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.where(np.isnan(r), np.inf, r))


def flatten(derivative: Mapping) -> dict[str, object]:
    """{label: value} from a gradient/Jacobian dict or a Hessian's nested dict (``"a,b"``)."""
    if not isinstance(derivative, Mapping):
        raise TypeError(f"expected a dict of derivatives, got {type(derivative).__name__}")
    flat = {}
    for name, value in derivative.items():
        if isinstance(value, Mapping):
            for name2, value2 in value.items():
                flat[f"{name},{name2}"] = value2
        else:
            flat[str(name)] = value
    return flat


def _as_array(label: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{label}: not an array of numbers ({type(value).__name__})") from err
    return arr


def _structure(got: dict, truth: dict) -> str | None:
    """Why ``got`` cannot be compared with ``truth`` (names, shapes), or None."""
    if set(got) != set(truth):
        return (f"the result has entries {sorted(got)} but the truth has {sorted(truth)}")
    for label in truth:
        if got[label].shape != truth[label].shape:
            return (f"{label}: the result has shape {got[label].shape} but the truth has "
                    f"{truth[label].shape}")
    return None


def compare_gradients(got: Mapping, truth: Mapping, tol: float) -> dict:
    """Compare a derivative with the truth.

    Args:
        got: the method's result (gradient, Jacobian or Hessian dict).
        truth: the reference in the same format.
        tol: a component violates the tolerance when its rho exceeds ``tol``.
    Returns:
        {"outcome": "ok" | "wrong" | "nan", "max_rho", "mean_rho", "max_rel_err",
         "n_components", "n_violations", "first_mismatches": [{variable, index, got, truth}],
         "message"}. A result of the wrong structure (names or shapes) is "wrong" with rho inf
        and a message saying what differs.
    """
    truth_flat = {k: _as_array(f"truth {k}", v) for k, v in flatten(truth).items()}
    try:
        got_flat = {k: _as_array(k, v) for k, v in flatten(got).items()}
        problem = _structure(got_flat, truth_flat)
    except (TypeError, ValueError) as err:
        problem = str(err)
    n = int(sum(v.size for v in truth_flat.values()))
    if problem is not None:
        return {"outcome": "wrong", "max_rho": float("inf"), "mean_rho": float("inf"),
                "max_rel_err": float("inf"), "n_components": n, "n_violations": n,
                "first_mismatches": [], "message": f"wrong structure: {problem}"}
    rhos, rels, mismatches, n_bad, nan_where_finite = [], [], [], 0, False
    for label, b in truth_flat.items():
        a = got_flat[label]
        r, e = rho(a, b), rel_err(a, b)
        rhos.append(r.ravel())
        rels.append(e.ravel())
        nan_where_finite |= bool(np.any(~np.isfinite(a) & np.isfinite(b)))
        bad = ~(r <= tol)
        n_bad += int(np.count_nonzero(bad))
        for flat_index in np.flatnonzero(bad)[:MAX_MISMATCHES - len(mismatches)]:
            index = np.unravel_index(flat_index, b.shape) if b.ndim else ()
            mismatches.append({"variable": label, "index": [int(i) for i in index],
                               "got": float(a.flat[flat_index]),
                               "truth": float(b.flat[flat_index])})
    all_rho = np.concatenate(rhos) if rhos else np.zeros(0)
    all_rel = np.concatenate(rels) if rels else np.zeros(0)
    outcome = "nan" if nan_where_finite else ("wrong" if n_bad else "ok")
    message = {"ok": "", "nan": "nan or inf where the truth is finite",
               "wrong": f"{n_bad} of {n} components beyond the tolerance {tol:g}"}[outcome]
    return {"outcome": outcome,
            "max_rho": float(all_rho.max()) if all_rho.size else 0.0,
            "mean_rho": float(all_rho.mean()) if all_rho.size else 0.0,
            "max_rel_err": float(all_rel.max()) if all_rel.size else 0.0,
            "n_components": n, "n_violations": n_bad,
            "first_mismatches": mismatches, "message": message}


def all_finite(derivative: Mapping) -> bool:
    """True when every component of ``derivative`` is a finite number (used without a truth)."""
    try:
        return all(bool(np.all(np.isfinite(_as_array(k, v))))
                   for k, v in flatten(derivative).items())
    except (TypeError, ValueError):
        return False
