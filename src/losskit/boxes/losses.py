r"""The IoU loss family for bounding-box regression, on any array-API backend.

Every function takes predicted and target boxes of shape ``(..., 4)`` that broadcast
against each other, in ``fmt="xyxy"`` (default; ``x1, y1, x2, y2``), ``"xywh"`` (top-left
corner and size) or ``"cxcywh"`` (centre and size), and returns the per-box loss
(``reduction="none"``, shape ``broadcast(pred, target).shape[:-1]``) or its mean / sum.

Conventions shared by the whole family:

* **Dtypes.** The prediction decides the dtype: float64 stays float64, float32 / float16 /
  bfloat16 compute and return float32 (half-precision areas overflow past 65504 -- a
  256 x 256 box -- and ``eps = 1e-7`` underflows to 0 in float16). Targets are cast to the
  prediction's compute dtype.
* **eps** guards every division (union, enclosing diagonal and area, heights in CIoU's
  aspect term, ...); its effect on boxes of a few pixels or more is below float32 precision.
  It must be positive.
* **Inverted boxes** (``x2 < x1`` or ``y2 < y1``): *empty at their corners*. Widths and
  heights are clamped at 0 for area, intersection, aspect and shape terms, so IoU = 0; the
  centre-distance, corner-distance and enclosing-box terms use the raw corners and still pull
  the box toward the target. The enclosing box is the smallest box holding *all* corners of
  both boxes (``min``/``max`` over x1, x2 of both; for valid boxes the usual enclosing box),
  so it holds both centres and :math:`\rho^2 / c^2 \le 1` for any input. An inverted box
  gets a gradient from DIoU / CIoU / EIoU / SIoU / GIoU / MPDIoU, none from the plain IoU
  loss. Values and gradients are finite. Target boxes follow the same rule; no value check
  is made (it would cost a device sync per call).
* **Zero-area boxes** have IoU 0 with everything, themselves included (torchvision does the
  same, see torchvision #7746): a degenerate box predicted exactly gets loss 1 from IoU/GIoU/
  DIoU, not 0.
* **Detached terms**: CIoU's alpha (and Alpha-CIoU's beta) are constants for the gradient, as
  in the paper; Wise-IoU's enclosing diagonal and normaliser (see :mod:`losskit.boxes.wise`).
* **Ties and degenerate boxes**: the subgradient at a tie is the same on every backend
  (``abs`` has derivative 0 at 0, a clamp at 0 passes the gradient at 0, ``minimum`` /
  ``maximum`` split it half-and-half), and the IoU of two zero-area boxes has a zero
  gradient (see :mod:`losskit.boxes._geometry`).
* **Fast paths** (``losskit info giou_loss`` lists them): for ``giou``, ``diou``, ``ciou``,
  ``eiou`` and ``siou`` on eager torch tensors the per-box kernel is replaced by a
  hand-derived-backward kernel, ``boxes.numba`` (a compiled loop, float32 / float64 CPU
  tensors, numba installed) or else ``boxes.torch`` (torch operations, any device). The
  array-API kernels here are the reference both are pinned to; ``losskit.fast_paths(False)``
  runs them.
"""

from __future__ import annotations

from typing import Any

from .._checks import check_bool, check_choice, check_number
from .._fastpath import fast_path, select
from .._reduce import reduce_loss
from .._xp import as_float, backend_name, namespace, safe_pow, stop_gradient
from . import _geometry as geo
from ._common import FAST_KINDS, loss
from ._geometry import Pair, abs0, aspect_term, prepare, relu
from .piou import _piou, _piou2

__all__ = [
    "box_convert",
    "box_iou",
    "box_iou_matrix",
    "iou_loss",
    "giou_loss",
    "diou_loss",
    "ciou_loss",
    "eiou_loss",
    "focal_eiou_loss",
    "siou_loss",
    "alpha_iou_loss",
    "mpdiou_loss",
    "shape_iou_loss",
]

_REF_IOU = "Yu et al., UnitBox: An Advanced Object Detection Network, 2016, arXiv:1608.01471"
_REF_GIOU = (
    "Rezatofighi et al., Generalized Intersection over Union: A Metric and A Loss for "
    "Bounding Box Regression, 2019, arXiv:1902.09630"
)
_REF_DIOU = (
    "Zheng et al., Distance-IoU Loss: Faster and Better Learning for Bounding Box "
    "Regression, 2020, arXiv:1911.08287"
)
_REF_EIOU = (
    "Zhang et al., Focal and Efficient IOU Loss for Accurate Bounding Box Regression, 2021, "
    "arXiv:2101.08158"
)
_REF_SIOU = "Gevorgyan, SIoU Loss: More Powerful Learning for Bounding Box Regression, 2022, arXiv:2205.12740"
_REF_ALPHA = (
    "He et al., Alpha-IoU: A Family of Power Intersection over Union Losses for Bounding Box "
    "Regression, 2021, arXiv:2110.13675"
)
_REF_MPDIOU = (
    "Ma and Xu, MPDIoU: A Loss for Efficient and Accurate Bounding Box Regression, 2023, "
    "arXiv:2307.07662"
)
_REF_SHAPE = (
    "Zhang and Zhang, Shape-IoU: More Accurate Metric considering Bounding Box Shape and "
    "Scale, 2023, arXiv:2312.17663"
)

#: ``iou_loss(mode=...)``: 1 - IoU, 1 - IoU^2 (YOLOX), -ln IoU (UnitBox).
IOU_MODES = ("linear", "square", "log")


# ----------------------------------------------------------------------------------------
# elementwise kernels: xyxy float arrays in, per-box loss out (shape broadcast(p, t)[:-1])
# ----------------------------------------------------------------------------------------


