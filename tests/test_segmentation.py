"""Segmentation losses (Dice family, Lovász): what the case table (``tests/cases/
segmentation.py``: hand-derived values, bad inputs, identities, gradients, empty batches,
the fast-path inputs) cannot express: values against the definition, shapes, ignore_index,
batch vs per-sample, every label dtype, NaN inputs, empty images, torch modules, and the
torch fast path's own invariants (its sums one at a time, retain_graph, autocast, which
path runs where). The numba path's are in test_segmentation_numba.py.

Expected values are computed in NumPy straight from the formula with an explicit one-hot
(``_ref_sums``), which shares no code with losskit's kernel (that one gathers at the label
and scatters into class bins). Paths are switched with ``losskit.fast_paths``.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from helpers import TORCH_DEVICE

TORCH = "segmentation.torch"
NUMBA = "segmentation.numba"

RNG = np.random.default_rng(1234)
# A small batch: N=2, C=3, 4 x 3 pixels; logits and labels with every class present.
X = RNG.standard_normal((2, 3, 4, 3))
LAB = RNG.integers(0, 3, size=(2, 4, 3))
LAB[0, 0, :] = [0, 1, 2]
LAB[1, 0, :] = [0, 1, 2]
ONEHOT = np.moveaxis(np.eye(3)[LAB], -1, 1)



def _softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ref_sums(p, g, batch=False, squared=False):
    """I, P, G per (sample, class) straight from the definition (one-hot g)."""
    axes = tuple(range(2, p.ndim))
    i, pp, gg = (p * g).sum(axes), (p**2 if squared else p).sum(axes), (g**2 if squared else g).sum(axes)
    if batch:
        i, pp, gg = i.sum(0), pp.sum(0), gg.sum(0)
    return i, pp, gg


# ----------------------------------------------------------------- against the definition


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("target_kind", ["labels", "onehot"])
def test_dice_matches_definition_softmax_labels_and_onehot(xp, batch, target_kind):
    p = _softmax(X)
    i, pp, gg = _ref_sums(p, ONEHOT, batch=batch)
    s = 1e-5
    expected = 1 - (2 * i + s) / (pp + gg + s)
    t = LAB if target_kind == "labels" else ONEHOT
    out = xp.call(
        lambda a, b: losskit.dice_loss(a, b, activation="softmax", batch=batch, reduction="none"),
        xp.asarray(X), xp.asarray(t),
    )
    assert out.shape == ((3,) if batch else (2, 3))
    xp.assert_close(out, expected, rtol=1e-5 if xp.float_dtype == "float32" else 1e-10)


def test_sigmoid_activation_and_3d_and_channels_last(xp):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 3, 2, 2))  # 3D volumes
    g = (rng.random((2, 2, 3, 2, 2)) > 0.5).astype(np.float64)
    p = 1 / (1 + np.exp(-x))
    i, pp, gg = _ref_sums(p, g)
    expected = 1 - (2 * i + 1e-5) / (pp + gg + 1e-5)
    out = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="sigmoid", reduction="none"), xp.asarray(x), xp.asarray(g))
    xp.assert_close(out, expected, rtol=1e-5)
    # class axis last: same values
    xl, gl = np.moveaxis(x, 1, -1), np.moveaxis(g, 1, -1)
    out_l = xp.call(
        lambda a, b: losskit.dice_loss(a, b, activation="sigmoid", axis=-1, reduction="none"), xp.asarray(xl), xp.asarray(gl)
    )
    xp.assert_close(out_l, expected, rtol=1e-5)


def test_single_channel_integer_labels_are_a_binary_mask(xp):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 5))
    lab = rng.integers(0, 2, size=(2, 5))
    a = xp.call(lambda u, v: losskit.dice_loss(u, v, activation="sigmoid"), xp.asarray(x), xp.asarray(lab))
    b = xp.call(
        lambda u, v: losskit.dice_loss(u, v, activation="sigmoid"), xp.asarray(x), xp.asarray(lab[:, None].astype(float))
    )
    xp.assert_close(a, xp.np(b))


def test_class_weights_weighted_mean(xp):
    p = _softmax(X)
    i, pp, gg = _ref_sums(p, ONEHOT)
    per = 1 - (2 * i + 1e-5) / (pp + gg + 1e-5)
    w = np.array([0.2, 1.0, 3.0])
    kw = dict(activation="softmax", weight=None)

    def f(red, ib=True):
        return xp.call(
            lambda a, b, ww: losskit.dice_loss(a, b, **{**kw, "weight": ww}, include_background=ib, reduction=red),
            xp.asarray(X), xp.asarray(LAB), xp.asarray(w),
        )

    xp.assert_close(f("none"), per * w, rtol=1e-5)
    xp.assert_close(f("sum"), (per * w).sum(), rtol=1e-5)
    xp.assert_close(f("mean"), (per * w).sum() / (2 * w.sum()), rtol=1e-5)
    # without background the background's weight is dropped with the class
    xp.assert_close(f("mean", False), (per[:, 1:] * w[1:]).sum() / (2 * w[1:].sum()), rtol=1e-5)


# ----------------------------------------------------------------- identities (peers)


def test_dice_on_hard_labels_is_one_minus_f1():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, size=(1, 40))
    y_pred = rng.integers(0, 2, size=(1, 40))
    out = losskit.dice_loss(
        y_pred[:, None].astype(np.float64), y_true, smooth_nr=0.0, smooth_dr=0.0
    )
    f1 = sklearn.f1_score(y_true[0], y_pred[0])
    np.testing.assert_allclose(float(out), 1 - f1, rtol=1e-12)
    # multiclass: per-class F1 (average=None) against reduction="none"
    yt = rng.integers(0, 3, size=(1, 50))
    yp = rng.integers(0, 3, size=(1, 50))
    onehot_pred = np.moveaxis(np.eye(3)[yp], -1, 1)
    per = losskit.dice_loss(onehot_pred, yt, smooth_nr=0.0, smooth_dr=0.0, reduction="none")
    np.testing.assert_allclose(per[0], 1 - sklearn.f1_score(yt[0], yp[0], average=None), rtol=1e-12)
    # Jaccard on hard labels is 1 - IoU (sklearn's jaccard_score)
    jac = losskit.jaccard_loss(onehot_pred, yt, smooth_nr=0.0, smooth_dr=0.0, reduction="none")
    np.testing.assert_allclose(jac[0], 1 - sklearn.jaccard_score(yt[0], yp[0], average=None), rtol=1e-12)


# ----------------------------------------------------------------- empty targets, ignore_index, batch


def test_empty_target_empty_prediction_is_zero_and_predicted_mass_is_pushed_down(autodiff_xp):
    b = autodiff_xp
    g = np.zeros((1, 1, 6))
    zero = b.np(losskit.dice_loss(b.asarray(np.zeros((1, 1, 6))), b.asarray(g)))
    assert zero == 0.0
    # p has mass P = 0.6 on an empty target: L = 1 - s / (0.6 + s), dL/dp_i = s / (0.6 + s)^2 > 0
    s = 1e-5
    p = np.full((1, 1, 6), 0.1)
    value, grad = b.grad(losskit.dice_loss, b.asarray(p), b.asarray(g))
    np.testing.assert_allclose(value, 1 - s / (0.6 + s), rtol=1e-12)
    np.testing.assert_allclose(grad, np.full_like(p, s / (0.6 + s) ** 2), rtol=1e-10)
    assert np.all(grad > 0)  # gradient descent lowers the predicted mass
    # a larger, equal smoothing gives a stronger push: s = 1 -> 1 / 1.6^2
    _, g1 = b.grad(lambda a, t: losskit.dice_loss(a, t, smooth_nr=1.0, smooth_dr=1.0), b.asarray(p), b.asarray(g))
    np.testing.assert_allclose(g1, np.full_like(p, 1 / 1.6**2), rtol=1e-10)
    # smooth_nr = 0: the loss is stuck at 1 with zero gradient (the trap the default avoids)
    v0, g0 = b.grad(lambda a, t: losskit.dice_loss(a, t, smooth_nr=0.0), b.asarray(p), b.asarray(g))
    np.testing.assert_allclose(v0, 1.0)
    np.testing.assert_allclose(g0, 0.0, atol=1e-15)


@pytest.mark.parametrize(
    "fn", [losskit.dice_loss, losskit.jaccard_loss, losskit.tversky_loss, losskit.focal_tversky_loss, losskit.log_cosh_dice_loss]
)
def test_empty_target_and_prediction_zero_for_every_overlap_loss(xp, fn):
    p, g = xp.asarray(np.zeros((2, 2, 3))), xp.asarray(np.zeros((2, 2, 3)))
    xp.assert_close(xp.call(lambda a, b: fn(a, b, reduction="none"), p, g), np.zeros((2, 2)))


def test_ignore_index_pixels_contribute_nothing(xp):
    # The last row of every image is ignored: the loss equals the loss on the cropped
    # images, whatever the logits there.
    lab = LAB.copy()
    lab[:, -1, :] = 255
    x2 = X.copy()
    x2[:, :, -1, :] = 50.0 * RNG.standard_normal((2, 3, 3))
    for fn, kw in ((losskit.dice_loss, {}), (losskit.tversky_loss, {"alpha": 0.2, "beta": 0.8}), (losskit.jaccard_loss, {})):
        kw = dict(kw, activation="softmax")
        full = xp.call(lambda a, b: fn(a, b, ignore_index=255, reduction="none", **kw), xp.asarray(x2), xp.asarray(lab))
        crop = xp.call(lambda a, b: fn(a, b, reduction="none", **kw), xp.asarray(X[:, :, :-1]), xp.asarray(LAB[:, :-1]))
        xp.assert_close(full, xp.np(crop), rtol=1e-5)
    # negative ignore_index too
    lab2 = np.where(lab == 255, -100, lab)
    a = xp.call(lambda u, v: losskit.dice_loss(u, v, ignore_index=-100), xp.asarray(x2), xp.asarray(lab2))
    b = xp.call(lambda u, v: losskit.dice_loss(u, v), xp.asarray(X[:, :, :-1]), xp.asarray(LAB[:, :-1]))
    xp.assert_close(a, xp.np(b), rtol=1e-5)


def test_ignore_index_fully_ignored_sample_is_left_out_of_the_mean(xp):
    lab = LAB.copy()
    lab[1] = -1
    fns = [losskit.dice_loss, losskit.generalized_dice_loss, losskit.lovasz_softmax_loss]
    for fn in fns:
        kw = dict(activation="softmax", ignore_index=-1)
        both = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X), xp.asarray(lab))
        first = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X[:1]), xp.asarray(lab[:1]))
        xp.assert_close(both, xp.np(first), rtol=1e-5)


def test_ignore_index_gradient_is_zero_at_ignored_pixels(autodiff_xp):
    b = autodiff_xp
    lab = LAB.copy()
    lab[:, 0, 0] = 7
    _, g = b.grad(lambda a, t: losskit.dice_loss(a, t, activation="softmax", ignore_index=7), b.asarray(X), b.asarray(lab))
    assert np.all(g[:, :, 0, 0] == 0)
    assert np.any(g[:, :, 1:, :] != 0)


def test_ignore_index_on_dense_targets_is_elementwise(xp):
    g = ONEHOT.copy()
    g[:, :, -1, :] = -1.0
    full = xp.call(
        lambda a, b: losskit.dice_loss(a, b, activation="sigmoid", ignore_index=-1, reduction="none"), xp.asarray(X), xp.asarray(g)
    )
    crop = xp.call(
        lambda a, b: losskit.dice_loss(a, b, activation="sigmoid", reduction="none"),
        xp.asarray(X[:, :, :-1]), xp.asarray(ONEHOT[:, :, :-1]),
    )
    xp.assert_close(full, xp.np(crop), rtol=1e-5)


def test_batch_true_pools_and_batch_false_does_not_depend_on_batch_mates(xp):
    # batch=False: a sample's loss does not change when the batch around it changes.
    one = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="softmax", reduction="none"), xp.asarray(X[:1]), xp.asarray(LAB[:1]))
    two = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="softmax", reduction="none"), xp.asarray(X), xp.asarray(LAB))
    xp.assert_close(xp.np(two)[:1], xp.np(one))
    # batch=True equals batch=False on the images laid side by side as one image.
    side = np.concatenate([X[0], X[1]], axis=-1)[None]
    side_lab = np.concatenate([LAB[0], LAB[1]], axis=-1)[None]
    pooled = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="softmax", batch=True, reduction="none"), xp.asarray(X), xp.asarray(LAB))
    wide = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="softmax", reduction="none"), xp.asarray(side), xp.asarray(side_lab))
    xp.assert_close(pooled, xp.np(wide)[0], rtol=1e-5)


# ----------------------------------------------------------------- Lovász


def _lovasz_ref(errors, fg):
    """Berman et al., Alg. 1, written as plain loops over one flat vector."""
    order = sorted(range(len(errors)), key=lambda i: -errors[i])
    total, prev, gts = 0.0, 0.0, sum(fg)
    inter, union = gts, gts
    for i in order:
        inter -= fg[i]
        union += 1 - fg[i]
        jac = 1.0 - inter / union
        total += errors[i] * (jac - prev)
        prev = jac
    return total


def test_lovasz_softmax_on_one_hot_prediction_is_one_minus_iou():
    sklearn = pytest.importorskip("sklearn.metrics")
    # The Lovász extension interpolates the set function: on 0/1 errors it is the Jaccard
    # loss of the set of wrong pixels, i.e. 1 - IoU of the hard prediction.
    rng = np.random.default_rng(4)
    yt = rng.integers(0, 3, size=(1, 30))
    yp = rng.integers(0, 3, size=(1, 30))
    p = np.moveaxis(np.eye(3)[yp], -1, 1)
    out = losskit.lovasz_softmax_loss(p, yt, activation=None, classes="all", reduction="none")
    np.testing.assert_allclose(out, 1 - sklearn.jaccard_score(yt[0], yp[0], average=None), rtol=1e-12)


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_matches_algorithm_one(xp, per_image):
    p = _softmax(X)
    groups = [(slice(0, 1),), (slice(1, 2),)] if per_image else [(slice(0, 2),)]
    expected = []
    for (sl,) in groups:
        losses = []
        for c in range(3):
            fg = (LAB[sl] == c).astype(float).ravel()
            err = np.abs(fg - p[sl][:, c].ravel())
            losses.append(_lovasz_ref(list(err), list(fg)))
        expected.append(np.mean(losses))  # every class is present in each image
    out = xp.call(lambda a, b: losskit.lovasz_softmax_loss(a, b, per_image=per_image), xp.asarray(X), xp.asarray(LAB))
    xp.assert_close(out, np.mean(expected), rtol=1e-5)


@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_hinge_matches_algorithm_one(xp, per_image):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 7))
    g = rng.integers(0, 2, size=(3, 7))
    rows = [x[i : i + 1] for i in range(3)] if per_image else [x]
    grows = [g[i : i + 1] for i in range(3)] if per_image else [g]
    expected = [
        _lovasz_ref(list(np.maximum(1 - xx.ravel() * (2 * gg.ravel() - 1), 0)), list(gg.ravel().astype(float)))
        for xx, gg in zip(rows, grows)
    ]
    none = xp.call(lambda a, b: losskit.lovasz_hinge_loss(a, b, per_image=per_image, reduction="none"), xp.asarray(x), xp.asarray(g))
    xp.assert_close(none, expected if per_image else expected[0], rtol=1e-5)
    # ignore_index: an ignored pixel is the same as a removed one
    g2 = g.copy()
    g2[:, -1] = 255
    a = xp.call(lambda u, v: losskit.lovasz_hinge_loss(u, v, per_image=per_image, ignore_index=255), xp.asarray(x), xp.asarray(g2))
    b = xp.call(lambda u, v: losskit.lovasz_hinge_loss(u, v, per_image=per_image), xp.asarray(x[:, :-1]), xp.asarray(g[:, :-1]))
    xp.assert_close(a, xp.np(b), rtol=1e-5)


# ----------------------------------------------------------------- dtypes, empty images, shapes


ALL = {
    "dice": (losskit.dice_loss, {"activation": "softmax"}),
    "jaccard": (losskit.jaccard_loss, {"activation": "softmax"}),
    "gdl": (losskit.generalized_dice_loss, {"activation": "softmax"}),
    "tversky": (losskit.tversky_loss, {"activation": "softmax"}),
    "focal_tversky": (losskit.focal_tversky_loss, {"activation": "softmax"}),
    "log_cosh": (losskit.log_cosh_dice_loss, {"activation": "softmax"}),
    "lovasz_softmax": (losskit.lovasz_softmax_loss, {}),
    "dice_ce": (losskit.dice_ce_loss, {}),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inputs_give_finite_float32(xp, dtype):
    if not xp.has_dtype(dtype):
        pytest.skip(f"{xp.name} has no {dtype}")
    for fn, kw in ALL.values():
        out = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X * 30, dtype=dtype), xp.asarray(LAB))
        assert str(out.dtype).endswith("float32")
        assert np.isfinite(xp.np(out))
    h = xp.call(losskit.lovasz_hinge_loss, xp.asarray(X[:, 0], dtype=dtype), xp.asarray(LAB > 0))
    assert np.isfinite(xp.np(h))


@pytest.mark.parametrize("name", sorted(ALL))
def test_empty_batch_and_empty_image(xp, name):
    fn, kw = ALL[name]
    for shape in ((0, 3, 4, 3), (2, 3, 0, 3)):
        x = np.zeros(shape)
        lab = np.zeros((shape[0],) + shape[2:], dtype=np.int64)
        for red in ("mean", "sum"):
            out = xp.np(xp.call(lambda a, b: fn(a, b, reduction=red, **kw), xp.asarray(x), xp.asarray(lab)))
            assert out.shape == () and out == 0.0, (shape, red, out)


def test_reduction_none_shapes(xp):
    a, b = xp.asarray(X), xp.asarray(LAB)
    shapes = {
        (losskit.dice_loss, False): (2, 3), (losskit.dice_loss, True): (3,),
        (losskit.generalized_dice_loss, False): (2,), (losskit.generalized_dice_loss, True): (),
        (losskit.tversky_loss, True): (3,),
    }
    for (fn, batch), shape in shapes.items():
        out = xp.call(lambda u, v: fn(u, v, batch=batch, reduction="none"), a, b)
        assert tuple(out.shape) == shape
    no_bg = xp.call(lambda u, v: losskit.jaccard_loss(u, v, include_background=False, reduction="none"), a, b)
    assert tuple(no_bg.shape) == (2, 2)
    assert tuple(xp.call(lambda u, v: losskit.lovasz_softmax_loss(u, v, per_image=True, reduction="none"), a, b).shape) == (2, 3)
    assert tuple(xp.call(lambda u, v: losskit.lovasz_softmax_loss(u, v, reduction="none"), a, b).shape) == (3,)


# ----------------------------------------------------------------- every label dtype (issue 20, class 4)

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
LABEL_LOSSES = {
    "dice_softmax": (losskit.dice_loss, {"activation": "softmax"}),
    "dice_ignore": (losskit.dice_loss, {"activation": "softmax", "ignore_index": 5}),
    "dice_sigmoid": (losskit.dice_loss, {"activation": "sigmoid"}),
    "dice_squared": (losskit.dice_loss, {"activation": "softmax", "squared": True}),
    "gdl": (losskit.generalized_dice_loss, {"activation": "softmax"}),
    "focal_tversky": (losskit.focal_tversky_loss, {"activation": "softmax", "ignore_index": 5, "batch": True}),
    "lovasz_softmax": (losskit.lovasz_softmax_loss, {"ignore_index": 5}),
    "dice_ce": (losskit.dice_ce_loss, {"ignore_index": 5}),
    "dice_ce_sigmoid": (losskit.dice_ce_loss, {"activation": "sigmoid"}),
}


def _labels_as(xp, lab, dtype):
    """``lab`` as an integer array of ``dtype`` in the backend's library."""
    if xp.is_torch:
        import torch

        if not hasattr(torch, dtype):
            pytest.skip(f"torch has no {dtype}")
        return torch.from_numpy(lab.astype(dtype) if dtype != "uint64" else lab.astype(np.int64)).to(
            device=TORCH_DEVICE, dtype=getattr(torch, dtype))
    if xp.name == "jax":
        return xp.ns.asarray(lab.astype(dtype))
    if xp.name == "array_api_strict":
        return xp.ns.asarray(lab.astype(dtype), dtype=getattr(xp.ns, dtype))
    return lab.astype(dtype)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("case", sorted(LABEL_LOSSES))
