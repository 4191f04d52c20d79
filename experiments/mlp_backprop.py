"""Backpropagation through an MLP: does every method reproduce the hand-written backward pass,
how does its cost grow with width and depth, and does each train a network identically?

Cost sweep: mlp_loss (tanh, batch 16, 4 inputs, 2 outputs) over widths at depth 2 and depths at
width 16, every method, checked against a NumPy backward pass written by hand, each cell timed
in 6 repeats; a cell over the time limit stops that method for larger sizes. Training: y = sin x
on 24 seeded points, a 1-8-1 tanh network, 100 steps of SGD, momentum and Adam with each
method's gradients; the cost of a training step's gradient is timed in one more cell per
method (the training network at its initial point), repeated with the sweep.
"""

CONFIG = {
    "seed": 0,
    "methods": ["reverse", "jax", "forward", "numeric", "symbolic"],
    "batch": 16, "inputs": 4, "outputs": 2, "activation": "tanh",
    "widths": [1, 2, 4, 8, 16, 32, 64, 128], "sweep_depth": 2,
    "depths": [1, 2, 4, 8, 16, 32], "sweep_width": 16,
    # Caps: the widths beyond cost the report's budget, not a verdict (adaptive finite
    # differences take ~1 s per gradient at width 16; SymPy ~30 s to prepare width 8).
    "max_width": {"numeric": 8, "symbolic": 4, "forward": 64},
    "depth_methods": ["reverse", "jax", "forward"],
    "reference_width": 4,  # the summary's size: every method of the sweep reaches it
    # Per cell, incl. preparing: generous beside the 5 s SymPy takes for width 4 on a loaded
    # machine (a fresh worker has imported SymPy before its first cell).
    "time_limit": 20.0, "isolate": True,
    # one repeat: the fastest of 9 batches of >= 0.5 ms (short: a loaded machine preempts
    # long ones), 0.1 s at most
    "repeats": 6, "min_time": 0.0005, "samples": 9, "max_time": 0.1,
    "train_methods": ["reverse", "jax", "forward", "symbolic", "numeric"],
    "train_width": 8, "train_depth": 1, "train_batch": 24, "train_steps": 100,
    "optimizers": {"sgd": 0.1, "momentum": 0.02, "adam": 0.02},
}

QUICK = {
    "methods": ["reverse", "jax", "forward", "numeric", "symbolic"],
    "widths": [1, 2], "depths": [1], "sweep_width": 1, "reference_width": 2,
    "depth_methods": ["reverse", "jax", "forward", "numeric"],
    "batch": 4, "time_limit": 5.0, "min_time": 0.001, "samples": 2, "max_time": 0.02,
    "repeats": 3,
    "isolate": False,
    "train_methods": ["reverse", "jax", "forward", "numeric"],
    "train_width": 4, "train_batch": 8, "train_steps": 30,
}

from difflab.lab.experiments import main  # noqa: E402

if __name__ == "__main__":
    main(__file__)
