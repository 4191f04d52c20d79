"""Benchmark cases of reverse mode's batched sweeps: targets R1 (a Jacobian R^8 -> R^1024 in
one sweep) and R2, R3 (Rosenbrock n = 128's Hessian, forward over reverse in one sweep), each
against JAX compiled: jax.jit(jax.jacrev) and jax.jit(jax.hessian) of the same function
(difflab.jax_ref, compile time excluded: it happens before timing), timed side by side.

The Jacobian is the Jacobian-shape study's family, y = tanh(A x + b). Rosenbrock's Hessian
is asked twice of difflab: with 128 scalar variables (``build_rosenbrock``, a graph of 1,146
slots swept on its level schedule, the answer a dict of 128 x 128 floats) and with x one array
of 128 (``build_rosenbrock_vec``, the answer one 128 x 128 array). JAX differentiates the
array form (its tracer would unroll the scalar one into 1,146 XLA ops: minutes to compile);
both of difflab's are compared with it. The two forms take the same draws for a seed.
"""

from __future__ import annotations

import numpy as np

import difflab as dl

from ..lab.families import (
    build_rosenbrock,
    build_rosenbrock_vec,
    build_vector_family,
    sample_rosenbrock,
    sample_rosenbrock_vec,
    sample_vector_family,
)
from .cases_array import AGREE, rho_max, rows_of
from .targets import Row, Target, ratio_text, time_text, unmeasured
from .timer import interleave, median

KEYS = ("R1", "R2", "R3")


def _verdict(key: str, samples: dict, ours: str, jax_name: str, agrees: bool) -> Target:
    mine, theirs = median(samples[ours]), median(samples[jax_name])
    ratio = mine / theirs
    return Target(key, ratio, f"{ratio_text(ratio)} ({time_text(mine)} vs {time_text(theirs)})",
                  ratio <= 3.0 and agrees, "" if agrees else "disagrees with JAX")


def reverse_case(cfg: dict, available: dict) -> tuple[list[Row], list[Target], dict]:
    """Targets R1 (Jacobian) and R2, R3 (Hessian), with the rows of every contender."""
    if available["jax"].startswith("unavailable"):
        return [], [unmeasured(k, "jax unavailable") for k in KEYS], {}
    from .. import jax_ref

    rng = lambda: np.random.default_rng(cfg["seed"])
    n, m = cfg["jacobian_shape"]
    f = build_vector_family(n, m)
    point = sample_vector_family(rng(), {"n": n, "m": m})
    jacrev = jax_ref.prepare_jacobian(f, ("x",), {"x": (n,)}, mode="reverse")
    agrees = rho_max(dl.jacobian(f, point, method="reverse"), jacrev(point)) <= AGREE
    names = ("difflab reverse (dl.jacobian)", "jax.jit(jax.jacrev)",
             "difflab forward (dl.jacobian)")
    samples = interleave({names[0]: lambda: dl.jacobian(f, point, method="reverse"),
                          names[1]: lambda: jacrev(point),
                          names[2]: lambda: dl.jacobian(f, point, method="forward")},
                         cfg["repeats"], cfg["min_time"])
    rows = rows_of(f"jacobian R^{n} -> R^{m}", samples)
    targets = [_verdict("R1", samples, names[0], names[1], agrees)]

    k = cfg["hessian_n"]
    scalar, vec = build_rosenbrock(k), build_rosenbrock_vec(k)
    p_scalar = sample_rosenbrock(rng(), {"n": k})
    p_vec = sample_rosenbrock_vec(rng(), {"n": k})
    hessian = jax_ref.prepare_hessian(vec, ("x",), {"x": (k,)})
    want = hessian(p_vec)["x"]["x"]
    order = [f"x{i}" for i in range(k)]
    got = dl.hessian(scalar, p_scalar, method="reverse")
    agrees_scalar = rho_max({"H": [[got[a][b] for b in order] for a in order]},
                            {"H": want}) <= AGREE
    agrees_vec = rho_max(dl.hessian(vec, p_vec, method="reverse")["x"], {"x": want}) <= AGREE
    names = (f"difflab reverse, {k} scalar variables (dl.hessian)",
             f"difflab reverse, x of shape ({k},) (dl.hessian)", "jax.jit(jax.hessian)")
    samples = interleave({names[0]: lambda: dl.hessian(scalar, p_scalar, method="reverse"),
                          names[1]: lambda: dl.hessian(vec, p_vec, method="reverse"),
                          names[2]: lambda: hessian(p_vec)}, cfg["repeats"], cfg["min_time"])
    rows += rows_of(f"rosenbrock hessian n = {k}", samples)
    targets += [_verdict("R2", samples, names[0], names[2], agrees_scalar),
                _verdict("R3", samples, names[1], names[2], agrees_vec)]
    info = dl.prepared("hessian", scalar, None, dict.fromkeys(p_scalar, ()), "reverse").info
    rows_per_sweep = dl.prepared("jacobian", f, None, {"x": (n,)}, "reverse").info[
        "rows_per_sweep"]
    return rows, targets, {
        "jacobian": f"tanh(A x + b), x of {n}, y of {m}: {m} cotangents, {rows_per_sweep} "
                    f"per backward sweep",
        "hessian": f"Rosenbrock n = {k}, scalar variables: {info.get('sweeps')} sweep(s) of "
                   f"{info.get('chunk')} directions on the level schedule "
                   f"({info.get('column_groups', k)} column groups of a sparse pattern)"}
