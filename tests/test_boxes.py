"""Box losses (the IoU family): hand-derived values, shapes and broadcasting, formats,
reductions, validation, gradients, half precision, empty batches, robustness on the inputs
that break the code people copy, torch modules, and the identities between the losses.

Every expected value is derived by hand (or with ``math`` on the paper's formula) in a
comment; none was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from helpers import check_gradient

E = math.exp
PI2 = math.pi**2


def _v(w, h, wg, hg):
    """CIoU's aspect term from the paper's formula."""
    return 4 / PI2 * (math.atan(wg / hg) - math.atan(w / h)) ** 2


# ---------------------------------------------------------------------------------------
# hand-derived values: (function, options, pred, target, expected per-box loss)
# ---------------------------------------------------------------------------------------
# Box pairs used below (xyxy):
#   A: pred [0,0,2,2], target [1,1,3,3]: inter 1, union 4 + 4 - 1 = 7, IoU 1/7;
#      enclosing [0,0,3,3]: area 9, c^2 = 18; centres (1,1), (2,2): rho^2 = 2.
#   S: pred [1,0,3,2], target [0,0,2,2] (same size, shifted by 1 in x): inter 2, union 6,
#      IoU 1/3; enclosing [0,0,3,2]: Cw = 3, Ch = 2, c^2 = 13; dx = 1, dy = 0, rho^2 = 1.
#   Q: pred [0,0,2,2], target [0,0,1,1] (quarter-size target inside): IoU 1/4;
#      enclosing = pred: Cw = Ch = 2, c^2 = 8; centres (1,1), (.5,.5): rho^2 = 0.5.
#   D: pred [0,0,1,1], target [2,0,3,1] (disjoint): IoU 0; enclosing [0,0,3,1] area 3,
#      union 2; c^2 = 10; rho^2 = 4.
#   R: pred [0,0,2,1], target [0,0,1,2] (rotated): inter 1, union 3, IoU 1/3;
#      enclosing [0,0,2,2] c^2 = 8; centres (1,.5), (.5,1): rho^2 = 0.5.
A = ([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0])
S = ([1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 2.0])
Q = ([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0])
D = ([0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0])
R = ([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 2.0])

_v_R = _v(2, 1, 1, 2)  # (4/pi^2)(atan .5 - atan 2)^2
_alpha_R = _v_R / (2 / 3 + _v_R)

VALUES = {
    "iou_A": (losskit.iou_loss, {}, A, 1 - 1 / 7),
    "iou_Q": (losskit.iou_loss, {}, Q, 0.75),
    "iou_D": (losskit.iou_loss, {}, D, 1.0),
    # GIoU: 1 - IoU + (|C| - |U|)/|C|
    "giou_A": (losskit.giou_loss, {}, A, 1 - 1 / 7 + (9 - 7) / 9),
    "giou_D": (losskit.giou_loss, {}, D, 1 + (3 - 2) / 3),
    "giou_Q": (losskit.giou_loss, {}, Q, 0.75),  # C = pred = union: no penalty
    # DIoU: 1 - IoU + rho^2 / c^2
    "diou_A": (losskit.diou_loss, {}, A, 1 - 1 / 7 + 2 / 18),
    "diou_S": (losskit.diou_loss, {}, S, 1 - 1 / 3 + 1 / 13),
    "diou_D": (losskit.diou_loss, {}, D, 1 + 4 / 10),
    # CIoU: DIoU + alpha v; S and A have equal aspect ratios (v = 0)
    "ciou_S": (losskit.ciou_loss, {}, S, 1 - 1 / 3 + 1 / 13),
    "ciou_R": (losskit.ciou_loss, {}, R, 1 - 1 / 3 + 0.5 / 8 + _alpha_R * _v_R),
    # journal version: IoU 1/3 < 0.5 -> alpha = 0 -> DIoU
    "ciou_R_journal": (losskit.ciou_loss, {"alpha_threshold": 0.5}, R, 1 - 1 / 3 + 0.5 / 8),
    # ... and a threshold below the IoU keeps the term
    "ciou_R_thr_0.3": (losskit.ciou_loss, {"alpha_threshold": 0.3}, R, 1 - 1 / 3 + 0.5 / 8 + _alpha_R * _v_R),
    # EIoU on Q: 1 - 1/4 + 0.5/8 + (2-1)^2/2^2 + (2-1)^2/2^2
    "eiou_Q": (losskit.eiou_loss, {}, Q, 0.75 + 0.0625 + 0.25 + 0.25),
    # EIoU on S: widths equal -> DIoU
    "eiou_S": (losskit.eiou_loss, {}, S, 1 - 1 / 3 + 1 / 13),
    # Focal-EIoU = IoU^gamma EIoU: sqrt(1/4) * 1.3125
    "focal_eiou_Q": (losskit.focal_eiou_loss, {}, Q, 0.5 * 1.3125),
    "focal_eiou_Q_g2": (losskit.focal_eiou_loss, {"gamma": 2.0}, Q, 0.0625 * 1.3125),
    # SIoU on S: dy = 0 -> Lambda = 0, gamma = 2; rho_x = (1/3)^2; same shapes -> Omega = 0
    "siou_S": (losskit.siou_loss, {}, S, 1 - 1 / 3 + (1 - E(-2 / 9)) / 2),
    # SIoU on A: dx = dy = 1 -> 45 degrees: Lambda = sin(pi/2) = 1, gamma = 1;
    # Cw = Ch = 3 -> rho_x = rho_y = 1/9; Delta = 2 (1 - e^(-1/9)); Omega = 0
    "siou_A": (losskit.siou_loss, {}, A, 1 - 1 / 7 + (2 * (1 - E(-1 / 9))) / 2),
    # SIoU, shape cost: pred [0,0,2,1] vs target [0,0,1,1]: IoU 1/2; dx = 0.5, dy = 0 ->
    # gamma = 2, Cw = 2, Ch = 1: rho_x = 1/16; omega_w = |2-1|/2 = 1/2, omega_h = 0
    "siou_shape": (
        losskit.siou_loss, {}, ([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]),
        0.5 + ((1 - E(-2 / 16)) + (1 - E(-0.5)) ** 4) / 2,
    ),
    "siou_shape_theta2": (
        losskit.siou_loss, {"theta": 2.0}, ([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]),
        0.5 + ((1 - E(-2 / 16)) + (1 - E(-0.5)) ** 2) / 2,
    ),
    # Alpha-IoU: 1 - IoU^a + R^a
    "alpha_iou_Q": (losskit.alpha_iou_loss, {}, Q, 1 - 0.25**3),
    "alpha_giou_D": (losskit.alpha_iou_loss, {"base": "giou"}, D, 1 + (1 / 3) ** 3),
    "alpha_diou_S_a2": (losskit.alpha_iou_loss, {"base": "diou", "alpha": 2.0}, S, 1 - 1 / 9 + (1 / 13) ** 2),
    "alpha_ciou_R_a2": (
        losskit.alpha_iou_loss, {"base": "ciou", "alpha": 2.0}, R,
        1 - 1 / 9 + (0.5 / 8) ** 2 + (_alpha_R * _v_R) ** 2,
    ),
    # MPDIoU on S, image 10 x 10: d1^2 = d2^2 = 1 -> 1 - 1/3 + 2 / 200
    "mpdiou_S": (losskit.mpdiou_loss, {"image_size": (10, 10)}, S, 1 - 1 / 3 + 2 / 200),
    # image 4 x 2 (W^2 + H^2 = 20)
    "mpdiou_S_4x2": (losskit.mpdiou_loss, {"image_size": (4.0, 2.0)}, S, 1 - 1 / 3 + 2 / 20),
    # Shape-IoU, scale 0: ww = hh = 1 -> S: DIoU (equal shapes, Omega = 0)
    "shape_S": (losskit.shape_iou_loss, {}, S, 1 - 1 / 3 + 1 / 13),
    # scale 1, target [0,0,2,1] (w 2, h 1): ww = 4/3, hh = 2/3; pred [1,0,3,1]: dx = 1,
    # dy = 0; IoU = 1/3; enclosing [0,0,3,1]: c^2 = 10 -> dist = hh * 1 / 10; Omega = 0
    "shape_scale1": (
        losskit.shape_iou_loss, {"scale": 1.0}, ([1.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 1.0]),
        1 - 1 / 3 + (2 / 3) / 10,
    ),
    # scale 1, shape term: pred [0,0,2,1] vs target [0,0,1,1]: ww = hh = 1; dx = .5;
    # c^2 = 5: dist = .25/5; omega_w = 1/2 -> 0.5 (1 - e^(-1/2))^4
    "shape_scale1_omega": (
        losskit.shape_iou_loss, {"scale": 1.0}, ([0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]),
        0.5 + 0.25 / 5 + 0.5 * (1 - E(-0.5)) ** 4,
    ),
    # Wise-IoU v1 on S: R = exp(rho^2 / c^2) = exp(1/13); L_IoU = 2/3
    "wiou_v1_S": (losskit.wiou_loss, {}, S, 2 / 3 * E(1 / 13)),
    # v2: beta = (2/3) / (1/3) = 2 -> sqrt(2) * v1
    "wiou_v2_S": (losskit.wiou_loss, {"version": 2, "iou_mean": 1 / 3}, S, math.sqrt(2) * 2 / 3 * E(1 / 13)),
    # v3: beta = 1 (mean = 2/3): r = 1 / (3 * 1.9^(1 - 3)) = 1.9^2 / 3
    "wiou_v3_S": (losskit.wiou_loss, {"version": 3, "iou_mean": 2 / 3}, S, 1.9**2 / 3 * 2 / 3 * E(1 / 13)),
    # v3, alpha 2, delta 2, beta = 2 (mean 1/3): r = 2 / (2 * 2^0) = 1
    "wiou_v3_S_a2d2": (
        losskit.wiou_loss, {"version": 3, "iou_mean": 1 / 3, "alpha": 2.0, "delta": 2.0}, S, 2 / 3 * E(1 / 13),
    ),
    # v3 without a mean: the batch mean of one box is its own L_IoU -> beta = 1
    "wiou_v3_S_batchmean": (losskit.wiou_loss, {"version": 3}, S, 1.9**2 / 3 * 2 / 3 * E(1 / 13)),
    # Inner-IoU on S with ratio 0.5: inner boxes [.5,.5,1.5,1.5], [1.5,.5,2.5,1.5] touch:
    # IoU_inner = 0 -> L_IoU + IoU - 0 = 1
    "inner_iou_S_r05": (losskit.inner_iou_loss, {"base": "iou", "ratio": 0.5}, S, 1.0),
    # ratio 2: inner [-1,-1,3,3], [0,-1,4,3]: inter 3 x 4 = 12, union 16 + 16 - 12 = 20
    "inner_iou_S_r2": (losskit.inner_iou_loss, {"base": "iou", "ratio": 2.0}, S, 2 / 3 + 1 / 3 - 0.6),
    "inner_diou_S_r2": (losskit.inner_iou_loss, {"base": "diou", "ratio": 2.0}, S, 2 / 3 + 1 / 13 + 1 / 3 - 0.6),
    # Focaler on Q, base iou, [d, u] = [0, 0.5]: IoU_f = 0.25 / 0.5 = 0.5 -> 0.75 + 0.25 - 0.5
    "focaler_iou_Q": (losskit.focaler_iou_loss, {"base": "iou", "u": 0.5}, Q, 0.5),
    # d = 0.3 > IoU -> IoU_f = 0 -> 0.75 + 0.25
    "focaler_iou_Q_d03": (losskit.focaler_iou_loss, {"base": "iou", "d": 0.3}, Q, 1.0),
    # base giou on D: IoU = 0, IoU_f = 0 -> GIoU
    "focaler_giou_D": (losskit.focaler_iou_loss, {"base": "giou"}, D, 1 + 1 / 3),
}


@pytest.mark.parametrize("case", list(VALUES), ids=list(VALUES))
def test_hand_derived_value(xp, case):
    fn, opts, (p, t), expected = VALUES[case]
    out = xp.call(fn, xp.asarray(np.array(p)), xp.asarray(np.array(t)), reduction="none", **opts)
    # eps = 1e-7 enters the denominators; its effect on unit-sized boxes is < 1e-6.
    xp.assert_close(out, expected, rtol=1e-5, atol=2e-6)


def test_box_iou_quarter_size_and_matrix(xp):
    # Quarter-size box inside the other: IoU 0.25 (torchvision's canonical test case).
    a = xp.asarray(np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]]))
    b = xp.asarray(np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 6.0]]))
    m = xp.call(losskit.box_iou_matrix, a, b)
    # row 0: 1/4; A-pair 1/7; disjoint 0. row 1 ([0,0,4,4], area 16): 1/16; 4/16; 0
    xp.assert_close(m, [[0.25, 1 / 7, 0.0], [1 / 16, 0.25, 0.0]], rtol=1e-5, atol=1e-6)
    # the elementwise form on broadcast shapes gives the same matrix
    a3 = xp.ns.reshape(a, (2, 1, 4))
    xp.assert_close(xp.call(losskit.box_iou, a3, b), xp.np(m), rtol=1e-6, atol=1e-7)


def test_box_iou_matrix_shapes_and_validation():
    a, b = np.zeros((3, 4)), np.zeros((0, 4))
    assert losskit.box_iou_matrix(a, b).shape == (3, 0)
    with pytest.raises(ValueError, match=r"boxes1: expected a 2-D array of shape \(N, 4\)"):
        losskit.box_iou_matrix(np.zeros((2, 3, 4)), a)
    with pytest.raises(ValueError, match=r"boxes2: expected boxes of shape \(\.\.\., 4\)"):
        losskit.box_iou_matrix(a, np.zeros((2, 5)))


# ---------------------------------------------------------------------------------------
# every loss: the parametrization used by the generic tests
# ---------------------------------------------------------------------------------------

LOSSES = {
    "iou": (losskit.iou_loss, {}),
    "giou": (losskit.giou_loss, {}),
    "diou": (losskit.diou_loss, {}),
    "ciou": (losskit.ciou_loss, {}),
    "ciou_journal": (losskit.ciou_loss, {"alpha_threshold": 0.5}),
    "eiou": (losskit.eiou_loss, {}),
    "focal_eiou": (losskit.focal_eiou_loss, {}),
    "focal_eiou_nodetach": (losskit.focal_eiou_loss, {"detach_weight": False}),
    "siou": (losskit.siou_loss, {}),
    "alpha_iou": (losskit.alpha_iou_loss, {}),
    "alpha_giou": (losskit.alpha_iou_loss, {"base": "giou"}),
    "alpha_diou_05": (losskit.alpha_iou_loss, {"base": "diou", "alpha": 0.5}),
    "alpha_ciou": (losskit.alpha_iou_loss, {"base": "ciou"}),
    "wiou_v1": (losskit.wiou_loss, {}),
    "wiou_v2": (losskit.wiou_loss, {"version": 2, "iou_mean": 0.5}),
    "wiou_v3": (losskit.wiou_loss, {"version": 3, "iou_mean": 0.5}),
    "mpdiou": (losskit.mpdiou_loss, {"image_size": (20.0, 16.0)}),
    "shape_iou": (losskit.shape_iou_loss, {"scale": 0.5}),
    "inner_ciou": (losskit.inner_iou_loss, {}),
    "inner_siou_r13": (losskit.inner_iou_loss, {"base": "siou", "ratio": 1.3}),
    "inner_wiou_v3": (losskit.inner_iou_loss, {"base": "wiou", "version": 3, "iou_mean": 0.5}),
    "inner_mpdiou": (losskit.inner_iou_loss, {"base": "mpdiou", "image_size": (20.0, 20.0)}),
    "focaler_ciou": (losskit.focaler_iou_loss, {}),
    "focaler_eiou": (losskit.focaler_iou_loss, {"base": "eiou", "d": 0.1, "u": 0.9}),
}
IDS = list(LOSSES)
# a smaller set for the slow (jit / autodiff) parametrizations: one per kernel
CORE = [
    "iou", "giou", "diou", "ciou", "ciou_journal", "eiou", "focal_eiou", "siou", "alpha_ciou",
    "wiou_v3", "mpdiou", "shape_iou", "inner_ciou", "focaler_ciou",
]


def random_pairs(rng, n, *, overlap=True):
    """Valid xyxy boxes (sizes 1..5 in a 10 x 10 field) and targets near them."""
    xy = rng.uniform(0.0, 10.0, size=(n, 2))
    wh = rng.uniform(1.0, 5.0, size=(n, 2))
    pred = np.concatenate([xy, xy + wh], axis=-1)
    shift = rng.uniform(-1.5, 1.5, size=(n, 2)) if overlap else rng.uniform(-8.0, 8.0, size=(n, 2))
    twh = wh * rng.uniform(0.6, 1.5, size=(n, 2))
    txy = xy + shift
    return pred, np.concatenate([txy, txy + twh], axis=-1)


def _loop_reference(fn, opts, pred, target):
    """The per-box loss computed one pair at a time (NumPy, float64)."""
    pb, tb = np.broadcast_arrays(pred, target)
    flat_p, flat_t = pb.reshape(-1, 4), tb.reshape(-1, 4)
    vals = [float(fn(flat_p[i], flat_t[i], reduction="none", **opts)) for i in range(len(flat_p))]
    return np.array(vals).reshape(pb.shape[:-1])


@pytest.mark.parametrize("name", CORE, ids=CORE)
def test_broadcasting_batched_shapes_and_reductions(xp, name):
    fn, opts = LOSSES[name]
    if "iou_mean" not in opts and name.startswith("wiou"):
        pytest.skip("batch-mean normaliser couples the boxes")
    rng = np.random.default_rng(1)
    pred, target = random_pairs(rng, 6)
    pred = pred.reshape(2, 3, 4)
    target = target[:3]  # (3, 4) broadcasts against (2, 3, 4)
    ref = _loop_reference(fn, opts, pred, target)
    p, t = xp.asarray(pred), xp.asarray(target)
    none = xp.call(fn, p, t, reduction="none", **opts)
    assert tuple(none.shape) == (2, 3)
    xp.assert_close(none, ref, rtol=2e-5 if xp.float_dtype == "float32" else 1e-9, atol=1e-6)
    xp.assert_close(xp.call(fn, p, t, reduction="mean", **opts), ref.mean(), rtol=2e-5, atol=1e-6)
    if xp.name == "jax":
        return  # (one compilation per call: the rest is backend-independent shape logic)
    xp.assert_close(xp.call(fn, p, t, reduction="sum", **opts), ref.sum(), rtol=2e-5, atol=1e-5)
    # target broadcast the other way: (1, 4) against (2, 3, 4)
    out = xp.call(fn, p, t[:1, ...], reduction="none", **opts)
    assert tuple(out.shape) == (2, 3)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
@pytest.mark.parametrize("name", CORE, ids=CORE)
def test_formats_give_the_xyxy_loss(name, fmt):
    fn, opts = LOSSES[name]
    rng = np.random.default_rng(2)
    pred, target = random_pairs(rng, 5)
    ref = fn(pred, target, reduction="none", **opts)

    def to(b):  # from xyxy, written out from the format definitions
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        if fmt == "xywh":
            return np.stack([b[:, 0], b[:, 1], w, h], -1)
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, w, h], -1)

    out = fn(to(pred), to(target), fmt=fmt, reduction="none", **opts)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)


def test_box_convert_round_trips_and_values(xp):
    b = xp.asarray(np.array([[1.0, 2.0, 5.0, 4.0], [0.0, 0.0, 1.0, 3.0]]))
    # by hand: xywh = (1, 2, 4, 2); cxcywh = (3, 3, 4, 2)
    xp.assert_close(losskit.box_convert(b, "xyxy", "xywh")[0, ...], [1.0, 2.0, 4.0, 2.0])
    xp.assert_close(losskit.box_convert(b, "xyxy", "cxcywh")[0, ...], [3.0, 3.0, 4.0, 2.0])
    xp.assert_close(losskit.box_convert(xp.asarray(np.array([3.0, 3.0, 4.0, 2.0])), "cxcywh", "xywh"), [1.0, 2.0, 4.0, 2.0])
    for a in ("xyxy", "xywh", "cxcywh"):
        for c in ("xyxy", "xywh", "cxcywh"):
            back = losskit.box_convert(losskit.box_convert(b, "xyxy", a), a, c)
            xp.assert_close(back, xp.np(losskit.box_convert(b, "xyxy", c)))
    ints = xp.asarray(np.array([[1, 2, 4, 4]]))
    out = losskit.box_convert(ints, "xyxy", "cxcywh")
    xp.assert_close(out, [[2.5, 3.0, 3.0, 2.0]])  # integers come back as floats
    with pytest.raises(ValueError, match="out_fmt: expected one of 'xyxy', 'xywh', 'cxcywh', got 'yolo'"):
        losskit.box_convert(b, "xyxy", "yolo")


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------

P1, T1 = np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 1.0, 3.0, 3.0]])

INVALID = [
    (losskit.giou_loss, dict(reduction="avg"), ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'"),
    (losskit.giou_loss, dict(fmt="yolo"), ValueError, "fmt: expected one of 'xyxy', 'xywh', 'cxcywh', got 'yolo'"),
    (losskit.diou_loss, dict(eps=0.0), ValueError, "eps: expected a number > 0.0, got 0.0"),
    (losskit.diou_loss, dict(eps="small"), TypeError, "eps: expected a real number, got str"),
    (losskit.ciou_loss, dict(alpha_threshold=1.5), ValueError, "alpha_threshold: expected a number <= 1.0, got 1.5"),
    (losskit.siou_loss, dict(theta=0.5), ValueError, "theta: expected a number >= 1.0, got 0.5"),
    (losskit.focal_eiou_loss, dict(gamma=-1.0), ValueError, "gamma: expected a number >= 0.0, got -1.0"),
    (losskit.focal_eiou_loss, dict(detach_weight=1), TypeError, "detach_weight: expected a bool, got int"),
    (losskit.alpha_iou_loss, dict(alpha=0.0), ValueError, "alpha: expected a number > 0.0, got 0.0"),
    (losskit.alpha_iou_loss, dict(base="eiou"), ValueError, "base: expected one of 'iou', 'giou', 'diou', 'ciou', got 'eiou'"),
    (losskit.mpdiou_loss, dict(image_size=640), TypeError, r"image_size: expected a pair \(W, H\), got 640"),
    (losskit.mpdiou_loss, dict(image_size=(640, 0)), ValueError, r"image_size\[1\]: expected a number > 0.0, got 0"),
    (losskit.mpdiou_loss, dict(image_size=None), TypeError, r"image_size: expected \(W, H\)"),
    (losskit.shape_iou_loss, dict(scale=-1.0), ValueError, "scale: expected a number >= 0.0, got -1.0"),
    (losskit.wiou_loss, dict(version=4), ValueError, "version: expected one of 1, 2, 3, got 4"),
    (losskit.wiou_loss, dict(version=3, iou_mean=-0.5), ValueError, "iou_mean: expected a number > 0.0, got -0.5"),
    (losskit.wiou_loss, dict(version=3, iou_mean=np.array(0.0)), ValueError, "iou_mean: expected a positive running mean, got 0.0"),
    (losskit.wiou_loss, dict(version=3, iou_mean=np.ones(2)), ValueError, r"iou_mean: expected a scalar \(0-d array\), got shape \(2,\)"),
    (losskit.wiou_loss, dict(alpha=0.0), ValueError, "alpha: expected a number > 0.0, got 0.0"),
    (losskit.inner_iou_loss, dict(ratio=0.0), ValueError, "ratio: expected a number > 0.0, got 0.0"),
    (losskit.inner_iou_loss, dict(base="dice"), ValueError, "base: expected one of 'iou', 'giou'"),
    (losskit.inner_iou_loss, dict(base="giou", theta=5.0), ValueError, "theta: expected the default 4.0 with base='giou' \\(only base 'siou' takes it\\), got 5.0"),
    (losskit.inner_iou_loss, dict(base="ciou", image_size=(1, 1)), ValueError, "image_size: expected the default None with base='ciou'"),
    (losskit.inner_iou_loss, dict(base="mpdiou"), TypeError, r"image_size: expected \(W, H\)"),
    (losskit.focaler_iou_loss, dict(d=0.5, u=0.5), ValueError, "u: expected a number > d = 0.5, got 0.5"),
    (losskit.focaler_iou_loss, dict(u=1.5), ValueError, "u: expected a number <= 1.0, got 1.5"),
    (losskit.focaler_iou_loss, dict(base="siou", theta=0.0), ValueError, "theta: expected a number >= 1.0, got 0.0"),
]


@pytest.mark.parametrize("fn,opts,exc,msg", INVALID, ids=[f"{f.__name__}-{'-'.join(o)}" for f, o, _, _ in INVALID])
def test_invalid_options_raise(fn, opts, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(P1, T1, **opts)


def test_invalid_arrays_raise():
    with pytest.raises(ValueError, match=r"pred: expected boxes of shape \(\.\.\., 4\), got shape \(2, 3\)"):
        losskit.giou_loss(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"target: expected a shape broadcastable with pred \(3, 4\), got \(2, 4\)"):
        losskit.giou_loss(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="pred: expected a floating-point array of boxes, got dtype int64"):
        losskit.giou_loss(np.zeros((2, 4), dtype=np.int64), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="target: expected an array"):
        losskit.giou_loss(np.zeros((2, 4)), [[0, 0, 1, 1]] * 2)
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'image_size'"):
        losskit.mpdiou_loss(P1, T1)  # no hidden default image size
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="expected arrays from one library"):
        losskit.giou_loss(torch.zeros(2, 4), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="iou_mean: expected a number or an array of the boxes' library"):
        losskit.wiou_loss(np.zeros((1, 4)), np.zeros((1, 4)), version=3, iou_mean=torch.tensor(0.5))


def test_integer_targets_are_accepted():
    out = losskit.giou_loss(P1, T1.astype(np.int64), reduction="none")
    np.testing.assert_allclose(out, [1 - 1 / 7 + 2 / 9], rtol=1e-6)


# ---------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------


class _FrozenDetached:
    """Numerical gradients of a loss with its detached terms held constant.

    A detached term (CIoU's alpha, Wise-IoU's enclosing diagonal and normaliser, Focal-EIoU's
    weight) is a constant for autodiff, so the autodiff gradient is the derivative of the
    loss *with those terms frozen at the evaluation point*. This replays, on NumPy input,
    the values every ``stop_gradient`` call returned at the base point (same call order on
    every evaluation), so the central difference sees them as constants.
    """

    def __init__(self, monkeypatch):
        import losskit.boxes.losses as bl
        import losskit.boxes.wise as bw

        self.values, self.i, self.recording = [], 0, True

        def replay(x, xp):
            if self.recording:
                self.values.append(x)
                return x
            v = self.values[self.i]
            self.i += 1
            return v

        for mod in (bl, bw):
            monkeypatch.setattr(mod, "stop_gradient", replay)

    def grad(self, fn, pred, target, opts):
        from helpers import numerical_grad

        fn(pred, target, **opts)  # record the detached values at the base point
        self.recording = False

        def f(a):
            self.i = 0
            return fn(a, target, **opts)

        return numerical_grad(f, pred)


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_gradient_matches_numerical(autodiff_xp, name, monkeypatch):
    fn, opts = LOSSES[name]
    b = autodiff_xp
    rng = np.random.default_rng(3)
    pred, target = random_pairs(rng, 4)
    # autodiff first (real stop_gradient), then the frozen-term numerical gradient (NumPy)
    # random continuous coordinates: far from the kinks (ties in min / max, IoU = 0 edges)
    _, g = b.grad(fn, b.asarray(pred, dtype="float64"), b.asarray(target), **opts)
    num = _FrozenDetached(monkeypatch).grad(fn, pred, target, opts)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["giou", "diou", "eiou", "siou", "alpha_giou", "mpdiou", "shape_iou", "focal_eiou_nodetach"])
def test_gradient_of_fully_differentiated_losses(autodiff_xp, name):
    """The losses without detached terms: plain numerical gradient (helpers.check_gradient)."""
    fn, opts = LOSSES[name]
    rng = np.random.default_rng(9)
    pred, target = random_pairs(rng, 4)
    check_gradient(autodiff_xp, fn, pred, target, rtol=1e-5, atol=1e-8, **opts)


@pytest.mark.parametrize("name", ["giou", "diou", "ciou", "siou", "wiou_v3", "inner_ciou"])
def test_numpy_users_get_gradients(name, monkeypatch):
    """NumPy input: losskit.value_and_grad (hand-derived or via an installed framework)."""
    fn, opts = LOSSES[name]
    rng = np.random.default_rng(4)
    pred, target = random_pairs(rng, 3)
    value, grad = losskit.value_and_grad(fn)(pred, target, **opts)
    assert isinstance(grad, np.ndarray) and grad.shape == pred.shape and grad.dtype == np.float64
    np.testing.assert_allclose(value, fn(pred, target, **opts), rtol=1e-12)
    num = _FrozenDetached(monkeypatch).grad(fn, pred, target, opts)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_ciou_alpha_and_wiou_diagonal_are_detached(autodiff_xp):
    """CIoU's gradient is that of DIoU + alpha v with alpha held constant; WIoU v1's is that
    of L_IoU exp(rho^2 / c^2) with c^2 held constant: both checked against a numerical
    gradient of the formula with those terms frozen at the evaluation point."""
    b = autodiff_xp
    pred = np.array([[0.3, 0.2, 2.5, 1.1]])
    target = np.array([[0.0, 0.0, 1.2, 2.0]])

    def ciou_frozen(p, alpha):
        iou = 1 - float(losskit.iou_loss(p, target))
        w, h = p[0, 2] - p[0, 0], p[0, 3] - p[0, 1]
        v = _v(w, h, 1.2, 2.0)
        a = (v / ((1 - iou) + v)) if alpha is None else alpha
        return float(losskit.diou_loss(p, target)) + a * v, a

    _, alpha0 = ciou_frozen(pred, None)
    from helpers import numerical_grad

    num = numerical_grad(lambda p: ciou_frozen(p, alpha0)[0], pred)
    _, g = b.grad(losskit.ciou_loss, b.asarray(pred), b.asarray(target))
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)

    def wiou_frozen(p, c2):
        liou = float(losskit.iou_loss(p, target))
        dx = (p[0, 0] + p[0, 2] - 1.2) / 2
        dy = (p[0, 1] + p[0, 3] - 2.0) / 2
        return liou * math.exp((dx * dx + dy * dy) / c2)

    c2 = (2.5 - 0.0) ** 2 + (2.0 - 0.0) ** 2  # enclosing box [0, 0, 2.5, 2.0]
    num = numerical_grad(lambda p: wiou_frozen(p, c2), pred)
    _, g = b.grad(losskit.wiou_loss, b.asarray(pred), b.asarray(target))
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------
# robustness: the inputs that give NaN in the code people copy
# ---------------------------------------------------------------------------------------

ROBUST = {
    # identical boxes: CIoU's alpha = 0/0 in unguarded code (YOLOv5 #2376)
    "identical": (np.array([[1.0, 2.0, 4.0, 6.0]]), np.array([[1.0, 2.0, 4.0, 6.0]])),
    # zero height prediction: atan(w / 0) (YOLOv5 #13416)
    "zero_height": (np.array([[0.0, 1.0, 3.0, 1.0]]), np.array([[0.0, 0.0, 2.0, 2.0]])),
    # zero width and height (a point) on both sides
    "points": (np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[1.0, 1.0, 1.0, 1.0]])),
    "point_vs_box": (np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[0.0, 0.0, 2.0, 2.0]])),
    # coincident centres, different sizes: SIoU's sigma = 0 (YOLOv6)
    "coincident_centres": (np.array([[0.0, 0.0, 4.0, 4.0]]), np.array([[1.0, 1.0, 3.0, 3.0]])),
    # far apart
    "far_apart": (np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[5000.0, 3000.0, 5001.0, 3002.0]])),
    # huge coordinates (1e4 px): areas 1e8
    "huge": (np.array([[100.0, 200.0, 9000.0, 9500.0]]), np.array([[150.0, 100.0, 9900.0, 9800.0]])),
    # inverted prediction (x2 < x1 and y2 < y1), overlapping the target's area
    "inverted": (np.array([[3.0, 3.0, 1.0, 1.0]]), np.array([[0.0, 0.0, 2.0, 2.0]])),
    "inverted_x_only": (np.array([[2.5, 0.0, 0.5, 2.0]]), np.array([[0.0, 0.0, 2.0, 2.0]])),
}


ROBUST_CASES = list(ROBUST)
# all cases as one batch: the losses are elementwise (no batch normaliser in LOSSES), so row
# i's value and gradient are those of case i alone
ROBUST_P = np.concatenate([ROBUST[c][0] for c in ROBUST_CASES])
ROBUST_T = np.concatenate([ROBUST[c][1] for c in ROBUST_CASES])


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_robust_value_and_gradient_are_finite(name):
    torch = pytest.importorskip("torch")
    fn, opts = LOSSES[name]
    for dtype in (torch.float32, torch.float64):
        p = torch.tensor(ROBUST_P, dtype=dtype, requires_grad=True)
        t = torch.tensor(ROBUST_T, dtype=dtype)
        out = fn(p, t, reduction="none", **opts)
        out.sum().backward()
        for i, case in enumerate(ROBUST_CASES):
            assert torch.isfinite(out[i]), (name, case, dtype, out[i])
            assert torch.isfinite(p.grad[i]).all(), (name, case, dtype, p.grad[i])
        # identical boxes: every loss is at its minimum, 0 (up to eps / area = 1e-7 / 12)
        assert abs(float(out[ROBUST_CASES.index("identical")].detach())) < 1e-6, (name, out)


def test_robust_cases_on_jax_are_finite():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    p = jnp.asarray(ROBUST_P, dtype=jnp.float32)
    t = jnp.asarray(ROBUST_T, dtype=jnp.float32)
    for name in CORE:
        fn, opts = LOSSES[name]

        def f(q):
            out = fn(q, t, reduction="none", **opts)
            return jnp.sum(out), out

        (_, val), g = jax.jit(jax.value_and_grad(f, has_aux=True))(p)
        assert np.all(np.isfinite(np.asarray(val))) and np.all(np.isfinite(np.asarray(g))), name


def test_robust_known_values():
    # zero-height prediction [0,1,3,1] vs [0,0,2,2]: area 0 -> IoU 0; CIoU's v uses
    # atan(3 / eps) = pi/2 (to 1e-7): v = 4/pi^2 (pi/4 - pi/2)^2 = 1/4; alpha = v / (1 + v)
    # centres (1.5, 1) and (1, 1): rho^2 = 0.25; enclosing [0,0,3,2]: c^2 = 13
    p, t = ROBUST["zero_height"]
    v = 0.25
    np.testing.assert_allclose(losskit.ciou_loss(p, t), 1 + 0.25 / 13 + v / (1 + v) * v, rtol=1e-6)
    # identical points: IoU 0 (no area), no distance: IoU / GIoU / DIoU give 1 (torchvision #7746)
    p, t = ROBUST["points"]
    for fn in (losskit.iou_loss, losskit.giou_loss, losskit.diou_loss, losskit.ciou_loss):
        np.testing.assert_allclose(fn(p, t), 1.0, rtol=1e-12)
    # coincident centres [0,0,4,4] vs [1,1,3,3]: IoU 4/16, no distance cost; SIoU's
    # shape cost: omega_w = omega_h = 2/4 -> Omega = 2 (1 - e^(-1/2))^4
    p, t = ROBUST["coincident_centres"]
    np.testing.assert_allclose(losskit.siou_loss(p, t), 0.75 + (2 * (1 - E(-0.5)) ** 4) / 2, rtol=1e-6)
    np.testing.assert_allclose(losskit.diou_loss(p, t), 0.75, rtol=1e-6)
    # far apart: DIoU -> 1 + rho^2 / c^2 close to 2; GIoU -> close to 2
    p, t = ROBUST["far_apart"]
    assert 1.99 < float(losskit.diou_loss(p, t)) < 2.0
    assert 1.99 < float(losskit.giou_loss(p, t)) < 2.0


def test_inverted_prediction_semantics():
    torch = pytest.importorskip("torch")
    pred, target = ROBUST["inverted"]  # corners (3,3) and (1,1): empty, centre (2,2)
    p = torch.tensor(pred, requires_grad=True, dtype=torch.float64)
    t = torch.tensor(target, dtype=torch.float64)
    # an inverted box is empty: IoU 0 ...
    assert float(losskit.box_iou(p, t).detach()) == 0.0
    assert float(losskit.iou_loss(p, t).detach()) == pytest.approx(1.0)
    # ... while the centre-distance term still sees its centre (2,2) vs (1,1): rho^2 = 2;
    # the enclosing box holds all corners: x from min(3, 1, 0, 2) = 0 to max(...) = 3,
    # likewise y -> [0,0,3,3]: c^2 = 18
    assert float(losskit.diou_loss(p, t).detach()) == pytest.approx(1 + 2 / 18)
    # a far-away inverted box: its centre stays inside the enclosing box, rho^2 / c^2 <= 1
    far = torch.tensor([[100.0, 0.0, 0.0, 1.0]], dtype=torch.float64)  # centre (50, 0.5)
    tt = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)  # centre (0.5, 0.5)
    # enclosing [0, 0, 100, 1]: c^2 = 10001; rho^2 = 49.5^2
    assert float(losskit.diou_loss(far, tt)) == pytest.approx(1 + 49.5**2 / 10001)
    # the plain IoU loss gives no gradient; DIoU pulls the centre toward the target's
    (g_iou,) = torch.autograd.grad(losskit.iou_loss(p, t), p)
    assert torch.all(g_iou == 0)
    (g,) = torch.autograd.grad(losskit.diou_loss(p, t), p)
    centre_grad_x = g[0, 0] + g[0, 2]  # d loss / d (shift of the box in x)
    assert centre_grad_x > 0  # moving the box left (toward the target centre) lowers the loss


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", CORE + ["wiou_v1", "alpha_iou"], ids=CORE + ["wiou_v1", "alpha_iou"])
def test_half_precision_computes_in_float32(xp, name, dtype):
    if not xp.has_dtype(dtype):
        pytest.skip(f"{xp.name} has no {dtype}")
    fn, opts = LOSSES[name]
    # huge coordinates (areas 8e7 > 65504, the float16 maximum) and unit-sized boxes
    pred = np.array([[100.0, 200.0, 9000.0, 9504.0], [1.0, 1.0, 3.0, 2.5], [0.0, 0.0, 1.0, 1.0]])
    # (IoUs stay away from CIoU-journal's 0.5 threshold, where float32 rounding could flip it)
    target = np.array([[152.0, 96.0, 9904.0, 9800.0], [1.5, 0.5, 3.0, 3.25], [0.0, 0.0, 1.0, 1.0]])
    p, t = xp.asarray(pred, dtype=dtype), xp.asarray(target, dtype=dtype)
    out = xp.call(fn, p, t, reduction="none", **opts)
    assert out.dtype == xp.dtype("float32")
    # the same loss in float64 on the (exactly representable) half-precision values
    ref = fn(xp.np(p), xp.np(t), reduction="none", **opts)
    np.testing.assert_allclose(xp.np(out), ref, rtol=1e-4, atol=1e-5)


def test_half_precision_gradient_is_finite():
    torch = pytest.importorskip("torch")
    pred = torch.tensor([[100.0, 200.0, 9000.0, 9504.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float16, requires_grad=True)
    target = torch.tensor([[152.0, 96.0, 9904.0, 9800.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float16)
    for name in CORE:
        fn, opts = LOSSES[name]
        pred.grad = None
        fn(pred, target, **opts).backward()
        assert pred.grad.dtype == torch.float16 and torch.isfinite(pred.grad).all(), name


@pytest.mark.parametrize("name", CORE, ids=CORE)
def test_empty_batch(xp, name):
    fn, opts = LOSSES[name]
    p, t = xp.asarray(np.zeros((0, 4))), xp.asarray(np.zeros((0, 4)))
    assert tuple(xp.call(fn, p, t, reduction="none", **opts).shape) == (0,)
    for red in ("mean", "sum"):
        xp.assert_close(xp.call(fn, p, t, reduction=red, **opts), 0.0)
    if xp.is_torch:
        q = xp.ns.zeros((0, 4), dtype=xp.dtype(xp.float_dtype), device=t.device, requires_grad=True)
        fn(q, t, **opts).backward()  # the graph is kept
        assert q.grad is not None and q.grad.shape == (0, 4)


# ---------------------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------------------

BASES = {
    "iou": (losskit.iou_loss, {}),
    "giou": (losskit.giou_loss, {}),
    "diou": (losskit.diou_loss, {}),
    "ciou": (losskit.ciou_loss, {"alpha_threshold": 0.5}),
    "eiou": (losskit.eiou_loss, {}),
    "siou": (losskit.siou_loss, {"theta": 3.0}),
    "wiou": (losskit.wiou_loss, {"version": 3, "iou_mean": 0.4}),
    "mpdiou": (losskit.mpdiou_loss, {"image_size": (30.0, 20.0)}),
    "shape": (losskit.shape_iou_loss, {"scale": 1.0}),
}


@pytest.mark.parametrize("base", list(BASES))
def test_inner_ratio_one_and_focaler_full_interval_are_the_base(base):
    fn, opts = BASES[base]
    rng = np.random.default_rng(5)
    pred, target = random_pairs(rng, 8)
    ref = fn(pred, target, reduction="none", **opts)
    inner = losskit.inner_iou_loss(pred, target, base=base, ratio=1.0, reduction="none", **opts)
    np.testing.assert_allclose(inner, ref, rtol=1e-12, atol=1e-12)
    focaler = losskit.focaler_iou_loss(pred, target, base=base, d=0.0, u=1.0, reduction="none", **opts)
    np.testing.assert_allclose(focaler, ref, rtol=1e-12, atol=1e-12)
    # and ratio != 1 really changes it (the identity is not vacuous)
    other = losskit.inner_iou_loss(pred, target, base=base, ratio=0.7, reduction="none", **opts)
    assert np.max(np.abs(other - ref)) > 1e-3


def test_other_identities():
    rng = np.random.default_rng(6)
    pred, target = random_pairs(rng, 8)
    n = dict(reduction="none")
    # alpha = 1: Alpha-IoU is its base
    for base, fn in (("iou", losskit.iou_loss), ("giou", losskit.giou_loss), ("diou", losskit.diou_loss), ("ciou", losskit.ciou_loss)):
        np.testing.assert_allclose(losskit.alpha_iou_loss(pred, target, alpha=1.0, base=base, **n), fn(pred, target, **n), rtol=1e-12)
    # Focal-EIoU with gamma = 0 is EIoU
    np.testing.assert_allclose(losskit.focal_eiou_loss(pred, target, gamma=0.0, **n), losskit.eiou_loss(pred, target, **n), rtol=1e-12)
    # CIoU with alpha_threshold = 0 is the paper's CIoU; threshold 1 drops v (DIoU) for IoU < 1
    np.testing.assert_allclose(losskit.ciou_loss(pred, target, alpha_threshold=0.0, **n), losskit.ciou_loss(pred, target, **n), rtol=1e-12)
    np.testing.assert_allclose(losskit.ciou_loss(pred, target, alpha_threshold=1.0, **n), losskit.diou_loss(pred, target, **n), rtol=1e-12)
    # Shape-IoU with scale 0 and equal sizes: DIoU (ww = hh = 1, no shape cost)
    t_same = pred + np.array([0.7, -0.4, 0.7, -0.4])
    np.testing.assert_allclose(losskit.shape_iou_loss(pred, t_same, **n), losskit.diou_loss(pred, t_same, **n), rtol=1e-12)
    # Wise-IoU v3 with the mean at L_IoU / delta: r = 1 for every box -> v1 (one box at a time)
    for i in range(3):
        l_iou = float(losskit.iou_loss(pred[i], target[i]))
        np.testing.assert_allclose(
            losskit.wiou_loss(pred[i], target[i], version=3, iou_mean=l_iou / 3.0),
            losskit.wiou_loss(pred[i], target[i], version=1), rtol=1e-12,
        )
    # MPDIoU: 1 - IoU + (d1^2 + d2^2) / (W^2 + H^2); doubling the image size quarters the penalty
    a = losskit.mpdiou_loss(pred, target, image_size=(10, 10), **n) - losskit.iou_loss(pred, target, **n)
    b = losskit.mpdiou_loss(pred, target, image_size=(20, 20), **n) - losskit.iou_loss(pred, target, **n)
    np.testing.assert_allclose(a, 4 * b, rtol=1e-12)


def test_symmetric_losses_are_symmetric_and_others_are_not():
    rng = np.random.default_rng(7)
    pred, target = random_pairs(rng, 8)
    for fn in (losskit.iou_loss, losskit.giou_loss, losskit.diou_loss, losskit.eiou_loss):
        np.testing.assert_allclose(fn(pred, target, reduction="none"), fn(target, pred, reduction="none"), rtol=1e-12)
    # CIoU's alpha uses the target's aspect ratio as the reference: still symmetric in v,
    # but Shape-IoU weights by the target's shape -> not symmetric
    a = losskit.shape_iou_loss(pred, target, scale=1.0, reduction="none")
    b = losskit.shape_iou_loss(target, pred, scale=1.0, reduction="none")
    assert np.max(np.abs(a - b)) > 1e-4


# ---------------------------------------------------------------------------------------
# torch modules
# ---------------------------------------------------------------------------------------

MODULES = {
    "IoULoss": ("iou", {}),
    "GIoULoss": ("giou", {}),
    "DIoULoss": ("diou", {}),
    "CIoULoss": ("ciou_journal", {"alpha_threshold": 0.5}),
    "EIoULoss": ("eiou", {}),
    "FocalEIoULoss": ("focal_eiou", {}),
    "SIoULoss": ("siou", {}),
    "AlphaIoULoss": ("alpha_ciou", {"base": "ciou"}),
    "MPDIoULoss": ("mpdiou", {"image_size": (20.0, 16.0)}),
    "ShapeIoULoss": ("shape_iou", {"scale": 0.5}),
    "InnerIoULoss": ("inner_mpdiou", {"base": "mpdiou", "image_size": (20.0, 20.0)}),
    "FocalerIoULoss": ("focaler_eiou", {"base": "eiou", "d": 0.1, "u": 0.9}),
}


@pytest.mark.parametrize("cls_name", list(MODULES))
def test_torch_module_equals_function(cls_name):
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    name, ctor = MODULES[cls_name]
    fn, opts = LOSSES[name]
    mod = getattr(lt, cls_name)(**ctor, reduction="sum")
    for k, v in ctor.items():
        assert f"{k}={v!r}" in repr(mod)
    rng = np.random.default_rng(8)
    pred, target = random_pairs(rng, 5)
    p, t = torch.tensor(pred), torch.tensor(target)
    torch.testing.assert_close(mod(p, t), fn(p, t, reduction="sum", **opts), rtol=0, atol=0)
    assert mod.function is fn.__wrapped__ if hasattr(fn, "__wrapped__") else mod.function is fn


def test_all_box_modules_are_exported():
    pytest.importorskip("torch")
    import losskit.torch as lt

    for name in list(MODULES) + ["WIoULoss"]:
        assert name in lt.__all__, name


# ---------------------------------------------------------------------------------------
# the torch fast-path hook (the contract with losskit.boxes._torch_fast)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,fn,opts",
    [
        ("giou", losskit.giou_loss, {}),
        ("ciou", losskit.ciou_loss, {"alpha_threshold": 0.5}),
        ("siou", losskit.siou_loss, {"theta": 3.0}),
    ],
)
def test_torch_fast_path_hook_contract(monkeypatch, kind, fn, opts):
    """For torch tensors of a kind in _torch_fast.KINDS with _torch_fast.ENABLED, the loss
    calls _torch_fast.elementwise(kind, p, t, eps=..., **options) with xyxy tensors already
    broadcast to one shape and upcast, and reduces what it returns; otherwise (disabled,
    another kind, another backend) the array-API kernel runs."""
    torch = pytest.importorskip("torch")
    from losskit.boxes import _torch_fast

    calls = []

    def fake(k, p, t, *, eps, **options):
        calls.append((k, tuple(p.shape), tuple(t.shape), p.dtype, t.dtype, eps, options))
        return torch.full(p.shape[:-1], 2.0, dtype=p.dtype)

    monkeypatch.setattr(_torch_fast, "KINDS", frozenset({kind}), raising=False)
    monkeypatch.setattr(_torch_fast, "ENABLED", True, raising=False)
    monkeypatch.setattr(_torch_fast, "elementwise", fake, raising=False)
    pred = torch.tensor([[[0.0, 0.0, 2.0, 2.0]], [[1.0, 0.0, 3.0, 2.0]]], dtype=torch.float16)  # (2, 1, 4)
    target = torch.tensor([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]])  # (3, 4)
    # cxcywh input: the hook still receives xyxy
    out = fn(losskit.box_convert(pred, "xyxy", "cxcywh"), losskit.box_convert(target, "xyxy", "cxcywh"),
             fmt="cxcywh", eps=1e-6, reduction="sum", **opts)
    assert calls == [(kind, (2, 3, 4), (2, 3, 4), torch.float32, torch.float32, 1e-6, opts)]
    assert float(out) == 2.0 * 6
    # disabled -> the reference kernel, not the hook
    monkeypatch.setattr(_torch_fast, "ENABLED", False)
    ref = fn(pred.float(), target, reduction="none", **opts)
    assert len(calls) == 1 and torch.all(ref < 2.0)
    # NumPy never takes the torch hook
    monkeypatch.setattr(_torch_fast, "ENABLED", True)
    fn(pred.float().numpy(), target.numpy(), **opts)
    assert len(calls) == 1
