"""The one way a backend-specific implementation is attached to a loss.

Every loss has one reference implementation, written against the array API. Where a
benchmark shows that reference to be too slow on one backend, a *fast path* may stand in
for one of its kernels: a native framework kernel (``F.cross_entropy``), a
``torch.autograd.Function`` with a hand-derived backward, a compiled numba loop. A fast
path is declared here, once, next to the reference code that calls it:

.. code-block:: python

    BOX_NUMBA = fast_path(
        "boxes.numba",
        kernel="boxes.elementwise",               # the reference kernel it replaces
        impl="losskit.boxes._numba:elementwise",  # imported on first use only
        backend="torch", devices=("cpu",), requires="numba",
        when="float32/float64 CPU tensors of one dtype",
        eligible=lambda p, t, **_: p.dtype == t.dtype and p.dtype in (...),
    )

and the reference kernel asks :func:`select` whether one of its fast paths runs the call:

.. code-block:: python

    impl = select("boxes.elementwise", xp, p, t, kind=kind)
    if impl is not None:
        return impl(kind, p, t, eps=eps)
    ...  # the array-API reference

The loss lists the fast paths it may take in its ``@loss(fast_paths=...)`` metadata, which
``losskit info`` prints and the tests read: every declared fast path is pinned to the
reference code (values and gradients) by ``tests/test_fast_paths.py``; a fast path that no
test pins fails the suite.

**One eligibility rule.** A fast path runs only when all of these hold:

* fast paths are on: not switched off by :func:`fast_paths` or ``LOSSKIT_FAST_PATHS=0``,
  and, for those that need numba, not by ``LOSSKIT_NUMBA=0``;
* the arrays belong to the path's backend and sit on a device it supports;
* the call is eager: not traced by ``jax.jit``, ``torch.compile``, a ``torch.func``
  transform or a torch dispatch mode (those must see the reference's array operations);
* the package it ``requires`` imports;
* its own ``eligible(*arrays, **options)`` predicate (dtypes, options) says yes.

The first eligible path of a kernel, in declaration order, wins.

This module imports no framework: it reads ``sys.modules`` only, and a path's
implementation is imported the first time it is selected.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import sys
import threading
from typing import Any, Callable, Iterator

from ._xp import is_traced, torch_transformed

__all__ = ["FastPath", "fast_path", "select", "fast_paths", "declared"]

_OFF = ("0", "false", "no", "off")


# The switches are read on every call (a test or a notebook may set them at run time), but
# ``os.environ.get`` of an unset name costs most of a microsecond (it raises and catches a
# KeyError inside), which a small loss call notices. CPython's ``os.environ`` keeps its
# encoded keys in the dict ``_data``: a plain dict lookup there, with ``os.environ.get`` as
# the fallback where that layout is absent.
_ENV_DATA = getattr(os.environ, "_data", None)
_ENV_KEY = getattr(os.environ, "encodekey", None)
_ENV_DECODE = getattr(os.environ, "decodevalue", None)
if not (isinstance(_ENV_DATA, dict) and callable(_ENV_KEY) and callable(_ENV_DECODE)):  # pragma: no cover
    _ENV_DATA = None
_ENV_KEYS: dict[str, Any] = {}


def _env_on(name: str) -> bool:
    if _ENV_DATA is None:  # pragma: no cover - not CPython's os.environ
        raw = os.environ.get(name)
    else:
        key = _ENV_KEYS.get(name)
        if key is None:
            key = _ENV_KEYS[name] = _ENV_KEY(name)
        raw = _ENV_DATA.get(key)
        if raw is not None:
            raw = _ENV_DECODE(raw)
    return raw is None or raw.strip().lower() not in _OFF


@dataclasses.dataclass
class FastPath:
    """A backend-specific implementation of one reference kernel (see the module doc)."""

    name: str
    kernel: str
    impl: str
    backend: str
    devices: tuple[str, ...] | None  # None: every device of the backend
    when: str
    requires: str | None = None
    eligible: Callable[..., bool] | None = None
    _resolved: Any = dataclasses.field(default=None, repr=False)

    def where(self) -> str:
        """Where the path runs and what it needs, e.g. ``torch on cpu, eager, needs numba``."""
        on = "any device" if self.devices is None else "/".join(self.devices)
        need = f", needs {self.requires}" if self.requires else ""
        return f"{self.backend} on {on}, eager{need}"

    def describe(self) -> str:
        """One line for ``losskit info``: where the path runs, what it needs, when it runs."""
        return f"{self.name}: {self.where()}; {self.when}"

    def load(self) -> Callable[..., Any]:
        if self._resolved is None:
            module, _, attr = self.impl.partition(":")
            self._resolved = getattr(importlib.import_module(module), attr)
        return self._resolved


_paths: dict[str, FastPath] = {}
_by_kernel: dict[str, list[FastPath]] = {}
_found: dict[str, bool] = {}


def fast_path(name: str, *, kernel: str, impl: str, backend: str, when: str,
              devices: tuple[str, ...] | None = None, requires: str | None = None,
              eligible: Callable[..., bool] | None = None) -> FastPath:
    """Declare a fast path (module level, next to the reference kernel it replaces).

    ``devices`` names the device types it runs on (``("cpu",)`` for a numba kernel); the
    default, None, is every device of its backend (a path made of framework operations).
    """
    if name in _paths:
        raise RuntimeError(f"fast path {name!r} is declared twice")
    if backend not in ("torch", "jax", "numpy"):
        raise ValueError(f"backend: expected 'torch', 'jax' or 'numpy', got {backend!r}")
    path = FastPath(name, kernel, impl, backend, None if devices is None else tuple(devices),
                    when, requires, eligible)
    _paths[name] = path
    _by_kernel.setdefault(kernel, []).append(path)
    return path


def declared() -> dict[str, FastPath]:
    """Every fast path declared by the modules imported so far, by name."""
    return dict(_paths)


# --------------------------------------------------------------------------- the switch


class _State(threading.local):
    def __init__(self):
        self.enabled: bool | None = None   # None: from the environment
        self.only: frozenset[str] | None = None
        self.used: list[set[str]] = []


_state = _State()


@contextlib.contextmanager
def fast_paths(enabled: bool = True, *, only: str | Iterator[str] | None = None):
    """Switch losskit's fast paths on or off inside a ``with`` block (this thread only).

    ``fast_paths(False)`` runs every loss on its array-API reference code;
    ``fast_paths(only="boxes.numba")`` allows that one fast path and no other (how the
    tests pin each path to the reference). The block yields the set of fast paths that
    ran in it. Outside any block, ``LOSSKIT_FAST_PATHS=0`` switches every fast path off and
    ``LOSSKIT_NUMBA=0`` those that need numba.

    Example:
        >>> import numpy as np, losskit
        >>> with losskit.fast_paths(False) as used:
        ...     _ = losskit.mse_loss(np.ones(3), np.zeros(3))
        >>> sorted(used)
        []
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled: expected a bool, got {type(enabled).__name__}")
    if isinstance(only, str):
        only = (only,)
    if only is not None:
        only = frozenset(only)
        unknown = sorted(only - set(_paths))
        if unknown:
            raise ValueError(f"only: expected declared fast paths ({', '.join(sorted(_paths))}), "
                             f"got {', '.join(unknown)}")
    saved = (_state.enabled, _state.only)
    _state.enabled, _state.only = enabled, only
    used: set[str] = set()
    _state.used.append(used)
    try:
        yield used
    finally:
        _state.enabled, _state.only = saved
        _state.used.remove(used)


