"""Segmentation losses (see :mod:`.overlap`)."""

from .overlap import (
    dice_ce_loss,
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    log_cosh_dice_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    tversky_loss,
)
from .overlap import __all__  # noqa: F401
