r"""Structural similarity losses: SSIM, multi-scale SSIM and MS-SSIM + L1.

Images are ``(N, C, H, W)`` or ``(N, C, D, H, W)`` batches with values in
``[0, data_range]``. Local statistics come from a separable window (Gaussian, 11 taps,
sigma 1.5 by default) with "valid" borders: the window stays inside the image, so an
``H x W`` image gives ``(H - k + 1) x (W - k + 1)`` local SSIM values
(:mod:`losskit.image._filter`). The four filtered maps of one SSIM evaluation -- the two
means, ``E[x^2 + y^2]`` and ``E[xy]`` -- are filtered together, in one pass per axis.
"""

from __future__ import annotations

from .._checks import check_number
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import safe_pow, subgrad_abs
from ._common import check_spatial, check_window, prepare_pair
from ._filter import TORCH_CONV, avg_pool2, filter_maps, window_weights

__all__ = ["ssim_loss", "ms_ssim_loss", "ms_ssim_l1_loss", "MS_SSIM_WEIGHTS"]

#: The five scale exponents of Wang, Simoncelli and Bovik (2003), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_REF_SSIM = ("Wang, Bovik, Sheikh and Simoncelli, Image Quality Assessment: From Error Visibility to "
             "Structural Similarity, IEEE TIP 13(4), 2004")
_REF_MS = ("Wang, Simoncelli and Bovik, Multi-Scale Structural Similarity for Image Quality "
           "Assessment, Asilomar Conference on Signals, Systems and Computers, 2003")
_REF_MIX = ("Zhao, Gallo, Frosio and Kautz, Loss Functions for Image Restoration with Neural Networks, "
            "IEEE TCI 3(1), 2017, arXiv:1511.08861")


def _ssim_and_cs(x, y, window, spatial: int, c1: float, c2: float, shift: float, xp):
    """Mean SSIM and mean contrast-structure term per (sample, channel), each ``(N, C)``."""
    # The (co)variances E[x^2] - mu^2 cancel; their rounding error grows with the size of
    # the second moments, and C2 is small ((0.03 L)^2), so in float32 that error reaches
    # 1e-4 of cs on flat patches. (Co)variances do not change under a shift: take them of
    # x - L/2 and y - L/2, whose squares are at most a quarter of x^2's.
    xs, ys = x - shift, y - shift
    maps = xp.stack([xs, ys, xs * xs + ys * ys, xs * ys], axis=0)
    f = filter_maps(maps, window, spatial, xp)
    mxs, mys, e_sq, e_xy = f[0, ...], f[1, ...], f[2, ...], f[3, ...]
    # sigma_x^2 + sigma_y^2 = E[x^2 + y^2] - mu_x^2 - mu_y^2 (of the shifted values); C2 > 0
    # keeps the ratio finite where rounding leaves a variance a hair below 0 on a flat patch.
    cs_map = (2.0 * (e_xy - mxs * mys) + c2) / (e_sq - mxs * mxs - mys * mys + c2)
    mu_x, mu_y = mxs + shift, mys + shift
    ssim_map = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs_map
    axes = tuple(range(2, 2 + spatial))
    return xp.mean(ssim_map, axis=axes), xp.mean(cs_map, axis=axes)


def _prepare(input, target, data_range, kernel_size, sigma, k1, k2, gaussian, reduction):
    kernel_size = check_window(kernel_size, sigma, k1, k2, gaussian)
    xp, x, y, data_range = prepare_pair(input, target, data_range, reduction)
    window = window_weights(kernel_size, float(sigma), gaussian)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    return xp, x, y, data_range, window, c1, c2


