"""Margin-softmax losses of face recognition: ArcFace (additive angular margin), its
sub-centre form, and CosFace (additive cosine margin), softmax cross-entropy over cosines
to class centres."""

from __future__ import annotations

import math

from .._checks import check_floating, check_int, check_labels_in_range, check_ndim, check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, logsumexp
from ._pairs import batch_namespace, check_batch, device_of, gram, l2_normalize, number, safe_sqrt

__all__ = ["arcface_loss", "cosface_loss", "subcenter_arcface_loss"]


def _margin_softmax_setup(embeddings, labels, weight, xp, *, k=None):
    """(cos (B, C), one-hot mask, target cosine) for a (C, D) weight, or with ``k``
    sub-centres a (C, k, D) or (C * k, D) weight whose cosine is the best sub-centre's."""
    x = check_batch(embeddings, labels, xp)
    check_floating("weight", weight, xp)
    d = x.shape[1]
    if k is None:
        check_ndim("weight", weight, ndim=2)
        if weight.shape[1] != d:
            raise ValueError(
                f"weight: expected shape (num_classes, {d}) matching the embedding size, "
                f"got {tuple(weight.shape)}"
            )
        num_classes = weight.shape[0]
    else:
        if weight.ndim == 3:
            if weight.shape[1] != k or weight.shape[2] != d:
                raise ValueError(
                    f"weight: expected shape (num_classes, {k}, {d}) for k={k} sub-centres and the "
                    f"embedding size, got {tuple(weight.shape)}"
                )
        elif weight.ndim == 2:
            if weight.shape[1] != d or weight.shape[0] % k:
                raise ValueError(
                    f"weight: expected shape (num_classes * {k}, {d}), rows a multiple of k={k} and "
                    f"columns the embedding size, got {tuple(weight.shape)}"
                )
        else:
            raise ValueError(
                f"weight: expected a 3-D (num_classes, k, D) or 2-D (num_classes * k, D) array, "
                f"got shape {tuple(weight.shape)}"
            )
        num_classes = weight.shape[0] if weight.ndim == 3 else weight.shape[0] // k
        weight = xp.reshape(weight, (num_classes * k, d))  # row j * k + i: sub-centre i of class j
    check_labels_in_range("labels", labels, num_classes)
    w = as_float(weight, xp, x.dtype)
    cos = gram(l2_normalize(x, xp, 1e-12), l2_normalize(w, xp, 1e-12), xp)  # (B, C) or (B, C * k)
    if k is not None:
        # the nearest sub-centre of each class (the gradient goes to it)
        cos = xp.max(xp.reshape(cos, (x.shape[0], num_classes, k)), axis=2)
    classes = xp.arange(num_classes, dtype=labels.dtype, device=device_of(x))
    onehot = labels[:, None] == classes[None, :]
    target = xp.sum(xp.where(onehot, cos, xp.zeros_like(cos)), axis=1)
    return cos, onehot, target


def _arcface_target(c, margin, xp):
    """psi(theta) of ArcFace for the target cosine ``c`` (see :func:`arcface_loss`)."""
    one = xp.ones_like(c)
    sin = safe_sqrt(xp.maximum(one - c * c, xp.zeros_like(c)), xp)
    cos_m = c * math.cos(margin) - sin * math.sin(margin)
    # theta <= pi - m  <=>  c >= cos(pi - m) = -cos(m)
    return xp.where(c >= -math.cos(margin), cos_m, c - margin * math.sin(margin))


def _margin_softmax_ce(cos, onehot, target, new_target, scale, reduction, xp):
    logits = scale * xp.where(onehot, new_target[:, None], cos)
    per = logsumexp(logits, xp, axis=1) - scale * new_target
    return reduce_loss(per, reduction, xp)


