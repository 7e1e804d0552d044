"""The segmentation family's torch fast paths: ``segmentation.torch``,
``overlap_sums(softmax(x), labels)`` as one fused torch ``autograd.Function`` with a
hand-derived backward (declared in :mod:`losskit.segmentation._common`, which says when it
runs), and ``segmentation.torch_pool``, the soft skeleton by max pooling (declared in
:mod:`losskit.segmentation.topology`); both pinned to their reference by the tests.
Imported on first use only: it imports torch.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .._checks import check_labels_in_range
from .._xp import torch_index
from ._common import skeleton_iterations

_LOG2E = 1.4426950408889634
# Sub-bins per class for the scatter-adds (pixel s goes to sub-bin s % _BINS): consecutive
# pixels with the same label hit different accumulators, which keeps a CPU scatter-add from
# waiting on its own previous store; the sub-bins are summed afterwards.
_BINS = 16
# Without a max-shift, exp(x) is used as is when every pixel's sum of exponentials lies in
# [2^-40, 2^40] (logits up to about +-27); outside that (or off CPU, where checking needs a
# device sync) the max over classes is subtracted first.
_EXP_RANGE = 2.0**40


def full_precision(device_type):
    """Autocast off inside the fused function (its matmuls would run in half precision);
    its inputs are float32 already (``prepare`` upcasts half-precision input)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def exponentials(x):
    """``e`` (``(N, C, S)``, the one big temporary) and ``r = 1 / sum_c e`` (``(N, S)``)
    with ``softmax(x) = e * r``; ``exp`` as ``exp2(x * log2(e))`` (faster than
    ``torch.exp`` on CPU, see benchmarks/bench_segmentation.py)."""
    N, C, S = x.shape
    ones = torch.ones((N, 1, C), dtype=x.dtype, device=x.device)
    if x.device.type == "cpu":
        e = torch.mul(x, _LOG2E).exp2_()
        s = torch.bmm(ones, e).view(N, S)  # sum over classes (a matmul: faster than sum(1))
        if s.numel() == 0:
            return e, s
        lo, hi = torch.aminmax(s)
        if lo >= 1.0 / _EXP_RANGE and hi <= _EXP_RANGE:
            return e, s.reciprocal_()
        # large logits: shift by the max over classes, as torch.softmax does
    e = torch.sub(x, x.amax(1, keepdim=True)).mul_(_LOG2E).exp2_()
    return e, torch.bmm(ones, e).view(N, S).reciprocal_()


