r"""The ``segmentation.numba`` fast path: compiled CPU kernels (numba) for the Dice-family
sums of ``softmax(x)`` against integer labels and their gradient, and the torch
``autograd.Function`` around them (declared in :mod:`losskit.segmentation._common`, which
says when it runs; pinned to the reference ``overlap_sums`` by the tests).

The exponentials ``e = exp(x)`` (``(N, C, S)``) come from torch's vectorised ``exp2`` (a
vectorisable polynomial ``exp`` compiled here was slower, see
``benchmarks/bench_segmentation.py``); the kernels do the per-pixel rest in one pass over
``e`` forward and one backward, which can be split over contiguous ranges of the flattened
``(sample, pixel)`` index by :func:`losskit._numba.parallel_for` (``threads`` ranges of at
least 16384 pixels; the loss runs them on ``THREADS``, one: they run right after torch's
``exp2``, whose OpenMP workers keep spinning for a while, and a second thread of ours would
compete with them for the cores).

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
that LLVM vectorises them. The forward's per-class sums are reductions over a block: the
kernel is compiled with ``fastmath={"reassoc"}`` (only reassociation: NaN and infinities
keep their IEEE meaning, which the range check relies on), so LLVM keeps them in vector
registers and adds the lanes at the end of the block, in the input's dtype; the blocks' sums
are added up in float64 (per range; the ranges' partial sums are added by the caller). The
backward has no reductions and stays strict. The per-pixel arithmetic stays in the input's
dtype (constants come from arrays of that dtype: no silent promotion of float32 to float64),
and the labels go to an int32 scratch row per block (int64 lanes would halve the vector
width of the label comparisons). Slices of 1-D rows are indexed rather than the 3-D arrays
(plain ``e[n, c, i]`` indexing kept LLVM from vectorising). The backward overwrites ``e`` in
place through the same slice it reads: with a separate output array that aliases ``e``,
LLVM's runtime alias check fails and the scalar loop runs.

Importing this module imports numba and torch; ``_fastpath`` imports it on first use.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .._checks import check_labels_in_range
from .._numba import jit, parallel_for, plan

# Pixels per block: the block's exponentials, labels and per-pixel scratch stay in L1.
_BLOCK = 1024


def _blocks(start, stop, S):
    """The blocks of pixels ``[start, stop)`` of the flattened ``(N, S)`` index, as rows
    ``(sample, first pixel, pixels)`` (int64): a block never crosses a sample's end and
    holds at most ``_BLOCK`` pixels."""
    count = 0
    k = start
    while k < stop:  # count, then fill
        i0 = k % S
        i1 = min(S, i0 + (stop - k))
        count += (i1 - i0 + _BLOCK - 1) // _BLOCK
        k += i1 - i0
    out = np.empty((count, 3), np.int64)
    j = 0
    k = start
    while k < stop:
        n = k // S
        i0 = k - n * S
        i1 = min(S, i0 + (stop - k))
        k += i1 - i0
        for b0 in range(i0, i1, _BLOCK):
            out[j, 0] = n
            out[j, 1] = b0
            out[j, 2] = min(_BLOCK, i1 - b0)
            j += 1
    return out


def _block_labels(lb, ignore, has_ignore, m, ll, one, zero, lmin, lmax):
    """Validity ``m`` (0 at ``ignore``) and label ``ll`` (0 where ignored) of a block's
    labels ``lb``; returns ``lmin``, ``lmax`` lowered / raised by its valid labels. A label
    outside int32 wraps in ``ll``, but then ``lmin`` / ``lmax`` are out of range and the
    caller raises before using the sums."""
    big = np.int64(1) << 62
    if has_ignore:
        for i in range(lb.shape[0]):
            lab = lb[i]
            valid = lab != ignore
            m[i] = one if valid else zero
            ll[i] = lab if valid else 0
            lmin = min(lmin, lab if valid else big)
            lmax = max(lmax, lab if valid else -big)
    else:
        for i in range(lb.shape[0]):
            lab = lb[i]
            m[i] = one
            ll[i] = lab
            lmin = min(lmin, lab)
            lmax = max(lmax, lab)
    return lmin, lmax


# Dispatchers before the kernels that call them (which must see dispatchers, not Python
# functions), inlined by numba itself rather than left to LLVM's heuristics: each kernel
# stays one loop nest for LLVM to vectorise, and the backward, which discards the label
# range, does not compute it.
_blocks = jit(_blocks, inline="always").compiled
_block_labels = jit(_block_labels, inline="always").compiled


@jit(fastmath={"reassoc"})
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
    ll = np.empty(_BLOCK, np.int32)
    one = np.ones(1, e.dtype)[0]
    zero = np.zeros(1, e.dtype)[0]
    bad = 0
    lmin = np.int64(1) << 62
    lmax = -lmin
    blocks = _blocks(start, stop, S)
    for j in range(blocks.shape[0]):
        n, b0, nb = blocks[j, 0], blocks[j, 1], blocks[j, 2]
        lmin, lmax = _block_labels(labels[n, b0:b0 + nb], ignore, has_ignore, m, ll, one, zero, lmin, lmax)
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
            w[i] = m[i] / s
        for c in range(C):
            ec = e[n, c, b0:b0 + nb]
            sP = zero
            sI = zero
            sG = zero
            for i in range(nb):
                v = w[i] * ec[i]
                sP += v
                at_label = ll[i] == c
                sI += v if at_label else zero
                sG += m[i] if at_label else zero
            out[part, 0, n, c] += sP
            out[part, 1, n, c] += sI
            out[part, 2, n, c] += sG
    stats[part, 0] = bad
    stats[part, 1] = lmin
    stats[part, 2] = lmax


@jit
def backward_kernel(part, start, stop, e, labels, ignore, has_ignore, a, b):
    """Overwrite ``e[n, :, i]`` with ``dL/dx`` over pixels ``[start, stop)``."""
    N, C, S = e.shape
    s_ = np.empty(_BLOCK, e.dtype)
    u = np.empty(_BLOCK, e.dtype)
    m = np.empty(_BLOCK, e.dtype)
    ll = np.empty(_BLOCK, np.int32)
    one = np.ones(1, e.dtype)[0]
    zero = np.zeros(1, e.dtype)[0]
    blocks = _blocks(start, stop, S)
    for j in range(blocks.shape[0]):
        n, b0, nb = blocks[j, 0], blocks[j, 1], blocks[j, 2]
        # the label range is the forward's to check: 0, 0 for lmin, lmax here
        _block_labels(labels[n, b0:b0 + nb], ignore, has_ignore, m, ll, one, zero, 0, 0)
        # s = sum_c e_c and u = sum_c e_c d_c
        for c in range(C):
            bc = b[n, c]
            dc = bc + a[n, c]  # d_c at the label
            ec = e[n, c, b0:b0 + nb]
            if c == 0:
                for i in range(nb):
                    v = ec[i]
                    s_[i] = v
                    u[i] = v * (dc if ll[i] == 0 else bc)
            else:
                for i in range(nb):
                    v = ec[i]
                    s_[i] += v
                    u[i] += v * (dc if ll[i] == c else bc)
        for i in range(nb):
            u[i] = u[i] / s_[i]  # t
            s_[i] = m[i] / s_[i]  # w
        for c in range(C):
            bc = b[n, c]
            dc = bc + a[n, c]
            ec = e[n, c, b0:b0 + nb]
            for i in range(nb):
                ec[i] = s_[i] * ec[i] * ((dc if ll[i] == c else bc) - u[i])


def sums(e, labels, ignore_index, lo, hi, threads):
    """Run :func:`forward_kernel` over all pixels. Returns ``(sums, bad, lmin, lmax)``:
    ``sums`` float64 ``(3, N, C)`` holding ``P, I, G``; ``bad`` the number of pixels whose
    sum of exponentials left ``[lo, hi]``; the smallest and largest valid label
    (``lmin > lmax`` when there is none). ``lo``, ``hi``: scalars of ``e``'s dtype."""
    N, C, S = e.shape
    parts = plan(N * S, threads)
    out = np.zeros((parts, 3, N, C))
    stats = np.empty((parts, 3), np.int64)
    has_ignore = ignore_index is not None
    ignore = ignore_index if has_ignore else 0
    parallel_for(forward_kernel, N * S, parts, e, labels, ignore, has_ignore, lo, hi, out, stats)
    if parts == 1:
        bad, lmin, lmax = stats[0].tolist()
        return out[0], bad, lmin, lmax
    return out.sum(0), int(stats[:, 0].sum()), int(stats[:, 1].min()), int(stats[:, 2].max())


