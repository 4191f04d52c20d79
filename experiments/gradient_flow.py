"""Vanishing and exploding gradients: how does the gradient norm of each layer's weights change
with depth, for sigmoid, tanh and relu with naive N(0, 1), Xavier and He initialisation?

MLPs of width 32 (32 inputs, one linear output, batch 64, teacher targets) at depths 2 to 30;
the gradient of the mean squared error by difflab's reverse mode, one tape per network, five
seeds (geometric mean).
"""

CONFIG = {
    "seed": 0,
    "activations": ["sigmoid", "tanh", "relu"],
    "inits": ["naive", "xavier", "he"],
    "depths": [2, 5, 10, 20, 30],
    "width": 32, "batch": 64, "inputs": 32, "outputs": 1,
    "seeds": 5,
}

QUICK = {"depths": [2, 5, 20], "seeds": 1, "batch": 16}

from difflab.lab.experiments import main  # noqa: E402

if __name__ == "__main__":
    main(__file__)
