r"""The OKS keypoint loss of pose heads (YOLO-Pose; COCO's object keypoint similarity), on
any array-API backend, and COCO's per-keypoint sigmas."""

from __future__ import annotations

import math
import numbers

from .._checks import (
    check_array,
    check_bool,
    check_broadcastable,
    check_broadcastable_to,
    check_floating,
    check_nonnegative_values,
    check_number,
    check_reduction,
    eager_min,
)
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, compute_dtype, namespace

__all__ = ["COCO_KEYPOINT_SIGMAS", "keypoint_oks_loss"]

#: COCO's per-keypoint OKS sigmas (the ``kpt_oks_sigmas`` of ``pycocotools``' COCOeval, the
#: ``OKS_SIGMA`` of ultralytics), in the order of COCO's 17 person keypoints: nose, left eye,
#: right eye, left ear, right ear, left / right shoulder, elbow, wrist, hip, knee, ankle.
COCO_KEYPOINT_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)

_REF_OKS = (
    "Maji, Nagori, Mathew and Poddar, YOLO-Pose: Enhancing YOLO for Multi Person Pose "
    "Estimation Using Object Keypoint Similarity Loss, 2022, arXiv:2204.06806"
)

_SIGMA_HINT = (
    "one positive sigma per keypoint, e.g. losskit.COCO_KEYPOINT_SIGMAS for COCO's 17 "
    "person keypoints (a uniform 1/K for custom keypoints is far too lax: ultralytics #2543)"
)


def _sigmas(sigmas, k: int, xp, like):
    """The sigmas as a (K,) array of ``like``'s namespace, dtype and device, checked."""
    if sigmas is None:
        raise TypeError(f"sigmas: expected {_SIGMA_HINT}, got None")
    if isinstance(sigmas, (str, bytes)):
        raise TypeError(f"sigmas: expected {_SIGMA_HINT}, got {type(sigmas).__name__}")
    if not hasattr(sigmas, "shape"):  # a sequence of numbers: checked here, in Python
        values = list(sigmas) if hasattr(sigmas, "__len__") else None
        if values is None or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in values):
            raise TypeError(f"sigmas: expected {_SIGMA_HINT}, got {sigmas!r}")
        if len(values) != k:
            raise ValueError(f"sigmas: expected {k} sigmas (one per keypoint of pred), got {len(values)}")
        bad = [s for s in values if not (math.isfinite(s) and s > 0)]
        if bad:
            raise ValueError(f"sigmas: expected {_SIGMA_HINT}, got {bad[0]!r}")
        return xp.asarray([float(s) for s in values], dtype=like.dtype, device=getattr(like, "device", None))
    check_array("sigmas", sigmas)
    if tuple(sigmas.shape) != (k,):
        raise ValueError(f"sigmas: expected shape ({k},), one per keypoint of pred, got {tuple(sigmas.shape)}")
    if type(sigmas).__module__ == "numpy" and type(like).__module__ != "numpy":
        sigmas = xp.asarray(sigmas, device=getattr(like, "device", None))
    check_floating("sigmas", sigmas, xp)
    lo = eager_min(sigmas)
    if lo is not None and not (lo > 0 and math.isfinite(lo)):
        raise ValueError(f"sigmas: expected {_SIGMA_HINT}, got a minimum of {lo}")
    return as_float(sigmas, xp, like.dtype)


