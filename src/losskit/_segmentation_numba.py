r"""Compiled CPU kernels (numba) for the Dice-family sums of ``softmax(x)`` against integer
labels, and their gradient.

Used by :mod:`losskit.segmentation` for CPU torch tensors (float32/float64, eager mode, not
under ``torch.compile`` or ``torch.func``) when :func:`losskit._numba.available`; see
``_numba_softmax_label_sums`` there. The exponentials ``e = exp(x)`` (``(N, C, S)``) come
from torch's vectorised ``exp2`` (a vectorisable polynomial ``exp`` compiled here measured
slower, in the kernel and overall); these kernels do the per-pixel rest in one pass over
``e`` forward and one backward, which can be split over contiguous ranges of the flattened
``(sample, pixel)`` index by :func:`losskit._numba.parallel_for` (as many as the caller's
``threads``, ranges of at least 16384 pixels; the caller passes one, see
``losskit.segmentation._NUMBA_THREADS``).

Per pixel ``i`` of sample ``n`` with label ``l`` and validity ``m`` (0 at ``ignore_index``),
``s = sum_c e_c`` and ``w = m / s`` (so ``m p_c = w e_c``):

* forward: ``P[n, c] += w e_c``, ``I[n, l] += w e_l`` and ``G[n, l] += m``; also the
  smallest and largest valid label (the range check that the generic path does in NumPy)
  and the number of pixels whose ``s`` left ``[lo, hi]`` (the caller then redoes ``e`` with
  the max-shift, as the fused torch path does);
* backward, with ``a = dL/dI`` and ``b = dL/dP`` (``(N, C)``) and
  ``d_c = b_c + [c = l] a_c`` (so ``dL/dp_c = m d_c``):
  ``t = sum_c e_c d_c / s`` and ``dL/dx_c = w e_c (d_c - t)``, the softmax backward,
  written over ``e`` (the caller's in-place convention; see ``ctx.e_reused`` there).

Loops run over the classes outside and over the pixels of a block of ``_BLOCK`` inside, so
that LLVM vectorises them (no ``fastmath``: nothing is reassociated). The per-class sums are
kept per pixel slot of the block (``acc[q, c, j]``: element-wise adds, which vectorise),
reduced pairwise when a sample's range ends and added up in float64 (per range; the ranges'
partial sums are added by the caller). The per-pixel arithmetic stays in the input's dtype
(constants come from arrays of that dtype: no silent promotion of float32 to float64).
Slices of 1-D rows are indexed rather than the 3-D arrays (plain ``e[n, c, i]`` indexing
kept LLVM from vectorising), and the backward copies each block of ``e`` to scratch before
overwriting it (reading and writing the same memory in one loop fails LLVM's runtime alias
check, which falls back to the scalar loop).

Importing this module imports numba; ``losskit.segmentation`` imports it lazily.
"""

from __future__ import annotations

import numpy as np

from . import _numba

# Pixels per block: the block's exponentials, labels and per-pixel scratch stay in L1.
_BLOCK = 256


@_numba.jit
def forward_kernel(part, start, stop, e, labels, ignore, has_ignore, lo, hi, out, stats):
    """Sums over pixels ``[start, stop)`` of the flattened ``(N, S)`` index.

    ``e``: ``(N, C, S)`` exponentials; ``labels``: ``(N, S)`` int64, int32 or uint8 (one
    compiled signature each); ``out``: float64 ``(parts, 3, N, C)`` partial sums ``P, I, G``
    (added to); ``stats``: int64 ``(parts, 3)``: pixels with ``s`` outside ``[lo, hi]``,
    smallest and largest valid label.
    """
    N, C, S = e.shape
    w = np.empty(_BLOCK, e.dtype)
    m = np.empty(_BLOCK, e.dtype)
    ll = np.empty(_BLOCK, np.int64)
    acc = np.zeros((3, C, _BLOCK), e.dtype)
    one = np.ones(1, e.dtype)[0]
    zero = np.zeros(1, e.dtype)[0]
    bad = 0
    big = np.int64(1) << 62
    lmin = big
    lmax = -big
    k = start
    while k < stop:
        n = k // S
        i0 = k - n * S
        i1 = min(S, i0 + (stop - k))
        k += i1 - i0
        for b0 in range(i0, i1, _BLOCK):
            nb = min(_BLOCK, i1 - b0)
            # validity m and label ll (0 where ignored); min / max of the valid labels
            lb = labels[n, b0:b0 + nb]
            if has_ignore:
                for i in range(nb):
                    lab = lb[i]
                    valid = lab != ignore
                    m[i] = one if valid else zero
                    ll[i] = lab if valid else 0
                    lmin = min(lmin, lab if valid else big)
                    lmax = max(lmax, lab if valid else -big)
            else:
                for i in range(nb):
                    lab = lb[i]
                    m[i] = one
                    ll[i] = lab
                    lmin = min(lmin, lab)
                    lmax = max(lmax, lab)
            e0 = e[n, 0, b0:b0 + nb]
            for i in range(nb):
                w[i] = e0[i]
            for c in range(1, C):
                ec = e[n, c, b0:b0 + nb]
                for i in range(nb):
                    w[i] += ec[i]
            for i in range(nb):
                s = w[i]
                # NaN counts as out of range (both comparisons fail)
                bad += 1 - ((s >= lo) & (s <= hi))
            for i in range(nb):
                w[i] = m[i] / w[i]
            for c in range(C):
                ec = e[n, c, b0:b0 + nb]
                aP = acc[0, c]
                aI = acc[1, c]
                aG = acc[2, c]
                for i in range(nb):
                    v = w[i] * ec[i]
                    aP[i] += v
                    at_label = ll[i] == c
                    aI[i] += v if at_label else zero
                    aG[i] += m[i] if at_label else zero
        # this sample's range ends: reduce the per-slot sums pairwise into out
        h = _BLOCK // 2
        while h >= 1:
            for q in range(3):
                for c in range(C):
                    a = acc[q, c]
                    for j in range(h):
                        a[j] += a[j + h]
            h //= 2
        for q in range(3):
            for c in range(C):
                out[part, q, n, c] += acc[q, c, 0]
                a = acc[q, c]
                for j in range(_BLOCK):
                    a[j] = zero
    stats[part, 0] = bad
    stats[part, 1] = lmin
    stats[part, 2] = lmax