@loss(
    formula=(
        r"\ell_i = -\log\frac{e^{s \cos(\theta_{y_i} + m)}}{e^{s \cos(\theta_{y_i} + m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Jiankang Deng, Jia Guo, Niannan Xue, Stefanos Zafeiriou, ArcFace: Additive Angular Margin "
        "Loss for Deep Face Recognition, CVPR 2019, arXiv:1801.07698"
    ),
    aliases=("arcface", "additive_angular_margin_loss"),
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
    return _margin_softmax_ce(cos, onehot, c, _arcface_target(c, margin, xp), scale, reduction, xp)


@loss(
    formula=(
        r"\ell_i = -\log\frac{e^{s (\cos\theta_{y_i} - m)}}{e^{s (\cos\theta_{y_i} - m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Hao Wang, Yitong Wang, Zheng Zhou, Xing Ji, Dihong Gong, Jingchao Zhou, Zhifeng Li, Wei Liu, "
        "CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018, arXiv:1801.09414"
    ),
    aliases=("cosface", "large_margin_cosine_loss"),
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


@loss(
    formula=(
        r"\cos\theta_j = \max_k \cos\theta_{jk},\ \ell_i = -\log\frac{e^{s \cos(\theta_{y_i} + m)}}"
        r"{e^{s \cos(\theta_{y_i} + m)} + \sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Jiankang Deng, Jia Guo, Tongliang Liu, Mingming Gong, Stefanos Zafeiriou, Sub-center ArcFace: "
        "Boosting Face Recognition by Large-Scale Noisy Web Faces, ECCV 2020"
    ),
    aliases=("subcenter_arcface", "sub_center_arcface_loss"),
)
def subcenter_arcface_loss(embeddings, labels, weight, *, k: int = 3, margin: float = 0.5, scale: float = 64.0,
                           reduction: str = "mean"):
    r"""Sub-center ArcFace: ArcFace over the nearest of K sub-centres of each class.

    .. math::

        \cos\theta_j = \max_{1 \le k \le K} \cos\theta_{jk}, \qquad
        \ell_i = -\log\frac{e^{s\,\psi(\theta_{y_i})}}
                           {e^{s\,\psi(\theta_{y_i})} + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    where

    - :math:`\cos\theta_{jk}` is the cosine between embedding :math:`i` and sub-centre
      :math:`k` of class :math:`j` (both L2-normalised; a zero row has cosine 0);
    - :math:`\psi` is ArcFace's margin function (see :func:`losskit.arcface_loss`):
      :math:`\cos(\theta + m)`, or :math:`\cos\theta - m \sin m` beyond
      :math:`\pi - m`;
    - :math:`m` the margin in radians, :math:`s` the scale, :math:`K` = ``k``.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        weight: the sub-centres, either (C, K, D) (``weight[j, k]`` is sub-centre k of
            class j; what :class:`losskit.torch.SubCenterArcFaceLoss` holds) or the same
            rows flattened class-major, (C * K, D) (row ``j * K + k``; PML's ``W.T``).
        k: :math:`K \ge 1` sub-centres per class (3, the paper's); a 3-D ``weight`` must
            have it as its second axis. ``k=1`` is :func:`losskit.arcface_loss`.
        margin: :math:`m` in **radians** (0.5, the paper's). PML's ``SubCenterArcFaceLoss``
            takes degrees (``margin=28.6`` by default, about 0.4992 rad).
        scale: :math:`s` (64, the paper's and PML's).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        pytorch-metric-learning: ``SubCenterArcFaceLoss(num_classes=C, embedding_size=D,
        margin=degrees, scale=s, sub_centers=K)`` gives the same value; its ``W`` is
        (D, C * K), class-major, so ``W.T`` is the 2-D ``weight`` here. The max over
        sub-centres sends the gradient to the nearest one (an exact tie splits it). The
        paper's outlier dropping (after training, samples far from their class's dominant
        sub-centre; PML's ``get_outliers``) is a data-cleaning step, not part of the loss.
        One (B, D) x (D, C K) product; a NaN input gives NaN.

    References:
        Deng, Guo, Liu, Gong, Zafeiriou, "Sub-center ArcFace: Boosting Face Recognition by
        Large-Scale Noisy Web Faces", ECCV 2020.

    Example:
        Two sub-centres per class; the embedding lies on class 0's second sub-centre and is
        orthogonal to both of class 1's; m = pi/2, s = 1: psi = 0, logits (0, 0), log 2.

        >>> import numpy as np, losskit
        >>> w = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, -1.0]]])
        >>> round(float(losskit.subcenter_arcface_loss(np.array([[2.0, 0.0]]), np.array([0]), w,
        ...                                            k=2, margin=np.pi / 2, scale=1.0)), 6)
        0.693147
    """
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels, weight=weight)
    k = check_int("k", k, allow_none=False, low=1)
    margin = number("margin", margin, low=0.0, high=math.pi / 2)
    scale = number("scale", scale, low=0.0, low_open=True)
    cos, onehot, c = _margin_softmax_setup(embeddings, labels, weight, xp, k=k)
    return _margin_softmax_ce(cos, onehot, c, _arcface_target(c, margin, xp), scale, reduction, xp)