@loss(
    formula=r"\mathcal{L} = 1 - \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}"
            r"{(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}",
    reference=_REF_SSIM,
    aliases=("ssim",),
    plot=None,
    fast_paths=(TORCH_CONV.name,),
)
def ssim_loss(input, target, *, data_range: float, kernel_size: int = 11, sigma: float = 1.5,
              k1: float = 0.01, k2: float = 0.03, gaussian: bool = True, reduction: str = "mean"):
    r"""SSIM loss: one minus the mean structural similarity of each image pair.

    .. math::

        \mathcal{L}(x, y) = 1 - \frac{1}{C |P|} \sum_{c, p}
            \frac{(2 \mu_x \mu_y + C_1)(2 \sigma_{xy} + C_2)}
                 {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}

    where, at each channel :math:`c` and window position :math:`p`,

    - :math:`\mu_x, \mu_y` are the window-weighted means of ``input`` and ``target``,
    - :math:`\sigma_x^2, \sigma_y^2, \sigma_{xy}` their weighted (population) variances and
      covariance, :math:`E_w[x^2] - \mu_x^2` and so on,
    - :math:`C_1 = (k_1 L)^2`, :math:`C_2 = (k_2 L)^2` with :math:`L` = ``data_range``,
    - :math:`P` are the positions where the window lies inside the image ("valid" borders).

    Args:
        input: images ``(N, C, H, W)`` or ``(N, C, D, H, W)`` with values in
            ``[0, data_range]`` (floating or integer; checked in eager mode).
        target: images of the same shape and range.
        data_range: the value range ``L`` of the images (1.0 for [0, 1] floats, 255 for
            8-bit images). Required: it is never inferred, since neither the dtype (a uint16
            array may hold 12-bit data, a float image [0, 1] or [0, 255]) nor the values (a
            dark image) determine it. Signed ranges are not taken: map [-1, 1] images to
            [0, 1] with ``(x + 1) / 2`` (SSIM's luminance term depends on the offset).
        kernel_size: window size ``k`` (odd; every spatial size must be at least ``k``).
        sigma: standard deviation of the Gaussian window, in pixels.
        k1, k2: the stability constants of ``C1`` and ``C2`` (> 0).
        gaussian: ``True`` for the Gaussian window, ``False`` for a uniform ``k``-tap one.
        reduction: ``"mean"`` (default) or ``"sum"`` over the batch, or ``"none"``.

    Returns:
        The loss: a 0-d array, or ``(N,)`` for ``reduction="none"``; float32 (float64 for
        float64 input; half precision and integer images are computed in float32).

    Conventions (all peers agree on the window, the constants and, with valid borders, the
    values; they differ in what they return and around the borders):

    - MONAI ``SSIMLoss`` and piq ``SSIMLoss`` return ``1 - SSIM`` as here; pytorch-msssim
      ``ssim`` returns SSIM itself (``1 - ssim(...)`` is this loss).
    - kornia ``ssim_loss`` returns ``clamp((1 - SSIM) / 2, 0, 1)`` averaged per pixel; with
      ``padding="valid"`` it is ``ssim_loss(...) / 2``; its default ``padding="same"``
      averages over reflect-padded borders too.
    - piq downsamples images whose smaller side is at least 384 by ``f = round(min(H, W) /
      256)`` (average pooling) before filtering, like the original MATLAB code; pass
      ``downsample=False`` to piq, or pool the images by ``f`` before calling this loss.
    - scikit-image ``structural_similarity(gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=L, channel_axis=0)`` of one ``(C, H, W)``
      image is ``1 - ssim_loss(...)``; its defaults differ (a uniform 7 x 7 window:
      ``gaussian=False, kernel_size=7``, and sample covariances, scaled by ``k^2 / (k^2 -
      1)``, which losskit does not offer).
    - torchmetrics ``structural_similarity_index_measure`` reflect-pads the images by
      ``(k - 1) / 2`` and averages the SSIM map over the padded borders: reflect-pad the
      images yourself (``np.pad(..., mode="reflect")``, ``F.pad(..., mode="reflect")``) and
      call this loss to get ``1 -`` its value.

    On torch tensors (eager, CPU or CUDA) the window runs as native convolutions
    (fast path ``image.torch_conv``); elsewhere as banded matrix products.

    References:
        Wang, Bovik, Sheikh and Simoncelli, Image Quality Assessment: From Error Visibility
        to Structural Similarity, IEEE Transactions on Image Processing 13(4), 2004.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.full((1, 1, 16, 16), 0.2)
        >>> y = np.full((1, 1, 16, 16), 0.6)
        >>> round(float(losskit.ssim_loss(x, y, data_range=1.0)), 4)  # 1 - 0.2401 / 0.4001
        0.3999
        >>> float(losskit.ssim_loss(x, x, data_range=1.0))
        0.0
    """
    xp, x, y, data_range, window, c1, c2 = _prepare(input, target, data_range, kernel_size, sigma, k1, k2,
                                           gaussian, reduction)
    spatial = x.ndim - 2
    check_spatial("input", x, len(window), f"kernel_size {len(window)}")
    ssim, _ = _ssim_and_cs(x, y, window, spatial, c1, c2, data_range / 2, xp)
    return reduce_loss(1.0 - xp.mean(ssim, axis=1), reduction, xp)


