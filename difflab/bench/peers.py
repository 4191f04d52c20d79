"""The engines difflab is measured against, each written for the same work as ours.

* NumPy by hand: the MLP loss and its textbook backward pass (the yardstick of target 1).
* HIPS autograd (``autograd``), JAX with and without ``jax.jit``: the same MLP loss.
* micrograd: Karpathy's scalar engine, on its own MLP (16-32-32-1 over 8 samples, the
  max-margin loss of its demo notebook); JAX without jit on the same scalar program.
* numdifftools: adaptive finite differences with default options, on the scalar suite
  (``cases_numeric``).

Peers come from the optional ``bench`` extra; one that is not installed is reported as
unavailable (``availability``) and its rows are skipped, never an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import numpy as np

import difflab as dl

PEERS = {"micrograd": "micrograd.engine", "autograd": "autograd", "jax": "jax",
         "numdifftools": "numdifftools"}


def availability() -> dict[str, str]:
    """Peer -> its version, or ``unavailable: <reason>``."""
    found = {}
    for name, module in PEERS.items():
        try:
            importlib.import_module(module)
            found[name] = metadata.version(name)
        except Exception as err:  # not installed, or broken on import
            found[name] = f"unavailable: {type(err).__name__}: {err}".splitlines()[0]
    return found


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


# ---- the MLP loss with arrays: mean((tanh(X W1 + b1) W2 + b2 - Y)^2) ----------------------
MLP_PARAMS = ("W1", "b1", "W2", "b2")


def numpy_loss(p: dict) -> float:
    """The loss in NumPy: the forward pass f."""
    r = np.tanh(p["X"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - p["Y"]
    return float(np.mean(r * r))


def hand_gradient(p: dict) -> dict:
    """The loss's gradient by the textbook backward pass, written by hand in NumPy."""
    h = np.tanh(p["X"] @ p["W1"] + p["b1"])
    r = h @ p["W2"] + p["b2"] - p["Y"]
    delta = (2.0 / r.size) * r                        # d loss / d output
    delta_h = (delta @ p["W2"].T) * (1.0 - h * h)     # back through W2 and tanh
    return {"W1": p["X"].T @ delta_h, "b1": delta_h.sum(axis=0),
            "W2": h.T @ delta, "b2": delta.sum(axis=0)}


def autograd_gradient(p: dict) -> Callable[[], dict]:
    """HIPS autograd's gradient of the same loss, as a call."""
    import autograd
    import autograd.numpy as anp

    def loss(W1, b1, W2, b2):
        r = anp.tanh(p["X"] @ W1 + b1) @ W2 + b2 - p["Y"]
        return anp.mean(r * r)

    grad = autograd.grad(loss, argnum=(0, 1, 2, 3))
    return lambda: dict(zip(MLP_PARAMS, grad(*(p[k] for k in MLP_PARAMS)), strict=True))


def jax_gradient(p: dict, jit: bool) -> Callable[[], dict]:
    """JAX's gradient of the same loss (``jax.jit(jax.grad)`` or eager ``jax.grad``)."""
    jax = _jax()
    jnp = jax.numpy
    X, Y = jnp.asarray(p["X"]), jnp.asarray(p["Y"])
    args = tuple(jnp.asarray(p[k]) for k in MLP_PARAMS)

    def loss(W1, b1, W2, b2):
        r = jnp.tanh(X @ W1 + b1) @ W2 + b2 - Y
        return jnp.mean(r * r)

    grad = jax.grad(loss, argnums=(0, 1, 2, 3))
    grad = jax.jit(grad) if jit else grad

    def call():
        g = jax.block_until_ready(grad(*args))
        return {k: np.asarray(v) for k, v in zip(MLP_PARAMS, g, strict=True)}
    return call


# ---- micrograd's MLP, built from scalars -----------------------------------------------
@dataclass
class ScalarMLP:
    """micrograd's demo workload: inputs, labels (+1/-1) and the weights in micrograd's
    parameter order (layer by layer, neuron by neuron: its weights, then its bias)."""

    sizes: tuple[int, ...]
    X: list[list[float]]
    y: list[float]
    weights: list[float]


