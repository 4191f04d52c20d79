"""The MLP of ``mlp_loss`` written out by hand, in NumPy: the reference the mlp_backprop study
checks every method against.

``hand_backprop`` is the textbook forward and backward pass, layer by layer (delta_L = dE/dout,
dW_k = h_{k-1}^T delta_k, db_k = sum_batch delta_k, delta_{k-1} = (delta_k W_k^T) *
act'(z_{k-1})), with each activation's derivative written from its output; ``n_parameters``
counts the network's scalar weights and biases. Nothing here uses a differentiator.
"""

from __future__ import annotations

import numpy as np

from ..lab.families import mlp_layers


# ---- the hand-written backward pass -----------------------------------------------------
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow


# activation -> (act(z), act'(z) written from a = act(z))
ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0.0).astype(float)),  # 0 at 0
}


def hand_backprop(point: dict, depth: int, activation: str) -> tuple[float, dict]:
    """Loss and gradient of ``mlp_loss`` by the textbook backward pass (NumPy, by hand).

    Args:
        point: X (B, I), Y (B, O), W1, b1, ..., W_L, b_L (L = depth + 1 affine layers).
        depth: the number of hidden layers.
        activation: "tanh", "sigmoid" or "relu" (the output layer is linear).
    Returns:
        (mean squared error, {"W1": dE/dW1, "b1": dE/db1, ...}).
    """
    act, act_prime = ACTIVATIONS[activation]
    layers = mlp_layers(depth)
    h = [np.asarray(point["X"], dtype=float)]          # h[k] = output of layer k, h[0] = X
    for k in range(1, layers + 1):
        z = h[-1] @ point[f"W{k}"] + point[f"b{k}"]
        h.append(act(z) if k < layers else z)
    r = h[-1] - point["Y"]
    loss = float(np.mean(r * r))
    delta = 2.0 * r / r.size                            # dE/dz_L for E = mean(r^2)
    grads = {}
    for k in range(layers, 0, -1):
        grads[f"W{k}"] = h[k - 1].T @ delta             # z_k = h_{k-1} W_k + b_k
        grads[f"b{k}"] = delta.sum(axis=0)              # b_k broadcasts over the batch
        if k > 1:
            delta = (delta @ point[f"W{k}"].T) * act_prime(h[k - 1])
    return loss, grads


def n_parameters(width: int, depth: int, inputs: int, outputs: int) -> int:
    """Scalar weights and biases of the MLP."""
    sizes = [inputs] + [width] * depth + [outputs]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
