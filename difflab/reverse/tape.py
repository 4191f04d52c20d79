"""The tape, for reading and teaching: a recorded Wengert list and its backward steps.

``Tape.record(expr, point)`` evaluates the reverse-mode program once and keeps the primal value
of every slot; ``str(tape)`` prints the list (a ``*`` marks the slots that will receive a
cotangent). ``tape.backward(trace=True)`` runs the same backward sweep as ``reverse.prepare``
and keeps one ``Step`` per node it passes (``tape.format_steps()`` prints them): which
cotangent ``y_bar`` arrived and what it sent on to each argument.

The engine (``compile_program``, ``sweep``) is ``program``; the sweep records plain tuples,
which ``Step`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.evaluate import clean_point
from ..core.expr import Expr
from ..core.parser import as_expression
from ..core.plan import compile_plan
from .program import Program, compile_program
from .rules import _ONE
from .sweep import _finish, sweep


# ---- printing ------------------------------------------------------------------------------
def summary(value) -> str:
    """A short description of a slot's value: the number, or shape and range of an array."""
    if value is None:
        return "-"
    if isinstance(value, float | np.floating | int) or np.ndim(value) == 0:
        try:
            return f"{float(value):.6g}"
        except TypeError:  # e.g. a Dual: let it describe itself
            return str(value)
    arr = np.asarray(value)
    if arr.size <= 4:
        return np.array2string(arr, precision=4, separator=", ").replace("\n", "")
    return f"{arr.shape} in [{arr.min():.4g} .. {arr.max():.4g}] mean {arr.mean():.4g}"


# ---- one step of a backward sweep, as the trace records it ---------------------------------
@dataclass(frozen=True)
class Step:
    """One step of a backward sweep: slot ``slot`` (``op`` of ``args``) passed its incoming
    cotangent ``y_bar`` on as ``arg_bars`` (None for an argument that needs none)."""

    slot: int
    op: str
    args: tuple[int, ...]
    y_bar: object
    arg_bars: tuple

    def __str__(self) -> str:
        sent = "; ".join(f"v{a}_bar += {summary(bar)}"
                         for a, bar in zip(self.args, self.arg_bars, strict=True)
                         if bar is not None)
        call = f"{self.op}({', '.join(f'v{a}' for a in self.args)})"
        return f"{'v' + str(self.slot):>5} = {call:<16} y_bar = {summary(self.y_bar)}  ->  {sent}"


