r"""Losses of dense detection heads: the distribution focal loss of a discretised box side
(GFL's DFL), and the IoU-aware classification losses Quality Focal Loss (GFL) and
Varifocal Loss (VarifocalNet), on any array-API backend.

Conventions:

* **Dtypes.** The first array decides: float64 stays float64, float32 / float16 / bfloat16
  compute and return float32; the other arrays are cast to that dtype.
* **Logits, not probabilities.** QFL and Varifocal take logits and compute every log term as
  a softplus (``log(1 + e^x)``) or log-sigmoid, so they stay finite for logits of any size
  (VarifocalNet #26 reports Inf from ``log(sigmoid(x))`` at very negative logits).
* **Targets** are dense soft scores of the logits' shape (the IoU of the matched box for
  positives, 0 for negatives), as ultralytics' heads build them; mmdet's ``(label, score)``
  pair is the same array written sparsely.
* **Normalisation.** ``reduction="mean"`` is the mean over every element (anchor x class),
  ``"sum"`` the sum; the detectors' own normalisers are one division away (each docstring
  says which).
"""

from __future__ import annotations

from .._checks import (
    check_array,
    check_bool,
    check_broadcastable,
    check_floating,
    check_int,
    check_number,
    check_in_unit_interval,
    check_reduction,
    check_sample_weight,
    eager_values,
)
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import (
    as_float,
    compute_dtype,
    log_sigmoid,
    log_softmax,
    namespace,
    safe_pow,
    sigmoid,
    softplus,
    take_along_axis,
    subgrad_abs,
)

__all__ = ["distribution_focal_loss", "quality_focal_loss", "varifocal_loss"]

_REF_GFL = (
    "Li et al., Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes for "
    "Dense Object Detection, 2020, arXiv:2006.04388"
)
_REF_VFL = (
    "Zhang, Wang, Dayoub and Sünderhauf, VarifocalNet: An IoU-aware Dense Object Detector, "
    "2021, arXiv:2008.13367"
)


# The score losses' (QFL, VFL) shared argument descriptions, for their @loss(doc=...).
_SCORES_DOC = {
    "logits": """\
        logits: floating array of any shape, e.g. ``(N, C)`` or ``(B, anchors, C)``.""",
    "weight_reduction": """\
        weight: optional weight per element, broadcastable to the loss's shape.
        reduction: ``"mean"`` (default; the mean over every element, or the weighted mean),
            ``"sum"`` or ``"none"``.""",
    "returns": """\
        The loss per element of shape ``broadcast(logits, score).shape`` for
        ``reduction="none"``, else its mean or sum (0 for an empty batch). float64 for
        float64 ``logits``, float32 otherwise.""",
}


def _bce_with_logits(x, y, xp):
    """-(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) = softplus(x) - y x, finite for any x."""
    return softplus(x, xp) - y * x


def _scores_front(logits, score, weight, reduction):
    """Validate (logits, soft scores, weight); return xp, the float logits and scores, the
    weight in their dtype."""
    check_array("logits", logits)
    check_array("score", score)
    xp = namespace(logits, score)
    check_floating("logits", logits, xp)
    if not (xp.isdtype(score.dtype, "real floating") or xp.isdtype(score.dtype, "integral")
            or xp.isdtype(score.dtype, "bool")):
        raise TypeError(f"score: expected a real array of target scores in [0, 1], got dtype {score.dtype}")
    shape = check_broadcastable("logits", logits, "score", score)
    check_reduction(reduction)
    check_in_unit_interval("score", score)
    dtype = compute_dtype(logits, xp)
    x = as_float(logits, xp, dtype)
    y = as_float(score, xp, dtype)
    w = check_sample_weight(weight, shape, xp, dtype)
    return xp, x, y, w


# --------------------------------------------------------------------------- DFL


