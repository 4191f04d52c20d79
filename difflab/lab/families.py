"""The sized problem families: builders (size parameters -> IR) and seeded point samplers.

Each family is a pair of plain functions: ``build_<family>(**params) -> Expr`` and
``sample_<family>(rng, params) -> point``. ``problems.py`` wraps them into ``Problem``s (name,
description, defaults, truth, kind).

Sums over many terms are built as balanced pairwise trees, so the DAG depth grows like log n
and nothing downstream (SymPy, printing) meets a chain n levels deep. Where arrays are natural
a family is written as NumPy users write it, with ``difflab.numpy`` (Rosenbrock with slices,
the softmax classifier), and traced (``dl.trace``) or called on variables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .. import numpy as dnp
from ..core import arrays as ir_arrays
from ..core import expr as ir
from ..core.expr import Expr
from ..fuzz.generate import random_expression
from ..tracer import trace


# ---- helpers ------------------------------------------------------------------------------
def balanced_sum(terms: Iterable[Expr]) -> Expr:
    """t_0 + t_1 + ... as a balanced tree of adds (depth ceil(log2 n)), built without recursion."""
    level = list(terms)
    if not level:
        raise ValueError("balanced_sum needs at least one term")
    while len(level) > 1:
        paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _check_int(problem: str, name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{problem}: parameter {name} must be an integer >= {low}, "
                         f"got {value!r}")
    return int(value)


def _check_choice(problem: str, name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{problem}: parameter {name} must be one of "
                         f"{', '.join(map(str, choices))}; got {value!r}")
    return value


# ---- Rosenbrock: sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 --------------------------------
def build_rosenbrock(n: int = 10) -> Expr:
    """Rosenbrock over n scalar variables x0 .. x{n-1} (n inputs to every method)."""
    n = _check_int("rosenbrock", "n", n, 2)
    x = [ir.variable(f"x{i}") for i in range(n)]
    return balanced_sum(100.0 * (x[i + 1] - x[i] ** 2.0) ** 2.0 + (1.0 - x[i]) ** 2.0
                        for i in range(n - 1))


def build_rosenbrock_vec(n: int = 10) -> Expr:
    """Rosenbrock over one array x of shape (n,). The IR has no indexing, so the shifted
    views are products with constant selection matrices: x[:-1] = S0 @ x, x[1:] = S1 @ x."""
    n = _check_int("rosenbrock_vec", "n", n, 2)
    x = ir.variable("x")
    head = ir.constant(np.eye(n - 1, n)) @ x          # x[:-1]
    tail = ir.constant(np.eye(n - 1, n, k=1)) @ x     # x[1:]
    return ir.sum(100.0 * (tail - head ** 2.0) ** 2.0 + (1.0 - head) ** 2.0)


def rosenbrock_function(x):
    """The n-D Rosenbrock function as a NumPy user writes it: slices shift the array."""
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def build_rosenbrock_slices(n: int = 10) -> Expr:
    """Rosenbrock over one array x of shape (n,), traced from ``rosenbrock_function`` (one
    IR for every n: the slices take their length from the point)."""
    _check_int("rosenbrock_slices", "n", n, 2)
    return trace(rosenbrock_function)


def _rosenbrock_draws(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-1.5, 1.5, size=n)  # around the valley, both signs


def sample_rosenbrock(rng: np.random.Generator, params: dict) -> dict:
    """x_i uniform in [-1.5, 1.5]; the same draws as ``sample_rosenbrock_vec`` for a seed."""
    return {f"x{i}": float(v) for i, v in enumerate(_rosenbrock_draws(rng, params["n"]))}


def sample_rosenbrock_vec(rng: np.random.Generator, params: dict) -> dict:
    return {"x": _rosenbrock_draws(rng, params["n"])}


# ---- sum of nonlinearities: sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2) --------------------
def build_sum_nonlinear(n: int = 10) -> Expr:
    """sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2) over scalar variables x0 .. x{n-1}."""
    n = _check_int("sum_nonlinear", "n", n, 1)
    x = [ir.variable(f"x{i}") for i in range(n)]
    return balanced_sum(ir.sin(xi) * ir.exp(xi / float(n)) + ir.log1p(xi * xi) for xi in x)


def build_sum_nonlinear_vec(n: int = 10) -> Expr:
    """The same function of one array x of shape (n,): elementwise ops, then one sum."""
    n = _check_int("sum_nonlinear_vec", "n", n, 1)
    x = ir.variable("x")
    return ir.sum(ir.sin(x) * ir.exp(x / float(n)) + ir.log1p(x * x))


def sample_sum_nonlinear(rng: np.random.Generator, params: dict) -> dict:
    """x_i uniform in [-2, 2]; the same draws as ``sample_sum_nonlinear_vec``."""
    return {f"x{i}": float(v) for i, v in enumerate(rng.uniform(-2, 2, size=params["n"]))}


def sample_sum_nonlinear_vec(rng: np.random.Generator, params: dict) -> dict:
    return {"x": rng.uniform(-2, 2, size=params["n"])}


# ---- a vector-valued family R^n -> R^m: y = tanh(A x + b) ----------------------------------
def vector_constants(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed A (m, n) ~ N(0, 1/n) and b (m,) ~ N(0, 0.1^2), seeded by (n, m) alone."""
    rng = np.random.default_rng([7, n, m])
    return rng.normal(0.0, 1.0 / np.sqrt(n), size=(m, n)), rng.normal(0.0, 0.1, size=m)


