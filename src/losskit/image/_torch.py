"""PyTorch fast path of the image family: the separable window as native convolutions
(declared as ``image.torch_conv`` in :mod:`losskit.image._filter`, pinned to the band-matrix
reference by ``tests/test_fast_paths.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["filter_maps"]


def filter_maps(maps: torch.Tensor, window: tuple[float, ...], spatial: int) -> torch.Tensor:
    """``maps`` filtered along its last ``spatial`` axes with ``window``, valid borders.

    Every map is one channel of a single depthwise convolution (``(1, B, *spatial_shape)``,
    ``groups=B``): CPU convolution kernels are far faster with many channels than with a
    large batch of single-channel images. The window runs as one 1-D kernel per axis
    (``k`` multiply-adds per output pixel and axis instead of ``k^spatial``).
    """
    shape = tuple(maps.shape)
    lead, sizes = shape[:-spatial], shape[-spatial:]
    b = 1
    for n in lead:
        b *= n
    x = maps.reshape((1, b) + sizes)
    w = torch.tensor(window, dtype=maps.dtype, device=maps.device)
    conv = F.conv2d if spatial == 2 else F.conv3d
    # Not under autocast's reduced precision: the losses take variances as E[x^2] - mu^2
    # of these maps, a difference that bfloat16's 8 significand bits would leave as noise.
    with torch.autocast(maps.device.type, enabled=False):
        for i in range(spatial):
            view = [1, 1] + [1] * spatial
            view[2 + i] = len(window)
            x = conv(x, w.view(view).expand([b] + view[1:]), groups=b)
    return x.reshape(lead + tuple(x.shape[2:]))