@loss(
    formula=(
        r"\mathcal{L}_{DFL} = -\left((y_{i+1} - y) \log S_i + (y - y_i) \log S_{i+1}\right),\ "
        r"y_i \le y \le y_{i+1}"
    ),
    reference=_REF_GFL,
    aliases=("dfl", "dfl_loss"),
)
def distribution_focal_loss(pred_dist, target, *, reg_max: int, clamp: float | None = None,
                            weight=None, reduction: str = "mean"):
    r"""Distribution focal loss: the two-bin cross-entropy of a box side's discretised distance.

    .. math::

        \mathcal{L}_{DFL}(S, y) = -\left((y_{i+1} - y) \log S_i + (y - y_i) \log S_{i+1}\right),
        \qquad S = \mathrm{softmax}(z)

    where :math:`z` are the ``reg_max`` logits of one box side (``pred_dist[..., :]``),
    :math:`S` their softmax over the bins :math:`0, 1, \dots, n - 1` (:math:`n` =
    ``reg_max``), :math:`y` the target distance (in bins) and :math:`y_i = \lfloor y \rfloor`,
    :math:`y_{i+1} = y_i + 1` the two bins around it (at :math:`y = n - 1` the last two bins,
    with weights 0 and 1). The loss is smallest when the distribution's mass sits on those
    two bins in proportion, and its expectation :math:`\sum_j j S_j` is then :math:`y`.

    Args:
        pred_dist: logits of shape ``(..., reg_max)``, the bins on the last axis (as
            ultralytics' ``pred_dist.view(-1, reg_max)`` and mmdet's ``(N, reg_max + 1)``).
        target: distances of shape ``(...)`` (``pred_dist.shape[:-1]``), in bins, in
            ``[0, reg_max - 1]`` (floating or integer).
        reg_max: the number of bins, ``pred_dist.shape[-1]`` (ultralytics' ``reg_max``,
            16 in YOLOv8; mmdet's ``reg_max`` is one less: 16 there means 17 bins).
        clamp: ``None`` (default, the paper and mmdet): targets outside
            ``[0, reg_max - 1]`` are an error. A number ``c`` clamps the target to
            ``[0, reg_max - 1 - c]`` first, as ultralytics' ``DFLoss`` does with ``c = 0.01``
            (so that a side exactly at the last bin still has a right neighbour).
        weight: optional weight per side, broadcastable to ``target``'s shape (ultralytics
            weights each anchor by its target score).
        reduction: ``"mean"`` (default; the weighted mean when ``weight`` is given), ``"sum"``
            or ``"none"``.

    Returns:
        The loss per side, shape ``pred_dist.shape[:-1]``, for ``reduction="none"``, else
        its mean or sum (a 0-d array; 0 for an empty batch). float64 for float64
        ``pred_dist``, float32 otherwise.

    Notes:
        ultralytics' ``DFLoss`` returns the mean over the four sides of a box (shape
        ``(n, 1)``) and ``BboxLoss`` then takes ``sum(dfl * score) / score_sum``; this is
        ``reduction="none"`` averaged over the last axis of a ``(n, 4)`` target, then weighted
        and summed. mmdet's ``DistributionFocalLoss`` takes ``(N, n)`` logits and ``(N,)``
        targets, as here with a flat batch. The log-probabilities come from a log-softmax
        (finite for logits of any size). Only ``pred_dist`` is
        differentiated. Under ``jax.jit`` / ``torch.compile`` the range check is skipped and
        an out-of-range target extrapolates from the nearest two bins.

    References:
        Li et al., Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes
        for Dense Object Detection, NeurIPS 2020, arXiv:2006.04388.

    Example:
        >>> import numpy as np, losskit
        >>> z = np.zeros((1, 4))  # uniform over 4 bins: log S_i = -log 4
        >>> round(float(losskit.distribution_focal_loss(z, np.array([1.25]), reg_max=4)), 4)
        1.3863
    """
    reg_max = check_int("reg_max", reg_max, allow_none=False, low=2)
    check_number("clamp", clamp, low=0.0, high=float(reg_max - 1), high_open=True, allow_none=True)
    check_array("pred_dist", pred_dist)
    check_array("target", target)
    xp = namespace(pred_dist, target)
    check_floating("pred_dist", pred_dist, xp)
    if not (xp.isdtype(target.dtype, "real floating") or xp.isdtype(target.dtype, "integral")):
        raise TypeError(f"target: expected a real array of distances in bins, got dtype {target.dtype}")
    if pred_dist.ndim < 1 or pred_dist.shape[-1] != reg_max:
        raise ValueError(
            f"pred_dist: expected shape (..., reg_max) = (..., {reg_max}), got {tuple(pred_dist.shape)} "
            "(reg_max is the number of bins; mmdet's reg_max is one less)"
        )
    if tuple(target.shape) != tuple(pred_dist.shape[:-1]):
        raise ValueError(
            f"target: expected the shape of pred_dist without its bins axis "
            f"{tuple(pred_dist.shape[:-1])}, got {tuple(target.shape)}"
        )
    check_reduction(reduction)
    dtype = compute_dtype(pred_dist, xp)
    z = as_float(pred_dist, xp, dtype)
    y = as_float(target, xp, dtype)
    w = check_sample_weight(weight, tuple(target.shape), xp, dtype, what="target's shape")
    hi = float(reg_max - 1)
    if clamp is None:
        v = eager_values(target)
        if v is not None:
            lo_v, hi_v = float(v.min()), float(v.max())
            if not (lo_v >= 0.0 and hi_v <= hi):  # NaN fails too
                raise ValueError(
                    f"target: expected distances in [0, reg_max - 1] = [0, {reg_max - 1}], got values in "
                    f"[{lo_v}, {hi_v}] (clamp=0.01 clamps them as ultralytics does)"
                )
    else:
        y = xp.clip(y, min=0.0, max=hi - float(clamp))
    # The left bin; y = reg_max - 1 uses the last two bins (weights 0 and 1). The clip also
    # keeps the gather in range where the value check cannot run (traced arrays).
    left = xp.clip(xp.floor(y), min=0.0, max=hi - 1.0)
    il = xp.astype(left, xp.int64)[..., None]
    # One gather of both bins from the log-softmax (one scatter in the backward pass), the
    # two weights (y_{i+1} - y, y - y_i) stacked beside them.
    logp = take_along_axis(log_softmax(z, xp, axis=-1), xp.concat([il, il + 1], axis=-1), xp, axis=-1)
    weights = xp.stack([(left + 1.0) - y, y - left], axis=-1)
    out = -xp.sum(weights * logp, axis=-1)
    return reduce_loss(out, reduction, xp, weight=w)


