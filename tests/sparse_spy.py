"""Which sparse cotangents a sweep made: a spy on a sparse constructor (``of_extremum``,
``of_index``) that records, per call, whether it made one (True) or left the dense rule to
run (False), so a test can say that the sparse path ran."""

import sys


def spy_made(monkeypatch, module: str, name: str) -> list[bool]:
    """Wrap ``module.name`` for this test; returns the list the calls append to."""
    target = sys.modules[module]  # (by module object: difflab.reverse.sweep is also a function)
    real = getattr(target, name)
    made: list[bool] = []

    def counting(*args):
        out = real(*args)
        made.append(out is not None)
        return out

    monkeypatch.setattr(target, name, counting)
    return made
