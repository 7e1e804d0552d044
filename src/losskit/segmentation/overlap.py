r"""Segmentation losses: the Dice family (Dice, Jaccard, generalized Dice, Tversky, focal
Tversky, log-cosh Dice), the Lovász losses and Dice + cross-entropy.

Every overlap loss here is written once on top of one private kernel,
:func:`_overlap_sums`, which returns per-(sample, class) sums

.. math::

    I_{nc} = \sum_i p_{nci} g_{nci}, \qquad
    P_{nc} = \sum_i p_{nci}\ (\text{or } p_{nci}^2), \qquad
    G_{nc} = \sum_i g_{nci}\ (\text{or } g_{nci}^2),

from which false positives :math:`FP = P - I` and false negatives :math:`FN = G - I` follow
(exactly, also for soft labels). With ``batch=True`` the sums are pooled over the batch too.

Conventions shared by the family (those of MONAI unless said otherwise):

* ``input`` is ``(N, C, *spatial)`` with the class axis at ``axis`` (default 1) and any
  number of spatial axes (2D, 3D, ...). It holds probabilities unless ``activation`` says
  otherwise: ``"softmax"`` over the class axis (mutually exclusive classes) or
  ``"sigmoid"`` per channel (multi-label, or one foreground channel).
* ``target`` is either integer labels of the input's shape *without* the class axis, or an
  array of the input's shape (one-hot, multi-label masks or soft labels; integers and
  booleans are cast). With one channel (``C == 1``) integer labels are a binary mask (0/1).
  Integer labels are never expanded to an ``(N, C, ...)`` one-hot (except by the
  array-API fallback of namespaces without a scatter, and by the Lovász losses, whose sort
  is per class): the intersection is gathered at the label (``take_along_axis``) and
  scattered into per-class bins (torch ``scatter_add``, JAX ``.at[].add``, NumPy
  ``bincount``). On torch, ``activation="softmax"`` with integer labels (and
  ``squared=False``) runs a fused ``autograd.Function`` with a hand-derived backward, in
  eager mode (under ``torch.compile`` and ``torch.func`` the generic path is traced). For
  CPU tensors, when numba is installed (``pip install losskit[fast]``; ``LOSSKIT_NUMBA=0``
  switches it off), that Function is compiled CPU kernels (``_segmentation_numba``):
  ``exp`` in torch, then one pass forward for the sums (also masking ``ignore_index`` and
  checking the label range) and one pass backward, on one thread (see ``_NUMBA_THREADS``);
  for :func:`dice_loss` the formula and the reduction run inside the same Function, on the
  NumPy sums, with a hand-derived gradient (``_DiceTail``); the other losses apply theirs
  in torch. 1.5-3x faster than the torch-only version in bench_segmentation, which runs
  otherwise (no numba; accelerators take the generic path).
  Tests pin both to the generic path (values and gradients).
* ``ignore_index`` pixels are removed from the numerator, the denominator *and* the average:
  a (sample, class) entry with no valid pixel gets weight 0 in ``reduction="mean"``.
* ``smooth_nr = smooth_dr = 1e-5``: an empty target with an empty prediction gives loss 0,
  an empty target with predicted mass gives a loss that rises with the mass and a gradient
  that pushes it down (see :func:`dice_loss`).
* Class weights ``weight`` have one entry per class of ``input`` (background included, also
  with ``include_background=False``, as in ``torch.nn.functional.cross_entropy``);
  ``reduction="mean"`` is the weighted mean ``sum(w * L) / sum(w)``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
from typing import Any

from .. import _numba
from .._checks import (
    check_array,
    check_bool,
    check_choice,
    check_floating,
    check_in_unit_interval,
    check_labels_in_range,
    check_ndim,
    check_nonnegative_values,
    check_number,
    check_reduction,
    normalize_axis,
)
from .._meta import loss
from .._reduce import reduce_grad, reduce_loss
from .._xp import (
    as_float,
    backend_name,
    is_traced,
    log_cosh,
    namespace,
    one_hot,
    sigmoid,
    softmax,
    take_along_axis,
    torch_index,
)

__all__ = [
    "dice_loss",
    "jaccard_loss",
    "generalized_dice_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "log_cosh_dice_loss",
    "lovasz_softmax_loss",
    "lovasz_hinge_loss",
    "dice_ce_loss",
]

ACTIVATIONS = (None, "sigmoid", "softmax")

_MNR = "Milletari, Navab, Ahmadi, V-Net: Fully Convolutional Neural Networks for Volumetric Medical Image Segmentation, 2016, arXiv:1606.04797"

# Argument descriptions shared by the overlap losses (inserted into their docstrings).
_COMMON_ARGS = """\
        input: ``(N, C, *spatial)`` probabilities, or logits with ``activation``; the
            class axis is ``axis``. Any floating dtype (half precision computes in float32).
        target: integer labels of shape ``(N, *spatial)`` (the input's shape without the
            class axis; with ``C == 1`` a 0/1 mask), or an array of the input's shape
            (one-hot, multi-label masks or soft labels in [0, 1]).
        activation: ``None`` (``input`` holds probabilities), ``"softmax"`` over the class
            axis (needs ``C >= 2``) or ``"sigmoid"`` per channel.
        axis: the class axis of ``input`` (not 0, the batch axis).
        include_background: ``False`` drops class 0 after the activation (the softmax still
            sees it); needs ``C >= 2``.
        smooth_nr, smooth_dr: added to numerator and denominator (>= 0). Equal values make
            an empty target with an empty prediction score 0 loss, and an empty target with
            predicted mass a loss with a gradient that pushes the mass down.
        batch: ``False`` (default): one score per sample and class, then averaged (each image
            counts alike; a tiny structure in one image is not drowned by a large one in
            another). ``True``: sums pooled over the batch before dividing, one score per
            class (smoother for small or often-empty structures; the value depends on which
            images share a batch).
        ignore_index: label value whose pixels (elements, for dense targets) are excluded
            from numerator, denominator and the average; ``None`` for none.
        reduction: ``"mean"`` (weighted mean over the entries), ``"sum"`` or ``"none"``."""

_COMMON_RETURNS = """\
        The loss in the input's library, float32 (float64 for float64 input). Shape ``()``
        for ``"mean"``/``"sum"``; for ``"none"`` ``(N, C')`` per sample and class, or
        ``(C',)`` with ``batch=True`` (``C' = C - 1`` without background), multiplied by
        the class weights and 0 where an entry had no valid pixel."""


def _fill(fn):
    fn.__doc__ = fn.__doc__.replace("%(common_args)s", _COMMON_ARGS).replace(
        "%(common_returns)s", _COMMON_RETURNS
    )
    return fn


# --------------------------------------------------------------------------- validation


def _check_int_option(name: str, value: Any, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int or None, got {type(value).__name__}")


def _class_weight(weight, num_classes: int, xp, like):
    """``weight`` as a ``(C,)`` array of ``like``'s dtype and device, checked >= 0."""
    if weight is None:
        return None
    if not hasattr(weight, "shape"):
        weight = xp.asarray(weight, dtype=like.dtype, device=getattr(like, "device", None))
    if not xp.isdtype(weight.dtype, ("real floating", "integral")):
        raise TypeError(f"weight: expected a real array of class weights, got dtype {weight.dtype}")
    if tuple(weight.shape) != (num_classes,):
        raise ValueError(
            f"weight: expected one weight per class of input, shape ({num_classes},), "
            f"got {tuple(weight.shape)}"
        )
    check_nonnegative_values("weight", weight)
    return as_float(weight, xp, like.dtype)


# --------------------------------------------------------------------------- the kernel


def _activate(x, activation, xp):
    if activation == "softmax":
        return softmax(x, xp, axis=1)
    if activation == "sigmoid":
        return sigmoid(x, xp)
    return x


def _prepare(input, target, xp, *, activation, axis, ignore_index, check_values=True, defer_activation=False):
    """Validate and flatten: returns ``(p, labels, g, mask)``.

    ``p`` is ``(N, C, S)`` probabilities (activation applied; the flattened logits with
    ``defer_activation``) in the compute dtype. Exactly
    one of ``labels`` (``(N, S)`` integer labels, ignored pixels set to 0) and ``g``
    (``(N, C, S)`` dense target, ignored elements set to 0) is not ``None``. ``mask`` is the
    validity mask (``(N, S)`` for labels, ``(N, C, S)`` for dense) or ``None``.
    """
    check_floating("input", input, xp)
    check_array("target", target)
    check_ndim("input", input, min_ndim=2)
    ax = normalize_axis("axis", axis, input.ndim)
    if ax == 0:
        raise ValueError("axis: expected the class axis (axis 0 is the batch axis), got 0")
    check_choice("activation", activation, ACTIVATIONS)
    _check_int_option("ignore_index", ignore_index)
    shape = tuple(input.shape)
    C = shape[ax]
    if activation == "softmax" and C < 2:
        raise ValueError(
            f"activation: expected 'sigmoid' or None for a single-channel input (softmax over "
            f"one class is constant 1), got 'softmax' with {C} class along axis {ax}"
        )
    N = shape[0]
    label_shape = shape[:ax] + shape[ax + 1 :]
    tshape = tuple(target.shape)
    is_int = xp.isdtype(target.dtype, "integral")

    x = as_float(input, xp)
    if ax != 1:
        x = xp.moveaxis(x, ax, 1)
    S = math.prod(x.shape[2:])
    x = xp.reshape(x, (N, C, S))
    p = x if defer_activation else _activate(x, activation, xp)

    labels = g = mask = None
    if is_int and len(tshape) == len(shape) - 1:
        if tshape != label_shape:
            raise ValueError(
                f"target: expected integer labels of shape {label_shape} (input's shape without "
                f"the class axis {ax}), got {tshape}"
            )
        if check_values:
            check_labels_in_range("target", target, max(C, 2), ignore_index=ignore_index)
        lab = xp.reshape(target, (N, S))
        if ignore_index is not None:
            mask = lab != ignore_index
            # Ignored pixels get label 0 so that gathers and scatters stay in range; their
            # values are zeroed by the mask, so which class they pretend to be is irrelevant.
            lab = xp.where(mask, lab, xp.zeros_like(lab))
        if C == 1:
            # One foreground channel: the labels are the 0/1 mask itself.
            g = xp.reshape(xp.astype(lab, p.dtype), (N, 1, S))
            if mask is not None:
                mask = xp.reshape(mask, (N, 1, S))
        else:
            labels = lab
        return p, labels, g, mask
    if len(tshape) != len(shape):
        raise ValueError(
            f"target: expected integer labels of shape {label_shape} or an array of the "
            f"input's shape {shape}, got shape {tshape} (dtype {target.dtype})"
        )
    if tshape != shape:
        same_but_class = all(a == b for i, (a, b) in enumerate(zip(tshape, shape)) if i != ax)
        if same_but_class:
            hint = (
                f"; integer labels go without the class axis, shape {label_shape}"
                if tshape[ax] == 1
                else ""
            )
            raise ValueError(
                f"target: expected {C} classes along axis {ax} like input {shape}, "
                f"got {tshape[ax]} (shape {tshape}){hint}"
            )
        raise ValueError(f"target: expected the shape of input {shape}, got {tshape}")
    if not (is_int or xp.isdtype(target.dtype, ("real floating", "bool"))):
        raise TypeError(f"target: expected a real or integer array, got dtype {target.dtype}")
    t = xp.astype(target, p.dtype) if target.dtype != p.dtype else target
    if ax != 1:
        t = xp.moveaxis(t, ax, 1)
    t = xp.reshape(t, (N, C, S))
    if ignore_index is not None:
        mask = t != ignore_index
        t = xp.where(mask, t, xp.zeros_like(t))
    elif check_values:
        check_in_unit_interval("target", target)
    return p, None, t, mask


def _bincount2d(values, labels, num_classes: int, xp):
    """``out[n, c] = sum_i values[n, i] * (labels[n, i] == c)`` without a one-hot.

    A scatter-add into ``(N, C)`` bins: ``scatter_add`` in torch, ``.at[].add`` in JAX,
    ``bincount`` in NumPy (all differentiable where the backend has autodiff). The array API
    has no scatter, so other namespaces fall back to a one-hot product.
    """
    N = values.shape[0]
    name = backend_name(xp)
    if name == "torch":
        import torch

        out = torch.zeros((N, num_classes), dtype=values.dtype, device=values.device)
        return out.scatter_add(1, torch_index(labels), values)
    if name == "jax":
        import jax.numpy as jnp

        rows = jnp.arange(N, dtype=labels.dtype)[:, None]
        return jnp.zeros((N, num_classes), dtype=values.dtype).at[rows, labels].add(values)
    if name == "numpy":
        import numpy as np

        flat = (np.arange(N, dtype=np.int64)[:, None] * num_classes + labels).reshape(-1)
        out = np.bincount(flat, weights=values.reshape(-1), minlength=N * num_classes)
        return out.reshape(N, num_classes).astype(values.dtype, copy=False)
    oh = one_hot(labels, num_classes, xp, axis=1, dtype=values.dtype)
    return xp.sum(oh * values[:, None, :], axis=-1)


def _overlap_sums(p, labels, g, mask, xp, *, squared=False, batch=False):
    """Per-(sample, class) ``I, P, G`` and the validity ``valid`` (or ``None``).

    ``P``/``G`` sum squares when ``squared`` (V-Net). Shapes ``(N, C)``, or ``(C,)`` with
    ``batch``; ``valid`` is 1.0 where an entry had at least one non-ignored pixel.
    """
    N, C, S = p.shape
    pp = p * p if squared else p
    valid = None
    if labels is not None:
        q = take_along_axis(p, labels[:, None, :], xp, axis=1)[:, 0, :]  # p at the label
        if mask is not None:
            m = xp.astype(mask, p.dtype)
            q = q * m
            # matmul sums p over valid pixels without an (N, C, S) temporary.
            P = xp.matmul(pp, m[:, :, None])[:, :, 0]
            G = _bincount2d(m, labels, C, xp)
            valid = xp.astype(xp.sum(m, axis=1, keepdims=True) > 0, p.dtype)  # (N, 1)
        else:
            P = xp.sum(pp, axis=-1)
            G = _bincount2d(xp.ones_like(q), labels, C, xp)
        I = _bincount2d(q, labels, C, xp)
    else:
        if mask is not None:
            m = xp.astype(mask, p.dtype)
            pp = pp * m
            valid = xp.astype(xp.sum(m, axis=-1) > 0, p.dtype)  # (N, C)
        # g is zero at ignored elements, so p * g needs no mask.
        I = xp.sum(p * g, axis=-1)
        P = xp.sum(pp, axis=-1)
        G = xp.sum(g * g if squared else g, axis=-1)
    if batch:
        I, P, G = (xp.sum(a, axis=0) for a in (I, P, G))
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=0) > 0, p.dtype)
    return I, P, G, valid


