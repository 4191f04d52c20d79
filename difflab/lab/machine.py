"""What a result was measured on: machine, versions, commit — so every run describes itself.

In the spirit of pytest-benchmark's ``machine_info`` and ``commit_info``: a number without its
machine, library versions and code version cannot be compared with anything.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "sympy", "mpmath", "jax", "jaxlib", "pandas", "numdifftools", "scipy",
             "difflab")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_mib() -> int | None:
    """Total memory in MiB from /proc/meminfo, or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def versions() -> dict[str, str | None]:
    """Installed versions of the libraries that shape the numbers (without importing them)."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_info(directory: str | os.PathLike | None = None) -> dict:
    """The commit of the source tree and whether tracked files differ from it (the generated
    ``reports/`` aside: a report run rewrites it, so it would mark every second run dirty).

    Args:
        directory: inside the repository (default: this package's source tree).
    Returns:
        {"commit": sha or None, "dirty": bool or None} (None when git or the repo is absent).
    """
    directory = Path(directory or Path(__file__).resolve().parents[2])

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=directory, capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                 ":(exclude)reports") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def describe_machine() -> dict:
    """{"machine": ..., "versions": ..., "git": ...} for a run's meta.json."""
    return {
        "machine": {"platform": platform.platform(), "cpu": cpu_model(),
                    "cores": os.cpu_count(), "memory_mib": memory_mib(),
                    "python": sys.version.split()[0], "executable": sys.executable},
        "versions": versions(),
        "git": git_info(),
    }
