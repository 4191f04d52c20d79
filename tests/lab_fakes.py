"""Fake problems and fake methods for the lab's fault tests (imported by the worker too).

Plugged in through ``Settings(problems="lab_fakes:get_problem", prepare="lab_fakes:prepared")``.
The one problem, ``square``, is f(x) = sum(x * x) with x of shape (n,): gradient 2x, Hessian 2I.
Methods ``fake:<behaviour>`` misbehave on purpose; any other name goes to ``difflab.api``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

import difflab as dl
from difflab.protocol import Prepared


@dataclass
class SquareInstance:
    n: int
    seed: int

    def __post_init__(self):
        x = dl.variable("x")
        self.expr = dl.sum(x * x)
        self.point = {"x": np.random.default_rng(self.seed).uniform(-2, 2, size=self.n)}
        self.wrt = None
        self.truth_source = "hand"

    def truth(self, kind: str):
        x = self.point["x"]
        if kind == "grad":
            return {"x": 2 * x}
        if kind == "jacobian":
            return {"x": 2 * x}        # the output is a scalar: shape () + (n,)
        return {"x": {"x": 2 * np.eye(self.n)}}


class Square:
    def instance(self, params: dict, seed: int) -> SquareInstance:
        return SquareInstance(int(params.get("n", 3)), seed)


class NoTruth(Square):
    def instance(self, params: dict, seed: int) -> SquareInstance:
        inst = super().instance(params, seed)
        inst.truth = lambda kind: None
        return inst


def get_problem(name: str):
    if name == "square":
        return Square()
    if name == "no_truth":
        return NoTruth()
    raise KeyError(f"unknown fake problem {name!r}")


def _exact(point):
    return {"x": 2 * point["x"]}


def _hog_memory():
    hoard = []
    for _ in range(200):              # up to ~10 GiB, 50 MiB at a time, touched
        hoard.append(np.ones(50 * 2**20 // 8))
        time.sleep(0.02)
    time.sleep(3600)


# A child that holds ~400 MiB (written, so resident) and waits; its pid goes to the file named
# by LAB_FAKES_PIDFILE so a test can see it killed.
CHILD_HOG = "import time; hoard = b'x' * (400 << 20); time.sleep(60)"


def _child_memory():
    child = subprocess.Popen([sys.executable, "-c", CHILD_HOG])
    pidfile = os.environ.get("LAB_FAKES_PIDFILE")
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(str(child.pid))
    child.wait()


def prepared(kind, expr, wrt, shapes, method, **options) -> Prepared:
    """``difflab.api.prepared`` with fake methods for the behaviours under test."""
    if not method.startswith("fake:"):
        return dl.prepared(kind, expr, wrt, shapes, method, **options)
    behaviour = method.partition(":")[2]
    n = shapes["x"][0]
    if behaviour == "exact":
        return Prepared(_exact, {"fake": True, "array": np.arange(2)})
    if behaviour == "slow":
        time.sleep(0.1)
        return Prepared(_exact)
    if behaviour == "sleepy":             # a second's preparation: time to kill its worker
        time.sleep(1.0)
        return Prepared(_exact)
    if behaviour == "raise":
        return Prepared(lambda p: 1 / 0)
    if behaviour == "nan":
        return Prepared(lambda p: {"x": np.full(n, np.nan)})
    if behaviour == "wrong":
        return Prepared(lambda p: {"x": 3 * p["x"]})
    if behaviour == "shape":
        return Prepared(lambda p: {"x": np.zeros(n + 1)})
    if behaviour == "unsupported":
        raise ValueError(f"expression too large for the fake method ({n} inputs)")
    if behaviour == "notimpl":
        raise NotImplementedError("fake: hessians are not implemented")
    if behaviour == "hang_big":           # fine below n = 4, hangs from there on
        if n >= 4:
            time.sleep(3600)
        return Prepared(_exact)
    if behaviour == "memory":
        _hog_memory()
    if behaviour == "child_memory":
        _child_memory()
    if behaviour == "exit":
        os._exit(3)
    if behaviour == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(10)
    raise ValueError(f"unknown fake behaviour {behaviour!r}")
