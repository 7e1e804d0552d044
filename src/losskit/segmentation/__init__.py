"""Segmentation losses: the Dice family (Dice, Jaccard, generalized Dice, Tversky, focal
Tversky, log-cosh Dice), Dice + cross-entropy (:mod:`.overlap`), Dice + focal
(:mod:`.focal`), clDice (:mod:`.topology`), the Hausdorff
distance-transform and boundary losses (:mod:`.distance`) and the Lovász losses (:mod:`.lovasz`).

The array-API reference code is in those modules; what they share (validation, the
per-class sums, the fast-path declarations) is in ``_common``; the two fast paths for
softmax + integer labels on CPU torch tensors are ``_numba`` (compiled kernels) and
``_torch`` (a fused ``autograd.Function``), imported on first use only.
"""

from __future__ import annotations

from .distance import boundary_loss, distance_field, hausdorff_dt_loss, signed_distance_map
from .focal import dice_focal_loss, generalized_dice_focal_loss
from .lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from .topology import cldice_loss, dice_cldice_loss
from .overlap import (
    dice_ce_loss,
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    log_cosh_dice_loss,
    tversky_loss,
)

from . import distance, focal, lovasz, overlap

# Each module's public names; topology's soft_skeleton is a building block, not exported.
__all__ = [
    *overlap.__all__,
    *lovasz.__all__,
    *focal.__all__,
    "cldice_loss",
    "dice_cldice_loss",
    *distance.__all__,
]
