r"""Total variation: a smoothness regulariser of one image batch."""

from __future__ import annotations

import math

from array_api_compat import device

from .._checks import check_array, check_choice, check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, namespace, subgrad_abs
from ._common import check_images

__all__ = ["total_variation_loss", "TV_MODES"]

TV_MODES = ("anisotropic_l1", "anisotropic_l2", "isotropic")

_REF_TV = ("Rudin, Osher and Fatemi, Nonlinear Total Variation Based Noise Removal Algorithms, "
           "Physica D 60, 1992")


def _differences(x, axis: int, xp):
    """Forward differences x[i + 1] - x[i] along ``axis`` (negative)."""
    n = x.shape[axis]
    hi = [slice(None)] * x.ndim
    lo = [slice(None)] * x.ndim
    hi[axis], lo[axis] = slice(1, n), slice(0, n - 1)
    return x[tuple(hi)] - x[tuple(lo)]


@loss(
    formula=r"\mathcal{L} = \frac{1}{|\mathcal{E}|} \sum_{(p, q) \in \mathcal{E}} |x_q - x_p|",
    reference=_REF_TV,
    aliases=("tv_loss", "total_variation"),
    plot=None,
)
def total_variation_loss(input, *, mode: str = "anisotropic_l1", reduction: str = "mean"):
    r"""Total variation of each image, normalised by its number of neighbour pairs.

    .. math::

        \mathrm{TV}_{\ell_1}(x) &= \frac{1}{|\mathcal{E}|} \sum_{c} \sum_{a} \sum_{p} |\Delta_a x_c(p)|, \qquad
        \mathrm{TV}_{\ell_2}(x) = \frac{1}{|\mathcal{E}|} \sum_{c} \sum_{a} \sum_{p} \Delta_a x_c(p)^2, \\
        \mathrm{TV}_{\mathrm{iso}}(x) &= \frac{1}{|\mathcal{E}|} \sum_{c} \sum_{p}
            \sqrt{\textstyle\sum_a \Delta_a x_c(p)^2}

    where

    - :math:`\Delta_a x(p) = x(p + e_a) - x(p)` is the forward difference along spatial axis
      :math:`a`, taken as 0 where :math:`p + e_a` leaves the image (the Neumann boundary of
      Rudin, Osher and Fatemi's discretisation, so every pixel counts in the isotropic sum);
    - :math:`|\mathcal{E}| = C \sum_a (n_a - 1) \prod_{b \ne a} n_b` is the number of
      neighbour pairs of one image (``C ((H - 1) W + H (W - 1))`` in 2-D).

    Args:
        input: images ``(N, C, H, W)`` or ``(N, C, D, H, W)`` (floating or integer).
        mode: ``"anisotropic_l1"`` (default: the sum of absolute differences),
            ``"anisotropic_l2"`` (squared differences) or ``"isotropic"`` (the Euclidean
            norm of the discrete gradient at each pixel).
        reduction: ``"mean"`` (default) or ``"sum"`` over the batch, or ``"none"``.

    Returns:
        The regulariser: a 0-d array, or ``(N,)`` for ``reduction="none"``; float32
        (float64 for float64 input; half precision and integers are computed in float32).

    Conventions: the one normaliser of every mode makes the three comparable, makes an image
    that varies along one axis give the same value in ``"isotropic"`` and
    ``"anisotropic_l1"`` mode, and makes the value independent of the image size for a
    given texture. kornia's ``total_variation`` returns the unnormalised sum of absolute
    differences per image and channel (multiply by :math:`|\mathcal{E}|`); PyTorch
    tutorials' ``tv_loss`` often take the mean of each axis' differences separately. The
    isotropic norm has a zero (sub)gradient where every difference is 0 (a flat patch), not
    the 0 / 0 of a plain square root.

    References:
        Rudin, Osher and Fatemi, Nonlinear Total Variation Based Noise Removal Algorithms,
        Physica D 60, 1992.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.arange(4.0).reshape(1, 1, 1, 4) * np.ones((1, 1, 3, 1))  # a ramp along W
        >>> float(losskit.total_variation_loss(x))  # 9 differences of 1 over 3*3 + 2*4 pairs
        0.5294117647058824
    """
    check_reduction(reduction)
    check_choice("mode", mode, TV_MODES)
    check_array("input", input)
    xp = namespace(input)
    check_images("input", input, xp)
    x = as_float(input, xp)
    spatial = x.ndim - 2
    sizes = tuple(x.shape[2:])
    pairs = x.shape[1] * sum((n - 1) * math.prod(sizes) // n for n in sizes if n > 0)
    diffs = [_differences(x, axis, xp) for axis in range(-spatial, 0)]
    if mode == "isotropic":
        total = None
        for axis, d in zip(range(-spatial, 0), diffs):
            pad = list(d.shape)
            pad[axis] = 1
            d = xp.concat([d, xp.zeros(tuple(pad), dtype=d.dtype, device=device(d))], axis=axis)
            total = d * d if total is None else total + d * d
        # sqrt with a zero gradient at 0: the square root of 1 is taken where the gradient
        # vanishes, so no 0 * inf = NaN reaches the backward pass.
        flat = total > 0
        norm = xp.where(flat, xp.sqrt(xp.where(flat, total, xp.ones_like(total))), xp.zeros_like(total))
        per_sample = xp.sum(norm, axis=tuple(range(1, norm.ndim)))
    else:
        per_sample = None
        for d in diffs:
            v = subgrad_abs(d, xp) if mode == "anisotropic_l1" else d * d
            s = xp.sum(v, axis=tuple(range(1, v.ndim)))
            per_sample = s if per_sample is None else per_sample + s
    # max(pairs, 1): one-pixel images have no neighbour pairs and a variation of 0.
    return reduce_loss(per_sample / max(pairs, 1), reduction, xp)