def gradient(e, labels, ignore_index, a, b, threads):
    """Run :func:`backward_kernel` over all pixels: ``e`` is overwritten with ``dL/dx``."""
    N, C, S = e.shape
    parts = plan(N * S, threads)
    has_ignore = ignore_index is not None
    ignore = ignore_index if has_ignore else 0
    parallel_for(backward_kernel, N * S, parts, e, labels, ignore, has_ignore, a, b)


# --------------------------------------------------------------------------- the torch Function

THREADS = 1  # see the module docstring
_LOG2E = 1.4426950408889634
# Without a max-shift, exp(x) is used as is when every pixel's sum of exponentials lies in
# [2^-40, 2^40] (logits up to about +-27); outside that (or NaN) the kernels count the
# pixel and the forward redoes e with the max over classes subtracted.
_EXP_RANGE = 2.0**40
# the kernels are compiled for these label dtypes; others are widened to int64 (a copy)
_KERNEL_LABELS = (torch.int64, torch.int32, torch.uint8)


class BufferCache:
    """One ``(N, C, S)`` buffer kept for the next call: the exponentials, which become the
    gradient returned for ``x``. When the next call has the same size and nothing else
    references that memory any more (the caller dropped the gradient, or it was added into
    an existing ``.grad``), the exponentials are written into it instead of into a fresh
    allocation, whose page faults can cost more than the whole computation on CPU.

    Only the storage is kept: any live tensor, view or NumPy array on it makes its use
    count exceed ours, and then :meth:`take` gives ``None`` (allocate). At most one buffer
    of at most ``max_bytes`` stays alive between calls (larger volumes allocate every call
    rather than hold that much memory while the loss is not in use).
    """

    def __init__(self, max_bytes: int = 64 * 2**20):
        self.max_bytes = max_bytes
        self._storage = None
        self._lock = threading.Lock()

    def take(self, x):
        """A tensor shaped like contiguous ``x`` on the kept storage, or ``None``."""
        with self._lock:  # taken out: two threads never get the same buffer
            storage, self._storage = self._storage, None
        if storage is None or storage.nbytes() != x.numel() * x.element_size():
            return None
        try:
            count = torch._C._storage_Use_Count(storage._cdata)
        except (AttributeError, RuntimeError):  # pragma: no cover - private API gone: no reuse
            return None
        if count != 1:  # someone else still holds this memory
            return None
        return torch.empty(0, dtype=x.dtype).set_(storage, 0, x.shape, x.stride())

    def keep(self, e) -> None:
        storage = e.untyped_storage()
        with self._lock:
            self._storage = storage if storage.nbytes() <= self.max_bytes else None

    def kept(self) -> bool:
        return self._storage is not None


