"""rho, the tests' agreement measure: max |a - b| / max(1, |a| + |b|) over the entries of two
arrays of the same shape (a shape mismatch fails, it is never broadcast away)."""

import numpy as np


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)), initial=0.0))
