"""Benchmark cases on arrays and on per-call cost: targets 1 (MLP reverse, 10-node overhead),
3 (10,000 points in one call) and 5 (the tape's memory).

Each case checks that every contender computes the same gradient (rho <= 1e-9 against the
hand-written or the one-point result) before timing it, then times the contenders interleaved
(``timer.interleave``) and returns its rows and targets.
"""

from __future__ import annotations

import numpy as np

import difflab as dl

from ..lab.families import build_mlp_loss, sample_mlp_loss
from . import peers
from .targets import Row, Target, ratio_text, time_text, unmeasured
from .timer import interleave, iqr, median, peak_memory

AGREE = 1e-9


def rho_max(got: dict, want: dict) -> float:
    """max over components of |a - b| / max(1, |a| + |b|)."""
    worst = 0.0
    for name, w in want.items():
        a, b = np.asarray(got[name], dtype=float), np.asarray(w, dtype=float)
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)))))
    return worst


def rows_of(case: str, samples: dict, base: str | None = None, **extra) -> list[Row]:
    """Rows from interleaved samples; ``ratio_to_f`` against contender ``base`` if given."""
    ref = median(samples[base]) if base else None
    rows = []
    for name, s in samples.items():
        info = {k: v.get(name) if isinstance(v, dict) else v for k, v in extra.items()}
        if ref:
            info["ratio_to_f"] = median(s) / ref
        rows.append(Row(case, name, median(s), iqr(s), len(s),
                        {k: v for k, v in info.items() if v is not None}))
    return rows


def mlp_case(cfg: dict, available: dict) -> tuple[list[Row], list[Target], list[dict]]:
    """Target 1a (reverse vs the hand-written backward pass) and target 5 (memory)."""
    m = cfg["mlp"]
    params = dict(width=m["hidden"], depth=1, batch=m["batch"], inputs=m["inputs"],
                  outputs=m["outputs"], activation="tanh")
    f = build_mlp_loss(**params)
    point = sample_mlp_loss(np.random.default_rng(cfg["seed"]), {**params, "init": "xavier"})
    wrt = peers.MLP_PARAMS
    contenders = {
        "f: NumPy forward": lambda: peers.numpy_loss(point),
        "hand-written NumPy backward": lambda: peers.hand_gradient(point),
        "difflab reverse (dl.grad)": lambda: dl.grad(f, point, method="reverse", wrt=wrt),
        "difflab forward pass (dl.evaluate)": lambda: dl.evaluate(f, point),
    }
    if not available["autograd"].startswith("unavailable"):
        contenders["HIPS autograd"] = peers.autograd_gradient(point)
    if not available["jax"].startswith("unavailable"):
        contenders["jax.jit(jax.grad)"] = peers.jax_gradient(point, jit=True)
        contenders["JAX without jit"] = peers.jax_gradient(point, jit=False)
    want = peers.hand_gradient(point)
    agrees = {name: rho_max(fn(), want) <= AGREE for name, fn in contenders.items()
              if name not in ("f: NumPy forward", "difflab forward pass (dl.evaluate)")}
    samples = interleave(contenders, cfg["repeats"], cfg["min_time"])
    rows = rows_of("mlp", samples, base="f: NumPy forward", agrees=agrees)
    ratio = median(samples["difflab reverse (dl.grad)"]) / median(
        samples["hand-written NumPy backward"])
    targets = [Target("1a", ratio, ratio_text(ratio), ratio <= 1.25 and agrees[
        "difflab reverse (dl.grad)"], "" if agrees["difflab reverse (dl.grad)"] else
        "gradient disagrees with the hand-written one")]

    memory = {name: peak_memory(fn, cfg["memory_repeats"]) for name, fn in (
        ("difflab forward pass (dl.evaluate)", contenders["difflab forward pass (dl.evaluate)"]),
        ("difflab reverse (dl.grad)", contenders["difflab reverse (dl.grad)"]),
        ("f: NumPy forward", contenders["f: NumPy forward"]),
        ("hand-written NumPy backward", contenders["hand-written NumPy backward"]))}
    forward_peak = memory["difflab forward pass (dl.evaluate)"]
    mem_ratio = memory["difflab reverse (dl.grad)"] / forward_peak
    targets.append(Target("5", mem_ratio, f"{ratio_text(mem_ratio)} "
                          f"({memory['difflab reverse (dl.grad)'] / 2**20:.2f} / "
                          f"{forward_peak / 2**20:.2f} MiB)", mem_ratio <= 3.0))
    mem_rows = [{"contender": k, "peak_bytes": v, "ratio_to_forward": v / forward_peak}
                for k, v in memory.items()]
    return rows, targets, mem_rows