def scalar_mlp(sizes=(16, 32, 32, 1), samples: int = 8, seed: int = 0) -> ScalarMLP:
    """The workload: X ~ N(0, 1), alternating labels, weights uniform in [-1, 1) (as
    micrograd's Neuron draws them) and zero biases."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, sizes[0])).tolist()
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        for _ in range(fan_out):
            weights.extend(rng.uniform(-1.0, 1.0, size=fan_in).tolist())
            weights.append(0.0)
    return ScalarMLP(tuple(sizes), X, [1.0 if i % 2 else -1.0 for i in range(samples)], weights)


def _layers(sizes, params: list) -> list:
    """params in parameter order -> per layer, per neuron: (weights, bias)."""
    layers, k = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layer = []
        for _ in range(fan_out):
            layer.append((params[k:k + fan_in], params[k + fan_in]))
            k += fan_in + 1
        layers.append(layer)
    return layers


def scalar_loss(work: ScalarMLP, params: list, relu: Callable):
    """The max-margin loss of micrograd's demo, spelled as micrograd's MLP spells it, for any
    scalar type with + and * (micrograd Values, difflab nodes, JAX scalars)."""
    layers = _layers(work.sizes, params)
    scores = []
    for x in work.X:
        h = x
        for depth, layer in enumerate(layers):
            last = depth == len(layers) - 1
            out = [sum((wi * xi for wi, xi in zip(w, h, strict=True)), b) for w, b in layer]
            h = out if last else [relu(a) for a in out]
        scores.append(h[0])
    losses = [relu(1 + -yi * si) for yi, si in zip(work.y, scores, strict=True)]
    return sum(losses) * (1.0 / len(losses))


def micrograd_step(work: ScalarMLP) -> Callable[[], list]:
    """micrograd: build the loss from its Values (the model exists already) and backward."""
    from micrograd.engine import Value

    params = [Value(w) for w in work.weights]

    def step():
        for p in params:
            p.grad = 0.0
        loss = scalar_loss(work, params, Value.relu)
        loss.backward()
        return [p.grad for p in params]
    return step


def micrograd_nodes(work: ScalarMLP) -> int:
    """The number of micrograd Values in one loss graph (leaves and constants included)."""
    from micrograd.engine import Value

    stack, seen = [scalar_loss(work, [Value(w) for w in work.weights], Value.relu)], set()
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return len(seen)


def difflab_step(work: ScalarMLP, method: str = "reverse", cold: bool = False
                 ) -> Callable[[], list]:
    """difflab as a user writes it: the loss built afresh from dl.variables (made once, as
    micrograd's model) with + in Python loops, then ``dl.grad``. A rebuilt graph of the same
    structure finds its prepared derivative by fingerprint, as every training step does.
    ``cold``: forget every prepared derivative and plan first (the first step's work)."""
    from .. import api
    from ..core.plan import forget_plans

    names = [f"p{k}" for k in range(len(work.weights))]
    params = dl.variables(names)
    point = dict(zip(names, work.weights, strict=True))

    def step():
        if cold:
            api.clear_cache()
            forget_plans()
        loss = scalar_loss(work, params, dl.relu)
        grad = dl.grad(loss, point, method=method)
        return [grad[n] for n in names]
    return step


def jax_scalar_step(work: ScalarMLP) -> Callable[[], list]:
    """JAX without jit: jax.grad of the same scalar program on JAX scalars, op by op."""
    jax = _jax()
    jnp = jax.numpy
    params = [jnp.asarray(w) for w in work.weights]
    grad = jax.grad(lambda ps: scalar_loss(work, ps, lambda a: jnp.maximum(a, 0.0)))

    def step():
        return [float(g) for g in jax.block_until_ready(grad(params))]
    return step


def micrograd_chain_limit(limits=(100, 200, 400, 600, 800, 1000, 2000, 5000)) -> int | None:
    """The longest chain y = x * 1.0001 * ... that micrograd differentiates with Python's
    default recursion limit (its topological sort recurses), among ``limits``."""
    from micrograd.engine import Value

    deepest = None
    for n in limits:
        y = x = Value(1.0)
        for _ in range(n):
            y = y * 1.0001
        try:
            y.backward()
        except RecursionError:
            break
        deepest = n if x.grad else deepest
    return deepest
