"""difflab as a GradBench tool: the answer to each message of GradBench's protocol.

GradBench's protocol (its CONTRIBUTING.md): an eval sends one JSON object per line and waits
for one answer per message, with the same ``id``:

    start     -> {"tool": "difflab", "config": {...}}
    define    -> {"success": true} if difflab implements the module, else false and an error
    evaluate  -> {"success": true, "output": ..., "timings": [...]} or
                 {"success": false, "error": "..."}
    analysis  -> {} (the eval's verdict on an output; an invalid one is logged on stderr)
    any other -> {} (logged on stderr)

``evaluate`` runs the function at least ``min_runs`` times and until the runs add up to at
least ``min_seconds`` (GradBench's ``Runs``; at most ``MAX_RUNS`` and ``MAX_SECONDS``, and
each eval bounds the work one input may ask for), and answers one ``{"name": "evaluate",
"nanoseconds": N}`` per run. Converting the JSON input into arrays and the result back into
JSON is not timed. A ``{"name": "prepare", ...}`` timing says how long this message spent
building the IR and the method's preparation (the first message of a function and input
shape prepares; later ones find it in the cache). Nothing here raises out of ``handle``: a
failure is an answer with ``success: false`` and the reason.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping

from .. import __version__, api
from .compute import CACHE_SIZE, LRU, prepare
from .evals import EVALS
from .spec import InputError, integer, kind_of, number

TOOL = "difflab"


MAX_RUNS = 10 ** 6        # an evaluate's min_runs at most (GradBench asks for 1 by default)
MAX_SECONDS = 3600.0      # and its min_seconds (GradBench's default: 0)


def _runs(input, runs: bool) -> tuple[int, float]:
    """(min_runs, min_seconds) from an input (1 and 0 where the eval sends none); an
    InputError names either one that is not a number in its range."""
    if not runs or not isinstance(input, Mapping):
        return 1, 0.0
    min_runs = integer(input, "min_runs", 0, MAX_RUNS, " (difflab's bound: MAX_RUNS in "
                       "difflab.gradbench.tool)") if "min_runs" in input else 1
    min_seconds = number(input, "min_seconds", 0.0, MAX_SECONDS) \
        if "min_seconds" in input else 0.0
    return min_runs, min_seconds


def repeat(fn: Callable[[], object], min_runs: int, min_seconds: float,
           clock: Callable[[], int] = time.perf_counter_ns) -> tuple[object, list[int]]:
    """Run ``fn`` at least ``min_runs`` times (at least once) and until the runs took
    ``min_seconds`` in all. Returns the last result and each run's nanoseconds."""
    timings: list[int] = []
    elapsed = 0
    limit = min_seconds * 1e9
    result = None
    while not timings or len(timings) < min_runs or elapsed < limit:
        start = clock()
        result = fn()
        took = clock() - start
        timings.append(int(took))
        elapsed += took
    return result, timings


def _error(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f"{type(err).__name__}: {text.strip()}" if text.strip() else type(err).__name__


class Tool:
    """The tool's state: the method, and the computations prepared so far."""

    def __init__(self, method: str = "reverse", log: Callable[[str], None] | None = None):
        api.resolve(method)  # an unknown method fails here, naming the known ones
        self.method = method
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self._prepared = LRU()

    def handle(self, message: Mapping) -> dict | None:
        """The answer to one message (without its id), or None for ``end`` (no answer).
        Nothing raises out of it: a failure is ``success: false`` with the reason."""
        try:
            return self._handle(message)
        except Exception as err:  # noqa: BLE001 - every failure is an answer, never a crash
            return {"success": False, "error": _error(err)}

    def _handle(self, message: Mapping) -> dict | None:
        kind = message.get("kind")
        if not isinstance(kind, str):
            self.log(f"difflab gradbench: warning: message {message.get('id')} has a kind "
                     f"that is {kind_of(kind)}, not a string; answered with success false")
            return {"success": False, "error": f"the message's kind must be a string, got "
                                               f"{kind_of(kind)}"}
        if kind == "end":  # sent by an eval that does not wait for an answer
            return None
        handler = {"start": self.start, "define": self.define, "evaluate": self.evaluate,
                   "analysis": self.analysis}.get(kind)
        if handler is None:
            self.log(f"difflab gradbench: warning: message {message.get('id')} has an unknown "
                     f"kind {kind!r} (known: start, define, evaluate, analysis); answered with "
                     f"its id only")
            return {}
        return handler(message)

    def start(self, message: Mapping) -> dict:
        """The tool's name and configuration (the eval's config is noted on stderr)."""
        return {"tool": TOOL, "config": {"method": self.method, "version": __version__,
                                         "modules": list(EVALS)}}

    def define(self, message: Mapping) -> dict:
        """success true for a module difflab implements; false, with the reason, otherwise."""
        module = message.get("module")
        if not isinstance(module, str):
            return {"success": False, "error": f"the define message's module must be a string, "
                                               f"got {kind_of(module)}"}
        if module in EVALS:
            return {"success": True}
        return {"success": False, "error": f"difflab implements no module {module!r}; its "
                                           f"modules: {', '.join(EVALS)}"}

    def evaluate(self, message: Mapping) -> dict:
        """Run one function on one input, timed; a failure is success false with the reason."""
        try:
            return self._evaluate(message)
        except Exception as err:  # noqa: BLE001 - every failure is an answer, never a crash
            return {"success": False, "error": _error(err)}

    def _evaluate(self, message: Mapping) -> dict:
        module, function = message.get("module"), message.get("function")
        for name, value in (("module", module), ("function", function)):
            if not isinstance(value, str):
                raise InputError(f"the evaluate message's {name} must be a string, got "
                                 f"{kind_of(value)}")
        if module not in EVALS:
            raise KeyError(f"difflab implements no module {module!r}; its modules: "
                           f"{', '.join(EVALS)}")
        ev = EVALS[module]
        if function not in ev.functions:
            raise KeyError(f"module {module!r} has no function {function!r}; its functions: "
                           f"{', '.join(ev.functions)}")
        if "input" not in message:
            raise InputError("the evaluate message has no input")
        input = message["input"]
        min_runs, min_seconds = _runs(input, ev.runs)
        sizes = ev.sizes(input)                       # conversion: not timed
        full = ev.point(input, sizes)
        start = time.perf_counter_ns()
        computation = self._prepared.fetch(  # (a dropped one's preparation goes from the API's
            (module, function, sizes),        # cache too: it may hold a large program)
            lambda: prepare(ev, function, sizes, full, self.method), CACHE_SIZE,
            api.clear_cache)
        prepared_ns = time.perf_counter_ns() - start
        point = computation.point(full)
        result, timings = repeat(lambda: computation.run(point), min_runs, min_seconds)
        if function == ev.primal:                     # conversion: not timed
            output = ev.primal_output(result, input)
        else:
            output = ev.derivative_output(result, input)
        try:
            json.dumps(output, allow_nan=False)
        except ValueError:
            raise ValueError(f"{self.method} gave a result with nan or inf, which JSON cannot "
                             f"carry") from None
        return {"success": True, "output": output,
                "timings": [{"name": "prepare", "nanoseconds": int(prepared_ns)}] +
                           [{"name": "evaluate", "nanoseconds": t} for t in timings]}

    def analysis(self, message: Mapping) -> dict:
        """Nothing to answer; an output the eval found invalid is noted on stderr."""
        if message.get("valid") is False:
            self.log(f"difflab gradbench: the eval found the output of message "
                     f"{message.get('of')} invalid: {message.get('error', '(no reason given)')}")
        return {}
