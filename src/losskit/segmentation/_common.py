r"""What the segmentation losses share: validation and flattening (:func:`prepare`), the
per-(sample, class) sums of the Dice family (:func:`overlap_sums`, the reference kernel of
the two fast paths declared here), and what follows the sums (:class:`Head`).

:func:`overlap_sums` returns

.. math::

    I_{nc} = \sum_i p_{nci} g_{nci}, \qquad
    P_{nc} = \sum_i p_{nci}\ (\text{or } p_{nci}^2), \qquad
    G_{nc} = \sum_i g_{nci}\ (\text{or } g_{nci}^2),

from which false positives :math:`FP = P - I` and false negatives :math:`FN = G - I` follow
(exactly, also for soft labels). With ``batch=True`` the sums are pooled over the batch too.
Integer labels are never expanded to an ``(N, C, ...)`` one-hot here (except by the
array-API fallback of namespaces without a scatter): the intersection is gathered at the
label (``take_along_axis``) and scattered into per-class bins (torch ``scatter_add``, JAX
``.at[].add``, NumPy ``bincount``).

Two fast paths may stand in for ``overlap_sums(softmax(x), labels)`` on CPU torch tensors
(``activation="softmax"``, integer labels without the class axis, ``squared=False``), both
with a hand-derived backward, both pinned to it by the tests (values and gradients):

* ``segmentation.numba`` (:mod:`losskit.segmentation._numba`, needs numba): ``exp`` in
  torch, then one compiled pass forward for the sums (also masking ``ignore_index`` and
  checking the label range) and one pass backward; for a loss whose tail has a
  hand-derived ``vjp`` (:func:`losskit.segmentation.dice_loss`) the formula and the
  reduction run inside the same ``autograd.Function`` (:class:`Head`);
* ``segmentation.torch`` (:mod:`losskit.segmentation._torch`): the same sums as one fused
  torch ``autograd.Function`` (what runs without numba).

Both take the raw labels: they mask ``ignore_index`` and check the label range themselves.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

from .. import _meta
from .._checks import (
    check_array,
    check_bool,
    check_choice,
    check_class_weight,
    check_floating,
    check_in_unit_interval,
    check_labels_in_range,
    check_ndim,
    check_number,
    check_ignore_index,
    eager_values,
    normalize_axis,
)
from .._fastpath import fast_path, select
from .._reduce import reduce_grad, reduce_loss
from .._xp import as_float, backend_name, namespace, one_hot, sigmoid, softmax, take_along_axis, torch_index

ACTIVATIONS = (None, "sigmoid", "softmax")

# The kernel the two fast paths replace (see the module docstring).
KERNEL = "segmentation.softmax_label_sums"


def _softmax_labels(input, target, *, activation, squared, **_):
    """Both paths' own conditions: softmax, plain sums, integer labels without the class
    axis, on the CPU like the input (the one rule of ``_fastpath`` does the rest)."""
    dt = target.dtype
    return (
        activation == "softmax"
        and not squared
        and target.ndim == input.ndim - 1
        and not (dt.is_floating_point or dt.is_complex or str(dt) == "torch.bool")
        and target.device.type == "cpu"
    )


# What the two paths have in common: the kernel, torch on the CPU, the conditions.
_SOFTMAX_LABEL_PATH = {"kernel": KERNEL, "backend": "torch", "devices": ("cpu",), "eligible": _softmax_labels}

NUMBA_PATH = fast_path(
    "segmentation.numba",
    impl="losskit.segmentation._numba:softmax_label_loss",
    requires="numba",
    when="activation='softmax' with integer labels (any integer dtype), squared=False; "
         "dice_loss runs whole in one autograd.Function",
    **_SOFTMAX_LABEL_PATH,
)
TORCH_PATH = fast_path(
    "segmentation.torch",
    impl="losskit.segmentation._torch:softmax_label_loss",
    when="activation='softmax' with integer labels (any integer dtype), squared=False "
         "(accelerators run the reference: their gather/scatter kernels are fast)",
    **_SOFTMAX_LABEL_PATH,
)
FAST_PATHS = (NUMBA_PATH.name, TORCH_PATH.name)

# Argument descriptions shared by the overlap losses (inserted into their docstrings).
_COMMON_ARGS = """\
        input: ``(N, C, *spatial)`` probabilities, or logits with ``activation``; the
            class axis is ``axis``. Any floating dtype (half precision computes in float32).
        target: integer labels of shape ``(N, *spatial)`` (the input's shape without the
            class axis; with ``C == 1`` a 0/1 mask), or an array of the input's shape
            (one-hot, multi-label masks or soft labels in [0, 1]). MONAI's
            ``(N, 1, *spatial)`` label map (integer, boolean or integer-valued float, the
            class axis of length 1) is taken as the labels when ``C >= 2``.
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

