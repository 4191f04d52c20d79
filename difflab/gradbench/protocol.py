"""The line loop of GradBench's protocol: read a JSON message per line, write one answer.

``serve(tool, lines, write)`` answers each message with ``{"id": <its id>, ...}`` (see
``tool.Tool``) and flushes, in lockstep. What it cannot answer ends the session with a clear
error on stderr and status 2: a line that is not JSON, or a message that is not an object with
an integer ``id`` (an answer needs the id; skipping the line would leave the eval waiting for
ever). The input closing is the normal end (the eval is done): status 0. Nothing but answers
goes to standard output: whatever a library prints while a message is handled goes to stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import sys
from collections.abc import Callable, Iterable

from .tool import Tool

PROTOCOL_ERROR = 2


class ProtocolError(ValueError):
    """A line the tool cannot answer (not JSON, no id)."""


def parse_message(line: str, number: int) -> dict:
    """One line as a message, or a ProtocolError saying what is wrong with it."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as err:
        shown = line.strip()
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ProtocolError(f"line {number} is not JSON ({err.msg} at column {err.colno}): "
                            f"{shown!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"line {number} is a JSON {type(message).__name__}, not a message "
                            f"object")
    ident = message.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ProtocolError(f"line {number}: the message has no integer id (got "
                            f"{ident!r}), so it cannot be answered")
    return message


def serve(tool: Tool, lines: Iterable[str], write: Callable[[str], None],
          log: Callable[[str], None] | None = None) -> int:
    """Answer every message of ``lines``; returns the exit status (0, or 2 on a protocol error).

    Args:
        tool: the Tool answering.
        lines: the input, one message per line (blank lines are skipped).
        write: writes one answer line (with its newline) and flushes.
        log: where errors go (default: stderr).
    """
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message = parse_message(line, number)
        except ProtocolError as err:
            log(f"difflab gradbench: error: {err}; the session ends (status "
                f"{PROTOCOL_ERROR})")
            return PROTOCOL_ERROR
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries answers only
            answer = tool.handle(message)
        count += 1
        if answer is None:  # "end": the eval expects no answer and is done
            return 0
        write(json.dumps({"id": message["id"], **answer}) + "\n")
    log(f"difflab gradbench: the input closed after {count} message(s); done")
    return 0


# glibc's malloc returns freed memory to the system past a dynamic threshold (mmap for blocks
# over 128 KiB at first, trimming the heap top); which happens depends on what the process did
# before, and each returned page is faulted in again by the next run. GradBench times many runs
# of the same function, whose temporaries (a tape's values, n x k matrices) are the same sizes
# every run: keeping freed memory in the heap (never mmap, never trimming below 1 GiB) makes
# every run after the first reuse it, primal and derivative alike. (glibc caps the mmap
# threshold at 32 MiB, so k-means' 80 MB n x k matrices were mapped and faulted in afresh
# every run: its cost at k = 1000, n = 10,000, d = 16 took 42-47 ms that way, 26 ms from the
# heap, as long as GradBench's JAX tool.)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # mallopt's parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Keep this process's freed memory in its heap for the next run: no mmap, a high trim
    threshold. False where there is no glibc (the setting is then left to the system)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2 ** 20) and
                    libc.mallopt(M_MMAP_MAX, 0) and
                    libc.mallopt(M_TRIM_THRESHOLD, 2 ** 30))
    except (OSError, AttributeError):
        return False


def main(method: str) -> int:
    """Serve standard input and output with ``method``; returns the exit status."""
    kept = keep_freed_memory()
    if not kept:
        print("difflab gradbench: note: not glibc; freed memory goes back to the system as it "
              "decides (timings may include page faults)", file=sys.stderr, flush=True)
    tool = Tool(method)
    out = sys.stdout

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    return serve(tool, sys.stdin, write)