def test_every_integer_label_dtype_equals_int64_labels(xp, case, dtype):
    # Label images come as uint8, uint16, ... uint64: every loss takes any integer dtype on
    # every backend (NumPy's bincount once promoted uint64 + int64 to float and failed).
    fn, kw = LABEL_LOSSES[case]
    lab = LAB.copy()
    if "ignore_index" in kw:
        lab[0, 1, :2] = kw["ignore_index"]
    ref = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X), xp.asarray(lab))
    out = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X), _labels_as(xp, lab, dtype))
    xp.assert_close(out, xp.np(ref), rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_every_integer_label_dtype_on_every_torch_path(dtype):
    # compiled (numba) where installed, fused torch, reference: values and gradients equal
    # to int64 labels', and out-of-range labels of that dtype rejected on each
    torch = pytest.importorskip("torch")
    if not hasattr(torch, dtype):
        pytest.skip(f"torch has no {dtype}")
    dt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    lab = torch.randint(0, 3, (2, 4, 5), generator=g)
    lab[0, 0, :2] = 7
    for switch in ({"only": NUMBA}, {"only": TORCH}, {"enabled": False}):
        res = []
        for labels in (lab, lab.to(dt)):
            a = x.clone().requires_grad_(True)
            with losskit.fast_paths(**switch) as used:
                v = losskit.dice_loss(a, labels, activation="softmax", ignore_index=7)
                v.backward()
            res.append((v.detach(), a.grad))
        assert used == ({switch["only"]} if "only" in switch and (switch["only"] != NUMBA or _has_numba()) else set())
        torch.testing.assert_close(res[0], res[1], rtol=0, atol=0)
        bad = lab.clone()
        bad[1, 2, 3] = 3
        with losskit.fast_paths(**switch):
            with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\] or ignore_index=7, got 3"):
                losskit.dice_loss(x, bad.to(dt), activation="softmax", ignore_index=7)


