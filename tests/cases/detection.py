"""Case-table rows of the detection round two (see ``tests/cases/__init__.py``): the box
losses NWD and PIoU (which live in ``losskit.boxes``) and the dense-head and pose losses of
``losskit.detection``.

Every expected value is derived by hand from the formula (``why`` says how; ``math`` does the
arithmetic, with the ``eps`` guards written where they enter); none was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np
from array_api_compat import array_namespace

import losskit

from . import Bad, Case, Identity, LossCases

EPS = 1e-7  # the box losses' default eps
LN2 = math.log(2.0)


def _boxes(*rows):
    return np.array(rows, dtype=np.float64)


# --------------------------------------------------------------------------- NWD

# (a) centres (1, 1) and (2, 1), widths 2 and 4: W2^2 = 1 + (2 - 4)^2 / 4 = 2
# (b) identical boxes: W2^2 = 0, only eps is left under the root
# (c) unit boxes 10 apart: W2^2 = 100
NWD_P = _boxes([0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 1, 1])
NWD_T = _boxes([0, 0, 4, 2], [1, 1, 3, 3], [10, 0, 11, 1])
# generic boxes for the gradient (every coordinate distinct)
G_P = _boxes([[0.3, 0.1, 2.2, 1.7], [1.0, 2.0, 4.5, 3.1]], [[5.0, 5.2, 6.1, 7.3], [0.2, 0.4, 0.9, 1.6]])
G_T = _boxes([[0.0, 0.5, 2.9, 2.4], [1.4, 1.6, 3.8, 3.9]], [[4.1, 6.0, 6.6, 7.0], [0.5, 0.1, 1.3, 1.1]])
E_BOX = np.zeros((0, 4))


def _nwd(w2, c):
    return 1.0 - math.exp(-math.sqrt(w2 + EPS) / c)


def _box_bad(name, **required):
    p, t = _boxes([0, 0, 1, 1]), _boxes([0, 0, 2, 2])
    return [
        Bad((np.zeros((2, 3)), np.zeros((2, 3))), required, ValueError, r"pred: expected boxes of shape \(\.\.\., 4\)", id="shape"),
        Bad((p, t), {**required, "reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad((p, t), {**required, "fmt": "xyzw"}, ValueError, "fmt: expected one of", id="fmt"),
        Bad((p, t), {**required, "eps": 0.0}, ValueError, "eps: expected a number > 0.0", id="eps"),
        Bad((np.zeros((1, 4), dtype=np.int64), t), required, TypeError, "pred: expected a floating-point array of boxes", id="int-pred"),
        Bad((np.zeros((2, 4)), np.zeros((3, 4))), required, ValueError, "target: expected a shape broadcastable with pred", id="broadcast"),
    ]


NWD = LossCases(
    "nwd_loss",
    cases=[
        Case((NWD_P, NWD_T), {"constant": 2.0},
             expected=[_nwd(2.0, 2.0), _nwd(0.0, 2.0), _nwd(100.0, 2.0)],
             why="W2^2 = |dc|^2 + (dw^2 + dh^2) / 4: (a) 1 + 4/4 = 2, (b) 0, (c) 10^2 = 100; "
                 "loss 1 - exp(-sqrt(W2^2 + eps) / C), C = 2",
             grad=False, id="hand"),
        Case((_boxes([1, 1, 2, 2]), _boxes([4, 5, 2, 2])), {"constant": 5.0, "fmt": "cxcywh"},
             expected=[_nwd(25.0, 5.0)], why="cxcywh: centres (1, 1) and (4, 5), 5 apart, same size: 1 - exp(-5/5)",
             grad=False, id="cxcywh"),
        Case((_boxes([0, 0, 2, 2]), _boxes([0, 0, 2, 8])), {"constant": 1.0, "fmt": "xywh"},
             expected=[_nwd(9.0 + 9.0, 1.0)],
             why="xywh: centres (1, 1), (1, 4): dy = 3; heights 2, 8: dh^2/4 = 9; W2^2 = 18", grad=False, id="xywh"),
        Case((G_P, G_T), {"constant": 3.0}, id="grad"),
        Case((G_P, G_T), {"constant": 12.8, "fmt": "cxcywh"}, id="grad-cxcywh"),
    ],
    bad=[
        *_box_bad("nwd_loss", constant=2.0),
        Bad((NWD_P, NWD_T), {}, TypeError, "constant", id="constant-missing"),
        Bad((NWD_P, NWD_T), {"constant": None}, TypeError, "constant: expected a real number, got NoneType", id="constant-none"),
        Bad((NWD_P, NWD_T), {"constant": 0.0}, ValueError, r"constant: expected a number > 0.0, got 0.0", id="constant-0"),
        Bad((NWD_P, NWD_T), {"constant": -12.8}, ValueError, r"constant: expected a number > 0.0", id="constant-neg"),
    ],
    empty=(E_BOX, E_BOX),
    identities=[
        Identity((G_P, G_T), rhs=lambda p, t, **k: losskit.nwd_loss(p + 7.5, t + 7.5, **k), options={"constant": 3.0},
                 rhs_options={"constant": 3.0}, why="translating both boxes changes no centre difference or size", id="translation"),
        Identity((G_P, G_T), rhs=lambda p, t, **k: losskit.nwd_loss(2.0 * p, 2.0 * t, **k), options={"constant": 3.0},
                 rhs_options={"constant": 6.0, "eps": 4 * EPS}, why="W2 scales with the boxes: doubling them and C (and eps by 4) is the same loss",
                 id="scale"),
        Identity((G_P, G_T), rhs=lambda p, t, **k: losskit.nwd_loss(t, p, **k), options={"constant": 3.0},
                 rhs_options={"constant": 3.0}, why="W2 is a distance: symmetric in pred and target", id="symmetric"),
    ],
)


# --------------------------------------------------------------------------- PIoU


def _piou1(inter, union, ex, tw, ey, th):
    """1 - IoU + 1 - exp(-P^2), IoU = inter / (union + eps), P = (ex/(tw+eps) + ey/(th+eps)) / 4."""
    iou = inter / (union + EPS)
    pf = (ex / (tw + EPS) + ey / (th + EPS)) / 4.0
    return 1.0 - iou + 1.0 - math.exp(-pf * pf), pf


def _piou2(inter, union, ex, tw, ey, th, lam=1.3):
    l1, pf = _piou1(inter, union, ex, tw, ey, th)
    x = lam * math.exp(-pf)
    return 3.0 * x * math.exp(-x * x) * l1


# (a) p [0,0,2,2], t [0,0,2,4]: inter 4, union 8; ex = 0, ey = |2 - 4| = 2 over th = 4: P = 1/8
# (b) p [1,0,3,2], t [0,0,2,2]: inter 2, union 6; ex = 1 + 1 = 2 over tw = 2: P = 1/4
# (c) identical [0,0,2,2]: inter = union = 4, P = 0
# (d) far apart: unit boxes, p at (10, 10): IoU 0; ex = ey = 20 over 1: P = 10
PIOU_P = _boxes([0, 0, 2, 2], [1, 0, 3, 2], [0, 0, 2, 2], [10, 10, 11, 11])
PIOU_T = _boxes([0, 0, 2, 4], [0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 1, 1])
PIOU_GEOM = [(4, 8, 0, 2, 2, 4), (2, 6, 2, 2, 0, 2), (4, 4, 0, 2, 0, 2), (0, 2, 20, 1, 20, 1)]

PIOU = LossCases(
    "piou_loss",
    cases=[
        Case((PIOU_P, PIOU_T), expected=[_piou1(*g)[0] for g in PIOU_GEOM],
             why="(a) 1 - 1/2 + 1 - e^{-1/64}; (b) 1 - 1/3 + 1 - e^{-1/16}; (c) ~0; (d) 2 - e^{-100}",
             grad=False, id="hand-v1"),
        Case((PIOU_P, PIOU_T), {"version": 2}, expected=[_piou2(*g) for g in PIOU_GEOM],
             why="v2: q = e^{-P}, x = 1.3 q, 3 x e^{-x^2} times v1 (d: q = e^{-10}, nearly 0)", grad=False, id="hand-v2"),
        Case((PIOU_P, PIOU_T), {"version": 2, "lam": 0.5}, expected=[_piou2(*g, lam=0.5) for g in PIOU_GEOM],
             why="v2 with lam = 0.5", grad=False, id="hand-v2-lam"),
        Case((_boxes([1, 1, 2, 2]), _boxes([1, 2, 2, 4])), {"fmt": "cxcywh"}, expected=[_piou1(4, 8, 0, 2, 2, 4)[0]],
             why="cxcywh form of (a)", grad=False, id="cxcywh"),
        Case((G_P, G_T), id="grad"),
        Case((G_P, G_T), {"version": 2}, id="grad-v2"),
    ],
    bad=[
        *_box_bad("piou_loss"),
        Bad((PIOU_P, PIOU_T), {"version": 3}, ValueError, "version: expected one of 1, 2, got 3", id="version-3"),
        Bad((PIOU_P, PIOU_T), {"version": True}, TypeError, "version: expected an int, got bool", id="version-bool"),
        Bad((PIOU_P, PIOU_T), {"version": 2, "lam": 0.0}, ValueError, r"lam: expected a number > 0.0, got 0.0", id="lam-0"),
        Bad((PIOU_P, PIOU_T), {"lam": "1.3"}, TypeError, "lam: expected a real number", id="lam-str"),
    ],
    empty=(E_BOX, E_BOX),
    identities=[
        Identity((G_P, G_T), rhs=lambda p, t, **k: losskit.piou_loss(p - 3.0, t - 3.0, **k),
                 why="translation invariant", id="translation"),
        Identity((G_P, G_T), rhs=lambda p, t, **k: losskit.piou_loss(4.0 * p, 4.0 * t, **k),
                 options={"version": 2, "eps": 1e-12}, rhs_options={"version": 2, "eps": 16e-12},
                 why="scale invariant: IoU and P are ratios of lengths (eps scaled out of the way)", id="scale"),
    ],
)


# --------------------------------------------------------------------------- DFL

# S = [0.1, 0.2, 0.3, 0.4] over 4 bins: z = log S (softmax(log S) = S)
S4 = np.array([0.1, 0.2, 0.3, 0.4])
Z4 = np.tile(np.log(S4), (5, 1))
Y4 = np.array([1.25, 0.0, 3.0, 2.5, 1.0])
DFL_HAND = [
    -(0.75 * math.log(0.2) + 0.25 * math.log(0.3)),  # y = 1.25: bins 1, 2 with weights 0.75, 0.25
    -math.log(0.1),  # y = 0: bin 0 alone
    -math.log(0.4),  # y = 3 = reg_max - 1: the last two bins, weights 0 and 1
    -(0.5 * math.log(0.3) + 0.5 * math.log(0.4)),  # y = 2.5
    -math.log(0.2),  # y = 1: bin 1 alone (cross-entropy)
]
DFL_W = np.array([2.0, 1.0, 0.0, 1.0, 0.5])
RNG = np.random.default_rng(14)
DFL_GZ = RNG.normal(size=(2, 3, 6)) * 2.0
DFL_GY = np.array([[0.3, 2.7, 4.9], [1.5, 3.2, 0.8]])
DFL_YOLO_Z = RNG.normal(size=(3, 4, 16))
DFL_YOLO_Y = np.array([[0.0, 3.4, 14.995, 15.0], [7.2, 0.05, 9.9, 12.5], [15.0, 14.0, 2.2, 6.6]])


def _ce_integer(z, y, reduction="mean", reg_max=None):
    """cross-entropy of the logits z (N, n) at the integer targets y (float-valued)."""
    xp = array_namespace(z, y)
    return losskit.cross_entropy(z, xp.astype(y, xp.int64), reduction=reduction)


DFL = LossCases(
    "distribution_focal_loss",
    cases=[
        Case((Z4, Y4), {"reg_max": 4}, expected=DFL_HAND,
             why="softmax(log S) = S = [.1, .2, .3, .4]: -(w_l log S_l + w_r log S_r) with w_l = floor(y) + 1 - y",
             id="hand"),
        Case((np.zeros((1, 4)), np.array([1.25])), {"reg_max": 4}, expected=[math.log(4.0)],
             why="uniform logits: every log S_i = -log 4, the weights sum to 1", grad=False, id="uniform"),
        Case((Z4[:3], np.array([3.0, 3.7, -1.0])), {"reg_max": 4, "clamp": 0.01},
             expected=[-(0.01 * math.log(0.3) + 0.99 * math.log(0.4))] * 2 + [-math.log(0.1)],
             why="ultralytics' clamp to [0, 3 - 0.01]: 3 and 3.7 become 2.99 (weights 0.01, 0.99), -1 becomes 0",
             grad=False, id="clamp"),
        Case((Z4, Y4), {"reg_max": 4, "weight": DFL_W}, expected=list(DFL_W * np.array(DFL_HAND)),
             mean=float((DFL_W * np.array(DFL_HAND)).sum() / DFL_W.sum()),
             why="weighted: w * loss, mean sum(w l) / sum(w)", grad=False, id="weighted"),
        Case((DFL_GZ, DFL_GY), {"reg_max": 6}, id="grad"),
        Case((DFL_YOLO_Z, DFL_YOLO_Y), {"reg_max": 16, "clamp": 0.01}, id="grad-yolo"),
    ],
    bad=[
        Bad((Z4, Y4), {"reg_max": 5}, ValueError, r"pred_dist: expected shape \(\.\.\., reg_max\) = \(\.\.\., 5\), got \(5, 4\)", id="reg_max-mismatch"),
        Bad((Z4, Y4), {"reg_max": 1}, ValueError, "reg_max: expected an int >= 2, got 1", id="reg_max-1"),
        Bad((Z4, Y4), {"reg_max": 4.0}, TypeError, "reg_max: expected an int, got float", id="reg_max-float"),
        Bad((Z4, Y4), {}, TypeError, "reg_max", id="reg_max-missing"),
        Bad((Z4, np.array([0.0, 1.0, 3.5, 1.0, 0.0])), {"reg_max": 4}, ValueError,
            r"target: expected distances in \[0, reg_max - 1\] = \[0, 3\], got values in \[0.0, 3.5\] \(clamp=0.01", id="range-high"),
        Bad((Z4, np.array([-0.5, 1.0, 2.0, 1.0, 0.0])), {"reg_max": 4}, ValueError, r"target: expected distances in \[0, reg_max - 1\]", id="range-low"),
        Bad((Z4, Y4[:3]), {"reg_max": 4}, ValueError, r"target: expected the shape of pred_dist without its bins axis \(5,\), got \(3,\)", id="target-shape"),
        Bad((np.zeros((5, 4), dtype=np.int64), Y4), {"reg_max": 4}, TypeError, "pred_dist: expected a floating-point array", id="int-pred"),
        Bad((Z4, Y4), {"reg_max": 4, "clamp": -0.01}, ValueError, "clamp: expected a number >= 0.0", id="clamp-neg"),
        Bad((Z4, Y4), {"reg_max": 4, "clamp": 3.0}, ValueError, "clamp: expected a number < 3.0", id="clamp-big"),
        Bad((Z4, Y4), {"reg_max": 4, "weight": np.ones(3)}, ValueError, "weight: expected a shape broadcastable to target's shape", id="weight"),
        Bad((Z4, Y4), {"reg_max": 4, "reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
    ],
    empty=(np.zeros((0, 4)), np.zeros((0,))),
    identities=[
        Identity((Z4, np.array([1.0, 0.0, 2.0, 2.0, 1.0])), rhs=_ce_integer, options={"reg_max": 4},
                 why="an integer target j below the last bin puts weight 1 on bin j: the cross-entropy at j", id="ce"),
    ],
)


# --------------------------------------------------------------------------- QFL and Varifocal

L3 = math.log(3.0)  # sigmoid(log 3) = 3/4, sigmoid(-log 3) = 1/4
QX = np.array([0.0, L3, -L3, L3])
QY = np.array([1.0, 0.5, 0.0, 0.9])
GX = np.array([[0.3, -1.2, 2.5], [-0.7, 1.9, 0.1]])
GY = np.array([[0.0, 0.35, 0.8], [0.6, 0.0, 0.15]])
BIG_X = np.array([-1e4, -1e4, 1e4, 80.0])
BIG_Y = np.array([0.0, 1.0, 0.0, 0.5])
E_2D = np.zeros((0, 3))


def _bce(p, y):
    return -(y * math.log(p) + (1 - y) * math.log(1 - p)) if 0 < p < 1 else None


def _score_bad(name):
    return [
        Bad((QX, np.array([1.0, 1.5, 0.0, 0.0])), {}, ValueError, r"score: expected probabilities in \[0, 1\], got values in \[0.0, 1.5\]", id="score-range"),
        Bad((QX, np.array([1.0, -0.1, 0.0, 0.0])), {}, ValueError, r"score: expected probabilities in \[0, 1\]", id="score-neg"),
        Bad((np.zeros(4, dtype=np.int64), QY), {}, TypeError, "logits: expected a floating-point array", id="int-logits"),
        Bad((QX, np.zeros(3)), {}, ValueError, r"score: expected a shape broadcastable with logits \(4,\), got \(3,\)", id="shape"),
        Bad((QX, QY), {"weight": np.ones(3)}, ValueError, "weight: expected a shape broadcastable to the loss's shape", id="weight"),
        Bad((QX, QY), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad(([0.0], [1.0]), {}, TypeError, "logits: expected an array", id="list"),
    ]


QFL = LossCases(
    "quality_focal_loss",
    cases=[
        Case((QX, QY), expected=[0.25 * LN2, (1 / 16) * _bce(0.75, 0.5), (1 / 16) * _bce(0.25, 0.0), 0.15**2 * _bce(0.75, 0.9)],
             why="sigma = 1/2, 3/4, 1/4, 3/4: |y - sigma|^2 = 1/4, 1/16, 1/16, 0.15^2 times BCE(sigma, y) "
                 "(1/2 -> log 2; 3/4 vs 1/2 -> (log 4/3 + log 4)/2; 1/4 vs 0 -> log 4/3)", id="hand"),
        Case((QX, QY), {"beta": 1.0}, expected=[0.5 * LN2, 0.25 * _bce(0.75, 0.5), 0.25 * _bce(0.25, 0.0), 0.15 * _bce(0.75, 0.9)],
             why="beta = 1: |y - sigma| times BCE", grad=False, id="beta1"),
        Case((BIG_X, BIG_Y), expected=[0.0, 1e4, 1e4, 0.25 * (80.0 * 0.5)],
             why="sigma(-1e4) = 0: y = 0 -> 0; y = 1 -> 1^2 * softplus(1e4) = 1e4; sigma(1e4) = 1, y = 0 -> 1e4; "
                 "x = 80, y = 1/2: (1/2)^2 (80 - 40) (softplus(80) = 80 to double precision)", grad=False, id="huge-logits"),
        Case((GX, GY), id="grad"),
        Case((GX, GY), {"beta": 2.5, "weight": np.array([[1.0], [3.0]])}, id="grad-weighted"),
    ],
    bad=[*_score_bad("quality_focal_loss"),
         Bad((QX, QY), {"beta": -1.0}, ValueError, "beta: expected a number >= 0.0, got -1.0", id="beta-neg")],
    empty=(E_2D, E_2D),
    identities=[
        Identity((GX, GY), rhs=losskit.binary_cross_entropy_with_logits, options={"beta": 0.0},
                 why="beta = 0 drops the focusing factor: binary cross-entropy with logits", id="bce"),
    ],
)

VX = np.array([0.0, 0.0, L3, L3])
VY = np.array([0.5, 0.0, 0.9, 0.0])
VFL = LossCases(
    "varifocal_loss",
    cases=[
        Case((VX, VY), expected=[0.5 * LN2, 0.75 * 0.25 * LN2, 0.9 * _bce(0.75, 0.9), 0.75 * 0.75**2 * math.log(4.0)],
             why="p = 1/2, 1/2, 3/4, 3/4: positive q BCE(p, q) (0.5 log 2; 0.9 BCE(3/4, 0.9)); negative "
                 "alpha p^2 (-log(1 - p)) (0.75 / 4 log 2; 0.75 (3/4)^2 log 4)", id="hand"),
        Case((VX, VY), {"iou_weighted": False}, expected=[LN2, 0.75 * 0.25 * LN2, _bce(0.75, 0.9), 0.75 * 0.75**2 * math.log(4.0)],
             why="iou_weighted=False: positives weighted by 1", grad=False, id="not-iou-weighted"),
        Case((VX, VY), {"alpha": 0.25, "gamma": 1.0}, expected=[0.5 * LN2, 0.25 * 0.5 * LN2, 0.9 * _bce(0.75, 0.9), 0.25 * 0.75 * math.log(4.0)],
             why="alpha = 0.25, gamma = 1 on the negatives", grad=False, id="alpha-gamma"),
        Case((BIG_X, BIG_Y), expected=[0.0, 1e4, 0.75 * 1e4, 0.5 * (80.0 - 0.5 * 80.0)],
             why="x = -1e4, q = 0: p^2 = 0 and softplus(-1e4) = 0; q = 1: 1 * softplus(1e4) = 1e4 (VarifocalNet #26: "
                 "finite); x = 1e4, q = 0: 0.75 * 1 * 1e4; x = 80, q = 1/2: 1/2 (80 - 40)", grad=False, id="huge-logits"),
        Case((GX, GY), id="grad"),
        Case((GX, GY), {"gamma": 1.5, "iou_weighted": False, "weight": np.array([[2.0], [0.5]])}, id="grad-options"),
    ],
    bad=[*_score_bad("varifocal_loss"),
         Bad((VX, VY), {"alpha": -0.1}, ValueError, "alpha: expected a number >= 0.0", id="alpha-neg"),
         Bad((VX, VY), {"gamma": -2.0}, ValueError, "gamma: expected a number >= 0.0", id="gamma-neg"),
         Bad((VX, VY), {"iou_weighted": 1}, TypeError, "iou_weighted: expected a bool, got int", id="iou_weighted-int")],
    empty=(E_2D, E_2D),
    identities=[
        Identity((GX, GY), rhs=losskit.binary_cross_entropy_with_logits,
                 options={"alpha": 1.0, "gamma": 0.0, "iou_weighted": False},
                 why="alpha = 1, gamma = 0, unweighted positives: every element weighs 1, plain BCE", id="bce"),
    ],
)


# --------------------------------------------------------------------------- OKS

SIG3 = (0.5, 1.0, 0.25)  # (2 sigma)^2 = 1, 4, 0.25
KP_T = np.zeros((2, 3, 2))
KP_P = np.array([
    [[2.0, 0.0], [2.0, 2.0], [9.0, 9.0]],   # d^2 = 4, 8, (invisible)
    [[0.0, 1.0], [5.0, 5.0], [0.5, 0.0]],   # d^2 = 1, (invisible), 0.25
])
KP_V = np.array([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0]])
KP_AREA = np.array([4.0, 1.0])
OKS_EPS = 1e-9


def _oks(d2, s, sigma):
    return -math.expm1(-d2 / (2.0 * (s + OKS_EPS) * (2.0 * sigma) ** 2))


OKS_HAND = [[_oks(4, 4, 0.5), _oks(8, 4, 1.0), 0.0], [_oks(1, 1, 0.5), 0.0, _oks(0.25, 1, 0.25)]]
KG_P = RNG.normal(size=(2, 4, 2)) * 3.0
KG_T = RNG.normal(size=(2, 4, 2)) * 3.0
KG_V = np.array([[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
KG_AREA = np.array([30.0, 12.0])
SIG4 = (0.3, 0.7, 0.5, 0.9)  # Python floats: a tuple of NumPy scalars is an array to dynamo
COCO_P = RNG.normal(size=(3, 17, 2)) * 5.0 + 50.0
COCO_T = RNG.normal(size=(3, 17, 2)) * 5.0 + 50.0
COCO_V = (RNG.random(size=(3, 17)) > 0.3).astype(np.float64)
COCO_AREA = np.array([900.0, 2500.0, 400.0])

OKS = LossCases(
    "keypoint_oks_loss",
    cases=[
        Case((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": SIG3}, expected=OKS_HAND,
             why="e = d^2 / (2 s (2 sigma)^2): object 0 (s = 4): 4/8 = 0.5, 8/32 = 0.25, invisible; object 1 "
                 "(s = 1): 1/2 = 0.5, invisible, 0.25/0.5 = 0.5; loss 1 - exp(-e), 0 where invisible",
             grad=False, id="hand"),
        Case((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": SIG3, "scale_by_visible": True},
             expected=[[1.5 * v for v in row] for row in OKS_HAND],
             why="ultralytics' K / visible = 3 / 2 for both objects", grad=False, id="scale-by-visible"),
        Case((KP_P, KP_T, KP_V > 0, KP_AREA), {"sigmas": np.array(SIG3)}, expected=OKS_HAND,
             why="boolean visibility and sigmas as an array: the same", grad=False, id="bool-vis-array-sigmas"),
        Case((np.array([[[3.0, 4.0]]]), np.zeros((1, 1, 2)), np.ones((1, 1)), np.array([25.0])), {"sigmas": [0.5]},
             expected=[[_oks(25, 25, 0.5)]], why="d = 5, s = 25, sigma = 1/2: e = 25 / 50", grad=False, id="docstring"),
        Case((KG_P, KG_T, KG_V, KG_AREA), {"sigmas": tuple(SIG4)}, id="grad"),
        Case((KG_P, KG_T, KG_V, KG_AREA), {"sigmas": tuple(SIG4), "scale_by_visible": True}, id="grad-scaled"),
        Case((COCO_P, COCO_T, COCO_V, COCO_AREA), {"sigmas": losskit.COCO_KEYPOINT_SIGMAS}, id="grad-coco"),
    ],
    bad=[
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": None}, TypeError,
            r"sigmas: expected one positive sigma per keypoint, e.g. losskit.COCO_KEYPOINT_SIGMAS .*ultralytics #2543", id="sigmas-none"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {}, TypeError, "sigmas", id="sigmas-missing"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": (0.5, 1.0)}, ValueError, "sigmas: expected 3 sigmas .one per keypoint of pred., got 2", id="sigmas-count"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": (0.5, 0.0, 0.25)}, ValueError, "sigmas: expected one positive sigma per keypoint.*got 0.0", id="sigmas-zero"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": (0.5, -1.0, 0.25)}, ValueError, "sigmas: expected one positive sigma.*got -1.0", id="sigmas-neg"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": np.array([0.5, 0.0, 0.25])}, ValueError, "sigmas: expected one positive sigma.*minimum of 0.0", id="sigmas-array-zero"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": np.ones(4)}, ValueError, r"sigmas: expected shape \(3,\)", id="sigmas-array-shape"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": "coco"}, TypeError, "sigmas: expected one positive sigma", id="sigmas-str"),
        Bad((np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), KP_V, KP_AREA), {"sigmas": SIG3}, ValueError,
            r"pred: expected keypoints of shape \(\.\.\., K, 2\), got shape \(2, 3, 3\)", id="pred-shape"),
        Bad((KP_P, KP_T, np.ones((2, 4)), KP_AREA), {"sigmas": SIG3}, ValueError,
            r"visibility: expected a shape broadcastable to the keypoints' shape \(2, 3\), got \(2, 4\)", id="visibility-shape"),
        Bad((KP_P, KP_T, KP_V, np.ones((2, 1))), {"sigmas": SIG3}, ValueError,
            r"area: expected a shape broadcastable to the objects' shape \(2,\), got \(2, 1\)", id="area-shape"),
        Bad((KP_P, KP_T, KP_V, np.array([4.0, -1.0])), {"sigmas": SIG3}, ValueError, "area: expected non-negative areas, got a minimum of -1.0", id="area-neg"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": SIG3, "scale_by_visible": 1}, TypeError, "scale_by_visible: expected a bool", id="flag"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": SIG3, "eps": 0.0}, ValueError, "eps: expected a number > 0.0", id="eps"),
        Bad((KP_P, KP_T, KP_V, KP_AREA), {"sigmas": SIG3, "reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad((KP_P.astype(np.int64), KP_T, KP_V, KP_AREA), {"sigmas": SIG3}, TypeError, "pred: expected a floating-point array", id="int-pred"),
    ],
    empty=(np.zeros((0, 3, 2)), np.zeros((0, 3, 2)), np.zeros((0, 3)), np.zeros((0,))),
    identities=[
        Identity((KG_P, KG_T, np.ones((2, 4)), KG_AREA), rhs=losskit.keypoint_oks_loss,
                 options={"sigmas": tuple(SIG4), "scale_by_visible": True}, rhs_options={"sigmas": tuple(SIG4)},
                 why="every keypoint visible: K / visible = 1", id="all-visible"),
        Identity((KG_P, KG_T, KG_V, KG_AREA), rhs=lambda p, t, v, s, **k: losskit.keypoint_oks_loss(p + 40.0, t + 40.0, v, s, **k),
                 options={"sigmas": tuple(SIG4)}, rhs_options={"sigmas": tuple(SIG4)}, why="translation invariant", id="translation"),
    ],
)

CASES = [NWD, PIOU, DFL, QFL, VFL, OKS]
