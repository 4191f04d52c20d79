"""Vanishing and exploding gradients: how does the gradient norm of each layer's weights change
with depth, for sigmoid, tanh and relu with naive N(0, 1), Xavier and He initialisation — and
what do residual connections and batch normalisation change?

MLPs of width 32 (32 inputs, one linear output, batch 64, teacher targets) at depths 2 to 30;
the gradient of the mean squared error by difflab's reverse mode, one tape per network, five
seeds (geometric mean). Then the four architectures (plain, residual, batch norm over the
batch axis, residual + batch norm) at depths up to 100 (two seeds), and the lesion study:
every layer of a depth-30 network removed in turn, and n random layers at once.
"""

CONFIG = {
    "seed": 0,
    "activations": ["sigmoid", "tanh", "relu"],
    "inits": ["naive", "xavier", "he"],
    "depths": [2, 5, 10, 20, 30],
    "width": 32, "batch": 64, "inputs": 32, "outputs": 1,
    "seeds": 5,
    "archs": ["plain", "residual", "batchnorm", "resbn"],
    "arch_depths": [10, 30, 100], "arch_seeds": 2,
    "lesion_depth": 30, "lesion_counts": [1, 2, 4, 8, 16],
    "lesion_cases": [["sigmoid", "xavier"], ["tanh", "xavier"], ["relu", "he"]],
}

QUICK = {"depths": [2, 5, 20], "seeds": 1, "batch": 16, "arch_depths": [3, 12],
         "arch_seeds": 1, "lesion_depth": 6, "lesion_counts": [1, 2, 4]}

from difflab.lab.experiments import main  # noqa: E402

if __name__ == "__main__":
    main(__file__)
