"""Problems whose reference derivative comes from a hand-written function (an experiment's
independent check, or the only affordable one): ``HandTruth`` wraps a problem, and its
instances answer ``truth(kind)`` by that function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .problems import Instance, Problem


@dataclass(eq=False)
class HandTruthInstance:
    """An instance whose reference derivative of one kind comes from a hand-written function
    (an experiment's independent check); every other attribute is the wrapped instance's."""

    inner: Instance
    kind: str
    derivative: Callable[[Instance], dict]
    truth_source: str = "hand"

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def truth(self, kind: str | None = None):
        if kind in (None, self.kind):
            return self.derivative(self.inner)
        return self.inner.truth(kind)


@dataclass(eq=False)
class HandTruth:
    """A problem whose instances take their ``kind`` truth from ``derivative(instance)``.

    Experiments plug it in through ``Settings.problems`` when a hand-written derivative is
    the more independent (or the only affordable) reference.
    """

    inner: Problem
    kind: str
    derivative: Callable[[Instance], dict]

    def resolve(self, params: dict | None = None) -> dict:
        """The wrapped problem's parameters (``Problem.resolve``: unknown names refused)."""
        return self.inner.resolve(params)

    def instance(self, params: dict | None = None, seed: int = 0) -> HandTruthInstance:
        return HandTruthInstance(self.inner.instance(params, seed), self.kind, self.derivative)