def _iou(p, t, xp, *, eps, mode="linear"):
    iou = Pair(p, t, xp, eps).iou
    if mode == "linear":
        return 1.0 - iou
    if mode == "square":
        return 1.0 - iou * iou
    # -ln IoU with IoU floored at eps (as mmdetection floors it): boxes that do not overlap
    # give -ln(eps) and no gradient instead of -ln 0 = inf.
    return -xp.log(xp.where(iou >= eps, iou, xp.full_like(iou, eps)))


def _giou_penalty(g: Pair):
    """The empty fraction of the enclosing box, |C minus (B union B_gt)| / |C|."""
    area_c = g.cw * g.ch
    # eps: the enclosing box of two zero-area boxes at one point has area 0.
    return (area_c - g.union) / (area_c + g.eps)


def _giou(p, t, xp, *, eps):
    g = Pair(p, t, xp, eps)
    return 1.0 - g.iou + _giou_penalty(g)


def _diou_penalty(g: Pair):
    # eps: c^2 = 0 only when both boxes collapse to one point (then rho^2 = 0 too).
    return g.rho2 / (g.c2 + g.eps)


def _diou(p, t, xp, *, eps):
    g = Pair(p, t, xp, eps)
    return 1.0 - g.iou + _diou_penalty(g)


def _ciou_alpha(g: Pair, v, alpha_threshold):
    xp = g.xp
    # The paper's trade-off weight alpha is a constant for the gradient (Zheng et al. 2020,
    # Sec. 3.2: "alpha ... is not involved in the gradient"), hence the stop_gradient.
    # eps: identical boxes give (1 - IoU) + v = 0 and 0 / 0 (YOLOv5 #2376); alpha = 0 there.
    iou = stop_gradient(g.iou, xp)
    v_ = stop_gradient(v, xp)
    alpha = v_ / ((1.0 - iou) + v_ + g.eps)
    if alpha_threshold is not None:
        # Journal version (Zheng et al. 2021): no aspect-ratio term while IoU < 0.5.
        alpha = xp.where(iou >= alpha_threshold, alpha, xp.zeros_like(alpha))
    return alpha


def _ciou(p, t, xp, *, eps, alpha_threshold=None):
    g = Pair(p, t, xp, eps)
    v = aspect_term(g.pw, g.ph, g.tw, g.th, xp, eps)
    return 1.0 - g.iou + _diou_penalty(g) + _ciou_alpha(g, v, alpha_threshold) * v


def _eiou_from(g: Pair):
    eps = g.eps
    dw = g.pw - g.tw
    dh = g.ph - g.th
    # eps: Cw = 0 (both boxes of zero width, aligned) would give 0 / 0.
    return (
        1.0
        - g.iou
        + _diou_penalty(g)
        + dw * dw / (g.cw * g.cw + eps)
        + dh * dh / (g.ch * g.ch + eps)
    )


def _eiou(p, t, xp, *, eps):
    return _eiou_from(Pair(p, t, xp, eps))


def _siou(p, t, xp, *, eps, theta=4.0):
    g = Pair(p, t, xp, eps)
    # abs0: derivative 0 at 0 on every backend (centres aligned on an axis are common).
    adx, ady = abs0(g.dx, xp), abs0(g.dy, xp)
    # Angle cost Lambda = 1 - 2 sin^2(arcsin(|dy| / sigma) - pi/4) = sin(2 alpha)
    #   = 2 |dx| |dy| / sigma^2 (sigma: centre distance). The closed form needs no arcsin
    # (whose gradient is infinite at 1) and no choice between alpha and beta (sin(2 alpha) =
    # sin(2 beta)); it is the same value as the paper's and the common code's.
    # eps: coincident centres give sigma = 0 and 0 / 0 (the YOLOv6 NaN); Lambda = 0 there,
    # where the distance cost is 0 whatever Lambda is.
    lam = 2.0 * adx * ady / (g.rho2 + eps)
    gamma = 2.0 - lam
    # eps: a zero-size enclosing box (both boxes degenerate at one point); dx = 0 there.
    rx = (g.dx / (g.cw + eps)) ** 2
    ry = (g.dy / (g.ch + eps)) ** 2
    dist = (1.0 - xp.exp(-gamma * rx)) + (1.0 - xp.exp(-gamma * ry))
    # eps: both widths 0 gives |0 - 0| / 0; omega = 0 there.
    ow = abs0(g.pw - g.tw, xp) / (xp.maximum(g.pw, g.tw) + eps)
    oh = abs0(g.ph - g.th, xp) / (xp.maximum(g.ph, g.th) + eps)
    shape = (1.0 - xp.exp(-ow)) ** theta + (1.0 - xp.exp(-oh)) ** theta
    return 1.0 - g.iou + (dist + shape) / 2.0


def _alpha_iou(p, t, xp, *, eps, alpha=3.0, base="iou"):
    g = Pair(p, t, xp, eps)
    # safe_pow: a finite gradient where a term is 0 for alpha < 1 (see losskit._xp).
    out = 1.0 - safe_pow(g.iou, alpha, xp)
    if base == "giou":
        out = out + safe_pow(_giou_penalty(g), alpha, xp)
    elif base in ("diou", "ciou"):
        out = out + safe_pow(_diou_penalty(g), alpha, xp)
        if base == "ciou":
            v = aspect_term(g.pw, g.ph, g.tw, g.th, xp, eps)
            # beta = v / ((1 - IoU) + v): the CIoU trade-off weight, detached as in CIoU.
            beta = _ciou_alpha(g, v, None)
            out = out + safe_pow(beta * v, alpha, xp)
    return out


def _mpdiou(p, t, xp, *, eps, image_size):
    g = Pair(p, t, xp, eps)
    w, h = image_size
    d1 = (g.px1 - g.tx1) ** 2 + (g.py1 - g.ty1) ** 2
    d2 = (g.px2 - g.tx2) ** 2 + (g.py2 - g.ty2) ** 2
    return 1.0 - g.iou + (d1 + d2) / float(w * w + h * h)


