"""``nn.Module`` shells of the dense-head and pose losses (:mod:`losskit.detection`) and of
the box losses NWD and PIoU (:mod:`losskit.boxes`): each stores its options (shown in
``repr``) and its ``forward`` is one call to the function."""

from __future__ import annotations

from ..boxes import nwd_loss, piou_loss
from ..detection import distribution_focal_loss, keypoint_oks_loss, quality_focal_loss, varifocal_loss
from ._module import LossModule

__all__ = [
    "NWDLoss",
    "PIoULoss",
    "DistributionFocalLoss",
    "QualityFocalLoss",
    "VarifocalLoss",
    "KeypointOKSLoss",
]


class NWDLoss(LossModule):
    function = nwd_loss


class PIoULoss(LossModule):
    function = piou_loss


class DistributionFocalLoss(LossModule):
    function = distribution_focal_loss


class QualityFocalLoss(LossModule):
    function = quality_focal_loss


class VarifocalLoss(LossModule):
    function = varifocal_loss


class KeypointOKSLoss(LossModule):
    function = keypoint_oks_loss
