"""Case-table rows of the rotated-box family (see ``tests/cases/__init__.py``).

Boxes are ``(cx, cy, w, h, angle)`` in radians. Every expected value is derived by hand
from the formulas (REFERENCE.md section 8) in ``why``; none was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np

from . import Bad, Case, LossCases

Q = math.pi / 4
# Four pairs with hand-derivable overlaps / Gaussians.
P = np.array([
    [1.0, 0.0, 2.0, 2.0, 0.0],   # a 2x2 square shifted by 1 along its width
    [0.0, 0.0, 2.0, 2.0, Q],     # the square turned by 45 degrees over itself
    [5.0, -1.0, 4.0, 2.0, 0.3],  # identical boxes
    [9.0, 0.0, 2.0, 2.0, 0.0],   # far apart
])
T = np.array([
    [0.0, 0.0, 2.0, 2.0, 0.0],
    [0.0, 0.0, 2.0, 2.0, 0.0],
    [5.0, -1.0, 4.0, 2.0, 0.3],
    [0.0, 0.0, 2.0, 2.0, 0.0],
])
# Gaussian cases: same shape shifted; concentric 2x2 in 4x2; a 4x2 box turned by 90 degrees
# over itself; identical.
GP = np.array([
    [3.0, 4.0, 4.0, 2.0, 0.0],
    [0.0, 0.0, 2.0, 2.0, 0.0],
    [0.0, 0.0, 4.0, 2.0, math.pi / 2],
    [5.0, -1.0, 4.0, 2.0, 0.3],
])
GT = np.array([
    [0.0, 0.0, 4.0, 2.0, 0.0],
    [0.0, 0.0, 4.0, 2.0, 0.0],
    [0.0, 0.0, 4.0, 2.0, 0.0],
    [5.0, -1.0, 4.0, 2.0, 0.3],
])
# Generic partially overlapping pairs, away from every kink, for the gradient checks.
XP = np.array([[0.3, 0.2, 2.0, 1.5, 0.4], [-0.5, 0.4, 3.0, 1.2, -0.7], [0.1, -0.2, 1.1, 2.6, 1.3]])
XT = np.array([[0.0, 0.0, 2.2, 1.8, 0.1], [0.0, 0.1, 2.5, 1.5, -0.2], [0.3, 0.1, 1.5, 2.0, 0.9]])
E = np.zeros((0, 5))


def _fast_pairs(seed=7, n=29):
    """Random pairs for the compiled fast paths, then the degenerate ones: identical boxes,
    a zero-width / zero-size pred, two points, a negative width, squares, angles far out and
    coordinates of 1e4 (the pairs differ by small offsets, as a detector's do)."""
    rng = np.random.default_rng(seed)
    t = np.c_[rng.uniform(-5, 5, (n, 2)), rng.uniform(0.3, 4.0, (n, 2)), rng.uniform(-3.2, 3.2, n)]
    p = t + rng.normal(0, 1, (n, 5)) * [0.8, 0.8, 0.4, 0.4, 0.3]
    p[:, 2:4] = np.abs(p[:, 2:4]) + 0.05
    b = np.array([1.0, -2.0, 3.0, 1.5, 0.4])
    dp = np.array([
        b,                                   # identical
        [1.2, -2.0, 0.0, 1.5, 0.4],          # zero width
        [1.2, -1.9, 0.0, 0.0, 0.1],          # a point
        [1.0, -2.0, -3.0, 1.5, 0.4],         # negative width: |w|, the identical box
        [1.3, -2.2, 2.0, 2.0, 1.1],          # a square
        [1.0, -2.0, 3.0, 1.5, 0.4 + 40 * np.pi],  # the same box, its angle 20 turns on
        [1e4 + 0.3, -1e4 + 0.2, 3.1, 1.4, 0.5],   # 1e4 px from the origin
    ])
    dt = np.array([b, b, [1.2, -1.9, 0.0, 0.0, 0.1], b, [1.0, -2.0, 2.0, 2.0, 0.3], b,
                   [1e4, -1e4, 3.0, 1.5, 0.4]])
    return np.r_[p, dp], np.r_[t, dt]


FP, FT = _fast_pairs()
# Without the pair of equal squares, where D(p||t) = D(t||p): kld_loss's "max" / "min" are
# at a tie there, and which side gets the subgradient is decided by an ulp of rounding.
FPN, FTN = np.delete(FP, 33, axis=0), np.delete(FT, 33, axis=0)


def _bad(extra=()):
    return [
        Bad((XP[:, :4], XT[:, :4]), error=ValueError, match=r"pred: expected rotated boxes of shape \(\.\.\., 5\)", id="shape"),
        Bad((XP, XT[:2]), error=ValueError, match="broadcast", id="broadcast"),
        Bad((XP, XT), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad((XP, XT), {"angle_unit": "grad"}, ValueError, "angle_unit: expected one of 'radians', 'degrees', got 'grad'", id="angle-unit"),
        Bad((np.zeros((2, 5), dtype=np.int64), XT[:2]), error=TypeError, match="pred: expected a floating-point array of rotated boxes", id="int-pred"),
        *extra,
    ]


def _post(x, tau=1.0):
    return 1.0 - 1.0 / (tau + math.log1p(x))


_EPS_BAD = [Bad((XP, XT), {"eps": 0.0}, ValueError, "eps: expected a number > 0.0, got 0.0", id="eps")]
_POST_BAD = [
    Bad((XP, XT), {"fun": "exp"}, ValueError, "fun: expected one of 'log1p', 'sqrt', 'none', got 'exp'", id="fun"),
    Bad((XP, XT), {"tau": 0.5}, ValueError, "tau: expected a number >= 1.0, got 0.5", id="tau"),
    Bad((XP, XT), {"sqrt": 1}, TypeError, "sqrt: expected a bool, got int", id="sqrt"),
]

_B_SHIFT = (math.cos(0.3) ** 2 / (4 / 3) + math.sin(0.3) ** 2 / (1 / 3)) / 8
_KF_CONC = (8 / math.sqrt(10)) / (12 - 8 / math.sqrt(10))

CASES = [
    LossCases(
        "rotated_iou_loss",
        cases=[
            Case((P, T), expected=[1 - 2 / 6, 1 - 1 / math.sqrt(2), 0.0, 1.0], atol=1e-6, grad=False,
                 why="shifted square: overlap 1 x 2 = 2, union 6; square over its 45-degree turn: the regular "
                     "octagon of inradius 1, area 8 (sqrt 2 - 1), IoU 8 (sqrt2 - 1) / (8 - 8 (sqrt2 - 1)) = 1 / sqrt 2; "
                     "identical: 0 (up to eps / area); far apart: IoU 0", id="hand"),
            Case((P[:1] * np.array([1, 1, 1, 1, 180 / math.pi]), T[:1]), {"angle_unit": "degrees"}, expected=[2 / 3], atol=1e-6,
                 grad=False, why="the shifted-square case with angles in degrees (0 degrees): 1 - 2/6", id="degrees"),
            Case((XP, XT), id="grad"),
        ],
        bad=_bad(_EPS_BAD),
        empty=(E, E),
    ),
    LossCases(
        "probiou_loss",
        cases=[
            Case((GP[3:], GT[3:]), expected=[0.0], atol=1e-6, grad=False, why="identical boxes: B_D = 0", id="identical"),
            Case((P[2:3] + np.array([1.0, 0, 0, 0, 0]), P[2:3]), {"mode": "l2"}, expected=[_B_SHIFT], rtol=1e-5,
                 why="same 4x2 box (variances 4/3, 1/3 on its axes at angle 0.3) shifted by (1, 0): B_D = "
                     "d^T Sigma^-1 d / 8 = (cos^2 0.3 / (4/3) + sin^2 0.3 / (1/3)) / 8", id="shift-l2"),
            Case((P[2:3] + np.array([1.0, 0, 0, 0, 0]), P[2:3]), expected=[math.sqrt(1 - math.exp(-_B_SHIFT))], rtol=1e-5,
                 why="the same pair in l1: H_D = sqrt(1 - exp(-B_D))", id="shift-l1"),
            Case((GP[1:2], GT[1:2]), {"mode": "l2"}, expected=[0.5 * math.log(5 / 4)], rtol=1e-5,
                 why="concentric 2x2 in 4x2: Sigma_p = diag(1/3, 1/3), Sigma_t = diag(4/3, 1/3), mean diag(5/6, 1/3): "
                     "B_D = 1/2 ln((5/18) / sqrt(1/9 * 4/9)) = 1/2 ln(5/4)", id="concentric"),
            Case((GP[1:2], GT[1:2]), {"mode": "l2", "floor": 1 / 3}, expected=[0.5 * math.log(7 / math.sqrt(40))],
                 rtol=1e-5, why="floor 1/3 added to every variance: Sigma_p = diag(2/3, 2/3), Sigma_t = diag(5/3, 2/3), "
                                "mean diag(7/6, 2/3): B_D = 1/2 ln((7/9) / sqrt(4/9 * 10/9)) = 1/2 ln(7 / sqrt 40)",
                 id="floor"),
            Case((XP, XT), id="grad"),
            Case((XP, XT), {"mode": "l2", "floor": 0.01}, id="grad-l2"),
            Case((FP, FT), grad=False, id="fast"),
            Case((FP, FT), {"mode": "l2"}, grad=False, id="fast-l2"),
            Case((FP, FT), {"floor": 0.01}, grad=False, id="fast-floor"),
            Case((FP[:, None], FT[None, :5]), {"angle_unit": "degrees"}, grad=False, id="fast-broadcast-degrees"),
        ],
        bad=_bad(_EPS_BAD + [Bad((XP, XT), {"mode": "l3"}, ValueError, "mode: expected one of 'l1', 'l2', got 'l3'", id="mode"),
                             Bad((XP, XT), {"floor": -1.0}, ValueError, "floor: expected a number >= 0.0, got -1.0", id="floor")]),
        empty=(E, E),
        half=(XP, XT),
    ),
    LossCases(
        "gwd_loss",
        cases=[
            Case((GP, GT), expected=[_post(25.0), _post(1.0), _post(2.0), 0.0], rtol=1e-6, atol=1e-7,
                 why="same 4x2 shape shifted by (3, 4): d^2 = 25; concentric 2x2 in 4x2 (std 1, 1 vs 2, 1): "
                     "Bures (1-2)^2 = 1; 4x2 over its 90-degree turn (std 2,1 vs 1,2, commuting): (2-1)^2 + (1-2)^2 = 2; "
                     "identical 0; loss 1 - 1 / (1 + ln(1 + d^2))", id="hand"),
            Case((GP[:1], GT[:1]), {"fun": "none"}, expected=[1 - 1 / 26], why="d^2 = 25, f = identity: 1 - 1/26", id="none"),
            Case((GP[:1], GT[:1]), {"sqrt": True, "normalize": True}, expected=[_post(5 / (2 * math.sqrt(2)))], rtol=1e-6,
                 why="mmrotate's form: d = 5 over 2 (det Sp det St)^(1/8) = 2 (2*1*2*1)^(1/4) = 2 sqrt 2", id="mmrotate"),
            Case((GP[1:2], GT[1:2]), {"fun": "sqrt", "tau": 2.0}, expected=[1 - 1 / (2 + 1.0)], why="d^2 = 1: 1 - 1/(2 + sqrt 1)", id="sqrt-tau2"),
            Case((GP[1:2], GT[1:2]), {"fun": "none", "tau": None}, expected=[1.0], why="tau None: f(d^2) = d^2 = 1", id="raw"),
            Case((XP, XT), id="grad"),
            Case((XP, XT), {"sqrt": True, "normalize": True}, id="grad-mmrotate"),
        ],
        bad=_bad(_POST_BAD + [Bad((XP, XT), {"normalize": "yes"}, TypeError, "normalize: expected a bool, got str", id="normalize")]),
        empty=(E, E),
        half=(XP, XT),
    ),
    LossCases(
        "kld_loss",
        cases=[
            Case((P[2:3] + np.array([2.0, 0, 0, 0, -0.3]), P[2:3] + np.array([0.0, 0, 0, 0, -0.3])), expected=[_post(0.5)], rtol=1e-6,
                 why="same 4x2 box (variances 4, 1) shifted by 2 along its width: D = 1/2 * 2^2 / 4 = 0.5", id="shift"),
            Case((GP[1:2], GT[1:2]), expected=[_post(0.5 * (math.log(4) - 0.75))], rtol=1e-6,
                 why="concentric 2x2 (var 1, 1) in 4x2 (var 4, 1): D(p||t) = 1/2 (1/4 + 1 - 2 + ln 4)", id="concentric"),
            Case((GP[1:2], GT[1:2]), {"direction": "target_pred"}, expected=[_post(0.5 * (3 - math.log(4)))], rtol=1e-6,
                 why="D(t||p) = 1/2 (4 + 1 - 2 + ln(1/4))", id="reverse"),
            Case((GP[1:2], GT[1:2]), {"direction": "symmetric", "fun": "none", "tau": None},
                 expected=[0.25 * (math.log(4) - 0.75 + 3 - math.log(4))], rtol=1e-6, why="the mean of D(p||t) and D(t||p): (1/2 (ln 4 - 3/4) + 1/2 (3 - ln 4)) / 2 = 9/16",
                 id="symmetric"),
            Case((GP[1:2], GT[1:2]), {"sqrt": True, "direction": "target_pred"}, expected=[_post(math.sqrt(0.5 * (3 - math.log(4))))],
                 rtol=1e-6, why="mmrotate's kld_loss: f on sqrt(D(t||p))", id="mmrotate"),
            Case((GP[3:], GT[3:]), expected=[0.0], atol=1e-7, why="identical boxes: D = 0", id="identical"),
            Case((XP, XT), id="grad"),
            Case((XP, XT), {"direction": "max", "sqrt": True}, id="grad-max"),
            Case((FP, FT), grad=False, id="fast"),
            *[Case((FP, FT), o, grad=False, id=f"fast-{i}") for i, o in enumerate([
                {"direction": "target_pred", "sqrt": True},
                {"direction": "symmetric", "fun": "sqrt", "tau": 2.0},
            ])],
            *[Case((FPN, FTN), o, grad=False, id=f"fast-{o['direction']}") for o in [
                {"direction": "max", "fun": "none", "tau": None},
                {"direction": "min", "sqrt": True, "fun": "none"},
            ]],
            Case((FP[:, None], FT[None, :5]), {"angle_unit": "degrees"}, grad=False, id="fast-broadcast-degrees"),
        ],
        bad=_bad(_EPS_BAD + _POST_BAD + [Bad((XP, XT), {"direction": "both"}, ValueError, "direction: expected one of 'pred_target'", id="direction")]),
        empty=(E, E),
        half=(XP, XT),
    ),
    LossCases(
        "kfiou_loss",
        cases=[
            Case((GP[1:2], GT[1:2]), expected=[1 - 3 * _KF_CONC], rtol=1e-6,
                 why="2x2 (var 1, 1) in 4x2 (var 4, 1): V_S = 4 * 1*1*2*1 / sqrt(det diag(5, 2)) = 8 / sqrt 10, "
                     "V_p = 4, V_t = 8: KFIoU = V_S / (12 - V_S), loss 1 - 3 KFIoU", id="concentric"),
            Case((GP[3:], GT[3:]), expected=[0.0], atol=1e-6, why="identical: KFIoU = (A/2) / (3A/2) = 1/3, loss 0", id="identical"),
            Case((GP[3:], GT[3:]), {"form": "linear"}, expected=[2 / 3], atol=1e-6, why="mmrotate's 1 - KFIoU at a match: 2/3", id="linear"),
            Case((GP[3:], GT[3:]), {"form": "ln"}, expected=[math.log(3)], atol=1e-5, why="-ln(1/3)", id="ln"),
            Case((GP[3:], GT[3:]), {"form": "exp"}, expected=[math.exp(2 / 3) - 1], atol=1e-6, why="exp(1 - 1/3) - 1", id="exp"),
            Case((GP[1:2] + np.array([0.05, 2.0, 0, 0, 0]), GT[1:2]), {"center_beta": 0.1}, expected=[1 - 3 * _KF_CONC + 0.5 * 0.05 ** 2 / 0.1 + 2.0 - 0.05],
                 rtol=1e-6, why="KFIoU ignores centres; smooth L1 (beta 0.1) of (0.05, 2): 0.0125 + 1.95", id="center"),
            Case((XP, XT), id="grad"),
            Case((XP, XT), {"form": "ln", "center_beta": 0.5}, id="grad-ln"),
        ],
        bad=_bad(_EPS_BAD + [Bad((XP, XT), {"form": "log"}, ValueError, "form: expected one of 'normalized'", id="form"),
                             Bad((XP, XT), {"center_beta": 0.0}, ValueError, "center_beta: expected a number > 0.0", id="beta")]),
        empty=(E, E),
        half=(XP, XT),
    ),
]
