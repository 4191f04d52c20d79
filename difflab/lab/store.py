"""The results store: one directory per run, rows appended one JSON line at a time.

    results/<run-id>/meta.json    the run's context: machine, versions, commit, seed, config,
                                  threads, start and end time (rewritten atomically)
    results/<run-id>/rows.jsonl   one measurement per line, append-only; each write is one
                                  line, flushed and fsync'ed before the next cell starts

Every row carries a deterministic ``cell_id`` so a killed run can be resumed: ``Run.open``
reads the finished cells and the runner skips them. A kill mid-write leaves at most one
partial last line; it is cut off with a warning (so the next row starts on a fresh line) and
that cell runs again. A line that is JSON but not a row (not an object, or without the
``cell_id`` every row carries), or is nested too deeply to parse, is skipped with a warning
naming its line; it stays in the file (append-only: nothing is ever deleted), and its cell
runs again. A lock file (flock, released by the kernel when the process dies; it holds the
owner's pid) stops two processes appending to one run (``RunLocked``). ``load`` reads runs
back into one pandas DataFrame; ``load_meta`` a run's meta.json (a ValueError naming the file
when it is not a JSON object).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from .machine import describe_machine

ROWS, META, LOCK = "rows.jsonl", "meta.json", ".lock"
REQUIRED = ("cell_id",)  # the fields every row has (Run.append writes run_id too)
MAX_DEPTH = 64  # nesting a row or meta.json may have (a row has 3 or 4 levels; pandas and
#                 the studies recurse over what is read, Python's parser at about 1,000)


def too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON nests lists and objects more than ``limit`` levels (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        inner = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in inner if isinstance(v, dict | list))
    return False


def _parse(text: bytes | str):
    """``json.loads(text)``; RecursionError also for JSON nested over ``MAX_DEPTH`` levels
    (walked only when the text has enough brackets to be)."""
    value = json.loads(text)
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    if sum(text.count(c) for c in opening) > MAX_DEPTH and too_deep(value):
        raise RecursionError(f"nested over {MAX_DEPTH} levels")
    return value


class RunLocked(RuntimeError):
    """The run is open in another process (one writer per run)."""


class BadRun(ValueError):
    """A run's meta.json that is not what a run writes (the message names the file)."""


def writable_dir(path: str | os.PathLike, what: str = "directory") -> Path:
    """``path`` as a directory this process can write into, created if missing.

    Checked before long work starts, so a read-only results or report directory is found in
    a second, not after an hour's sweep.

    Args:
        path: the directory.
        what: what it is for, for the message ("results directory").
    Raises:
        PermissionError: naming the directory, when it cannot be created or written.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise PermissionError(errno.EACCES, f"cannot create the {what}", str(path)) from None
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, f"the {what} is not a directory",
                                 str(path)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"the {what} is not writable", str(path))
    return path


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are fsync'ed, then renamed over
    ``path`` (``os.replace`` is atomic on POSIX).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def new_run_id() -> str:
    """A sortable, unique run id: ``20250101-120000-3fa2``."""
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def read_rows(path: str | os.PathLike, repair: bool = False) -> list[dict]:
    """The rows of a ``rows.jsonl``; a partial last line is dropped with a warning.

    Args:
        path: the rows file.
        repair: also cut the partial line off the file, so appends start on a fresh line.
    Returns:
        the parsed rows, in file order. Unreadable lines elsewhere (nested too deeply
        included), and JSON that is not a row (not an object, or without a ``cell_id``), are
        skipped with a warning naming the file and the line.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = _parse(line)
        except RecursionError:  # whole, perhaps, but too deep: keep it, skip it
            warnings.warn(f"{path}: line {number} is nested too deeply to read (over "
                          f"{MAX_DEPTH} levels, {len(line)} bytes); it is left in the file "
                          f"and ignored", RuntimeWarning, stacklevel=2)
            continue
        except ValueError:
            last = number == len(lines)  # no newline after it: the write was cut short
            kind = "truncated last line" if last else f"unreadable line {number}"
            warnings.warn(f"{path}: {kind} ({len(line)} bytes) ignored; that cell will run "
                          f"again", RuntimeWarning, stacklevel=2)
            continue
        problem = _not_a_row(row)
        if problem:
            warnings.warn(f"{path}: line {number} is not a row ({problem}); it is left in the "
                          f"file and ignored", RuntimeWarning, stacklevel=1)
            continue
        rows.append(row)
    if data and not data.endswith(b"\n") and repair:
        tail = lines[-1]
        try:
            try:
                json.loads(tail)   # a whole row missing only its newline: keep it
            except RecursionError:
                pass               # too deep to tell: kept (and ignored), as elsewhere
            with open(path, "ab") as f:
                f.write(b"\n")
        except ValueError:
            os.truncate(path, len(data) - len(tail))
    return rows


def _not_a_row(row) -> str | None:
    """Why parsed JSON is not a results row, or None."""
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__}, not an object"
    missing = [k for k in REQUIRED if not isinstance(row.get(k), str) or not row[k]]
    return f"no {', '.join(missing)}" if missing else None


