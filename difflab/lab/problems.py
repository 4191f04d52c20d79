"""Problems of the lab: a name, an IR builder with size parameters, a seeded point generator,
and a truth. The registry ``PROBLEMS`` holds the scalar suite (``scalar_suite.py``, one
problem per function) and the sized families (``families.py``).

    >>> from difflab.lab.problems import get_problem
    >>> inst = get_problem("rosenbrock").instance({"n": 4}, seed=1)
    >>> inst.expr, inst.point, inst.wrt          # the IR, a point inside the domain, names
    >>> inst.truth()                             # the reference gradient, protocol format

Conventions
    * ``instance(params, seed)`` merges ``params`` over the problem's ``defaults`` (unknown
      names are refused) and draws the point from ``np.random.default_rng(seed)``.
    * Seed 0 is the textbook point where a problem has one (``reference_point``): Squire–Trapp
      at x = 1.5, the logistic map at x = 0.2, every scalar case at its listed point. Other
      seeds draw from the problem's domain.
    * A parameter named ``seed`` left at None (the ``random`` problem) takes the instance seed,
      so one seed fixes both the expression and the point.
    * ``wrt`` is always a tuple of names: all variables, except where a problem says otherwise
      (``mlp_loss`` differentiates the weights and biases, not the data X, Y).

The truth rule (``truth_source``)
    A problem's ``truth`` is where its reference derivative comes from at small sizes:
    "sympy" (50-digit SymPy/mpmath, ``difflab.truth``), "jax" (``difflab.jax_ref``, float64),
    or "none". A "sympy" instance takes "jax" instead when it is too big for exact arithmetic
    to be quick: more than ``MAX_SYMPY_INPUTS`` = 30 scalar inputs in ``wrt``, a Jacobian of
    more than ``MAX_SYMPY_JACOBIAN`` = 900 entries, or beyond ``difflab.truth``'s own budget
    (the expression written in scalars: tree nodes x inputs <= ``truth.MAX_TREE``, depth <=
    ``truth.MAX_DEPTH``) — with MAX_TREE = 50000: rosenbrock with n > 30, rosenbrock_vec
    with n > 17, the logistic map beyond l_14, nested beyond depth 150 — and when it uses an
    op that SymPy has no rule for. ``mlp_loss`` and ``mlp_classifier`` are "jax" at all sizes.
    Above ``MAX_TRUTH_NODES`` = 10000 DAG nodes (JAX's own compile limit) there is no truth:
    "none" (scalar-variable rosenbrock has ~9n nodes, so n <= 1000 still has one). Should
    ``difflab.truth`` still refuse (a Hessian costs n(n+1) tree walks; its time budget), JAX
    serves, and ``Instance.truth_sources`` records it.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..core.evaluate import evaluate
from ..core.expr import Expr
from ..core.plan import compile_plan
from ..core.shapes import infer_shapes
from ..gradbench import problems as gradbench
from ..protocol import shaped
from ..symbolic import scalar_size
from . import families as F
from .problem_plugins import find_problem, plugin_problems
from .scalar_suite import SCALAR_CASES, ScalarCase

MAX_SYMPY_INPUTS = 30
MAX_SYMPY_JACOBIAN = 900
MAX_TRUTH_NODES = 10_000  # jax_ref.MAX_NODES: bigger plans take minutes to compile
TRUTH_DIGITS = 50
TRUTHS = ("sympy", "jax", "none")
KINDS = ("grad", "jacobian", "hessian")


@dataclass(frozen=True, eq=False)
class Problem:
    """A differentiation problem: ``instance(params, seed)`` gives an expression and a point.

    Problems are registry singletons: equality and hashing are by identity, and pickling
    stores the name only (so a worker process gets the same problem back from its registry).
    """

    name: str
    family: str
    description: str
    builder: Callable[..., Expr]                               # builder(**params) -> Expr
    sampler: Callable[[np.random.Generator, dict], dict]       # (rng, params) -> point
    defaults: dict                                             # default size parameters
    truth: str                                                 # "sympy" | "jax" | "none"
    kind: str = "grad"                                         # "grad" or "jacobian"
    wrt_rule: Callable[[dict], tuple[str, ...]] | None = None  # params -> names (None: all)
    reference_point: Callable[[dict], dict] | None = None      # params -> the seed-0 point

    def __reduce__(self):
        return get_problem, (self.name,)

    def resolve(self, params: dict | None = None) -> dict:
        """``params`` over the defaults. Raises ValueError naming an unknown parameter."""
        params = dict(params or {})
        unknown = [k for k in params if k not in self.defaults]
        if unknown:
            known = ", ".join(self.defaults) or "none"
            raise ValueError(f"problem {self.name!r} has no parameter {unknown[0]!r}; "
                             f"its parameters: {known}")
        return {**self.defaults, **params}

    def build(self, params: dict | None = None) -> Expr:
        """The expression for these parameters (cached: one Expr object per parameter set,
        so plans and prepared derivatives cached on it are reused across seeds)."""
        params = self.resolve(params)
        key = (self.name, tuple(sorted(params.items())))
        try:
            return _built.fetch(key, lambda: self.builder(**params))
        except TypeError:  # an unhashable parameter value: build without caching
            return self.builder(**params)

    def instance(self, params: dict | None = None, seed: int = 0) -> Instance:
        """The problem at ``params`` (merged over the defaults) with a point drawn by ``seed``.

        Args:
            params: size parameters (a subset of ``defaults``).
            seed: seeds the point (seed 0: the reference point where there is one).
        Returns:
            an ``Instance``.
        """
        params = self.resolve(params)
        if "seed" in params and params["seed"] is None:
            params["seed"] = seed
        expr = self.build(params)
        if seed == 0 and self.reference_point is not None:
            drawn = self.reference_point(params)
        else:
            drawn = self.sampler(np.random.default_rng(seed), params)
        missing = [n for n in expr.variables if n not in drawn]
        if missing:
            raise RuntimeError(f"problem {self.name!r}: the point generator gave no value "
                               f"for {missing[0]!r}")
        point = {n: drawn[n] for n in expr.variables}  # exactly the expression's variables
        wrt = tuple(self.wrt_rule(params)) if self.wrt_rule else expr.variables
        return Instance(self, params, seed, expr, point, wrt,
                        truth_source(self, expr, point, wrt))


class _LRU(OrderedDict):
    def fetch(self, key, make, limit: int = 128):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > limit:
            self.popitem(last=False)
        return value


_built = _LRU()       # (name, params) -> Expr
_jax_truths = _LRU()  # (kind, expr, wrt, shapes) -> a compiled JAX derivative


def truth_source(problem: Problem, expr: Expr, point: dict, wrt: tuple[str, ...]) -> str:
    """Where this instance's truth comes from: the problem's ``truth``, except that "sympy"
    becomes "jax" beyond the size limits, and any truth becomes "none" beyond JAX's (see the
    module docstring)."""
    if problem.truth == "none" or compile_plan(expr).size > MAX_TRUTH_NODES:
        return "none"
    if problem.truth != "sympy":
        return problem.truth
    if not _sympy_expresses(expr):
        return "jax"
    inputs = sum(int(np.size(point[n])) for n in wrt)
    if inputs > MAX_SYMPY_INPUTS:
        return "jax"
    shapes = {n: np.shape(v) for n, v in point.items()}
    if problem.kind == "jacobian":
        plan = compile_plan(expr)
        out = infer_shapes(plan, shapes)[plan.out]
        if int(np.prod(out, dtype=int)) * inputs > MAX_SYMPY_JACOBIAN:
            return "jax"
    # difflab.truth's own budget: sympy.diff walks the scalar tree once per input.
    exact = importlib.import_module("difflab.truth")
    scalars = scalar_size(expr, shapes)
    if scalars.tree * inputs > exact.MAX_TREE or scalars.depth > exact.MAX_DEPTH:
        return "jax"
    return "sympy"


def _sympy_expresses(expr: Expr) -> bool:
    """True when the SymPy side has a rule for every op of ``expr`` (an op without one, as
    the array ops before theirs land, cannot have a 50-digit truth: JAX serves)."""
    rules = importlib.import_module("difflab.symbolic.rules").sympy_rules
    return all(op in rules for op in set(compile_plan(expr).ops) - {"var", "const"})


@dataclass(eq=False)
class Instance:
    """A problem at given parameters and seed: the expression, the point, the names to
    differentiate, and (lazily, cached) the reference derivative.

    ``truth_source`` is the planned source of the truth (the size rule); ``truth_sources``
    records, per kind computed, the source actually used: "sympy" falls back to "jax" when
    ``difflab.truth`` refuses the size (its budget counts Hessians, which the rule does not).
    """

    problem: Problem
    params: dict
    seed: int
    expr: Expr
    point: dict
    wrt: tuple | None
    truth_source: str = "sympy"
    truth_sources: dict = field(default_factory=dict, init=False, repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every variable's shape (``()`` for a scalar)."""
        return {n: np.shape(v) for n, v in self.point.items()}

    @property
    def kind(self) -> str:
        return self.problem.kind

    def value(self):
        """f at the point (a float, or an array for a vector-valued problem)."""
        return evaluate(self.expr, self.point)

    def truth(self, kind: str | None = None):
        """The reference derivative in the protocol's format (cached per kind).

        Args:
            kind: "grad", "jacobian" or "hessian" (default: the problem's kind).
        Returns:
            grad {name: value}, jacobian {name: array}, hessian {a: {b: array}}; None when the
            problem has no truth. "sympy" uses ``difflab.truth`` at 50 digits (a Jacobian goes
            to JAX when ``difflab.truth`` has no ``jacobian``); "jax" uses ``difflab.jax_ref``.
        """
        kind = kind or self.problem.kind
        if kind not in KINDS:
            raise ValueError(f"unknown derivative kind {kind!r}; known kinds: {', '.join(KINDS)}")
        if kind not in self._cache:
            self._cache[kind] = self._compute_truth(kind)
        return self._cache[kind]

    def _compute_truth(self, kind: str):
        source = self.truth_sources[kind] = self.truth_source
        if source == "none":
            return None
        wrt = tuple(self.wrt) if self.wrt is not None else self.expr.variables
        if source == "sympy":
            exact = importlib.import_module("difflab.truth")
            name = {"grad": "gradient", "jacobian": "jacobian", "hessian": "hessian"}[kind]
            if hasattr(exact, name):
                try:
                    result = getattr(exact, name)(self.expr, self.point, wrt=wrt,
                                                  dps=TRUTH_DIGITS)
                    return _normalise(kind, result, self.shapes, wrt, self._out_shape())
                except getattr(exact, "TruthTooLarge", ()):
                    pass  # beyond difflab.truth's own budget (e.g. a big Hessian): use JAX
            self.truth_sources[kind] = "jax"
        jax_ref = importlib.import_module("difflab.jax_ref")
        prepare = {"grad": jax_ref.prepare, "jacobian": jax_ref.prepare_jacobian,
                   "hessian": jax_ref.prepare_hessian}[kind]
        shapes = self.shapes
        # Compiling is the slow part: one compiled derivative serves every seed of a shape.
        key = (kind, self.expr, wrt, tuple(sorted(shapes.items())))
        compiled = _jax_truths.fetch(key, lambda: prepare(self.expr, wrt, shapes), limit=32)
        return _normalise(kind, compiled(self.point), shapes, wrt, self._out_shape())

    def _out_shape(self) -> tuple[int, ...]:
        plan = compile_plan(self.expr)
        return infer_shapes(plan, self.shapes)[plan.out]