_WEIGHT = "        weight: ``(C,)`` non-negative class weights (background included), or ``None``."

_SOFT_LABEL = r"""        soft_label: ``True`` computes the intersection in the L1 form
            :math:`I = (P + G - \sum_i |p_i - g_i|) / 2` (Wang and Blaschko), so that the
            loss is 0 exactly when ``input`` equals a soft ``target`` (the plain product
            :math:`\sum_i p_i g_i` is below :math:`\sum_i g_i` for soft labels and the loss
            never reaches 0 there); the same value as ``False`` for hard labels (integer
            labels are always hard)."""

# the family's ``@loss(doc=...)`` parts: ``%(key)s`` in a docstring names one
DOC = {
    "common_args": _COMMON_ARGS, "common_returns": _COMMON_RETURNS, "weight": _WEIGHT, "soft_label": _SOFT_LABEL,
    # the losses that also take ``squared``
    "soft_label_squared": _SOFT_LABEL + """ With ``squared=True`` the product form
            already is the L2 form, zero at ``p = g``, and ``soft_label`` changes nothing.""",
}

# The family's decorator: ``@loss(...)`` with the segmentation losses' shared docstring parts, so
# that no loss restates ``doc=DOC`` (a loss may still pass its own ``doc``).
loss = functools.partial(_meta.loss, doc=DOC)


# --------------------------------------------------------------------------- validation


def namespace_of(input, target):
    """The namespace of ``input`` and ``target``, after checking that both are arrays (so
    that ``None`` or a list raises a TypeError naming the argument, before anything reads
    an attribute of it)."""
    check_array("input", input)
    check_array("target", target)
    return namespace(input, target)


def class_weight(weight, num_classes: int, xp, like):
    """``weight`` as a ``(C,)`` array of ``like``'s dtype and device, checked >= 0."""
    return check_class_weight(weight, num_classes, xp, like.dtype, integers=True, nonnegative=True,
                              device=getattr(like, "device", None))


def check_unit_target(target, ignore_index) -> None:
    """Dense targets in [0, 1] (NaN counts as outside), the ``ignore_index`` elements left
    out; eager only."""
    if ignore_index is None:
        check_in_unit_interval("target", target)
        return
    v = eager_values(target)
    if v is None:
        return
    v = v[v != ignore_index]
    if v.size == 0:
        return
    lo, hi = float(v.min()), float(v.max())
    if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both comparisons
        raise ValueError(
            f"target: expected probabilities in [0, 1] or ignore_index={ignore_index}, "
            f"got values in [{lo}, {hi}]"
        )


def check_smooth(smooth_nr, smooth_dr) -> None:
    check_number("smooth_nr", smooth_nr, low=0.0)
    check_number("smooth_dr", smooth_dr, low=0.0)


def activate(x, activation, xp):
    if activation == "softmax":
        return softmax(x, xp, axis=1)
    if activation == "sigmoid":
        return sigmoid(x, xp)
    return x


