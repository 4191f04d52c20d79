"""The expression IR: an immutable DAG of nodes (op, arguments, attribute).

Every differentiator reads this one IR. A node is an ``Expr``: ``op`` names the operation,
``args`` holds the argument nodes, ``attr`` holds a leaf's payload (a constant's value or a
variable's name). Nodes are built by ``variable``/``constant``, by Python operators
(``x * 2.0``, ``1.0 + x``, ``-x``, ``x ** 3``, ``A @ B``) and by the functions in ``OPS``
(``dl.sin`` ...). Equality and hashing are structural and cost O(1) per node to set up, so
two separately built identical expressions compare equal. Identity for caches is
``Expr.key``, a 128-bit structural fingerprint made with each node (a Merkle hash of the
DAG): a prepared derivative is found for a freshly built, equal graph without visiting it.
Nothing here recurses over the graph: ``toposort`` is an explicit stack, so million-node
chains are fine.
"""

from __future__ import annotations

import itertools
import keyword
import unicodedata
from collections.abc import Iterable

from .graph import FLOAT_BYTES, LEAF_SALT, leaf_bytes, structurally_equal, toposort
from .ops import ARRAY_FUNCTIONS, CONSTANTS, FUNCTIONS
from .params import Param, axes_param, index_param, perm_param, shape_param
from .printer import _SYMBOL, summary, to_text
from .reals import constant_value, describe
from .tracing import ShapeMixin

_SERIAL = itertools.count()
REPR_LIMIT = 120  # characters of text in repr(expr); str(expr) is the whole text


_new = object.__new__
_SALT = 0x9E3779B97F4A7C15  # makes the second hash's nodes differ from the first's
_PACK = FLOAT_BYTES  # a float constant's bytes, as graph.leaf_bytes (bound here: hot path)


def _arithmetic(op: str, reflected: bool):
    """The method behind ``a <op> b`` (``reflected``: ``b <op> a``).

    Building a graph from Python loops is a hot path (micrograd's MLP is ~30,000 scalar
    nodes), so when the other operand is a node or a Python float the node is made here
    directly: the same fields and hash as ``Expr.__init__``, without its generic checks.
    Anything else goes through ``_binary`` (constants from ints, arrays; NotImplemented).
    """
    def method(self, other):
        kind = other.__class__
        if kind is not Expr:
            if kind is not float:
                return _binary(op, other, self) if reflected else _binary(op, self, other)
            leaf = _new(Expr)  # the float as a constant leaf, as Expr("const", (), other)
            leaf.op = "const"
            leaf.args = ()
            leaf.attr = other
            leaf.serial = next(_SERIAL)
            data = _PACK(other)  # leaf_bytes(other), inline: the hot path
            leaf._hash = hash(("const", data))
            leaf._hash2 = hash((LEAF_SALT + data, "const"))
            other = leaf
        a, b = (other, self) if reflected else (self, other)
        node = _new(Expr)
        node.op = op
        node.args = (a, b)
        node.attr = None
        node.serial = next(_SERIAL)
        node._hash = hash((op, a._hash, b._hash))
        node._hash2 = hash((b._hash2, a._hash2, op))
        return node

    method.__name__ = f"__{'r' if reflected else ''}{_DUNDER[op]}__"
    method.__qualname__ = f"Expr.{method.__name__}"
    return method


_DUNDER = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv", "pow": "pow"}


