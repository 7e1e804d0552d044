r"""The Lovász losses of the segmentation family (Berman et al. 2018): the convex Lovász
extension of the Jaccard loss, on softmax errors per class (:func:`lovasz_softmax_loss`)
and on binary hinge errors (:func:`lovasz_hinge_loss`).
"""

from __future__ import annotations

import math

from .._checks import (
    check_bool,
    check_choice,
    check_floating,
    check_ignore_index,
    check_labels_in_range,
    check_ndim,
    check_reduction,
)
from .._reduce import reduce_loss
from .._xp import as_float, one_hot, subgrad_abs, take_along_axis
from ._common import check_unit_target, loss, namespace_of, prepare

__all__ = ["lovasz_softmax_loss", "lovasz_hinge_loss"]


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
    # Descending by sorting the negated key ascending, stably: ties then keep their index
    # order on every backend (JAX's descending=True reverses a stable ascending sort, which
    # orders ties the other way and so gives another subgradient at ties).
    perm = xp.argsort(-key, axis=-1, stable=True)
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
    xp = namespace_of(input, target)
    check_choice("classes", classes, ("present", "all"))
    check_bool("per_image", per_image)
    if activation == "sigmoid":
        raise ValueError(
            "activation: expected 'softmax' or None for lovasz_softmax_loss, got 'sigmoid' "
            "(use lovasz_hinge_loss for binary logits)"
        )
    ignore_index = check_ignore_index(ignore_index)
    p, labels, g, mask = prepare(
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
    errors = subgrad_abs(g - p, xp)  # derivative 0 at a zero error on every backend
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
    xp = namespace_of(input, target)
    check_floating("input", input, xp)
    check_ndim("input", input, min_ndim=1)
    check_bool("per_image", per_image)
    ignore_index = check_ignore_index(ignore_index)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"target: expected the shape of input {tuple(input.shape)}, got {tuple(target.shape)}")
    x = as_float(input, xp)
    if xp.isdtype(target.dtype, "integral"):
        check_labels_in_range("target", target, 2, ignore_index=ignore_index)
    else:
        check_unit_target(target, ignore_index)
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