def _shape_iou(p, t, xp, *, eps, scale=0.0):
    g = Pair(p, t, xp, eps)
    tws = g.tw**scale if scale != 0 else xp.ones_like(g.tw)
    ths = g.th**scale if scale != 0 else xp.ones_like(g.th)
    den = tws + ths
    # A target of zero width and height with scale > 0 gives 0 / 0; weights 0 there.
    safe_den = xp.where(den > 0, den, xp.ones_like(den))
    ww = 2.0 * tws / safe_den
    hh = 2.0 * ths / safe_den
    c2 = g.c2 + eps  # eps: see _diou_penalty
    dist = (hh * g.dx * g.dx + ww * g.dy * g.dy) / c2
    # eps: both widths 0 gives 0 / 0; omega = 0 there.
    ow = hh * abs0(g.pw - g.tw, xp) / (xp.maximum(g.pw, g.tw) + eps)
    oh = ww * abs0(g.ph - g.th, xp) / (xp.maximum(g.ph, g.th) + eps)
    shape = (1.0 - xp.exp(-ow)) ** 4 + (1.0 - xp.exp(-oh)) ** 4
    return 1.0 - g.iou + dist + 0.5 * shape


def _focal_eiou(p, t, xp, *, eps, gamma=0.5, detach_weight=True):
    g = Pair(p, t, xp, eps)
    eiou = _eiou_from(g)
    if detach_weight:
        # IoU^gamma is a re-weighting factor: detached, it rescales the EIoU gradient and adds
        # no gradient of its own (the non-detached derivative gamma IoU^(gamma - 1) is
        # infinite at IoU = 0 for gamma < 1).
        weight = stop_gradient(g.iou, xp) ** gamma
    else:
        # Differentiated: IoU floored at eps so that gamma IoU^(gamma-1) stays finite.
        weight = xp.maximum(g.iou, xp.full_like(g.iou, eps)) ** gamma
    return weight * eiou


_KERNELS = {
    "iou": _iou,
    "giou": _giou,
    "diou": _diou,
    "ciou": _ciou,
    "eiou": _eiou,
    "siou": _siou,
    "focal_eiou": _focal_eiou,
    "alpha": _alpha_iou,
    "mpdiou": _mpdiou,
    "shape": _shape_iou,
    "piou": _piou,
    "piou2": _piou2,
}


_TORCH_FLOATS = ("torch.float32", "torch.float64")

# The fast paths of the per-box kernel (see losskit._fastpath): the first eligible one runs.
BOX_NUMBA = fast_path(
    "boxes.numba",
    kernel="boxes.elementwise",
    impl="losskit.boxes._numba:elementwise",
    backend="torch",
    devices=("cpu",),
    requires="numba",
    when=("GIoU, DIoU, CIoU, EIoU, SIoU on float32 / float64 tensors: loss and local "
          "gradient in one compiled pass per box, split over torch's intra-op threads"),
    eligible=lambda p, t, *, kind: (kind in FAST_KINDS and p.dtype == t.dtype
                                    and str(p.dtype) in _TORCH_FLOATS),
)
BOX_TORCH = fast_path(
    "boxes.torch",
    kernel="boxes.elementwise",
    impl="losskit.boxes._torch:elementwise",
    backend="torch",
    when=("GIoU, DIoU, CIoU, EIoU, SIoU where boxes.numba does not run: the loss and its "
          "local gradient from torch operations in the forward pass (a hand-derived backward)"),
    eligible=lambda p, t, *, kind: kind in FAST_KINDS,
)
FAST_PATHS = (BOX_NUMBA.name, BOX_TORCH.name)


def _elementwise(kind: str, p, t, xp, *, eps: float, **options):
    """The per-box loss of ``kind`` (xyxy ``p``, ``t`` in one compute dtype): a fast path
    where one is eligible, else the reference kernel."""
    impl = select("boxes.elementwise", backend_name(xp), p, t, kind=kind)
    if impl is not None:
        p, t = xp.broadcast_arrays(p, t)
        return impl(kind, p, t, eps=eps, **options)
    return _KERNELS[kind](p, t, xp, eps=eps, **options)


# ----------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------


def _check_image_size(image_size: Any) -> tuple[float, float]:
    if image_size is None:
        raise TypeError("image_size: expected (W, H), the input image size in box units, got None")
    if isinstance(image_size, (str, bytes)) or not hasattr(image_size, "__len__") or len(image_size) != 2:
        raise TypeError(f"image_size: expected a pair (W, H), got {image_size!r}")
    w, h = image_size
    check_number("image_size[0]", w, low=0.0, low_open=True)
    check_number("image_size[1]", h, low=0.0, low_open=True)
    return float(w), float(h)


def _float(value):
    """A validated number option as a Python float (a NumPy scalar on torch / JAX input is
    a number, not an array of another library)."""
    return None if value is None else float(value)


# One validator per loss kind: its keyword options in, the kernel's options out. The public
# losses and the modifiers' ``base_options`` (losskit.boxes.modifiers) both use them.


def _iou_options(*, mode="linear"):
    return {"mode": check_choice("mode", mode, IOU_MODES)}


def _no_options():
    return {}


def _ciou_options(*, alpha_threshold=None):
    check_number("alpha_threshold", alpha_threshold, low=0.0, high=1.0, allow_none=True)
    return {"alpha_threshold": _float(alpha_threshold)}


def _siou_options(*, theta=4.0):
    # theta >= 1: (1 - e^-omega)^theta has an infinite derivative at omega = 0 for theta < 1.
    check_number("theta", theta, low=1.0)
    return {"theta": float(theta)}