def label_map(input, target, axis, xp):
    """MONAI's label layout: a ``(N, 1, *spatial)`` label map (integer, boolean or
    integer-valued float, what MONAI's ``to_onehot_y`` accepts) for an input with
    ``C >= 2`` classes becomes ``(N, *spatial)`` integer labels; any other target is
    returned unchanged (and validated by :func:`prepare`).

    A float map is checked integer-valued in eager mode (``1.5`` is an error, not a
    silent truncation) and cast to int64; under tracing the cast truncates as MONAI's
    ``labels.long()`` does. With ``C == 1`` a ``(N, 1, ...)`` target has the input's shape
    and stays a dense mask (MONAI ignores ``to_onehot_y`` there too).
    """
    if getattr(input, "ndim", 0) < 2 or getattr(target, "ndim", -1) != input.ndim:
        return target
    if not isinstance(axis, int) or isinstance(axis, bool) or not -input.ndim <= axis < input.ndim:
        return target  # prepare raises the error
    ax = axis % input.ndim
    shape, tshape = tuple(input.shape), tuple(target.shape)
    if ax == 0 or shape[ax] < 2 or tshape[ax] != 1:
        return target
    if any(a != b for i, (a, b) in enumerate(zip(tshape, shape)) if i != ax):
        return target
    if xp.isdtype(target.dtype, "integral"):
        return xp.squeeze(target, axis=ax)
    if xp.isdtype(target.dtype, "bool"):
        return xp.astype(xp.squeeze(target, axis=ax), _int_dtype(xp))
    if not xp.isdtype(target.dtype, "real floating"):
        return target
    v = eager_values(target)
    if v is not None and v.size:
        import numpy as np

        bad = ~(np.isfinite(v) & (v == np.round(v)))
        if bad.any():
            raise ValueError(
                f"target: expected integer-valued labels in the (N, 1, ...) label-map layout "
                f"(input has {shape[ax]} classes along axis {ax}), got {float(v[bad].flat[0])}"
            )
    return xp.astype(xp.squeeze(target, axis=ax), _int_dtype(xp))


def check_compound(input, target, *, activation, axis, ignore_index, reduction, takes_logits):
    """The common checks of a Dice term plus a per-pixel term on the same logits
    (``dice_ce_loss``, the Dice + focal losses): ``reduction`` ``"mean"`` or ``"sum"`` (the
    terms' shapes differ), ``activation`` ``"softmax"`` or ``"sigmoid"`` (``takes_logits``
    names the term that needs logits). Returns ``(xp, target, ignore_index)``, the target in
    :func:`label_map`'s layout for both terms."""
    check_choice("reduction", reduction, ("mean", "sum"))
    xp = namespace_of(input, target)
    if activation not in ("softmax", "sigmoid"):
        raise ValueError(
            f"activation: expected one of 'softmax', 'sigmoid' ({takes_logits} takes logits), got {activation!r}"
        )
    ignore_index = check_ignore_index(ignore_index)
    return xp, label_map(input, target, axis, xp), ignore_index


def is_label_map(input, target, xp) -> bool:
    """Whether ``target`` is integer labels (the input's shape without the class axis)
    rather than an array of the input's shape."""
    return xp.isdtype(target.dtype, "integral") and target.ndim == input.ndim - 1


def channel_targets(target, C, axis, ignore_index, dtype, xp, *, labels):
    """``(t, keep)``: the per-channel binary targets of a sigmoid term whose channels lie
    along ``axis``, of ``dtype``, and the elements it counts (``None``: all of them).

    Integer ``labels`` give, with one channel, the 0/1 mask itself and, with several, each
    channel's one-hot column, as in the sigmoid Dice term; ``keep`` is then the pixels that
    are not ``ignore_index``, of length 1 along ``axis``, and an ignored pixel's target is
    that of label 0. A dense ``target`` (its class axis at ``axis``) is cast; ``keep`` is its
    elements that are not ``ignore_index``, whose targets become 0.
    """
    keep = None
    if labels:
        lab = target
        if ignore_index is not None:
            valid = lab != ignore_index
            keep = xp.expand_dims(valid, axis=axis)
            lab = xp.where(valid, lab, xp.zeros_like(lab))
        if C == 1:
            return xp.astype(xp.expand_dims(lab, axis=axis), dtype), keep
        return one_hot(lab, C, xp, axis=axis, dtype=dtype), keep
    t = xp.astype(target, dtype) if target.dtype != dtype else target
    if ignore_index is not None:
        keep = t != ignore_index
        t = xp.where(keep, t, xp.zeros_like(t))
    return t, keep


def _int_dtype(xp):
    """The namespace's default integer dtype (int64; int32 for JAX without x64, where an
    int64 request would only warn and truncate)."""
    try:
        return xp.__array_namespace_info__().default_dtypes()["integral"]
    except (AttributeError, KeyError, TypeError):
        return xp.int64