def _has_numba() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def test_jax_large_batch_of_narrow_labels():
    # the scatter's row index once took the labels' dtype: uint8 wrapped past 255 samples
    jnp = pytest.importorskip("jax.numpy")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((300, 2, 3)).astype(np.float32)
    lab = rng.integers(0, 2, size=(300, 3))
    a = losskit.dice_loss(jnp.asarray(x), jnp.asarray(lab.astype(np.uint8)), activation="softmax", reduction="none")
    b = losskit.dice_loss(x, lab, activation="softmax", reduction="none")
    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- NaN input (issue 20, class 11)

NAN_LOSSES = {
    "dice": (losskit.dice_loss, {"activation": "softmax"}),
    "dice_probs": (losskit.dice_loss, {}),
    "jaccard": (losskit.jaccard_loss, {"activation": "sigmoid"}),
    "gdl": (losskit.generalized_dice_loss, {"activation": "softmax"}),
    "tversky": (losskit.tversky_loss, {"activation": "softmax"}),
    "focal_tversky": (losskit.focal_tversky_loss, {"activation": "softmax"}),
    "focal_tversky_probs": (losskit.focal_tversky_loss, {"gamma": 2.0}),
    "log_cosh": (losskit.log_cosh_dice_loss, {"activation": "softmax"}),
    "lovasz_softmax": (losskit.lovasz_softmax_loss, {}),
    "lovasz_softmax_per_image": (losskit.lovasz_softmax_loss, {"per_image": True}),
    "dice_ce": (losskit.dice_ce_loss, {}),
}