def _mpdiou_options(*, image_size=None):
    return {"image_size": _check_image_size(image_size)}


def _shape_options(*, scale=0.0):
    check_number("scale", scale, low=0.0)
    return {"scale": float(scale)}


def _piou2_options(*, lam=1.3):
    check_number("lam", lam, low=0.0, low_open=True)
    return {"lam": float(lam)}


#: kind -> the validator of its options (the modifiers add "wiou").
OPTIONS = {
    "iou": _iou_options,
    "giou": _no_options,
    "diou": _no_options,
    "ciou": _ciou_options,
    "eiou": _no_options,
    "siou": _siou_options,
    "mpdiou": _mpdiou_options,
    "shape": _shape_options,
    "piou": _no_options,
    "piou2": _piou2_options,
}


# ----------------------------------------------------------------------------------------
# public: conversions and IoU
# ----------------------------------------------------------------------------------------


def box_convert(boxes, in_fmt: str, out_fmt: str):
    """Convert boxes between the ``xyxy``, ``xywh`` and ``cxcywh`` formats.

    Args:
        boxes: array of shape ``(..., 4)``.
        in_fmt: format of ``boxes``: ``"xyxy"`` (corners), ``"xywh"`` (top-left corner and
            size) or ``"cxcywh"`` (centre and size).
        out_fmt: format to return.

    Returns:
        Array of shape ``(..., 4)``. Floating inputs keep their dtype; integer inputs are
        converted to float32 (a centre can be half a pixel). ``in_fmt == out_fmt`` returns
        ``boxes`` itself.

    Example:
        >>> import numpy as np, losskit
        >>> losskit.box_convert(np.array([1.0, 2.0, 5.0, 4.0]), "xyxy", "cxcywh").tolist()
        [3.0, 3.0, 4.0, 2.0]
    """
    check_choice("in_fmt", in_fmt, geo.FORMATS)
    check_choice("out_fmt", out_fmt, geo.FORMATS)
    xp = namespace(boxes)
    geo.check_boxes("boxes", boxes, xp)
    if in_fmt == out_fmt:
        return boxes
    if not xp.isdtype(boxes.dtype, "real floating"):
        boxes = as_float(boxes, xp)
    return geo.convert(boxes, in_fmt, out_fmt, xp)


def box_iou(boxes1, boxes2, *, fmt: str = "xyxy", eps: float = 1e-7):
    r"""Elementwise intersection over union of two broadcastable arrays of boxes.

    .. math::

        \mathrm{IoU}(B_1, B_2) = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \epsilon}

    where :math:`|\cdot|` is an area and :math:`\epsilon` (``eps``) keeps two zero-area boxes
    at 0 instead of 0 / 0.

    Args:
        boxes1: boxes of shape ``(..., 4)``.
        boxes2: boxes of shape ``(..., 4)``, broadcastable with ``boxes1``.
        fmt: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.
        eps: positive guard in the denominator.

    Returns:
        IoU in [0, 1] of shape ``broadcast(boxes1, boxes2).shape[:-1]``; float64 for
        float64 input, float32 otherwise (integers and half precision included). Inverted
        and zero-area boxes have IoU 0 (see :mod:`losskit.boxes.losses`). For all pairs of
        two sets of boxes use :func:`box_iou_matrix`.

    References:
        P. Jaccard, The distribution of the flora in the alpine zone, New Phytologist 11(2),
        1912 (the Jaccard index, which IoU is).

    Example:
        >>> import numpy as np, losskit
        >>> a = np.array([0.0, 0.0, 2.0, 2.0]); b = np.array([0.0, 0.0, 1.0, 1.0])
        >>> round(float(losskit.box_iou(a, b)), 4)  # quarter-size box inside: 1 / 4
        0.25
    """
    xp, p, t = prepare(boxes1, boxes2, fmt, eps, None, names=("boxes1", "boxes2"), pred_floating=False)
    return Pair(p, t, xp, eps).iou


def box_iou_matrix(boxes1, boxes2, *, fmt: str = "xyxy", eps: float = 1e-7):
    r"""Pairwise IoU of every box in ``boxes1`` with every box in ``boxes2``.

    .. math::

        M_{ij} = \frac{|a_i \cap b_j|}{|a_i| + |b_j| - |a_i \cap b_j| + \epsilon}

    where :math:`a_i` and :math:`b_j` are the boxes of the two sets.

    Args:
        boxes1: array of shape ``(N, 4)``.
        boxes2: array of shape ``(M, 4)``.
        fmt: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.
        eps: positive guard in the denominator.

    Returns:
        Array of shape ``(N, M)``, float64 for float64 ``boxes1`` and float32 otherwise. Only
        ``(N, M)`` temporaries are built (never ``(N, M, 4)``).

    References:
        P. Jaccard, The distribution of the flora in the alpine zone, New Phytologist 11(2),
        1912 (the Jaccard index, which IoU is).

    Example:
        >>> import numpy as np, losskit
        >>> a = np.array([[0.0, 0.0, 2.0, 2.0]])
        >>> b = np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 6.0]])
        >>> np.round(losskit.box_iou_matrix(a, b), 4).tolist()
        [[0.25, 0.1429, 0.0]]
    """
    check_choice("fmt", fmt, geo.FORMATS)
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        geo.check_boxes(name, b)
        if b.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D array of shape (N, 4), got shape {tuple(b.shape)}")
    xp, a, b = prepare(
        boxes1, boxes2, fmt, eps, None, names=("boxes1", "boxes2"), pred_floating=False, broadcast=False
    )

    def col(x, k, axis):
        return xp.expand_dims(x[:, k], axis=axis)

    ax1, ay1, ax2, ay2 = (col(a, k, 1) for k in range(4))  # (N, 1)
    bx1, by1, bx2, by2 = (col(b, k, 0) for k in range(4))  # (1, M)
    area_a = relu(ax2 - ax1, xp) * relu(ay2 - ay1, xp)
    area_b = relu(bx2 - bx1, xp) * relu(by2 - by1, xp)
    iw = relu(xp.minimum(ax2, bx2) - xp.maximum(ax1, bx1), xp)
    ih = relu(xp.minimum(ay2, by2) - xp.maximum(ay1, by1), xp)
    inter = iw * ih
    # eps: two zero-area boxes give 0 / eps = 0 instead of 0 / 0 (and no gradient there).
    return geo.guarded_ratio(inter, area_a + area_b - inter, eps, xp)


