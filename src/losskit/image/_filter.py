"""Separable filtering and average pooling of image batches, against the array API.

The array API has no convolution, so a separable window ``w`` (``k`` taps) is applied along
one spatial axis of length ``n`` as a product with the banded ``(n - k + 1, n)`` matrix
``B[i, i + j] = w[j]``: "valid" borders, the window stays inside the image (the borders of
pytorch-msssim, piq without downsampling, scikit-image after its crop and MONAI). A 2-D
(``(N, C, H, W)``) or 3-D (``(N, C, D, H, W)``) filter is one such product per spatial axis.
The band matrix is built from ``arange`` comparisons in the array's own namespace, so it is a
constant of the trace under ``jax.jit`` and ``torch.compile``.

Where a backend has a native convolution it is a fast path (:data:`TORCH_CONV`) pinned to
this reference by ``tests/test_fast_paths.py``.
"""

from __future__ import annotations

import math

from array_api_compat import device as _device

from .._fastpath import fast_path, select
from .._xp import backend_name

__all__ = ["window_weights", "filter_maps", "avg_pool2", "TORCH_CONV"]


def window_weights(kernel_size: int, sigma: float, gaussian: bool) -> tuple[float, ...]:
    """The normalised 1-D window: a sampled Gaussian exp(-(i - k//2)^2 / (2 sigma^2)) / Z
    (Wang et al.'s 11-tap, sigma 1.5 window; the same taps as pytorch-msssim, piq and
    scikit-image's truncate=3.5), or uniform 1/k (``gaussian=False``). Python floats,
    computed in double precision whatever the arrays' dtype."""
    if not gaussian:
        return (1.0 / kernel_size,) * kernel_size
    half = kernel_size // 2
    g = [math.exp(-((i - half) ** 2) / (2.0 * sigma * sigma)) for i in range(kernel_size)]
    total = math.fsum(g)
    return tuple(v / total for v in g)


def _band(n: int, window: tuple[float, ...], xp, dtype, device):
    """The ``(n - k + 1, n)`` matrix ``B[i, i + j] = window[j]``."""
    k = len(window)
    rows = xp.arange(n - k + 1, device=device)[:, None]
    cols = xp.arange(n, device=device)[None, :]
    offset = cols - rows
    band = xp.zeros((n - k + 1, n), dtype=dtype, device=device)
    for j, w in enumerate(window):
        band = band + w * xp.astype(offset == j, dtype)
    return band


def _along(x, band, axis: int, xp):
    """``band`` (m, n) applied along ``axis`` (negative, counted from the end) of ``x``."""
    if axis == -1:
        return x @ band.T
    shape = tuple(x.shape)
    ax = len(shape) + axis
    lead, n, tail = shape[:ax], shape[ax], shape[ax + 1:]
    y = xp.reshape(x, lead + (n, math.prod(tail)))
    y = band @ y
    return xp.reshape(y, lead + (band.shape[0],) + tail)


def _filter_reference(maps, window, spatial: int, xp):
    dev = _device(maps)
    for axis in range(-spatial, 0):
        band = _band(maps.shape[axis], window, xp, maps.dtype, dev)
        maps = _along(maps, band, axis, xp)
    return maps


TORCH_CONV = fast_path(
    "image.torch_conv",
    kernel="image.filter",
    impl="losskit.image._torch:filter_maps",
    backend="torch",
    devices=("cpu", "cuda"),
    when="non-empty float32/float64 tensors: the separable window as one depthwise conv2d/conv3d per spatial axis",
    # an empty batch runs the reference (a convolution of 0 groups is an error)
    eligible=lambda maps, **_: str(maps.dtype) in ("torch.float32", "torch.float64") and maps.numel() > 0,
)


def filter_maps(maps, window: tuple[float, ...], spatial: int, xp):
    """``maps`` (``(..., *spatial_shape)``, the last ``spatial`` axes filtered) filtered with
    the separable ``window``, valid borders: each filtered axis shrinks by ``k - 1``."""
    impl = select("image.filter", backend_name(xp), maps, window=window, spatial=spatial)
    if impl is not None:
        return impl(maps, window, spatial)
    return _filter_reference(maps, window, spatial, xp)


def avg_pool2(x, spatial: int, xp):
    """2x average pooling of the last ``spatial`` axes (stride 2). An odd axis keeps its
    last row (or column, slice) as a cell of its own -- the row averaged with itself -- so
    the pooled size is ceil(n / 2), the minimum sizes of piq's MS-SSIM hold, and no zero
    padding pulls the border towards black (pytorch-msssim pads odd sizes with zeros that
    count in the average; piq replicates the first row and column)."""
    for axis in range(-spatial, 0):
        shape = tuple(x.shape)
        ax = len(shape) + axis
        lead, n, tail = shape[:ax], shape[ax], shape[ax + 1:]
        t = math.prod(tail)
        y = xp.reshape(x, lead + (n, t))
        if n % 2:
            y = xp.concat([y, y[..., n - 1:n, :]], axis=-2)
        half = (n + 1) // 2
        y = xp.reshape(y, lead + (half, 2, t))
        y = (y[..., 0, :] + y[..., 1, :]) * 0.5
        x = xp.reshape(y, lead + (half,) + tail)
    return x
