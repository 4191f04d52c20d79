"""A cell: one measurement of a sweep — an experiment, a problem at given sizes, a method.

A ``Cell`` names everything that decides its result: the experiment, the problem and its size
parameters, the method, what is differentiated (grad, jacobian, hessian) and the seed of the
point. ``cell_id`` hashes exactly these, so the same cell gets the same id in every run and a
resumed run can tell what is already done.

Skipping: once a method times out (or runs out of memory) at some size, a cell of the same
experiment, problem, method and kind whose numeric parameters are all >= that size (the other
parameters equal) would only time out again; ``dominated_by`` tells the runner so.

Repeats: a timing sweep measures each cell several times (``rep`` = 0, 1, ...), each repeat a
row of its own with an id of its own. ``rep`` 0 keeps the id a cell had before repeats
existed, so older runs resume; the size rule ignores ``rep`` (a repeat of a cell that timed
out is skipped like a larger size).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real

KINDS = ("grad", "jacobian", "hessian")


@dataclass(frozen=True, eq=True)
class Cell:
    """One measurement to make. ``params`` is stored sorted by name; values must be JSON-able."""

    experiment: str
    problem: str
    params: Mapping = field(default_factory=dict)
    method: str = "reverse"
    kind: str = "grad"
    seed: int = 0
    rep: int = 0          # the repeat of a timing sweep (0: the first, or the only one)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"cell kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.params, Mapping):
            raise TypeError(f"cell params must be a dict, got {type(self.params).__name__}")
        object.__setattr__(self, "params", dict(sorted(self.params.items())))
        if not isinstance(self.rep, int) or isinstance(self.rep, bool) or self.rep < 0:
            raise ValueError(f"cell rep must be an integer >= 0, got {self.rep!r}")
        try:
            self._canonical()
        except TypeError as err:
            raise TypeError(f"cell params must be JSON-able: {self.params!r} ({err})") from None

    def _canonical(self) -> str:
        fields = [self.experiment, self.problem, self.params, self.method, self.kind, self.seed]
        if self.rep:  # repeat 0 keeps the id cells had before repeats
            fields.append(self.rep)
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))

    @property
    def cell_id(self) -> str:
        """A stable id: the first 16 hex digits of SHA-1 over the cell's canonical JSON."""
        return hashlib.sha1(self._canonical().encode()).hexdigest()[:16]

    def __hash__(self) -> int:  # params is a dict: hash the canonical form instead
        return hash(self._canonical())

    def key(self) -> dict:
        """The cell's fields for a results row (``cell_id`` included)."""
        return {"cell_id": self.cell_id, "experiment": self.experiment,
                "problem": self.problem, "params": dict(self.params), "method": self.method,
                "kind": self.kind, "seed": self.seed, "rep": self.rep}

    @classmethod
    def from_row(cls, row: Mapping) -> Cell:
        """The cell a results row was measured for."""
        return cls(row["experiment"], row["problem"], row.get("params") or {},
                   row["method"], row["kind"], row.get("seed", 0), int(row.get("rep") or 0))

    def repeat(self, rep: int) -> Cell:
        """This cell's repeat ``rep``."""
        return Cell(self.experiment, self.problem, self.params, self.method, self.kind,
                    self.seed, rep)

    @property
    def chain(self) -> tuple:
        """What the size rule compares: cells of one chain can skip each other, so a runner
        that runs cells side by side runs one chain in order (the same skips as in a row)."""
        sizes = tuple(sorted(k for k, v in self.params.items() if _is_size(v)))
        fixed = json.dumps({k: v for k, v in self.params.items() if not _is_size(v)},
                           sort_keys=True)
        return (self.experiment, self.problem, self.method, self.kind, sizes, fixed)

    def __str__(self) -> str:
        sizes = ",".join(f"{k}={v}" for k, v in self.params.items())
        again = f" (repeat {self.rep})" if self.rep else ""
        return f"{self.problem}({sizes}) {self.kind} by {self.method}{again}"


def _is_size(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def dominated_by(cell: Cell, failed: Cell) -> bool:
    """True when ``cell`` is at least as large as ``failed`` in every size parameter.

    Same experiment, problem, method and kind; every numeric parameter of ``cell`` >= the
    failed one's; every other parameter equal. (The seed is ignored: it moves the point, not
    the size.)
    """
    if (cell.experiment, cell.problem, cell.method, cell.kind) != \
            (failed.experiment, failed.problem, failed.method, failed.kind):
        return False
    if set(cell.params) != set(failed.params):
        return False
    for name, value in cell.params.items():
        limit = failed.params[name]
        if _is_size(value) and _is_size(limit):
            if value < limit:
                return False
        elif value != limit:
            return False
    return True


def first_dominating(cell: Cell, failed: Iterable[Cell]) -> Cell | None:
    """The first failed cell that ``cell`` is dominated by, or None."""
    return next((f for f in failed if dominated_by(cell, f)), None)
