"""The MLP loss mean((tanh(X @ W + b) @ V + c - Y)**2) and its backward pass written by hand:
the independent reference several test files check the engines against."""

import numpy as np

import difflab as dl


def mlp_problem(seed=0, batch=4, n_in=3, hidden=5, n_out=2):
    """The loss as an expression, and a seeded point for it."""
    rng = np.random.default_rng(seed)
    point = {"X": rng.normal(size=(batch, n_in)), "W": rng.normal(size=(n_in, hidden)),
             "b": rng.normal(size=hidden), "V": rng.normal(size=(hidden, n_out)),
             "c": rng.normal(size=n_out), "Y": rng.normal(size=(batch, n_out))}
    X, W, b, V, c, Y = dl.variables("X W b V c Y")
    return dl.mean((dl.tanh(X @ W + b) @ V + c - Y) ** 2.0), point


def mlp_backward(X, W, b, V, c, Y):
    """Backpropagation by hand: the gradient of the loss with respect to every array."""
    h = np.tanh(X @ W + b)
    r = h @ V + c - Y
    r_bar = 2.0 * r / r.size                    # d mean(r**2) / dr
    z_bar = (r_bar @ V.T) * (1.0 - h**2)        # tanh' = 1 - tanh^2
    return dict(X=z_bar @ W.T, W=X.T @ z_bar, b=z_bar.sum(0), V=h.T @ r_bar, c=r_bar.sum(0),
                Y=-r_bar)