def _normalise(kind: str, result: dict, shapes: dict, wrt: tuple, out: tuple) -> dict:
    """A result in the protocol's exact format: floats for scalar shapes, float64 arrays."""
    if kind == "grad":
        return {n: shaped(result[n], shapes[n]) for n in wrt}
    if kind == "jacobian":
        return {n: shaped(result[n], out + shapes[n]) for n in wrt}
    return {a: {b: shaped(result[a][b], shapes[a] + shapes[b]) for b in wrt} for a in wrt}


# ---- the registry ------------------------------------------------------------------------
def _scalar(case: ScalarCase) -> Problem:
    return Problem(case.name, "scalar", case.description, case.build, case.sample, {}, "sympy",
                   reference_point=case.reference)


_FAMILIES = (
    Problem("rosenbrock", "rosenbrock",
            "n-D Rosenbrock, sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n scalar variables",
            F.build_rosenbrock, F.sample_rosenbrock, {"n": 10}, "sympy"),
    Problem("rosenbrock_vec", "rosenbrock",
            "n-D Rosenbrock over one array x (n,), shifts by constant selection matrices",
            F.build_rosenbrock_vec, F.sample_rosenbrock_vec, {"n": 10}, "sympy"),
    Problem("rosenbrock_slices", "rosenbrock",
            "n-D Rosenbrock over one array x (n,), with slices x[1:], x[:-1]: a Python "
            "function written with difflab.numpy, traced",
            F.build_rosenbrock_slices, F.sample_rosenbrock_vec, {"n": 10}, "sympy"),
    Problem("sum_nonlinear", "sum_nonlinear",
            "sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2), n scalar variables",
            F.build_sum_nonlinear, F.sample_sum_nonlinear, {"n": 10}, "sympy"),
    Problem("sum_nonlinear_vec", "sum_nonlinear",
            "sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2), one array x (n,)",
            F.build_sum_nonlinear_vec, F.sample_sum_nonlinear_vec, {"n": 10}, "sympy"),
    Problem("vector_family", "vector",
            "R^n -> R^m: y = tanh(A @ x + b), fixed seeded A (m, n), b (m,)",
            F.build_vector_family, F.sample_vector_family, {"n": 8, "m": 4}, "sympy",
            kind="jacobian"),
    Problem("logsumexp", "logsumexp",
            "log sum exp(x) by the stable logsumexp (shifted by the max), x (n,)",
            F.build_logsumexp, F.sample_logsumexp, {"n": 10}, "sympy"),
    Problem("mlp_loss", "mlp",
            "MLP mean squared error; gradient with respect to weights W_k and biases b_k",
            F.build_mlp_loss, F.sample_mlp_loss,
            {"width": 8, "depth": 2, "batch": 8, "inputs": 4, "outputs": 2,
             "activation": "tanh", "init": "xavier"}, "jax", wrt_rule=F.mlp_parameters),
    Problem("mlp_classifier", "mlp",
            "MLP softmax cross-entropy classifier (logsumexp over classes, one-hot labels Y); "
            "gradient with respect to weights W_k and biases b_k",
            F.build_mlp_classifier, F.sample_mlp_classifier,
            {"width": 8, "depth": 2, "batch": 8, "inputs": 4, "classes": 3,
             "activation": "tanh", "init": "xavier"}, "jax", wrt_rule=F.mlp_parameters),
    Problem("nested", "nested",
            "f(f(...f(x))) for depth d, f in sin, tanh, sigmoid, logistic, exp (exp(-u))",
            F.build_nested, F.sample_nested, {"depth": 6, "base": "sin"}, "sympy"),
    Problem("logistic_map", "logistic_map",
            "logistic map l_n, l_1 = x, l_{k+1} = 4 l_k (1 - l_k) (reference point x = 0.2)",
            F.build_logistic_map, F.sample_logistic_map, {"n": 4}, "sympy",
            reference_point=F.logistic_reference_point),
    Problem("random", "random",
            "random domain-safe expression from the generator, drawn by the instance seed",
            F.build_random, F.sample_random, {"size": 8, "nvars": 2, "seed": None}, "sympy"),
)



