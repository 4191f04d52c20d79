"""A flat plan of an expression: its nodes in topological order, one slot each.

Every evaluator (the primal, the tangent push, the tape's backward sweep) walks a ``Plan``
instead of the graph: slot ``i`` holds node ``i``'s value, ``args[i]`` the slots of its
arguments. Compiling also merges structurally equal subexpressions (hash-consing on
``(op, attribute, argument slots)``), so ``sin(x) + sin(x)`` built twice is computed once and
two separately made ``variable("x")`` nodes share one slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Expr, _attr_key, toposort


@dataclass(frozen=True, eq=False)
class Plan:
    """The compiled form of an expression; slot ``out`` holds its value."""

    ops: tuple[str, ...]                 # opcode per slot
    args: tuple[tuple[int, ...], ...]    # argument slots per slot (empty for leaves)
    attrs: tuple                         # constant value / variable name per slot, else None
    var_slots: dict[str, int]            # variable name -> its slot
    out: int                             # the slot of the expression's value
    nodes: tuple[Expr, ...] = field(repr=False)  # one representative node per slot

    @property
    def size(self) -> int:
        """Number of slots: the DAG's node count after merging equal subexpressions."""
        return len(self.ops)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(sorted(self.var_slots))


def compile_plan(expr: Expr) -> Plan:
    """Compile ``expr`` once into a ``Plan`` (cached on the node)."""
    cache = expr.cache()
    if "plan" in cache:
        return cache["plan"]
    ops: list[str] = []
    args: list[tuple[int, ...]] = []
    attrs: list = []
    nodes: list[Expr] = []
    slot_of: dict[int, int] = {}          # node serial -> slot
    slot_by_key: dict[tuple, int] = {}    # (op, attribute, argument slots) -> slot
    for node in toposort(expr):
        node_args = node.args
        if not node_args:
            arg_slots = ()
            key = (node.op, _attr_key(node.attr))
        elif len(node_args) == 1:
            arg_slots = (slot_of[node_args[0].serial],)
            key = (node.op, arg_slots)
        else:
            arg_slots = (slot_of[node_args[0].serial], slot_of[node_args[1].serial])
            key = (node.op, arg_slots)
        slot = slot_by_key.get(key)
        if slot is None:
            slot = len(ops)
            slot_by_key[key] = slot
            ops.append(node.op)
            args.append(arg_slots)
            attrs.append(node.attr)
            nodes.append(node)
        slot_of[node.serial] = slot
    var_slots = {attrs[i]: i for i, op in enumerate(ops) if op == "var"}
    plan = Plan(tuple(ops), tuple(args), tuple(attrs), var_slots, slot_of[expr.serial],
                tuple(nodes))
    cache["plan"] = plan
    return plan
