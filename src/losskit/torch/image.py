"""``nn.Module`` forms of the image losses (see :mod:`losskit.image`): shells that store
their options (shown in ``repr``) and whose ``forward`` is one call to the function. The
perceptual losses of the same family are in :mod:`losskit.torch.perceptual`."""

from __future__ import annotations

from .. import image as _image
from ._module import LossModule

__all__ = ["SSIMLoss", "MSSSIMLoss", "MSSSIML1Loss", "TotalVariationLoss"]


class SSIMLoss(LossModule):
    function = _image.ssim_loss


class MSSSIMLoss(LossModule):
    function = _image.ms_ssim_loss


class MSSSIML1Loss(LossModule):
    function = _image.ms_ssim_l1_loss


class TotalVariationLoss(LossModule):
    function = _image.total_variation_loss
