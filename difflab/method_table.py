"""The table of methods: difflab's own, its peers, and every method a user registers.

    METHODS                               the built-ins: symbolic numeric forward reverse jax
    resolve("numeric:central")            -> (module or plugin, options), for difflab.api
    register_method("mine", obj)          a user's method (see difflab.plugin for the protocol)
    register_method("mine", "pkg.mod:M")  the same by import path (imported now, and by workers)
    methods()                             every name resolve knows

Where a method comes from, in the order a name is looked up:

1. ``register_method`` in this process (it may replace a built-in with ``replace=True``);
2. the built-ins (``METHODS`` and ``numeric:<scheme>``);
3. difflab's peers, ``PEERS``: ``numdifftools`` and ``scipy`` (scipy.differentiate) — listed
   when their package is installed (``pip install 'difflab[peers]'``);
4. the entry points of the group ``difflab.methods`` of installed packages: the entry point's
   name is the method's, its value ``module:attr`` the object. They are read on the first look
   at the table (not on ``import difflab``), and each is imported on its first use.

Worker processes (``difflab.lab.worker``, started by "spawn") begin with a fresh table: peers
and entry points are there by themselves; ``exported()`` hands the parent's registrations to
the worker, which ``install``s them before its first cell. A registration by import path
travels as that path; one by object travels pickled, so its class must be importable in the
worker (defined in a module on the path, not in ``__main__`` or a function):
``portable_error`` says when it is not, and the sweep refuses before its first cell.
"""

from __future__ import annotations

import importlib
import pickle
import re
import sys
import types
import warnings
from dataclasses import dataclass

from .plugin import MethodPlugin, check_name

METHODS: tuple[str, ...] = ("symbolic", "numeric", "forward", "reverse", "jax")
_MODULES = {"symbolic": "difflab.symbolic", "numeric": "difflab.numeric",
            "forward": "difflab.forward", "reverse": "difflab.reverse", "jax": "difflab.jax_ref"}
# name -> (import path of the method object, distribution it needs, its least version)
PEERS: dict[str, tuple[str, str, tuple[int, ...]]] = {
    "numdifftools": ("difflab.peers.numdifftools_method:METHOD", "numdifftools", (0, 9)),
    "scipy": ("difflab.peers.scipy_method:METHOD", "scipy", (1, 15)),
}
GROUP = "difflab.methods"
FILE_MODULE_PREFIX = "_difflab_file_"  # modules loaded from a file by path (no import name)


@dataclass
class _Registration:
    plugin: MethodPlugin
    payload: object  # what a worker gets: the import path (str) or the object itself


_registered: dict[str, _Registration] = {}    # register_method / install
_lazy: dict[str, MethodPlugin] = {}           # peers and entry points, once loaded
_broken: dict[str, str] = {}                  # name -> why it does not load in this process
_entry_points: dict | None = None             # name -> EntryPoint, read once
_RESOLVED: dict[str, tuple[object, dict]] = {}  # name -> (module or plugin, options)


def load_object(spec: str):
    """The object named by ``"package.module:attribute"`` (or the module, without ``:``)."""
    module, _, attribute = spec.partition(":")
    if not module or (_ and not attribute):
        raise ValueError(f"an import path is 'module:attribute' or 'module', got {spec!r}")
    obj = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def _version(dist: str) -> tuple[int, ...] | None:
    """The installed version of ``dist`` as ints, from its metadata (nothing imported)."""
    from importlib import metadata

    try:
        text = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _peer_missing(name: str) -> str | None:
    """Why the peer ``name`` cannot run here (its package absent or too old), or None."""
    if name not in _peer_checked:
        _peer_checked[name] = _check_peer(name)
    return _peer_checked[name]


_peer_checked: dict[str, str | None] = {}


def _check_peer(name: str) -> str | None:
    _, dist, least = PEERS[name]
    found = _version(dist)
    if found is not None and found >= least:
        return None
    have = "is not installed" if found is None else \
        f"is {'.'.join(map(str, found))}, older than {'.'.join(map(str, least))}"
    return (f"method {name!r} needs {dist} >= {'.'.join(map(str, least))}, which {have}: "
            f"pip install 'difflab[peers]'")