_SOFTMAX_LABEL_SUMS = None
# The torch fast path for softmax + integer labels; tests switch it off to pin it to the
# generic array-API path (values and gradients).
_TORCH_FAST = True
_LOG2E = 1.4426950408889634
# Sub-bins per class for the scatter-adds (pixel s goes to sub-bin s % _BINS): consecutive
# pixels with the same label hit different accumulators, which keeps a CPU scatter-add from
# waiting on its own previous store (4x faster at 16); the sub-bins are summed afterwards.
_BINS = 16
# Without a max-shift, exp(x) is used as is when every pixel's sum of exponentials lies in
# [2^-40, 2^40] (logits up to about +-27); outside that (or off CPU, where checking needs a
# device sync) the max over classes is subtracted first.
_EXP_RANGE = 2.0**40


def _complex_scatter(device_type: str) -> bool:
    """I and G in one complex scatter-add (CPU); elsewhere two real ones (tests switch)."""
    return device_type == "cpu"


def _softmax_label_sums_function():
    """The torch ``autograd.Function`` behind :func:`_torch_softmax_label_sums` (built lazily:
    ``import losskit`` must not import torch)."""
    global _SOFTMAX_LABEL_SUMS
    if _SOFTMAX_LABEL_SUMS is not None:
        return _SOFTMAX_LABEL_SUMS
    import torch
    from torch.autograd.function import once_differentiable

    def full_precision(device_type):
        """Autocast off inside the fused function (its matmuls would run in half precision);
        its inputs are float32 already (``_prepare`` upcasts half-precision input)."""
        if torch.is_autocast_enabled(device_type):
            return torch.autocast(device_type, enabled=False)
        return contextlib.nullcontext()

    def exponentials(x):
        """``e`` (``(N, C, S)``, the one big temporary) and ``r = 1 / sum_c e`` (``(N, S)``)
        with ``softmax(x) = e * r``; ``exp`` as ``exp2(x * log2(e))`` (several times faster
        than ``torch.exp`` on CPU)."""
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
        def forward(ctx, x, labels, mask):
            with full_precision(x.device.type):
                return SoftmaxLabelSums._forward(ctx, x, labels, mask)

        @staticmethod
        @once_differentiable
        def backward(ctx, gI, gP, gG):
            with full_precision(ctx.device_type):
                return SoftmaxLabelSums._backward(ctx, gI, gP)

        @staticmethod
        def _forward(ctx, x, labels, mask):
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
            if _complex_scatter(x.device.type):
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
            return dx, None, None

    _SOFTMAX_LABEL_SUMS = SoftmaxLabelSums
    return SoftmaxLabelSums


def _functorch_active() -> bool:
    """True inside ``torch.func`` transforms (grad, vmap, ...), which the fused
    ``autograd.Function`` does not support; the generic path runs there."""
    import torch

    return bool(torch._C._are_functorch_transforms_active())


def _torch_softmax_label_sums(x, labels, mask, xp, *, batch):
    """Torch fast path of ``_overlap_sums(softmax(x), labels, ...)`` (eager only)."""
    import torch

    m = None if mask is None else mask.to(x.dtype)
    if labels.dtype != torch.int64:
        labels = labels.long()  # gather / scatter indices
    I, P, G = _softmax_label_sums_function().apply(x, labels, m)
    return _validity_and_pooling(I, P, G, m is not None, batch, xp)