class Expr(ShapeMixin):
    """One node of the expression DAG. Treat as immutable; ``==`` compares structure.
    (``shape``, ``len`` and iteration answer inside a traced function: see tracing.py.)"""

    __slots__ = ("op", "args", "attr", "serial", "_hash", "_hash2", "_cache", "__weakref__")
    # NumPy must defer to our reflected operators: ``array * x`` builds a node.
    __array_ufunc__ = None

    def __init__(self, op: str, args: tuple[Expr, ...] = (), attr=None):
        self.op = op
        self.args = args
        self.attr = attr
        # Arguments exist before their users, so creation order is a topological order.
        self.serial = next(_SERIAL)
        # Two independent structural hashes (different inputs in a different order), so
        # ``key`` = both is a 128-bit fingerprint of the whole DAG made in O(1) per node.
        if len(args) == 2:  # (binary first: the most common node of a built graph)
            a, b = args
            self._hash = hash((op, a._hash, b._hash))
            self._hash2 = hash((b._hash2, a._hash2, op))
        elif len(args) == 1:
            self._hash = hash((op, args[0]._hash))
            self._hash2 = hash((args[0]._hash2, op, _SALT))
        elif args:  # where, concat: every argument
            self._hash = hash((op, *[a._hash for a in args]))
            self._hash2 = hash((*[a._hash2 for a in args[::-1]], op, _SALT))
        else:
            data = leaf_bytes(attr)  # a number, a name, an array, a Param: exactly
            self._hash = hash((op, data))
            self._hash2 = hash((LEAF_SALT + data, op))
        # self._cache (derived facts: topological order, plans; never the structure) is made
        # by cache() on first use: most nodes of a big graph never need one.

    def cache(self) -> dict:
        """Facts derived from this node's structure (topological order, plans), kept on it."""
        try:
            return self._cache
        except AttributeError:
            self._cache = {}
            return self._cache

    # ---- structure -------------------------------------------------------------------
    @property
    def variables(self) -> tuple[str, ...]:
        """Names of the variables the expression depends on, sorted."""
        cache = self.cache()
        if "variables" not in cache:
            plan = cache.get("plan")  # (a compiled plan already knows them)
            cache["variables"] = tuple(sorted(plan.var_slots if plan is not None else
                                              {n.attr for n in toposort(self) if n.op == "var"}))
        return cache["variables"]

    @property
    def key(self) -> tuple[int, int]:
        """A 128-bit structural fingerprint: equal for structurally equal expressions, and
        (as a content hash) different otherwise but with probability ~2^-128. Made with the
        node, so caches look expressions up by it in O(1), never walking the graph."""
        return (self._hash, self._hash2)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if not isinstance(other, Expr):
            return NotImplemented
        if self is other:
            return True
        if self._hash != other._hash or self._hash2 != other._hash2:
            return False
        return structurally_equal(self, other)

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __bool__(self):
        raise TypeError("an expression has no truth value: Python control flow (if, while, "
                        "and, or) cannot depend on a traced value; use dl.where(condition, a, "
                        "b) to choose between values, or compare with == for structure")

    def _repr_svg_(self) -> str:  # Jupyter: the graph drawn (a summary for a large one)
        from ..draw.svg import svg_of_nodes

        return svg_of_nodes(self)

    def __repr__(self) -> str:  # bounded: a DAG's full text can be astronomically long
        return f"Expr({summary(self, REPR_LIMIT)!r})"

    def __str__(self) -> str:
        return to_text(self)

    # ---- operators build nodes -------------------------------------------------------
    # a + b, b + a, ...: see _arithmetic (the hot path of building graphs)
    __add__, __radd__ = _arithmetic("add", False), _arithmetic("add", True)
    __sub__, __rsub__ = _arithmetic("sub", False), _arithmetic("sub", True)
    __mul__, __rmul__ = _arithmetic("mul", False), _arithmetic("mul", True)
    __truediv__, __rtruediv__ = _arithmetic("div", False), _arithmetic("div", True)
    __pow__, __rpow__ = _arithmetic("pow", False), _arithmetic("pow", True)

    def __matmul__(self, other): return _binary("matmul", self, other)
    def __rmatmul__(self, other): return _binary("matmul", other, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __getitem__(self, key): return index(self, key)
    # comparisons build 0/1 masks (== and != stay structural equality; see dl.equal)
    def __lt__(self, other): return _binary("lt", self, other)
    def __le__(self, other): return _binary("le", self, other)
    def __gt__(self, other): return _binary("gt", self, other)
    def __ge__(self, other): return _binary("ge", self, other)

    # ---- NumPy-style methods ---------------------------------------------------------
    def sum(self, axis=None, keepdims=False) -> Expr:
        """Sum over ``axis`` (all axes by default), as ``ndarray.sum``."""
        return sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False) -> Expr:
        """Mean over ``axis`` (all axes by default)."""
        return mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False) -> Expr:
        """Product over ``axis`` (all axes by default)."""
        return prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False) -> Expr:
        """Maximum over ``axis`` (all axes by default); ties share the derivative."""
        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False) -> Expr:
        """Minimum over ``axis`` (all axes by default); ties share the derivative."""
        return min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape) -> Expr:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; one entry may be -1."""
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes) -> Expr:
        """Reverse the axes, or permute them: ``A.transpose(1, 0, 2)``."""
        return transpose(self, (axes[0] if len(axes) == 1 else axes) if axes else None)

    @property
    def T(self) -> Expr:
        """Transpose (reverses the axes, as NumPy's ``.T``)."""
        return transpose(self)


# ---- leaves -----------------------------------------------------------------------------
def variable(name: str) -> Expr:
    """A variable named ``name`` (a Python identifier, not a function or constant name).

    Args:
        name: the variable's name; its value (float or array) comes from the point.
    Returns:
        the leaf node.
    """
    if not isinstance(name, str):
        raise TypeError(f"a variable name must be a string, got {type(name).__name__}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"invalid variable name {name!r}: it must be a Python identifier")
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:  # (Python, and so the parser, reads the name as its NFKC form)
        raise ValueError(f"invalid variable name {name!r}: Python reads it as {normal!r} "
                         f"(Unicode NFKC), so its text would name another variable; use "
                         f"{normal!r}")
    if name in FUNCTIONS or name in ARRAY_FUNCTIONS or name in CONSTANTS:
        raise ValueError(f"invalid variable name {name!r}: it is a function or constant name")
    return Expr("var", (), name)


def variables(names: str | Iterable[str]) -> tuple[Expr, ...]:
    """Several variables at once: ``x, y = variables("x y")`` (or ``"x, y"``, or a list)."""
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    elif isinstance(names, Expr) or not isinstance(names, Iterable):  # (an Expr refuses iter)
        raise TypeError(f"variables() takes names (a string or a list), got {names!r}")
    return tuple(variable(n) for n in names)


def constant(value) -> Expr:
    """A constant leaf: a real number (stored as float64) or a real array (a frozen copy).

    Raises:
        TypeError: not a real number or array (a string, a bool, complex, ...).
        ValueError: a number beyond float64's range (``10**400``; see ``reals``).
    """
    if isinstance(value, Expr):
        return value
    return Expr("const", (), constant_value(value))


def _as_expr(value) -> Expr:
    kind = value.__class__
    if kind is Expr:
        return value
    if kind is float:  # the common case, kept cheap: building graphs is a hot path
        return Expr("const", (), value)
    return constant(value)


def _binary(op: str, a, b) -> Expr:
    try:
        return Expr(op, (_as_expr(a), _as_expr(b)))
    except TypeError:
        return NotImplemented  # (Python then tries the other operand, or says the types)
    except ValueError as err:  # a number beyond float64: say which operation it was in
        raise ValueError(f"cannot build {describe(a, 40)} {_SYMBOL[op]} {describe(b, 40)}: "
                         f"{err}") from None


def _unary(op: str, a) -> Expr:
    return Expr(op, (_as_expr(a),))


# ---- the functions of the grammar --------------------------------------------------------
def neg(a) -> Expr:
    """-a. A negated number folds into a negative constant (so ``-2`` is one leaf)."""
    a = _as_expr(a)
    if a.op == "const" and isinstance(a.attr, float):
        return Expr("const", (), -a.attr)
    return Expr("neg", (a,))


def sin(a) -> Expr: return _unary("sin", a)
def cos(a) -> Expr: return _unary("cos", a)
def tan(a) -> Expr: return _unary("tan", a)
def asin(a) -> Expr: return _unary("asin", a)
def acos(a) -> Expr: return _unary("acos", a)
def atan(a) -> Expr: return _unary("atan", a)
def sinh(a) -> Expr: return _unary("sinh", a)
def cosh(a) -> Expr: return _unary("cosh", a)
def tanh(a) -> Expr: return _unary("tanh", a)
def exp(a) -> Expr: return _unary("exp", a)
def log(a) -> Expr: return _unary("log", a)
def log1p(a) -> Expr: return _unary("log1p", a)
def expm1(a) -> Expr: return _unary("expm1", a)
def sqrt(a) -> Expr: return _unary("sqrt", a)
def abs(a) -> Expr: return _unary("abs", a)  # noqa: A001 - the grammar's name
def sigmoid(a) -> Expr: return _unary("sigmoid", a)
def relu(a) -> Expr: return _unary("relu", a)
def softplus(a) -> Expr: return _unary("softplus", a)
def square(a) -> Expr: return _unary("square", a)


def _param(p: Param) -> Expr:
    """The constant leaf carrying an op's parameters (never a number: see params.py)."""
    return Expr("const", (), p)


def _reduce(op_all: str | None, op_axes: str, a, axis, keepdims) -> Expr:
    a = _as_expr(a)
    if op_all is not None and axis is None and keepdims is False:
        return Expr(op_all, (a,))  # every axis to a scalar: the plain reduction
    return Expr(op_axes, (a, _param(axes_param(axis, keepdims))))


def sum(a, axis=None, keepdims=False) -> Expr:  # noqa: A001 - the grammar's name
    """Sum over ``axis`` (an int or tuple, negative allowed; every axis by default)."""
    return _reduce("sum", "reduce_sum", a, axis, keepdims)


def mean(a, axis=None, keepdims=False) -> Expr:
    """Mean over ``axis`` (every axis by default)."""
    return _reduce("mean", "reduce_mean", a, axis, keepdims)


def prod(a, axis=None, keepdims=False) -> Expr:
    """Product over ``axis`` (every axis by default)."""
    return _reduce(None, "reduce_prod", a, axis, keepdims)


_ELEMENTWISE = object()  # max(a) reduces; max(a, b) is elementwise


def _extremum(op: str, a, b, axis, keepdims) -> Expr:
    if b is _ELEMENTWISE:
        return _reduce(None, f"reduce_{op}", a, axis, keepdims)
    if axis is not None or keepdims:
        raise TypeError(f"{op}(a, b) is elementwise and takes no axis or keepdims; "
                        f"{op}(a, axis=...) reduces over an axis")
    return Expr(op, (_as_expr(a), _as_expr(b)))


def max(a, b=_ELEMENTWISE, *, axis=None, keepdims=False) -> Expr:  # noqa: A001
    """``max(a)``: the largest element (over ``axis``); ``max(a, b)``: elementwise."""
    return _extremum("max", a, b, axis, keepdims)


def min(a, b=_ELEMENTWISE, *, axis=None, keepdims=False) -> Expr:  # noqa: A001
    """``min(a)``: the smallest element (over ``axis``); ``min(a, b)``: elementwise."""
    return _extremum("min", a, b, axis, keepdims)


def index(a, key) -> Expr:
    """``a[key]`` with constant ints, slices, ``None``, ``...`` and one list of ints."""
    return Expr("index", (_as_expr(a), _param(index_param(key))))


def reshape(a, shape) -> Expr:
    """``a`` with a new shape of the same size (one entry may be -1)."""
    return Expr("reshape", (_as_expr(a), _param(shape_param(shape))))


def transpose(a, axes=None) -> Expr:
    """Reverse the axes (``a.T``), or permute them by ``axes``."""
    if axes is None:
        return _unary("transpose", a)
    return Expr("permute", (_as_expr(a), _param(perm_param(axes))))


def add(a, b) -> Expr: return Expr("add", (_as_expr(a), _as_expr(b)))
def sub(a, b) -> Expr: return Expr("sub", (_as_expr(a), _as_expr(b)))
def mul(a, b) -> Expr: return Expr("mul", (_as_expr(a), _as_expr(b)))
def div(a, b) -> Expr: return Expr("div", (_as_expr(a), _as_expr(b)))
def pow(a, b) -> Expr: return Expr("pow", (_as_expr(a), _as_expr(b)))  # noqa: A001
def matmul(a, b) -> Expr: return Expr("matmul", (_as_expr(a), _as_expr(b)))