@_numba.jit
def backward_kernel(part, start, stop, e, labels, ignore, has_ignore, a, b, out):
    """``out[n, c, i] = dL/dx`` over pixels ``[start, stop)`` (``out`` may be ``e`` itself:
    each block of ``e`` is copied to scratch before it is overwritten)."""
    N, C, S = e.shape
    s_ = np.empty(_BLOCK, e.dtype)
    u = np.empty(_BLOCK, e.dtype)
    m = np.empty(_BLOCK, e.dtype)
    ll = np.empty(_BLOCK, np.int64)
    # a copy of the block's e: reading e and writing out through the same memory would make
    # LLVM's runtime alias check fail and run the scalar loop
    eb = np.empty((C, _BLOCK), e.dtype)
    one = np.ones(1, e.dtype)[0]
    zero = np.zeros(1, e.dtype)[0]
    k = start
    while k < stop:
        n = k // S
        i0 = k - n * S
        i1 = min(S, i0 + (stop - k))
        k += i1 - i0
        for b0 in range(i0, i1, _BLOCK):
            nb = min(_BLOCK, i1 - b0)
            lb = labels[n, b0:b0 + nb]
            if has_ignore:
                for i in range(nb):
                    lab = lb[i]
                    valid = lab != ignore
                    m[i] = one if valid else zero
                    ll[i] = lab if valid else 0
            else:
                for i in range(nb):
                    m[i] = one
                    ll[i] = lb[i]
            for i in range(nb):
                s_[i] = zero
                u[i] = zero
            for c in range(C):
                bc = b[n, c]
                dc = bc + a[n, c]  # d_c at the label
                ec = e[n, c, b0:b0 + nb]
                ebc = eb[c]
                for i in range(nb):
                    v = ec[i]
                    ebc[i] = v
                    s_[i] += v
                    u[i] += v * (dc if ll[i] == c else bc)
            for i in range(nb):
                u[i] = u[i] / s_[i]  # t
                s_[i] = m[i] / s_[i]  # w
            for c in range(C):
                bc = b[n, c]
                dc = bc + a[n, c]
                ebc = eb[c]
                oc = out[n, c, b0:b0 + nb]
                for i in range(nb):
                    oc[i] = s_[i] * ebc[i] * ((dc if ll[i] == c else bc) - u[i])


def sums(e, labels, ignore_index, lo, hi, threads):
    """Run :func:`forward_kernel` over all pixels. Returns ``(sums, bad, lmin, lmax)``:
    ``sums`` float64 ``(3, N, C)`` holding ``P, I, G``; ``bad`` the number of pixels whose
    sum of exponentials left ``[lo, hi]``; the smallest and largest valid label
    (``lmin > lmax`` when there is none). ``lo``, ``hi``: scalars of ``e``'s dtype."""
    N, C, S = e.shape
    parts = _numba.plan(N * S, threads)
    out = np.zeros((parts, 3, N, C))
    stats = np.empty((parts, 3), np.int64)
    has_ignore = ignore_index is not None
    ignore = ignore_index if has_ignore else 0
    _numba.parallel_for(forward_kernel, N * S, parts, e, labels, ignore, has_ignore, lo, hi, out, stats)
    if parts == 1:
        bad, lmin, lmax = stats[0].tolist()
        return out[0], bad, lmin, lmax
    return out.sum(0), int(stats[:, 0].sum()), int(stats[:, 1].min()), int(stats[:, 2].max())


def gradient(e, labels, ignore_index, a, b, out, threads):
    """Run :func:`backward_kernel` over all pixels, writing ``dL/dx`` into ``out``."""
    N, C, S = e.shape
    parts = _numba.plan(N * S, threads)
    has_ignore = ignore_index is not None
    ignore = ignore_index if has_ignore else 0
    _numba.parallel_for(backward_kernel, N * S, parts, e, labels, ignore, has_ignore, a, b, out)