class Run:
    """An open run directory: append rows, know the finished cells, keep meta.json current."""

    def __init__(self, path: Path, meta: dict, rows: list[dict], lock):
        self.path = path
        self.meta = meta
        self.done: set[str] = {r["cell_id"] for r in rows if "cell_id" in r}
        self.n_rows = len(rows)
        self._lock = lock
        self._rows = open(path / ROWS, "a", encoding="utf-8")  # noqa: SIM115

    @staticmethod
    def _acquire(path: Path):
        """An exclusive lock on the run (the kernel drops it when this process dies); the
        lock file holds the owner's pid, for the message another process gets."""
        denied = PermissionError(errno.EACCES, "the run directory is not writable", str(path))
        if not os.access(path, os.W_OK | os.X_OK):  # meta.json is replaced, rows appended
            raise denied
        try:
            lock = open(path / LOCK, "a+")  # noqa: SIM115 - held for the run's lifetime
        except PermissionError:
            raise denied from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read(32).strip()
            lock.close()
            by = f" (pid {owner})" if owner.isdigit() else ""
            raise RunLocked(f"run {path} is open in another process{by}; wait for it to "
                            f"finish, or stop it") from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        return lock

    @property
    def run_id(self) -> str:
        return self.meta["run_id"]

    @classmethod
    def create(cls, root: str | os.PathLike = "results", run_id: str | None = None,
               config: Mapping | None = None, seed: int | None = None, **extra) -> Run:
        """A new run directory ``root/<run-id>/`` with meta.json describing the context.

        Args:
            root: the results directory.
            run_id: the directory name (default: timestamp + random suffix).
            config: the experiment's configuration (JSON-able), stored in meta.
            seed: the base seed.
            extra: more meta fields (e.g. ``experiment=``).
        """
        run_id = run_id or new_run_id()
        path = Path(root) / run_id
        path.mkdir(parents=True, exist_ok=False)
        lock = cls._acquire(path)
        meta = {"run_id": run_id, "start_time": _now(), "end_time": None, "seed": seed,
                "config": dict(config or {}), **describe_machine(), **extra}
        atomic_write(path / META, json.dumps(meta, indent=2, default=str))
        return cls(path, meta, [], lock)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Run:
        """Reopen a run to resume it: finished cells in ``run.done``, a partial line repaired."""
        path = Path(path)
        if not (path / META).exists():
            raise FileNotFoundError(f"{path} is not a run directory (no {META})")
        lock = cls._acquire(path)
        meta = load_meta(path)
        meta.setdefault("resumed", []).append(_now())
        meta["end_time"] = None
        atomic_write(path / META, json.dumps(meta, indent=2, default=str))
        return cls(path, meta, read_rows(path / ROWS, repair=True), lock)

    def append(self, row: Mapping) -> None:
        """Write one row as one line, flushed and fsync'ed (it survives a kill right after)."""
        row = {"run_id": self.run_id, **row}
        line = json.dumps(row, default=_jsonable) + "\n"
        self._rows.write(line)
        self._rows.flush()
        os.fsync(self._rows.fileno())
        if "cell_id" in row:
            self.done.add(row["cell_id"])
        self.n_rows += 1

    def update_meta(self, **fields) -> None:
        """Add or change meta fields (rewritten atomically)."""
        self.meta.update(fields)
        atomic_write(self.path / META, json.dumps(self.meta, indent=2, default=str))

    def rows(self) -> list[dict]:
        """Every row written so far."""
        return read_rows(self.path / ROWS)

    def close(self, finished: bool = True) -> None:
        """Record the end time (when ``finished``) and release the files."""
        if self._rows.closed:
            return
        if finished:
            self.update_meta(end_time=_now(), n_rows=self.n_rows)
        self._rows.close()
        self._lock.close()

    def discard(self) -> None:
        """Close and remove a run that has no rows (its sweep stopped before the first cell:
        a refused config leaves no unfinished run behind). A run with rows, or with files of
        its own, is kept."""
        self.close(finished=False)
        if self.n_rows or read_rows(self.path / ROWS):
            return
        for name in (META, ROWS, LOCK):
            (self.path / name).unlink(missing_ok=True)
        try:
            self.path.rmdir()
        except OSError:  # something else in it: kept
            pass

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(finished=exc_type is None)


def _jsonable(value):
    """JSON for what json does not know: NumPy scalars and arrays, tuples, anything by str."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def load_meta(path: str | os.PathLike) -> dict:
    """The meta.json of a run directory: a JSON object.

    Raises:
        BadRun: (a ValueError) naming the file, when it is not JSON (or too deeply nested to
            read) or not an object.
    """
    file = Path(path) / META
    try:
        meta = _parse(file.read_text(encoding="utf-8"))
    except RecursionError:
        raise BadRun(f"{file} is nested too deeply to read (over {MAX_DEPTH} levels)") \
            from None
    except ValueError as err:  # (a JSONDecodeError or a UnicodeDecodeError)
        raise BadRun(f"{file} is not valid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise BadRun(f"{file} is a JSON {type(meta).__name__}, not an object")
    return meta


def experiment_of(meta: Mapping, path: str | os.PathLike) -> str | None:
    """The experiment the meta.json of run directory ``path`` names; None when it has no
    ``experiment`` (a run made with ``Run.create`` alone).

    Raises:
        BadRun: naming the file, when ``experiment`` is there but is not a name (a string).
    """
    if "experiment" not in meta:
        return None
    name = meta["experiment"]
    if not isinstance(name, str) or not name.strip():
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        raise BadRun(f"{Path(path) / META}: \"experiment\" must be the experiment's name (a "
                     f"non-empty string), not {shown}")
    return name


def load(paths: str | os.PathLike | Iterable[str | os.PathLike]):
    """One pandas DataFrame of the rows of one or several runs.

    Args:
        paths: a run directory or several.
    Returns:
        a DataFrame, one row per measurement, with a ``run_id`` column; nested fields are
        flattened with dots (``params.n``, ``time.median``, ``info.tree_ops``).
    """
    import pandas as pd

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    rows = []
    for path in paths:
        run_id = load_meta(path).get("run_id", Path(path).name)
        rows.extend({**r, "run_id": r.get("run_id", run_id)} for r in read_rows(Path(path) / ROWS))
    if not rows:
        return pd.DataFrame({"run_id": pd.Series(dtype=str)})
    return pd.json_normalize(rows, max_level=1)
