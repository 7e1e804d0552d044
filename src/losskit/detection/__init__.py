"""Dense-detection heads and pose: the distribution focal loss of discretised box sides
(GFL), the IoU-aware classification losses Quality Focal Loss (GFL) and Varifocal Loss,
and the OKS keypoint loss with COCO's keypoint sigmas. See :mod:`losskit.detection.dense`
for the conventions (logits, soft scores, normalisation) and :mod:`losskit.detection.pose`
for the keypoint loss. The box losses NWD and PIoU live with the IoU family
(:mod:`losskit.boxes`)."""

from .dense import distribution_focal_loss, quality_focal_loss, varifocal_loss
from .pose import COCO_KEYPOINT_SIGMAS, keypoint_oks_loss

__all__ = [
    "distribution_focal_loss",
    "quality_focal_loss",
    "varifocal_loss",
    "keypoint_oks_loss",
    "COCO_KEYPOINT_SIGMAS",
]
