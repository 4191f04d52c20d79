"""Hypothesis strategies shared by the tests: random expressions and points."""

from __future__ import annotations

from hypothesis import strategies as st

from difflab.fuzz.generate import ARRAY_SHAPES, generate, generate_arrays


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


@st.composite
def array_expressions(draw, names=("x", "v", "M"), max_size=8, domain_safe=True):
    """(expression, its shape, every variable's shape): variables of shapes drawn from
    ``ARRAY_SHAPES``, combined by difflab's array generator (broadcasting, matmul, sum, mean,
    transpose); drawn choice by choice, so failures shrink."""
    shapes = {n: draw(st.sampled_from(ARRAY_SHAPES), label=f"shape of {n}") for n in names}
    size = draw(st.integers(1, max_size), label="size")

    def choose(what, options):
        return draw(st.sampled_from(list(options)), label=what)

    expr, shape = generate_arrays(choose, shapes, size, domain_safe)
    return expr, shape, shapes