def _check_weights(weights) -> tuple[float, ...]:
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"weights: expected a sequence of numbers (one per scale), got {type(weights).__name__}")
    if len(weights) == 0:
        raise ValueError("weights: expected at least one scale, got an empty sequence")
    return tuple(float(check_number(f"weights[{i}]", w, low=0.0)) for i, w in enumerate(weights))


def _ms_ssim(x, y, window, weights, c1, c2, shift, xp):
    """MS-SSIM per (sample, channel), ``(N, C)``: contrast-structure at every scale but the
    coarsest, SSIM at the coarsest, each clamped at 0 and raised to its weight."""
    spatial = x.ndim - 2
    out = None
    for j, w in enumerate(weights):
        ssim, cs = _ssim_and_cs(x, y, window, spatial, c1, c2, shift, xp)
        term = ssim if j == len(weights) - 1 else cs
        # A negative cs (anti-correlated images) has no real fractional power (the NaN of
        # pytorch-msssim #7, #11): clamp it at 0, as piq and pytorch-msssim now do. The
        # derivative w x^(w - 1) is infinite at the clamped 0; safe_pow gives it 0 there, so
        # no backend's chain rule can meet 0 * inf.
        term = safe_pow(xp.clip(term, min=0.0), w, xp)
        out = term if out is None else out * term
        if j < len(weights) - 1:
            x, y = avg_pool2(x, spatial, xp), avg_pool2(y, spatial, xp)
    return out


def _ms_prepare(input, target, data_range, kernel_size, sigma, k1, k2, gaussian, weights, reduction):
    weights = _check_weights(weights)
    xp, x, y, data_range, window, c1, c2 = _prepare(input, target, data_range, kernel_size, sigma,
                                                    k1, k2, gaussian, reduction)
    k, m = len(window), len(weights)
    # Each scale pools by 2 with ceil(n / 2): the coarsest of m scales still holds a window.
    check_spatial("input", x, (k - 1) * 2 ** (m - 1) + 1,
                  f"{m} scales with kernel_size {k}: each scale halves the image")
    return xp, x, y, data_range, window, c1, c2, weights