@pytest.mark.parametrize("case", sorted(NAN_LOSSES))
def test_nan_input_gives_nan_loss(xp, case):
    # A NaN in the input is never hidden behind a finite loss (focal Tversky's power once
    # turned a NaN base into 0); "none" is NaN in the entries the NaN pixel reaches.
    fn, kw = NAN_LOSSES[case]
    x = X.copy() if "activation" in kw or fn in (losskit.lovasz_softmax_loss, losskit.dice_ce_loss) else np.full(X.shape, 0.3)
    x[0, 1, 2, 1] = np.nan
    for reduction in ("mean", "sum"):
        out = xp.call(lambda a, b: fn(a, b, reduction=reduction, **kw), xp.asarray(x), xp.asarray(LAB))
        assert np.isnan(xp.np(out)), (case, reduction)
    if fn is not losskit.dice_ce_loss:
        none = xp.np(xp.call(lambda a, b: fn(a, b, reduction="none", **kw), xp.asarray(x), xp.asarray(LAB)))
        assert np.isnan(none).any()


def test_nan_input_gives_nan_loss_lovasz_hinge(xp):
    x = X[:, 0].copy()
    x[1, 2, 0] = np.nan
    for per_image in (True, False):
        out = xp.call(lambda a, b: losskit.lovasz_hinge_loss(a, b, per_image=per_image), xp.asarray(x), xp.asarray(LAB > 0))
        assert np.isnan(xp.np(out))