@loss(
    formula=r"\mathcal{L}_{OKS} = v_k \left(1 - \exp\left(-\frac{d_k^2}{2 s (2 \sigma_k)^2}\right)\right)",
    reference=_REF_OKS,
    aliases=("oks_loss", "keypoint_loss"),
)
def keypoint_oks_loss(pred, target, visibility, area, *, sigmas, scale_by_visible: bool = False,
                      eps: float = 1e-9, reduction: str = "mean"):
    r"""OKS keypoint loss: one minus each keypoint's object keypoint similarity, where visible.

    .. math::

        \mathcal{L}_k = v_k \left(1 - \exp\left(-\frac{d_k^2}{2 (s + \epsilon) (2 \sigma_k)^2}\right)\right)

    where :math:`d_k` is the Euclidean distance between the predicted and the target
    keypoint :math:`k`, :math:`s` the object's area (its box area in YOLO-Pose and
    ultralytics, its segment area in COCO's evaluation), :math:`\sigma_k` the keypoint's
    sigma, :math:`v_k \in \{0, 1\}` its visibility (``visibility > 0``) and :math:`\epsilon`
    the ``eps`` guard. With ``scale_by_visible=True`` each object's losses are multiplied by
    :math:`K / \sum_k v_k` (:math:`K` keypoints), as ultralytics' ``KeypointLoss`` does.

    Args:
        pred: predicted keypoints, floating array of shape ``(..., K, 2)`` (x, y).
        target: target keypoints of shape ``(..., K, 2)``, broadcastable with ``pred``.
        visibility: shape ``(..., K)`` broadcastable to the keypoints' shape; a keypoint
            counts where it is > 0 (COCO's flags 1 and 2; ultralytics' ``kpt_mask``).
            Floating, integer or boolean.
        area: the object areas :math:`s \ge 0`, shape ``(...)`` broadcastable to the
            objects' shape ``pred.shape[:-2]`` (``(N,)`` for ``(N, K, 2)`` keypoints).
        sigmas: required: one positive sigma per keypoint, a sequence of ``K`` numbers or an
            array of shape ``(K,)``; :data:`COCO_KEYPOINT_SIGMAS` for COCO's 17 keypoints.
            A missing, mis-sized, zero or negative sigma is an error (ultralytics' default
            for custom keypoints, a uniform ``1/K``, makes the loss too lax: ultralytics
            #2543).
        scale_by_visible: ``False`` (default, the paper's and COCO's per-keypoint form) or
            ``True``: ultralytics' ``K / (number of visible keypoints)`` per object.
        eps: positive guard added to the area (ultralytics: 1e-9): a zero-area object gives
            loss 0 at distance 0 and nearly 1 elsewhere instead of 0 / 0.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``. The mean is over all
            ``... x K`` entries, invisible keypoints counting as 0, as ultralytics'
            ``.mean()``; for the mean over the visible keypoints take ``"sum"`` divided by
            their number.

    Returns:
        The per-keypoint loss of shape ``broadcast(pred, target).shape[:-1]`` (``(..., K)``)
        for ``reduction="none"``, else its mean or sum (0 for an empty batch). float64 for
        float64 ``pred``, float32 otherwise.

    Notes:
        The exponent is COCO evaluation's :math:`d^2 / (2 s (2\sigma)^2)` (ultralytics'
        "from cocoeval" line); YOLO-Pose writes it :math:`d^2 / (2 s^2 \sigma^2)` with
        :math:`s` the scale. ``scale_by_visible=True`` with ``reduction="mean"`` is
        ultralytics' ``KeypointLoss`` exactly. Only ``pred`` is differentiated.

    References:
        Maji et al., YOLO-Pose: Enhancing YOLO for Multi Person Pose Estimation Using Object
        Keypoint Similarity Loss, CVPRW 2022, arXiv:2204.06806. Lin et al., Microsoft COCO:
        Common Objects in Context, 2014, arXiv:1405.0312 (the OKS of its keypoint evaluation).

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([[[3.0, 4.0]]]); t = np.zeros((1, 1, 2))  # d^2 = 25
        >>> # s = 25, sigma = 0.5: e = 25 / (2 * 25 * 1) = 0.5; 1 - exp(-0.5)
        >>> round(float(losskit.keypoint_oks_loss(p, t, np.ones((1, 1)), np.array([25.0]), sigmas=[0.5])), 4)
        0.3935
    """
    check_bool("scale_by_visible", scale_by_visible)
    check_number("eps", eps, low=0.0, low_open=True)
    check_reduction(reduction)
    for name, a in (("pred", pred), ("target", target), ("visibility", visibility), ("area", area)):
        check_array(name, a)
    xp = namespace(pred, target, visibility, area)
    check_floating("pred", pred, xp)
    for name, a in (("pred", pred), ("target", target)):
        if a.ndim < 2 or a.shape[-1] != 2:
            raise ValueError(f"{name}: expected keypoints of shape (..., K, 2), got shape {tuple(a.shape)}")
    if not (xp.isdtype(target.dtype, "real floating") or xp.isdtype(target.dtype, "integral")):
        raise TypeError(f"target: expected a real array of keypoints, got dtype {target.dtype}")
    shape = check_broadcastable("pred", pred, "target", target)
    kshape, oshape = shape[:-1], shape[:-2]
    check_broadcastable_to("visibility", visibility, kshape, what="the keypoints' shape")
    check_broadcastable_to("area", area, oshape, what="the objects' shape")
    if not (xp.isdtype(area.dtype, "real floating") or xp.isdtype(area.dtype, "integral")):
        raise TypeError(f"area: expected a real array of object areas, got dtype {area.dtype}")
    check_nonnegative_values("area", area, what="areas")
    dtype = compute_dtype(pred, xp)
    p = as_float(pred, xp, dtype)
    t = as_float(target, xp, dtype)
    k = shape[-2]
    sig = _sigmas(sigmas, k, xp, p)
    if xp.isdtype(visibility.dtype, "bool"):
        vis = xp.astype(visibility, dtype)
    else:
        vis = xp.astype(visibility > 0, dtype)
    s = as_float(area, xp, dtype)[..., None]  # one area per object, over its K keypoints
    diff = p - t
    d2 = xp.sum(diff * diff, axis=-1)
    e = d2 / (2.0 * (s + eps) * ((2.0 * sig) ** 2))
    # 1 - exp(-e) as -expm1(-e): exact for the small e of a nearly right keypoint.
    out = -xp.expm1(-e) * vis
    if scale_by_visible:
        vis_b = xp.broadcast_to(vis, tuple(out.shape))
        n_vis = xp.sum(vis_b, axis=-1, keepdims=True)
        # max(n, 1): an object with no visible keypoint has loss 0 whatever the factor is.
        out = out * (float(k) / xp.maximum(n_vis, xp.ones_like(n_vis)))
    return reduce_loss(out, reduction, xp)