def prepare(input, target, xp, *, activation, axis, ignore_index, check_values=True, defer_activation=False):
    """Validate and flatten: returns ``(p, labels, g, mask)``.

    ``p`` is ``(N, C, S)`` probabilities (activation applied; the flattened logits with
    ``defer_activation``) in the compute dtype. Exactly one of ``labels`` (``(N, S)``
    integer labels, ignored pixels set to 0) and ``g`` (``(N, C, S)`` dense target, ignored
    elements set to 0) is not ``None``. ``mask`` is the validity mask (``(N, S)`` for labels,
    ``(N, C, S)`` for dense) or ``None``. ``ignore_index`` was checked by the caller
    (``check_ignore_index``); ``check_values=False`` skips the label range check (a fast
    path does it).
    """
    check_floating("input", input, xp)
    check_array("target", target)
    check_ndim("input", input, min_ndim=2)
    ax = normalize_axis("axis", axis, input.ndim)
    if ax == 0:
        raise ValueError("axis: expected the class axis (axis 0 is the batch axis), got 0")
    check_choice("activation", activation, ACTIVATIONS)
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
    p = x if defer_activation else activate(x, activation, xp)

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
    if check_values:
        check_unit_target(target, ignore_index)
    t = xp.astype(target, p.dtype) if target.dtype != p.dtype else target
    if ax != 1:
        t = xp.moveaxis(t, ax, 1)
    t = xp.reshape(t, (N, C, S))
    if ignore_index is not None:
        mask = t != ignore_index
        t = xp.where(mask, t, xp.zeros_like(t))
    return p, None, t, mask


# --------------------------------------------------------------------------- the sums


def bincount2d(values, labels, num_classes: int, xp):
    """``out[n, c] = sum_i values[n, i] * (labels[n, i] == c)`` without a one-hot.

    A scatter-add into ``(N, C)`` bins: ``scatter_add`` in torch, ``.at[].add`` in JAX,
    ``bincount`` in NumPy (all differentiable where the backend has autodiff). The array API
    has no scatter, so other namespaces fall back to a one-hot product. Labels of any
    integer dtype: the bin arithmetic runs in int64 (uint64 labels would promote to float
    in NumPy, a narrow dtype would overflow for large batches).
    """
    N = values.shape[0]
    name = backend_name(xp)
    if name == "torch":
        import torch

        out = torch.zeros((N, num_classes), dtype=values.dtype, device=values.device)
        return out.scatter_add(1, torch_index(labels), values)
    if name == "jax":
        import jax.numpy as jnp

        rows = jnp.arange(N)[:, None]
        return jnp.zeros((N, num_classes), dtype=values.dtype).at[rows, labels].add(values)
    if name == "numpy":
        import numpy as np

        lab = labels.astype(np.int64, copy=False)
        flat = (np.arange(N, dtype=np.int64)[:, None] * num_classes + lab).reshape(-1)
        out = np.bincount(flat, weights=values.reshape(-1), minlength=N * num_classes)
        return out.reshape(N, num_classes).astype(values.dtype, copy=False)
    oh = one_hot(labels, num_classes, xp, axis=1, dtype=values.dtype)
    return xp.sum(oh * values[:, None, :], axis=-1)