_NUMBA_SOFTMAX_LABEL_SUMS = None
# Threads for the compiled label-sum passes. One: they run right after torch's exp2, whose
# OpenMP workers keep spinning for a while after it (libgomp's default wait policy), and a
# second thread of ours competes with them for the cores. Measured with torch's 2 threads
# on 2 cores, fwd + bwd: (8, 4, 128, 128) 0.45 ms on one thread vs 0.58 split in two;
# (2, 4, 64, 64, 64) 1.6 vs 1.9 ms; (16, 4, 256, 256) 4.1 vs 4.7 ms. (With
# OMP_WAIT_POLICY=PASSIVE the split wins at the larger sizes, but every torch op slows.)
_NUMBA_THREADS = 1
_INT64 = (-(2**63), 2**63 - 1)


class _IntDtypes:
    """``dtype in _INT_DTYPES``: torch's integer dtypes (built on first use: ``import
    losskit`` must not import torch)."""

    dtypes = None

    def __contains__(self, dtype):
        if self.dtypes is None:
            import torch

            names = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
            self.dtypes = frozenset(getattr(torch, n) for n in names if hasattr(torch, n))
        return dtype in self.dtypes


_INT_DTYPES = _IntDtypes()


def _numba_eligible(input, target, ignore_index) -> bool:
    """The compiled path's conditions beyond softmax + integer labels + torch: CPU tensors in
    eager mode (not under ``torch.compile`` or ``torch.func``; ``is_traced`` covers both),
    integer labels without the class axis, numba available."""
    import torch

    return (
        _numba.available()
        and isinstance(target, torch.Tensor)
        and input.is_cpu
        and target.is_cpu
        and target.dtype in _INT_DTYPES
        and target.ndim == input.ndim - 1
        and (ignore_index is None or (type(ignore_index) is int and _INT64[0] <= ignore_index <= _INT64[1]))
        and not is_traced(input)
    )


# One (N, C, S) buffer kept for the next call: the compiled path's exponentials, which
# become the gradient returned for x. When the next call has the same shape and dtype and
# nothing else references that memory any more (the caller dropped the gradient, or it was
# added into an existing .grad), the exponentials are written into it instead of into a
# fresh allocation, whose page faults can cost more than the whole computation on CPU.
# Only the storage is kept: any live tensor, view or NumPy array on it makes its use count
# exceed ours, and then a fresh buffer is allocated. At most one buffer of at most
# _BUFFER_MAX_BYTES stays alive between calls (larger volumes allocate every call rather
# than hold that much memory while the loss is not in use).
_BUFFER: list = [None]
_BUFFER_LOCK = threading.Lock()
_BUFFER_MAX_BYTES = 64 * 2**20


def _reusable_buffer(x):
    """A tensor shaped like contiguous ``x`` on the kept storage, or ``None``."""
    import torch

    with _BUFFER_LOCK:  # taken out: two threads never get the same buffer
        storage, _BUFFER[0] = _BUFFER[0], None
    if storage is None or storage.nbytes() != x.numel() * x.element_size():
        return None
    try:
        count = torch._C._storage_Use_Count(storage._cdata)
    except (AttributeError, RuntimeError):  # pragma: no cover - private API gone: no reuse
        return None
    if count != 1:  # someone else still holds this memory
        return None
    return torch.empty(0, dtype=x.dtype).set_(storage, 0, x.shape, x.stride())


def _keep_buffer(e):
    storage = e.untyped_storage()
    with _BUFFER_LOCK:
        _BUFFER[0] = storage if storage.nbytes() <= _BUFFER_MAX_BYTES else None


def _numba_softmax_label_sums_function():
    """The torch ``autograd.Function`` behind :func:`_numba_softmax_label_sums` (built lazily)."""
    global _NUMBA_SOFTMAX_LABEL_SUMS
    if _NUMBA_SOFTMAX_LABEL_SUMS is not None:
        return _NUMBA_SOFTMAX_LABEL_SUMS
    import numpy as np
    import torch
    from torch.autograd.function import once_differentiable

    from . import _numba as kernels

    def exponentials(x, shift, out=None):
        """``e = exp(x)`` (``exp2(x log2 e)``: torch's vectorised exp2 is several times
        faster than its exp on CPU), shifted by the max over classes when ``shift``;
        written into ``out`` when given."""
        if shift:
            return torch.sub(x, x.amax(1, keepdim=True), out=out).mul_(_LOG2E).exp2_()
        return torch.mul(x, _LOG2E, out=out).exp2_()

    # the range of a pixel's sum of exponentials without the max-shift, in e's dtype
    limits = {dt: (np_dt(1.0 / _EXP_RANGE), np_dt(_EXP_RANGE)) for dt, np_dt in
              ((torch.float32, np.float32), (torch.float64, np.float64))}

    class SoftmaxLabelSumsCompiled(torch.autograd.Function):
        """``I, P, G`` of ``p = softmax(x)`` against integer labels: ``e = exp(x)`` in
        torch (its vectorised exp2), the per-pixel rest in numba kernels
        (``losskit._segmentation_numba``): one pass forward, one pass for the
        hand-derived backward (written into e's memory). Labels are raw: the kernels
        handle ``ignore_index`` and report the valid labels' range, checked here (so the
        generic path's NumPy range check is not needed). With a ``head``
        (:class:`_CompiledHead`) it returns the head's loss instead of the sums, and its
        backward takes ``dL/dI, dL/dP`` from the head."""

        @staticmethod
        def forward(ctx, x, labels, ignore_index, head):
            C = x.shape[1]
            threads = _NUMBA_THREADS
            ln = labels.numpy()
            shift = False
            e = exponentials(x, shift, _reusable_buffer(x))
            lo, hi = limits[e.dtype]
            sums, bad, lmin, lmax = kernels.sums(e.numpy(), ln, ignore_index, lo, hi, threads)
            if lmin <= lmax and (lmin < 0 or lmax >= C):
                check_labels_in_range("target", labels, C, ignore_index=ignore_index)  # raises
                raise AssertionError("unreachable: labels out of range")  # pragma: no cover
            if bad:
                # some pixel's sum of exponentials left [2^-40, 2^40] (large logits, or
                # NaN): redo e with the max over classes subtracted, as torch.softmax does
                shift = True
                exponentials(x, shift, e)
                sums = kernels.sums(e.numpy(), ln, ignore_index, lo, hi, threads)[0]
            _keep_buffer(e)
            ctx.save_for_backward(x, e, labels)  # (labels: autograd's in-place check)
            # NumPy views for the backward kernel (.numpy() per call is not free)
            ctx.arrays = (e.numpy(), ln)
            ctx.ignore_index = ignore_index
            ctx.shift = shift
            ctx.e_reused = False
            ctx.head = head
            if head is not None:
                P64, I64, G64 = sums  # float64 (N, C) each
                value = head.forward(I64, P64, G64)
                return torch.from_numpy(np.asarray(value, dtype=np.float64)).to(e.dtype)
            P, I, G = torch.from_numpy(sums if e.dtype == torch.float64 else sums.astype(np.float32)).unbind(0)
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
                # reused by the next call (see _reusable_buffer).
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
            kernels.gradient(en, ln, ctx.ignore_index, a, b, _NUMBA_THREADS)
            return e, None, None, None

    _NUMBA_SOFTMAX_LABEL_SUMS = SoftmaxLabelSumsCompiled
    return SoftmaxLabelSumsCompiled


def _numba_apply(x, labels, ignore_index, head):
    """The compiled Function on raw ``(N, S)`` labels: ``I, P, G``, or with a ``head``
    (a :class:`_CompiledHead`) the whole loss."""
    import torch

    if labels.dtype not in (torch.int64, torch.int32, torch.uint8):
        # the kernels are compiled for the common label dtypes; others are widened (a copy
        # per call, whose fresh allocation costs as much as the kernels at (8, 4, 128, 128))
        labels = labels.to(torch.int64)
    if not labels.is_contiguous():
        labels = labels.contiguous()
    if not x.is_contiguous():
        x = x.contiguous()
    return _numba_softmax_label_sums_function().apply(x, labels, ignore_index, head)


def _numba_softmax_label_sums(x, labels, ignore_index, xp, *, batch):
    """Compiled CPU path of ``_overlap_sums(softmax(x), labels, ...)``: ``labels`` are the
    raw ``(N, S)`` labels (``ignore_index`` not yet masked, range not yet checked)."""
    I, P, G = _numba_apply(x, labels, ignore_index, None)
    return _validity_and_pooling(I, P, G, ignore_index is not None, batch, xp)


def _validity_and_pooling(I, P, G, has_ignore, batch, xp):
    """``I, P, G, valid`` from per-(sample, class) sums against integer labels, as
    :func:`_overlap_sums` gives them: ``valid`` (with ``ignore_index``) is 1.0 for a sample
    with a valid pixel (``G`` counts them), and ``batch`` pools the samples."""
    valid = None
    if has_ignore:
        valid = xp.astype(xp.sum(G, axis=1, keepdims=True) > 0, I.dtype)
    if batch:
        I, P, G = (xp.sum(a, axis=0) for a in (I, P, G))
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=0) > 0, I.dtype)
    return I, P, G, valid


