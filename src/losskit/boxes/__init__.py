"""Box regression: the IoU loss family (IoU, GIoU, DIoU, CIoU, EIoU, Focal-EIoU, SIoU,
Alpha-IoU, Wise-IoU, MPDIoU, Shape-IoU, and the Inner-IoU / Focaler-IoU modifiers), box
format conversion and IoU matrices. See :mod:`losskit.boxes.losses` for the conventions
(formats, dtypes, inverted and zero-area boxes) and :mod:`losskit.boxes.wise` for the
Wise-IoU running mean."""

from .losses import (
    alpha_iou_loss,
    box_convert,
    box_iou,
    box_iou_matrix,
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
)
from .wise import wiou_loss, wiou_momentum, wiou_update_mean
from .nwd import nwd_loss
from .piou import piou_loss

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
    "wiou_loss",
    "wiou_update_mean",
    "wiou_momentum",
    "mpdiou_loss",
    "shape_iou_loss",
    "inner_iou_loss",
    "focaler_iou_loss",
    "nwd_loss",
    "piou_loss",
]
