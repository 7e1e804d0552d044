"""Case-table rows of the box family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (or with ``math`` on the paper's formula) in ``why``;
none was produced by losskit. ``eps = 1e-7`` enters the denominators: its effect on these
unit-sized boxes is below 1e-6 (hence ``atol=2e-6`` on the hand values).

Box pairs (xyxy):

* A: pred [0,0,2,2], target [1,1,3,3]: inter 1, union 4 + 4 - 1 = 7, IoU 1/7; enclosing
  [0,0,3,3]: area 9, c^2 = 18; centres (1,1), (2,2): rho^2 = 2.
* S: pred [1,0,3,2], target [0,0,2,2] (same size, shifted by 1 in x): inter 2, union 6,
  IoU 1/3; enclosing [0,0,3,2]: Cw = 3, Ch = 2, c^2 = 13; dx = 1, dy = 0, rho^2 = 1.
* Q: pred [0,0,2,2], target [0,0,1,1] (quarter-size target inside): IoU 1/4; enclosing =
  pred: Cw = Ch = 2, c^2 = 8; centres (1,1), (.5,.5): rho^2 = 0.5.
* D: pred [0,0,1,1], target [2,0,3,1] (disjoint): IoU 0; enclosing [0,0,3,1] area 3,
  union 2; c^2 = 10; rho^2 = 4.
* R: pred [0,0,2,1], target [0,0,1,2] (rotated): inter 1, union 3, IoU 1/3; enclosing
  [0,0,2,2] c^2 = 8; centres (1,.5), (.5,1): rho^2 = 0.5.

The ``grad`` cases are random overlapping pairs away from every kink; losses with a
detached term (CIoU's alpha, Wise-IoU's diagonal and normaliser, Focal-EIoU's weight) take
it at inputs where the detached term carries no gradient anyway (``v = 0``, ``rho = 0``) or
with the option that differentiates it; their frozen-term gradients are checked in
``tests/test_boxes.py``. The ``fast-*`` cases are random batches for the fast paths.
"""

from __future__ import annotations

import math

import numpy as np

from . import Bad, Case, Identity, LossCases

E = math.exp


def _pair(p, t):
    return np.array([p]), np.array([t])


A = _pair([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0])
S = _pair([1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 2.0])
Q = _pair([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0])
D = _pair([0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0])
R = _pair([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 2.0])
EMPTY = (np.zeros((0, 4)), np.zeros((0, 4)))


def _v(w, h, wg, hg):
    """CIoU's aspect term from the paper's formula."""
    return 4 / math.pi**2 * (math.atan(wg / hg) - math.atan(w / h)) ** 2


V_R = _v(2, 1, 1, 2)  # (4/pi^2)(atan .5 - atan 2)^2
ALPHA_R = V_R / (2 / 3 + V_R)