BUFFERS = BufferCache()


def exponentials(x, shift, out=None):
    """``e = exp(x)`` (``exp2(x log2 e)``: torch's vectorised exp2 is faster than its
    exp on CPU), shifted by the max over classes when ``shift``; written into ``out``
    when given."""
    if shift:
        return torch.sub(x, x.amax(1, keepdim=True), out=out).mul_(_LOG2E).exp2_()
    return torch.mul(x, _LOG2E, out=out).exp2_()


# the range of a pixel's sum of exponentials without the max-shift, in e's dtype
limits = {dt: (np_dt(1.0 / _EXP_RANGE), np_dt(_EXP_RANGE)) for dt, np_dt in
          ((torch.float32, np.float32), (torch.float64, np.float64))}


class SoftmaxLabelSumsCompiled(torch.autograd.Function):
    """``I, P, G`` of ``p = softmax(x)`` against integer labels: ``e = exp(x)`` in
    torch (its vectorised exp2), the per-pixel rest in numba kernels
    (above): one pass forward, one pass for the hand-derived backward (written into e's
    memory). Labels are raw: the kernels handle ``ignore_index`` and report the valid
    labels' range, checked here (so the reference's NumPy range check is not needed;
    ``raw`` are the caller's labels, for the error message). With a ``head`` it returns
    the head's loss instead of the sums, and its backward takes ``dL/dI, dL/dP`` from
    the head."""

    @staticmethod
    def forward(ctx, x, labels, raw, ignore_index, head, threads, buffers):
        C = x.shape[1]
        ln = labels.numpy()
        shift = False
        e = exponentials(x, shift, buffers.take(x))
        lo, hi = limits[e.dtype]
        totals, bad, lmin, lmax = sums(e.numpy(), ln, ignore_index, lo, hi, threads)
        if lmin <= lmax and (lmin < 0 or lmax >= C):
            check_labels_in_range("target", raw, C, ignore_index=ignore_index)  # raises
            raise AssertionError("unreachable: labels out of range")  # pragma: no cover
        if bad:
            # some pixel's sum of exponentials left [2^-40, 2^40] (large logits, or
            # NaN): redo e with the max over classes subtracted, as torch.softmax does
            shift = True
            exponentials(x, shift, e)
            totals = sums(e.numpy(), ln, ignore_index, lo, hi, threads)[0]
        buffers.keep(e)
        ctx.save_for_backward(x, e, labels)  # (labels: autograd's in-place check)
        # NumPy views for the backward kernel (.numpy() per call is not free)
        ctx.arrays = (e.numpy(), ln)
        ctx.ignore_index = ignore_index
        ctx.shift = shift
        ctx.e_reused = False
        ctx.head = head
        ctx.threads = threads
        if head is not None:
            P64, I64, G64 = totals  # float64 (N, C) each
            value = head.forward(I64, P64, G64)
            return torch.from_numpy(np.asarray(value, dtype=np.float64)).to(e.dtype)
        P, I, G = torch.from_numpy(totals if e.dtype == torch.float64 else totals.astype(np.float32)).unbind(0)
        ctx.mark_non_differentiable(G)
        return I, P, G

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        x, e, labels = ctx.saved_tensors
        N, C, S = e.shape
        if ctx.e_reused:
            # a second backward (retain_graph=True): e's memory holds the first gradient
            e = exponentials(x, ctx.shift)
            en, ln = e.numpy(), labels.numpy()
        else:
            # dx is written into e's memory: no fresh (N, C, S) allocation (on CPU, the
            # page faults of one cost as much as the arithmetic). e.data: no version
            # bump; the flag keeps a second backward from reading it. The NumPy views
            # must not outlive this backward: they would keep e's memory from being
            # reused by the next call (see BufferCache).
            en, ln = ctx.arrays
            ctx.arrays = None
            e = e.data
            ctx.e_reused = True
        dtype = en.dtype
        if ctx.head is not None:
            a, b = ctx.head.backward(grads[0].detach().to(torch.float64).numpy(), dtype)
        else:
            gI, gP = grads[:2]
            zeros = np.zeros((N, C), dtype)
            a = zeros if gI is None else gI.contiguous().numpy()
            b = zeros if gP is None else gP.contiguous().numpy()
        gradient(en, ln, ctx.ignore_index, a, b, ctx.threads)
        return e, None, None, None, None, None, None


