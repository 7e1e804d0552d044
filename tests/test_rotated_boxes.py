"""Rotated boxes beyond the case table: exact IoU against shapely on thousands of random
pairs, the invariances of issue 14 as property tests, every NaN report of the peers'
trackers as a case, and the family's degenerate inputs (finite values and gradients)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
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


def _conditioned(fn, p, t):
    """``fn(p, t)`` as the quantity to compare between two spellings of one pair: ProbIoU's
    loss is the Hellinger distance sqrt(1 - e^-B), whose slope is infinite at B = 0, so a
    rounding of B (~1e-16 between two spellings of a box) moves a near-zero loss by ~1e-8;
    its square, 1 - e^-B, is well-conditioned."""
    value = float(fn(p, t))
    return value * value if fn is losskit.probiou_loss else value


def _f64(*boxes):
    return [np.array(b, dtype=np.float64) for b in boxes]


@settings(max_examples=40, deadline=None)
@given(p=_box, t=_box)
@example(p=(0.0, 0.0, 1.0, 3.0, 1.837890625), t=(0.0, 0.0, 1.0, 3.0, 1.837890625))  # identical boxes
def test_angle_plus_pi_and_width_height_swap(p, t):
    p, t = _f64(p, t)
    turned = p + np.array([0, 0, 0, 0, math.pi])
    swapped = np.array([p[0], p[1], p[3], p[2], p[4] + math.pi / 2])
    for fn in LOSSES:
        ref = _conditioned(fn, p, t)
        for same in (turned, swapped):
            np.testing.assert_allclose(_conditioned(fn, same, t), ref, rtol=1e-7, atol=1e-9, err_msg=fn.__name__)


@settings(max_examples=40, deadline=None)
@given(p=_box, t=_box, dx=_coord, dy=_coord)
def test_translation_invariance(p, t, dx, dy):
    p, t = _f64(p, t)
    shift = np.array([dx, dy, 0, 0, 0])
    for fn in LOSSES:
        np.testing.assert_allclose(_conditioned(fn, p + shift, t + shift), _conditioned(fn, p, t), rtol=1e-7, atol=1e-9,
                                   err_msg=fn.__name__)


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
        np.testing.assert_allclose(_conditioned(fn, pa, t), _conditioned(fn, pb, t), rtol=1e-7, atol=1e-9, err_msg=fn.__name__)
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


# --------------------------------------------------------------------------- fast paths
# rotated_boxes.probiou_numba and rotated_boxes.kld_numba (losskit.rotated_boxes._numba):
# compiled loss + hand-derived gradient, pinned here to the reference (fast_paths(False))
# beyond the case table: every option, both gradients, float32 and float64, broadcasting,
# degenerate pairs, huge coordinates and angles, thread splits, a second backward.

FAST = {"rotated_boxes.probiou_numba": losskit.probiou_loss, "rotated_boxes.kld_numba": losskit.kld_loss}
FAST_OPTIONS = [
    ("rotated_boxes.probiou_numba", {}),
    ("rotated_boxes.probiou_numba", {"mode": "l2"}),
    ("rotated_boxes.probiou_numba", {"floor": 0.01}),
    ("rotated_boxes.probiou_numba", {"mode": "l2", "floor": 0.5, "eps": 1e-3}),
    ("rotated_boxes.kld_numba", {}),
    ("rotated_boxes.kld_numba", {"direction": "target_pred", "sqrt": True}),
    ("rotated_boxes.kld_numba", {"direction": "symmetric", "fun": "sqrt", "tau": 2.0}),
    ("rotated_boxes.kld_numba", {"direction": "max", "fun": "none", "tau": None}),
    ("rotated_boxes.kld_numba", {"direction": "min", "sqrt": True, "fun": "log1p", "tau": None}),
    ("rotated_boxes.kld_numba", {"fun": "none", "eps": 1e-3}),
]
FAST_IDS = [p.split(".")[1] + "".join(f"-{k}={v}" for k, v in o.items()) for p, o in FAST_OPTIONS]

# Degenerate pairs (pred, target): each a kink or a guard of the reference.
FAST_DEGENERATE = {
    "identical": ([1.0, -2.0, 3.0, 1.5, 0.4], [1.0, -2.0, 3.0, 1.5, 0.4]),
    "zero-width": ([1.2, -2.0, 0.0, 1.5, 0.4], [1.0, -2.0, 3.0, 1.5, 0.4]),
    "zero-size-both": ([1.2, -1.9, 0.0, 0.0, 0.1], [1.2, -1.9, 0.0, 0.0, 0.1]),
    "point-vs-box": ([0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 2.0, 2.0, 0.0]),
    "negative-size": ([1.0, -2.0, -3.0, -1.5, 0.4], [1.0, -2.0, 3.0, 1.5, 0.5]),
    "coincident-centres": ([5.0, 5.0, 8.0, 1.0, 0.0], [5.0, 5.0, 1.0, 8.0, 0.0]),
    "far-apart": ([1e4, 1e4, 4.0, 2.0, 0.3], [0.0, 0.0, 4.0, 2.0, 0.3]),
    "huge-coordinates": ([1e6 + 5, -1e6, 310.0, 190.0, 0.15], [1e6, -1e6, 300.0, 200.0, 0.1]),
    "angle-far-out": ([1.3, -2.1, 3.0, 1.5, 0.4 + 2e5], [1.0, -2.0, 3.0, 1.5, 0.4]),
}


def _fast_vs_reference(path, pred, target, dtype, **options):
    """(value, d pred, d target) of the loss (reduction="none") on the fast path alone, on
    the reference, and (float32 only, else None) on the float64 reference, as float64
    NumPy; asserts which path ran."""
    fn = FAST[path]
    runs = [(losskit.fast_paths(only=path), {path}, dtype), (losskit.fast_paths(False), set(), dtype)]
    if dtype == torch.float32:
        runs.append((losskit.fast_paths(False), set(), torch.float64))
    out = []
    for ctx, expected, dt in runs:
        x = torch.as_tensor(np.asarray(pred), dtype=dt).clone().requires_grad_(True)
        y = torch.as_tensor(np.asarray(target), dtype=dt).clone().requires_grad_(True)
        with ctx as used:
            v = fn(x, y, reduction="none", **options)
            gx, gy = torch.autograd.grad(v.sum(), (x, y))
        assert used == expected
        out.append([a.detach().double().numpy() for a in (v, gx, gy)])
    return out[0], out[1], (out[2] if len(out) > 2 else None)


def _assert_close(fast, ref, dtype, truth=None):
    """float64: 1e-10 relative. float32: the two are different roundings of one formula,
    so they may differ by the float32 reference's own error (``truth``: the float64
    reference) -- the loss is ill-conditioned where B_D is a small difference of logs
    (ln(D / P) with D / P near 1) under a square root -- plus 2e-5 on the scale of each
    entry, a gradient entry on the scale of its row (a small entry is the difference of
    large terms, with their rounding error)."""
    rtol, atol = (1e-10, 1e-13) if dtype == torch.float64 else (2e-5, 2e-7)
    for i, (f, r) in enumerate(zip(fast, ref)):
        scale = np.abs(r) if i == 0 else np.abs(r).max(axis=-1, keepdims=True)
        tol = rtol * scale + atol
        if truth is not None:
            tol = tol + 2.0 * np.nan_to_num(np.abs(r - truth[i]))
        bad = ~(np.abs(f - r) <= tol)
        assert not bad.any(), f"output {i} (value, d pred, d target): fast {f[bad]}, reference {r[bad]}"


def _fast_random(seed, n=300):
    rng = np.random.default_rng(seed)
    t = np.c_[rng.uniform(0, 600, (n, 2)), rng.uniform(0.5, 60, (n, 2)), rng.uniform(-3.2, 3.2, n)]
    p = t + rng.normal(0, 1, (n, 5)) * [3.0, 3.0, 2.0, 2.0, 0.2]
    return p, t


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path, options", FAST_OPTIONS, ids=FAST_IDS)
def test_fast_path_random_pairs_values_and_both_gradients(path, options, dtype):
    pytest.importorskip("numba")
    p, t = _fast_random(11)
    fast, ref, truth = _fast_vs_reference(path, p, t, dtype, **options)
    _assert_close(fast, ref, dtype, truth)
    assert np.abs(fast[1]).max() > 0 and np.abs(fast[2]).max() > 0  # both gradients non-trivial


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FAST_DEGENERATE))
@pytest.mark.parametrize("path, options", FAST_OPTIONS, ids=FAST_IDS)
def test_fast_path_degenerate_pairs(path, options, name, dtype):
    pytest.importorskip("numba")
    p, t = FAST_DEGENERATE[name]
    fast, ref, truth = _fast_vs_reference(path, [p], [t], dtype, **options)
    for a in fast:
        assert np.isfinite(a).all()
    _assert_close(fast, ref, dtype, truth)


def test_fast_path_float32_as_accurate_as_the_reference():
    """Against the float64 reference, the float32 fast path is as accurate as the float32
    reference (its sin / cos are the polynomial of _numba.sincos_kernel, not torch's)."""
    pytest.importorskip("numba")
    p, t = _fast_random(12, n=2000)
    for path, options in FAST_OPTIONS:
        fast, ref, truth = _fast_vs_reference(path, p, t, torch.float32, **options)
        for i in range(3):
            scale = np.abs(truth[i]) if i == 0 else np.abs(truth[i]).max(axis=-1, keepdims=True)
            err_fast = (np.abs(fast[i] - truth[i]) / (scale + 1e-30)).max()
            err_ref = (np.abs(ref[i] - truth[i]) / (scale + 1e-30)).max()
            assert err_fast <= 1.5 * err_ref + 1e-6, (path, options, i, err_fast, err_ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path", sorted(FAST))
def test_fast_path_broadcasting_and_batch_shapes(path, dtype):
    """(4, 1, 5) against (1, 3, 5): the gradients sum over the broadcast axes (torch's
    broadcast_tensors) and the loss keeps the batch shape; a single (5,) pair gives a 0-d loss."""
    pytest.importorskip("numba")
    p, t = _fast_random(13, n=12)
    fast, ref, truth = _fast_vs_reference(path, p[:4, None], t[None, :3], dtype)
    assert fast[0].shape == (4, 3) and fast[1].shape == (4, 1, 5) and fast[2].shape == (1, 3, 5)
    _assert_close(fast, ref, dtype, truth)
    fast, ref, truth = _fast_vs_reference(path, p[0], t[0], dtype)
    assert fast[0].shape == ()
    _assert_close(fast, ref, dtype, truth)


@pytest.mark.parametrize("path", sorted(FAST))
def test_fast_path_degrees_and_half_precision(path):
    """Degrees are converted before the kernel (the reference's prepare, whose autograd
    carries pi / 180); float16 boxes compute in float32 on the fast path too."""
    pytest.importorskip("numba")
    p, t = _fast_random(14, n=50)
    deg = np.array([1, 1, 1, 1, 180 / math.pi])
    fast, ref, truth = _fast_vs_reference(path, p * deg, t * deg, torch.float32, angle_unit="degrees")
    _assert_close(fast, ref, torch.float32, truth)
    radians = _fast_vs_reference(path, p, t, torch.float64)[1]
    _assert_close([truth[0]], [radians[0]], torch.float64)  # degrees are radians * 180 / pi
    x = torch.tensor(p[:, :], dtype=torch.float16)
    with losskit.fast_paths(only=path) as used:
        out = FAST[path](x, torch.tensor(t, dtype=torch.float16))
    assert used == {path} and out.dtype == torch.float32


@pytest.mark.parametrize("path", sorted(FAST))
def test_fast_path_empty_batch_no_grad_and_second_backward(path):
    pytest.importorskip("numba")
    fn = FAST[path]
    with losskit.fast_paths(only=path) as used:
        e = torch.zeros((0, 5), requires_grad=True)
        out = fn(e, torch.zeros((0, 5)))
        out.backward()
        assert float(out) == 0.0 and e.grad.shape == (0, 5)
        p, t = (torch.tensor(a, dtype=torch.float64) for a in _fast_random(15, n=40))
        with torch.no_grad():
            plain = fn(p, t, reduction="none")
        x = p.clone().requires_grad_(True)
        y = fn(x, t, reduction="sum")
        (g1,) = torch.autograd.grad(y, x, retain_graph=True)
        (g2,) = torch.autograd.grad(y, x)  # the saved local gradients were spent: recomputed
    assert used == {path}
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(plain.sum(), y.detach(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("path", sorted(FAST))
def test_fast_path_thread_split_changes_no_number(path):
    """Ranges of any size (grain=) over several threads give the same numbers as one range."""
    pytest.importorskip("numba")
    from losskit.rotated_boxes import _numba as rot_numba

    p, t = (torch.tensor(a, dtype=torch.float32) for a in _fast_random(16, n=1000))
    kernel = rot_numba.probiou if path.endswith("probiou_numba") else rot_numba.kld
    options = (dict(mode="l1", floor=0.0, eps=1e-7, k=1 / 12) if kernel is rot_numba.probiou else
               dict(direction="symmetric", sqrt=False, fun="log1p", tau=1.0, eps=1e-7, k=0.25))
    threads = torch.get_num_threads()
    results = []
    try:
        torch.set_num_threads(3)
        for grain in (rot_numba.GRAIN, 7, 100):
            x = p.clone().requires_grad_(True)
            out = kernel(x, t, grain=grain, **options)
            (g,) = torch.autograd.grad(out.sum(), x)
            results.append((out, g))
    finally:
        torch.set_num_threads(threads)
    for out, g in results[1:]:
        torch.testing.assert_close(out, results[0][0], rtol=0, atol=0)
        torch.testing.assert_close(g, results[0][1], rtol=0, atol=0)


@pytest.mark.parametrize("path", sorted(FAST))
def test_fast_path_nan_as_the_reference(path):
    """A NaN box gives what the reference gives (the same value, NaN or not, and the same
    gradient pattern), and leaves the other pairs alone."""
    pytest.importorskip("numba")
    p, t = _fast_random(17, n=6)
    p[2, 0] = np.nan
    t[4, 3] = np.nan
    for options in ({}, {"mode": "l2"}) if "probiou" in path else ({}, {"fun": "none", "tau": None}):
        fast, ref, _ = _fast_vs_reference(path, p, t, torch.float64, **options)
        for f, r in zip(fast, ref):
            np.testing.assert_array_equal(np.isnan(f), np.isnan(r))
        ok = [0, 1, 3, 5]
        _assert_close([a[ok] for a in fast], [a[ok] for a in ref], torch.float64)


def test_sincos_kernel_float32_polynomial():
    """The float32 sin / cos of the kernels: within an ulp of the float64 values (correctly
    rounded but for ties), large angles and inf through the C library, NaN stays NaN."""
    pytest.importorskip("numba")
    from losskit.rotated_boxes import _numba as rot_numba

    rng = np.random.default_rng(18)
    x = np.r_[rng.uniform(-10, 10, 20000), rng.uniform(-1e5, 1e5, 2000), [0.0, -0.0, 1e-30, math.pi / 4,
              math.pi / 2, 3 * math.pi / 2, 9e4, 1e5, 1.0001e5, 3e7, -1e30]].astype(np.float32)
    boxes = np.zeros((x.size, 5), np.float32)
    boxes[:, 4] = x
    out = np.empty((4, x.size), np.float32)
    rot_numba.sincos_kernel(0, 0, x.size, boxes, boxes, True, out)
    xd = x.astype(np.float64)
    for got, exact in ((out[0], np.cos(xd)), (out[1], np.sin(xd))):
        ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        assert (np.abs(got - exact) <= ulp).all()
    special = np.array([[0, 0, 0, 0, v] for v in (np.nan, np.inf, -np.inf)], np.float32)
    out = np.empty((4, 3), np.float32)
    rot_numba.sincos_kernel(0, 0, 3, special, special, True, out)
    assert np.isnan(out).all()
