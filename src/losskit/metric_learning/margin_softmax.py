"""Margin-softmax losses of face recognition: ArcFace (additive angular margin) and
CosFace (additive cosine margin), softmax cross-entropy over cosines to class centres."""

from __future__ import annotations

import math

from .._checks import check_floating, check_labels_in_range, check_ndim, check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, logsumexp
from ._pairs import batch_namespace, check_batch, device_of, gram, l2_normalize, number, safe_sqrt

__all__ = ["arcface_loss", "cosface_loss"]


def _margin_softmax_setup(embeddings, labels, weight, xp):
    x = check_batch(embeddings, labels, xp)
    check_floating("weight", weight, xp)
    check_ndim("weight", weight, ndim=2)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight: expected shape (num_classes, {x.shape[1]}) matching the embedding size, "
            f"got {tuple(weight.shape)}"
        )
    check_labels_in_range("labels", labels, weight.shape[0])
    w = as_float(weight, xp, x.dtype)
    cos = gram(l2_normalize(x, xp, 1e-12), l2_normalize(w, xp, 1e-12), xp)  # (B, C)
    classes = xp.arange(weight.shape[0], dtype=labels.dtype, device=device_of(x))
    onehot = labels[:, None] == classes[None, :]
    target = xp.sum(xp.where(onehot, cos, xp.zeros_like(cos)), axis=1)
    return cos, onehot, target


def _margin_softmax_ce(cos, onehot, target, new_target, scale, reduction, xp):
    logits = scale * xp.where(onehot, new_target[:, None], cos)
    per = logsumexp(logits, xp, axis=1) - scale * new_target
    return reduce_loss(per, reduction, xp)


@loss(
    family="metric_learning",
    formula=(
        r"\ell_i = -\log\frac{e^{s \cos(\theta_{y_i} + m)}}{e^{s \cos(\theta_{y_i} + m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Jiankang Deng, Jia Guo, Niannan Xue, Stefanos Zafeiriou, ArcFace: Additive Angular Margin "
        "Loss for Deep Face Recognition, CVPR 2019, arXiv:1801.07698"
    ),
    aliases=("arcface", "additive_angular_margin_loss"),
    plot=None,
)
def arcface_loss(embeddings, labels, weight, *, margin: float = 0.5, scale: float = 64.0, reduction: str = "mean"):
    r"""ArcFace: softmax cross-entropy with an additive angular margin on the target class.

    .. math::

        \ell_i = -\log\frac{e^{s\,\psi(\theta_{y_i})}}
                           {e^{s\,\psi(\theta_{y_i})} + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    where

    - :math:`\cos\theta_j` is the cosine between embedding :math:`i` and class centre
      :math:`W_j` (both L2-normalised);
    - :math:`\psi(\theta) = \cos(\theta + m)` for :math:`\theta \le \pi - m`, else
      :math:`\cos\theta - m \sin m` (keeps the target logit decreasing in :math:`\theta`);
    - :math:`m` the margin in radians, :math:`s` the scale.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        weight: (C, D) class-centre matrix (the layer's weight; a parameter you train).
        margin: :math:`m` in **radians** (0.5, the paper's). PML's ``ArcFaceLoss`` takes
            degrees (28.6 by default, about 0.4992 rad).
        scale: :math:`s` (64).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        :math:`\cos(\theta + m)` is computed as :math:`c\cos m - \sqrt{1 - c^2}\sin m`,
        without ``acos``; the square root has a zero gradient where :math:`c = \pm 1` exactly
        (acos and sqrt have an infinite derivative there). The fallback branch beyond
        :math:`\pi - m` is PML's and insightface's (``easy_margin=False``). Note PML stores
        its weight as (D, C); here it is (C, D) like ``nn.Linear``. A NaN input gives NaN.

    References:
        Deng, Guo, Xue, Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face
        Recognition", CVPR 2019, arXiv:1801.07698.

    Example:
        One embedding on its class centre (theta = 0) and orthogonal to the other; m = pi/2,
        s = 1: psi = cos(pi/2) = 0, so the loss is log(e^0 + e^0) = log 2.

        >>> import numpy as np, losskit
        >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.arcface_loss(np.array([[2.0, 0.0]]), np.array([0]), w,
        ...                                  margin=np.pi / 2, scale=1.0)), 6)
        0.693147
    """
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels, weight=weight)
    margin = number("margin", margin, low=0.0, high=math.pi / 2)
    scale = number("scale", scale, low=0.0, low_open=True)
    cos, onehot, c = _margin_softmax_setup(embeddings, labels, weight, xp)
    one = xp.ones_like(c)
    sin = safe_sqrt(xp.maximum(one - c * c, xp.zeros_like(c)), xp)
    cos_m = c * math.cos(margin) - sin * math.sin(margin)
    # theta <= pi - m  <=>  c >= cos(pi - m) = -cos(m)
    psi = xp.where(c >= -math.cos(margin), cos_m, c - margin * math.sin(margin))
    return _margin_softmax_ce(cos, onehot, c, psi, scale, reduction, xp)


@loss(
    family="metric_learning",
    formula=(
        r"\ell_i = -\log\frac{e^{s (\cos\theta_{y_i} - m)}}{e^{s (\cos\theta_{y_i} - m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Hao Wang, Yitong Wang, Zheng Zhou, Xing Ji, Dihong Gong, Jingchao Zhou, Zhifeng Li, Wei Liu, "
        "CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018, arXiv:1801.09414"
    ),
    aliases=("cosface", "large_margin_cosine_loss"),
    plot=None,
)
def cosface_loss(embeddings, labels, weight, *, margin: float = 0.35, scale: float = 64.0, reduction: str = "mean"):
    r"""CosFace: softmax cross-entropy with an additive cosine margin on the target class.

    .. math::

        \ell_i = -\log\frac{e^{s(\cos\theta_{y_i} - m)}}
                           {e^{s(\cos\theta_{y_i} - m)} + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    where

    - :math:`\cos\theta_j` is the cosine between embedding :math:`i` and class centre
      :math:`W_j` (both L2-normalised);
    - :math:`m` the cosine margin, :math:`s` the scale.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        weight: (C, D) class-centre matrix.
        margin: :math:`m` (0.35, as the paper and PML).
        scale: :math:`s` (64, as PML).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        PML's ``CosFaceLoss`` stores its weight as (D, C); here it is (C, D). A NaN input
        gives NaN.

    References:
        Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018,
        arXiv:1801.09414.

    Example:
        On its class centre, orthogonal to the other, m = 1, s = 1: logits (0, 0), log 2.

        >>> import numpy as np, losskit
        >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.cosface_loss(np.array([[2.0, 0.0]]), np.array([0]), w,
        ...                                  margin=1.0, scale=1.0)), 6)
        0.693147
    """
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels, weight=weight)
    margin = number("margin", margin)
    scale = number("scale", scale, low=0.0, low_open=True)
    cos, onehot, c = _margin_softmax_setup(embeddings, labels, weight, xp)
    return _margin_softmax_ce(cos, onehot, c, c - margin, scale, reduction, xp)