def test_nan_input_gives_nan_loss_and_gradient_on_every_torch_path():
    torch = pytest.importorskip("torch")
    x = torch.tensor(X)
    x[0, 1, 2, 1] = float("nan")
    for switch in ({"only": NUMBA}, {"only": TORCH}, {"enabled": False}):
        for fn in (losskit.dice_loss, losskit.focal_tversky_loss, losskit.log_cosh_dice_loss):
            a = x.clone().requires_grad_(True)
            with losskit.fast_paths(**switch):
                v = fn(a, torch.tensor(LAB), activation="softmax")
                v.backward()
            assert torch.isnan(v), (switch, fn.__name__)
            assert torch.isnan(a.grad).any()


# ----------------------------------------------------------------- torch modules


def test_torch_modules_equal_functions_and_show_options():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    x, lab = torch.tensor(X), torch.tensor(LAB)
    pairs = [
        (lt.DiceLoss(activation="softmax", batch=True), losskit.dice_loss, dict(activation="softmax", batch=True)),
        (lt.JaccardLoss(activation="softmax"), losskit.jaccard_loss, dict(activation="softmax")),
        (lt.GeneralizedDiceLoss(weight_type="simple"), losskit.generalized_dice_loss, dict(weight_type="simple")),
        (lt.TverskyLoss(alpha=0.3, beta=0.7), losskit.tversky_loss, dict(alpha=0.3, beta=0.7)),
        (lt.FocalTverskyLoss(gamma=2.0), losskit.focal_tversky_loss, dict(gamma=2.0)),
        (lt.LogCoshDiceLoss(squared=True), losskit.log_cosh_dice_loss, dict(squared=True)),
        (lt.LovaszSoftmaxLoss(per_image=True), losskit.lovasz_softmax_loss, dict(per_image=True)),
    ]
    for module, fn, kw in pairs:
        torch.testing.assert_close(module(x, lab), fn(x, lab, **kw))
        for k, v in kw.items():
            assert f"{k}={v!r}" in repr(module)
    hinge = lt.LovaszHingeLoss(per_image=False)
    torch.testing.assert_close(hinge(x[:, 0], lab > 0), losskit.lovasz_hinge_loss(x[:, 0], lab > 0, per_image=False))
    assert "per_image=False" in repr(hinge)
    w = lt.DiceLoss(weight=torch.tensor([1.0, 2.0, 3.0]))
    assert "weight=tensor(shape=(3,))" in repr(w)
    torch.testing.assert_close(w(x, lab), losskit.dice_loss(x, lab, weight=torch.tensor([1.0, 2.0, 3.0])))