def entry_points() -> dict:
    """The ``difflab.methods`` entry points of installed packages, by name (read once)."""
    global _entry_points
    if _entry_points is None:
        from importlib.metadata import entry_points as find

        found = {}
        for ep in find(group=GROUP):
            taken = ep.name in found or ep.name in METHODS or ep.name in PEERS
            if taken or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", ep.name):
                warnings.warn(f"entry point {ep.name!r} = {ep.value!r} of group {GROUP} is "
                              f"ignored: {'the name is taken' if taken else 'not a name'}",
                              RuntimeWarning, stacklevel=2)
                continue
            found[ep.name] = ep
        _entry_points = found
    return _entry_points


def discover() -> None:
    """Read the entry points again (after installing a package into a running process)."""
    global _entry_points
    _entry_points = None
    _lazy.clear()
    _peer_checked.clear()
    _RESOLVED.clear()


def methods() -> tuple[str, ...]:
    """Every method name: the built-ins, then registered ones, peers that are installed, and
    entry points (the variants ``numeric:<scheme>`` are not listed)."""
    names = [*METHODS, *_registered]
    names += [p for p in PEERS if p not in _registered and _peer_missing(p) is None]
    names += [e for e in entry_points() if e not in _registered]
    return tuple(dict.fromkeys(names))


def _known() -> str:
    return f"known methods: {', '.join(methods())} (and numeric:<scheme>)"


def resolve(method: str) -> tuple[object, dict]:
    """The module (or plugin) and options for a method name (``"reverse"``,
    ``"numeric:central"``, a registered name).

    Raises:
        ValueError: unknown method or scheme; the message lists the known ones.
        TypeError: ``method`` is not a string.
    """
    if method.__class__ is str and method in _RESOLVED:  # (every call resolves its method)
        module, options = _RESOLVED[method]
        return module, dict(options)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {', '.join(methods())}; got "
                        f"{method!r}")
    module, options = _RESOLVED[method] = _resolve(method)
    return module, dict(options)


def _resolve(method: str) -> tuple[object, dict]:
    base, sep, variant = method.partition(":")
    plugin = _plugin(base, method)
    if sep and not variant:
        raise ValueError(f"method {method!r} names no variant after the colon; {_known()}")
    if plugin is not None:
        if sep:
            raise ValueError(f"method {base!r} has no variants; got {method!r}")
        return plugin, {}
    module = importlib.import_module(_MODULES[base])
    if not variant:
        return module, {}
    if base != "numeric":
        raise ValueError(f"method {base!r} has no variants; got {method!r}")
    if variant not in module.SCHEMES:
        raise ValueError(f"unknown numeric scheme {variant!r}; known schemes: "
                         f"{', '.join(module.SCHEMES)}")
    return module, {"scheme": variant}


def _plugin(base: str, method: str | None = None) -> MethodPlugin | None:
    """The plugin called ``base``, None for a built-in; ValueError when there is neither."""
    if base in _registered:
        return _registered[base].plugin
    if base in _MODULES:
        return None
    if base in _broken:
        raise ValueError(_broken[base])
    if base in _lazy:
        return _lazy[base]
    if base in PEERS:
        missing = _peer_missing(base)
        if missing:
            raise ValueError(missing)
        spec, source = PEERS[base][0], f"difflab's peer {PEERS[base][1]}"
    elif base in entry_points():
        ep = entry_points()[base]
        dist = getattr(getattr(ep, "dist", None), "name", None)
        spec, source = ep.value, f"entry point {ep.value!r}" + (f" of {dist}" if dist else "")
    else:
        raise ValueError(f"unknown method {method or base!r}; {_known()}")
    try:
        plugin = _lazy[base] = MethodPlugin(base, load_object(spec), source)
    except Exception as err:  # noqa: BLE001 - whatever the package does wrong, named
        raise ValueError(f"method {base!r} ({source}) does not load: {type(err).__name__}: "
                         f"{err}") from None
    return plugin