def ten_node_expression() -> dl.Expr:
    """sin(x) exp(y) + log(1 + x^2): 10 nodes after merging (x, y, 1, and 7 operations)."""
    x, y = dl.variables("x y")
    return dl.sin(x) * dl.exp(y) + dl.log(1.0 + x * x)


def overhead_case(cfg: dict) -> tuple[list[Row], list[Target]]:
    """Target 1b: one call of dl.grad on a 10-node scalar expression, all its overhead in."""
    f = ten_node_expression()
    nodes = dl.size(f).dag_nodes
    point = {"x": 0.3, "y": 0.7}
    prepared = dl.prepared("grad", f, None, {}, "reverse")
    contenders = {
        "f: dl.evaluate": lambda: dl.evaluate(f, point),
        "dl.grad reverse": lambda: dl.grad(f, point, method="reverse"),
        "dl.grad forward": lambda: dl.grad(f, point, method="forward"),
        "prepared reverse (names, shapes checked)": lambda: prepared(point),
    }
    samples = interleave(contenders, cfg["repeats"], cfg["min_time"])
    rows = rows_of("10-node scalar", samples, base="f: dl.evaluate", nodes=nodes)
    t = median(samples["dl.grad reverse"])
    note = "" if nodes == 10 else f"the expression has {nodes} nodes"
    return rows, [Target("1b", t, time_text(t), t < 50e-6 and nodes == 10, note)]


def batched_case(cfg: dict) -> tuple[list[Row], list[Target]]:
    """Target 3: the gradient at N points in one call (arrays bound to x and y; the gradient
    of sum(f) is each point's gradient, the points being independent) against N calls."""
    n = cfg["points"]
    f = ten_node_expression()
    total = dl.sum(f)
    rng = np.random.default_rng(cfg["seed"])
    xs, ys = rng.uniform(-1, 1, size=n), rng.uniform(-1, 1, size=n)
    pairs = [{"x": float(a), "y": float(b)} for a, b in zip(xs, ys, strict=True)]
    batch = dl.grad(total, {"x": xs, "y": ys}, method="reverse")
    singles = [dl.grad(f, p, method="reverse") for p in pairs[:200]]
    want = {k: np.array([g[k] for g in singles]) for k in ("x", "y")}
    agrees = rho_max({k: batch[k][:200] for k in want}, want) <= AGREE

    def loop():
        for p in pairs:
            dl.grad(f, p, method="reverse")

    contenders = {f"one call at {n} points": lambda: dl.grad(total, {"x": xs, "y": ys}),
                  f"{n} one-point calls": loop}
    samples = interleave(contenders, cfg["batch_repeats"], 0.0)
    rows = rows_of("batched points", samples, points=n, agrees=agrees)
    per_point = median(samples[f"one call at {n} points"]) / n
    per_call = median(samples[f"{n} one-point calls"]) / n
    for row in rows:
        row.extra["per_point"] = row.median / n
    gain = per_call / per_point
    return rows, [Target("3", gain, f"{gain:.0f}x ({time_text(per_point)} vs "
                         f"{time_text(per_call)} per point)", gain >= 100 and agrees,
                         "" if agrees else "batched gradient disagrees")]


def mlp_unavailable(why: str) -> list[Target]:
    return [unmeasured("1a", why), unmeasured("5", why)]
