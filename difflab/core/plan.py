"""A flat plan of an expression: its nodes in topological order, one slot each.

Every evaluator (the primal, the tangent push, the tape's backward sweep) walks a ``Plan``
instead of the graph: slot ``i`` holds node ``i``'s value, ``args[i]`` the slots of its
arguments. Compiling also merges structurally equal subexpressions (hash-consing on
``(op, attribute, argument slots)``), so ``sin(x) + sin(x)`` built twice is computed once and
two separately made ``variable("x")`` nodes share one slot. ``where(c, a, b)`` compiles to
``select(c, a) + select_not(c, b)`` (each branch through its own mask, as JAX's select
sends cotangents), so every engine walks ops of one or two arguments, and ``concat``, whose
third argument is its constant axis.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter

from .expr import Expr, toposort
from .graph import _attr_key


@dataclass(frozen=True, eq=False)
class Plan:
    """The compiled form of an expression; slot ``out`` holds its value."""

    ops: tuple[str, ...]                 # opcode per slot
    args: tuple[tuple[int, ...], ...]    # argument slots per slot (empty for leaves)
    attrs: tuple                         # constant value / variable name per slot, else None
    var_slots: dict[str, int]            # variable name -> its slot
    out: int                             # the slot of the expression's value
    nodes: tuple[Expr, ...] = field(repr=False)  # one representative node per slot
    # facts derived from the plan by other modules (slot shapes per variable shapes ...)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Number of slots: the DAG's node count after merging equal subexpressions."""
        return len(self.ops)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(sorted(self.var_slots))


PLAN_CACHE_SIZE = 64
_plans: OrderedDict[tuple[int, int], Plan] = OrderedDict()  # Expr.key -> plan, most recent last


def compile_plan(expr: Expr) -> Plan:
    """Compile ``expr`` once into a ``Plan``.

    The plan is kept on the node and, by the node's structural fingerprint (``Expr.key``), in
    a small table: a graph built afresh with the same structure (every step of a training
    loop) gets the plan already made without its nodes being visited.
    """
    cache = expr.cache()
    plan = cache.get("plan")
    if plan is not None:
        return plan
    key = expr.key
    plan = _plans.get(key)
    if plan is None:
        with gc_paused():  # a big graph makes a tuple per node: skip the collector's scans
            plan = _compile(expr)
        _plans[key] = plan
        if len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    cache["plan"] = plan
    return plan


def forget_plans() -> None:
    """Empty the fingerprint table (plans kept on nodes stay)."""
    _plans.clear()


def _compile(expr: Expr) -> Plan:
    # One step per node (this loop is the cost of compiling): the node's key is its op and
    # argument slots, or its op and payload for a leaf; the first node with a new key gets the
    # next slot. The keys, in slot order, then give ops and argument slots at C speed.
    nodes: list[Expr] = []                # the first node of each slot
    leaves: list[Expr] = []               # every leaf node (duplicates included)
    slot_of: dict[int, int] = {}          # node serial -> slot
    slot_by_key: dict[tuple, int] = {}    # (op, argument slots...) or (op, payload) -> slot
    setdefault, new_node, new_leaf = slot_by_key.setdefault, nodes.append, leaves.append
    count = 0
    for node in toposort(expr):
        node_args = node.args
        if len(node_args) == 2:  # (the common case first)
            key = (node.op, slot_of[node_args[0].serial], slot_of[node_args[1].serial])
        elif len(node_args) == 1:
            key = (node.op, slot_of[node_args[0].serial])
        elif node.op == "where":  # lowered: select(c, a) + select_not(c, b), binary ops
            c, a, b = (slot_of[arg.serial] for arg in node_args)
            halves = []
            for half in (("select", c, a), ("select_not", c, b)):
                slot = setdefault(half, count)
                if slot == count:
                    count += 1
                    new_node(node)
                halves.append(slot)
            key = ("add", *halves)
        elif node_args:  # concatenate: two arrays and the axis
            key = (node.op, *[slot_of[arg.serial] for arg in node_args])
        else:
            attr = node.attr
            key = (node.op, attr if attr.__class__ is float or attr.__class__ is str
                   else _attr_key(attr))
            new_leaf(node)
        slot = setdefault(key, count)
        if slot == count:  # a new slot (else an equal subexpression already has one)
            count += 1
            new_node(node)
        slot_of[node.serial] = slot
    keys = list(slot_by_key)  # in slot order: each key was inserted as its slot was made
    ops = tuple(map(itemgetter(0), keys))
    args = list(map(itemgetter(slice(1, None)), keys))
    attrs: list = [None] * count
    var_slots: dict[str, int] = {}
    for node in leaves:  # a leaf's key holds its payload, not argument slots
        slot = slot_of[node.serial]
        if attrs[slot] is None:  # the first of equal leaves (as nodes[slot]), in slot order
            attrs[slot] = node.attr
            args[slot] = ()
            if node.op == "var":
                var_slots[node.attr] = slot
    return Plan(ops, tuple(args), tuple(attrs), var_slots, slot_of[expr.serial], tuple(nodes))


@contextmanager
def gc_paused():
    """Pause the garbage collector: building millions of tuples (one per node) would otherwise
    trigger collections that scan them all again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