# --------------------------------------------------------------------------- QFL


@loss(
    formula=r"\mathcal{L}_{QFL} = -|y - \sigma|^{\beta} \left((1 - y)\log(1 - \sigma) + y \log \sigma\right)",
    reference=_REF_GFL,
    aliases=("qfl", "qfl_loss"),
    doc=_SCORES_DOC,
)
def quality_focal_loss(logits, score, *, beta: float = 2.0, weight=None, reduction: str = "mean"):
    r"""Quality focal loss: binary cross-entropy to a soft IoU score, focused by the score error.

    .. math::

        \mathcal{L}_{QFL}(\sigma, y) = -|y - \sigma|^{\beta}
            \left((1 - y) \log(1 - \sigma) + y \log \sigma\right), \qquad \sigma = \mathrm{sigmoid}(x)

    where :math:`x` is a logit, :math:`y \in [0, 1]` its target score (the IoU of the
    predicted box with its matched target for a positive, 0 for a negative) and
    :math:`\beta \ge 0` the focusing power.

    Args:
%(logits)s
        score: target scores in [0, 1], broadcastable with ``logits``.
        beta: focusing power :math:`\beta` (paper: 2); ``beta=0`` is binary cross-entropy.
%(weight_reduction)s

    Returns:
%(returns)s

    Notes:
        The factor :math:`|y - \sigma|^\beta` is differentiated (as in the paper and mmdet).
        mmdet's ``QualityFocalLoss`` sums over classes and divides by the number of positive
        anchors (``avg_factor``): that is ``reduction="sum"`` divided by the number of
        positives; the default ``"mean"`` is mmdet's loss without ``avg_factor``.

    References:
        Li et al., Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes
        for Dense Object Detection, NeurIPS 2020, arXiv:2006.04388.

    Example:
        >>> import numpy as np, losskit
        >>> # x = 0: sigma = 1/2; y = 1: |1 - 1/2|^2 * log 2
        >>> round(float(losskit.quality_focal_loss(np.zeros(1), np.ones(1))), 4)
        0.1733
    """
    check_number("beta", beta, low=0.0)
    xp, x, y, w = _scores_front(logits, score, weight, reduction)
    focus = safe_pow(subgrad_abs(y - sigmoid(x, xp), xp), float(beta), xp)
    return reduce_loss(focus * _bce_with_logits(x, y, xp), reduction, xp, weight=w)


