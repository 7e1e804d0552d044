"""Rotated boxes beyond the case table: exact IoU against shapely on thousands of random
pairs, the invariances of issue 14 as property tests, every NaN report of the peers'
trackers as a case, and the family's degenerate inputs (finite values and gradients)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losskit

torch = pytest.importorskip("torch")

LOSSES = [losskit.rotated_iou_loss, losskit.probiou_loss, losskit.gwd_loss, losskit.kld_loss, losskit.kfiou_loss]
IDS = [f.__name__ for f in LOSSES]


def _random_boxes(rng, n, spread=3.0):
    return np.c_[rng.uniform(-spread, spread, (n, 2)), rng.uniform(0.05, 4.0, (n, 2)), rng.uniform(-4, 4, n)]


# --------------------------------------------------------------------------- exact IoU


def _polygon(box):
    from shapely.geometry import Polygon

    cx, cy, w, h, a = box
    c, s = math.cos(a), math.sin(a)
    return Polygon([(cx + sx * w / 2 * c - sy * h / 2 * s, cy + sx * w / 2 * s + sy * h / 2 * c)
                    for sx, sy in ((1, -1), (1, 1), (-1, 1), (-1, -1))])


def _shapely_iou(a, b):
    pa, pb = _polygon(a), _polygon(b)
    inter = pa.intersection(pb).area
    return inter / (pa.area + pb.area - inter)


def test_iou_equals_shapely_on_random_pairs():
    pytest.importorskip("shapely")
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 4000), _random_boxes(rng, 4000)
    got = losskit.rotated_box_iou(a, b, eps=1e-300)
    ref = np.array([_shapely_iou(x, y) for x, y in zip(a, b)])
    assert 0.2 < (ref > 0).mean() < 0.8  # both overlapping and disjoint pairs
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    t = losskit.rotated_box_iou(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32), eps=1e-30)
    np.testing.assert_allclose(t.numpy(), ref, rtol=0, atol=2e-5)


def test_iou_matrix_equals_shapely_and_elementwise():
    pytest.importorskip("shapely")
    rng = np.random.default_rng(1)
    a, b = _random_boxes(rng, 40), _random_boxes(rng, 30)
    m = losskit.rotated_box_iou_matrix(a, b, eps=1e-300)
    ref = np.array([[_shapely_iou(x, y) for y in b] for x in a])
    np.testing.assert_allclose(m, ref, atol=1e-12)
    np.testing.assert_array_equal(m, losskit.rotated_box_iou(a[:, None], b[None], eps=1e-300))


def test_iou_matrix_blocks_agree():
    """More pairs than one block: the blocked rows equal the elementwise broadcast."""
    rng = np.random.default_rng(2)
    a, b = _random_boxes(rng, 300), _random_boxes(rng, 500)
    np.testing.assert_allclose(losskit.rotated_box_iou_matrix(a, b), losskit.rotated_box_iou(a[:, None], b[None]), atol=0)


@pytest.mark.parametrize("a, b", [
    ([0, 0, 2, 2, 0], [0, 0, 2, 2, 0]),                 # identical
    ([0, 0, 2, 2, 0], [0, 0, 2, 2, math.pi / 2]),       # a square over itself turned by 90 degrees
    ([0, 0, 4, 2, 0.3], [0, 0, 2, 4, 0.3 + math.pi / 2]),  # (w, h, a) == (h, w, a + pi/2)
    ([0, 0, 2, 2, 0], [2, 0, 2, 2, 0]),                 # sharing a side, touching from outside
    ([0, 0, 2, 2, 0], [1, 0, 2, 2, 0]),                 # collinear top and bottom edges
    ([0, 0, 4, 4, 0], [0, 0, 1, 1, 0.4]),               # nested
    ([0, 0, 2, 2, 0], [2, 2, 2, 2, 0]),                 # touching at a corner
], ids=["identical", "square-90", "swap-wh", "touching", "collinear", "nested", "corner"])
def test_iou_degenerate_contacts_exact_with_finite_gradients(a, b):
    pytest.importorskip("shapely")
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    out = losskit.rotated_box_iou(ta, torch.tensor(b, dtype=torch.float64), eps=1e-300)
    assert abs(float(out) - _shapely_iou(a, b)) < 1e-12
    out.backward()
    assert torch.isfinite(ta.grad).all()


# --------------------------------------------------------------------------- invariances

_coord = st.floats(-50, 50)
_size = st.floats(0.2, 20)
_angle = st.floats(-6.3, 6.3)
_box = st.tuples(_coord, _coord, _size, _size, _angle)


def _f64(*boxes):
    return [np.array(b, dtype=np.float64) for b in boxes]


@settings(max_examples=40, deadline=None)
@given(p=_box, t=_box)
def test_angle_plus_pi_and_width_height_swap(p, t):
    p, t = _f64(p, t)
    turned = p + np.array([0, 0, 0, 0, math.pi])
    swapped = np.array([p[0], p[1], p[3], p[2], p[4] + math.pi / 2])
    for fn in LOSSES:
        ref = float(fn(p, t))
        np.testing.assert_allclose(float(fn(turned, t)), ref, rtol=1e-7, atol=1e-9, err_msg=fn.__name__)
        np.testing.assert_allclose(float(fn(swapped, t)), ref, rtol=1e-7, atol=1e-9, err_msg=fn.__name__)


@settings(max_examples=40, deadline=None)
@given(p=_box, t=_box, dx=_coord, dy=_coord)
def test_translation_invariance(p, t, dx, dy):
    p, t = _f64(p, t)
    shift = np.array([dx, dy, 0, 0, 0])
    for fn in LOSSES:
        np.testing.assert_allclose(float(fn(p + shift, t + shift)), float(fn(p, t)), rtol=1e-7, atol=1e-9, err_msg=fn.__name__)


@settings(max_examples=40, deadline=None)
@given(c=st.tuples(_coord, _coord), s=_size, a=_angle, b=_angle, t=_box)
def test_square_box_loss_does_not_depend_on_its_angle(c, s, a, b, t):
    """Against a target of any shape the loss of a square depends on its angle only by
    a multiple of pi/2; against a square target it does not at all (Gaussians: any angle)."""
    (t,) = _f64(t)
    sq_t = np.array([t[0], t[1], t[2], t[2], t[4]])
    pa = np.array([c[0], c[1], s, s, a])
    pb = np.array([c[0], c[1], s, s, b])
    for fn in LOSSES[1:]:  # a square's Gaussian is isotropic
        np.testing.assert_allclose(float(fn(pa, t)), float(fn(pb, t)), rtol=1e-7, atol=1e-9, err_msg=fn.__name__)
    np.testing.assert_allclose(float(losskit.rotated_iou_loss(pa, sq_t)),
                               float(losskit.rotated_iou_loss(pa + np.array([0, 0, 0, 0, math.pi / 2]), sq_t)), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(p=_box)
def test_zero_at_pred_equals_target(p):
    (p,) = _f64(p)
    bound = 1e-6 + 1e-7 / (p[2] * p[3])  # the IoU's eps over the area: 1 - A / (A + eps)
    for fn in LOSSES:
        assert abs(float(fn(p, p))) < bound, fn.__name__


# --------------------------------------------------------------------------- NaN reports


def _value_and_grad(fn, pred, target, dtype=torch.float32, **options):
    x = torch.tensor(pred, dtype=dtype).requires_grad_(True)
    y = torch.tensor(target, dtype=dtype)
    out = fn(x, y, **options)
    out.backward()
    return out.detach().float(), x.grad.float()


def _finite(fn, pred, target, **kw):
    out, grad = _value_and_grad(fn, pred, target, **kw)
    assert torch.isfinite(out).all(), f"{fn.__name__}: value {out}"
    assert torch.isfinite(grad).all(), f"{fn.__name__}: gradient {grad}"
    return out, grad


# ultralytics #10108: "covariance not positive definite" -- thin, nearly identical boxes
# whose a b - c^2 rounds below 0 in float32.
ULTRA_10108 = ([[100.0, 100.0, 200.0, 0.5, 0.7853982]], [[100.0, 100.0, 200.0, 0.5, 0.7853981]])
# PR #25007: sub-stride boxes (a fraction of a grid cell), where the gradient of the
# Bhattacharyya log-determinant explodes.
ULTRA_25007 = ([[3.2, 4.1, 0.02, 0.015, 0.3]], [[3.21, 4.1, 0.03, 0.01, 0.4]])
# mmrotate #204 / #205 / #240, mmyolo #836: NaN in GWD / KLD / KFIoU training with
# degenerate predictions (zero width, identical boxes, huge offsets, square boxes).
MMROTATE = [
    ([[10.0, 10.0, 0.0, 5.0, 0.3]], [[10.0, 10.0, 4.0, 5.0, 0.3]]),       # zero width prediction
    ([[10.0, 10.0, 4.0, 4.0, 0.3]], [[10.0, 10.0, 4.0, 4.0, 1.1]]),       # squares, any angle
    ([[10.0, 10.0, 4.0, 2.0, 0.3]], [[10.0, 10.0, 4.0, 2.0, 0.3]]),       # identical
    ([[1e4, 1e4, 4.0, 2.0, 0.3]], [[0.0, 0.0, 4.0, 2.0, 0.3]]),           # far apart
    ([[10.0, 10.0, 4.0, 2.0, 0.0]], [[10.0, 10.0, 2.0, 4.0, math.pi / 2]]),  # (w, h) swapped
]


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_ultralytics_10108_thin_nearly_identical(fn):
    _finite(fn, *ULTRA_10108)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_ultralytics_18119_amp_half_precision(fn, dtype):
    """Under AMP the boxes arrive in half precision: computed in float32, finite."""
    rng = np.random.default_rng(3)
    p = np.c_[rng.uniform(0, 600, (64, 2)), rng.uniform(1, 300, (64, 2)), rng.uniform(-3, 3, 64)]
    t = p + np.c_[rng.normal(0, 3, (64, 2)), rng.normal(0, 2, (64, 2)), rng.normal(0, 0.1, 64)]
    x = torch.tensor(p, dtype=dtype).requires_grad_(True)
    out = fn(x, torch.tensor(t, dtype=dtype))
    assert out.dtype == torch.float32 and torch.isfinite(out)
    out.backward()
    assert torch.isfinite(x.grad.float()).all()


@pytest.mark.parametrize("floor", [0.0, 0.01])
def test_ultralytics_25007_sub_stride_boxes(floor):
    out, grad = _finite(losskit.probiou_loss, *ULTRA_25007, floor=floor)
    if floor:
        # the floor bounds the gradient (what the PR is for)
        assert float(grad.abs().max()) < 1e3


@pytest.mark.parametrize("case", range(len(MMROTATE)), ids=["zero-w", "square", "identical", "far", "swap"])
@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_mmrotate_and_mmyolo_nan_reports(fn, case):
    _finite(fn, *MMROTATE[case])


DEGENERATE = {
    "zero-h-both": ([[0.0, 0.0, 3.0, 0.0, 0.2]], [[0.0, 0.0, 3.0, 0.0, 0.2]]),
    "zero-size": ([[0.0, 0.0, 0.0, 0.0, 0.0]], [[1.0, 0.0, 2.0, 2.0, 0.0]]),
    "coincident-centres": ([[5.0, 5.0, 8.0, 1.0, 0.0]], [[5.0, 5.0, 1.0, 8.0, 0.0]]),
    "huge": ([[1e6, -1e6, 300.0, 200.0, 0.1]], [[1e6 + 5, -1e6, 310.0, 190.0, 0.15]]),
    "negative-width": ([[0.0, 0.0, -2.0, 1.0, 0.1]], [[0.0, 0.0, 2.0, 1.0, 0.1]]),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(DEGENERATE))
@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_degenerate_inputs_finite(fn, name, dtype):
    _finite(fn, *DEGENERATE[name], dtype=dtype)


def test_negative_width_is_its_absolute_value():
    p, t = DEGENERATE["negative-width"]
    for fn in LOSSES:
        assert float(fn(np.array(p), np.array(t))) < 1e-6, fn.__name__


def test_iou_matrix_shape_checks():
    with pytest.raises(ValueError, match=r"boxes1: expected a 2-D array of shape \(N, 5\)"):
        losskit.rotated_box_iou_matrix(np.zeros(5), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="variance: expected one of 'uniform', 'gwd'"):
        losskit.rotated_box_to_gaussian(np.zeros(5), variance="box")


def test_gaussian_view_matches_rotation_convention():
    box = np.array([0.0, 0.0, 6.0, 2.0, 0.4])
    mean, cov = losskit.rotated_box_to_gaussian(box, variance="uniform")
    r = np.array([[math.cos(0.4), -math.sin(0.4)], [math.sin(0.4), math.cos(0.4)]])
    np.testing.assert_allclose(cov, r @ np.diag([36 / 12, 4 / 12]) @ r.T, atol=1e-12)
    _, cov4 = losskit.rotated_box_to_gaussian(box, variance="gwd")
    np.testing.assert_allclose(cov4, 3 * cov, atol=1e-12)


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_torch_compile_fullgraph(fn):
    rng = np.random.default_rng(4)
    p = torch.tensor(_random_boxes(rng, 8, spread=1.0), dtype=torch.float32)
    t = torch.tensor(_random_boxes(rng, 8, spread=1.0), dtype=torch.float32)
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(p, t), fn(p, t))
