"""Box losses (the IoU family), beyond the case table (``tests/cases/boxes.py``: the
hand-derived values, bad inputs, gradient points and identities of every box loss):
IoU matrices and conversions, shapes and broadcasting, formats, gradients with the detached
terms frozen, half precision, empty batches, robustness on the inputs that break the code
people copy, torch modules, the identities the table cannot express, the fast-path
dispatch, the deprecated modifier keywords, and the issue-20 classes: a flat loss has a
zero gradient at degenerate boxes on every path, ties have one subgradient on every
backend, NumPy scalar options work on every backend.

Every expected value is derived by hand (or with ``math`` on the paper's formula) in a
comment; none was produced by losskit.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import losskit
from helpers import check_gradient, numerical_grad

E = math.exp
PI2 = math.pi**2


def _v(w, h, wg, hg):
    """CIoU's aspect term from the paper's formula."""
    return 4 / PI2 * (math.atan(wg / hg) - math.atan(w / h)) ** 2


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
    "inner_wiou_v3": (losskit.inner_iou_loss, {"base": "wiou", "base_options": {"version": 3, "iou_mean": 0.5}}),
    "inner_mpdiou": (losskit.inner_iou_loss, {"base": "mpdiou", "base_options": {"image_size": (20.0, 20.0)}}),
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


def test_invalid_arrays_raise():
    # (the shape, dtype and option checks of every loss are rows of tests/cases/boxes.py)
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


_EPS = 1e-7


def _sizes(b):
    return np.clip(b[:, 2] - b[:, 0], 0, None), np.clip(b[:, 3] - b[:, 1], 0, None)


def _v_of(p, t):
    """CIoU's v, written from the formula with the library's eps placement."""
    (wp, hp), (wt, ht) = _sizes(p), _sizes(t)
    return 4 / PI2 * (np.arctan(wt / (ht + _EPS)) - np.arctan(wp / (hp + _EPS))) ** 2


def _iou_of(p, t):
    return 1.0 - losskit.iou_loss(p, t, reduction="none")


def _rho2_c2(p, t):
    """Squared centre distance and squared enclosing diagonal (all corners of both boxes)."""
    dx = (p[:, 0] + p[:, 2] - t[:, 0] - t[:, 2]) / 2
    dy = (p[:, 1] + p[:, 3] - t[:, 1] - t[:, 3]) / 2
    xs = np.concatenate([p[:, 0::2], t[:, 0::2]], 1)
    ys = np.concatenate([p[:, 1::2], t[:, 1::2]], 1)
    cw, ch = xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)
    return dx * dx + dy * dy, cw * cw + ch * ch


def _frozen(name, p0, target):
    """The loss ``name`` of LOSSES as a function of the prediction with its detached terms
    (CIoU's alpha, Wise-IoU's diagonal and normaliser, Focal-EIoU's weight) frozen at
    ``p0``: autodiff differentiates exactly this function. Built from public losses and the
    papers' formulas (no replay of the library's stop_gradient); ``None`` for the losses
    without detached terms."""
    n = {"reduction": "none"}
    alpha0 = None
    if "ciou" in name:
        v0, iou0 = _v_of(p0, target), _iou_of(p0, target)
        alpha0 = v0 / ((1 - iou0) + v0 + _EPS)
        if name == "ciou_journal":
            alpha0 = np.where(iou0 >= 0.5, alpha0, 0.0)
    l0 = losskit.iou_loss(p0, target, **n)
    c2_0 = _rho2_c2(p0, target)[1]

    def wiou(p, version):
        v1 = losskit.iou_loss(p, target, **n) * np.exp(_rho2_c2(p, target)[0] / (c2_0 + _EPS))
        beta = l0 / 0.5  # iou_mean = 0.5 in LOSSES
        return {1: v1, 2: np.sqrt(beta) * v1, 3: beta / (3.0 * 1.9 ** (beta - 3.0)) * v1}[version]

    def ciou_part(p):
        return alpha0 * _v_of(p, target)

    per_box = {
        "ciou": lambda p: losskit.diou_loss(p, target, **n) + ciou_part(p),
        "ciou_journal": lambda p: losskit.diou_loss(p, target, **n) + ciou_part(p),
        "focal_eiou": lambda p: _iou_of(p0, target) ** 0.5 * losskit.eiou_loss(p, target, **n),
        "alpha_ciou": lambda p: losskit.alpha_iou_loss(p, target, base="diou", **n) + ciou_part(p) ** 3,
        "wiou_v1": lambda p: wiou(p, 1),
        "wiou_v2": lambda p: wiou(p, 2),
        "wiou_v3": lambda p: wiou(p, 3),
        "inner_ciou": lambda p: losskit.inner_iou_loss(p, target, base="diou", **n) + ciou_part(p),
        "inner_wiou_v3": lambda p: (wiou(p, 3) + losskit.inner_iou_loss(p, target, base="iou", **n)
                                    - losskit.iou_loss(p, target, **n)),
        "focaler_ciou": lambda p: losskit.focaler_iou_loss(p, target, base="diou", **n) + ciou_part(p),
    }.get(name)
    return None if per_box is None else (lambda p: np.mean(per_box(p)))


def _numerical(name, pred, target):
    """The float64 central-difference gradient of ``name`` (its detached terms frozen)."""
    fn, opts = LOSSES[name]
    f = _frozen(name, pred, target) or (lambda a: fn(a, target, **opts))
    return numerical_grad(f, pred)


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_gradient_matches_numerical(autodiff_xp, name):
    fn, opts = LOSSES[name]
    b = autodiff_xp
    rng = np.random.default_rng(3)
    pred, target = random_pairs(rng, 4)
    # the frozen-term numerical gradient (NumPy) against autodiff (real stop_gradient);
    # random continuous coordinates: far from the kinks (ties in min / max, IoU = 0 edges)
    _, g = b.grad(fn, b.asarray(pred, dtype="float64"), b.asarray(target), **opts)
    np.testing.assert_allclose(g, _numerical(name, pred, target), rtol=1e-5, atol=1e-8)


def test_frozen_functions_are_the_losses():
    """The frozen oracles are the losses themselves at the freezing point (so the gradient
    tests compare with the right function)."""
    pred, target = random_pairs(np.random.default_rng(3), 4)
    for name in LOSSES:
        f = _frozen(name, pred, target)
        if f is not None:
            fn, opts = LOSSES[name]
            np.testing.assert_allclose(f(pred), fn(pred, target, **opts), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", ["giou", "diou", "eiou", "siou", "alpha_giou", "mpdiou", "shape_iou", "focal_eiou_nodetach"])
def test_gradient_of_fully_differentiated_losses(autodiff_xp, name):
    """The losses without detached terms: plain numerical gradient (helpers.check_gradient)."""
    fn, opts = LOSSES[name]
    rng = np.random.default_rng(9)
    pred, target = random_pairs(rng, 4)
    check_gradient(autodiff_xp, fn, pred, target, rtol=1e-5, atol=1e-8, **opts)


@pytest.mark.parametrize("name", ["giou", "diou", "ciou", "siou", "wiou_v3", "inner_ciou"])
def test_numpy_users_get_gradients(name):
    """NumPy input: losskit.value_and_grad (hand-derived or via an installed framework)."""
    fn, opts = LOSSES[name]
    rng = np.random.default_rng(4)
    pred, target = random_pairs(rng, 3)
    value, grad = losskit.value_and_grad(fn)(pred, target, **opts)
    assert isinstance(grad, np.ndarray) and grad.shape == pred.shape and grad.dtype == np.float64
    np.testing.assert_allclose(value, fn(pred, target, **opts), rtol=1e-12)
    np.testing.assert_allclose(grad, _numerical(name, pred, target), rtol=1e-5, atol=1e-8)


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
    inner = losskit.inner_iou_loss(pred, target, base=base, ratio=1.0, base_options=opts, reduction="none")
    np.testing.assert_allclose(inner, ref, rtol=1e-12, atol=1e-12)
    focaler = losskit.focaler_iou_loss(pred, target, base=base, d=0.0, u=1.0, base_options=opts, reduction="none")
    np.testing.assert_allclose(focaler, ref, rtol=1e-12, atol=1e-12)
    # and ratio != 1 really changes it (the identity is not vacuous)
    other = losskit.inner_iou_loss(pred, target, base=base, ratio=0.7, base_options=opts, reduction="none")
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
    "InnerIoULoss": ("inner_mpdiou", {"base": "mpdiou", "base_options": {"image_size": (20.0, 20.0)}}),
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
# the fast-path dispatch (through the public switch, losskit.fast_paths)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,fn,opts",
    [
        ("giou", losskit.giou_loss, {}),
        ("ciou", losskit.ciou_loss, {"alpha_threshold": 0.5}),
        ("siou", losskit.siou_loss, {"theta": 3.0}),
    ],
)
@pytest.mark.parametrize("path", ["boxes.numba", "boxes.torch"])
def test_fast_path_dispatch(kind, fn, opts, path):
    """For torch tensors of a fast kind the loss takes the fast path (xyxy tensors already
    broadcast to one shape and upcast: cxcywh half-precision input with a broadcast target
    gives the reference's numbers), and reduces what it returns; switched off, or on
    another backend, the array-API kernel runs."""
    torch = pytest.importorskip("torch")
    if path == "boxes.numba":
        pytest.importorskip("numba")
    pred = torch.tensor([[[0.0, 0.0, 2.0, 2.0]], [[1.0, 0.0, 3.0, 2.0]]], dtype=torch.float16)  # (2, 1, 4)
    target = torch.tensor([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]])  # (3, 4)
    args = (losskit.box_convert(pred, "xyxy", "cxcywh"), losskit.box_convert(target, "xyxy", "cxcywh"))
    with losskit.fast_paths(only=path) as used:
        out = fn(*args, fmt="cxcywh", eps=1e-6, reduction="none", **opts)
    assert used == {path} and out.shape == (2, 3) and out.dtype == torch.float32
    with losskit.fast_paths(False) as none_used:
        ref = fn(*args, fmt="cxcywh", eps=1e-6, reduction="none", **opts)
    assert none_used == set()
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    # NumPy never takes a torch path; the plain IoU loss has none
    with losskit.fast_paths(only=path) as used:
        fn(pred.float().numpy(), target.numpy(), **opts)
        losskit.iou_loss(pred.float(), target)
    assert used == set()


def test_fast_paths_are_declared_on_the_losses_that_take_them():
    for name in ("giou_loss", "diou_loss", "ciou_loss", "eiou_loss", "siou_loss", "inner_iou_loss", "focaler_iou_loss"):
        assert losskit.get(name).fast_paths == ("boxes.numba", "boxes.torch"), name
    for name in ("iou_loss", "focal_eiou_loss", "alpha_iou_loss", "wiou_loss", "mpdiou_loss", "shape_iou_loss"):
        assert losskit.get(name).fast_paths == (), name


# ---------------------------------------------------------------------------------------
# the modifiers' base_options and their deprecated keywords
# ---------------------------------------------------------------------------------------

_OLD_KEYWORDS = [  # (base, old keywords, the same as base_options)
    ("siou", {"theta": 3.0}, {"theta": 3.0}),
    ("wiou", {"version": 3, "iou_mean": 0.5}, {"version": 3, "iou_mean": 0.5}),
    ("mpdiou", {"image_size": (20.0, 20.0)}, {"image_size": (20.0, 20.0)}),
    ("ciou", {"alpha_threshold": 0.5, "theta": 4.0}, {"alpha_threshold": 0.5}),  # theta at its default: ignored
]


@pytest.mark.parametrize("fn", [losskit.inner_iou_loss, losskit.focaler_iou_loss], ids=["inner", "focaler"])
@pytest.mark.parametrize("base,old,new", _OLD_KEYWORDS, ids=[b for b, _, _ in _OLD_KEYWORDS])
def test_deprecated_base_keywords_still_work_with_a_warning(fn, base, old, new):
    pred, target = random_pairs(np.random.default_rng(11), 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling warns about nothing
        ref = fn(pred, target, base=base, base_options=new, reduction="none")
    for name in old:
        with pytest.warns(DeprecationWarning, match=rf"{fn.__name__}\({name}=\.\.\.\) is deprecated .* base_options="):
            out = fn(pred, target, base=base, reduction="none", **{name: old[name]},
                     base_options={k: v for k, v in new.items() if k != name} or None)
        np.testing.assert_allclose(out, ref, rtol=1e-12)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(fn(pred, target, base=base, reduction="none", **old), ref, rtol=1e-12)


def test_deprecated_keywords_keep_their_old_errors():
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match=r"theta: expected the default 4.0 with base='giou' \(only base 'siou' takes it\), got 5.0"):
            losskit.inner_iou_loss(P1, T1, base="giou", theta=5.0)
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="image_size: expected the default None with base='ciou'"):
            losskit.inner_iou_loss(P1, T1, base="ciou", image_size=(1, 1))
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="theta: expected a number >= 1.0, got 0.0"):
            losskit.focaler_iou_loss(P1, T1, base="siou", theta=0.0)
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="theta: given both as a keyword and in base_options"):
            losskit.inner_iou_loss(P1, T1, base="siou", theta=3.0, base_options={"theta": 2.0})
    with pytest.raises(TypeError, match="inner_iou_loss\\(\\) got an unexpected keyword argument 'rattio'"):
        losskit.inner_iou_loss(P1, T1, rattio=0.5)


def test_torch_shells_take_base_options_and_the_deprecated_keywords():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    p, t = (torch.tensor(a) for a in random_pairs(np.random.default_rng(12), 4))
    new = lt.InnerIoULoss(base="siou", ratio=0.8, base_options={"theta": 3.0})
    assert "base_options={'theta': 3.0}" in repr(new)
    with pytest.warns(DeprecationWarning, match="base_options"):
        old = lt.InnerIoULoss(base="siou", ratio=0.8, theta=3.0)
    assert "theta=3.0" in repr(old)
    with pytest.warns(DeprecationWarning):
        torch.testing.assert_close(old(p, t), new(p, t), rtol=0, atol=0)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="theta: expected the default 4.0 with base='giou'"):
        lt.FocalerIoULoss(base="giou", theta=5.0)  # checked when the module is built


# ---------------------------------------------------------------------------------------
# issue 20, class 1: a flat loss has a zero gradient at degenerate boxes, on every path
# ---------------------------------------------------------------------------------------

DEGENERATE = {  # zero-area boxes, each predicted exactly (target == pred)
    "zero_width": [1.0, 0.0, 1.0, 2.0],
    "zero_height": [0.0, 1.0, 2.0, 1.0],
    "point": [1.0, 1.0, 1.0, 1.0],
}
FLAT_LOSSES = {
    **LOSSES,
    "iou_square": (losskit.iou_loss, {"mode": "square"}),
    "iou_log": (losskit.iou_loss, {"mode": "log"}),
    "siou_theta1": (losskit.siou_loss, {"theta": 1.0}),
    "inner_giou": (losskit.inner_iou_loss, {"base": "giou"}),
    "focaler_siou": (losskit.focaler_iou_loss, {"base": "siou"}),
}
_PATHS = ["reference", "boxes.torch", "boxes.numba", "jax"]


def _path_grad(path, fn, opts, x, t):
    if path == "jax":
        jax = pytest.importorskip("jax")
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        g = jax.grad(lambda a: fn(a, jnp.asarray(t), reduction="sum", **opts))(jnp.asarray(x))
        return np.asarray(g)
    torch = pytest.importorskip("torch")
    if path == "boxes.numba":
        pytest.importorskip("numba")
    a = torch.tensor(x, requires_grad=True)
    with losskit.fast_paths(False) if path == "reference" else losskit.fast_paths(only=path):
        out = fn(a, torch.tensor(t), reduction="sum", **opts)
    (g,) = torch.autograd.grad(out, a)
    return g.numpy()


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize("box", list(DEGENERATE))
@pytest.mark.parametrize("name", list(FLAT_LOSSES))
def test_flat_loss_has_zero_gradient_at_degenerate_boxes(name, box, path):
    """A zero-width / zero-height / point box equal to its target: along every coordinate
    where the loss is locally constant (the same value at +-1e-3 and +-1e-6, float64), the
    gradient is the central difference, 0 -- not the 1 / eps ~ 1e7 that I / (U + eps) gave
    at U = 0. Along the other coordinates it is finite. (GIoU is not flat in x for a
    zero-width box: inverting it by h makes an enclosing box of area 2 h with no union, a
    cliff of height ~1 within h ~ eps, and the central difference is ~1 / eps there too.)"""
    fn, opts = FLAT_LOSSES[name]
    x = np.array([DEGENERATE[box]])
    t = x.copy()
    f0 = float(fn(x, t, reduction="sum", **opts))
    g = _path_grad(path, fn, opts, x, t)[0]
    assert np.all(np.isfinite(g)), g
    for i in range(4):
        e = np.zeros((1, 4))
        e[0, i] = 1.0
        flat = all(abs(float(fn(x + s * h * e, t, reduction="sum", **opts)) - f0) < 1e-13
                   for h in (1e-3, 1e-6) for s in (1.0, -1.0))
        if flat:
            assert g[i] == 0.0, (i, g)


def test_flat_loss_class_is_not_vacuous():
    """The zero-width case is flat in every coordinate for the IoU loss (so the test above
    checks all four derivatives there), as the reproducer of issue 20 says."""
    x = np.array([[0.0, 0.0, 0.0, 2.0]])
    for i in range(4):
        for h in (1e-3, -1e-3):
            y = x.copy()
            y[0, i] += h
            assert float(losskit.iou_loss(y, x)) == 1.0


# ---------------------------------------------------------------------------------------
# issue 20, class 2: one subgradient at ties, on every backend
# ---------------------------------------------------------------------------------------

_T = [0.0, 0.0, 4.0, 2.0]
TIES = {
    "centres_aligned_in_y": ([1.0, 0.0, 5.0, 2.0], _T),  # dy = 0: SIoU's |dy|
    "centres_aligned_in_x": ([0.0, 1.0, 4.0, 3.0], _T),
    "aligned_and_resized": ([1.0, -0.5, 4.0, 2.5], _T),
    "identical": (_T, _T),
    "coincident_centres": ([-1.0, -1.0, 5.0, 3.0], _T),
    "same_width": ([1.0, 0.5, 5.0, 3.0], _T),  # |w - w_gt| at 0
    "shared_left_edge": ([0.0, -1.0, 2.0, 1.0], _T),
    "touching": ([4.0, 0.0, 6.0, 2.0], _T),  # zero-width intersection: the clamp at 0
    "quarter_inside": ([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]),
    "zero_width_target": ([0.0, 0.0, 4.0, 2.0], [1.0, 0.0, 1.0, 2.0]),
    "inverted_tie": ([4.0, 0.0, 0.0, 2.0], _T),
}
TIE_LOSSES = {
    **FLAT_LOSSES,
    # quarter_inside has IoU 1/4: Focaler's clip at its ends
    "focaler_at_d": (losskit.focaler_iou_loss, {"base": "iou", "d": 0.25}),
    "focaler_at_u": (losskit.focaler_iou_loss, {"base": "iou", "u": 0.25}),
}


@pytest.mark.parametrize("case", list(TIES))
def test_ties_have_one_subgradient_on_every_backend(case):
    """JAX's abs'(0) = 1 and its clip's 1/2 at a boundary used to differ from torch and
    NumPy (0 and 1): SIoU's gradient was wrong on JAX whenever the centres lined up on an
    axis. Now every loss gives the same gradient on JAX, torch (reference and fast paths)
    and NumPy (value_and_grad) at ties."""
    pytest.importorskip("jax")
    p, t = (np.array([b]) for b in TIES[case])
    for name, (fn, opts) in TIE_LOSSES.items():
        ref = _path_grad("reference", fn, opts, p, t)
        np.testing.assert_allclose(_path_grad("jax", fn, opts, p, t), ref, rtol=1e-9, atol=1e-12, err_msg=f"{name} jax")
        _, g = losskit.value_and_grad(fn)(p, t, reduction="sum", **opts)
        np.testing.assert_allclose(np.asarray(g), ref, rtol=1e-9, atol=1e-12, err_msg=f"{name} numpy")
        if "boxes.torch" in losskit.get(fn.__name__).fast_paths:
            for path in ("boxes.torch", "boxes.numba"):
                np.testing.assert_allclose(_path_grad(path, fn, opts, p, t), ref, rtol=1e-9, atol=1e-12,
                                           err_msg=f"{name} {path}")


def test_siou_gradient_at_aligned_centres_is_the_central_difference():
    """dy = 0: the angle cost 2 |dx| |dy| / sigma^2 is symmetric in dy, so the y-derivative
    of the loss through it is 0 (the central difference), on JAX as on torch."""
    pytest.importorskip("jax")
    p, t = (np.array([b]) for b in TIES["centres_aligned_in_y"])
    num = numerical_grad(lambda a: losskit.siou_loss(a, t, reduction="sum"), p)
    # (the central difference across the kink carries ~1e-7 of rounding; the JAX gradient
    # used to be off by 1.8e-2 in y here)
    for path in ("reference", "jax"):
        np.testing.assert_allclose(_path_grad(path, losskit.siou_loss, {}, p, t), num, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------
# issue 20, class 7: Python and NumPy scalars as options, on every backend
# ---------------------------------------------------------------------------------------

_SCALAR_OPTIONS = [
    (losskit.wiou_loss, {"version": 3, "iou_mean": np.float64(0.5)}),
    (losskit.wiou_loss, {"version": 2, "iou_mean": np.float32(0.5), "gamma": np.float64(0.7)}),
    (losskit.ciou_loss, {"alpha_threshold": np.float64(0.5)}),
    (losskit.siou_loss, {"theta": np.float32(3.0)}),
    (losskit.alpha_iou_loss, {"alpha": np.float64(2.0)}),
    (losskit.mpdiou_loss, {"image_size": (np.float64(20.0), np.int64(16))}),
    (losskit.shape_iou_loss, {"scale": np.float32(0.5)}),
    (losskit.focal_eiou_loss, {"gamma": np.float64(0.5)}),
    (losskit.focaler_iou_loss, {"d": np.float64(0.1), "u": np.float32(0.9)}),
    (losskit.inner_iou_loss, {"ratio": np.float64(0.8), "base": "wiou", "base_options": {"version": 3, "iou_mean": np.float64(0.5)}}),
]


@pytest.mark.parametrize("fn,opts", _SCALAR_OPTIONS, ids=[f.__name__ + "-" + "-".join(o) for f, o in _SCALAR_OPTIONS])
def test_numpy_scalar_options_work_on_every_backend(xp, fn, opts):
    pred, target = random_pairs(np.random.default_rng(13), 3)
    plain = {k: (float(v) if isinstance(v, np.generic) else v) for k, v in opts.items()}
    if "base_options" in plain:
        plain["base_options"] = {k: (float(v) if isinstance(v, np.generic) else v) for k, v in plain["base_options"].items()}
    ref = fn(pred, target, reduction="none", **plain)
    out = xp.call(lambda p, t: fn(p, t, reduction="none", **opts), xp.asarray(pred), xp.asarray(target))
    xp.assert_close(out, ref, rtol=2e-5 if xp.float_dtype == "float32" else 1e-12, atol=1e-6)


def test_wiou_update_mean_takes_numpy_scalars_with_any_library():
    torch = pytest.importorskip("torch")
    out = losskit.wiou_update_mean(np.float64(1.0), torch.tensor([0.2, 0.4]), momentum=np.float64(0.5))
    assert isinstance(out, torch.Tensor) and out.item() == pytest.approx(0.65)
    assert losskit.wiou_update_mean(np.float64(1.0), np.float32(0.5), momentum=0.1) == pytest.approx(0.95)


# ---------------------------------------------------------------------------------------
# iou_loss(mode=...) (issue 14)
# ---------------------------------------------------------------------------------------


def test_iou_loss_modes(xp):
    pred, target = random_pairs(np.random.default_rng(14), 5)
    iou = 1.0 - losskit.iou_loss(pred, target, reduction="none")  # the linear form, float64
    p, t = xp.asarray(pred), xp.asarray(target)
    tol = dict(rtol=2e-5 if xp.float_dtype == "float32" else 1e-12, atol=1e-6)
    xp.assert_close(xp.call(lambda a, b: losskit.iou_loss(a, b, mode="square", reduction="none"), p, t), 1 - iou**2, **tol)
    xp.assert_close(xp.call(lambda a, b: losskit.iou_loss(a, b, mode="log", reduction="none"), p, t), -np.log(iou), **tol)
    # the default is unchanged: 1 - IoU
    xp.assert_close(xp.call(lambda a, b: losskit.iou_loss(a, b, reduction="none"), p, t), 1 - iou, **tol)


def test_iou_log_mode_is_finite_without_overlap():
    torch = pytest.importorskip("torch")
    p = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[5.0, 5.0, 6.0, 6.0], [1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    out = losskit.iou_loss(p, t, mode="log", reduction="none")
    out.sum().backward()
    # disjoint: -ln(eps), no gradient; overlapping: IoU = 1 / (7 + eps), -ln IoU = ln(7 + eps)
    np.testing.assert_allclose(out.detach().numpy(), [-math.log(1e-7), math.log(7.0 + 1e-7)], rtol=1e-12)
    assert torch.all(p.grad[0] == 0) and torch.isfinite(p.grad).all()


def test_unitbox_reference():
    assert "arXiv:1608.01471" in losskit.get("iou_loss").reference
    assert "1608.04236" not in (losskit.iou_loss.__doc__ or "")