def overlap_sums(p, labels, g, mask, xp, *, squared=False, batch=False, soft_label=False):
    """Per-(sample, class) ``I, P, G`` and the validity ``valid`` (or ``None``).

    ``P``/``G`` sum squares when ``squared`` (V-Net). Shapes ``(N, C)``, or ``(C,)`` with
    ``batch``; ``valid`` is 1.0 where an entry had at least one non-ignored pixel.
    ``soft_label`` (dense targets, ``squared=False``): the intersection in the L1 form
    ``I = (P + G - sum_i |p_i - g_i|) / 2`` of Wang and Blaschko, equal to ``sum_i p_i g_i``
    for hard targets and making ``I = P = G`` exactly when ``p == g`` for soft ones.
    With ``squared`` the plain product already is the L2 form
    ``(|p|^2 + |g|^2 - |p - g|^2) / 2``.
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
            G = bincount2d(m, labels, C, xp)
            valid = xp.astype(xp.sum(m, axis=1, keepdims=True) > 0, p.dtype)  # (N, 1)
        else:
            P = xp.sum(pp, axis=-1)
            G = bincount2d(xp.ones_like(q), labels, C, xp)
        I = bincount2d(q, labels, C, xp)
    else:
        if mask is not None:
            m = xp.astype(mask, p.dtype)
            pp = pp * m
            valid = xp.astype(xp.sum(m, axis=-1) > 0, p.dtype)  # (N, C)
        P = xp.sum(pp, axis=-1)
        G = xp.sum(g * g if squared else g, axis=-1)
        if soft_label and not squared:
            d = xp.abs(p - g)
            if mask is not None:
                d = d * m
            I = (P + G - xp.sum(d, axis=-1)) / 2.0
        else:
            # g is zero at ignored elements, so p * g needs no mask.
            I = xp.sum(p * g, axis=-1)
    if batch:
        I, P, G = (xp.sum(a, axis=0) for a in (I, P, G))
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=0) > 0, p.dtype)
    return I, P, G, valid


def validity_and_pooling(I, P, G, has_ignore, batch, xp):
    """``I, P, G, valid`` from per-(sample, class) sums against integer labels, as
    :func:`overlap_sums` gives them: ``valid`` (with ``ignore_index``) is 1.0 for a sample
    with a valid pixel (``G`` counts them), and ``batch`` pools the samples."""
    valid = None
    if has_ignore:
        valid = xp.astype(xp.sum(G, axis=1, keepdims=True) > 0, I.dtype)
    if batch:
        I, P, G = (xp.sum(a, axis=0) for a in (I, P, G))
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=0) > 0, I.dtype)
    return I, P, G, valid


def drop_background(include_background, C, *arrays, axis=-1):
    """``arrays`` without class 0 on their class axis ``axis`` (the last for per-(sample,
    class) sums and class weights, 1 for ``(N, C, S)`` maps) unless ``include_background``;
    ``None`` and arrays whose ``axis`` is not of length ``C`` are returned as they are."""
    if include_background:
        return arrays
    if C < 2:
        raise ValueError(
            "include_background: expected True for a single-channel input (dropping class 0 "
            "would leave no class), got False"
        )

    def drop(a):
        if a is None or a.ndim <= axis or a.shape[axis] != C:
            return a
        # the trailing ellipsis: the array API wants every axis of a multi-axis index named
        return a[(slice(None),) * (axis % a.ndim) + (slice(1, None), ...)]

    return tuple(drop(a) for a in arrays)


def spatial_shape(input, axis):
    """The sizes of ``input``'s spatial axes (all but the batch axis and the class axis
    ``axis``), of which the distance and skeleton losses need at least one."""
    ax = axis % input.ndim
    spatial = tuple(s for i, s in enumerate(input.shape) if i not in (0, ax))
    if not spatial:
        raise ValueError(f"input: expected at least one spatial axis (N, C, *spatial), got shape {tuple(input.shape)}")
    return spatial


def entry_weight(w, valid):
    """The weight of each per-(sample, class) loss: class weight times validity."""
    if valid is None:
        return w
    return valid if w is None else valid * w


def reduce_entries(loss_, reduction, xp, w, valid):
    """Reduce per-(sample, class) losses with class weights and validity weights."""
    return reduce_loss(loss_, reduction, xp, weight=entry_weight(w, valid))


@dataclasses.dataclass(kw_only=True, eq=False)
class Head:
    """What follows the ``(N, C)`` sums of an overlap loss: validity, batch pooling and
    background (with the helpers above), then ``tail(I, P, G, valid, w, xp)``, the loss's
    own array-API code. One instance per call.

    :meth:`finish` applies it to a fast path's sums in their own library. When the tail
    has a hand-derived ``tail.vjp`` and the class weights need no gradient
    (:attr:`fusable`), the numba path runs it inside its ``autograd.Function`` on NumPy
    float64 sums instead (:meth:`forward`, :meth:`backward`): one autograd node for the
    whole loss rather than a dozen small torch ops after the sums.
    """

    tail: Any
    has_ignore: bool
    batch: bool
    include_background: bool
    w: Any
    saved: Any = None  # what backward needs, set by forward

    def finish(self, I, P, G, xp):
        C = I.shape[-1]
        I, P, G, valid = validity_and_pooling(I, P, G, self.has_ignore, self.batch, xp)
        I, P, G, valid, w = drop_background(self.include_background, C, I, P, G, valid, self.w)
        return self.tail(I, P, G, valid, w, xp)

    @property
    def fusable(self) -> bool:
        return hasattr(self.tail, "vjp") and not getattr(self.w, "requires_grad", False)

    def forward(self, I, P, G):
        """The loss from NumPy float64 sums (the weights as NumPy float64 too)."""
        import numpy as np

        N, C = I.shape
        w = None if self.w is None else np.asarray(self.w.detach().cpu(), dtype=np.float64)
        I, P, G, valid = validity_and_pooling(I, P, G, self.has_ignore, self.batch, np)
        I, P, G, valid, w = drop_background(self.include_background, C, I, P, G, valid, w)
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


def dice_formula(I, P, G, smooth_nr, smooth_dr):
    return 1.0 - (2.0 * I + smooth_nr) / (P + G + smooth_dr)


class EntryTail:
    """The tail of a loss that has one value per (sample, class) entry:
    ``formula(I, P, G, xp)`` on the sums, then the family's reduction with the class
    weights and the validity (:func:`reduce_entries`)."""

    def __init__(self, formula, reduction):
        self.formula, self.reduction = formula, reduction

    def __call__(self, I, P, G, valid, w, xp):
        return reduce_entries(self.formula(I, P, G, xp), self.reduction, xp, w, valid)


class DiceTail(EntryTail):
    """:func:`losskit.segmentation.dice_loss` after the sums: the formula and the
    reduction, with the hand-derived vector-Jacobian product the numba path uses
    (:class:`Head`)."""

    def __init__(self, smooth_nr, smooth_dr, reduction):
        super().__init__(lambda I, P, G, xp: dice_formula(I, P, G, smooth_nr, smooth_dr), reduction)
        self.smooth_nr, self.smooth_dr = smooth_nr, smooth_dr

    def vjp(self, grad, I, P, G, valid, w):
        """``(dL/dI, dL/dP)`` (NumPy) for the upstream gradient ``grad`` of the reduced
        loss: with ``L = 1 - (2 I + s_nr) / D`` and ``D = P + G + s_dr``,
        ``dL/dI = -2 / D`` and ``dL/dP = (2 I + s_nr) / D^2``, times the reduction's
        weight of each entry."""
        import numpy as np

        den = P + G + self.smooth_dr
        num = 2.0 * I + self.smooth_nr
        dloss = reduce_grad(grad + np.zeros_like(I), self.reduction, np, weight=entry_weight(w, valid))
        return dloss * (-2.0 / den), dloss * num / (den * den)



def overlap_loss(input, target, xp, tail, *, activation, axis, include_background, squared,
                 batch, ignore_index, weight, soft_label=False):
    """``tail(I, P, G, valid, w, xp)`` over the family's sums, on a fast path where one is
    eligible (it gets the raw labels and a :class:`Head`), else on :func:`overlap_sums`."""
    check_bool("batch", batch)
    check_bool("squared", squared)
    check_bool("include_background", include_background)
    check_bool("soft_label", soft_label)
    ignore_index = check_ignore_index(ignore_index)
    target = label_map(input, target, axis, xp)
    impl = select(KERNEL, backend_name(xp), input, target, activation=activation, squared=squared)
    x, labels, g, mask = prepare(
        input, target, xp, activation=activation, axis=axis,
        ignore_index=None if impl is not None else ignore_index, check_values=impl is None,
        defer_activation=True,
    )
    C = x.shape[1]
    w = class_weight(weight, C, xp, x)
    if impl is not None:
        head = Head(tail=tail, has_ignore=ignore_index is not None, batch=batch,
                    include_background=include_background, w=w)
        return impl(x, labels, ignore_index, head, xp)
    p = activate(x, activation, xp)
    I, P, G, valid = overlap_sums(p, labels, g, mask, xp, squared=squared, batch=batch, soft_label=soft_label)
    I, P, G, valid, w = drop_background(include_background, C, I, P, G, valid, w)
    return tail(I, P, G, valid, w, xp)


def skeleton_iterations(x, iterations, *, erode, dilate, relu):
    """The soft skeleton's iteration (:func:`losskit.segmentation.soft_skeleton`), shared by
    the reference and the pooling path, given their erosion, dilation and relu.
    ``erode(x_k)`` is both the first half of ``open(x_k)`` and ``x_{k+1}``: computed once
    (MONAI's ``soft_skel`` computes it twice)."""
    e = erode(x)
    skel = relu(x - dilate(e))
    for _ in range(iterations):
        x = e
        e = erode(x)
        delta = relu(x - dilate(e))
        skel = skel + relu(delta - skel * delta)
    return skel
