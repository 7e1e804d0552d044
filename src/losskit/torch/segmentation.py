"""``nn.Module`` shells for the segmentation losses (see :mod:`losskit.segmentation`)."""

from __future__ import annotations

from .. import segmentation as _seg
from ._module import LossModule

__all__ = [
    "DiceLoss",
    "JaccardLoss",
    "GeneralizedDiceLoss",
    "TverskyLoss",
    "FocalTverskyLoss",
    "LogCoshDiceLoss",
    "LovaszSoftmaxLoss",
    "LovaszHingeLoss",
    "DiceCELoss",
    "DiceFocalLoss",
    "GeneralizedDiceFocalLoss",
    "ClDiceLoss",
    "DiceClDiceLoss",
    "HausdorffDTLoss",
    "BoundaryLoss",
]


class DiceLoss(LossModule):
    function = _seg.dice_loss


class JaccardLoss(LossModule):
    function = _seg.jaccard_loss


class GeneralizedDiceLoss(LossModule):
    function = _seg.generalized_dice_loss


class TverskyLoss(LossModule):
    function = _seg.tversky_loss


class FocalTverskyLoss(LossModule):
    function = _seg.focal_tversky_loss


class LogCoshDiceLoss(LossModule):
    function = _seg.log_cosh_dice_loss


class LovaszSoftmaxLoss(LossModule):
    function = _seg.lovasz_softmax_loss


class LovaszHingeLoss(LossModule):
    function = _seg.lovasz_hinge_loss


class DiceCELoss(LossModule):
    function = _seg.dice_ce_loss


class DiceFocalLoss(LossModule):
    function = _seg.dice_focal_loss


class GeneralizedDiceFocalLoss(LossModule):
    function = _seg.generalized_dice_focal_loss


class ClDiceLoss(LossModule):
    function = _seg.cldice_loss


class DiceClDiceLoss(LossModule):
    function = _seg.dice_cldice_loss


class HausdorffDTLoss(LossModule):
    function = _seg.hausdorff_dt_loss


class BoundaryLoss(LossModule):
    function = _seg.boundary_loss
