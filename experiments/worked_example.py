"""The worked example: on the classic 2-2-2 sigmoid network with squared-error loss
(i1 = 0.05, i2 = 0.10, w1..w8 = 0.15 ... 0.55, b1 = 0.35, b2 = 0.60, targets 0.01, 0.99), do the
textbook's hand-computed deltas and weight gradients match every method, and what does the
reverse-mode tape do?
"""

CONFIG = {
    "seed": 0,
    "methods": ["reverse", "forward", "jax", "symbolic", "numeric", "numeric:complex"],
}

QUICK = {}

from difflab.lab.experiments import main  # noqa: E402

if __name__ == "__main__":
    main(__file__)
