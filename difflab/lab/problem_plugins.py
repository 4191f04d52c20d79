"""Problems from outside the registry: a user's module, or an installed package.

``get_problem(name)`` (``problems``) looks a name up in the registry first, then here:

- ``"package.module:attribute"`` — an import path, usable wherever a config names a problem
  (``"problems": ["my_problems:quartic"]``). The attribute is a problem (an object with
  ``instance(params, seed)``, typically a ``difflab.lab.problems.Problem``) or a function of
  no arguments that returns one. The problem is known by that path: rows record it, and a
  worker process imports the same path to get the same problem.
- the entry points of the group ``difflab.problems``: an installed package declares
  ``name = "package.module:attribute"``; the entry point's name is the problem's. They are
  read on the first name not in the registry (not on import) and imported on first use.

A ``Problem`` loaded either way is renamed to the name it was found by, so that pickling it
(by name) finds it again in another process.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import warnings

GROUP = "difflab.problems"

_entry_points: dict | None = None   # name -> EntryPoint
_loaded: dict[str, object] = {}     # name or path -> problem


def entry_points() -> dict:
    """The ``difflab.problems`` entry points of installed packages, by name (read once)."""
    global _entry_points
    if _entry_points is None:
        from importlib.metadata import entry_points as find

        found = {}
        for ep in find(group=GROUP):
            if ep.name in found:
                warnings.warn(f"entry point {ep.name!r} = {ep.value!r} of group {GROUP} is "
                              f"ignored: the name is taken", RuntimeWarning, stacklevel=2)
                continue
            found[ep.name] = ep
        _entry_points = found
    return _entry_points


def discover() -> None:
    """Read the entry points again, and forget every problem loaded from outside."""
    global _entry_points
    _entry_points = None
    _loaded.clear()


def _load(spec: str):
    module, _, attribute = spec.partition(":")
    obj = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _as_problem(name: str, obj, where: str):
    """``obj`` (a problem, or a function returning one) as a problem known by ``name``."""
    if not hasattr(obj, "instance") and callable(obj):
        try:
            inspect.signature(obj).bind()
        except TypeError:
            raise ValueError(f"problem {name!r}: {where} is {type(obj).__name__} "
                             f"{getattr(obj, '__name__', '')}{inspect.signature(obj)}, not a "
                             f"problem or a function of no arguments returning one") from None
        except ValueError:  # no signature to read: call it and see
            pass
        obj = obj()
    if not callable(getattr(obj, "instance", None)):
        raise ValueError(f"problem {name!r}: {where} is {type(obj).__name__}, not a problem "
                         f"(an object with instance(params, seed)) or a function returning one")
    if dataclasses.is_dataclass(obj) and getattr(obj, "name", name) != name:
        obj = dataclasses.replace(obj, name=name)
    return obj


def find_problem(name: str):
    """The problem called ``name`` outside the registry, or None if nothing answers to it.

    Raises:
        ValueError: the name is an import path or an entry point, but it does not load or
            does not give a problem (the message says which and why).
    """
    if name in _loaded:
        return _loaded[name]
    if ":" in name:
        where = f"the import path {name!r}"
        module, _, attribute = name.partition(":")
        if not module or not attribute:
            raise ValueError(f"problem {name!r}: an import path is 'module:attribute'")
        spec = name
    elif name in entry_points():
        spec = entry_points()[name].value
        where = f"the entry point {name!r} = {spec!r}"
    else:
        return None
    try:
        obj = _load(spec)
    except Exception as err:  # noqa: BLE001 - whatever the module does wrong, named
        raise ValueError(f"problem {name!r}: {where} does not load: {type(err).__name__}: "
                         f"{err}") from None
    _loaded[name] = problem = _as_problem(name, obj, where)
    return problem


def plugin_problems() -> list:
    """Every problem the entry points give (one that does not load: a warning, left out)."""
    found = []
    for name in entry_points():
        try:
            found.append(find_problem(name))
        except ValueError as err:
            warnings.warn(str(err), RuntimeWarning, stacklevel=2)
    return found
