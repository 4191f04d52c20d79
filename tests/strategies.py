"""Hypothesis strategies shared by the tests: random expressions and points."""

from __future__ import annotations

from hypothesis import strategies as st

from difflab.random_expr import generate


@st.composite
def expressions(draw, names=("x", "y", "z"), max_size=8, domain_safe=False):
    """A random scalar expression drawn through difflab's generator (so it shrinks)."""
    size = draw(st.integers(1, max_size), label="size")

    def choose(what, options):
        return draw(st.sampled_from(list(options)), label=what)

    return generate(choose, names, size, domain_safe)


def points(names=("x", "y", "z"), low=-2.0, high=2.0):
    """A point mapping each name to a float in [low, high]."""
    value = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries({n: value for n in names})
