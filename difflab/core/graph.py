"""Walks over the expression DAG: a topological order, and structural equality.

Both are iterative (an explicit stack), never recursive, so million-node chains are fine. They
read only a node's ``op``, ``args``, ``attr``, ``serial`` and hashes, and know no builders.
"""

from __future__ import annotations

import math
import struct

import numpy as np

FLOAT_BYTES = struct.Struct("<d").pack  # a float leaf's exact bytes (IEEE, little-endian)
LEAF_SALT = b"\x9e\x37\x79\xb9\x7f\x4a\x7c\x15"  # the second hash's leaves: other bytes


def _same_attr(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def structurally_equal(a, b) -> bool:
    """True when two DAGs spell the same expression. Iterative; shared pairs checked once."""
    stack = [(a, b)]
    seen: set[tuple[int, int]] = set()
    while stack:
        p, q = stack.pop()
        if p is q or (id(p), id(q)) in seen:
            continue
        if p._hash != q._hash or p._hash2 != q._hash2 or p.op != q.op or \
                len(p.args) != len(q.args):
            return False
        if not _same_attr(p.attr, q.attr):
            return False
        seen.add((id(p), id(q)))
        stack.extend(zip(p.args, q.args, strict=True))
    return True


def toposort(root) -> list:
    """Every node reachable from ``root``, arguments before users, each once.

    Collects the reachable nodes with an explicit stack, then orders them by creation serial:
    a node is always created after its arguments.
    """
    cache = root.cache()
    if "topo" in cache:
        return cache["topo"]
    seen = {root.serial: root}
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        for arg in pop().args:
            key = arg.serial
            if key not in seen:
                seen[key] = arg
                push(arg)
    order = list(map(seen.__getitem__, sorted(seen)))
    cache["topo"] = order
    return order


def leaf_bytes(attr) -> bytes:
    """The bytes a leaf's two hashes are made from: they determine its payload exactly.

    Not Python's ``hash`` of the payload: numbers hash by their value modulo 2^61 - 1 and
    ``hash(-1) == hash(-2)``, so ``x * -1.0`` and ``x * -2.0``, or ``sum(v, axis=-1)`` and
    ``axis=-2``, would share a fingerprint (and a cached derivative). A float is its IEEE
    bytes (so -0.0 and 0.0 differ), a name its UTF-8, an array its shape, dtype and bytes,
    anything else (a ``Param``, a NumPy scalar) its repr, each with a tag of its kind.
    """
    cls = attr.__class__
    if cls is float:
        return FLOAT_BYTES(attr)
    if cls is str:
        return b"s" + attr.encode("utf-8", "surrogatepass")
    if isinstance(attr, np.ndarray):
        return b"a" + repr((attr.shape, attr.dtype.str)).encode() + attr.tobytes()
    return b"r" + repr(attr).encode("utf-8", "surrogatepass")


def _attr_key(attr):
    """A hashable stand-in for a leaf's payload (arrays hash by shape and bytes)."""
    if isinstance(attr, np.ndarray):
        return (attr.shape, attr.tobytes())
    return attr
