"""Case-table rows of the image family (see ``tests/cases/__init__.py``).

Images are ``(N, C, H, W)`` (or ``(N, C, D, H, W)``). Every expected value is derived by
hand from the formulas (REFERENCE.md section 9) in ``why``, using windows where the SSIM
statistics are easy to write down: a 1-tap window (``kernel_size=1``: each pixel is its own
window, every variance is 0, so SSIM is the luminance term ``(2xy + C1) / (x^2 + y^2 + C1)``
pixel by pixel), a uniform window as large as the image (one position: the global means and
population variances), and constant images (every variance 0). None was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np

from losskit import ms_ssim_loss, ssim_loss, total_variation_loss

from . import Bad, Case, Identity, LossCases

_rng = np.random.default_rng(15)


def _const(value, shape=(1, 1, 16, 16)):
    return np.full(shape, float(value))


def _lum(x, y, c1=1e-4):
    """The luminance (= SSIM for zero variances) of two values, data_range 1."""
    return (2 * x * y + c1) / (x * x + y * y + c1)


def _global_ssim(x, y, L=1.0, k1=0.01, k2=0.03):
    """SSIM of one window covering all of x and y: global means and population (co)variances."""
    c1, c2 = (k1 * L) ** 2, (k2 * L) ** 2
    mx, my = x.mean(), y.mean()
    vx, vy, cxy = ((x - mx) ** 2).mean(), ((y - my) ** 2).mean(), ((x - mx) * (y - my)).mean()
    return (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))


# Random images in [0.05, 0.95] and positively correlated targets (away from every clamp).
GX = _rng.uniform(0.05, 0.95, (1, 1, 12, 12))
GY = np.clip(GX + _rng.normal(0.0, 0.1, GX.shape), 0.0, 1.0)
GX3 = _rng.uniform(0.05, 0.95, (1, 1, 6, 6, 6))
GY3 = np.clip(GX3 + _rng.normal(0.0, 0.1, GX3.shape), 0.0, 1.0)
FX = _rng.uniform(0.0, 1.0, (2, 3, 20, 20))
FY = np.clip(FX + _rng.normal(0.0, 0.15, FX.shape), 0.0, 1.0)
FX3 = _rng.uniform(0.0, 1.0, (2, 2, 10, 11, 12))
FY3 = np.clip(FX3 + _rng.normal(0.0, 0.15, FX3.shape), 0.0, 1.0)
MX = _rng.uniform(0.0, 1.0, (2, 2, 36, 40))
MY = np.clip(MX + _rng.normal(0.0, 0.15, MX.shape), 0.0, 1.0)

# Pixelwise images for the 1-tap window.
PX = np.array([[[[0.2, 0.4], [0.6, 0.8]]]])
PY = np.array([[[[0.4, 0.4], [0.2, 1.0]]]])
# One 3x3 uniform window over a 3x3 image: a ramp against a checker-like pattern.
WX = np.array([[[[0.0, 0.5, 1.0], [0.0, 0.5, 1.0], [0.0, 0.5, 1.0]]]])
WY = np.array([[[[0.2, 0.4, 0.2], [0.4, 0.9, 0.4], [0.2, 0.4, 0.6]]]])
# An odd 3x3 image pooled by 2: [[(a+b+d+e)/4, (c+f)/2], [(g+h)/2, i]].
OX = np.array([[[[0.1, 0.3, 0.8], [0.5, 0.7, 0.4], [0.2, 0.6, 0.9]]]])
OY = np.full((1, 1, 3, 3), 0.5)
_OXP = [(0.1 + 0.3 + 0.5 + 0.7) / 4, (0.8 + 0.4) / 2, (0.2 + 0.6) / 2, 0.9]

_C = 0.2401 / 0.4001  # SSIM of constant 0.2 against constant 0.6 (data_range 1)
_S = dict(data_range=1.0, kernel_size=5)


def _common_bad(extra=(), options=None):
    o = dict(_S) if options is None else options
    return [
        Bad((GX, GY), {**o, "data_range": 0.0}, ValueError, "data_range: expected a number > 0.0, got 0.0", id="data-range-0"),
        Bad((GX, GY), {k: v for k, v in o.items() if k != "data_range"}, TypeError, "data_range", id="data-range-missing"),
        Bad((GX, GY), {**o, "data_range": "1"}, TypeError, "data_range: expected a real number, got str", id="data-range-str"),
        Bad((GX * 2.0, GY), o, ValueError, r"input: expected values in \[0, data_range\] = \[0, 1\], got values in", id="input-range"),
        Bad((GX, GY - 0.5), o, ValueError, r"target: expected values in \[0, data_range\] = \[0, 1\]", id="target-range"),
        Bad((GX * 255.0, GY * 255.0), o, ValueError, "input: expected values in .* pass the range they use as data_range", id="range-255"),
        Bad((GX[0], GY[0]), o, ValueError, r"input: expected images of shape \(N, C, H, W\) or \(N, C, D, H, W\), got shape \(1, 12, 12\)", id="ndim"),
        Bad((GX, GY[..., :11]), o, ValueError, r"target: expected the shape of input \(1, 1, 12, 12\), got \(1, 1, 12, 11\)", id="shape"),
        Bad((GX > 0.5, GY), o, TypeError, r"input: expected a real \(floating or integer\) image array, got dtype .*bool", id="bool"),
        Bad((GX, GY), {**o, "kernel_size": 4}, ValueError, "kernel_size: expected an odd int", id="kernel-even"),
        Bad((GX, GY), {**o, "kernel_size": 0}, ValueError, "kernel_size: expected an int >= 1, got 0", id="kernel-0"),
        Bad((GX, GY), {**o, "kernel_size": 5.0}, TypeError, "kernel_size: expected an int, got float", id="kernel-float"),
        Bad((GX, GY), {**o, "sigma": 0.0}, ValueError, "sigma: expected a number > 0.0, got 0.0", id="sigma"),
        Bad((GX, GY), {**o, "k1": -0.01}, ValueError, "k1: expected a number > 0.0", id="k1"),
        Bad((GX, GY), {**o, "k2": 0.0}, ValueError, "k2: expected a number > 0.0", id="k2"),
        Bad((GX, GY), {**o, "gaussian": 1}, TypeError, "gaussian: expected a bool, got int", id="gaussian"),
        Bad((GX, GY), {**o, "reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        *extra,
    ]


_WEIGHTS_BAD = [
    Bad((MX, MY), {"data_range": 1.0, "kernel_size": 5, "weights": ()}, ValueError, "weights: expected at least one scale", id="weights-empty"),
    Bad((MX, MY), {"data_range": 1.0, "kernel_size": 5, "weights": 0.5}, TypeError, "weights: expected a sequence of numbers", id="weights-number"),
    Bad((MX, MY), {"data_range": 1.0, "kernel_size": 5, "weights": (0.5, -0.5)}, ValueError, r"weights\[1\]: expected a number >= 0.0, got -0.5", id="weights-negative"),
]

_MS = dict(data_range=1.0, kernel_size=3, weights=(0.6, 0.4))

CASES = [
    LossCases(
        "ssim_loss",
        cases=[
            Case((PX, PY), {"data_range": 1.0, "kernel_size": 1}, expected=[1 - np.mean([_lum(0.2, 0.4), _lum(0.4, 0.4), _lum(0.6, 0.2), _lum(0.8, 1.0)])],
                 why="1-tap window: sigma = 0, cs = C2 / C2 = 1, SSIM(p) = (2 x y + C1) / (x^2 + y^2 + C1), C1 = 1e-4; "
                     "the loss is 1 - the mean over the 4 pixels", id="pixelwise"),
            Case((np.concatenate([_const(0.2, (1, 1, 12, 12)), _const(0.5, (1, 1, 12, 12))]),
                  np.concatenate([_const(0.6, (1, 1, 12, 12)), _const(0.5, (1, 1, 12, 12))])), _S,
                 expected=[1 - _C, 0.0], atol=1e-5, grad=False,
                 why="constant images: every variance 0, cs = 1, SSIM = l = (2*0.2*0.6 + 1e-4) / (0.04 + 0.36 + 1e-4) "
                     "= 0.2401 / 0.4001; equal constants: l = 1", id="constant"),
            Case((_const(51.0, (1, 1, 12, 12)), _const(153.0, (1, 1, 12, 12))), {**_S, "data_range": 255.0},
                 expected=[1 - _C], atol=1e-5, grad=False,
                 why="the constant case in 8-bit units: C1 = (0.01 * 255)^2, and every term scales by 255^2", id="data-range-255"),
            Case((WX, WY), {"data_range": 1.0, "kernel_size": 3, "gaussian": False}, expected=[1 - _global_ssim(WX, WY)],
                 why="a uniform 3x3 window over a 3x3 image has one position: SSIM of the global means and population "
                     "(co)variances", grad=False, id="one-window"),
            Case((WX, 1.0 - WX), {"data_range": 1.0, "kernel_size": 3, "gaussian": False}, expected=[1 - _global_ssim(WX, 1.0 - WX)],
                 why="anti-correlated (y = 1 - x): sigma_xy = -sigma^2, cs = (C2 - 2 sigma^2) / (C2 + 2 sigma^2) < 0, "
                     "so the loss exceeds 1 (no clamp in single-scale SSIM, as every peer)", grad=False, id="anti-correlated"),
            Case((GX, GX), _S, expected=[0.0], atol=1e-6, grad=False, why="SSIM of an image with itself is 1", id="identical"),
            Case((GX, GY), _S, id="grad"),
            Case((GX, GY), {"data_range": 1.0, "kernel_size": 3, "gaussian": False, "k1": 0.05, "k2": 0.1}, id="grad-uniform"),
            Case((GX3, GY3), {"data_range": 1.0, "kernel_size": 3}, id="grad-3d"),
            Case((FX, FY), {"data_range": 1.0}, id="fast-conv", grad=False),
            Case((FX3, FY3), {"data_range": 1.0, "kernel_size": 7, "sigma": 1.0}, id="fast-conv-3d", grad=False),
        ],
        bad=_common_bad([
            Bad((GX, GY), {**_S, "kernel_size": 13}, ValueError, r"input: expected spatial sizes of at least 13 \(kernel_size 13\), got \(12, 12\)", id="too-small"),
        ]),
        empty=(np.zeros((0, 1, 12, 12)), np.zeros((0, 1, 12, 12))),
        half=(GX, GY),
    ),
    LossCases(
        "ms_ssim_loss",
        cases=[
            Case((_const(0.2), _const(0.6)), {"data_range": 1.0, "kernel_size": 3, "weights": (0.5, 0.5)},
                 expected=[1 - math.sqrt(_C)], atol=1e-5, grad=False,
                 why="constant images at both scales: cs_1 = 1, SSIM_2 = l = 0.2401 / 0.4001; 1 - 1^0.5 l^0.5", id="constant"),
            Case((PX, np.full((1, 1, 2, 2), 0.1)), {"data_range": 1.0, "kernel_size": 1, "weights": (0.3, 0.7)},
                 expected=[1 - _lum(0.5, 0.1) ** 0.7], why="1-tap window: cs_1 = 1; scale 2 is the 1x1 mean 0.5 against 0.1: "
                                                          "l = (0.1 + 1e-4) / (0.26 + 1e-4); 1 - l^0.7", id="pixelwise"),
            Case((OX, OY), {"data_range": 1.0, "kernel_size": 1, "weights": (0.0, 1.0)},
                 expected=[1 - np.mean([_lum(v, 0.5) for v in _OXP])],
                 why="an odd 3x3 image pools to 2x2 [[(a+b+d+e)/4, (c+f)/2], [(g+h)/2, i]] (the last row and column "
                     "are cells of their own); weight 0 on scale 1; 1 - the mean pixelwise l at scale 2", id="odd-pooling"),
            Case((MX, 1.0 - MX), {"data_range": 1.0, "kernel_size": 3, "weights": (0.5, 0.5)}, expected=[1.0, 1.0], grad=False,
                 why="anti-correlated: the mean cs of scale 1 is negative, clamped to 0 (as piq), MS-SSIM 0, loss 1 "
                     "(pytorch-msssim #7, #11 gave NaN)", id="anti-correlated"),
            Case((MX, MX), {"data_range": 1.0, "kernel_size": 5, "weights": (0.2, 0.3, 0.5)}, expected=[0.0, 0.0], atol=1e-6,
                 grad=False, why="MS-SSIM of an image with itself is 1", id="identical"),
            Case((GX, GY), _MS, id="grad"),
            Case((GX3, GY3), {"data_range": 1.0, "kernel_size": 3, "weights": (0.5, 0.5)}, id="grad-3d"),
            Case((MX, MY), {"data_range": 1.0, "kernel_size": 5, "weights": (0.2, 0.3, 0.5)}, id="fast-conv", grad=False),
        ],
        bad=_common_bad(_WEIGHTS_BAD + [
            Bad((GX, GY), {"data_range": 1.0, "kernel_size": 5, "weights": (0.2, 0.2, 0.6)}, ValueError,
                r"input: expected spatial sizes of at least 17 \(3 scales with kernel_size 5: each scale halves the image\), got \(12, 12\)",
                id="too-small"),
            Bad((GX, GY), {"data_range": 1.0}, ValueError,
                r"input: expected spatial sizes of at least 161 \(5 scales with kernel_size 11", id="too-small-default"),
        ], options=_MS),
        empty=(np.zeros((0, 1, 12, 12)), np.zeros((0, 1, 12, 12))),
        identities=[
            Identity((GX, GY), ssim_loss, {"data_range": 1.0, "kernel_size": 5, "weights": (1.0,)}, {"data_range": 1.0, "kernel_size": 5},
                     why="one scale of weight 1: MS-SSIM is SSIM (clamped at 0, positive here)", id="one-scale-is-ssim"),
        ],
        half=(GX, GY),
    ),
    LossCases(
        "ms_ssim_l1_loss",
        cases=[
            Case((_const(0.6), _const(0.5)), {"data_range": 1.0, "kernel_size": 3, "weights": (1.0,)},
                 expected=[0.84 * (1 - 0.6001 / 0.6101) + 0.16 * 0.1], atol=1e-5, grad=False,
                 why="constant error 0.1: cs = 1, l = (2*0.3 + 1e-4) / (0.61 + 1e-4); the Gaussian-weighted L1 of a "
                     "constant 0.1 is 0.1 (weights sum to 1); 0.84 (1 - l) + 0.16 * 0.1", id="constant"),
            Case((_const(153.0), _const(127.5)), {"data_range": 255.0, "kernel_size": 3, "weights": (0.5, 0.5), "alpha": 0.5},
                 expected=[0.5 * (1 - math.sqrt(_lum(0.6, 0.5))) + 0.5 * 0.1], atol=1e-5, grad=False,
                 why="8-bit constants 0.6 * 255 and 0.5 * 255: two scales, cs_1 = 1, SSIM_2 = l(0.6, 0.5); "
                     "L1 in data_range units: 25.5 / 255 = 0.1", id="data-range"),
            Case((PX, PY), {"data_range": 1.0, "kernel_size": 1, "weights": (1.0,), "alpha": 0.0},
                 expected=[np.mean(np.abs(PX - PY))], grad=False,
                 why="alpha 0 with a 1-tap window and one scale: the plain mean absolute error 0.15", id="l1-only"),
            Case((GX, GY), {**_MS, "alpha": 0.7}, id="grad"),
            Case((MX, MY), {"data_range": 1.0, "kernel_size": 5, "weights": (0.2, 0.3, 0.5)}, id="fast-conv", grad=False),
        ],
        bad=_common_bad(_WEIGHTS_BAD + [
            Bad((GX, GY), {**_MS, "alpha": 1.5}, ValueError, "alpha: expected a number <= 1.0, got 1.5", id="alpha"),
            Bad((GX, GY), {"data_range": 1.0, "kernel_size": 5, "weights": (0.2, 0.2, 0.6)}, ValueError,
                r"input: expected spatial sizes of at least 17 \(3 scales", id="too-small"),
        ], options=_MS),
        empty=(np.zeros((0, 1, 12, 12)), np.zeros((0, 1, 12, 12))),
        identities=[
            Identity((GX, GY), ms_ssim_loss, {**_MS, "alpha": 1.0}, _MS, why="alpha 1: the MS-SSIM term alone", id="alpha-1"),
        ],
        half=(GX, GY),
    ),
    LossCases(
        "total_variation_loss",
        cases=[
            Case((np.stack([np.add.outer(np.arange(3.0), 2 * np.arange(4.0))[None], np.full((1, 3, 4), 0.7)]),),
                 expected=[26 / 17, 0.0],
                 why="x = i + 2j on 3x4: 8 vertical pairs of 1, 9 horizontal pairs of 2, 17 pairs: (8 + 18) / 17; "
                     "a constant image: 0", grad=False, id="ramp-l1"),
            Case((np.add.outer(np.arange(3.0), 2 * np.arange(4.0))[None, None],), {"mode": "anisotropic_l2"},
                 expected=[(8 + 36) / 17], why="squared differences: (8 * 1 + 9 * 4) / 17", id="ramp-l2"),
            Case((np.add.outer(np.arange(3.0), 2 * np.arange(4.0))[None, None],), {"mode": "isotropic"},
                 expected=[(6 * math.sqrt(5) + 3 * 2 + 2 * 1) / 17],
                 why="forward differences, 0 past the border: 6 pixels with (1, 2): sqrt 5; 3 on the last row with "
                     "(0, 2): 2; 2 on the last column with (1, 0): 1; the corner 0; over 17 pairs", id="ramp-iso"),
            Case((np.broadcast_to(np.arange(2.0)[:, None, None], (2, 2, 2))[None, None].copy(),),
                 expected=[4 / 12], why="3-D 2x2x2, x = depth index: 4 depth pairs of 1 among 3 * 4 = 12 pairs", grad=False, id="3d"),
            Case((np.stack([np.add.outer(np.arange(3.0), 2 * np.arange(4.0)), np.zeros((3, 4))])[None],),
                 expected=[26 / 34], why="two channels, the second flat: 26 over 2 * 17 pairs", grad=False, id="channels"),
            Case((_rng.uniform(0, 1, (2, 1, 5, 6)),), id="grad"),
            Case((_rng.uniform(0, 1, (2, 1, 5, 6)),), {"mode": "anisotropic_l2"}, id="grad-l2"),
            Case((_rng.uniform(0, 1, (2, 2, 4, 5)),), {"mode": "isotropic"}, id="grad-iso"),
            Case((_rng.uniform(0, 1, (1, 1, 3, 4, 3)),), {"mode": "isotropic"}, id="grad-iso-3d"),
        ],
        bad=[
            Bad((GX,), {"mode": "l1"}, ValueError, "mode: expected one of 'anisotropic_l1', 'anisotropic_l2', 'isotropic', got 'l1'", id="mode"),
            Bad((GX[0],), {}, ValueError, r"input: expected images of shape \(N, C, H, W\) or \(N, C, D, H, W\), got shape \(1, 12, 12\)", id="ndim"),
            Bad((GX > 0.5,), {}, TypeError, r"input: expected a real \(floating or integer\) image array", id="bool"),
            Bad((GX,), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
            Bad(([[1.0]],), {}, TypeError, r"input: expected an array \(numpy, torch, jax, ...\), got list", id="list"),
        ],
        empty=(np.zeros((0, 1, 3, 4)),),
        identities=[
            Identity((np.add.outer(np.zeros(4), np.arange(5.0) ** 2)[None, None],), total_variation_loss,
                     {"mode": "isotropic"}, {"mode": "anisotropic_l1"},
                     why="an image varying along one axis: the gradient norm is the absolute difference", id="iso-is-l1-1d"),
        ],
    ),
]