def register_method(name: str, obj, replace: bool = False) -> None:
    """Make ``obj`` a method called ``name`` (in ``grad``, ``compare``, ``check_grad`` and the
    lab), after checking it against the protocol (``difflab.plugin``).

    Args:
        name: letters, digits, ``_ . -``; not a built-in, peer or entry point's name unless
            ``replace``.
        obj: an object or module with ``prepare(expr, wrt, shapes)`` that declares ``exact``
            or ``tolerance``; or its import path ``"package.module:attribute"`` (imported now;
            worker processes import it too).
        replace: allow replacing a method of that name (a built-in included).
    Raises:
        TypeError, ValueError: a bad name, a name taken, an object that does not fit.
    """
    check_name(name)
    payload = obj
    if isinstance(obj, str):
        try:
            obj = load_object(obj)
        except (ImportError, AttributeError, ValueError) as err:
            raise ValueError(f"method {name!r}: {payload!r} does not load: "
                             f"{type(err).__name__}: {err}") from None
    current = _registered.get(name)
    same = current is not None and (current.plugin.obj is obj or current.payload == payload)
    if not replace and not same:
        taken = "a built-in method" if name in METHODS else \
            "difflab's peer" if name in PEERS else \
            "an entry point's method" if name in entry_points() else \
            f"already registered ({current.plugin.source})" if current else None
        if taken:
            raise ValueError(f"method {name!r} is {taken}; pass replace=True to replace it")
    plugin = MethodPlugin(name, obj, "register_method")
    if payload is obj and isinstance(obj, types.ModuleType):  # a module travels by name
        payload = obj.__name__
    _registered[name] = _Registration(plugin, payload)
    _broken.pop(name, None)
    _RESOLVED.clear()


def unregister_method(name: str) -> None:
    """Forget a registered method (a built-in it replaced comes back). KeyError if none."""
    if name not in _registered:
        raise KeyError(f"no method {name!r} is registered; registered: "
                       f"{', '.join(_registered) or 'none'}")
    del _registered[name]
    _RESOLVED.clear()


def judging(method: str) -> tuple[bool, float] | None:
    """(exact, tolerance) a registered, peer or entry-point method declares; None for a
    built-in or a name the table does not know (so the lab's own tables decide)."""
    base = method.partition(":")[0] if isinstance(method, str) else None
    if base is None or (base in _MODULES and base not in _registered):
        return None
    try:
        plugin = _plugin(base)
    except ValueError:
        return None
    return None if plugin is None else (plugin.exact, plugin.tolerance)


def portable_error(method: str) -> str | None:
    """Why a worker process could not get ``method`` from this one (None: it can)."""
    registration = _registered.get(method.partition(":")[0])
    if registration is None or isinstance(registration.payload, str):
        return None
    obj = registration.payload
    try:
        pickle.dumps(obj)
    except Exception as err:  # noqa: BLE001 - any reason pickling fails
        reason = f"it does not pickle ({type(err).__name__}: {err})"
    else:
        module = getattr(obj, "__module__", None) or type(obj).__module__
        if module in ("__main__", "__mp_main__") or str(module).startswith(
                FILE_MODULE_PREFIX) or not getattr(sys.modules.get(module), "__spec__", None):
            reason = f"its module {module!r} cannot be imported by another process"
        else:
            return None
    return (f"method {method!r} is registered as an object a worker process cannot get: "
            f"{reason}; register it by import path (register_method({method!r}, "
            f"'package.module:attribute')) or run the cells in this process (isolate=False)")


def exported() -> tuple[tuple[str, object], ...]:
    """The registrations a worker process should install: (name, import path or pickle)."""
    out = []
    for name, registration in _registered.items():
        if isinstance(registration.payload, str):
            out.append((name, registration.payload))
        elif portable_error(name) is None:
            out.append((name, pickle.dumps(registration.payload)))
    return tuple(out)


def install(entries) -> None:
    """Register the parent's methods (from ``exported``) in this process; one that does not
    load here is remembered, and naming it then says why."""
    for name, payload in entries:
        try:
            obj = payload if isinstance(payload, str) else pickle.loads(payload)
            register_method(name, obj, replace=True)
        except Exception as err:  # noqa: BLE001 - the cells of this method report it
            _broken[name] = (f"method {name!r} was registered in the parent process but does "
                             f"not load in this worker: {type(err).__name__}: {err}")
            _RESOLVED.pop(name, None)