def _gradbench(mod) -> Problem:
    """GradBench's eval ``mod`` as a sized problem: its workloads' sizes, seeds and formulas
    (``difflab.gradbench.problems``); seed 0 is the eval's own input, the truth JAX."""
    name = mod.NAME
    return Problem(f"gradbench_{name}", "gradbench", gradbench.describe(mod),
                   partial(gradbench.build, name), partial(gradbench.sample, name),
                   dict(mod.WORKLOADS[0]), "jax", kind=gradbench.KIND[name],
                   wrt_rule=partial(gradbench.wrt, name),
                   reference_point=partial(gradbench.reference, name))


_GRADBENCH = tuple(_gradbench(mod) for mod in gradbench.WITH_WORKLOADS)
PROBLEMS: dict[str, Problem] = {p.name: p for p in (*map(_scalar, SCALAR_CASES), *_FAMILIES,
                                                     *_GRADBENCH)}
assert len(PROBLEMS) == len(SCALAR_CASES) + len(_FAMILIES) + len(_GRADBENCH), \
    "problem names must be unique"
assert all(p.truth in TRUTHS and p.kind in ("grad", "jacobian") for p in PROBLEMS.values())


class UnknownProblem(KeyError):
    """A problem or family name that is not in the registry (the message lists the known)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def get_problem(name: str) -> Problem:
    """The problem called ``name``: the registry's, else an import path ``module:attribute``
    or an entry point of ``difflab.problems`` (``problem_plugins``). Raises KeyError
    (``UnknownProblem``) listing the names, or saying why a path or entry point fails."""
    try:
        return PROBLEMS[name]
    except (KeyError, TypeError):
        pass
    try:
        found = find_problem(name) if isinstance(name, str) else None
    except ValueError as err:
        raise UnknownProblem(str(err)) from None
    if found is None:
        raise UnknownProblem(f"unknown problem {name!r}; known problems: "
                             f"{', '.join(PROBLEMS)} (or a 'module:function' of your own)")
    return found


def problems(family: str | None = None) -> list[Problem]:
    """Every problem (the registry's in order, then the entry points'), or those of one
    family ("scalar", "mlp" ...).

    Raises KeyError for an unknown family, listing the known ones.
    """
    every = [*PROBLEMS.values(), *plugin_problems()]
    if family is None:
        return every
    chosen = [p for p in every if getattr(p, "family", None) == family]
    if not chosen:
        known = ", ".join(dict.fromkeys(getattr(p, "family", "?") for p in every))
        raise UnknownProblem(f"unknown problem family {family!r}; known families: {known}")
    return chosen
