"""``nn.Module`` forms of the box losses (see :mod:`losskit.boxes`).

Every class but :class:`WIoULoss` is a shell: it stores its options (shown in ``repr``) and
its ``forward(pred, target)`` is one call to the function. :class:`WIoULoss` owns state --
the running mean of the IoU loss that Wise-IoU v2/v3 normalise by -- as a buffer. Only
public names of :mod:`losskit.boxes` are used here.
"""

from __future__ import annotations

import inspect

import torch

from ..boxes import (
    WIOU_DEFAULT_MOMENTUM,
    alpha_iou_loss,
    box_iou,
    ciou_loss,
    diou_loss,
    eiou_loss,
    focal_eiou_loss,
    focaler_iou_loss,
    giou_loss,
    inner_iou_loss,
    iou_loss,
    mpdiou_loss,
    shape_iou_loss,
    siou_loss,
    wiou_loss,
    wiou_update_mean,
)
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
    function = iou_loss


class GIoULoss(LossModule):
    function = giou_loss


class DIoULoss(LossModule):
    function = diou_loss


class CIoULoss(LossModule):
    function = ciou_loss


class EIoULoss(LossModule):
    function = eiou_loss


class FocalEIoULoss(LossModule):
    function = focal_eiou_loss


class SIoULoss(LossModule):
    function = siou_loss


class AlphaIoULoss(LossModule):
    function = alpha_iou_loss


class MPDIoULoss(LossModule):
    function = mpdiou_loss


class ShapeIoULoss(LossModule):
    function = shape_iou_loss


class _ModifierModule(LossModule):
    """A modifier's shell. The base loss's options go in ``base_options``; the deprecated
    spelling (the base options as keywords, ``InnerIoULoss(base="siou", theta=3.0)``) is
    still accepted for one release: those keywords are passed to the function on every
    call, which warns (``DeprecationWarning``) and applies them as before."""

    def __init__(self, **options):
        own = {p.name for p in inspect.signature(self.function).parameters.values()
               if p.kind is inspect.Parameter.KEYWORD_ONLY}
        deprecated = {k: options.pop(k) for k in list(options) if k not in own}
        super().__init__(**options)
        self._deprecated = deprecated
        if deprecated:  # validated (and warned about) now, not at the first batch
            empty = torch.zeros(0, 4)
            self.function(empty, empty, **self.options, **deprecated)

    def forward(self, *arrays, **extra):
        return super().forward(*arrays, **{**self._deprecated, **extra})

    def extra_repr(self) -> str:
        text = super().extra_repr()
        old = ", ".join(f"{k}={v!r}" for k, v in self._deprecated.items())
        return f"{text}, {old}" if old else text


class InnerIoULoss(_ModifierModule):
    function = inner_iou_loss


class FocalerIoULoss(_ModifierModule):
    function = focaler_iou_loss


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
        momentum: running-mean momentum in [0, 1]; see :func:`losskit.boxes.wiou_momentum`
            for the paper's rule ``1 - 0.05 ** (1 / (batches_per_epoch * epochs))``. The
            state stays valid for any momentum: :func:`losskit.wiou_update_mean` keeps the
            mean positive (a perfect batch with ``momentum=1`` would make it 0).
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
        momentum: float = WIOU_DEFAULT_MOMENTUM,
        fmt: str = "xyxy",
        eps: float = 1e-7,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        # The options are validated by the functions themselves (on an empty batch), so
        # that the module accepts exactly what they accept, with their messages.
        empty = torch.zeros(0, 4)
        wiou_loss(empty, empty, version=version, alpha=alpha, delta=delta, gamma=gamma,
                  fmt=fmt, eps=eps, reduction=reduction)
        wiou_update_mean(1.0, 1.0, momentum=momentum)
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
                batch = 1.0 - box_iou(pred, target, fmt=self.fmt, eps=self.eps)
                new = wiou_update_mean(self.iou_mean, batch, momentum=self.momentum)
                self.iou_mean.copy_(new)
        return wiou_loss(
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