def test_registry_metadata():
    for name in ("dice_loss", "jaccard_loss", "generalized_dice_loss", "tversky_loss", "focal_tversky_loss", "log_cosh_dice_loss"):
        info = losskit.get(name)
        assert info.family == "segmentation" and info.plot == "dice" and "arXiv" in info.reference or "ISVC" in info.reference
        assert info.fast_paths == (NUMBA, TORCH)
    assert losskit.get("dice_ce").fast_paths == (NUMBA, TORCH)
    assert losskit.get("lovasz_softmax_loss").fast_paths == ()
    assert losskit.get("gdl").name == "generalized_dice_loss"
    assert losskit.get("lovasz-softmax").name == "lovasz_softmax_loss"
    assert losskit.get("dice_ce").family == "segmentation"


# ----------------------------------------------------------------- torch fast path (segmentation.torch)


def _tol(torch, dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_fast_path_sums_and_their_gradients_one_at_a_time(dtype):
    # I, P and G of the fused function against the reference kernel, and the gradient of any
    # combination of them (including a backward that reaches only I or only P); both
    # scatter forms (one complex scatter-add on the CPU, two real ones elsewhere).
    torch = pytest.importorskip("torch")
    from losskit.segmentation import _common, _torch

    dt = getattr(torch, dtype)
    x0 = torch.tensor(X, dtype=dt).reshape(2, 3, -1)
    lab = torch.tensor(LAB).reshape(2, -1)
    mask = lab != 1
    for m in (None, mask):
        lab_m = lab if m is None else torch.where(m, lab, 0)
        for weights in ((1.0, 0.0), (0.0, 1.0), (0.7, -1.3)):
            for complex_scatter in (True, False):
                res = []
                for fast in (True, False):
                    x = x0.clone().requires_grad_(True)
                    if fast:
                        I, P, G = _torch.label_sums(x, lab_m, None if m is None else m.to(dt),
                                                    complex_scatter=complex_scatter)
                    else:
                        I, P, G, _ = _common.overlap_sums(torch.softmax(x, 1), lab_m, None, m, _common.namespace(x))
                    (weights[0] * I * torch.arange(1.0, 4.0, dtype=dt) + weights[1] * P.square()).sum().backward()
                    res.append((I.detach(), P.detach(), G.detach(), x.grad))
                for a, b in zip(*res):
                    torch.testing.assert_close(a, b, **_tol(torch, dt))


def test_torch_fast_path_second_backward_with_retain_graph():
    # The backward writes its gradient into the exponentials' memory; a second backward
    # through the same graph recomputes them.
    torch = pytest.importorskip("torch")
    x = torch.tensor(X, requires_grad=True)
    lab = torch.tensor(LAB)
    with losskit.fast_paths(only=TORCH) as used:
        loss = losskit.dice_loss(x, lab, activation="softmax", ignore_index=2)
        (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
        (g2,) = torch.autograd.grad(loss, x, retain_graph=True)
        loss.backward()
    assert used == {TORCH}
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, g1, rtol=0, atol=0)


def test_torch_fast_path_under_autocast_keeps_float32():
    torch = pytest.importorskip("torch")
    x32 = torch.tensor(X, dtype=torch.float32)
    lab = torch.tensor(LAB)
    ref = None
    for autocast, dt in ((False, torch.float32), (True, torch.float32), (True, torch.bfloat16)):
        x = x32.to(dt).detach().clone().requires_grad_(True)
        with losskit.fast_paths(only=TORCH) as used, torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = losskit.dice_loss(x, lab, activation="softmax", reduction="none")
            out.sum().backward()
        assert used == {TORCH}  # every run on the fast path
        assert out.dtype == torch.float32 and x.grad.dtype == dt
        if ref is None:
            ref = (out.detach(), x.grad)
        elif dt == torch.float32:  # autocast off inside the fused function: float32 throughout
            torch.testing.assert_close(out.detach(), ref[0], rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(x.grad, ref[1], rtol=1e-6, atol=1e-7)
        else:  # bfloat16 logits: only the input is rounded
            with losskit.fast_paths(only=TORCH) as used:
                exp = losskit.dice_loss(x.detach().float(), lab, activation="softmax", reduction="none")
            assert used == {TORCH}
            torch.testing.assert_close(out.detach(), exp, rtol=1e-6, atol=1e-7)


def test_torch_fast_path_out_of_range_labels_raise_like_the_generic_path():
    torch = pytest.importorskip("torch")
    lab = torch.tensor(LAB)
    for bad in (3, -1):
        lab2 = lab.clone()
        lab2[0, 0, 0] = bad
        with losskit.fast_paths(only=TORCH):
            with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\]"):
                losskit.dice_loss(torch.tensor(X), lab2, activation="softmax")


# ----------------------------------------------------------------- Dice + cross-entropy


def test_dice_ce_sigmoid_is_the_sum_of_its_terms(xp):
    # sigmoid: Dice on sigmoid + binary cross-entropy per channel (multi-label masks); the
    # softmax form is an identity of the case table
    a, m = xp.asarray(X), xp.asarray(ONEHOT)
    out = xp.call(lambda u, v: losskit.dice_ce_loss(u, v, activation="sigmoid", reduction="sum"), a, m)
    dice = xp.np(xp.call(lambda u, v: losskit.dice_loss(u, v, activation="sigmoid", reduction="sum"), a, m))
    bce = xp.np(xp.call(lambda u, v: losskit.binary_cross_entropy_with_logits(u, v, reduction="sum"), a, m))
    xp.assert_close(out, dice + bce)


def test_dice_ce_ignore_index_in_both_terms(xp):
    lab = LAB.copy()
    lab[:, -1, :] = 255
    full = xp.call(lambda u, v: losskit.dice_ce_loss(u, v, ignore_index=255), xp.asarray(X), xp.asarray(lab))
    crop = xp.call(lambda u, v: losskit.dice_ce_loss(u, v), xp.asarray(X[:, :, :-1]), xp.asarray(LAB[:, :-1]))
    xp.assert_close(full, xp.np(crop), rtol=1e-5)
    # one channel + sigmoid: integer 0/1 mask with ignored pixels
    m = (LAB > 0).astype(np.int64)
    m2 = m.copy()
    m2[:, -1, :] = 255
    full = xp.call(
        lambda u, v: losskit.dice_ce_loss(u, v, activation="sigmoid", ignore_index=255), xp.asarray(X[:, :1]), xp.asarray(m2)
    )
    crop = xp.call(
        lambda u, v: losskit.dice_ce_loss(u, v, activation="sigmoid"), xp.asarray(X[:, :1, :-1]), xp.asarray(m[:, :-1])
    )
    xp.assert_close(full, xp.np(crop), rtol=1e-5)


def test_dice_ce_module_half_precision_and_empty():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    x, lab = torch.tensor(X), torch.tensor(LAB)
    mod = lt.DiceCELoss(lambda_dice=0.5, batch=True)
    torch.testing.assert_close(mod(x, lab), losskit.dice_ce_loss(x, lab, lambda_dice=0.5, batch=True))
    assert "lambda_dice=0.5" in repr(mod) and "batch=True" in repr(mod)
    for dt in (torch.float16, torch.bfloat16):
        out = losskit.dice_ce_loss((x * 30).to(dt), lab)
        assert out.dtype == torch.float32 and torch.isfinite(out)
    empty = losskit.dice_ce_loss(torch.zeros(0, 3, 4, requires_grad=True), torch.zeros(0, 4, dtype=torch.int64))
    assert empty.item() == 0.0


@pytest.mark.parametrize("switch", [{"only": NUMBA}, {"only": TORCH}, {"enabled": False}], ids=["numba", "torch", "reference"])
def test_integer_labels_materialise_no_one_hot_on_torch(switch):
    # Every (N, C, S)-sized tensor the forward pass creates is logged (a torch function
    # mode, which lets the fast paths run): only the probabilities themselves may be that
    # big (no one-hot, no p * g product).
    torch = pytest.importorskip("torch")
    from torch.overrides import TorchFunctionMode

    big = X.size

    class Log(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            outs = out if isinstance(out, (tuple, list)) else [out]
            ins = torch.utils._pytree.tree_leaves((args, kwargs))
            shared = {a.untyped_storage().data_ptr() for a in ins if isinstance(a, torch.Tensor)}
            for o in outs:
                # views (expand, reshape, ...) share an input's storage: not an allocation
                if isinstance(o, torch.Tensor) and o.numel() == big and o.untyped_storage().data_ptr() not in shared:
                    self.ops.append(getattr(func, "__name__", str(func)))
            return out

    if switch.get("only") == NUMBA and not _has_numba():
        pytest.skip("numba is not installed")
    x, lab = torch.tensor(X), torch.tensor(LAB)
    with losskit.fast_paths(**switch) as used, Log() as log:
        losskit.dice_loss(x, lab, activation="softmax", ignore_index=2)
    assert used == ({switch["only"]} if "only" in switch else set())
    # exactly one (N, C, ...) tensor: the probabilities (reference) or the exponentials
    # they are scaled from (fast paths: exp(x) = exp2(x * log2(e)), the mul allocates)
    assert log.ops == (["mul"] if "only" in switch else ["softmax"]), log.ops


def test_torch_func_transforms_use_the_generic_path():
    # The fused autograd.Functions have no functorch rules, so torch.func.grad / vmap must
    # take the reference (the eager label check is skipped there: functorch's wrapped
    # tensors cannot be read back).
    torch = pytest.importorskip("torch")
    x, lab = torch.tensor(X), torch.tensor(LAB)
    with losskit.fast_paths(True) as used:
        g = torch.func.grad(lambda a: losskit.dice_loss(a, lab, activation="softmax"))(x)
        per = torch.func.vmap(lambda a, t: losskit.dice_loss(a[None], t[None], activation="softmax"))(x, lab)
    assert used == set()
    a = x.clone().requires_grad_(True)
    losskit.dice_loss(a, lab, activation="softmax").backward()
    torch.testing.assert_close(g, a.grad)
    torch.testing.assert_close(per, losskit.dice_loss(x, lab, activation="softmax", reduction="none").mean(1))


def test_channels_last_with_integer_labels_and_no_spatial_axes(xp):
    xl = np.moveaxis(X, 1, -1)  # (N, H, W, C)
    ref = xp.call(lambda a, b: losskit.dice_loss(a, b, activation="softmax", reduction="none"), xp.asarray(X), xp.asarray(LAB))
    out = xp.call(
        lambda a, b: losskit.dice_loss(a, b, activation="softmax", axis=-1, reduction="none"), xp.asarray(xl), xp.asarray(LAB)
    )
    xp.assert_close(out, xp.np(ref))
    lov = xp.call(lambda a, b: losskit.lovasz_softmax_loss(a, b, axis=-1), xp.asarray(xl), xp.asarray(LAB))
    xp.assert_close(lov, xp.np(xp.call(losskit.lovasz_softmax_loss, xp.asarray(X), xp.asarray(LAB))))
    # (N, C) without spatial axes: a hand-derived row of tests/cases/segmentation.py



@pytest.mark.parametrize("ignore", [None, 255])
def test_dice_ce_sigmoid_with_integer_labels_equals_its_one_hot_target(ignore):
    # activation="sigmoid" with several channels is multi-label: integer labels stand for their
    # one-hot target in both terms (an ignored pixel: every channel ignored).
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 3, 4, 5))
    lab = rng.integers(0, 3, size=(2, 4, 5))
    dense = np.moveaxis(np.eye(3)[lab], -1, 1)
    if ignore is not None:
        lab[0, :2, 1] = ignore
        dense[0, :, :2, 1] = ignore
    for reduction in ("mean", "sum"):
        kw = dict(activation="sigmoid", ignore_index=ignore, reduction=reduction)
        a = losskit.dice_ce_loss(x, lab, **kw)
        b = losskit.dice_ce_loss(x, dense, **kw)
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.skipif(TORCH_DEVICE == "cpu", reason="needs LOSSKIT_TEST_DEVICE set to an accelerator")
def test_accelerator_tensors_take_the_generic_path():
    # The fused and compiled label sums are CPU paths; on a GPU the reference's
    # gather/scatter kernels are faster (see benchmarks/bench_segmentation.py), so tensors
    # there must not reach them.
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 3, 4, 5, device=TORCH_DEVICE, requires_grad=True)
    lab = torch.randint(0, 3, (2, 4, 5), device=TORCH_DEVICE)
    with losskit.fast_paths(True) as used:
        losskit.dice_loss(x, lab, activation="softmax").backward()
    assert used == set()
    assert torch.isfinite(x.grad).all()
