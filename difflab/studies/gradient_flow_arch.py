"""Residual connections and batch normalisation: the networks and their measurements.

Four architectures of ``depth`` hidden layers of equal width, built in the IR (so difflab's
reverse mode differentiates them like any other expression):

    plain      h_k = act(z_k)                      z_k = h_{k-1} W_k + b_k
    residual   h_k = h_{k-1} + act(z_k)            (k >= 2; layer 1 projects the inputs)
    batchnorm  h_k = act(bn(z_k))                  bn(z) = (z - mean_B z) / sqrt(var_B z + eps)
    resbn      h_k = h_{k-1} + act(bn(z_k))

followed by a linear output layer f = h_depth W_{depth+1} + b_{depth+1} and the mean squared
error against teacher targets. ``bn`` normalises each unit over the batch axis (axis 0) with
the batch's own mean and (biased) variance, eps = 1e-5, before the activation; its learnable
scale and shift are left out: at initialisation they are 1 and 0, so they change neither the
forward pass nor the weight gradients measured here. (The bias b_k before ``bn`` is
subtracted out again by the batch mean: its gradient is zero.)

Per network: the Frobenius norm of every layer's weight gradient (one recorded tape, one
backward sweep) and the standard deviation of every hidden layer's output h_k, read from the
tape's slots. The lesion study (Veit, Wilber and Belongie, "Residual networks behave like
ensembles of relatively shallow networks", 2016) removes one layer k >= 2 at a time —
h_k = h_{k-1}, which for a residual block deletes its branch and keeps the skip — and
measures the relative change of the network's output ||f_lesioned - f|| / ||f||.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import expr as ir
from ..core.evaluate import evaluate
from ..core.expr import Expr
from ..lab import Run
from ..lab.families import ACTIVATIONS, INITS, sample_mlp_loss
from ..reverse import Tape

ARCHS = ("plain", "residual", "batchnorm", "resbn")
ARCH_LABELS = {"plain": "plain", "residual": "residual", "batchnorm": "batch norm",
               "resbn": "residual + batch norm"}
BN_EPS = 1e-5


def batch_norm(z: Expr, eps: float = BN_EPS) -> Expr:
    """(z - mean_B z) / sqrt(var_B z + eps), each column over the batch axis (axis 0).

    Args:
        z: pre-activations of shape (batch, width).
        eps: added to the variance (1e-5, as in PyTorch's BatchNorm1d).
    Returns:
        the normalised expression, same shape as z.
    """
    centred = z - ir.mean(z, axis=0, keepdims=True)
    var = ir.mean(centred * centred, axis=0, keepdims=True)   # biased, as in training mode
    return centred / ir.sqrt(var + eps)


def _check(arch: str, activation: str, depth: int, lesion: Sequence[int]) -> None:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    bad = [k for k in lesion if not isinstance(k, int) or not 2 <= k <= depth]
    if bad:
        raise ValueError(f"lesion: layer {bad[0]!r} is not a hidden layer 2..{depth} "
                         f"(layer 1 changes the width and cannot be removed)")


def build_network(arch: str, depth: int, activation: str,
                  lesion: Sequence[int] = ()) -> tuple[Expr, Expr, list[Expr]]:
    """The network's output, its loss and its hidden layers, as IR expressions.

    Variables X (batch, inputs), Y (batch, outputs), W_k, b_k for k = 1..depth+1 (the
    shapes come from the point, as ``sample_mlp_loss`` draws it).

    Args:
        arch: one of ARCHS.
        depth: hidden layers (>= 1).
        activation: "sigmoid", "tanh" or "relu".
        lesion: hidden layers k >= 2 replaced by the identity, h_k = h_{k-1} (their
            weights then do not occur in the expression).
    Returns:
        (f, loss, hidden): the output f, the loss mean((f - Y)^2) and [h_1, ..., h_depth].
    """
    _check(arch, activation, depth, lesion)
    act, removed = ACTIVATIONS[activation], set(lesion)
    residual, normalise = arch in ("residual", "resbn"), arch in ("batchnorm", "resbn")
    h, hidden = ir.variable("X"), []
    for k in range(1, depth + 1):
        if k in removed:
            hidden.append(h)
            continue
        z = h @ ir.variable(f"W{k}") + ir.variable(f"b{k}")
        branch = act(batch_norm(z) if normalise else z)
        h = h + branch if residual and k >= 2 else branch
        hidden.append(h)
    out = depth + 1
    f = h @ ir.variable(f"W{out}") + ir.variable(f"b{out}")
    error = f - ir.variable("Y")
    return f, ir.mean(error * error), hidden


def sample_point(params: dict, seed: int) -> dict:
    """Weights by ``params["init"]`` (naive N(0, 1), Xavier, He), zero biases, X ~ N(0, 1)
    and teacher targets: the gradient_flow study's ``sample_mlp_loss`` point."""
    if params["init"] not in INITS:
        raise ValueError(f"unknown init {params['init']!r}; known: {', '.join(INITS)}")
    return sample_mlp_loss(np.random.default_rng(seed), params)


def measure_arch(params: dict, seed: int) -> dict:
    """Per-layer weight-gradient norms and activation spreads of one network, by reverse mode.

    Args:
        params: arch, depth, activation, init, width, batch, inputs, outputs.
        seed: draws the weights, the data and the teacher.
    Returns:
        {"w_norms": ||dE/dW_k|| for k = 1..depth+1, "act_std": std of h_k for k = 1..depth
        (over the batch and the units), "loss": E}.
    """
    _, loss, hidden = build_network(params["arch"], params["depth"], params["activation"])
    point = sample_point(params, seed)
    layers = params["depth"] + 1
    tape = Tape.record(loss, point, wrt=[f"W{k}" for k in range(1, layers + 1)])
    grads = tape.backward()
    slot = {node.key: i for i, node in enumerate(tape.program.plan.nodes)}
    return {"w_norms": [float(np.linalg.norm(grads[f"W{k}"])) for k in range(1, layers + 1)],
            "act_std": [float(np.std(tape.values[slot[h.key]])) for h in hidden],
            "loss": float(tape.value)}


def relative_change(f: np.ndarray, f_lesioned: np.ndarray) -> float:
    """||c(f_lesioned) - c(f)|| / ||c(f)||, where c(f) = f - mean_B f centres each output over
    the batch (Frobenius norms): 0 unchanged, ~1.4 an unrelated output of the same spread;
    nan when the output no longer depends on the input (its spread over the batch is below
    1e-12 of its size) or overflowed.

    Centring keeps what tells the inputs apart: a deep plain network maps every input to
    nearly the same output, and without it that shared offset would hide how much a lesion
    changes the function (a shift alone is undone by the output bias)."""
    centre = lambda a: a - np.mean(a, axis=0, keepdims=True)  # noqa: E731
    with np.errstate(all="ignore"):
        spread = np.linalg.norm(centre(f))
        if not spread > 1e-12 * np.linalg.norm(f):  # the output no longer tells inputs apart
            return float("nan")
        return float(np.linalg.norm(centre(f_lesioned) - centre(f)) / spread)


def lesion_study(params: dict, seed: int, counts: Sequence[int] = ()) -> dict:
    """Remove hidden layers and measure how much the network's output changes.

    Args:
        params: as for ``measure_arch`` (depth >= 2).
        seed: the network and its data; also picks the layers removed together.
        counts: numbers n of layers removed at once (n distinct layers drawn at random from
            2..depth, one draw per n), Veit et al.'s smooth-degradation test.
    Returns:
        {"lesion_single": relative change for removing layer k alone, k = 2..depth,
         "lesion_multi": relative change for removing n layers, one per n in ``counts``}.
    """
    arch, depth, activation = params["arch"], params["depth"], params["activation"]
    point = sample_point(params, seed)

    def output(removed: Sequence[int]) -> np.ndarray:
        f_k = build_network(arch, depth, activation, lesion=removed)[0]
        with np.errstate(all="ignore"):  # the output's own variables (no Y, no removed W_k)
            return np.asarray(evaluate(f_k, {n: point[n] for n in f_k.variables}))

    f = output(())
    change = lambda removed: relative_change(f, output(removed))  # noqa: E731

    rng = np.random.default_rng([seed, depth, 17])
    candidates = np.arange(2, depth + 1)
    multi = [change([int(k) for k in rng.choice(candidates, size=min(n, len(candidates)),
                                                 replace=False)]) for n in counts]
    return {"lesion_single": [change([k]) for k in range(2, depth + 1)], "lesion_multi": multi}


def run_cells(config: dict, run: Run, experiment: str) -> None:
    """Append the architecture rows and the lesion rows not yet in ``run``.

    Config keys (all optional: a config without ``archs`` runs none of these): ``archs``,
    ``arch_depths``, ``arch_seeds`` (the activations, inits and sizes are the study's), and
    ``lesion_depth``, ``lesion_cases`` ([activation, init] pairs), ``lesion_counts``.
    """
    sizes = {k: config[k] for k in ("width", "batch", "inputs", "outputs")}
    seeds = range(config["seed"], config["seed"] + config.get("arch_seeds", 1))
    cells = [("arch", a, act, init, d) for a in config.get("archs", ())
             for act in config["activations"] for init in config["inits"]
             for d in config.get("arch_depths", ())]
    cells += [("lesion", a, act, init, config["lesion_depth"]) for a in config.get("archs", ())
              for act, init in config.get("lesion_cases", ())]
    for kind, arch, activation, init, depth in cells:
        params = {**sizes, "arch": arch, "depth": depth, "activation": activation,
                  "init": init}
        for seed in seeds:
            cell_id = f"{kind}:{arch}:{activation}:{init}:{depth}:{seed}"
            if cell_id in run.done:
                continue
            measured = (measure_arch(params, seed) if kind == "arch" else
                        lesion_study(params, seed, config.get("lesion_counts", ())))
            run.append({"cell_id": cell_id, "experiment": experiment, "method": "reverse",
                        "kind": kind, "arch": arch, "activation": activation, "init": init,
                        "depth": depth, "seed": seed, "outcome": "ok", **measured})