def apply(x, labels, ignore_index, head=None, *, threads=THREADS, buffers=BUFFERS):
    """The compiled Function on ``(N, C, S)`` logits and raw ``(N, S)`` labels: ``I, P, G``,
    or with a fusable ``head`` (:class:`losskit.segmentation._common.Head`) the whole loss.
    ``threads`` and ``buffers`` are knobs for the tests (the loss uses the defaults)."""
    raw = labels
    if labels.dtype not in _KERNEL_LABELS:
        labels = labels.to(torch.int64)
    if not labels.is_contiguous():
        labels = labels.contiguous()
    if not x.is_contiguous():
        x = x.contiguous()
    return SoftmaxLabelSumsCompiled.apply(x, labels, raw, ignore_index, head, threads, buffers)


def softmax_label_loss(x, labels, ignore_index, head, xp):
    """The path's entry (see ``losskit.segmentation._common``): ``x`` ``(N, C, S)`` logits,
    ``labels`` the raw ``(N, S)`` labels (the kernels mask ``ignore_index`` and report the
    range), ``head`` what follows the sums: inside the Function when it is fusable."""
    if head.fusable:
        return apply(x, labels, ignore_index, head)
    I, P, G = apply(x, labels, ignore_index)
    return head.finish(I, P, G, xp)
