"""Hypothesis properties of the box losses: IoU in [0, 1]; every loss is 0 at pred == target
and non-negative; the symmetric losses are symmetric; translation invariance; scale
invariance where the papers claim it (and its absence for MPDIoU with a fixed image size);
finite values and gradients on arbitrary boxes (inverted, degenerate, huge, far apart).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import losskit

# Small eps for the invariance properties: eps = 1e-7 is an absolute area, so it breaks exact
# scale invariance for tiny boxes by eps / area; 1e-12 keeps that below the tolerance.
EPS = 1e-12

LOSSES = {
    "iou": (losskit.iou_loss, {}),
    "giou": (losskit.giou_loss, {}),
    "diou": (losskit.diou_loss, {}),
    "ciou": (losskit.ciou_loss, {}),
    "ciou_journal": (losskit.ciou_loss, {"alpha_threshold": 0.5}),
    "eiou": (losskit.eiou_loss, {}),
    "focal_eiou": (losskit.focal_eiou_loss, {}),
    "siou": (losskit.siou_loss, {}),
    "alpha_iou": (losskit.alpha_iou_loss, {}),
    "alpha_ciou": (losskit.alpha_iou_loss, {"base": "ciou"}),
    "wiou_v1": (losskit.wiou_loss, {}),
    "wiou_v3": (losskit.wiou_loss, {"version": 3, "iou_mean": 0.5}),
    "mpdiou": (losskit.mpdiou_loss, {"image_size": (64.0, 48.0)}),
    "shape_iou": (losskit.shape_iou_loss, {"scale": 0.5}),
    "inner_ciou": (losskit.inner_iou_loss, {}),
    "inner_siou": (losskit.inner_iou_loss, {"base": "siou", "ratio": 1.3}),
    "focaler_ciou": (losskit.focaler_iou_loss, {}),
    "focaler_giou": (losskit.focaler_iou_loss, {"base": "giou", "d": 0.2, "u": 0.8}),
}
NAMES = list(LOSSES)

# Scale invariance: every loss built from ratios of lengths (IoU, the enclosing box, centre
# distance over the diagonal, aspect ratios, relative size differences). The papers claim it
# for IoU, GIoU, DIoU and CIoU; it also holds for EIoU (squared differences over squared
# enclosing sides), SIoU, Alpha-IoU, Wise-IoU, Shape-IoU (ww, hh depend on w/h only), and
# the Inner / Focaler modifiers. MPDIoU divides by the image size: invariant only when the
# image is scaled with the boxes (tested separately).
SCALE_INVARIANT = [n for n in NAMES if n != "mpdiou"]
SYMMETRIC = ["iou", "giou", "diou", "ciou", "eiou", "siou", "wiou_v1", "mpdiou", "alpha_ciou"]

coord = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False)
size = st.floats(0.5, 80.0, allow_nan=False, allow_infinity=False)


@st.composite
def valid_boxes(draw, n=3):
    """(n, 4) xyxy boxes of positive size."""
    rows = []
    for _ in range(n):
        x, y, w, h = draw(coord), draw(coord), draw(size), draw(size)
        rows.append([x, y, x + w, y + h])
    return np.array(rows)


@st.composite
def near_pairs(draw, n=3):
    """Targets and predictions near them (so that most pairs overlap)."""
    t = draw(valid_boxes(n))
    jitter = np.array([[draw(st.floats(-0.6, 0.6)) for _ in range(4)] for _ in range(n)])
    wh = np.concatenate([t[:, 2:] - t[:, :2]] * 2, axis=1)
    p = t + jitter * wh
    # keep predictions valid (positive size) for the properties of valid boxes
    p[:, 2] = np.maximum(p[:, 2], p[:, 0] + 0.1)
    p[:, 3] = np.maximum(p[:, 3], p[:, 1] + 0.1)
    return p, t


wild = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def wild_boxes(draw, n=2):
    """Anything: inverted, zero-size, huge, far apart, identical coordinates."""
    special = st.sampled_from([0.0, 1.0, -1.0, 1e4, -1e4, 0.5])
    value = st.one_of(wild, special)
    return np.array([[draw(value) for _ in range(4)] for _ in range(n)])


@given(st.one_of(valid_boxes(), wild_boxes(3)), st.one_of(valid_boxes(), wild_boxes(3)))
def test_iou_in_unit_interval(a, b):
    iou = losskit.box_iou(a, b)
    assert np.all((iou >= 0.0) & (iou <= 1.0)), iou
    m = losskit.box_iou_matrix(a, b)
    assert np.all((m >= 0.0) & (m <= 1.0))
    np.testing.assert_allclose(np.diagonal(m), iou, rtol=1e-12, atol=1e-15)


@given(valid_boxes())
@pytest.mark.parametrize("name", NAMES)
def test_minimum_zero_at_identical_boxes(name, boxes):
    fn, opts = LOSSES[name]
    out = fn(boxes, boxes, reduction="none", eps=EPS, **opts)
    np.testing.assert_allclose(out, 0.0, atol=1e-9)


@given(near_pairs())
@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("inner") and not n.startswith("focaler")])
def test_nonnegative(name, pair):
    fn, opts = LOSSES[name]
    p, t = pair
    assert np.all(fn(p, t, reduction="none", **opts) >= -1e-12)


@given(near_pairs())
@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_losses(name, pair):
    fn, opts = LOSSES[name]
    p, t = pair
    np.testing.assert_allclose(
        fn(p, t, reduction="none", **opts), fn(t, p, reduction="none", **opts), rtol=1e-9, atol=1e-12
    )


@given(near_pairs(), st.floats(-500.0, 500.0), st.floats(-500.0, 500.0))
@pytest.mark.parametrize("name", NAMES)
def test_translation_invariance(name, pair, dx, dy):
    fn, opts = LOSSES[name]
    p, t = pair
    shift = np.array([dx, dy, dx, dy])
    a = fn(p, t, reduction="none", eps=EPS, **opts)
    b = fn(p + shift, t + shift, reduction="none", eps=EPS, **opts)
    # float64 rounding of coordinates up to ~600 on sizes >= 0.1: ~1e-13 relative
    np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-8)


@given(near_pairs(), st.floats(0.05, 20.0))
@pytest.mark.parametrize("name", SCALE_INVARIANT)
def test_scale_invariance(name, pair, k):
    fn, opts = LOSSES[name]
    p, t = pair
    if "alpha_threshold" in opts:
        # the aspect term switches on at IoU = alpha_threshold (the loss jumps there): an IoU
        # within rounding of it may land on either side after scaling
        iou = 1 - losskit.iou_loss(p, t, eps=EPS, reduction="none")
        assume(np.all(np.abs(iou - opts["alpha_threshold"]) > 1e-9))
    a = fn(p, t, reduction="none", eps=EPS, **opts)
    b = fn(k * p, k * t, reduction="none", eps=EPS, **opts)
    np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-8)


@given(near_pairs(), st.floats(0.1, 10.0))
def test_mpdiou_scales_with_the_image(pair, k):
    p, t = pair
    a = losskit.mpdiou_loss(p, t, image_size=(64.0, 48.0), eps=EPS, reduction="none")
    b = losskit.mpdiou_loss(k * p, k * t, image_size=(64.0 * k, 48.0 * k), eps=EPS, reduction="none")
    np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-8)
    # with the image fixed, the corner penalty scales by k^2 (not invariant)
    c = losskit.mpdiou_loss(k * p, k * t, image_size=(64.0, 48.0), eps=EPS, reduction="none")
    iou = 1 - losskit.iou_loss(p, t, eps=EPS, reduction="none")
    np.testing.assert_allclose(c - (1 - iou), k * k * (a - (1 - iou)), rtol=1e-6, atol=1e-9)


@given(wild_boxes(), wild_boxes())
@pytest.mark.parametrize("name", NAMES)
def test_finite_value_and_gradient_on_arbitrary_boxes(name, p, t):
    torch = pytest.importorskip("torch")
    fn, opts = LOSSES[name]
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(p, dtype=dtype, requires_grad=True)
        out = fn(x, torch.tensor(t, dtype=dtype), reduction="none", **opts)
        out.sum().backward()
        assert torch.isfinite(out).all(), (out, p, t)
        assert torch.isfinite(x.grad).all(), (x.grad, p, t)


@given(wild_boxes(), wild_boxes())
def test_half_precision_inputs_give_finite_losses(p, t):
    torch = pytest.importorskip("torch")
    # Values are always finite. Gradients: where a box side is (near) zero, the eps guards
    # give derivatives of order 1 / eps (CIoU's atan(w / (h + eps)) for a point; GIoU's
    # penalty for an enclosing box of zero area): finite in the float32 compute dtype (see
    # test_finite_value_and_gradient_on_arbitrary_boxes) but beyond float16's range once
    # cast back to the input's dtype. So the gradient is checked on non-degenerate boxes.
    sides = np.concatenate([p[:, 2:] - p[:, :2], t[:, 2:] - t[:, :2]])
    degenerate = bool(np.any(np.abs(sides) < 1e-3))
    for dtype in (torch.float16, torch.bfloat16):
        x = torch.tensor(p, dtype=dtype, requires_grad=True)
        for name in ("giou", "ciou", "siou", "eiou", "wiou_v3"):
            fn, opts = LOSSES[name]
            x.grad = None
            out = fn(x, torch.tensor(t, dtype=dtype), reduction="sum", **opts)
            out.backward()
            assert out.dtype == torch.float32 and torch.isfinite(out), (name, p, t)
            if not degenerate:
                assert torch.isfinite(x.grad).all(), (name, p, t)
