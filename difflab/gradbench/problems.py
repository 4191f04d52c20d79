"""GradBench's workloads as lab problems: builders, point samplers and names to differentiate.

``difflab.lab.problems`` registers one sized problem per eval, ``gradbench_<eval>`` (family
"gradbench"), from these functions; ``difflab.studies.gradbench`` measures them. For eval E
and a workload's parameters (``E.WORKLOADS``: n for lse, (d, k, n) for gmm ...):

    build(E, **params)      the expression the eval's derivative differentiates: the
                            objective (lse, llsq, gmm, det, lstm, kmeans' cost), y_{n-1}(2)
                            for ode, the column-compressed residuals for ba and ht
    reference(E, params)    the point of the eval's own input (its seeds, its draws)
    sample(E, rng, params)  another point of the same shapes (seed 31337 + a draw of rng)
    wrt(E, params)          the names the eval differentiates by
    KIND[E]                 "grad" or "jacobian" (kmeans' Newton step J ⊘ (H·1) is the
                            study's: the registry differentiates the cost, J)

``lookup(expr)`` gives back (eval, sizes, the eval's input) for an expression ``build`` made,
so a study's hooks can prepare the eval's own derivative function for it. Where the input has
integer structure (ht's correspondences and triangles), the seed-0 input fixes it, and other
seeds draw the floating-point arrays only.
"""

from __future__ import annotations

from collections import OrderedDict
from types import ModuleType

import numpy as np

from ..core.expr import Expr
from .evals import EVALS
from .workloads import WITH_WORKLOADS, eval_input, module

__all__ = ["KIND", "NAMES", "WITH_WORKLOADS", "build", "lookup", "reference", "sample", "wrt"]

NAMES = tuple(m.NAME for m in WITH_WORKLOADS)
KIND = {name: "jacobian" if name in ("ba", "ht") else "grad" for name in NAMES}
LAB_METHOD = "forward"  # the compression the registry's expressions use (by columns)

_built: OrderedDict = OrderedDict()    # expr.key -> (eval name, sizes, input)
_inputs: OrderedDict = OrderedDict()   # (eval name, params, seed) -> input
LIMIT = 32


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > LIMIT:
        cache.popitem(last=False)
    return value


def _params_key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


def input_of(name: str, params: dict, seed: int = 0) -> dict:
    """The eval's input for a workload (cached: replaying an eval's draws takes a moment)."""
    key = (name, _params_key(params), seed)
    if key in _inputs:
        _inputs.move_to_end(key)
        return _inputs[key]
    return _remember(_inputs, key, eval_input(module(name), params, seed))


def _derivative(name: str, params: dict):
    ev = EVALS[name]
    input = input_of(name, params)
    sizes = ev.sizes(input)
    return ev, sizes, input, ev.derivative(sizes, LAB_METHOD)


def build(name: str, **params) -> Expr:
    """The expression of eval ``name``'s derivative at ``params`` (see the module docstring)."""
    _, sizes, input, d = _derivative(name, params)
    _remember(_built, d.expr.key, (name, sizes, input))
    return d.expr


def lookup(expr: Expr) -> tuple[str, tuple, dict] | None:
    """(eval name, sizes, input) of an expression ``build`` made, or None."""
    return _built.get(expr.key)


def wrt(name: str, params: dict) -> tuple[str, ...]:
    """The names eval ``name`` differentiates by."""
    return _derivative(name, params)[3].wrt


def _point(name: str, input: dict, params: dict) -> dict:
    ev, sizes, _, d = _derivative(name, params)
    full = ev.point(input, sizes)
    full.update({n: np.zeros(s) if s else 0.0 for n, s in d.zeros.items()})
    return full


def reference(name: str, params: dict) -> dict:
    """The point of the eval's own input at ``params`` (seed 0)."""
    return _point(name, input_of(name, params), params)


def sample(name: str, rng: np.random.Generator, params: dict) -> dict:
    """A point of the same shapes from the eval's formulas, seeded 31337 + a draw of rng."""
    seed = int(rng.integers(1, 2**31 - 1))
    return _point(name, eval_input(module(name), params, seed), params)


def describe(mod: ModuleType) -> str:
    """One line: the eval and its workloads."""
    first = (mod.__doc__ or "").strip().split("\n")[0].rstrip(".")
    return f"{first}; {len(mod.WORKLOADS)} workloads ({', '.join(mod.WORKLOADS[0])} ...)"
