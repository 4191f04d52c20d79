"""Timing for the benchmark: medians of interleaved runs in one process, and memory peaks.

Machine load drifts (other processes, frequency changes), so contenders are never timed one
after the other: every repeat runs each contender once, in an order rotated from repeat to
repeat, and each contender's figure is the median of its repeats. A repeat of a fast call is a
batch of calls sized once, before timing, to last at least ``min_time``. ``collect`` runs the
garbage collector before each timed batch (untimed), so garbage left by one contender is not
collected on another's clock.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Mapping

import numpy as np


def interleave(contenders: Mapping[str, Callable[[], object]], repeats: int,
               min_time: float = 0.02, collect: bool = False,
               caps: Mapping[str, int] | None = None,
               warm: bool = True) -> dict[str, list[float]]:
    """Seconds per call of each contender, one sample per repeat, the contenders alternating.

    Args:
        contenders: name -> a call with no arguments (it must finish its work, e.g. block on
            JAX results). Each is called once untimed first (compilation, caches) unless
            ``warm`` is False (the caller has called each already).
        repeats: samples per contender.
        min_time: the least seconds a sample's batch of calls should take.
        collect: ``gc.collect()`` before every timed batch (outside the timing).
        caps: name -> at most this many samples (for a contender too slow to repeat often).
        warm: make the untimed first call.
    Returns:
        name -> seconds per call, one value per sample.
    """
    number = {}
    for name, fn in contenders.items():
        if warm:
            fn()  # warm-up: compile, fill caches, import lazily
        if min_time <= 0:  # one call per sample: no need to size the batch
            number[name] = 1
            continue
        t0 = time.perf_counter()
        fn()
        once = max(time.perf_counter() - t0, 1e-9)
        number[name] = max(1, min(100_000, math.ceil(min_time / once)))
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    caps = caps or {}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if len(samples[name]) >= caps.get(name, repeats):
                continue
            fn, k = contenders[name], number[name]
            if collect:
                gc.collect()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
    return samples


def median(samples: list[float]) -> float:
    """The median of the samples (nan for none)."""
    return float(np.median(samples)) if samples else float("nan")


def iqr(samples: list[float]) -> float:
    """q75 - q25 of the samples: the spread."""
    if len(samples) < 2:
        return 0.0
    q25, q75 = np.percentile(samples, [25, 75])
    return float(q75 - q25)


def without_gc(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with the cyclic garbage collector off while it runs."""
    def call():
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn()
        finally:
            if enabled:
                gc.enable()
    return call


def peak_memory(fn: Callable[[], object], repeats: int = 3) -> int:
    """Bytes allocated at the peak of ``fn()`` above what was live before it (tracemalloc,
    which sees Python objects and NumPy's buffers), the median of ``repeats`` calls."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()  # warm-up: caches made on the first call are not the call's working memory
        peaks = []
        for _ in range(repeats):
            gc.collect()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            fn()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    return int(np.median(peaks))