@loss(
    formula=r"\mathcal{L} = 1 - [l_M(x, y)]^{w_M} \prod_{j=1}^{M} [cs_j(x, y)]_+^{w_j}",
    reference=_REF_MS,
    aliases=("ms_ssim", "msssim"),
    plot=None,
    fast_paths=(TORCH_CONV.name,),
)
def ms_ssim_loss(input, target, *, data_range: float, kernel_size: int = 11, sigma: float = 1.5,
                 k1: float = 0.01, k2: float = 0.03, gaussian: bool = True,
                 weights=MS_SSIM_WEIGHTS, reduction: str = "mean"):
    r"""Multi-scale SSIM loss: one minus the MS-SSIM of each image pair.

    .. math::

        \mathcal{L}(x, y) = 1 - \frac{1}{C} \sum_c
            [\mathrm{SSIM}_M]_+^{w_M} \prod_{j=1}^{M-1} [cs_j]_+^{w_j}

    where

    - scale 1 is the image and scale :math:`j + 1` is scale :math:`j` average-pooled by 2
      in every spatial axis (an odd last row or column is a cell of its own),
    - :math:`cs_j = \frac{1}{|P_j|} \sum_p \frac{2\sigma_{xy} + C_2}{\sigma_x^2 + \sigma_y^2 + C_2}`
      is the mean contrast-structure term at scale :math:`j` (as in :func:`ssim_loss`),
    - :math:`\mathrm{SSIM}_M` is the mean SSIM (luminance included) at the coarsest scale,
    - :math:`w_j` are ``weights`` (:math:`M` = ``len(weights)``) and :math:`[\cdot]_+` is
      :math:`\max(\cdot, 0)`.

    Args:
        input: images ``(N, C, H, W)`` or ``(N, C, D, H, W)`` with values in
            ``[0, data_range]``; every spatial size at least
            ``(kernel_size - 1) * 2 ** (M - 1) + 1`` (161 for the defaults), else a
            ``ValueError`` says so.
        target: images of the same shape and range.
        data_range, kernel_size, sigma, k1, k2, gaussian: as in :func:`ssim_loss`.
        weights: the exponents per scale, finest first (default Wang et al.'s five:
            0.0448, 0.2856, 0.3001, 0.2363, 0.1333, which sum to 1.0001); used as given.
            piq's ``MultiScaleSSIMLoss`` rescales them to sum 1 (its defaults too): pass
            ``weights=tuple(w / sum(MS_SSIM_WEIGHTS) for w in MS_SSIM_WEIGHTS)`` for its values.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        The loss: a 0-d array, or ``(N,)`` for ``reduction="none"``; float32 (float64 for
        float64 input).

    Conventions: MS-SSIM is taken per channel, then averaged over channels (pytorch-msssim,
    piq). A negative :math:`cs_j` (anti-correlated images) has no real fractional power and
    gave NaN in pytorch-msssim (#7, #11): it is clamped at 0, as piq does, with a zero
    gradient at the clamp, so the loss and its gradient stay finite (the coarsest SSIM is
    clamped too, as in piq and pytorch-msssim; torchmetrics clamps nothing by default and
    takes its coarsest SSIM over reflect-padded borders). pytorch-msssim pads
    odd sizes with zeros before pooling, piq replicates the first row and column, and
    torchmetrics drops the last one and pools the channels; for sizes that stay even down
    to the coarsest scale (multiples of 16 for five scales) losskit, pytorch-msssim and piq
    agree.

    References:
        Wang, Simoncelli and Bovik, Multi-Scale Structural Similarity for Image Quality
        Assessment, Asilomar Conference on Signals, Systems and Computers, 2003.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.full((1, 1, 16, 16), 0.2)
        >>> y = np.full((1, 1, 16, 16), 0.6)
        >>> # two scales of constant images: cs_1 = 1, SSIM_2 = l = 0.2401 / 0.4001
        >>> loss = losskit.ms_ssim_loss(x, y, data_range=1.0, kernel_size=3, weights=(0.5, 0.5))
        >>> round(float(loss), 4)  # 1 - sqrt(0.6001)
        0.2253
    """
    xp, x, y, data_range, window, c1, c2, weights = _ms_prepare(input, target, data_range, kernel_size,
                                                                sigma, k1, k2, gaussian, weights, reduction)
    value = _ms_ssim(x, y, window, weights, c1, c2, data_range / 2, xp)
    return reduce_loss(1.0 - xp.mean(value, axis=1), reduction, xp)


