"""How fast does a symbolic derivative grow with depth, and how does the tape grow?

The logistic map l_{n+1} = 4 l_n (1 - l_n) (Baydin et al. 2018, table 1: l_1 .. l_4, extended
here to n = 28) and nested compositions f(f(...f(x))) for sin, tanh, exp(-u), sigmoid and the
spelled-out 1/(1 + exp(-u)): sizes of the symbolic derivative as a tree, after CSE and as a
DAG, the reverse-mode tape length beside them, and the time to prepare and to evaluate.
"""

CONFIG = {
    "logistic_n": list(range(1, 17)) + [20, 24, 28],
    "nested_bases": ["sin", "tanh", "exp", "sigmoid", "logistic"],
    "nested_depths": [1, 2, 4, 8, 16, 32, 64],   # logistic at 64 is beyond SymPy's depth
    "naive_max_seconds": 2.0,  # plain sympy.diff runs until one call takes longer than this
    "simplify_max_n": 6,       # expand the derivative (Baydin's simplified column) up to n
                               # (expanding grows ~6x per step: 1.2 s at n = 6, 38 s at 8)
    "text_n": 4,               # print l_n, d l_n/dx and the simplified form for n <= this
    "table_n": [1, 2, 3, 4, 10, 11, 12, 13],   # rows of the table (and the largest n)
    "repeats": 6,              # passes timing the evaluations: medians of 6 (interval 97%)
    "min_time": 0.002,         # timing of one evaluation: least time of a batch, batches,
    "samples": 3,              # seconds per measurement
    "max_time": 0.05,
}
QUICK = {
    "logistic_n": [1, 2, 3, 4, 6, 8, 10],
    "nested_bases": ["sin", "logistic"],
    "nested_depths": [1, 4, 16],
    "naive_max_seconds": 0.2,
    "simplify_max_n": 4,
    "table_n": [1, 2, 3, 4],
    "repeats": 3,
    "samples": 2,
    "max_time": 0.02,
}

from difflab.lab.experiments import main  # noqa: E402 - the config block comes first

if __name__ == "__main__":
    main(__file__)
