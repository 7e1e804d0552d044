"""``nn.Module`` shells for the classification losses (see :mod:`losskit.classification`).

Each shell stores the options, shows them in ``repr`` and calls the function: no logic here.
"""

from __future__ import annotations

from .. import classification as _clf
from ._module import LossModule

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "LogLoss",
    "KLDivLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "MultiMarginLoss",
    "MulticlassHingeLoss",
    "SigmoidFocalLoss",
    "FocalLoss",
    "Poly1CrossEntropyLoss",
    "ZeroOneLoss",
    "LinearCrossEntropyLoss",
    "AsymmetricLoss",
    "AsymmetricSingleLabelLoss",
]


class CrossEntropyLoss(LossModule):
    function = _clf.cross_entropy


class NLLLoss(LossModule):
    function = _clf.nll_loss


class BCELoss(LossModule):
    function = _clf.binary_cross_entropy


class BCEWithLogitsLoss(LossModule):
    function = _clf.binary_cross_entropy_with_logits


class LogLoss(LossModule):
    function = _clf.log_loss


class KLDivLoss(LossModule):
    function = _clf.kl_div


class HingeLoss(LossModule):
    function = _clf.hinge_loss


class SquaredHingeLoss(LossModule):
    function = _clf.squared_hinge_loss


class MultiMarginLoss(LossModule):
    function = _clf.multi_margin_loss


class MulticlassHingeLoss(LossModule):
    function = _clf.multiclass_hinge_loss


class SigmoidFocalLoss(LossModule):
    function = _clf.sigmoid_focal_loss


class FocalLoss(LossModule):
    function = _clf.focal_loss


class Poly1CrossEntropyLoss(LossModule):
    function = _clf.poly1_cross_entropy


class ZeroOneLoss(LossModule):
    function = _clf.zero_one_loss


class LinearCrossEntropyLoss(LossModule):
    """Module form of :func:`losskit.torch.linear_cross_entropy`: cross-entropy of a linear
    head's logits without materialising them.

    ``forward(hidden, weight, target)``; options are the keyword arguments of
    ``losskit.torch.linear_cross_entropy`` (``bias`` and ``class_weight`` as tensor
    options are buffers here; pass a trainable bias to the function instead; with
    ``return_lse`` / ``return_z_loss`` the forward returns the function's tuple). See its
    docstring for the formula and conventions.
    """

    function = _clf.linear_cross_entropy


class AsymmetricLoss(LossModule):
    function = _clf.asymmetric_loss


class AsymmetricSingleLabelLoss(LossModule):
    function = _clf.asymmetric_single_label_loss
