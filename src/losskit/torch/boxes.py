"""``nn.Module`` forms of the box losses (see :mod:`losskit.boxes`).

Every class but :class:`WIoULoss` is a shell: it stores its options (shown in ``repr``) and
its ``forward(pred, target)`` is one call to the function. :class:`WIoULoss` owns state --
the running mean of the IoU loss that Wise-IoU v2/v3 normalise by -- as a buffer.
"""

from __future__ import annotations

import torch

from .._checks import check_choice, check_number, check_reduction
from ..boxes import _geometry as _geo
from ..boxes import losses as _b
from ..boxes import wise as _w
from ._module import LossModule

__all__ = [
    "IoULoss",
    "GIoULoss",
    "DIoULoss",
    "CIoULoss",
    "EIoULoss",
    "FocalEIoULoss",
    "SIoULoss",
    "AlphaIoULoss",
    "MPDIoULoss",
    "ShapeIoULoss",
    "InnerIoULoss",
    "FocalerIoULoss",
    "WIoULoss",
]


class IoULoss(LossModule):
    function = _b.iou_loss


class GIoULoss(LossModule):
    function = _b.giou_loss


class DIoULoss(LossModule):
    function = _b.diou_loss


class CIoULoss(LossModule):
    function = _b.ciou_loss


class EIoULoss(LossModule):
    function = _b.eiou_loss


class FocalEIoULoss(LossModule):
    function = _b.focal_eiou_loss


class SIoULoss(LossModule):
    function = _b.siou_loss


class AlphaIoULoss(LossModule):
    function = _b.alpha_iou_loss


class MPDIoULoss(LossModule):
    function = _b.mpdiou_loss


class ShapeIoULoss(LossModule):
    function = _b.shape_iou_loss


class InnerIoULoss(LossModule):
    function = _b.inner_iou_loss


class FocalerIoULoss(LossModule):
    function = _b.focaler_iou_loss


class WIoULoss(torch.nn.Module):
    """Wise-IoU loss with its running mean of the IoU loss kept as a buffer.

    ``forward(pred, target)`` is :func:`losskit.wiou_loss` with ``iou_mean`` set to the
    buffer. In training mode, for ``version`` 2 and 3, the buffer is first updated with this
    batch's mean IoU loss (under ``no_grad``, momentum ``momentum``), *then* the loss is
    computed -- the order of the authors' code. In eval mode the buffer is only read.
    ``iou_mean`` starts at 1.0 (the paper's initial value), lives in ``state_dict`` and
    moves with ``.to(device)``.

    Args:
        version: 1, 2 or 3 (default 3, the paper's final Wise-IoU; v1 keeps no state).
        alpha, delta: v3's focusing hyperparameters (paper: 1.9, 3).
        gamma: v2's exponent (paper: 0.5).
        momentum: running-mean momentum; see :func:`losskit.boxes.wise.wiou_momentum` for the
            paper's rule ``1 - 0.05 ** (1 / (batches_per_epoch * epochs))``.
        fmt, eps, reduction: as in :func:`losskit.wiou_loss`.

    Example:
        >>> import torch, losskit.torch as lt
        >>> crit = lt.WIoULoss(momentum=0.5)
        >>> p = torch.tensor([[1.0, 0.0, 3.0, 2.0]], requires_grad=True)
        >>> t = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> loss = crit(p, t); loss.backward()
        >>> round(crit.iou_mean.item(), 4)  # 0.5 * 1 + 0.5 * (2/3)
        0.8333
    """

    iou_mean: torch.Tensor

    def __init__(
        self,
        *,
        version: int = 3,
        alpha: float = 1.9,
        delta: float = 3.0,
        gamma: float = 0.5,
        momentum: float = _w.WIOU_DEFAULT_MOMENTUM,
        fmt: str = "xyxy",
        eps: float = 1e-7,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        _w._check_wiou_options(dict(version=version, iou_mean=None, alpha=alpha, delta=delta, gamma=gamma))
        check_number("momentum", momentum, low=0.0, high=1.0)
        check_choice("fmt", fmt, _geo.FORMATS)
        _geo.check_eps(eps)
        check_reduction(reduction)
        self.version = version
        self.alpha = alpha
        self.delta = delta
        self.gamma = gamma
        self.momentum = momentum
        self.fmt = fmt
        self.eps = eps
        self.reduction = reduction
        self.register_buffer("iou_mean", torch.tensor(1.0))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.training and self.version != 1:
            with torch.no_grad():
                batch = 1.0 - _b.box_iou(pred, target, fmt=self.fmt, eps=self.eps)
                new = _w.wiou_update_mean(self.iou_mean, batch, momentum=self.momentum)
                self.iou_mean.copy_(new)
        return _w.wiou_loss(
            pred,
            target,
            version=self.version,
            iou_mean=self.iou_mean,
            alpha=self.alpha,
            delta=self.delta,
            gamma=self.gamma,
            fmt=self.fmt,
            eps=self.eps,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (
            f"version={self.version!r}, alpha={self.alpha!r}, delta={self.delta!r}, "
            f"gamma={self.gamma!r}, momentum={self.momentum!r}, fmt={self.fmt!r}, "
            f"eps={self.eps!r}, reduction={self.reduction!r}"
        )