def _random_pairs(seed, n, same_shape=False, same_centre=False):
    """Valid xyxy boxes (sizes 1..5 in a 10 x 10 field) and targets near them."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 10.0, size=(n, 2))
    wh = rng.uniform(1.0, 5.0, size=(n, 2))
    pred = np.concatenate([xy, xy + wh], axis=-1)
    twh = wh * (1.0 if same_shape else rng.uniform(0.6, 1.5, size=(n, 2)))
    if same_centre:
        txy = xy + (wh - twh) / 2
    else:
        txy = xy + rng.uniform(-1.5, 1.5, size=(n, 2))
    return pred, np.concatenate([txy, txy + twh], axis=-1)


GRAD = _random_pairs(3, 4)
SAME_SHAPE = _random_pairs(4, 4, same_shape=True)  # CIoU's v = 0: alpha carries no gradient
SAME_CENTRE = _random_pairs(5, 4, same_centre=True)  # rho = 0: WIoU's detached c^2 too
FAST = _random_pairs(6, 37)
P1, T1 = A


def _hand(args, options, expected, why, id):
    return Case(args, options, expected=[expected], why=why, grad=False, id=id, atol=2e-6, rtol=1e-5)


def _fast(options=None, id="fast"):
    return Case(FAST, dict(options or {}), grad=False, id=id)


def _common_bad(fn_options=None):
    """Bad inputs every box loss shares."""
    o = dict(fn_options or {})
    return [
        Bad(A, {**o, "reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad(A, {**o, "fmt": "yolo"}, ValueError, "fmt: expected one of 'xyxy', 'xywh', 'cxcywh', got 'yolo'", id="fmt"),
        Bad(A, {**o, "eps": 0.0}, ValueError, "eps: expected a number > 0.0, got 0.0", id="eps-0"),
        Bad(A, {**o, "eps": "small"}, TypeError, "eps: expected a real number, got str", id="eps-str"),
        Bad((np.zeros((2, 3)), np.zeros((2, 4))), o, ValueError,
            r"pred: expected boxes of shape \(\.\.\., 4\), got shape \(2, 3\)", id="pred-shape"),
        Bad((np.zeros((3, 4)), np.zeros((2, 4))), o, ValueError,
            r"target: expected a shape broadcastable with pred \(3, 4\), got \(2, 4\)", id="broadcast"),
        Bad((np.zeros((2, 4), dtype=np.int64), np.zeros((2, 4))), o, TypeError,
            "pred: expected a floating-point array of boxes, got dtype .*int64", id="int-pred"),
    ]


def _row(name, cases, bad=(), options=None, **kw):
    return LossCases(name, cases=cases, bad=[*_common_bad(options), *bad], empty=EMPTY, **kw)


_MODIFIER_BASES = [  # (base, its function's options as base_options, the function)
    ("iou", {"mode": "square"}, "iou_loss"),
    ("giou", {}, "giou_loss"),
    ("diou", {}, "diou_loss"),
    ("ciou", {"alpha_threshold": 0.5}, "ciou_loss"),
    ("eiou", {}, "eiou_loss"),
    ("siou", {"theta": 3.0}, "siou_loss"),
    ("wiou", {"version": 3, "iou_mean": 0.4}, "wiou_loss"),
    ("mpdiou", {"image_size": (30.0, 20.0)}, "mpdiou_loss"),
    ("shape", {"scale": 1.0}, "shape_iou_loss"),
]


def _modifier_identities(own):
    import losskit

    return [
        Identity(GRAD, getattr(losskit, fn), {"base": base, **own, "base_options": opts}, opts,
                 why=f"the modifier at its neutral setting ({own}) is its base {base}", id=f"neutral-{base}")
        for base, opts, fn in _MODIFIER_BASES
    ]


def _rows():
    import losskit

    n = {"reduction": "none"}
    return [
        _row("iou_loss", [
            _hand(A, {}, 1 - 1 / 7, "1 - IoU, IoU = 1/7", "A"),
            _hand(Q, {}, 0.75, "quarter-size box inside the other: IoU 0.25", "Q"),
            _hand(D, {}, 1.0, "disjoint: IoU 0", "D"),
            _hand(Q, {"mode": "square"}, 1 - 0.25**2, "YOLOX: 1 - IoU^2 = 1 - 1/16", "Q-square"),
            _hand(A, {"mode": "log"}, math.log(7.0), "UnitBox: -ln IoU = ln 7", "A-log"),
            _hand(D, {"mode": "log"}, -math.log(1e-7), "-ln max(IoU, eps): disjoint gives -ln(eps)", "D-log"),
            Case(GRAD, id="grad"),
            Case(GRAD, {"mode": "square"}, id="grad-square"),
            Case(GRAD, {"mode": "log"}, id="grad-log"),
        ], [Bad(A, {"mode": "exp"}, ValueError, "mode: expected one of 'linear', 'square', 'log', got 'exp'", id="mode")]),
        _row("giou_loss", [
            _hand(A, {}, 1 - 1 / 7 + (9 - 7) / 9, "1 - IoU + (|C| - |U|) / |C|", "A"),
            _hand(D, {}, 1 + (3 - 2) / 3, "disjoint: 1 - 0 + (3 - 2) / 3", "D"),
            _hand(Q, {}, 0.75, "C = pred = union: no penalty", "Q"),
            Case(GRAD, id="grad"),
            _fast(),
        ], [Bad((P1, [[0, 0, 1, 1]]), {}, TypeError, "target: expected an array", id="list-target")]),
        _row("diou_loss", [
            _hand(A, {}, 1 - 1 / 7 + 2 / 18, "1 - IoU + rho^2 / c^2", "A"),
            _hand(S, {}, 1 - 1 / 3 + 1 / 13, "1 - 1/3 + 1 / 13", "S"),
            _hand(D, {}, 1 + 4 / 10, "1 - 0 + 4 / 10", "D"),
            Case(GRAD, id="grad"),
            _fast(),
        ]),
        _row("ciou_loss", [
            _hand(S, {}, 1 - 1 / 3 + 1 / 13, "equal aspect ratios: v = 0, CIoU = DIoU", "S"),
            _hand(R, {}, 1 - 1 / 3 + 0.5 / 8 + ALPHA_R * V_R, "DIoU + alpha v, v = (4/pi^2)(atan .5 - atan 2)^2", "R"),
            _hand(R, {"alpha_threshold": 0.5}, 1 - 1 / 3 + 0.5 / 8, "journal version: IoU 1/3 < 0.5, alpha = 0: DIoU", "R-journal"),
            _hand(R, {"alpha_threshold": 0.3}, 1 - 1 / 3 + 0.5 / 8 + ALPHA_R * V_R, "a threshold below the IoU keeps the term", "R-thr-0.3"),
            Case(SAME_SHAPE, id="grad-same-shape"),
            Case(SAME_SHAPE, {"alpha_threshold": 0.5}, id="grad-journal"),
            _fast(),
            _fast({"alpha_threshold": 0.5}, id="fast-journal"),
        ], [Bad(A, {"alpha_threshold": 1.5}, ValueError, "alpha_threshold: expected a number <= 1.0, got 1.5", id="threshold")],
            identities=[
                Identity(GRAD, losskit.ciou_loss, {"alpha_threshold": 0.0}, why="threshold 0: the paper's CIoU", id="thr-0"),
                Identity(GRAD, losskit.diou_loss, {"alpha_threshold": 1.0}, why="threshold 1 drops v for IoU < 1: DIoU", id="thr-1"),
            ]),
        _row("eiou_loss", [
            _hand(Q, {}, 0.75 + 0.0625 + 0.25 + 0.25, "1 - 1/4 + 0.5/8 + (2-1)^2/2^2 + (2-1)^2/2^2", "Q"),
            _hand(S, {}, 1 - 1 / 3 + 1 / 13, "equal sizes: EIoU = DIoU", "S"),
            Case(GRAD, id="grad"),
            _fast(),
        ]),
        _row("focal_eiou_loss", [
            _hand(Q, {}, 0.5 * 1.3125, "IoU^gamma EIoU: sqrt(1/4) * 1.3125", "Q"),
            _hand(Q, {"gamma": 2.0}, 0.0625 * 1.3125, "(1/4)^2 * 1.3125", "Q-gamma2"),
            Case(GRAD, {"detach_weight": False}, id="grad-differentiated-weight"),
        ], [Bad(A, {"gamma": -1.0}, ValueError, "gamma: expected a number >= 0.0, got -1.0", id="gamma"),
            Bad(A, {"detach_weight": 1}, TypeError, "detach_weight: expected a bool, got int", id="detach")],
            identities=[Identity(GRAD, losskit.eiou_loss, {"gamma": 0.0}, why="gamma = 0: EIoU", id="gamma-0")]),
        _row("siou_loss", [
            _hand(S, {}, 1 - 1 / 3 + (1 - E(-2 / 9)) / 2, "dy = 0: Lambda = 0, gamma = 2; rho_x = (1/3)^2; Omega = 0", "S"),
            _hand(A, {}, 1 - 1 / 7 + (2 * (1 - E(-1 / 9))) / 2,
                  "45 degrees: Lambda = 1, gamma = 1; Cw = Ch = 3, rho_x = rho_y = 1/9; Omega = 0", "A"),
            _hand(_pair([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]), {}, 0.5 + ((1 - E(-2 / 16)) + (1 - E(-0.5)) ** 4) / 2,
                  "IoU 1/2; dx = 0.5, dy = 0: gamma = 2, Cw = 2: rho_x = 1/16; omega_w = 1/2, omega_h = 0", "shape"),
            _hand(_pair([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]), {"theta": 2.0}, 0.5 + ((1 - E(-2 / 16)) + (1 - E(-0.5)) ** 2) / 2,
                  "the same with theta = 2", "shape-theta2"),
            Case(GRAD, id="grad"),
            Case(GRAD, {"theta": 2.5}, id="grad-theta"),
            _fast(),
            _fast({"theta": 2.5}, id="fast-theta"),
        ], [Bad(A, {"theta": 0.5}, ValueError, "theta: expected a number >= 1.0, got 0.5", id="theta")]),
        _row("alpha_iou_loss", [
            _hand(Q, {}, 1 - 0.25**3, "1 - IoU^3", "Q"),
            _hand(D, {"base": "giou"}, 1 + (1 / 3) ** 3, "1 - 0 + (1/3)^3", "D-giou"),
            _hand(S, {"base": "diou", "alpha": 2.0}, 1 - 1 / 9 + (1 / 13) ** 2, "1 - (1/3)^2 + (1/13)^2", "S-diou"),
            _hand(R, {"base": "ciou", "alpha": 2.0}, 1 - 1 / 9 + (0.5 / 8) ** 2 + (ALPHA_R * V_R) ** 2,
                  "1 - IoU^2 + (rho^2/c^2)^2 + (beta v)^2", "R-ciou"),
            Case(GRAD, id="grad"),
            Case(GRAD, {"base": "giou"}, id="grad-giou"),
            Case(GRAD, {"base": "diou", "alpha": 0.5}, id="grad-diou-0.5"),
        ], [Bad(A, {"alpha": 0.0}, ValueError, "alpha: expected a number > 0.0, got 0.0", id="alpha"),
            Bad(A, {"base": "eiou"}, ValueError, "base: expected one of 'iou', 'giou', 'diou', 'ciou', got 'eiou'", id="base")],
            identities=[Identity(GRAD, getattr(losskit, f"{b}_loss"), {"alpha": 1.0, "base": b}, why="alpha = 1: the base",
                                 id=f"alpha1-{b}") for b in ("iou", "giou", "diou", "ciou")]),
        _row("wiou_loss", [
            _hand(S, {"version": 3, "iou_mean": 2 / 3}, 1.9**2 / 3 * 2 / 3 * E(1 / 13),
                  "v3: beta = 1 (mean = 2/3): r = 1 / (3 * 1.9^(1 - 3)) = 1.9^2 / 3; R = exp(1/13)", "S-v3"),
            _hand(S, {}, 2 / 3 * E(1 / 13), "v1: R L_IoU = exp(rho^2 / c^2) * 2/3", "S-v1"),
            _hand(S, {"version": 2, "iou_mean": 1 / 3}, math.sqrt(2) * 2 / 3 * E(1 / 13), "v2: beta = 2 -> sqrt(2) v1", "S-v2"),
            _hand(S, {"version": 3, "iou_mean": 1 / 3, "alpha": 2.0, "delta": 2.0}, 2 / 3 * E(1 / 13),
                  "v3, alpha = delta = 2, beta = 2: r = 2 / (2 * 2^0) = 1", "S-v3-a2d2"),
            _hand(S, {"version": 3}, 1.9**2 / 3 * 2 / 3 * E(1 / 13), "v3 without a mean: the batch mean of one box, beta = 1", "S-v3-batch"),
            _hand(S, {"version": 3, "iou_mean": np.float64(2 / 3)}, 1.9**2 / 3 * 2 / 3 * E(1 / 13),
                  "a NumPy scalar mean is a number on every backend (issue 20, class 7)", "S-v3-numpy-scalar"),
            Case(SAME_CENTRE, id="grad-v1-same-centre"),
        ], [Bad(A, {"version": 4}, ValueError, "version: expected one of 1, 2, 3, got 4", id="version"),
            Bad(A, {"version": 3, "iou_mean": -0.5}, ValueError, "iou_mean: expected a number > 0.0, got -0.5", id="mean-neg"),
            Bad(A, {"version": 3, "iou_mean": np.float64(-0.5)}, ValueError, r"iou_mean: expected a number > 0.0, got np.float64\(-0.5\)", id="mean-numpy-neg"),
            Bad(A, {"version": 3, "iou_mean": np.array(0.0)}, ValueError, "iou_mean: expected a positive running mean, got 0.0", id="mean-0"),
            Bad(A, {"version": 3, "iou_mean": np.ones(2)}, ValueError, r"iou_mean: expected a scalar \(0-d array\), got shape \(2,\)", id="mean-shape"),
            Bad(A, {"alpha": 0.0}, ValueError, "alpha: expected a number > 0.0, got 0.0", id="alpha")],
            why_no_shell="losskit.torch.WIoULoss keeps the running mean as state (tests/test_wise_iou.py)"),
        _row("mpdiou_loss", [
            _hand(S, {"image_size": (10, 10)}, 1 - 1 / 3 + 2 / 200, "d1^2 = d2^2 = 1: 1 - 1/3 + 2 / (10^2 + 10^2)", "S"),
            _hand(S, {"image_size": (4.0, 2.0)}, 1 - 1 / 3 + 2 / 20, "W^2 + H^2 = 20", "S-4x2"),
            Case(GRAD, {"image_size": (20.0, 16.0)}, id="grad"),
        ], [Bad(A, {"image_size": 640}, TypeError, r"image_size: expected a pair \(W, H\), got 640", id="size-int"),
            Bad(A, {"image_size": (640, 0)}, ValueError, r"image_size\[1\]: expected a number > 0.0, got 0", id="size-0"),
            Bad(A, {"image_size": None}, TypeError, r"image_size: expected \(W, H\)", id="size-none")],
            options={"image_size": (10, 10)}),
        _row("shape_iou_loss", [
            _hand(S, {}, 1 - 1 / 3 + 1 / 13, "scale 0: ww = hh = 1; equal shapes: DIoU", "S"),
            _hand(_pair([1.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 1.0]), {"scale": 1.0}, 1 - 1 / 3 + (2 / 3) / 10,
                  "scale 1, target w 2 h 1: ww = 4/3, hh = 2/3; dx = 1, dy = 0; c^2 = 10: dist = hh / 10", "scale1"),
            _hand(_pair([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]), {"scale": 1.0}, 0.5 + 0.25 / 5 + 0.5 * (1 - E(-0.5)) ** 4,
                  "ww = hh = 1; dx = .5, c^2 = 5: dist = .25/5; omega_w = 1/2", "scale1-omega"),
            Case(GRAD, {"scale": 0.5}, id="grad"),
        ], [Bad(A, {"scale": -1.0}, ValueError, "scale: expected a number >= 0.0, got -1.0", id="scale")]),
        _row("inner_iou_loss", [
            _hand(S, {"base": "iou", "ratio": 0.5}, 1.0,
                  "inner boxes [.5,.5,1.5,1.5], [1.5,.5,2.5,1.5] touch: IoU_inner = 0 -> L_IoU + IoU = 1", "S-iou-r0.5"),
            _hand(S, {"base": "iou", "ratio": 2.0}, 2 / 3 + 1 / 3 - 0.6,
                  "ratio 2: inner [-1,-1,3,3], [0,-1,4,3]: inter 12, union 32 - 12 = 20", "S-iou-r2"),
            _hand(S, {"base": "diou", "ratio": 2.0}, 2 / 3 + 1 / 13 + 1 / 3 - 0.6, "DIoU + IoU - IoU_inner", "S-diou-r2"),
            _hand(S, {"base": "siou", "ratio": 2.0, "base_options": {"theta": 2.0}}, 1 - 1 / 3 + (1 - E(-2 / 9)) / 2 + 1 / 3 - 0.6,
                  "SIoU on S (Omega = 0, theta irrelevant) + IoU - IoU_inner", "S-siou-r2"),
            Case(GRAD, {"base": "giou", "ratio": 0.8}, id="grad-giou"),
            Case(GRAD, {"base": "mpdiou", "ratio": 1.2, "base_options": {"image_size": (20.0, 20.0)}}, id="grad-mpdiou"),
            _fast(),
            _fast({"base": "siou", "ratio": 1.3}, id="fast-siou"),
        ], [Bad(A, {"ratio": 0.0}, ValueError, "ratio: expected a number > 0.0, got 0.0", id="ratio"),
            Bad(A, {"base": "dice"}, ValueError, "base: expected one of 'iou', 'giou'", id="base"),
            Bad(A, {"base": "giou", "base_options": {"theta": 5.0}}, ValueError,
                r"base_options: expected options of base='giou' \(no options\), got 'theta'", id="base-options-unknown"),
            Bad(A, {"base": "ciou", "base_options": {"alpha_threshold": 2.0}}, ValueError,
                "alpha_threshold: expected a number <= 1.0, got 2.0", id="base-options-value"),
            Bad(A, {"base_options": [("theta", 5.0)]}, TypeError, "base_options: expected a dict", id="base-options-type"),
            Bad(A, {"base": "mpdiou"}, TypeError, r"image_size: expected \(W, H\)", id="mpdiou-size")],
            identities=_modifier_identities({"ratio": 1.0})),
        _row("focaler_iou_loss", [
            _hand(Q, {"base": "iou", "u": 0.5}, 0.5, "IoU_f = 0.25 / 0.5 = 0.5 -> 0.75 + 0.25 - 0.5", "Q-iou"),
            _hand(Q, {"base": "iou", "d": 0.3}, 1.0, "d = 0.3 > IoU: IoU_f = 0 -> 0.75 + 0.25", "Q-iou-d0.3"),
            _hand(D, {"base": "giou"}, 1 + 1 / 3, "IoU = 0, IoU_f = 0: GIoU", "D-giou"),
            Case(GRAD, {"base": "giou", "d": 0.05, "u": 0.9}, id="grad-giou"),
            _fast(),
            _fast({"base": "eiou", "d": 0.1, "u": 0.9}, id="fast-eiou"),
        ], [Bad(A, {"d": 0.5, "u": 0.5}, ValueError, "u: expected a number > d = 0.5, got 0.5", id="d-u"),
            Bad(A, {"u": 1.5}, ValueError, "u: expected a number <= 1.0, got 1.5", id="u"),
            Bad(A, {"base": "siou", "base_options": {"theta": 0.0}}, ValueError, "theta: expected a number >= 1.0, got 0.0", id="theta")],
            identities=_modifier_identities({"d": 0.0, "u": 1.0})),
    ]


CASES = _rows()