# ----------------------------------------------------------------------------------------
# public losses
# ----------------------------------------------------------------------------------------


def _finish(kind, pred, target, fmt, eps, reduction, **options):
    """Validate and convert the boxes to xyxy, run ``kind``'s per-box kernel (the torch fast
    path where there is one) and reduce: the whole body of every non-modifier box loss."""
    xp, p, t = prepare(pred, target, fmt, eps, reduction)
    return reduce_loss(_elementwise(kind, p, t, xp, eps=eps, **options), reduction, xp)


@loss(
    formula=r"\mathcal{L}_{IoU} = 1 - \frac{|B \cap B^{gt}|}{|B \cup B^{gt}|}",
    reference=_REF_IOU,
    aliases=("box_iou_loss",),
    plot="box",
)
def iou_loss(
    pred,
    target,
    *,
    mode: str = "linear",
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""IoU loss: one minus the intersection over union of predicted and target boxes.

    .. math::

        \mathcal{L}_{IoU} = 1 - IoU, \qquad
        IoU = \frac{|B \cap B^{gt}|}{|B \cup B^{gt}| + \epsilon}

    where :math:`B` is the predicted box, :math:`B^{gt}` the target, :math:`|\cdot|` an
    area and :math:`\epsilon` the ``eps`` guard; ``mode="square"`` gives
    :math:`1 - IoU^2` and ``mode="log"`` :math:`-\ln \max(IoU, \epsilon)`.

    Args:
%(boxes)s
        mode: ``"linear"`` (default: :math:`1 - IoU`, torchvision, mmdetection),
            ``"square"`` (:math:`1 - IoU^2`, YOLOX) or ``"log"`` (:math:`-\ln IoU`, UnitBox).
%(fmt)s
        eps: positive guard in the denominator.
%(reduction)s

    Returns:
        The per-box loss of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"``, else its mean or sum (a 0-d array; 0 for an empty batch).
        float64 for float64 ``pred``, float32 otherwise.

    Notes:
        The loss is flat (zero gradient) while the boxes do not overlap; GIoU / DIoU were
        introduced for that. UnitBox uses :math:`-\ln \mathrm{IoU}` (``mode="log"``; the
        IoU is floored at ``eps`` as in mmdetection, so boxes without overlap give
        :math:`-\ln \epsilon` with no gradient); the default is the linear form of
        torchvision, mmdetection and the later papers; YOLOX trains :math:`1 - IoU^2`
        (``mode="square"``). Inverted predictions count as empty (see the module docstring).

    References:
        Yu et al., UnitBox: An Advanced Object Detection Network, 2016, arXiv:1608.01471.
        Ge et al., YOLOX: Exceeding YOLO Series in 2021, 2021, arXiv:2107.08430.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([[0.0, 0.0, 2.0, 2.0]]); t = np.array([[1.0, 1.0, 3.0, 3.0]])
        >>> round(float(losskit.iou_loss(p, t)), 4)  # 1 - 1/7
        0.8571
        >>> round(float(losskit.iou_loss(p, t, mode="log")), 4)  # ln 7
        1.9459
    """
    return _finish("iou", pred, target, fmt, eps, reduction, **_iou_options(mode=mode))


@loss(
    formula=r"\mathcal{L}_{GIoU} = 1 - IoU + \frac{|C \setminus (B \cup B^{gt})|}{|C|}",
    reference=_REF_GIOU,
    aliases=("giou", "generalized_iou_loss"),
    plot="box",
    fast_paths=FAST_PATHS,
)
def giou_loss(pred, target, *, fmt: str = "xyxy", eps: float = 1e-7, reduction: str = "mean"):
    r"""Generalized IoU loss: IoU loss plus the empty fraction of the smallest enclosing box.

    .. math::

        \mathcal{L}_{GIoU} = 1 - IoU + \frac{|C| - |B \cup B^{gt}|}{|C| + \epsilon}

    where :math:`C` is the smallest box enclosing :math:`B` and :math:`B^{gt}`, :math:`IoU`
    is as in :func:`box_iou` and :math:`\epsilon` the ``eps`` guard.

    Args:
%(boxes)s
%(fmt_eps_reduction)s

    Returns:
        The per-box loss in [0, 2] of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"``, else its mean or sum (0 for an empty batch). float64 for
        float64 ``pred``, float32 otherwise.

    Notes:
        Same values as torchvision's ``generalized_box_iou_loss`` (up to where ``eps``
        enters). A zero-area box predicted exactly has loss 1 (torchvision #7746), since its
        IoU is 0 and its enclosing box is empty.

    References:
        Rezatofighi et al., Generalized Intersection over Union: A Metric and A Loss for
        Bounding Box Regression, 2019, arXiv:1902.09630.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 1.0, 1.0]); t = np.array([2.0, 0.0, 3.0, 1.0])
        >>> round(float(losskit.giou_loss(p, t)), 4)  # disjoint: 1 - 0 + (3 - 2) / 3
        1.3333
    """
    return _finish("giou", pred, target, fmt, eps, reduction)


@loss(
    formula=r"\mathcal{L}_{DIoU} = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2}",
    reference=_REF_DIOU,
    aliases=("diou", "distance_iou_loss"),
    plot="box",
    fast_paths=FAST_PATHS,
)
def diou_loss(pred, target, *, fmt: str = "xyxy", eps: float = 1e-7, reduction: str = "mean"):
    r"""Distance-IoU loss: IoU loss plus the normalised squared distance between the centres.

    .. math::

        \mathcal{L}_{DIoU} = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2 + \epsilon}

    where :math:`\rho(b, b^{gt})` is the distance between the box centres, :math:`c` the
    diagonal of the smallest enclosing box and :math:`\epsilon` the ``eps`` guard.

    Args:
%(boxes)s
%(fmt_eps_reduction)s

    Returns:
        The per-box loss in [0, 2) of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"``, else its mean or sum (0 for an empty batch). float64 for
        float64 ``pred``, float32 otherwise.

    Notes:
        Matches torchvision's ``distance_box_iou_loss`` and ``1 - bbox_iou(..., DIoU=True)``
        of ultralytics. Invariant to translation and to scaling both boxes together.

    References:
        Zheng et al., Distance-IoU Loss: Faster and Better Learning for Bounding Box
        Regression, 2020, arXiv:1911.08287.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([1.0, 0.0, 3.0, 2.0])
        >>> round(float(losskit.diou_loss(p, t)), 4)  # 1 - 2/6 + 1 / (9 + 4)
        0.7436
    """
    return _finish("diou", pred, target, fmt, eps, reduction)


@loss(
    formula=(
        r"\mathcal{L}_{CIoU} = 1 - IoU + \frac{\rho^2}{c^2} + \alpha v,\ "
        r"v = \frac{4}{\pi^2}\left(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\right)^2,\ "
        r"\alpha = \frac{v}{(1 - IoU) + v}"
    ),
    reference=_REF_DIOU,
    aliases=("ciou", "complete_iou_loss"),
    plot="box",
    fast_paths=FAST_PATHS,
)
def ciou_loss(
    pred,
    target,
    *,
    alpha_threshold: float | None = None,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""Complete-IoU loss: DIoU loss plus an aspect-ratio consistency term.

    .. math::

        \mathcal{L}_{CIoU} = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2 + \epsilon} + \alpha v

    where

    - :math:`v = \frac{4}{\pi^2}\left(\arctan\frac{w^{gt}}{h^{gt} + \epsilon}
      - \arctan\frac{w}{h + \epsilon}\right)^2` measures aspect-ratio mismatch,
    - :math:`\alpha = \frac{v}{(1 - IoU) + v + \epsilon}` is a constant for the gradient
      (computed under stop-gradient, as the paper prescribes),
    - :math:`\rho`, :math:`c` as in :func:`diou_loss`.

    Args:
%(boxes)s
        alpha_threshold: ``None`` (default: the AAAI 2020 paper, torchvision, ultralytics)
            or an IoU below which :math:`\alpha = 0` -- ``0.5`` is the journal version
            (Zheng et al. 2021, arXiv:2005.03572), which drops the aspect term while the
            boxes barely overlap.
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        Identical boxes give 0 with a finite gradient (no 0 / 0 in alpha, YOLOv5 #2376);
        a zero-height box gives a finite v (torchvision divides by h unguarded). The
        ``eps`` in :math:`h + \epsilon` differs from torchvision (none) and ultralytics
        (``h + eps`` also in the areas) by far less than float32 precision for boxes of a
        pixel or more.

    References:
        Zheng et al., Distance-IoU Loss: Faster and Better Learning for Bounding Box
        Regression, 2020, arXiv:1911.08287. Zheng et al., Enhancing Geometric Factors in
        Model Learning and Inference for Object Detection and Instance Segmentation, 2021,
        arXiv:2005.03572.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 1.0]); t = np.array([0.0, 0.0, 1.0, 2.0])
        >>> # IoU = 1/3, rho^2 = 0.5, c^2 = 8, v = (4/pi^2)(atan 0.5 - atan 2)^2
        >>> round(float(losskit.ciou_loss(p, t)), 4)
        0.7629
    """
    return _finish("ciou", pred, target, fmt, eps, reduction, **_ciou_options(alpha_threshold=alpha_threshold))


@loss(
    formula=(
        r"\mathcal{L}_{EIoU} = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2} + "
        r"\frac{(w - w^{gt})^2}{C_w^2} + \frac{(h - h^{gt})^2}{C_h^2}"
    ),
    reference=_REF_EIOU,
    aliases=("eiou", "efficient_iou_loss"),
    plot="box",
    fast_paths=FAST_PATHS,
)
def eiou_loss(pred, target, *, fmt: str = "xyxy", eps: float = 1e-7, reduction: str = "mean"):
    r"""Efficient-IoU loss: DIoU loss plus separate width and height discrepancy terms.

    .. math::

        \mathcal{L}_{EIoU} = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2 + \epsilon}
        + \frac{(w - w^{gt})^2}{C_w^2 + \epsilon} + \frac{(h - h^{gt})^2}{C_h^2 + \epsilon}

    where :math:`w, h` and :math:`w^{gt}, h^{gt}` are the box sizes, :math:`C_w, C_h` the
    width and height of the smallest enclosing box, :math:`\rho, c` as in :func:`diou_loss`.

    Args:
%(boxes)s
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        mmdetection's ``EIoULoss`` is a different loss with the same name; this is the
        paper's. For the focal re-weighting see :func:`focal_eiou_loss`.

    References:
        Zhang et al., Focal and Efficient IOU Loss for Accurate Bounding Box Regression,
        2021, arXiv:2101.08158.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([0.0, 0.0, 1.0, 1.0])
        >>> # 1 - 1/4 + 0.5 / 8 + 1 / 4 + 1 / 4
        >>> round(float(losskit.eiou_loss(p, t)), 4)
        1.3125
    """
    return _finish("eiou", pred, target, fmt, eps, reduction)


