"""Box regression: the IoU loss family (IoU, GIoU, DIoU, CIoU, EIoU, Focal-EIoU, SIoU,
Alpha-IoU, Wise-IoU, MPDIoU, Shape-IoU, and the Inner-IoU / Focaler-IoU modifiers), box
format conversion and IoU matrices.

Layout: :mod:`losskit.boxes.losses` (the conventions -- formats, dtypes, inverted and
zero-area boxes, ties -- and the IoU-family losses), :mod:`losskit.boxes.modifiers`
(Inner-IoU, Focaler-IoU), :mod:`losskit.boxes.wise` (Wise-IoU and its running mean),
:mod:`losskit.boxes.nwd` (the normalized Gaussian Wasserstein distance),
:mod:`losskit.boxes.piou` (Powerful-IoU); the reference code's shared geometry in
``_geometry.py``; the fast paths of the per-box kernel in ``_numba.py`` (compiled) and
``_torch.py`` (torch operations, hand-derived backward).
"""

from .losses import alpha_iou_loss
from .losses import box_convert
from .losses import box_iou
from .losses import box_iou_matrix
from .losses import ciou_loss
from .losses import diou_loss
from .losses import eiou_loss
from .losses import focal_eiou_loss
from .losses import giou_loss
from .losses import iou_loss
from .losses import mpdiou_loss
from .losses import shape_iou_loss
from .losses import siou_loss
from .modifiers import focaler_iou_loss
from .modifiers import inner_iou_loss
from .wise import wiou_loss
from .wise import wiou_momentum
from .wise import wiou_update_mean
from .wise import WIOU_DEFAULT_MOMENTUM
from .nwd import nwd_loss
from .piou import piou_loss

from . import losses

# The losses module's names (conversions, IoU, the IoU-family losses) and the other modules'.
__all__ = [
    *losses.__all__,
    "wiou_loss",
    "wiou_update_mean",
    "wiou_momentum",
    "WIOU_DEFAULT_MOMENTUM",
    "inner_iou_loss",
    "focaler_iou_loss",
    "nwd_loss",
    "piou_loss",
]
