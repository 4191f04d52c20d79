"""GradBench's workloads: each eval's inputs drawn as the eval draws them.

Most evals (lse, llsq, kmeans, ode, det) call ``np.random.seed(31337)`` once and draw their
workloads in turn, so a workload's input depends on the ones drawn before it: ``inputs``
replays the whole sequence, and ``eval_input`` replays it up to the workload asked for.
gmm starts ``default_rng(31337)`` afresh for every workload (so do ba and ht here, whose
inputs GradBench reads from files; see their ``draw``). A size that is not one of the eval's
workloads (a smoke test's tiny sizes) is drawn from a fresh generator with the eval's seed.

``seed`` shifts the seed (31337 + seed) for other draws of the same formulas; seed 0 is the
eval's own input.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import numpy as np

from .evals import MODULES

WITH_WORKLOADS = tuple(m for m in MODULES if hasattr(m, "WORKLOADS"))


def module(name: str) -> ModuleType:
    """The eval module called ``name``; a KeyError lists the evals with workloads."""
    for m in WITH_WORKLOADS:
        if m.NAME == name:
            return m
    raise KeyError(f"no GradBench eval {name!r} with workloads; known: "
                   f"{', '.join(m.NAME for m in WITH_WORKLOADS)}")


def sequential(mod: ModuleType) -> bool:
    """True for an eval that draws all its workloads from one generator, in turn."""
    return getattr(mod, "SEQUENTIAL", True) and mod.NAME not in ("ba", "ht")


def generator(mod: ModuleType, seed: int = 0) -> np.random.RandomState | np.random.Generator:
    """The eval's kind of generator: a RandomState (np.random.seed) or a Generator."""
    if sequential(mod):
        return np.random.RandomState(mod.SEED + seed)
    return np.random.default_rng(mod.SEED + seed)


def inputs(mod: ModuleType, seed: int = 0) -> Iterator[tuple[dict, dict]]:
    """(params, input) for every workload of the eval, in its order, drawn as it draws them."""
    rng = generator(mod, seed)
    for params in mod.WORKLOADS:
        if not sequential(mod):
            rng = generator(mod, seed)
        yield params, mod.draw(rng, params)


def eval_input(mod: ModuleType, params: dict, seed: int = 0) -> dict:
    """The input of one workload: the eval's own (its draws replayed up to it) when
    ``params`` is one of its workloads, else a fresh draw with the eval's seed."""
    params = dict(params)
    if params not in mod.WORKLOADS or not sequential(mod):
        return mod.draw(generator(mod, seed), params)
    rng = generator(mod, seed)
    for earlier in mod.WORKLOADS:
        drawn = mod.draw(rng, earlier)
        if earlier == params:
            return drawn
    raise AssertionError("unreachable: params is one of the workloads")