# --------------------------------------------------------------------------- Varifocal


@loss(
    formula=(
        r"\mathcal{L}_{VFL} = -q\left(q \log p + (1 - q) \log(1 - p)\right)\ (q > 0),\ "
        r"-\alpha p^{\gamma} \log(1 - p)\ (q = 0)"
    ),
    reference=_REF_VFL,
    aliases=("vfl", "varifocal"),
    doc=_SCORES_DOC,
)
def varifocal_loss(logits, score, *, alpha: float = 0.75, gamma: float = 2.0, iou_weighted: bool = True,
                   weight=None, reduction: str = "mean"):
    r"""Varifocal loss: an IoU-aware focal loss that weights positives by their target IoU.

    .. math::

        \mathcal{L}_{VFL}(p, q) =
        \begin{cases}
            -q \left(q \log p + (1 - q) \log(1 - p)\right) & q > 0 \\
            -\alpha\, p^{\gamma} \log(1 - p) & q = 0
        \end{cases}, \qquad p = \mathrm{sigmoid}(x)

    where :math:`x` is a logit, :math:`q \in [0, 1]` its target IoU-aware classification
    score (the IoU of the box with its target for the true class, 0 otherwise),
    :math:`\alpha` the negatives' weight and :math:`\gamma` their focusing power.

    Args:
%(logits)s
        score: target scores :math:`q` in [0, 1], broadcastable with ``logits``.
        alpha: weight :math:`\alpha \ge 0` of the negatives (paper: 0.75).
        gamma: focusing power :math:`\gamma \ge 0` of the negatives (paper: 2).
        iou_weighted: ``True`` (default, the paper): a positive's cross-entropy is weighted
            by :math:`q`; ``False`` weights it by 1 (mmdet's ``iou_weighted=False``).
%(weight_reduction)s

    Returns:
%(returns)s

    Notes:
        Normalisation differs between the peers. ultralytics' ``VarifocalLoss`` returns
        ``(bce * weight).mean(1).sum()`` over ``(B, anchors, C)``: the sum divided by the
        number of anchors; mmdet's ``VarifocalLoss`` (and the paper's training objective)
        divides the sum by the number of positive samples (``avg_factor``), and without
        ``avg_factor`` takes the mean over every element. The default ``reduction="mean"``
        follows mmdet's loss function without ``avg_factor`` (the mean over every
        element); ``reduction="sum"`` divided by the number of positives is the paper's and
        mmdet's head normalisation, and ``reduction="none"`` then ``.mean(1).sum()`` is
        ultralytics'. The negatives' factor :math:`p^\gamma` is differentiated (as in the
        paper, mmdet and ultralytics) and computed as :math:`e^{\gamma \log p}` with a
        log-sigmoid, so nothing overflows or underflows to NaN for logits of any size
        (VarifocalNet #26 reports Inf at very negative logits).

    References:
        Zhang, Wang, Dayoub and Sünderhauf, VarifocalNet: An IoU-aware Dense Object Detector,
        CVPR 2021, arXiv:2008.13367 (eq. 2).

    Example:
        >>> import numpy as np, losskit
        >>> x = np.zeros(2); q = np.array([0.5, 0.0])  # p = 1/2
        >>> # positive: -0.5 (0.5 log 0.5 + 0.5 log 0.5) = 0.5 log 2; negative: 0.75 / 4 log 2
        >>> np.round(losskit.varifocal_loss(x, q, reduction="none"), 4).tolist()
        [0.3466, 0.13]
    """
    check_number("alpha", alpha, low=0.0)
    check_number("gamma", gamma, low=0.0)
    check_bool("iou_weighted", iou_weighted)
    xp, x, y, w = _scores_front(logits, score, weight, reduction)
    positive = y > 0.0
    # p^gamma = exp(gamma log p): exact where p underflows to 0 (very negative logits) and
    # with a finite gradient for any gamma >= 0.
    neg = float(alpha) * xp.exp(float(gamma) * log_sigmoid(x, xp))
    pos = y if iou_weighted else xp.ones_like(y)
    focal = xp.where(positive, pos, neg)
    return reduce_loss(focal * _bce_with_logits(x, y, xp), reduction, xp, weight=w)
