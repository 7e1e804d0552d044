"""Optional compiled CPU kernels: numba, when installed (``pip install losskit[fast]``).

Some losses are dozens of elementwise operations per element (a box loss, a fused
softmax-Dice). In eager PyTorch each operation is a full pass over memory and a Python
dispatch, so on the CPU the time goes to memory traffic and overhead, and extra intra-op
threads barely help. A compiled loop does the whole per-element computation, forward and
local gradient, in registers, once.

This module is the one place that knows about numba:

* Whether a compiled kernel runs is not decided here: it is a fast path declared with
  ``requires="numba"`` (:mod:`losskit._fastpath`), which honours ``LOSSKIT_NUMBA=0``.
* :func:`jit` compiles a kernel lazily, on its first call, with ``nogil=True`` (so threads
  run it in parallel) and an on-disk cache (compiled once per machine, not per process).
* :func:`parallel_for` runs ``kernel(part, start, stop, *args)`` over ``[0, n)`` split
  into contiguous ranges (:func:`plan` says how many), one per thread, on a small pool of Python threads. Kernels release
  the GIL, so the ranges run truly in parallel. We use our own pool rather than numba's
  ``parallel=True``: numba's threading layers differ by machine (one of them aborts the
  process on concurrent calls from two threads), while this works everywhere, is safe to
  call from any thread, and lets the caller say how many threads (torch's
  ``get_num_threads()``, so a loss follows ``torch.set_num_threads`` like any torch op).

Without numba nothing here is imported or needed: every loss has its array-API kernel,
and the compiled kernels are pinned to it by the tests (values and gradients).
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from typing import Any, Callable

__all__ = ["jit", "plan", "parallel_for"]


class _Lazy:
    """A kernel compiled on first call (``import losskit`` must not import numba)."""

    def __init__(self, fn: Callable, options: dict):
        self._fn = fn
        self._options = options
        self._compiled = None
        self._lock = threading.Lock()
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    @property
    def compiled(self):
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    import numba

                    self._compiled = numba.njit(**self._options)(self._fn)
        return self._compiled

    def __call__(self, *args):
        return self.compiled(*args)


def jit(fn: Callable | None = None, **options: Any):
    """Decorator: compile ``fn`` with numba on first use (``nogil``, cached, strict IEEE
    arithmetic by default: no ``fastmath``, so results match the array-API kernels; a kernel
    whose sums may be reassociated passes ``fastmath={"reassoc"}``)."""
    opts = {"nogil": True, "cache": True, "fastmath": False, "error_model": "numpy"}
    opts.update(options)
    if fn is None:
        return lambda f: _Lazy(f, opts)
    return _Lazy(fn, opts)


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """After ``fork`` (e.g. DataLoader workers) the child has the pool object but none of its
    threads: work submitted to it would wait forever. The child starts a pool of its own."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _get_pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="losskit")
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def plan(n: int, threads: int, grain: int = 1 << 14) -> int:
    """How many ranges :func:`parallel_for` should split ``n`` items into: at most
    ``threads``, each of at least ``grain`` items (small inputs run on one thread)."""
    return max(1, min(int(threads), n // max(1, grain)))


def parallel_for(kernel: Callable, n: int, parts: int, *args: Any) -> None:
    """Run ``kernel(part, start, stop, *args)`` for ``parts`` contiguous ranges of
    ``[0, n)`` in parallel (``part`` = 0 .. parts - 1); the calling thread takes part 0.

    ``kernel`` must write disjoint outputs per range, or per-part slots (e.g. partial sums
    in an array of ``parts`` rows) that the caller adds up afterwards.
    """
    if parts <= 1:
        kernel(0, 0, n, *args)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = _get_pool(parts - 1)
    futures = [pool.submit(kernel, i, bounds[i], bounds[i + 1], *args) for i in range(1, parts)]
    try:
        kernel(0, bounds[0], bounds[1], *args)
    finally:
        for f in futures:
            f.result()
