"""Validation shared by the image losses: image batches, ``data_range`` and windows."""

from __future__ import annotations

from .._checks import (
    check_array,
    check_bool,
    check_int,
    check_number,
    check_reduction,
    check_same_shape,
    eager_values,
)
from .._xp import as_float, compute_dtype, namespace

__all__ = ["check_images", "check_window", "check_value_range", "prepare_pair"]


def check_images(name: str, x, xp) -> None:
    """A real (floating or integer) ``(N, C, H, W)`` or ``(N, C, D, H, W)`` array."""
    check_array(name, x)
    if not (xp.isdtype(x.dtype, "real floating") or xp.isdtype(x.dtype, "integral")):
        raise TypeError(f"{name}: expected a real (floating or integer) image array, got dtype {x.dtype}")
    if x.ndim not in (4, 5):
        raise ValueError(f"{name}: expected images of shape (N, C, H, W) or (N, C, D, H, W), "
                         f"got shape {tuple(x.shape)}")


def check_window(kernel_size, sigma, k1, k2, gaussian) -> int:
    """The window and stability constants of SSIM (Wang et al. 2004: 11, 1.5, 0.01, 0.03)."""
    kernel_size = check_int("kernel_size", kernel_size, allow_none=False, low=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size: expected an odd int (the window has a centre), got {kernel_size}")
    check_number("sigma", sigma, low=0.0, low_open=True)
    # k1, k2 > 0: C1, C2 keep the luminance and contrast ratios finite on flat black regions.
    check_number("k1", k1, low=0.0, low_open=True)
    check_number("k2", k2, low=0.0, low_open=True)
    check_bool("gaussian", gaussian)
    return kernel_size


def check_value_range(name: str, x, data_range: float) -> None:
    """Pixel values in [0, data_range] (NaN counts as outside); eager only."""
    v = eager_values(x)
    if v is None:
        return
    lo, hi = float(v.min()), float(v.max())
    if not (lo >= 0.0 and hi <= data_range):  # NaN fails both comparisons
        raise ValueError(
            f"{name}: expected values in [0, data_range] = [0, {data_range:g}], got values in "
            f"[{lo:g}, {hi:g}] (clip the images, or pass the range they use as data_range)"
        )


def prepare_pair(input, target, data_range, reduction):
    """Validate an (input, target) pair of image batches.

    Returns ``(xp, x, y, data_range)``: both arrays in the input's compute dtype (float64
    stays, half precision and integers compute in float32) and ``data_range`` as a float.
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target)
    check_images("input", input, xp)
    check_images("target", target, xp)
    check_same_shape("input", input, "target", target)
    data_range = float(check_number("data_range", data_range, low=0.0, low_open=True))
    check_value_range("input", input, data_range)
    check_value_range("target", target, data_range)
    dtype = compute_dtype(input, xp)
    return xp, as_float(input, xp, dtype), as_float(target, xp, dtype), data_range


def check_spatial(name: str, x, minimum: int, why: str) -> None:
    """Every spatial size of ``x`` at least ``minimum``."""
    sizes = tuple(x.shape[2:])
    if min(sizes) < minimum:
        raise ValueError(f"{name}: expected spatial sizes of at least {minimum} ({why}), got {sizes}")
