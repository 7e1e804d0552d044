"""Rotated (oriented) boxes: exact rotated IoU by convex-polygon intersection
(:mod:`losskit.rotated_boxes.iou`) and the Gaussian losses ProbIoU, GWD, KLD and KFIoU
(:mod:`losskit.rotated_boxes.gaussian`).

Boxes are ``(..., 5)`` arrays ``(cx, cy, w, h, angle)``, the angle in radians (or degrees
with ``angle_unit="degrees"``) rotating the width axis by R(angle) = [[cos, -sin], [sin,
cos]], as ultralytics' ``xywhr`` and mmrotate's ``xy_wh_r``; see
:mod:`losskit.rotated_boxes._geometry`.
"""

from .gaussian import gwd_loss, kfiou_loss, kld_loss, probiou_loss, rotated_box_to_gaussian
from .iou import rotated_box_iou, rotated_box_iou_matrix, rotated_iou_loss

__all__ = [
    "rotated_box_iou",
    "rotated_box_iou_matrix",
    "rotated_iou_loss",
    "rotated_box_to_gaussian",
    "probiou_loss",
    "gwd_loss",
    "kld_loss",
    "kfiou_loss",
]
