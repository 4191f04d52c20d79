"""A process and its descendants: their resident memory, and killing them all (Linux /proc).

The worker's memory limit is a limit on everything a cell makes it run: a cell that starts a
subprocess (a compiler, a solver, a pool of workers) must not escape the limit by allocating
in the child. RLIMIT_AS cannot serve — it bounds address space, not memory, per process (JAX
alone reserves tens of GiB of address space) — and cgroups need privileges. So the parent
reads /proc itself:

- the tree: every process whose parent chain leads to the root, plus every process in the
  root's process group (the worker makes itself a group leader, so a grandchild whose parent
  died — reparented to init — still counts); one pass over /proc/<pid>/stat, ~1 ms for a
  hundred processes;
- its memory: the sum of VmRSS (/proc/<pid>/status). A forked child shares its parent's pages
  and VmRSS counts them in both, so where the sum passes a limit the tree is measured again by
  PSS (/proc/<pid>/smaps_rollup: each shared page divided among its sharers) before anyone is
  killed.

Only Linux's /proc and the standard library; where /proc is missing, the tree is the root
alone and its memory unknown (None).
"""

from __future__ import annotations

import os
import signal


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of ``pid`` from /proc/<pid>/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after
    # the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return int(fields[1]), int(fields[2])
    except (IndexError, ValueError):
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant of it (or member of its process group), root first.

    Args:
        root: a process id.
    Returns:
        the pids; just ``[root]`` where /proc cannot be listed.
    """
    try:
        names = os.listdir("/proc")
    except OSError:
        return [root]
    children: dict[int, list[int]] = {}
    tree = {root}
    for name in names:
        if not name.isdigit():
            continue
        pid = int(name)
        info = _stat(pid)
        if info is None or pid == root:
            continue
        ppid, pgrp = info
        children.setdefault(ppid, []).append(pid)
        if pgrp == root:
            tree.add(pid)
    stack = [root, *tree - {root}]
    while stack:  # iterative: a deep chain of subprocesses is no recursion
        for child in children.get(stack.pop(), ()):
            if child not in tree:
                tree.add(child)
                stack.append(child)
    return [root, *sorted(tree - {root})]


def _field_kib(path: str, key: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_mib(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (VmRSS), or None if unreadable."""
    kib = _field_kib(f"/proc/{pid}/status", "VmRSS:")
    return None if kib is None else kib / 1024


def pss_mib(pid: int) -> float | None:
    """Proportional resident memory of ``pid`` in MiB (shared pages split among their
    sharers; /proc/<pid>/smaps_rollup), falling back to VmRSS; None if unreadable."""
    kib = _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
    return rss_mib(pid) if kib is None else kib / 1024


def tree_memory_mib(pids: list[int], limit: float | None = None) -> float | None:
    """The resident memory of the processes ``pids`` together, in MiB.

    Args:
        pids: the tree (``process_tree``); processes gone since are left out.
        limit: where the VmRSS sum of several processes passes it, measure by PSS instead,
            so pages a forked child shares with its parent are counted once.
    Returns:
        the sum, or None when no process could be read.
    """
    values = [v for v in map(rss_mib, pids) if v is not None]
    if not values:
        return None
    total = sum(values)
    if limit is not None and total > limit and len(pids) > 1:
        shared = [v for v in map(pss_mib, pids) if v is not None]
        total = sum(shared) if shared else total
    return total


def kill_tree(root: int) -> list[int]:
    """SIGKILL ``root``, its descendants and its process group. Returns the pids signalled.

    The tree is read first, then the group and every member are killed; a process forked
    between the reading and the kill is caught by the group kill (children inherit the
    group), unless it left the group."""
    pids = process_tree(root)
    try:
        if os.getpgid(root) == root:
            os.killpg(root, signal.SIGKILL)
    except OSError:  # gone already, or not a group leader
        pass
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids
