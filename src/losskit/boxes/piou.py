r"""Powerful-IoU (PIoU) and PIoU v2: an IoU loss with a target-size-adaptive corner penalty,
and v2's non-monotonic attention on it. Same conventions as the IoU family
(:mod:`losskit.boxes.losses`).
"""

from __future__ import annotations

from .._checks import check_choice, check_int, check_number
from .._reduce import reduce_loss
from .._xp import subgrad_abs
from ._common import loss
from ._geometry import Pair, prepare

__all__ = ["piou_loss"]

_REF_PIOU = (
    "Liu, Wang, Li, Xu, Zhang and Hou, Powerful-IoU: More straightforward and faster bounding "
    "box regression loss with a nonmonotonic focusing mechanism, Neural Networks 170, 2024, "
    "doi:10.1016/j.neunet.2023.11.041"
)


def _penalty_factor(g: Pair):
    """P: the four corner-edge distances, each relative to the target's side."""
    xp = g.xp
    ex = subgrad_abs(g.px1 - g.tx1, xp) + subgrad_abs(g.px2 - g.tx2, xp)
    ey = subgrad_abs(g.py1 - g.ty1, xp) + subgrad_abs(g.py2 - g.ty2, xp)
    # eps: a target of zero width or height; P is then huge and exp(-P^2) = 0 (the largest
    # penalty, with a zero, finite gradient) instead of 0 / 0.
    return (ex / (g.tw + g.eps) + ey / (g.th + g.eps)) / 4.0


def _piou(p, t, xp, *, eps):
    """PIoU (v1) per box pair: 1 - IoU + 1 - exp(-P^2)."""
    g = Pair(p, t, xp, eps)
    pf = _penalty_factor(g)
    return 1.0 - g.iou + (1.0 - xp.exp(-(pf * pf)))


def _piou2(p, t, xp, *, eps, lam=1.3):
    """PIoU v2 per box pair: u(lam q) L_PIoU with q = exp(-P), u(x) = 3 x exp(-x^2)."""
    g = Pair(p, t, xp, eps)
    pf = _penalty_factor(g)
    l1 = 1.0 - g.iou + (1.0 - xp.exp(-(pf * pf)))
    # The attention u(lam q) is differentiated, as in the authors' code (the paper gives
    # it as part of the loss, with no stop-gradient).
    x = lam * xp.exp(-pf)
    return 3.0 * x * xp.exp(-(x * x)) * l1


@loss(
    formula=(
        r"\mathcal{L}_{PIoU} = 1 - IoU + 1 - e^{-P^2},\ "
        r"\mathcal{L}_{PIoUv2} = 3 \lambda q\, e^{-(\lambda q)^2} \mathcal{L}_{PIoU},\ q = e^{-P}"
    ),
    reference=_REF_PIOU,
    aliases=("piou", "powerful_iou_loss"),
    plot="box",
)
def piou_loss(pred, target, *, version: int = 1, lam: float = 1.3, fmt: str = "xyxy",
              eps: float = 1e-7, reduction: str = "mean"):
    r"""Powerful-IoU loss (PIoU, and PIoU v2 with ``version=2``).

    .. math::

        P = \frac{1}{4}\left(\frac{|x_1 - x_1^{gt}| + |x_2 - x_2^{gt}|}{w^{gt}}
            + \frac{|y_1 - y_1^{gt}| + |y_2 - y_2^{gt}|}{h^{gt}}\right), \qquad
        \mathcal{L}_{PIoU} = 1 - IoU + 1 - e^{-P^2}

    .. math::

        q = e^{-P}, \qquad u(x) = 3 x e^{-x^2}, \qquad
        \mathcal{L}_{PIoUv2} = u(\lambda q)\, \mathcal{L}_{PIoU}

    where :math:`(x_1, y_1, x_2, y_2)` are the predicted box's corners, the ``gt`` ones the
    target's, :math:`w^{gt}, h^{gt}` the target's width and height (each guarded by
    ``eps``), :math:`IoU` is as in :func:`losskit.box_iou`, :math:`q \in (0, 1]` the
    anchor quality and :math:`\lambda` (``lam``) the attention's hyperparameter.

    Args:
%(boxes)s
        version: ``1`` (default, PIoU) or ``2`` (PIoU v2).
        lam: :math:`\lambda > 0` of PIoU v2 (paper: 1.3); not used by ``version=1``.
%(fmt)s
        eps: positive guard in the divisions (union, target width and height).
%(reduction)s

    Returns:
        The per-box loss of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"`` (in [0, 2] for v1, [0, 2 u_max) with
        :math:`u_{max} = 3/\sqrt{2e} \approx 1.29` for v2), else its mean or sum (0 for an
        empty batch). float64 for float64 ``pred``, float32 otherwise.

    Notes:
        The penalty is scaled by the *target's* size only, so it neither grows nor shrinks
        the predicted box to lower itself (the paper's point against the enclosing-box
        penalties). PIoU v2's attention :math:`u(\lambda q)` is largest at
        :math:`\lambda q = 1/\sqrt{2}`: medium-quality anchors get the largest weight, very
        poor ones (:math:`q \to 0`, the boxes far apart) a small one, so v2 tends to 0 far
        from the target. The attention is differentiated, as in the authors' code (the paper
        writes no stop-gradient): where :math:`\lambda q < 1/\sqrt{2}` (:math:`P > 0.61` for
        :math:`\lambda = 1.3`) and :math:`\mathcal{L}_{PIoU}` is large, v2 *decreases* as the
        boxes move apart, so gradient descent pushes very poor anchors away from their
        target (in ``losskit simulate boxes``, whose anchors mostly start there, the total
        error of v2 grows). Detectors apply it to assigned anchors, which are rarely that
        poor. Corners
        are used as given (the authors' code sorts each box's two x and two y values first:
        the same on valid boxes); inverted boxes have IoU 0 and a penalty that pulls their
        corners toward the target's (the IoU family's rule).

    References:
        Liu et al., Powerful-IoU: More straightforward and faster bounding box regression
        loss with a nonmonotonic focusing mechanism, Neural Networks 170, 2024,
        doi:10.1016/j.neunet.2023.11.041.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([0.0, 0.0, 2.0, 4.0])
        >>> # IoU = 1/2; P = (0 / 2 + 2 / 4) / 4 = 1/8; 1/2 + 1 - exp(-1/64)
        >>> round(float(losskit.piou_loss(p, t)), 4)
        0.5155
    """
    check_int("version", version, allow_none=False)
    check_choice("version", version, (1, 2))
    check_number("lam", lam, low=0.0, low_open=True)
    xp, p, t = prepare(pred, target, fmt, eps, reduction)
    if version == 1:
        out = _piou(p, t, xp, eps=eps)
    else:
        out = _piou2(p, t, xp, eps=eps, lam=float(lam))
    return reduce_loss(out, reduction, xp)