# ---- the tape ------------------------------------------------------------------------------
class Tape:
    """A Wengert list: the plan's slots in evaluation order with the primal value of each.

    ``Tape.record(expr, point)`` evaluates and records; ``str(tape)`` prints the list (a ``*``
    marks the slots that will receive a cotangent); ``tape.backward(trace=True)`` sweeps it
    and keeps every step in ``tape.steps`` (``tape.format_steps()`` prints them).
    """

    def __init__(self, program: Program, values: list):
        self.program = program
        self.values = values
        self.steps: list[Step] = []
        self.bars: list | None = None  # every slot's cotangent, after backward()
        self.seed = None

    @classmethod
    def record(cls, expr: Expr | str, point: Mapping, wrt: Sequence[str] | None = None) -> Tape:
        """Evaluate ``expr`` at ``point`` and keep every slot's value.

        Args:
            expr: the expression (or its grammar text).
            point: every variable -> float or array.
            wrt: the variables that will receive gradients (default: all).
        Returns:
            the tape.
        Raises:
            ParseError: bad text; TypeError: ``expr`` is neither an expression nor text.
        """
        expr = as_expression(expr, "Tape.record")
        plan = compile_plan(expr)
        point = clean_point(plan, point)
        shapes = {name: np.shape(value) for name, value in point.items()}
        program = compile_program(expr, _wrt_names(expr, wrt), shapes)
        with np.errstate(all="ignore"):
            return cls(program, program.record(point))

    @property
    def value(self):
        """The expression's value (the output slot's)."""
        return self.values[self.program.plan.out]

    def backward(self, seed=None, trace: bool = False) -> dict:
        """Sweep the tape backward from the output.

        Args:
            seed: the output's cotangent; default 1.0 (the output must then be a scalar).
            trace: keep every step in ``self.steps``.
        Returns:
            {name: cotangent} for the wrt variables: the gradient (or seed^T J, a VJP).
        """
        program = self.program
        out_shape = program.shapes[program.plan.out]
        if seed is None:
            if out_shape != ():
                raise ValueError(f"backward without a seed needs a scalar output, but the "
                                 f"output has shape {out_shape}; pass seed= of that shape")
            seed = _ONE
        elif np.shape(seed) != out_shape:
            raise ValueError(f"seed of shape {np.shape(seed)} does not match the output's "
                             f"shape {out_shape}")
        raw: list | None = [] if trace else None
        with np.errstate(all="ignore"):
            bars = sweep(program, self.values, np.array(seed, dtype=np.float64) if out_shape
                         else np.float64(seed), raw)
        if raw is not None:
            self.steps = [Step(*step) for step in raw]
        self.bars, self.seed = bars, seed
        var_slots, shapes = program.plan.var_slots, program.shapes
        return {name: _finish(np.copy(bars[var_slots[name]]), shapes[var_slots[name]])
                for name in program.wrt}

    def draw(self, engine: str = "auto"):
        """The tape as a picture (a ``Drawing``: SVG, PNG, inline in Jupyter): each slot's
        value and, once ``backward()`` ran, its cotangent."""
        return _draw(self, self.bars, title="tape" if self.bars is None else
                     "tape after the backward sweep", engine=engine)

    def draw_steps(self, seed=None, engine: str = "auto", frontier: bool = False) -> list:
        """One picture per step of the backward sweep: the slot being processed highlighted,
        and every cotangent received so far (the output's seed first). ``frontier``: draw only
        the slots that hold a cotangent and the arguments of the one being processed (the
        part of the graph the sweep has reached), not the whole tape."""
        self.backward(seed, trace=True)
        plan = self.program.plan
        bars: list = [None] * plan.size
        bars[plan.out] = self.seed
        def reached(slot):
            return {s for s, b in enumerate(bars) if b is not None} | set(plan.args[slot]) \
                if frontier else None

        pictures = [_draw(self, list(bars), (plan.out,), "seed: the output's cotangent",
                          engine, reached(plan.out))]
        for step in self.steps:
            for a, bar in zip(step.args, step.arg_bars, strict=True):
                if bar is not None:
                    bars[a] = bar if bars[a] is None else bars[a] + bar
            pictures.append(_draw(self, list(bars), (step.slot,),
                                  f"step {len(pictures)}: v{step.slot} = {step.op} sends its "
                                  f"cotangent on", engine, reached(step.slot)))
        return pictures

    def _repr_svg_(self) -> str:
        return self.draw().svg

    def __str__(self) -> str:
        plan, needed = self.program.plan, self.program.needed
        lines = [f"Wengert list: {plan.size} slots, output v{plan.out} "
                 f"(* = receives a cotangent)",
                 f"  {'slot':<7}{'op':<10}{'arguments':<14}value"]
        for s, op in enumerate(plan.ops):
            if op == "var":
                what = plan.attrs[s]
            elif op == "const":
                what = ""
            else:
                what = ", ".join(f"v{a}" for a in plan.args[s])
            mark = "*" if needed[s] else " "
            lines.append(f"{mark} {'v' + str(s):<7}{op:<10}{what:<14}{summary(self.values[s])}")
        return "\n".join(lines)

    def format_steps(self) -> str:
        """The recorded backward steps (``backward(trace=True)``), one line each."""
        return "\n".join(map(str, self.steps))


def _wrt_names(expr: Expr, wrt) -> tuple[str, ...]:
    if wrt is None:
        return expr.variables
    if isinstance(wrt, str):
        return tuple(wrt.replace(",", " ").split())
    return tuple(wrt)


def _draw(tape: Tape, bars, highlight=(), title="", engine="auto", only=None):
    """A picture of the tape: every slot's value and the cotangents in ``bars``."""
    from ..draw.graph import MAX_NODES, picture, too_large  # (pictures load on first use)
    from ..draw.svg import Drawing

    plan = tape.program.plan
    if plan.size > MAX_NODES:
        return Drawing(too_large(plan.size, "tape"), engine)
    return Drawing(picture(plan.ops, plan.args, plan.attrs, tape.values, bars, highlight,
                           title, bar_name="bar", slots=True, only=only), engine)
