"""How does a finite difference's error depend on its step h? Truncation against round-off.

Forward, central, 4th-order central, Richardson and the complex step on Squire–Trapp at
x = 1.5 and the logistic map l_4 at x = 0.2, for h from 1e-1 to 1e-16 (the complex step on
down to 1e-200), against the 50-digit truth; forward and reverse mode, the adaptive scheme
that chooses its own steps (``numeric``, the default), and numdifftools and
scipy.differentiate with their own adaptive steps, as flat lines.
"""

CONFIG = {
    "functions": ["squire_trapp", "logistic4"],   # scalar-suite problems of one variable x
    "schemes": ["forward", "central", "central4", "richardson", "complex"],
    "ad": ["forward", "reverse"],                 # drawn as flat lines
    "adaptive": ["numeric"],                      # the default: no step to choose (flat line)
    "methods": ["numdifftools", "scipy"],         # their own steps: flat lines too (peers)
    "decades": [1, 16],                           # h from 1e-1 to 1e-16 ...
    "per_decade": 6,                              # ... at 6 steps per decade
    "complex_last": 200,                          # the complex step on down to 1e-200 ...
    "complex_every": 4,                           # ... one step every 4 decades
}
QUICK = {"per_decade": 1, "complex_every": 46}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
