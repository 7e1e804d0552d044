"""The numba helper (``losskit._numba``): planning, the thread pool, lazy compilation (whether a compiled kernel runs is the
fast-path switch's business: tests/test_fast_paths.py)."""

import numpy as np
import pytest

from losskit import _numba


def test_plan_respects_threads_and_grain():
    assert _numba.plan(10, threads=8, grain=100) == 1  # small input: one range
    assert _numba.plan(1000, threads=8, grain=100) == 8
    assert _numba.plan(1000, threads=3, grain=100) == 3
    assert _numba.plan(250, threads=8, grain=100) == 2
    assert _numba.plan(0, threads=4) == 1


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_parallel_for_covers_every_item_once(parts):
    n = 1001
    seen = np.zeros(n, dtype=np.int64)
    owner = np.full(n, -1)

    def kernel(part, start, stop, out, who):  # plain Python: the pool is numba-agnostic
        out[start:stop] += 1
        who[start:stop] = part

    _numba.parallel_for(kernel, n, parts, seen, owner)
    assert (seen == 1).all()
    # contiguous, ordered ranges, part 0 first
    assert (np.diff(owner) >= 0).all() and owner[0] == 0 and owner[-1] == parts - 1


def test_parallel_for_raises_the_kernels_error():
    def kernel(part, start, stop):
        if part == 1:
            raise RuntimeError("boom in part 1")

    with pytest.raises(RuntimeError, match="boom in part 1"):
        _numba.parallel_for(kernel, 100, 2)


def test_jit_compiles_lazily_and_runs():
    pytest.importorskip("numba")

    @_numba.jit
    def axpy(part, start, stop, a, x, y):
        for i in range(start, stop):
            y[i] += a * x[i]

    assert axpy._compiled is None  # nothing compiled at definition
    x = np.arange(50_000, dtype=np.float64)
    y = np.ones_like(x)
    _numba.parallel_for(axpy, x.size, _numba.plan(x.size, threads=2, grain=1000), 2.0, x, y)
    np.testing.assert_array_equal(y, 1 + 2 * x)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_pool_works_in_a_forked_child():
    import os

    def kernel(part, start, stop, out):
        out[start:stop] = part

    out = np.zeros(100)
    _numba.parallel_for(kernel, 100, 2, out)  # the parent's pool now has a thread
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; a new one must be made
        try:
            child = np.zeros(100)
            _numba.parallel_for(kernel, 100, 2, child)
            os.write(w, b"ok" if child[-1] == 1 else b"bad")
        finally:
            os._exit(0)
    os.close(w)
    import select

    ready, _, _ = select.select([r], [], [], 20)
    result = os.read(r, 2) if ready else b"hung"
    os.waitpid(pid, 0) if ready else os.kill(pid, 9)
    assert result == b"ok"
