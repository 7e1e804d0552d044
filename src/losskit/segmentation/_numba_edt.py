r"""The ``segmentation.edt`` fast path: an exact Euclidean distance transform compiled with
numba, standing in for ``scipy.ndimage.distance_transform_edt`` in
:func:`losskit.segmentation.distance_field` and :func:`losskit.segmentation.signed_distance_map`
(declared in :mod:`losskit.segmentation.distance`, which says when it runs; pinned to scipy
by the tests).

Felzenszwalb and Huttenlocher's separable transform (Distance Transforms of Sampled
Functions, Theory of Computing 2012): the squared distance to the nearest site is
:math:`D(p) = \min_q \sum_k ((p_k - q_k) s_k)^2`, a minimum of a sum, so it is taken one
axis at a time, each line of axis :math:`k` replacing its values :math:`f` by
:math:`\min_q ((p - q) s_k)^2 + f(q)`, the lower envelope of parabolas rooted at
:math:`(q, f(q))`, in time linear in the line's length.

* The first axis starts from the binary mask, where :math:`f` is 0 at a site and
  :math:`+\infty` elsewhere: the envelope there is the distance to the nearest site on the
  line, found by one scan forward and one backward, over all the axis-0 lines at once
  (the inner index is contiguous).
* The unsigned field of a mask needs two transforms, the distance to the background inside
  the mask and to the mask outside; every pass here does both on the same line, from two
  scratch maps, walking both envelopes side by side (no branch on the mask in the loop), and
  the last pass writes the one a pixel needs (and its ``sqrt``).
* Exactly scipy's numbers: scipy takes the nearest site's offsets, scales them by the
  spacing, squares and adds them in axis order, ``((t_0^2 + t_1^2) + t_2^2)``. The passes
  run in axis order and each adds its term to the previous sum, ``t_k^2 + (\ldots)``, the
  same float operations (addition is commutative), so where both pick the same nearest
  site the results are bitwise equal. The envelope's breakpoints are compared as floats; for
  unit spacing they are ratios of small integers, compared exactly, and for other spacings a
  near-tie can pick another site at the same distance up to rounding (one ulp at most, the
  tests check).
* Compiled with strict IEEE arithmetic (no ``fastmath``), one map per task: maps are split
  over threads by :func:`losskit._numba.parallel_for` (torch's thread count when torch is
  loaded, as the loss's other kernels, numba's otherwise).

Importing this module imports numba (``_fastpath`` imports it on first use).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import _numba

# Pixels per thread's range at least: a thread is worth starting for a few 100 x 100 maps.
GRAIN = 1 << 15


def _axis0_pass(mv, n0, b, w0, dfg, dbg):
    """The first axis: for each of the ``b`` lines (stride ``b``), the squared distance
    ``(|p - q| s_0)^2`` to the nearest background pixel (into ``dfg``) and the nearest mask
    pixel (into ``dbg``) on the line, ``inf`` where the line has none."""
    inf = np.inf
    last = np.empty((2, b), np.int64)  # the last background / mask pixel seen on each line
    last[:] = -1
    for q in range(n0):
        base = q * b
        for j in range(b):
            i = base + j
            if mv[i]:
                last[1, j] = q
                dbg[i] = 0.0
                dfg[i] = inf if last[0, j] < 0 else np.float64(q - last[0, j])
            else:
                last[0, j] = q
                dfg[i] = 0.0
                dbg[i] = inf if last[1, j] < 0 else np.float64(q - last[1, j])
    last[:] = -1  # now the next one, scanning backwards
    for q in range(n0 - 1, -1, -1):
        base = q * b
        for j in range(b):
            i = base + j
            if mv[i]:
                last[1, j] = q
                if last[0, j] >= 0:
                    dfg[i] = min(dfg[i], np.float64(last[0, j] - q))
            else:
                last[0, j] = q
                if last[1, j] >= 0:
                    dbg[i] = min(dbg[i], np.float64(last[1, j] - q))
            # scipy's form: the offset scaled by the spacing, then squared
            t = dfg[i] * w0
            dfg[i] = t * t
            t = dbg[i] * w0
            dbg[i] = t * t


def _envelope(f, n, w, v, z):
    """The lower envelope of the parabolas ``((p - q) w)^2 + f[q]`` over the finite
    ``f[q]``: their roots ``v[0..k]`` and breakpoints ``z[0..k+1]``; returns ``k`` (-1 for
    none)."""
    inf = np.inf
    ww = w * w
    k = -1
    for q in range(n):
        fq = f[q]
        if fq == inf:
            continue
        if k < 0:
            k = 0
            v[0] = q
            z[0] = -inf
            z[1] = inf
            continue
        hq = fq + ww * q * q
        while True:
            r = v[k]
            # where the parabolas of q and r meet; z[0] = -inf stops the loop at k = 0
            s = (hq - (f[r] + ww * r * r)) / (2.0 * ww * (q - r))
            if s <= z[k]:
                k -= 1
            else:
                break
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = inf
    return k


def _envelope_at(p, k, c, v, z, f, w):
    """The lower envelope of :func:`_envelope` (roots ``v``, breakpoints ``z``, ``k`` as it
    returned) at ``p``, ``inf`` for none, walked on from its parabola ``c`` (``p`` rises
    from call to call): ``(value, c)``."""
    if k < 0:
        return np.inf, c
    while z[c + 1] < p:
        c += 1
    r = v[c]
    t = np.float64(p - r) * w
    return t * t + f[r], c


def _own_distance(inside, fg, bg, signed):
    """A pixel's distance from its two squared transforms ``fg`` (to the background) and
    ``bg`` (to the mask): the one for its own kind, ``1 - d`` inside the mask when
    ``signed``."""
    d = math.sqrt(fg if inside else bg)
    return 1.0 - d if signed and inside else d


def _line_pass(mv, shape, nd, axis, w, dfg, dbg, out, signed, fl, gl, v, z, vg, zg):
    """Axis ``axis`` >= 1 of both transforms, line by line (gathered into ``fl``, ``gl``);
    the last axis writes ``out``: ``sqrt`` of the pixel's own transform (``1 - d`` inside
    the mask when ``signed``)."""
    n = shape[axis]
    a = 1
    for k in range(axis):
        a *= shape[k]
    b = 1
    for k in range(axis + 1, nd):
        b *= shape[k]
    last = axis == nd - 1
    for i in range(a):
        for j in range(b):
            base = i * n * b + j
            for q in range(n):
                fl[q] = dfg[base + q * b]
                gl[q] = dbg[base + q * b]
            k = _envelope_c(fl, n, w, v, z)
            kg = _envelope_c(gl, n, w, vg, zg)
            # both envelopes walked side by side at every p, the pixel's own picked after:
            # no branch on the (random) mask inside the loop
            c = 0
            cg = 0
            for p in range(n):
                idx = base + p * b
                x, c = _envelope_at_c(p, k, c, v, z, fl, w)
                y, cg = _envelope_at_c(p, kg, cg, vg, zg, gl, w)
                if last:
                    out[idx] = _own_distance_c(mv[idx], x, y, signed)
                else:
                    dfg[idx] = x
                    dbg[idx] = y


def edt_kernel(part, start, stop, m, shape, w, out, signed):
    """Maps ``[start, stop)`` of ``m`` ((M, S) bool, each map of spatial ``shape``): into
    ``out`` ((M, S) float64) the distance of each pixel to the nearest pixel of the other
    kind (``1 - d`` inside the mask when ``signed``), 0 for a map with no boundary."""
    M, S = m.shape
    nd = shape.shape[0]
    nmax = 1
    for k in range(nd):
        nmax = max(nmax, shape[k])
    dfg = np.empty(S, np.float64)
    dbg = np.empty(S, np.float64)
    fl = np.empty(nmax, np.float64)
    gl = np.empty(nmax, np.float64)
    v = np.empty(nmax, np.int64)
    z = np.empty(nmax + 1, np.float64)
    vg = np.empty(nmax, np.int64)
    zg = np.empty(nmax + 1, np.float64)
    for c in range(start, stop):
        mv = m[c]
        o = out[c]
        count = 0
        for i in range(S):
            count += mv[i]
        if count == 0 or count == S:
            o[:] = 0.0  # no boundary: 0, as MONAI defines it
            continue
        _axis0_pass_c(mv, shape[0], S // shape[0], w[0], dfg, dbg)
        if nd == 1:
            for i in range(S):
                o[i] = _own_distance_c(mv[i], dfg[i], dbg[i], signed)
            continue
        for axis in range(1, nd):
            _line_pass_c(mv, shape, nd, axis, w[axis], dfg, dbg, o, signed, fl, gl, v, z, vg, zg)


# Numba dispatchers (compiled on first call, cached on disk): the helpers first, since the
# kernels that call them must see dispatchers, not Python functions.
_axis0_pass_c = _numba.jit(_axis0_pass).compiled
_envelope_c = _numba.jit(_envelope).compiled
_envelope_at_c = _numba.jit(_envelope_at).compiled
_own_distance_c = _numba.jit(_own_distance).compiled
_line_pass_c = _numba.jit(_line_pass).compiled
edt_kernel = _numba.jit(edt_kernel)


def _threads() -> int:
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.get_num_threads()
    import numba

    return numba.get_num_threads()


def distance_transform(m, *, spacing=None, signed=False, grain=GRAIN):
    """The unsigned distance field of the boolean masks ``m`` (``(N, C, *spatial)`` NumPy)
    per ``(N, C)`` entry, or with ``signed`` the signed map of
    :func:`losskit.segmentation.signed_distance_map`: float64 of ``m``'s shape, 0 for a map
    with no boundary. ``spacing``: one positive number per spatial axis, or ``None``;
    ``grain``: pixels per thread's range at least (the tests give a small one)."""
    spatial = m.shape[2:]
    M = m.shape[0] * m.shape[1]
    S = math.prod(spatial)
    out = np.empty(m.shape, np.float64)
    if M == 0 or S == 0:
        return out
    flat = np.ascontiguousarray(m, dtype=np.bool_).reshape(M, S)
    shape = np.asarray(spatial, dtype=np.int64)
    w = np.ones(len(spatial)) if spacing is None else np.asarray(spacing, dtype=np.float64)
    parts = min(M, _numba.plan(M * S, _threads(), grain))
    _numba.parallel_for(edt_kernel, M, parts, flat, shape, w, out.reshape(M, S), bool(signed))
    return out
