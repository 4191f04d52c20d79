"""GradBench's published numbers (``published.json``): facts to compare difflab against.

``published.json`` holds, from GradBench's nightly run of 2026-03-14 (GradBench commit
f26651a7bcc120654fa895adecaf371b8cc059c5; tag nightly-2026-03-14 of github.com/gradbench/
gradbench, files summary.json and evals/<eval>/summary.json), for the tools jax, pytorch and
manual (the hand-written C++): each workload's mean primal and derivative time in seconds
(GradBench's scorer: the mean of every "evaluate" timing of the message, the first, compiling
run included) and the run's outcome. They were measured on GitHub's runners, not here: the
ratio derivative / primal travels between machines better than the times do.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

from .workloads import module

PATH = Path(__file__).with_name("published.json")
TOOLS = ("jax", "pytorch", "manual")

_DESCRIBE = {
    "lse": lambda p, i: f"n={p['n']}",
    "llsq": lambda p, i: f"n={p['n']},m={p['m']}",
    "gmm": lambda p, i: f"{p['d']}_{p['k']}_{p['n']}",
    "kmeans": lambda p, i: f"k={p['k']},n={p['n']},d={p['d']}",
    "ode": lambda p, i: f"n={p['n']},s={p['s']}",
    "det": lambda p, i: f"{p['ell']}",
    "lstm": lambda p, i: f"l={p['l']},c={p['c']}",
    "ba": lambda p, i: f"ba{i}_n{p['n']}_m{p['m']}_p{p['p']}",
    "ht": lambda p, i: f"hand{i}_t26_c{p['N']}",
}


@cache
def data() -> dict:
    """The whole of published.json (date, commit, source, evals)."""
    return json.loads(PATH.read_text(encoding="utf-8"))


def description(name: str, params: dict) -> str | None:
    """GradBench's name of a workload ("n=2500", "10_5_1000", "ba1_n49_m7776_p31843"), or
    None for sizes that are not one of the eval's workloads."""
    workloads = module(name).WORKLOADS
    if dict(params) not in workloads:
        return None
    return _DESCRIBE[name](params, workloads.index(dict(params)) + 1)


def outcome(name: str, tool: str) -> str:
    """The published outcome of ``tool`` on eval ``name`` (success, undefined, error,
    timeout; absent where the tool did not run it)."""
    return data()["evals"].get(name, {}).get("tools", {}).get(tool, {}).get("outcome", "absent")


def times(name: str, tool: str) -> dict[str, tuple[float, float]]:
    """{workload description: (primal s, derivative s)} as published."""
    entry = data()["evals"].get(name, {}).get("tools", {}).get(tool, {})
    return {w: (p, d) for w, (p, d) in entry.get("workloads", {}).items()}


def ratio(name: str, tool: str, params: dict) -> float | None:
    """The published derivative / primal of one workload, or None."""
    found = times(name, tool).get(description(name, params) or "")
    return found[1] / found[0] if found and found[0] > 0 else None


def geomean_ratio(name: str, tool: str) -> float | None:
    """The geometric mean over the published workloads of derivative / primal, or None."""
    ratios = [d / p for p, d in times(name, tool).values() if p > 0 and d > 0]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def citation() -> str:
    """Where the numbers come from, in one line."""
    d = data()
    return (f"GradBench's published nightly results of {d['date']} (GradBench commit "
            f"{d['commit'][:12]}; {d['source']})")