@loss(
    formula=r"\mathcal{L}_{Focal\text{-}EIoU} = IoU^{\gamma}\, \mathcal{L}_{EIoU}",
    reference=_REF_EIOU,
    aliases=("focal_eiou",),
    plot="box",
)
def focal_eiou_loss(
    pred,
    target,
    *,
    gamma: float = 0.5,
    detach_weight: bool = True,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""Focal-EIoU loss: the EIoU loss re-weighted by :math:`IoU^\gamma`.

    .. math::

        \mathcal{L}_{Focal\text{-}EIoU} = IoU^{\gamma}\, \mathcal{L}_{EIoU}

    where :math:`\mathcal{L}_{EIoU}` is :func:`eiou_loss` and :math:`\gamma` (``gamma``)
    controls how much low-IoU (outlier) boxes are down-weighted.

    Args:
%(boxes)s
        gamma: non-negative exponent (paper: 0.5).
        detach_weight: ``True`` (default) treats :math:`IoU^\gamma` as a constant weight
            for the gradient; ``False`` differentiates it too (IoU floored at ``eps`` so that
            the derivative stays finite).
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        The paper does not say whether the weight carries a gradient. We detach it by
        default: the paper presents it as re-weighting, and the derivative
        :math:`\gamma IoU^{\gamma-1}` is infinite at IoU = 0 for the paper's
        :math:`\gamma = 0.5` (it would turn non-overlapping boxes' gradients into NaN). Boxes
        with no overlap get weight 0 and hence no gradient at all. ``reduction="mean"`` is
        the plain mean of the weighted per-box losses (no division by the sum of weights).

    References:
        Zhang et al., Focal and Efficient IOU Loss for Accurate Bounding Box Regression,
        2021, arXiv:2101.08158.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([0.0, 0.0, 1.0, 1.0])
        >>> round(float(losskit.focal_eiou_loss(p, t)), 4)  # 0.25 ** 0.5 * 1.3125
        0.6562
    """
    check_number("gamma", gamma, low=0.0)
    check_bool("detach_weight", detach_weight)
    return _finish("focal_eiou", pred, target, fmt, eps, reduction, gamma=float(gamma), detach_weight=detach_weight)


@loss(
    formula=r"\mathcal{L}_{SIoU} = 1 - IoU + \frac{\Delta + \Omega}{2}",
    reference=_REF_SIOU,
    aliases=("siou", "scylla_iou_loss"),
    plot="box",
    fast_paths=FAST_PATHS,
)
def siou_loss(
    pred,
    target,
    *,
    theta: float = 4.0,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""SIoU loss: IoU loss plus angle-aware distance cost and shape cost.

    .. math::

        \mathcal{L}_{SIoU} = 1 - IoU + \frac{\Delta + \Omega}{2}

    where

    - :math:`\Lambda = \sin 2\alpha = \frac{2 |d_x| |d_y|}{\sigma^2 + \epsilon}` is the angle
      cost (:math:`\alpha` the angle of the line between the centres with the x axis,
      :math:`d_x, d_y` the centre offsets, :math:`\sigma^2 = d_x^2 + d_y^2`),
    - :math:`\Delta = \sum_{t \in \{x, y\}} (1 - e^{-\gamma \rho_t})`,
      :math:`\rho_x = (d_x / C_w)^2`, :math:`\rho_y = (d_y / C_h)^2`,
      :math:`\gamma = 2 - \Lambda` (:math:`C_w, C_h`: the enclosing box's size),
    - :math:`\Omega = \sum_{t \in \{w, h\}} (1 - e^{-\omega_t})^\theta`,
      :math:`\omega_w = \frac{|w - w^{gt}|}{\max(w, w^{gt})}`, likewise :math:`\omega_h`.

    Args:
%(boxes)s
        theta: shape-cost exponent :math:`\theta \geq 1` (paper: 4, range 2..6).
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        The paper writes :math:`\Lambda = 1 - 2\sin^2(\arcsin(d_y/\sigma) - \pi/4)`, and the
        common code computes it with ``arcsin`` after choosing the smaller of the two angles;
        both equal :math:`\sin 2\alpha = 2|d_x||d_y|/\sigma^2`, the closed form used here,
        which needs no ``arcsin`` (infinite derivative at 1). Coincident centres
        (:math:`\sigma = 0`, NaN in early YOLOv6) give :math:`\Lambda = 0`.

    References:
        Gevorgyan, SIoU Loss: More Powerful Learning for Bounding Box Regression, 2022,
        arXiv:2205.12740.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([1.0, 0.0, 3.0, 2.0]); t = np.array([0.0, 0.0, 2.0, 2.0])
        >>> # same size, shifted by 1 in x: Lambda = 0, gamma = 2, rho_x = 1/9, Omega = 0
        >>> round(float(losskit.siou_loss(p, t)), 4)  # 1 - 1/3 + (1 - exp(-2/9)) / 2
        0.7663
    """
    return _finish("siou", pred, target, fmt, eps, reduction, **_siou_options(theta=theta))


@loss(
    formula=r"\mathcal{L}_{\alpha\text{-}IoU} = 1 - IoU^{\alpha} + \mathcal{R}^{\alpha}(B, B^{gt})",
    reference=_REF_ALPHA,
    aliases=("alpha_iou",),
    plot="box",
)
def alpha_iou_loss(
    pred,
    target,
    *,
    alpha: float = 3.0,
    base: str = "iou",
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""Alpha-IoU loss: the power generalisation of the IoU, GIoU, DIoU and CIoU losses.

    .. math::

        \mathcal{L}_{\alpha\text{-}IoU} = 1 - IoU^{\alpha} + \mathcal{R}^{\alpha}

    where the penalty :math:`\mathcal{R}^\alpha` depends on ``base``:

    - ``"iou"``: 0;
    - ``"giou"``: :math:`\left(\frac{|C \setminus (B \cup B^{gt})|}{|C|}\right)^\alpha`;
    - ``"diou"``: :math:`\frac{\rho^{2\alpha}(b, b^{gt})}{c^{2\alpha}}`;
    - ``"ciou"``: :math:`\frac{\rho^{2\alpha}}{c^{2\alpha}} + (\beta v)^\alpha` with
      :math:`v` and the detached :math:`\beta = v / ((1 - IoU) + v)` of :func:`ciou_loss`.

    Args:
%(boxes)s
        alpha: power :math:`\alpha > 0` (paper: 3; ``alpha=1`` gives the base loss).
        base: ``"iou"`` (default), ``"giou"``, ``"diou"`` or ``"ciou"``.
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        Powers are taken of non-negative terms; at a term equal to 0 the gradient is taken as
        0 (the one-sided derivative is infinite for :math:`\alpha < 1`). Some implementations
        add ``eps`` inside the powers; here ``eps`` guards only the divisions, so
        ``alpha=1`` equals the base loss exactly.

    References:
        He et al., Alpha-IoU: A Family of Power Intersection over Union Losses for Bounding
        Box Regression, 2021, arXiv:2110.13675.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([0.0, 0.0, 1.0, 1.0])
        >>> round(float(losskit.alpha_iou_loss(p, t)), 6)  # 1 - 0.25 ** 3
        0.984375
    """
    check_number("alpha", alpha, low=0.0, low_open=True)
    check_choice("base", base, ("iou", "giou", "diou", "ciou"))
    return _finish("alpha", pred, target, fmt, eps, reduction, alpha=float(alpha), base=base)


@loss(
    formula=r"\mathcal{L}_{MPDIoU} = 1 - IoU + \frac{d_1^2}{W^2 + H^2} + \frac{d_2^2}{W^2 + H^2}",
    reference=_REF_MPDIOU,
    aliases=("mpdiou",),
    plot="box",
)
def mpdiou_loss(
    pred,
    target,
    *,
    image_size: tuple[float, float],
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""MPDIoU loss: IoU loss plus the squared distances of the top-left and bottom-right corners.

    .. math::

        \mathcal{L}_{MPDIoU} = 1 - IoU + \frac{d_1^2}{W^2 + H^2} + \frac{d_2^2}{W^2 + H^2}

    where :math:`d_1` is the distance between the top-left corners, :math:`d_2` between
    the bottom-right corners, and :math:`W, H` the size of the input *image*.

    Args:
%(boxes)s
        image_size: ``(W, H)``, the input image's width and height in the boxes' units
            (pixels, or ``(1, 1)`` for normalised boxes). Required: the YOLO code that hides
            ``640`` here silently mis-scales the penalty for other image sizes.
%(fmt)s
        eps: positive guard in the IoU denominator.
%(reduction)s

    Returns:
%(returns)s

    References:
        Ma and Xu, MPDIoU: A Loss for Efficient and Accurate Bounding Box Regression, 2023,
        arXiv:2307.07662.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([1.0, 0.0, 3.0, 2.0]); t = np.array([0.0, 0.0, 2.0, 2.0])
        >>> # 1 - 1/3 + (1 + 1) / (10^2 + 10^2)
        >>> round(float(losskit.mpdiou_loss(p, t, image_size=(10, 10))), 4)
        0.6767
    """
    return _finish("mpdiou", pred, target, fmt, eps, reduction, **_mpdiou_options(image_size=image_size))


@loss(
    formula=(
        r"\mathcal{L}_{Shape\text{-}IoU} = 1 - IoU + \frac{hh\, d_x^2 + ww\, d_y^2}{c^2} + "
        r"\frac{1}{2}\sum_{t \in \{w, h\}} (1 - e^{-\omega_t})^4"
    ),
    reference=_REF_SHAPE,
    aliases=("shape_iou",),
    plot="box",
)
def shape_iou_loss(
    pred,
    target,
    *,
    scale: float = 0.0,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""Shape-IoU loss: distance and shape penalties weighted by the target box's shape.

    .. math::

        \mathcal{L}_{Shape\text{-}IoU} = 1 - IoU + \frac{hh\, d_x^2 + ww\, d_y^2}{c^2 + \epsilon}
        + \frac{1}{2}\sum_{t \in \{w, h\}} (1 - e^{-\omega_t})^4

    where

    - :math:`ww = \frac{2 (w^{gt})^s}{(w^{gt})^s + (h^{gt})^s}`,
      :math:`hh = \frac{2 (h^{gt})^s}{(w^{gt})^s + (h^{gt})^s}`, :math:`s` = ``scale``,
    - :math:`d_x, d_y` the centre offsets, :math:`c` the enclosing box's diagonal,
    - :math:`\omega_w = hh \frac{|w - w^{gt}|}{\max(w, w^{gt})}`,
      :math:`\omega_h = ww \frac{|h - h^{gt}|}{\max(h, h^{gt})}`.

    Args:
%(boxes)s
        scale: the scale factor :math:`s \geq 0` tied to the dataset's target sizes (paper:
            0 to 1.5; 0 makes :math:`ww = hh = 1`).
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    References:
        Zhang and Zhang, Shape-IoU: More Accurate Metric considering Bounding Box Shape and
        Scale, 2023, arXiv:2312.17663.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([1.0, 0.0, 3.0, 2.0]); t = np.array([0.0, 0.0, 2.0, 2.0])
        >>> round(float(losskit.shape_iou_loss(p, t)), 4)  # 1 - 1/3 + 1 / (9 + 4)
        0.7436
    """
    return _finish("shape", pred, target, fmt, eps, reduction, **_shape_options(scale=scale))
