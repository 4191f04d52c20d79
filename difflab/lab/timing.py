"""Timing: warm up, find a batch size worth measuring, keep every sample.

A single call of a fast derivative (a microsecond) is below the clock's resolution and its
noise, so calls are grouped in batches. ``measure`` follows timeit's autorange and ADBench:

1. ``warmup`` calls, untimed for the statistics (the first one is reported as ``first``: it
   carries one-off costs such as JAX compiling on first use);
2. a batch of ``repeat`` calls with ``repeat`` = 1, 2, 4, ... doubling until one batch takes at
   least ``min_time`` (or ``repeat`` reaches ``max_repeats``); that batch is the first sample;
3. more batches of the same size until there are ``samples`` of them, or the sampling time so
   far passes ``max_time`` (a slow method gets fewer samples rather than a hung sweep).

Every sample is a time *per call* (batch time / repeat) and every sample is kept; ``Timing``
reports min, median and the interquartile range (NumPy's linear quantiles).

Thread counts: BLAS and XLA choose their thread pools when they load, so the pins must be in
the environment *before* the worker process imports NumPy or JAX. ``thread_env`` says what to
set, ``pinned_environ`` sets it around starting a worker, ``thread_settings`` records it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


@dataclass(frozen=True)
class Timing:
    """Seconds per call of each sample, with their statistics."""

    samples: tuple[float, ...]
    repeat: int                 # calls per sample (batch size)
    first: float = float("nan")  # seconds of the first warm-up call
    n_calls: int = field(default=0)  # calls in the samples: len(samples) * repeat

    def __post_init__(self):
        if not self.samples:
            raise ValueError("a Timing needs at least one sample")
        if not self.n_calls:
            object.__setattr__(self, "n_calls", len(self.samples) * self.repeat)

    @property
    def min(self) -> float:
        return float(np.min(self.samples))

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def iqr(self) -> float:
        """q75 - q25 of the samples: the spread, robust to a stray slow batch."""
        q25, q75 = np.percentile(self.samples, [25, 75])
        return float(q75 - q25)

    def to_dict(self) -> dict:
        """Plain JSON-ready fields: min, median, iqr, n_calls, repeat, first, samples."""
        return {"min": self.min, "median": self.median, "iqr": self.iqr,
                "n_calls": self.n_calls, "repeat": self.repeat, "first": self.first,
                "samples": list(self.samples)}


def measure(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter,
            min_time: float = 0.02, max_repeats: int = 1 << 20, warmup: int = 1,
            samples: int = 7, max_time: float = 1.0) -> Timing:
    """Time ``fn()`` (no arguments; it must finish its work, e.g. block on JAX results).

    Args:
        fn: the call to time.
        clock: seconds as a float (injectable: tests pass a fake clock).
        min_time: the least time a batch must take to count as a measurement.
        max_repeats: the batch size stops doubling here.
        warmup: untimed calls first (at least one is made to report ``first``).
        samples: the number of batches wanted.
        max_time: stop adding batches once the batches so far took this long (>= 1 kept).
    Returns:
        a ``Timing`` with every sample in seconds per call.
    """
    if min_time < 0 or samples < 1 or max_repeats < 1:
        raise ValueError(f"measure: need min_time >= 0, samples >= 1, max_repeats >= 1; got "
                         f"min_time={min_time}, samples={samples}, max_repeats={max_repeats}")
    first = float("nan")
    for i in range(max(warmup, 1)):
        t0 = clock()
        fn()
        if i == 0:
            first = clock() - t0

    def batch(repeat: int) -> float:
        t0 = clock()
        for _ in range(repeat):
            fn()
        return clock() - t0

    repeat = 1
    elapsed = batch(repeat)
    while elapsed < min_time and repeat < max_repeats:
        repeat = min(2 * repeat, max_repeats)
        elapsed = batch(repeat)
    kept = [elapsed / repeat]
    total = elapsed
    while len(kept) < samples and total < max_time:
        elapsed = batch(repeat)
        kept.append(elapsed / repeat)
        total += elapsed
    return Timing(samples=tuple(kept), repeat=repeat, first=first)


def thread_env(threads: int = 1) -> dict[str, str]:
    """Environment variables that pin BLAS/OpenMP pools and XLA's CPU runtime to ``threads``."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    env = {name: str(threads) for name in THREAD_VARS}
    # XLA: one intra-op thread and no multithreaded Eigen; keep any flags already given.
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags = (flags + " --xla_cpu_multi_thread_eigen=false"
                 " intra_op_parallelism_threads=1").strip()
    env["XLA_FLAGS"] = flags
    return env


@contextmanager
def pinned_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in os.environ for the block (a spawned worker inherits it), then restore."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def thread_settings(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The thread-related variables as set in ``environ`` (default: this process), to record."""
    environ = os.environ if environ is None else environ
    return {name: environ.get(name) for name in (*THREAD_VARS, "XLA_FLAGS")}