def build_vector_family(n: int = 8, m: int = 4) -> Expr:
    """y = tanh(A @ x + b): x of shape (n,), y of shape (m,); A, b constants (unit-scale
    pre-activations, so tanh is neither linear nor saturated)."""
    n = _check_int("vector_family", "n", n, 1)
    m = _check_int("vector_family", "m", m, 1)
    A, b = vector_constants(n, m)
    return ir.tanh(ir.constant(A) @ ir.variable("x") + ir.constant(b))


def sample_vector_family(rng: np.random.Generator, params: dict) -> dict:
    return {"x": rng.uniform(-1, 1, size=params["n"])}


# ---- log-sum-exp: log sum_i exp(x_i), by the IR's stable logsumexp ---------------------------
def build_logsumexp(n: int = 10) -> Expr:
    """log sum_i exp(x_i) by ``dl.logsumexp``, which shifts by the max inside, so it never
    overflows (the gradient is softmax(x))."""
    _check_int("logsumexp", "n", n, 1)
    return ir_arrays.logsumexp(ir.variable("x"))


def sample_logsumexp(rng: np.random.Generator, params: dict) -> dict:
    return {"x": rng.uniform(-10, 10, size=params["n"])}


# ---- MLP loss: mean((... act(X @ W1 + b1) ... @ W_L + b_L - Y)^2) ---------------------------
ACTIVATIONS: dict[str, Callable[[Expr], Expr]] = {
    "tanh": ir.tanh, "sigmoid": ir.sigmoid, "relu": ir.relu,
}
INITS = ("xavier", "he", "naive")


def mlp_layers(depth: int) -> int:
    """Number of affine layers: ``depth`` hidden layers plus the output layer."""
    return depth + 1


def mlp_parameters(params: dict) -> tuple[str, ...]:
    """The trainable variables in layer order: W1, b1, W2, b2, ... (X and Y are data)."""
    return tuple(f"{kind}{k}" for k in range(1, mlp_layers(params["depth"]) + 1)
                 for kind in ("W", "b"))


def build_mlp_loss(width: int = 8, depth: int = 2, batch: int = 8, inputs: int = 4,
                   outputs: int = 2, activation: str = "tanh", init: str = "xavier") -> Expr:
    """Mean squared error of an MLP with ``depth`` hidden layers of ``width`` units.

    Variables: data X (batch, inputs) and targets Y (batch, outputs), weights W_k and biases
    b_k (b_k broadcasts over the batch). ``init`` only affects the sampler.
    """
    for name, value, low in (("width", width, 1), ("depth", depth, 0), ("batch", batch, 1),
                             ("inputs", inputs, 1), ("outputs", outputs, 1)):
        _check_int("mlp_loss", name, value, low)
    act = ACTIVATIONS[_check_choice("mlp_loss", "activation", activation, ACTIVATIONS)]
    _check_choice("mlp_loss", "init", init, INITS)
    h = ir.variable("X")
    layers = mlp_layers(depth)
    for k in range(1, layers + 1):
        h = h @ ir.variable(f"W{k}") + ir.variable(f"b{k}")
        if k < layers:  # the output layer is linear
            h = act(h)
    residual = h - ir.variable("Y")
    return ir.mean(residual * residual)


def sample_mlp_loss(rng: np.random.Generator, params: dict) -> dict:
    """Weights by ``init`` (Xavier/Glorot normal: std sqrt(2/(fan_in+fan_out)); He: std
    sqrt(2/fan_in); naive: std 1), zero biases, X ~ N(0, 1), targets Y = tanh(X @ T) from a
    random teacher T, so the loss is learnable."""
    sizes = ([params["inputs"]] + [params["width"]] * params["depth"] + [params["outputs"]])
    point = {"X": rng.normal(size=(params["batch"], params["inputs"]))}
    teacher = rng.normal(0.0, 1.0 / np.sqrt(params["inputs"]),
                         size=(params["inputs"], params["outputs"]))
    point["Y"] = np.tanh(point["X"] @ teacher)
    return {**point, **_mlp_weights(rng, sizes, params["init"])}


def _mlp_weights(rng: np.random.Generator, sizes: list[int], init: str) -> dict:
    point = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        std = {"xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in),
               "naive": 1.0}[init]
        point[f"W{k}"] = rng.normal(0.0, std, size=(fan_in, fan_out))
        point[f"b{k}"] = np.zeros(fan_out)
    return point