class SoftmaxLabelSums(torch.autograd.Function):
    """``I, P, G`` of ``p = softmax(x)`` against integer labels, fused.

    Forward: ``p = e r`` with ``e = exp(x)`` (``(N, C, S)``, the only big temporary) and
    ``r = 1 / sum_c e`` (``(N, S)``); ``p`` itself is never formed. ``P = sum_i m p`` is a
    matmul of ``e`` with ``m r``; ``q`` (``p`` at the label) is one gather at
    ``l S + i`` in each sample's ``(C * S)`` row; ``I`` and ``G`` are one scatter-add of the
    complex pair ``m q + i m`` into per-class sub-bins. No one-hot.

    Backward, with ``a = dL/dI`` and ``b = dL/dP`` (both ``(N, C)``), ``l`` the label of
    pixel i and ``m`` its validity: ``dL/dp_c = m (b_c + a_c [c = l])``, so through the
    softmax ``dL/dx_c = m p_c (b_c - t) + m [c = l] q a_l`` with
    ``t = sum_c p_c b_c + q a_l``. It is computed in ``e``'s memory (``e`` is not needed
    afterwards): one matmul (``sum_c e_c b_c``), one gather of ``a`` at the labels, two
    in-place passes over ``e`` and a scatter-add of ``m q a_l`` at the label.
    """

    @staticmethod
    def forward(ctx, x, labels, mask, complex_scatter):
        with full_precision(x.device.type):
            return SoftmaxLabelSums._forward(ctx, x, labels, mask, complex_scatter)

    @staticmethod
    @once_differentiable
    def backward(ctx, gI, gP, gG):
        with full_precision(ctx.device_type):
            return SoftmaxLabelSums._backward(ctx, gI, gP)

    @staticmethod
    def _forward(ctx, x, labels, mask, complex_scatter):
        N, C, S = x.shape
        x = x.contiguous()
        ctx.device_type = x.device.type
        e, r = exponentials(x)
        w = r if mask is None else r * mask  # the weight of e in every sum
        P = torch.bmm(w.view(N, 1, S), e.transpose(1, 2)).view(N, C)
        cols = torch.arange(S, device=x.device)
        at = torch.add(cols, labels, alpha=S)  # the label's element in a (C * S) row
        q = e.view(N, C * S).gather(1, at).mul_(r)  # p at the label
        # sub-bin of pixel i: l * B + i % B
        bins = torch.add(cols.bitwise_and_(_BINS - 1), labels, alpha=_BINS)
        if complex_scatter:
            # (q, 1) as one complex number: I and G in one scatter-add
            pair = torch.add(q, 1j)
            if mask is not None:
                pair.mul_(mask)
            sums = torch.zeros((N, C * _BINS), dtype=pair.dtype, device=x.device).scatter_add_(1, bins, pair)
            sums = torch.view_as_real(sums).view(N, C, _BINS, 2).sum(2)
            I, G = sums[..., 0], sums[..., 1]
        else:  # two real scatter-adds (atomics on accelerators)
            ones = torch.ones_like(q) if mask is None else mask
            qm = q if mask is None else q * mask
            I, G = (
                torch.zeros((N, C * _BINS), dtype=x.dtype, device=x.device)
                .scatter_add_(1, bins, v)
                .view(N, C, _BINS)
                .sum(2)
                for v in (qm, ones)
            )
        if C * S < 2**31:
            at = at.to(torch.int32)  # kept for backward: half the memory, cheap to widen
        ctx.save_for_backward(x, e, r, q, labels, mask, at)
        ctx.e_reused = False
        ctx.mark_non_differentiable(G)
        return I, P, G

    @staticmethod
    def _backward(ctx, gI, gP):
        x, e, r, q, labels, mask, at = ctx.saved_tensors
        N, C, S = e.shape
        if ctx.e_reused:
            # a second backward (retain_graph=True): e's memory holds the first gradient
            e, r = exponentials(x)
        else:
            # dx is written into e's memory: no fresh (N, C, S) allocation (on CPU, the
            # page faults of one cost as much as the arithmetic). .data: no version bump;
            # the flag above keeps a second backward from reading it.
            e = e.data
            ctx.e_reused = True
        zeros = None
        if gI is None or gP is None:
            zeros = torch.zeros((N, C), dtype=e.dtype, device=e.device)
        a = zeros if gI is None else gI.contiguous()
        b = zeros if gP is None else gP.contiguous()
        al = a.gather(1, labels)  # a at the label
        # t = sum_c p_c b_c + q a_l, with p = e r
        t = torch.bmm(b.view(N, 1, C), e).view(N, S).mul_(r).addcmul_(q, al)
        # dL/dx_c = m p_c (b_c - t) = e_c (b_c w - t w) with w = m r: in place, class by
        # class (the outer difference would be another (N, C, S) temporary)
        w = r if mask is None else r * mask
        ntw = (t * w).neg_()
        dx = e
        if C <= 16:
            bt = b.t().contiguous()
            for c in range(C):
                dx[:, c].mul_(torch.addcmul(ntw, w, bt[c].view(N, 1)))
        else:
            dx.mul_(torch.addcmul(ntw.view(N, 1, S), w.view(N, 1, S), b.view(N, C, 1)))
        # + m q a_l at the label
        qa = q.mul(al) if mask is None else q.mul(mask).mul_(al)
        dx.view(N, C * S).scatter_add_(1, at.long(), qa)
        return dx, None, None, None


def label_sums(x, labels, mask, *, complex_scatter=None):
    """``I, P, G`` (``(N, C)`` each) of ``softmax(x)`` against ``(N, S)`` int64/int32
    ``labels`` (ignored pixels already 0) and the validity ``mask`` (``x``'s dtype, or
    ``None``). ``complex_scatter``: I and G in one complex scatter-add (``None``: on the
    CPU) or two real ones (what accelerators would need)."""
    if complex_scatter is None:
        complex_scatter = x.device.type == "cpu"
    return SoftmaxLabelSums.apply(x, labels, mask, complex_scatter)


def softmax_label_loss(x, labels, ignore_index, head, xp):
    """The path's entry (see ``losskit.segmentation._common``): ``x`` ``(N, C, S)`` logits,
    ``labels`` the raw ``(N, S)`` labels (range not yet checked, ``ignore_index`` not yet
    masked), ``head`` what follows the sums."""
    check_labels_in_range("target", labels, x.shape[1], ignore_index=ignore_index)
    labels = torch_index(labels)
    mask = None
    if ignore_index is not None:
        keep = labels != ignore_index
        labels = torch.where(keep, labels, 0)
        mask = keep.to(x.dtype)
    I, P, G = label_sums(x, labels, mask)
    return head.finish(I, P, G, xp)


def soft_skeleton(x, iterations):
    """``segmentation.torch_pool``: the soft skeleton of ``(N, C, *spatial)`` (1 to 3 spatial
    axes) with torch's max pooling. Pooling's backward sends a window's gradient to its first
    maximum, the reference's tie rule; the window is cut at the border by the ``-inf``
    padding, as the reference cuts it."""
    d = x.ndim - 2
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[d - 1]
    lines = []
    for i in range(d):
        k = [1] * d
        k[i] = 3
        lines.append((tuple(k), tuple(v // 2 for v in k)))

    def erode(v):
        out = None
        for k, pad in lines:
            m = -pool(-v, k, 1, pad)
            out = m if out is None else torch.minimum(out, m)
        return out

    return skeleton_iterations(x, iterations, erode=erode, dilate=lambda v: pool(v, 3, 1, 1), relu=F.relu)