@loss(
    formula=r"\mathcal{L} = \alpha \mathcal{L}_{MS\text{-}SSIM} + (1 - \alpha) G_{\sigma_M} \cdot \frac{|x - y|}{L}",
    reference=_REF_MIX,
    aliases=("ms_ssim_l1", "mix_loss"),
    plot=None,
    fast_paths=(TORCH_CONV.name,),
)
def ms_ssim_l1_loss(input, target, *, data_range: float, alpha: float = 0.84, kernel_size: int = 11,
                    sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, gaussian: bool = True,
                    weights=MS_SSIM_WEIGHTS, reduction: str = "mean"):
    r"""MS-SSIM + L1 loss of Zhao et al.: MS-SSIM plus a Gaussian-weighted absolute error.

    MS-SSIM keeps structure and the L1 term keeps colour and brightness, which MS-SSIM
    alone lets drift.

    .. math::

        \mathcal{L}(x, y) = \alpha \, \mathcal{L}_{\text{MS-SSIM}}(x, y)
            + (1 - \alpha) \frac{1}{C |P_M|} \sum_{c, p} \left(G_M * \frac{|x - y|}{L}\right)(p)

    where

    - :math:`\mathcal{L}_{\text{MS-SSIM}}` is :func:`ms_ssim_loss` with the same options,
    - :math:`G_M` is the Gaussian of the coarsest scale: the absolute error, in units of
      :math:`L` = ``data_range``, average-pooled to the coarsest scale as the images are and
      filtered there by the window, at the positions :math:`P_M` where the coarsest scale's
      luminance term is taken (valid borders);
    - :math:`\alpha` = ``alpha`` (0.84 in the paper).

    Each full-resolution error is thus weighted as the coarsest scale's window weighs it;
    the weights of one position sum to 1, so a constant error :math:`e` gives an L1 term of
    :math:`e / L`.

    Args:
        input: images ``(N, C, H, W)`` or ``(N, C, D, H, W)`` in ``[0, data_range]``, at
            least as large as :func:`ms_ssim_loss` needs.
        target: images of the same shape and range.
        data_range, kernel_size, sigma, k1, k2, gaussian, weights: as in :func:`ms_ssim_loss`.
        alpha: the weight of the MS-SSIM term, in [0, 1].
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        The loss: a 0-d array, or ``(N,)`` for ``reduction="none"``; float32 (float64 for
        float64 input).

    Conventions: kornia's ``MS_SSIMLoss`` defaults to ``alpha=0.025`` and multiplies the loss
    by a compensation factor 200, and computes its MS-SSIM at full resolution with Gaussians
    of sigma 0.5 ... 8 (the paper's implementation), not by downsampling; pass
    ``alpha=0.025`` for its weighting (its values differ).

    References:
        Zhao, Gallo, Frosio and Kautz, Loss Functions for Image Restoration with Neural
        Networks, IEEE Transactions on Computational Imaging 3(1), 2017, arXiv:1511.08861.

    Example:
        >>> import numpy as np, losskit
        >>> y = np.full((1, 1, 16, 16), 0.5)
        >>> x = y + 0.1  # a constant error 0.1: cs = 1, l = (2 * 0.3 + 1e-4) / (0.61 + 1e-4)
        >>> loss = losskit.ms_ssim_l1_loss(x, y, data_range=1.0, kernel_size=3, weights=(1.0,))
        >>> round(float(loss), 4)  # 0.84 * (1 - 0.6001 / 0.6101) + 0.16 * 0.1
        0.0298
    """
    alpha = float(check_number("alpha", alpha, low=0.0, high=1.0))
    xp, x, y, data_range, window, c1, c2, weights = _ms_prepare(input, target, data_range, kernel_size,
                                                                sigma, k1, k2, gaussian, weights, reduction)
    spatial = x.ndim - 2
    value = _ms_ssim(x, y, window, weights, c1, c2, data_range / 2, xp)
    err = subgrad_abs(x - y, xp) / data_range
    for _ in range(len(weights) - 1):
        err = avg_pool2(err, spatial, xp)
    err = filter_maps(err, window, spatial, xp)
    l1 = xp.mean(err, axis=tuple(range(1, 2 + spatial)))
    per_sample = alpha * (1.0 - xp.mean(value, axis=1)) + (1.0 - alpha) * l1
    return reduce_loss(per_sample, reduction, xp)