def _importable(name: str) -> bool:
    found = _found.get(name)
    if found is None:
        found = _found[name] = importlib.util.find_spec(name) is not None
    return found


# --------------------------------------------------------------------------- eligibility


def _transformed(x: Any) -> bool:
    """True when a fast path must not run on ``x``: traced (:func:`losskit._xp.is_traced`:
    ``jax.jit``, ``torch.compile``, ``torch.func``) or under a torch dispatch mode, which
    must see the reference's torch operations rather than an opaque Function or a
    compiled loop (value checks still run there: reading values works)."""
    if is_traced(x):
        return True
    if type(x).__module__.startswith("torch"):
        torch = sys.modules.get("torch")
        return torch is not None and torch._C._len_torch_dispatch_stack() != 0
    return False


def _transformed_call(backend: str, arrays: tuple) -> bool:
    """:func:`_transformed` for the arrays of one call (one library, ``backend``), so torch's
    dispatch stack and tracing state are read once."""
    if backend == "torch":
        return torch_transformed(arrays)
    return any(_transformed(a) for a in arrays)


def _device_type(x: Any) -> str:
    device = getattr(x, "device", None)
    kind = getattr(device, "type", None)  # torch
    if kind is not None:
        return kind
    devices = getattr(x, "devices", None)  # jax
    if callable(devices):
        try:
            return next(iter(devices())).platform
        except Exception:  # noqa: BLE001 - a tracer or an unknown array: no device to name
            return "unknown"
    return "cpu"


def select(kernel: str, backend: str, *arrays: Any, **options: Any) -> Callable[..., Any] | None:
    """The implementation of the first fast path of ``kernel`` eligible for this call, or
    ``None`` (run the reference). ``backend`` is :func:`losskit._xp.backend_name` of the
    call's namespace; ``arrays`` are the call's arrays (the first decides the device) and
    ``options`` what the paths' own predicates read."""
    paths = _by_kernel.get(kernel)
    if not paths or not arrays:
        return None
    # The switch (see fast_paths), read once per call: only= names the paths allowed (even
    # under LOSSKIT_NUMBA=0) unless fast_paths(False) is innermost; otherwise
    # fast_paths(True/False), else LOSSKIT_FAST_PATHS, decides, and LOSSKIT_NUMBA those
    # that need numba.
    state = _state
    only, enabled = state.only, state.enabled
    if only is None:
        if enabled is None:
            if not _env_on("LOSSKIT_FAST_PATHS"):
                return None
        elif not enabled:
            return None
    elif enabled is False:
        return None
    device = None  # decided once, for the first path that is switched on
    for path in paths:
        if path.backend != backend:
            continue
        if only is not None:
            if path.name not in only:
                continue
        elif path.requires == "numba" and not _env_on("LOSSKIT_NUMBA"):
            continue
        if device is None:
            if _transformed_call(backend, arrays):
                return None  # the same for every path of this kernel
            first = arrays[0]
            # a torch tensor's ``is_cpu`` is a flag; building its ``device`` object costs
            # several times more, and the CPU is the common case
            device = "cpu" if backend == "torch" and first.is_cpu else _device_type(first)
        if path.devices is not None and device not in path.devices:
            continue
        if path.requires is not None and not _importable(path.requires):
            continue
        if path.eligible is not None and not path.eligible(*arrays, **options):
            continue
        used = state.used
        if used:
            for seen in used:
                seen.add(path.name)
        return path._resolved or path.load()
    return None