# ---- MLP classifier: mean softmax cross-entropy of logits MLP(X) against one-hot labels Y ----
def classifier_loss(X, Y, layers, act):
    """The batched softmax cross-entropy of an MLP, written with ``difflab.numpy``: logits
    z = MLP(X) (``layers`` a list of (W, b), ``act`` between them), then
    mean over the batch of logsumexp(z_i) - z_i . y_i (y_i one-hot)."""
    z = X
    for k, (W, b) in enumerate(layers):
        z = z @ W + b
        if k < len(layers) - 1:  # the output layer is linear: its outputs are the logits
            z = act(z)
    return dnp.mean(dnp.logsumexp(z, axis=1) - dnp.sum(z * Y, axis=1))


def build_mlp_classifier(width: int = 8, depth: int = 2, batch: int = 8, inputs: int = 4,
                         classes: int = 3, activation: str = "tanh",
                         init: str = "xavier") -> Expr:
    """Mean softmax cross-entropy of an MLP classifier with ``depth`` hidden layers.

    Variables: data X (batch, inputs), one-hot labels Y (batch, classes), weights W_k, biases
    b_k. ``init`` only affects the sampler.
    """
    for name, value, low in (("width", width, 1), ("depth", depth, 0), ("batch", batch, 1),
                             ("inputs", inputs, 1), ("classes", classes, 2)):
        _check_int("mlp_classifier", name, value, low)
    act = ACTIVATIONS[_check_choice("mlp_classifier", "activation", activation, ACTIVATIONS)]
    _check_choice("mlp_classifier", "init", init, INITS)
    layers = [(ir.variable(f"W{k}"), ir.variable(f"b{k}")) for k in range(1, depth + 2)]
    return classifier_loss(ir.variable("X"), ir.variable("Y"), layers, act)


def sample_mlp_classifier(rng: np.random.Generator, params: dict) -> dict:
    """X ~ N(0, 1), labels the argmax of a random linear teacher X @ T (one-hot Y), weights
    by ``init`` and zero biases (as ``sample_mlp_loss``)."""
    sizes = [params["inputs"]] + [params["width"]] * params["depth"] + [params["classes"]]
    X = rng.normal(size=(params["batch"], params["inputs"]))
    teacher = rng.normal(size=(params["inputs"], params["classes"]))
    Y = np.eye(params["classes"])[np.argmax(X @ teacher, axis=1)]
    return {"X": X, "Y": Y, **_mlp_weights(rng, sizes, params["init"])}


# ---- nested compositions f(f(...f(x))): expression swell ------------------------------------
NESTED_BASES: dict[str, Callable[[Expr], Expr]] = {
    "sin": ir.sin,
    "tanh": ir.tanh,
    "sigmoid": ir.sigmoid,                           # the IR's sigmoid op
    "logistic": lambda u: 1.0 / (1.0 + ir.exp(-u)),  # the same function spelled out
    "exp": lambda u: ir.exp(-u),                     # damped: exp(-u) stays in (0, e] nested
}


def build_nested(depth: int = 6, base: str = "sin") -> Expr:
    """f(f(...f(x))) with ``depth`` applications of the base function."""
    depth = _check_int("nested", "depth", depth, 1)
    f = NESTED_BASES[_check_choice("nested", "base", base, NESTED_BASES)]
    u = ir.variable("x")
    for _ in range(depth):
        u = f(u)
    return u


def sample_nested(rng: np.random.Generator, params: dict) -> dict:
    return {"x": float(rng.uniform(-1, 1))}


# ---- the logistic map l_1 = x, l_{k+1} = 4 l_k (1 - l_k) (Baydin et al. 2018, table 1) ------
def build_logistic_map(n: int = 4) -> Expr:
    """l_n of the logistic map started at l_1 = x (a polynomial of degree 2^(n-1))."""
    n = _check_int("logistic_map", "n", n, 1)
    l = ir.variable("x")
    for _ in range(n - 1):
        l = 4.0 * l * (1.0 - l)
    return l


def logistic_reference_point(params: dict) -> dict:
    """x = 0.2, the point of Baydin et al.'s table and of the finite-difference experiments."""
    return {"x": 0.2}


def sample_logistic_map(rng: np.random.Generator, params: dict) -> dict:
    return {"x": float(rng.uniform(0.05, 0.95))}  # inside (0, 1), where the map lives


# ---- random expressions from the generator -------------------------------------------------
RANDOM_NAMES = ("x", "y", "z", "u", "v", "w")


def build_random(size: int = 8, nvars: int = 2, seed: int | None = None) -> Expr:
    """``random_expression(seed, names, size, domain_safe=True)``; ``seed`` is the instance's."""
    size = _check_int("random", "size", size, 1)
    nvars = _check_int("random", "nvars", nvars, 1)
    if nvars > len(RANDOM_NAMES):
        raise ValueError(f"random: parameter nvars must be <= {len(RANDOM_NAMES)}, got {nvars}")
    return random_expression(0 if seed is None else seed, RANDOM_NAMES[:nvars], size,
                             domain_safe=True)


def sample_random(rng: np.random.Generator, params: dict) -> dict:
    """Every candidate variable uniform in [-2, 2] (the instance keeps those the expression
    actually uses: the generator may leave one out)."""
    return {n: float(rng.uniform(-2, 2)) for n in RANDOM_NAMES[:params["nvars"]]}