def _drop_background(include_background, C, *arrays):
    """``arrays`` without class 0 unless ``include_background`` (checked by :func:`_front`)."""
    if include_background:
        return arrays
    if C < 2:
        raise ValueError(
            "include_background: expected True for a single-channel input (dropping class 0 "
            "would leave no class), got False"
        )
    return tuple(None if a is None else (a[..., 1:] if a.shape[-1] == C else a) for a in arrays)


def _front(input, target, xp, *, activation, axis, include_background, squared, batch,
           ignore_index, weight):
    """Validation and flattening for the family: ``(x, labels, g, mask, w, compiled)``, the
    last saying whether the compiled CPU path runs."""
    check_bool("batch", batch)
    check_bool("squared", squared)
    check_bool("include_background", include_background)
    compiled = (
        _TORCH_FAST
        and activation == "softmax"
        and not squared
        and backend_name(xp) == "torch"
        and _numba_eligible(input, target, ignore_index)
    )
    # The compiled path masks ignore_index and checks the label range in its kernel: the
    # labels go through _prepare raw (its NumPy range check and masking would cost more
    # than the kernel at (8, 4, 128, 128)).
    x, labels, g, mask = _prepare(
        input, target, xp, activation=activation, axis=axis,
        ignore_index=None if compiled else ignore_index, check_values=not compiled,
        defer_activation=True,
    )
    w = _class_weight(weight, x.shape[1], xp, x)
    if compiled:
        _check_int_option("ignore_index", ignore_index)
    return x, labels, g, mask, w, compiled


def _sums_for(input, target, xp, *, activation, axis, include_background, squared, batch,
              ignore_index, weight):
    """The family's common front half: validated sums with background handled."""
    front = _front(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    return _sums(front, xp, activation=activation, include_background=include_background,
                 squared=squared, batch=batch, ignore_index=ignore_index)


def _sums(front, xp, *, activation, include_background, squared, batch, ignore_index):
    """:func:`_sums_for` after :func:`_front`."""
    x, labels, g, mask, w, compiled = front
    C = x.shape[1]
    if compiled:
        # Compiled CPU kernels (numba) with a hand-derived backward; pinned to the generic
        # path by tests (values and gradients).
        I, P, G, valid = _numba_softmax_label_sums(x, labels, ignore_index, xp, batch=batch)
    elif (
        _TORCH_FAST
        and labels is not None
        and activation == "softmax"
        and not squared
        and backend_name(xp) == "torch"
        and x.is_cpu
        and not is_traced(x)
        and not _functorch_active()
    ):
        # Fused softmax + label sums with a hand-derived backward (see _torch_softmax_label_sums);
        # pinned to the generic path below by tests (values and gradients). CPU only: on an
        # H100 (torch 2.11, (8, 4, 128, 128)) it took 2.1 ms forward + backward against the
        # generic path's 1.3 ms, whose gather/scatter kernels the GPU runs well.
        I, P, G, valid = _torch_softmax_label_sums(x, labels, mask, xp, batch=batch)
    else:
        p = _activate(x, activation, xp)
        I, P, G, valid = _overlap_sums(p, labels, g, mask, xp, squared=squared, batch=batch)
    I, P, G, valid, w = _drop_background(include_background, C, I, P, G, valid, w)
    return I, P, G, valid, w


def _entry_weight(w, valid):
    """The weight of each per-(sample, class) loss: class weight times validity."""
    if valid is None:
        return w
    return valid if w is None else valid * w


def _reduce_entries(loss_, reduction, xp, w, valid):
    """Reduce per-(sample, class) losses with class weights and validity weights."""
    return reduce_loss(loss_, reduction, xp, weight=_entry_weight(w, valid))


class _CompiledHead:
    """What follows the sums in a loss that the compiled path runs whole, inside its
    ``autograd.Function`` (:func:`_numba_apply`), on NumPy float64 ``(N, C)``
    sums: validity, batch pooling and background with the helpers the other paths use, then
    ``tail(I, P, G, valid, w, xp)``, the loss's own array-API code. ``backward`` chains
    the tail's hand-derived ``tail.vjp`` back through background and pooling. Saves ~0.1 ms
    per step at (8, 4, 128, 128) against a Function that returns the sums and a dozen small
    torch ops (and their autograd nodes) after it. One instance per call."""

    def __init__(self, tail, *, has_ignore, batch, include_background, w):
        import numpy as np

        self.tail = tail
        self.has_ignore = has_ignore
        self.batch = batch
        self.include_background = include_background
        self.w = None if w is None else np.asarray(w.detach().cpu(), dtype=np.float64)
        self.saved = None

    def forward(self, I, P, G):
        import numpy as np

        N, C = I.shape
        I, P, G, valid = _validity_and_pooling(I, P, G, self.has_ignore, self.batch, np)
        I, P, G, valid, w = _drop_background(self.include_background, C, I, P, G, valid, self.w)
        self.saved = (N, C, I, P, G, valid, w)
        return self.tail(I, P, G, valid, w, np)

    def backward(self, grad, dtype):
        """``(dL/dI, dL/dP)``, each ``(N, C)`` of ``dtype``, for the upstream gradient ``grad``."""
        import numpy as np

        N, C, I, P, G, valid, w = self.saved
        out = []
        for d in self.tail.vjp(grad, I, P, G, valid, w):
            full = np.zeros((N, C), dtype)
            full[..., C - d.shape[-1]:] = d  # class 0 gets none when the background is dropped
            out.append(full)  # (d is (C,) when pooled: broadcast over the samples)
        return out


def _overlap_loss(input, target, xp, tail, *, activation, axis, include_background,
                  squared, batch, ignore_index, weight):
    """``tail(I, P, G, valid, w, xp)`` over the family's sums. When the compiled path runs
    and ``tail`` has a hand-derived ``vjp``, sums and tail are one ``autograd.Function``
    (see :class:`_CompiledHead`)."""
    front = _front(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    x, labels, _, _, w, compiled = front
    if compiled and (w is None or not w.requires_grad):
        head = _CompiledHead(
            tail, has_ignore=ignore_index is not None, batch=batch,
            include_background=include_background, w=w,
        )
        return _numba_apply(x, labels, ignore_index, head)
    I, P, G, valid, w = _sums(front, xp, activation=activation, include_background=include_background,
                              squared=squared, batch=batch, ignore_index=ignore_index)
    return tail(I, P, G, valid, w, xp)


def _check_smooth(smooth_nr, smooth_dr):
    check_number("smooth_nr", smooth_nr, low=0.0)
    check_number("smooth_dr", smooth_dr, low=0.0)


def _dice_formula(I, P, G, smooth_nr, smooth_dr):
    return 1.0 - (2.0 * I + smooth_nr) / (P + G + smooth_dr)


class _DiceTail:
    """:func:`dice_loss` after the sums: the formula and the reduction, with the
    hand-derived vector-Jacobian product the compiled path uses (:class:`_CompiledHead`)."""

    def __init__(self, smooth_nr, smooth_dr, reduction):
        self.smooth_nr, self.smooth_dr, self.reduction = smooth_nr, smooth_dr, reduction

    def __call__(self, I, P, G, valid, w, xp):
        loss_ = _dice_formula(I, P, G, self.smooth_nr, self.smooth_dr)
        return _reduce_entries(loss_, self.reduction, xp, w, valid)

    def vjp(self, grad, I, P, G, valid, w):
        """``(dL/dI, dL/dP)`` (NumPy) for the upstream gradient ``grad`` of the reduced
        loss: with ``L = 1 - (2 I + s_nr) / D`` and ``D = P + G + s_dr``,
        ``dL/dI = -2 / D`` and ``dL/dP = (2 I + s_nr) / D^2``, times the reduction's
        weight of each entry."""
        import numpy as np

        den = P + G + self.smooth_dr
        num = 2.0 * I + self.smooth_nr
        dloss = reduce_grad(grad + np.zeros_like(I), self.reduction, np, weight=_entry_weight(w, valid))
        return dloss * (-2.0 / den), dloss * num / (den * den)


def _dice_entries(input, target, xp, *, activation, axis, include_background, squared,
                  smooth_nr, smooth_dr, batch, weight, ignore_index):
    _check_smooth(smooth_nr, smooth_dr)
    I, P, G, valid, w = _sums_for(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    return _dice_formula(I, P, G, smooth_nr, smooth_dr), w, valid


# --------------------------------------------------------------------------- Dice family


@loss(
    family="segmentation",
    formula=r"1 - \frac{2\sum_i p_i g_i + s_{nr}}{\sum_i p_i + \sum_i g_i + s_{dr}}",
    reference=_MNR,
    aliases=("dice", "soft_dice_loss"),
    plot="dice",
)
@_fill
def dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Soft Dice loss, one minus the soft Dice coefficient per sample and class.

    .. math::

        L_{nc} = 1 - \frac{2 \sum_i p_{nci} g_{nci} + s_{nr}}
                          {\sum_i p_{nci}^{k} + \sum_i g_{nci}^{k} + s_{dr}}

    where

    - :math:`p_{nci}` is the predicted probability of class :math:`c` at pixel :math:`i`
      of sample :math:`n` (after ``activation``),
    - :math:`g_{nci}` the target (1 where the label is :math:`c`, or a soft label),
    - :math:`k = 1`, or :math:`k = 2` with ``squared=True`` (V-Net's squared denominator),
    - :math:`s_{nr}, s_{dr}` the smoothing terms; with ``batch=True`` the sums also run over
      :math:`n`.

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the denominator (Milletari et al.).
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.

    Returns:
%(common_returns)s

    Notes:
        On hard labels with ``squared=False`` and no smoothing, the Dice coefficient of a
        binary prediction is the F1 score, so the loss is ``1 - F1``.

        *Empty target.* For a class absent from the target (:math:`G = 0`) the loss is
        :math:`1 - s_{nr} / (P + s_{dr})`: 0 when nothing is predicted either, rising with
        the predicted mass :math:`P`, with gradient :math:`s_{nr} / (P + s_{dr})^2 > 0`
        that pushes :math:`P` down. This needs :math:`s_{nr} = s_{dr} > 0`; with
        :math:`s_{nr} = 0` the loss is a constant 1 and the gradient 0 (MONAI issue 7883);
        a larger smoothing (e.g. 1.0) gives a stronger push on empty images.

        Defaults follow MONAI's ``DiceLoss`` (per sample, background included,
        ``smooth = 1e-5``). Differences: the activation is one argument; ``weight`` always
        has ``C`` entries and ``"mean"`` is the weighted mean (MONAI multiplies by the
        weight and takes the plain mean); ``"none"`` is ``(N, C)`` instead of a
        broadcastable ``(N, C, 1, ...)``. segmentation_models_pytorch pools the batch
        (``batch=True``), uses ``smooth = 0`` with a clamp ``eps`` and zeroes classes
        absent from the target.

    References:
        Milletari, Navab, Ahmadi, V-Net: Fully Convolutional Neural Networks for Volumetric
        Medical Image Segmentation, 2016, arXiv:1606.04797.

    Example:
        Two of four pixels are foreground; the prediction puts 0.5 on each of them:
        Dice = 2 * 1 / (1 + 2) = 2/3.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])   # (N=1, C=1, 4 pixels)
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.dice_loss(p, g)), 4)
        0.3333
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    _check_smooth(smooth_nr, smooth_dr)
    return _overlap_loss(
        input, target, xp, _DiceTail(smooth_nr, smooth_dr, reduction), activation=activation,
        axis=axis, include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )


@loss(
    family="segmentation",
    formula=r"1 - \frac{\sum_i p_i g_i + s_{nr}}{\sum_i p_i + \sum_i g_i - \sum_i p_i g_i + s_{dr}}",
    reference="Rahman, Wang, Optimizing Intersection-Over-Union in Deep Neural Networks for Image Segmentation, 2016, ISVC (doi:10.1007/978-3-319-50835-1_22)",
    aliases=("soft_jaccard_loss", "soft_iou_loss", "jaccard"),
    plot="dice",
)
@_fill
def jaccard_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Soft Jaccard (IoU) loss, one minus the soft intersection over union.

    .. math::

        L_{nc} = 1 - \frac{I_{nc} + s_{nr}}{P_{nc} + G_{nc} - I_{nc} + s_{dr}}

    where

    - :math:`I_{nc} = \sum_i p_{nci} g_{nci}` is the soft intersection,
    - :math:`P_{nc} = \sum_i p_{nci}^k`, :math:`G_{nc} = \sum_i g_{nci}^k` (:math:`k = 2`
      with ``squared=True``),
    - :math:`s_{nr}, s_{dr}` the smoothing terms.

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the union's sums.
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.

    Returns:
%(common_returns)s

    Notes:
        The smoothing enters as ``(I + s) / (U + s)`` (as in segmentation_models_pytorch).
        MONAI's ``DiceLoss(jaccard=True)`` computes ``(2 I + s) / (2 U + s)``, which is this
        loss with ``smooth_nr = s / 2`` and ``smooth_dr = s / 2``. Jaccard and Dice are
        monotone in each other (``J = D / (2 - D)``), but their gradients differ.

    References:
        Rahman, Wang, Optimizing Intersection-Over-Union in Deep Neural Networks for Image
        Segmentation, ISVC 2016.

    Example:
        Intersection 1, union 1 + 2 - 1 = 2: IoU = 1/2.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.jaccard_loss(p, g)), 4)
        0.5
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    _check_smooth(smooth_nr, smooth_dr)
    I, P, G, valid, w = _sums_for(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    loss_ = 1.0 - (I + smooth_nr) / (P + G - I + smooth_dr)
    return _reduce_entries(loss_, reduction, xp, w, valid)


@loss(
    family="segmentation",
    formula=r"1 - \frac{2\sum_l w_l \sum_i p_{li} g_{li} + s_{nr}}{\sum_l w_l \sum_i (p_{li} + g_{li}) + s_{dr}},\ w_l = 1/(\sum_i g_{li})^2",
    reference="Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237",
    aliases=("gdl", "generalised_dice_loss"),
    plot="dice",
)
@_fill
def generalized_dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    weight_type="square",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    ignore_index=None,
    reduction="mean",
):
    r"""Generalized Dice loss: classes weighted by inverse target volume, summed before dividing.

    .. math::

        L_n = 1 - \frac{2 \sum_c w_{nc} I_{nc} + s_{nr}}{\sum_c w_{nc} (P_{nc} + G_{nc}) + s_{dr}},
        \qquad w_{nc} = \frac{1}{G_{nc}^{2}}

    where

    - :math:`I_{nc} = \sum_i p_{nci} g_{nci}`, :math:`P_{nc} = \sum_i p_{nci}`,
      :math:`G_{nc} = \sum_i g_{nci}` (pooled over the batch with ``batch=True``),
    - :math:`w_{nc}` is :math:`1/G^2` (``"square"``, the paper), :math:`1/G` (``"simple"``)
      or 1 (``"uniform"``). A class absent from the target (infinite weight) gets the
      largest finite weight of the same sample (of the batch with ``batch=True``).

    Args:
%(common_args)s
        weight_type: ``"square"``, ``"simple"`` or ``"uniform"``.

    Returns:
        The loss, float32 (float64 for float64 input). Shape ``()`` for ``"mean"``/``"sum"``;
        for ``"none"`` ``(N,)`` per sample, or ``()`` with ``batch=True``.

    Notes:
        The weights depend on the target only and carry no gradient. Matches MONAI's
        ``GeneralizedDiceLoss`` (which returns ``(N, 1)`` for ``"none"``). A sample whose
        pixels are all ignored gets weight 0 in the mean.

    References:
        Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep
        learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237.

    Example:
        Two classes with target volumes 2 and 2 (equal weights 1/4), perfect prediction:

        >>> import numpy as np, losskit
        >>> g = np.array([[0, 0, 1, 1]])                       # labels, (N=1, 4 pixels)
        >>> p = np.array([[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]])
        >>> round(float(losskit.generalized_dice_loss(p, g)), 4)
        0.0
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    _check_smooth(smooth_nr, smooth_dr)
    check_choice("weight_type", weight_type, ("square", "simple", "uniform"))
    I, P, G, valid, _ = _sums_for(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=False, batch=batch,
        ignore_index=ignore_index, weight=None,
    )
    present = G > 0
    if weight_type == "uniform":
        w = xp.ones_like(G)
    else:
        # 1 / G where G > 0; the where keeps 1/0 (a warning in NumPy, inf elsewhere) out.
        safe = xp.where(present, G, xp.ones_like(G))
        w = 1.0 / (safe * safe) if weight_type == "square" else 1.0 / safe
        w = xp.where(present, w, xp.zeros_like(w))
        wmax = xp.max(w, axis=-1, keepdims=True)
        w = xp.where(present, w, wmax)
    num = 2.0 * xp.sum(w * I, axis=-1) + smooth_nr
    den = xp.sum(w * (P + G), axis=-1) + smooth_dr
    loss_ = 1.0 - num / den
    if valid is not None:
        valid = xp.astype(xp.sum(valid, axis=-1) > 0, loss_.dtype) if valid.shape[-1] > 1 else valid[..., 0]
    return _reduce_entries(loss_, reduction, xp, None, valid)


def _tversky_entries(input, target, xp, *, alpha, beta, activation, axis, include_background,
                     smooth_nr, smooth_dr, batch, weight, ignore_index):
    check_number("alpha", alpha, low=0.0)
    check_number("beta", beta, low=0.0)
    _check_smooth(smooth_nr, smooth_dr)
    I, P, G, valid, w = _sums_for(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=False, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    # FP = sum p (1 - g) = P - I and FN = sum (1 - p) g = G - I, exactly (also soft labels).
    ti = (I + smooth_nr) / (I + alpha * (P - I) + beta * (G - I) + smooth_dr)
    return ti, w, valid


@loss(
    family="segmentation",
    formula=r"1 - \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}}",
    reference="Salehi, Erdogmus, Gholipour, Tversky loss function for image segmentation using 3D fully convolutional deep networks, 2017, arXiv:1706.05721",
    aliases=("tversky",),
    plot="dice",
)
@_fill
def tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    activation=None,
    axis=1,
    include_background=True,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Tversky loss: a Dice loss with separate weights for false positives and false negatives.

    .. math::

        L_{nc} = 1 - TI_{nc}, \qquad
        TI_{nc} = \frac{TP_{nc} + s_{nr}}{TP_{nc} + \alpha FP_{nc} + \beta FN_{nc} + s_{dr}}

    where

    - :math:`TP = \sum_i p_i g_i`, :math:`FP = \sum_i p_i (1 - g_i)`,
      :math:`FN = \sum_i (1 - p_i) g_i` per sample and class,
    - :math:`\alpha` weighs false positives and :math:`\beta` false negatives
      (:math:`\beta > \alpha` favours recall; the paper uses :math:`\alpha = 0.3, \beta = 0.7`).

    Args:
%(common_args)s
        alpha: weight of false positives (>= 0).
        beta: weight of false negatives (>= 0).
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.

    Returns:
%(common_returns)s

    Notes:
        ``alpha = beta = 0.5`` is the Dice loss with half the smoothing:
        ``tversky_loss(alpha=.5, beta=.5, smooth_nr=s/2, smooth_dr=s/2) ==
        dice_loss(smooth_nr=s, smooth_dr=s)``; ``alpha = beta = 1`` is the Jaccard loss.
        The smoothing convention is MONAI's ``TverskyLoss`` (and segmentation_models_pytorch's
        with ``smooth`` on both sides).

    References:
        Salehi, Erdogmus, Gholipour, Tversky loss function for image segmentation using 3D
        fully convolutional deep networks, 2017, arXiv:1706.05721.

    Example:
        TP = 1, FP = 0, FN = 1: TI = 1 / (1 + 0.7) with beta = 0.7.

        >>> import numpy as np, losskit
        >>> p = np.array([[[1.0, 0.0, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.tversky_loss(p, g, alpha=0.3, beta=0.7)), 4)
        0.4118
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    ti, w, valid = _tversky_entries(
        input, target, xp, alpha=alpha, beta=beta, activation=activation, axis=axis,
        include_background=include_background, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
        batch=batch, weight=weight, ignore_index=ignore_index,
    )
    return _reduce_entries(1.0 - ti, reduction, xp, w, valid)


@loss(
    family="segmentation",
    formula=r"\left(1 - \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}}\right)^{1/\gamma}",
    reference="Abraham, Khan, A Novel Focal Tversky loss function with improved Attention U-Net for lesion segmentation, 2019, arXiv:1810.07842",
    aliases=("focal_tversky", "ftl"),
    plot="dice",
)
@_fill
def focal_tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    gamma=4.0 / 3.0,
    activation=None,
    axis=1,
    include_background=True,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Focal Tversky loss: the per-class Tversky loss raised to the power 1/gamma.

    .. math::

        L_{nc} = (1 - TI_{nc})^{1/\gamma}

    where

    - :math:`TI_{nc}` is the Tversky index of :func:`tversky_loss`,
    - :math:`\gamma` is the focal parameter, in [1, 3] in the paper (4/3 there): with
      :math:`\gamma > 1` the exponent :math:`1/\gamma < 1` raises small losses, focusing
      training on classes and samples that are already nearly right but not quite.

    Args:
%(common_args)s
        alpha: weight of false positives (>= 0).
        beta: weight of false negatives (>= 0).
        gamma: focal parameter (> 0); the exponent is ``1 / gamma`` as in the paper.
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.

    Returns:
%(common_returns)s

    Notes:
        Exponent convention: the paper's :math:`(1 - TI)^{1/\gamma}`, applied per class
        before averaging; ``gamma = 1`` is :func:`tversky_loss`. segmentation_models_pytorch's
        ``TverskyLoss(gamma=g)`` instead raises the *class-averaged* loss to the power
        ``g`` (so its ``g`` is our ``1 / gamma`` and the two agree only for one class).
        With :math:`1/\gamma < 1` the derivative is infinite at a perfect score; there the
        gradient is set to 0 (the minimum) instead of NaN. The paper sums over classes;
        ``reduction="sum"`` gives that sum.

    References:
        Abraham, Khan, A Novel Focal Tversky loss function with improved Attention U-Net for
        lesion segmentation, 2019, arXiv:1810.07842.

    Example:
        Tversky loss 0.5 (TP = 1, FP = FN = 1, alpha = beta = 0.5), exponent 1/2:
        sqrt(0.5).

        >>> import numpy as np, losskit
        >>> p = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 0.0, 1.0, 0.0]]])
        >>> round(float(losskit.focal_tversky_loss(p, g, gamma=2.0, smooth_nr=0.0, smooth_dr=0.0)), 4)
        0.7071
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    check_number("gamma", gamma, low=0.0, low_open=True)
    ti, w, valid = _tversky_entries(
        input, target, xp, alpha=alpha, beta=beta, activation=activation, axis=axis,
        include_background=include_background, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
        batch=batch, weight=weight, ignore_index=ignore_index,
    )
    base = 1.0 - ti
    if gamma == 1.0:
        loss_ = base
    else:
        # base^(1/gamma) has derivative (1/gamma) base^(1/gamma - 1): infinite at base = 0
        # when gamma > 1, and base may round to a tiny negative (NaN power). The double
        # where gives value 0 and gradient 0 there (0 is the minimum) and keeps NaN out of
        # the backward pass of the discarded branch.
        ok = base > 0
        safe = xp.where(ok, base, xp.ones_like(base))
        loss_ = xp.where(ok, safe ** (1.0 / gamma), xp.zeros_like(base))
    return _reduce_entries(loss_, reduction, xp, w, valid)


@loss(
    family="segmentation",
    formula=r"\log\cosh(L_{\mathrm{Dice}})",
    reference="Jadon, A survey of loss functions for semantic segmentation, 2020, arXiv:2006.14822",
    aliases=("log_cosh_dice",),
    plot="dice",
)
@_fill
def log_cosh_dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Log-cosh Dice loss: log(cosh(.)) of the per-sample, per-class Dice loss.

    .. math::

        L_{nc} = \log\cosh\left(D_{nc}\right)

    where

    - :math:`D_{nc}` is the Dice loss of :func:`dice_loss` for sample :math:`n` and
      class :math:`c` (same options).

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the Dice denominator.
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.

    Returns:
%(common_returns)s

    Notes:
        Computed by ``losskit._xp.log_cosh``: finite for any input, exact and >= 0 for
        small Dice losses. Jadon's code applies log-cosh to the Dice loss of the whole batch (all
        classes pooled); here it is applied per (sample, class) entry like the rest of the
        family, which is the same for one class with ``batch=True``. Since
        :math:`\log\cosh x \approx x^2/2` near 0, the loss is flatter than Dice near a
        perfect score.

    References:
        Jadon, A survey of loss functions for semantic segmentation, 2020, arXiv:2006.14822.

    Example:
        Dice loss 1/3 (see :func:`dice_loss`): log(cosh(1/3)) = 0.0546.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.log_cosh_dice_loss(p, g)), 4)
        0.0546
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    d, w, valid = _dice_entries(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, smooth_nr=smooth_nr,
        smooth_dr=smooth_dr, batch=batch, weight=weight, ignore_index=ignore_index,
    )
    return _reduce_entries(log_cosh(d, xp), reduction, xp, w, valid)


# --------------------------------------------------------------------------- Lovász


def _lovasz_extension(errors, fg, valid, xp, *, hinge: bool):
    """Lovász extension of the Jaccard loss, batched over leading axes: ``(..., S) -> (...)``.

    ``errors`` are sorted in decreasing order; the loss is ``dot(errors_sorted, g)`` with
    ``g`` the discrete derivative of the Jaccard loss along the sorted order (Berman et al.,
    Alg. 1). Ignored pixels are sorted last and contribute nothing: the cumulative sums at
    valid positions only see valid pixels.
    """
    if errors.shape[-1] == 0:  # no pixels: nothing to sort (a static shape, not a value)
        return xp.sum(errors, axis=-1)
    vf = xp.astype(valid, errors.dtype)
    neg_inf = xp.full_like(errors, -math.inf)
    # The sort key only orders pixels; it carries no gradient (argsort is piecewise constant).
    key = xp.where(valid, errors, neg_inf)
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    e = take_along_axis(errors, perm, xp, axis=-1)
    f = take_along_axis(fg * vf, perm, xp, axis=-1)
    v = take_along_axis(vf, perm, xp, axis=-1)
    gts = xp.sum(f, axis=-1, keepdims=True)
    inter = gts - xp.cumulative_sum(f, axis=-1)
    union = gts + xp.cumulative_sum((1.0 - f) * v, axis=-1)
    # union >= 1 at every valid position (it counts the foreground, or the k-th pixel
    # itself when there is none); it can be 0 only at ignored positions of a sample with no
    # foreground, where the result is masked out anyway.
    union = xp.where(union > 0, union, xp.ones_like(union))
    jac = 1.0 - inter / union
    zero = xp.zeros_like(jac[..., :1])
    grad = jac - xp.concat([zero, jac[..., :-1]], axis=-1)
    if hinge:
        e = xp.maximum(e, xp.zeros_like(e))
    contrib = xp.where(v > 0, e * grad, xp.zeros_like(e))
    return xp.sum(contrib, axis=-1)


@loss(
    family="segmentation",
    formula=r"\frac{1}{|C|}\sum_{c} \overline{\Delta_{J_c}}(m(c)),\ m_i(c) = |g_{ic} - p_{ic}|",
    reference="Berman, Rannen Triki, Blaschko, The Lovász-Softmax loss: A tractable surrogate for the optimization of the intersection-over-union measure in neural networks, 2018, arXiv:1705.08790",
    aliases=("lovasz_softmax",),
)
def lovasz_softmax_loss(
    input,
    target,
    *,
    activation="softmax",
    axis=1,
    classes="present",
    per_image=False,
    ignore_index=None,
    reduction="mean",
):
    r"""Lovász-Softmax loss: the convex Lovász extension of the per-class Jaccard loss.

    .. math::

        L = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}}
            \sum_{k=1}^{S} m_{\pi_k}(c)\, \big(\Delta_{J_c}(\pi_{1..k}) - \Delta_{J_c}(\pi_{1..k-1})\big)

    where

    - :math:`m_i(c) = |g_{ic} - p_{ic}|` is the error of pixel :math:`i` for class :math:`c`,
    - :math:`\pi` sorts the errors in decreasing order,
    - :math:`\Delta_{J_c}(A) = 1 - |F_c \setminus A| / |F_c \cup A|` is the Jaccard loss when
      the pixels in :math:`A` are wrong (:math:`F_c` the foreground of class :math:`c`),
    - :math:`\mathcal{C}` is the set of classes present in the target (``classes="present"``)
      or all classes (``"all"``).

    Args:
        input: ``(N, C, *spatial)`` logits (``activation="softmax"``) or probabilities
            (``activation=None``); the class axis is ``axis``.
        target: integer labels ``(N, *spatial)``, or a one-hot array of the input's shape.
        activation: ``"softmax"`` (default: logits in, as in segmentation_models_pytorch) or
            ``None`` (probabilities in, as Berman's reference code).
        axis: the class axis of ``input`` (not 0).
        classes: ``"present"`` (average over the classes in the target, the paper's choice)
            or ``"all"``.
        per_image: ``False`` (default, the reference code's choice for softmax): one loss
            over all pixels of the batch, a closer surrogate of dataset-level mIoU.
            ``True``: one loss per image, then averaged over images (segmentation_models_pytorch's
            ``per_image``; an image-level IoU).
        ignore_index: label whose pixels are excluded (an image with only ignored pixels
            is left out of the average); ``None`` for none.
        reduction: ``"mean"`` averages over images (``per_image=True``) of the class
            average; ``"sum"`` sums the per-image class averages; ``"none"`` gives the
            per-image, per-class table ``(N, C)`` (``(C,)`` with ``per_image=False``), 0 for
            classes left out.

    Returns:
        The loss, float32 (float64 for float64 input): ``()``, or ``(N, C)`` / ``(C,)`` for
        ``"none"``.

    Notes:
        Sorting makes this loss piecewise linear in the errors; its gradient is exact
        (the sort permutation is a constant). Ties are broken stably; the value does not
        depend on their order. Cost :math:`O(C S \log S)`; a one-hot of the labels is
        built (the sort is per class).

    References:
        Berman, Rannen Triki, Blaschko, The Lovász-Softmax loss: A tractable surrogate for
        the optimization of the intersection-over-union measure in neural networks, 2018,
        arXiv:1705.08790.

    Example:
        A perfect one-hot prediction has zero loss; predicting 0.5 everywhere for two
        classes with all pixels in class 0 costs the error 0.5 of the first sorted pixel.

        >>> import numpy as np, losskit
        >>> p = np.full((1, 2, 4), 0.5)
        >>> g = np.zeros((1, 4), dtype=np.int64)
        >>> round(float(losskit.lovasz_softmax_loss(p, g, activation=None)), 4)
        0.5
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    check_choice("classes", classes, ("present", "all"))
    check_bool("per_image", per_image)
    if activation == "sigmoid":
        raise ValueError(
            "activation: expected 'softmax' or None for lovasz_softmax_loss, got 'sigmoid' "
            "(use lovasz_hinge_loss for binary logits)"
        )
    p, labels, g, mask = _prepare(
        input, target, xp, activation=activation, axis=axis, ignore_index=ignore_index
    )
    N, C, S = p.shape
    if labels is not None:
        g = one_hot(labels, C, xp, axis=1, dtype=p.dtype)
        valid = xp.ones_like(p, dtype=xp.bool) if mask is None else xp.broadcast_to(mask[:, None, :], p.shape)
    else:
        valid = xp.ones_like(p, dtype=xp.bool) if mask is None else mask
    g = g * xp.astype(valid, p.dtype)
    if not per_image:
        p, g, valid = (
            xp.reshape(xp.permute_dims(a, (1, 0, 2)), (1, C, N * S)) for a in (p, g, valid)
        )
    errors = xp.abs(g - p)
    table = _lovasz_extension(errors, g, valid, xp, hinge=False)  # (B, C)
    anyvalid = xp.astype(xp.sum(xp.astype(valid, p.dtype), axis=-1) > 0, p.dtype)  # (B, C)
    if classes == "present":
        keep = xp.astype(xp.sum(g, axis=-1) > 0, p.dtype) * anyvalid
    else:
        keep = anyvalid
    table = table * keep
    if reduction == "none":
        return table if per_image else table[0, ...]
    count = xp.sum(keep, axis=-1)
    per = xp.sum(table, axis=-1) / xp.where(count > 0, count, xp.ones_like(count))
    return reduce_loss(per, reduction, xp, weight=xp.astype(count > 0, p.dtype))


@loss(
    family="segmentation",
    formula=r"\overline{\Delta_{J}}(m),\ m_i = \max(1 - x_i y_i, 0),\ y_i \in \{-1, 1\}",
    reference="Berman, Rannen Triki, Blaschko, The Lovász-Softmax loss: A tractable surrogate for the optimization of the intersection-over-union measure in neural networks, 2018, arXiv:1705.08790",
    aliases=("lovasz_hinge",),
)
def lovasz_hinge_loss(input, target, *, per_image=True, ignore_index=None, reduction="mean"):
    r"""Lovász hinge loss: the Lovász extension of the binary Jaccard loss on hinge errors.

    .. math::

        L = \sum_{k=1}^{S} \max(m_{\pi_k}, 0)\,
            \big(\Delta_J(\pi_{1..k}) - \Delta_J(\pi_{1..k-1})\big), \qquad
        m_i = 1 - x_i (2 g_i - 1)

    where

    - :math:`x_i` is the logit of pixel :math:`i` and :math:`g_i \in \{0, 1\}` its label,
    - :math:`\pi` sorts the hinge errors :math:`m_i` in decreasing order,
    - :math:`\Delta_J(A)` is the Jaccard loss of the foreground when pixels in :math:`A`
      are wrong.

    Args:
        input: ``(N, *spatial)`` logits (any shape with the batch first, e.g.
            ``(N, 1, H, W)``).
        target: binary labels of the input's shape (integers 0/1, booleans or floats 0/1).
        per_image: ``True`` (default, the reference code's choice for the hinge): one loss
            per image, averaged; ``False``: one loss over all pixels of the batch
            (segmentation_models_pytorch's default).
        ignore_index: label whose pixels are excluded; ``None`` for none.
        reduction: ``"mean"``/``"sum"`` over images, or ``"none"``: ``(N,)`` per image
            (``()`` with ``per_image=False``).

    Returns:
        The loss, float32 (float64 for float64 input).

    Notes:
        An image whose pixels are all ignored is left out of the mean.

    References:
        Berman, Rannen Triki, Blaschko, The Lovász-Softmax loss: A tractable surrogate for
        the optimization of the intersection-over-union measure in neural networks, 2018,
        arXiv:1705.08790.

    Example:
        Margins of 1 on every pixel give no hinge error; logits of 0 give error 1 on the
        first sorted pixel, and the Jaccard loss of one wrong pixel out of one is 1.

        >>> import numpy as np, losskit
        >>> g = np.array([[1, 0]])
        >>> round(float(losskit.lovasz_hinge_loss(np.array([[1.0, -1.0]]), g)), 4)
        0.0
        >>> round(float(losskit.lovasz_hinge_loss(np.zeros((1, 2)), g)), 4)
        1.0
    """
    check_reduction(reduction)
    xp = namespace(input, target)
    check_floating("input", input, xp)
    check_array("target", target)
    check_ndim("input", input, min_ndim=1)
    check_bool("per_image", per_image)
    _check_int_option("ignore_index", ignore_index)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"target: expected the shape of input {tuple(input.shape)}, got {tuple(target.shape)}")
    x = as_float(input, xp)
    if xp.isdtype(target.dtype, "integral"):
        check_labels_in_range("target", target, 2, ignore_index=ignore_index)
    elif ignore_index is None:
        check_in_unit_interval("target", target)
    t = xp.astype(target, x.dtype)
    N = x.shape[0]
    B = N if per_image else 1
    x = xp.reshape(x, (B, -1) if N else (B, 0))
    t = xp.reshape(t, x.shape)
    if ignore_index is not None:
        valid = t != ignore_index
        t = xp.where(valid, t, xp.zeros_like(t))
    else:
        valid = xp.ones_like(t, dtype=xp.bool)
    errors = 1.0 - x * (2.0 * t - 1.0)
    per = _lovasz_extension(errors, t, valid, xp, hinge=True)  # (B,)
    anyvalid = xp.astype(xp.sum(xp.astype(valid, x.dtype), axis=-1) > 0, x.dtype)
    per = per * anyvalid
    if reduction == "none":
        return per if per_image else per[0, ...]
    return reduce_loss(per, reduction, xp, weight=anyvalid)


# --------------------------------------------------------------------------- Dice + CE


@loss(
    family="segmentation",
    formula=r"\lambda_{\mathrm{Dice}} L_{\mathrm{Dice}} + \lambda_{\mathrm{CE}} L_{\mathrm{CE}}",
    reference="Isensee, Jaeger, Kohl, Petersen, Maier-Hein, nnU-Net: a self-configuring method for deep learning-based biomedical image segmentation, 2021, arXiv:1809.10486",
    aliases=("dice_ce", "dice_cross_entropy_loss"),
)
def dice_ce_loss(
    input,
    target,
    *,
    lambda_dice=1.0,
    lambda_ce=1.0,
    activation="softmax",
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    reduction="mean",
):
    r"""Dice loss plus cross-entropy on the same logits (the nnU-Net / MONAI ``DiceCELoss`` recipe).

    .. math::

        L = \lambda_{\mathrm{Dice}}\, L_{\mathrm{Dice}}(a(x), g)
          + \lambda_{\mathrm{CE}}\, L_{\mathrm{CE}}(x, g)

    where

    - :math:`x` are the logits and :math:`a` the ``activation``,
    - :math:`L_{\mathrm{Dice}}` is :func:`dice_loss` with the Dice options,
    - :math:`L_{\mathrm{CE}}` is :func:`losskit.cross_entropy` (``activation="softmax"``) or
      :func:`losskit.binary_cross_entropy_with_logits` per channel (``"sigmoid"``).

    Args:
        input: ``(N, C, *spatial)`` logits, class axis ``axis``.
        target: integer labels ``(N, *spatial)`` (with ``C == 1``: a 0/1 mask), or an array
            of the input's shape (one-hot / soft labels; multi-label masks with
            ``"sigmoid"``).
        lambda_dice: weight of the Dice term (>= 0).
        lambda_ce: weight of the cross-entropy term (>= 0).
        activation: ``"softmax"`` (mutually exclusive classes: softmax Dice + cross-entropy)
            or ``"sigmoid"`` (per-channel: sigmoid Dice + binary cross-entropy).
        axis: the class axis (not 0).
        include_background: Dice term only (the cross-entropy always sees every class).
        squared, smooth_nr, smooth_dr, batch: Dice term options, see :func:`dice_loss`.
        weight: ``(C,)`` class weights, used by both terms: the Dice class weights and the
            cross-entropy ``weight`` (softmax), or the per-channel ``pos_weight`` of the
            binary cross-entropy (sigmoid), as in MONAI.
        ignore_index: label excluded from both terms; ``None`` for none.
        label_smoothing: cross-entropy label smoothing in [0, 1] (softmax only).
        reduction: ``"mean"`` or ``"sum"``, applied to each term before they are added
            (``"none"`` is refused: the terms have different shapes, per (sample, class)
            and per pixel).

    Returns:
        A scalar, float32 (float64 for float64 input).

    Notes:
        Matches MONAI's ``DiceCELoss(softmax=True)`` (and ``sigmoid=True`` with one
        channel, where MONAI also switches to binary cross-entropy). Differences: with
        ``"sigmoid"`` and several channels MONAI still applies softmax cross-entropy,
        here the binary cross-entropy matches the sigmoid (multi-label) Dice; MONAI's
        weighted Dice ``"mean"`` is ``mean(w * L)``, here ``sum(w * L) / sum(w)``; MONAI
        refuses ``ignore_index``. With ``"sigmoid"``, integer labels and several channels,
        each channel's binary target is its one-hot column. With ``activation="softmax"``
        and integer labels on torch, both terms avoid a one-hot (Dice via the fused label
        sums, CE via ``F.cross_entropy``).

    References:
        Isensee, Jaeger, Kohl, Petersen, Maier-Hein, nnU-Net: a self-configuring method for
        deep learning-based biomedical image segmentation, 2021, arXiv:1809.10486.

    Example:
        Logits of 0 for two classes: softmax 1/2 everywhere, CE = log 2 = 0.6931; labels
        [0, 1]: each class has I = 0.5, P = 1, G = 1, Dice loss 1 - 1/2 = 0.5 (smoothing 0).

        >>> import numpy as np, losskit
        >>> x = np.zeros((1, 2, 2))
        >>> g = np.array([[0, 1]])
        >>> round(float(losskit.dice_ce_loss(x, g, smooth_nr=0.0, smooth_dr=0.0)), 4)
        1.1931
    """
    check_choice("reduction", reduction, ("mean", "sum"))
    xp = namespace(input, target)
    check_number("lambda_dice", lambda_dice, low=0.0)
    check_number("lambda_ce", lambda_ce, low=0.0)
    check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    if activation not in ("softmax", "sigmoid"):
        raise ValueError(
            f"activation: expected one of 'softmax', 'sigmoid' (dice_ce_loss takes logits), got {activation!r}"
        )
    if activation == "sigmoid" and label_smoothing != 0.0:
        raise ValueError(
            f"label_smoothing: expected 0.0 with activation='sigmoid' (binary cross-entropy), got {label_smoothing!r}"
        )
    d, w, valid = _dice_entries(
        input, target, xp, activation=activation, axis=axis,
        include_background=include_background, squared=squared, smooth_nr=smooth_nr,
        smooth_dr=smooth_dr, batch=batch, weight=weight, ignore_index=ignore_index,
    )
    is_labels = xp.isdtype(target.dtype, "integral") and target.ndim == input.ndim - 1
    if activation == "softmax" and ignore_index is not None and not is_labels:
        raise ValueError(
            "ignore_index: expected None with dense (one-hot / soft) targets and "
            f"activation='softmax' (cross-entropy ignores class indices only), got {ignore_index!r}"
        )
    dice = _reduce_entries(d, reduction, xp, w, valid)
    from ..classification import binary_cross_entropy_with_logits, cross_entropy

    ax = normalize_axis("axis", axis, input.ndim)
    C = input.shape[ax]
    cw = None if weight is None else _class_weight(weight, C, xp, as_float(input, xp))
    if activation == "softmax":
        ce = cross_entropy(
            input, target, weight=cw, ignore_index=ignore_index if is_labels else None,
            label_smoothing=label_smoothing, axis=ax, reduction=reduction,
        )
    else:
        x = as_float(input, xp)
        mask = None
        if is_labels:
            lab = target
            if ignore_index is not None:
                keep = xp.expand_dims(lab != ignore_index, axis=ax)
                mask = xp.astype(keep, x.dtype) * xp.ones_like(x)  # every channel of a kept pixel
                lab = xp.where(lab != ignore_index, lab, xp.zeros_like(lab))
            # One channel: the labels are the 0/1 mask; several: each channel's binary target
            # is its one-hot column, as in the sigmoid Dice term.
            if C == 1:
                t = xp.astype(xp.expand_dims(lab, axis=ax), x.dtype)
            else:
                t = one_hot(lab, C, xp, axis=ax, dtype=x.dtype)
        else:
            t = xp.astype(target, x.dtype)
            if ignore_index is not None:
                mask = xp.astype(t != ignore_index, x.dtype)
        if mask is not None:
            t = t * mask  # ignored elements: target 0, weight 0
        pw = None
        if cw is not None:
            shape = [1] * x.ndim
            shape[ax] = C
            pw = xp.reshape(cw, tuple(shape))
        if mask is None:
            ce = binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction=reduction)
        else:
            # torch's BCE "mean" divides by every element; ignored ones must not count.
            ce = binary_cross_entropy_with_logits(x, t, weight=mask, pos_weight=pw, reduction="sum")
            if reduction == "mean":
                count = xp.sum(mask)
                ce = ce / xp.where(count > 0, count, xp.ones_like(count))
    return lambda_dice * dice + lambda_ce * ce
