"""``nn.Module`` forms of the rotated-box losses (see :mod:`losskit.rotated_boxes`): shells
that store their options (shown in ``repr``) and whose ``forward(pred, target)`` is one call
to the function."""

from __future__ import annotations

from .. import rotated_boxes as _r
from ._module import LossModule

__all__ = ["RotatedIoULoss", "ProbIoULoss", "GWDLoss", "KLDLoss", "KFIoULoss"]


class RotatedIoULoss(LossModule):
    function = _r.rotated_iou_loss


class ProbIoULoss(LossModule):
    function = _r.probiou_loss


class GWDLoss(LossModule):
    function = _r.gwd_loss


class KLDLoss(LossModule):
    function = _r.kld_loss


class KFIoULoss(LossModule):
    function = _r.kfiou_loss
