"""Image losses: structural similarity (:mod:`losskit.image.ssim`: ``ssim_loss``,
``ms_ssim_loss``, ``ms_ssim_l1_loss``) and total variation
(:mod:`losskit.image.variation`: ``total_variation_loss``).

Images are ``(N, C, H, W)`` or ``(N, C, D, H, W)`` batches; the similarity losses take a
required ``data_range`` and check in eager mode that the values lie in ``[0, data_range]``.
Every loss returns one value per image (``reduction="none"``: shape ``(N,)``) before the
reduction. The reference code filters by banded matrix products (the array API has no
convolution, :mod:`losskit.image._filter`); on torch the window runs as native
convolutions (fast path ``image.torch_conv``).

The perceptual losses belong to this family too. They compare images through the features
of a frozen network, so they are PyTorch modules, in :mod:`losskit.torch.image`:
:class:`losskit.torch.PerceptualLoss` (feature / content loss, Johnson et al. 2016),
:class:`losskit.torch.StyleLoss` (Gram-matrix style loss, Johnson et al. 2016 after Gatys et al.) and
:class:`losskit.torch.LPIPSLoss` (Zhang et al. 2018). The module shells of the losses here
are :class:`losskit.torch.SSIMLoss`, :class:`losskit.torch.MSSSIMLoss`,
:class:`losskit.torch.MSSSIML1Loss` and :class:`losskit.torch.TotalVariationLoss`.
"""

from .ssim import MS_SSIM_WEIGHTS, ms_ssim_l1_loss, ms_ssim_loss, ssim_loss
from .variation import TV_MODES, total_variation_loss

__all__ = [
    "ssim_loss",
    "ms_ssim_loss",
    "ms_ssim_l1_loss",
    "total_variation_loss",
    "MS_SSIM_WEIGHTS",
    "TV_MODES",
]
