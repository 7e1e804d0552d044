"""Segmentation losses (Dice family, Lovász): hand-derived values, shapes, reductions,
validation, gradients, half precision, empty inputs, ignore_index, batch vs per-sample,
torch modules and the identities between the losses.

Expected values are derived by hand in comments, or computed in NumPy straight from the
formula with an explicit one-hot (``_ref_sums``), which shares no code with losskit's kernel
(that one gathers at the label and scatters into class bins).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

import losskit
from helpers import TORCH_DEVICE, check_gradient

RNG = np.random.default_rng(1234)
# A small batch: N=2, C=3, 4 x 3 pixels; logits and labels with every class present.
X = RNG.standard_normal((2, 3, 4, 3))
LAB = RNG.integers(0, 3, size=(2, 4, 3))
LAB[0, 0, :] = [0, 1, 2]
LAB[1, 0, :] = [0, 1, 2]
ONEHOT = np.moveaxis(np.eye(3)[LAB], -1, 1)



@pytest.fixture(autouse=True)
def _fused_torch_path_without_numba(request):
    """The ``test_torch_fast_path_*`` tests pin the fused torch path (what runs on the CPU
    without numba) to the generic one: the compiled CPU kernels are switched off for
    them (test_segmentation_numba.py pins those)."""
    from losskit import _numba

    if request.node.name.startswith(("test_torch_fast_path", "test_integer_labels_materialise")):
        with _numba.disabled():
            yield
    else:
        yield


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


# ----------------------------------------------------------------- hand-derived values


def test_dice_hand_derived_two_classes(xp):
    # One sample, two classes, four pixels; labels [0, 0, 1, 1].
    # p(class 1) = [0.1, 0.2, 0.7, 0.6], p(class 0) = 1 - p(class 1).
    # class 0: I = 0.9 + 0.8 = 1.7, P = 0.9 + 0.8 + 0.3 + 0.4 = 2.4, G = 2
    #   L0 = 1 - (3.4 + s) / (4.4 + s)
    # class 1: I = 0.7 + 0.6 = 1.3, P = 1.6, G = 2 -> L1 = 1 - (2.6 + s) / (3.6 + s)
    p1 = np.array([0.1, 0.2, 0.7, 0.6])
    p = np.stack([1 - p1, p1])[None]
    lab = np.array([[0, 0, 1, 1]])
    s = 1e-5
    l0, l1 = 1 - (3.4 + s) / (4.4 + s), 1 - (2.6 + s) / (3.6 + s)
    out = xp.call(lambda a, b: losskit.dice_loss(a, b, reduction="none"), xp.asarray(p), xp.asarray(lab))
    xp.assert_close(out, [[l0, l1]])
    xp.assert_close(xp.call(lambda a, b: losskit.dice_loss(a, b), xp.asarray(p), xp.asarray(lab)), (l0 + l1) / 2)
    xp.assert_close(
        xp.call(lambda a, b: losskit.dice_loss(a, b, reduction="sum"), xp.asarray(p), xp.asarray(lab)), l0 + l1
    )
    # without background: only class 1
    xp.assert_close(
        xp.call(lambda a, b: losskit.dice_loss(a, b, include_background=False), xp.asarray(p), xp.asarray(lab)), l1
    )
    # squared (V-Net): class 1: P = 0.01 + 0.04 + 0.49 + 0.36 = 0.9, G = 2
    xp.assert_close(
        xp.call(
            lambda a, b: losskit.dice_loss(a, b, squared=True, include_background=False), xp.asarray(p), xp.asarray(lab)
        ),
        1 - (2.6 + s) / (2.9 + s),
    )


def test_jaccard_tversky_focal_logcosh_hand_derived(xp):
    # One channel, p = [0.5, 0.5, 0.25, 0], g = [1, 0, 1, 0] (no smoothing):
    # I = 0.5 + 0.25 = 0.75, P = 1.25, G = 2, FP = P - I = 0.5, FN = G - I = 1.25
    p = xp.asarray(np.array([[[0.5, 0.5, 0.25, 0.0]]]))
    g = xp.asarray(np.array([[[1.0, 0.0, 1.0, 0.0]]]))
    z = dict(smooth_nr=0.0, smooth_dr=0.0)
    # Jaccard: 1 - 0.75 / (1.25 + 2 - 0.75) = 1 - 0.3 = 0.7
    xp.assert_close(xp.call(lambda a, b: losskit.jaccard_loss(a, b, **z), p, g), 0.7)
    # Tversky alpha=0.3, beta=0.7: 1 - 0.75 / (0.75 + 0.15 + 0.875) = 1 - 0.75 / 1.775
    tl = 1 - 0.75 / 1.775
    xp.assert_close(xp.call(lambda a, b: losskit.tversky_loss(a, b, alpha=0.3, beta=0.7, **z), p, g), tl)
    # focal Tversky gamma = 4/3: tl ** 0.75
    xp.assert_close(
        xp.call(lambda a, b: losskit.focal_tversky_loss(a, b, alpha=0.3, beta=0.7, **z), p, g), tl**0.75
    )
    # Dice: 1 - 1.5 / 3.25; log-cosh of it
    d = 1 - 1.5 / 3.25
    xp.assert_close(xp.call(lambda a, b: losskit.log_cosh_dice_loss(a, b, **z), p, g), math.log(math.cosh(d)))


def test_generalized_dice_hand_derived(xp):
    # Labels [0, 0, 0, 1] (volumes G = [3, 1]); p(class 1) = [0, 0, 0.5, 0.5], so
    # p(class 0) = [1, 1, 0.5, 0.5].
    # class 0: I0 = 1 + 1 + 0.5 = 2.5, P0 = 3, G0 = 3;  class 1: I1 = 0.5, P1 = 1, G1 = 1
    # square weights [1/9, 1]: num = 2 (2.5/9 + 0.5) = 14/9, den = 6/9 + 2 = 24/9 -> 1 - 7/12
    # simple weights [1/3, 1]: num = 2 (2.5/3 + 0.5) = 8/3,  den = 2 + 2 = 4      -> 1 - 2/3
    # uniform:                 num = 2 (2.5 + 0.5) = 6,      den = 6 + 2 = 8      -> 1 - 3/4
    p1 = np.array([0.0, 0.0, 0.5, 0.5])
    p = xp.asarray(np.stack([1 - p1, p1])[None])
    lab = xp.asarray(np.array([[0, 0, 0, 1]]))
    z = dict(smooth_nr=0.0, smooth_dr=0.0)
    for wt, expected in (("square", 5 / 12), ("simple", 1 / 3), ("uniform", 1 / 4)):
        out = xp.call(lambda a, b: losskit.generalized_dice_loss(a, b, weight_type=wt, reduction="none", **z), p, lab)
        xp.assert_close(out, [expected])


def test_generalized_dice_absent_class_takes_largest_finite_weight(xp):
    # Three classes, class 2 absent (G = 0 -> weight 1/0): replaced by max(1/9, 1) = 1.
    # p(class 2) = 0.25 on the last pixel, taken from class 1: p = rows below.
    p = np.array([[[1.0, 1.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.25], [0.0, 0.0, 0.0, 0.25]]])
    lab = np.array([[0, 0, 0, 1]])
    # class 0: I=2.5 (1+1+0.5), P=3, G=3 -> w 1/9; class 1: I=0.25, P=0.75, G=1 -> w 1;
    # class 2: I=0, P=0.25, G=0 -> w 1.  num = 2 (2.5/9 + 0.25); den = 6/9 + 1.75 + 0.25
    num, den = 2 * (2.5 / 9 + 0.25), 6 / 9 + 1.75 + 0.25
    out = xp.call(
        lambda a, b: losskit.generalized_dice_loss(a, b, smooth_nr=0.0, smooth_dr=0.0), xp.asarray(p), xp.asarray(lab)
    )
    xp.assert_close(out, 1 - num / den)


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


# ----------------------------------------------------------------- identities


def test_tversky_half_half_is_dice_and_one_one_is_jaccard(xp):
    a, b = xp.asarray(X), xp.asarray(LAB)
    s = 1e-3
    dice = xp.call(lambda u, v: losskit.dice_loss(u, v, activation="softmax", smooth_nr=s, smooth_dr=s, reduction="none"), a, b)
    tv = xp.call(
        lambda u, v: losskit.tversky_loss(u, v, activation="softmax", smooth_nr=s / 2, smooth_dr=s / 2, reduction="none"), a, b
    )
    xp.assert_close(tv, xp.np(dice))
    jac = xp.call(lambda u, v: losskit.jaccard_loss(u, v, activation="softmax", reduction="none"), a, b)
    tv11 = xp.call(lambda u, v: losskit.tversky_loss(u, v, alpha=1.0, beta=1.0, activation="softmax", reduction="none"), a, b)
    xp.assert_close(tv11, xp.np(jac))


def test_focal_tversky_gamma_one_is_tversky(xp):
    a, b = xp.asarray(X), xp.asarray(LAB)
    kw = dict(alpha=0.3, beta=0.7, activation="softmax", reduction="none")
    ft = xp.call(lambda u, v: losskit.focal_tversky_loss(u, v, gamma=1.0, **kw), a, b)
    tv = xp.call(lambda u, v: losskit.tversky_loss(u, v, **kw), a, b)
    xp.assert_close(ft, xp.np(tv))
    # and gamma = 2 is its square root
    ft2 = xp.call(lambda u, v: losskit.focal_tversky_loss(u, v, gamma=2.0, **kw), a, b)
    xp.assert_close(ft2, np.sqrt(xp.np(tv)), rtol=1e-5)


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


def test_lovasz_softmax_present_classes_and_none_shape(xp):
    lab = np.zeros((1, 4), dtype=np.int64)  # only class 0 present
    p = np.array([[[0.5, 1.0, 1.0, 1.0], [0.5, 0.0, 0.0, 0.0]]])
    # class 0: errors [0.5, 0, 0, 0]: first sorted pixel: 1 - 3/4 -> 0.5 * 0.25 = 0.125
    # class 1 (absent): errors [0.5, 0, 0, 0], fg = 0: jac 1 at k=1 -> 0.5 (only with "all")
    none = xp.call(lambda a, b: losskit.lovasz_softmax_loss(a, b, activation=None, reduction="none"), xp.asarray(p), xp.asarray(lab))
    xp.assert_close(none, [0.125, 0.0])
    allc = xp.call(lambda a, b: losskit.lovasz_softmax_loss(a, b, activation=None, classes="all"), xp.asarray(p), xp.asarray(lab))
    xp.assert_close(allc, (0.125 + 0.5) / 2)


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


# ----------------------------------------------------------------- gradients, dtypes, empty


GRAD_CASES = {
    "dice": (losskit.dice_loss, {"activation": "softmax"}),
    "dice_sq_batch": (losskit.dice_loss, {"activation": "softmax", "squared": True, "batch": True}),
    "dice_ignore": (losskit.dice_loss, {"activation": "softmax", "ignore_index": 2, "include_background": False}),
    "jaccard": (losskit.jaccard_loss, {"activation": "sigmoid"}),
    "gdl": (losskit.generalized_dice_loss, {"activation": "softmax"}),
    "tversky": (losskit.tversky_loss, {"activation": "softmax", "alpha": 0.3, "beta": 0.7}),
    "focal_tversky": (losskit.focal_tversky_loss, {"activation": "softmax", "alpha": 0.3, "beta": 0.7}),
    "log_cosh": (losskit.log_cosh_dice_loss, {"activation": "softmax"}),
    "lovasz_softmax": (losskit.lovasz_softmax_loss, {"per_image": True}),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradient_matches_numerical(autodiff_xp, case):
    fn, kw = GRAD_CASES[case]
    check_gradient(autodiff_xp, fn, X[:, :, :2], LAB[:, :2], rtol=1e-5, atol=1e-8, **kw)


def test_lovasz_hinge_gradient_matches_numerical(autodiff_xp):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6))
    g = rng.integers(0, 2, size=(2, 6))
    check_gradient(autodiff_xp, losskit.lovasz_hinge_loss, x, g, rtol=1e-5, atol=1e-8)


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


def test_lovasz_hinge_empty(xp):
    out = xp.call(losskit.lovasz_hinge_loss, xp.asarray(np.zeros((0, 3))), xp.asarray(np.zeros((0, 3), dtype=np.int64)))
    assert xp.np(out) == 0.0


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


# ----------------------------------------------------------------- bad input


def test_invalid_arguments_raise_clear_errors():
    x, lab = X, LAB
    with pytest.raises(ValueError, match="target: expected 3 classes along axis 1 like input"):
        losskit.dice_loss(x, ONEHOT[:, :2])
    with pytest.raises(ValueError, match="integer labels go without the class axis"):
        losskit.dice_loss(x, lab[:, None])
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\], got 3"):
        losskit.dice_loss(x, np.where(lab == 2, 3, lab))
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\] or ignore_index=255, got -1"):
        losskit.dice_loss(x, np.where(lab == 2, -1, lab), ignore_index=255)
    with pytest.raises(ValueError, match="activation: expected one of None, 'sigmoid', 'softmax', got 'relu'"):
        losskit.dice_loss(x, lab, activation="relu")
    with pytest.raises(ValueError, match="activation: expected 'sigmoid' or None for a single-channel input"):
        losskit.dice_loss(x[:, :1], lab.clip(0, 1), activation="softmax")
    with pytest.raises(ValueError, match="activation: expected 'softmax' or None for lovasz_softmax_loss"):
        losskit.lovasz_softmax_loss(x, lab, activation="sigmoid")
    with pytest.raises(ValueError, match=r"target: expected integer labels of shape \(2, 4, 3\) or an array of the input's shape"):
        losskit.dice_loss(x, lab[:, :, :, None, None])
    with pytest.raises(ValueError, match=r"target: expected integer labels of shape \(2, 4, 3\) \(input's shape without"):
        losskit.dice_loss(x, lab[:, :3])
    with pytest.raises(ValueError, match="input: expected at least 2 dimensions"):
        losskit.dice_loss(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="axis: expected the class axis"):
        losskit.dice_loss(x, ONEHOT, axis=0)
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        losskit.dice_loss(lab[:, None], lab)
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.dice_loss(x, ONEHOT * 2)
    with pytest.raises(ValueError, match=r"weight: expected one weight per class of input, shape \(3,\), got \(2,\)"):
        losskit.dice_loss(x, lab, weight=np.ones(2))
    with pytest.raises(ValueError, match="weight: expected non-negative values"):
        losskit.dice_loss(x, lab, weight=-np.ones(3))
    with pytest.raises(ValueError, match="smooth_dr: expected a number >= 0.0"):
        losskit.dice_loss(x, lab, smooth_dr=-1.0)
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum', 'none', got 'avg'"):
        losskit.dice_loss(x, lab, reduction="avg")
    with pytest.raises(ValueError, match="include_background: expected True for a single-channel input"):
        losskit.dice_loss(x[:, :1], lab.clip(0, 1), include_background=False)
    with pytest.raises(TypeError, match="batch: expected a bool"):
        losskit.dice_loss(x, lab, batch=1)
    with pytest.raises(ValueError, match="weight_type: expected one of 'square', 'simple', 'uniform'"):
        losskit.generalized_dice_loss(x, lab, weight_type="log")
    with pytest.raises(ValueError, match="gamma: expected a number > 0.0"):
        losskit.focal_tversky_loss(x, lab, gamma=0.0)
    with pytest.raises(ValueError, match="alpha: expected a number >= 0.0"):
        losskit.tversky_loss(x, lab, alpha=-0.1)
    with pytest.raises(ValueError, match="classes: expected one of 'present', 'all'"):
        losskit.lovasz_softmax_loss(x, lab, classes="some")
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 1\]"):
        losskit.lovasz_hinge_loss(x[:, 0], lab)
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        losskit.lovasz_hinge_loss(x[:, 0], lab[:, :2])
    with pytest.raises(TypeError, match="ignore_index: expected an int or None"):
        losskit.dice_loss(x, lab, ignore_index=2.5)


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
    assert losskit.get("gdl").name == "generalized_dice_loss"
    assert losskit.get("lovasz-softmax").name == "lovasz_softmax_loss"
    assert losskit.get("dice_ce").family == "segmentation"


# ----------------------------------------------------------------- torch fast path


@pytest.mark.parametrize(
    "fn, kw",
    [
        (losskit.dice_loss, {}),
        (losskit.dice_loss, {"smooth_nr": 0.0, "smooth_dr": 0.5, "reduction": "none"}),
        (losskit.dice_loss, {"ignore_index": 255, "batch": True, "include_background": False, "smooth_nr": 1.0, "smooth_dr": 1.0}),
        (losskit.dice_loss, {"batch": True, "include_background": False, "weight": [1.0, 2.0, 0.5]}),
        (losskit.dice_loss, {"ignore_index": 255}),
        (losskit.jaccard_loss, {"ignore_index": 255, "batch": True}),
        (losskit.generalized_dice_loss, {"ignore_index": 255}),
        (losskit.tversky_loss, {"alpha": 0.2, "beta": 0.8}),
        (losskit.focal_tversky_loss, {"ignore_index": 255}),
        (losskit.log_cosh_dice_loss, {"reduction": "none"}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_fast_path_equals_generic_path_values_and_gradients(monkeypatch, fn, kw, dtype):
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    lab = LAB.copy()
    lab[0, 1, :2] = 255
    lab[1] = 255 if "ignore_index" in kw else lab[1]  # a fully ignored sample
    if "ignore_index" not in kw:
        lab = LAB
    kw = dict(kw, activation="softmax")
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"], dtype=getattr(torch, dtype))
    results, calls = [], []
    real = seg._torch_softmax_label_sums
    monkeypatch.setattr(seg, "_torch_softmax_label_sums", lambda *a, **k: calls.append(1) or real(*a, **k))
    for fast in (True, False):
        monkeypatch.setattr(seg, "_TORCH_FAST", fast)
        x = torch.tensor(X, dtype=getattr(torch, dtype), requires_grad=True)
        out = fn(x, torch.tensor(lab), **kw)
        (g,) = torch.autograd.grad(out.sum(), x)
        results.append((out.detach(), g))
    assert len(calls) == 1  # the fast path ran once (fast=True), the generic path once
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(results[0][0], results[1][0], **tol)
    torch.testing.assert_close(results[0][1], results[1][1], **tol)


def _fast_and_generic(monkeypatch, fn, x, lab, **kw):
    """(value, gradient) of ``fn`` with the torch fast path and with the generic path."""
    import torch

    from losskit import segmentation as seg

    out = []
    for fast in (True, False):
        monkeypatch.setattr(seg, "_TORCH_FAST", fast)
        a = x.detach().clone().requires_grad_(True)
        v = fn(a, lab, **kw)
        (g,) = torch.autograd.grad(v.sum(), a)
        out.append((v.detach(), g))
    return out


def _tol(torch, dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "case",
    [
        "3d",  # (N, C, H, W, D)
        "large_logits",  # exp without a max-shift would leave its range: the shifted branch
        "very_negative_logits",  # every class's exp underflows without the shift
        "many_classes",  # C > 16: the backward's broadcast branch
        "int32_labels",
        "channels_last",
    ],
)
def test_torch_fast_path_equals_generic_path_more_cases(monkeypatch, case, dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(3)
    kw = dict(activation="softmax", reduction="none", ignore_index=255)
    shape = (2, 3, 4, 3)
    if case == "3d":
        shape = (2, 4, 3, 4, 5)
    if case == "many_classes":
        shape = (2, 19, 5, 4)
    x = torch.randn(shape, generator=g, dtype=dt)
    if case == "large_logits":
        x = x * 40.0
    if case == "very_negative_logits":
        x = x - 200.0
    lab = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g)
    lab.view(-1)[::7] = 255
    if case == "int32_labels":
        lab = lab.to(torch.int32)
    if case == "channels_last":
        x, kw["axis"] = x.movedim(1, -1), -1
    (v1, g1), (v0, g0) = _fast_and_generic(monkeypatch, losskit.dice_loss, x, lab, **kw)
    torch.testing.assert_close(v1, v0, **_tol(torch, dt))
    torch.testing.assert_close(g1, g0, **_tol(torch, dt))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_fast_path_sums_and_their_gradients_one_at_a_time(monkeypatch, dtype):
    # I, P and G of the fused function against the generic kernel, and the gradient of any
    # combination of them (including a backward that reaches only I or only P).
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    dt = getattr(torch, dtype)
    x0 = torch.tensor(X, dtype=dt).reshape(2, 3, -1)
    lab = torch.tensor(LAB).reshape(2, -1)
    mask = lab != 1
    for m in (None, mask):
        lab_m = lab if m is None else torch.where(m, lab, 0)
        for weights in ((1.0, 0.0), (0.0, 1.0), (0.7, -1.3)):
            res = []
            for fast in (True, False):
                x = x0.clone().requires_grad_(True)
                if fast:
                    I, P, G, _ = seg._torch_softmax_label_sums(x, lab_m, m, seg.namespace(x), batch=False)
                else:
                    I, P, G, _ = seg._overlap_sums(torch.softmax(x, 1), lab_m, None, m, seg.namespace(x))
                (weights[0] * I * torch.arange(1.0, 4.0, dtype=dt) + weights[1] * P.square()).sum().backward()
                res.append((I.detach(), P.detach(), G.detach(), x.grad))
            for a, b in zip(*res):
                torch.testing.assert_close(a, b, **_tol(torch, dt))


def test_torch_fast_path_real_scatter_branch(monkeypatch):
    # accelerators take I and G from two real scatter-adds instead of one complex one
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    x, lab = torch.tensor(X), torch.tensor(LAB)
    for kw in ({}, {"ignore_index": 2}):
        ref = _fast_and_generic(monkeypatch, losskit.dice_loss, x, lab, activation="softmax", **kw)[0]
        monkeypatch.setattr(seg, "_complex_scatter", lambda device_type: False)
        out = _fast_and_generic(monkeypatch, losskit.dice_loss, x, lab, activation="softmax", **kw)[0]
        monkeypatch.undo()
        torch.testing.assert_close(out[0], ref[0], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(out[1], ref[1], rtol=1e-12, atol=1e-14)


def test_torch_fast_path_second_backward_with_retain_graph():
    # The backward writes its gradient into the exponentials' memory; a second backward
    # through the same graph recomputes them.
    torch = pytest.importorskip("torch")
    x = torch.tensor(X, requires_grad=True)
    lab = torch.tensor(LAB)
    loss = losskit.dice_loss(x, lab, activation="softmax", ignore_index=2)
    (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, x, retain_graph=True)
    loss.backward()
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, g1, rtol=0, atol=0)


def test_torch_fast_path_under_autocast_keeps_float32(monkeypatch):
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    calls = []
    real = seg._torch_softmax_label_sums
    monkeypatch.setattr(seg, "_torch_softmax_label_sums", lambda *a, **k: calls.append(1) or real(*a, **k))
    x32 = torch.tensor(X, dtype=torch.float32)
    lab = torch.tensor(LAB)
    ref = None
    for autocast, dt in ((False, torch.float32), (True, torch.float32), (True, torch.bfloat16)):
        x = x32.to(dt).detach().clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = losskit.dice_loss(x, lab, activation="softmax", reduction="none")
            out.sum().backward()
        assert out.dtype == torch.float32 and x.grad.dtype == dt
        if ref is None:
            ref = (out.detach(), x.grad)
        elif dt == torch.float32:  # autocast off inside the fused function: float32 throughout
            torch.testing.assert_close(out.detach(), ref[0], rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(x.grad, ref[1], rtol=1e-6, atol=1e-7)
        else:  # bfloat16 logits: only the input is rounded
            exp = losskit.dice_loss(x.detach().float(), lab, activation="softmax", reduction="none")
            torch.testing.assert_close(out.detach(), exp, rtol=1e-6, atol=1e-7)
    assert len(calls) == 4  # three runs and the bfloat16 reference, all on the fast path


def test_torch_fast_path_out_of_range_labels_raise_like_the_generic_path():
    torch = pytest.importorskip("torch")
    lab = torch.tensor(LAB)
    for bad in (3, -1):
        lab2 = lab.clone()
        lab2[0, 0, 0] = bad
        with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\]"):
            losskit.dice_loss(torch.tensor(X), lab2, activation="softmax")


# ----------------------------------------------------------------- Dice + cross-entropy


def test_dice_ce_is_the_weighted_sum_of_its_terms(xp):
    a, b = xp.asarray(X), xp.asarray(LAB)
    kw = dict(batch=True, include_background=False, smooth_nr=0.1, smooth_dr=0.1)
    out = xp.call(lambda u, v: losskit.dice_ce_loss(u, v, lambda_dice=0.3, lambda_ce=2.0, label_smoothing=0.1, **kw), a, b)
    dice = xp.np(xp.call(lambda u, v: losskit.dice_loss(u, v, activation="softmax", **kw), a, b))
    ce = xp.np(xp.call(lambda u, v: losskit.cross_entropy(u, v, label_smoothing=0.1), a, b))
    xp.assert_close(out, 0.3 * dice + 2.0 * ce)
    # sigmoid: Dice on sigmoid + binary cross-entropy per channel (multi-label masks)
    m = xp.asarray(ONEHOT)
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


def test_dice_ce_gradient_and_module_and_errors(autodiff_xp):
    check_gradient(autodiff_xp, losskit.dice_ce_loss, X[:, :, :2], LAB[:, :2], rtol=1e-5, atol=1e-8,
                   weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.1)
    check_gradient(autodiff_xp, losskit.dice_ce_loss, X[:, :, :2], ONEHOT[:, :, :2], rtol=1e-5, atol=1e-8,
                   activation="sigmoid")
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum', got 'none'"):
        losskit.dice_ce_loss(X, LAB, reduction="none")
    with pytest.raises(ValueError, match="activation: expected one of 'softmax', 'sigmoid'"):
        losskit.dice_ce_loss(X, LAB, activation=None)
    with pytest.raises(ValueError, match="lambda_ce: expected a number >= 0.0"):
        losskit.dice_ce_loss(X, LAB, lambda_ce=-1.0)
    with pytest.raises(ValueError, match="ignore_index: expected None with dense"):
        losskit.dice_ce_loss(X, ONEHOT, ignore_index=-1)
    with pytest.raises(ValueError, match="label_smoothing: expected 0.0 with activation='sigmoid'"):
        losskit.dice_ce_loss(X, ONEHOT, activation="sigmoid", label_smoothing=0.1)


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


@pytest.mark.parametrize("fast", [True, False])
def test_integer_labels_materialise_no_one_hot_on_torch(monkeypatch, fast):
    # Every (N, C, S)-sized tensor the forward pass creates is logged: only the
    # probabilities themselves may be that big (no one-hot, no p * g product).
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    from losskit import segmentation as seg

    monkeypatch.setattr(seg, "_TORCH_FAST", fast)
    big = X.size

    class Log(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            outs = out if isinstance(out, (tuple, list)) else [out]
            ins = torch.utils._pytree.tree_leaves((args, kwargs))
            shared = {a.untyped_storage().data_ptr() for a in ins if isinstance(a, torch.Tensor)}
            for o in outs:
                # views (expand, reshape, ...) share an input's storage: not an allocation
                if isinstance(o, torch.Tensor) and o.numel() == big and o.untyped_storage().data_ptr() not in shared:
                    self.ops.append(func._schema.name)
            return out

    x, lab = torch.tensor(X), torch.tensor(LAB)
    with Log() as log:
        losskit.dice_loss(x, lab, activation="softmax", ignore_index=2)
    # exactly one (N, C, ...) tensor: the probabilities (generic path) or the exponentials
    # they are scaled from (fast path: exp(x) = exp2(x * log2(e)), the mul allocates)
    assert log.ops == (["aten::mul"] if fast else ["aten::_softmax"]), log.ops


def test_torch_func_transforms_use_the_generic_path(monkeypatch):
    # The fused autograd.Function has no functorch rules, so torch.func.grad / vmap must
    # take the generic path. (The eager label check calls .numpy(), which functorch's
    # wrapped tensors refuse; it is switched off here: a limitation of _checks, not of
    # the loss.)
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    monkeypatch.setattr(seg, "check_labels_in_range", lambda *a, **k: None)
    x, lab = torch.tensor(X), torch.tensor(LAB)
    g = torch.func.grad(lambda a: losskit.dice_loss(a, lab, activation="softmax"))(x)
    a = x.clone().requires_grad_(True)
    losskit.dice_loss(a, lab, activation="softmax").backward()
    torch.testing.assert_close(g, a.grad)
    per = torch.func.vmap(lambda a, t: losskit.dice_loss(a[None], t[None], activation="softmax"))(x, lab)
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
    # (N, C) without spatial axes: every sample is one pixel. Labels [0, 1]; p = [[.8, .2], [.4, .6]]
    # sample 0: class 0 I = .8, P = .8, G = 1 -> 1 - (1.6 + s) / (1.8 + s)
    #           class 1 I = 0,  P = .2, G = 0 -> 1 - s / (.2 + s)
    # sample 1: class 0 I = 0,  P = .4, G = 0 -> 1 - s / (.4 + s)
    #           class 1 I = .6, P = .6, G = 1 -> 1 - (1.2 + s) / (1.6 + s)
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    s = 1e-5
    expected = [[1 - (1.6 + s) / (1.8 + s), 1 - s / (0.2 + s)], [1 - s / (0.4 + s), 1 - (1.2 + s) / (1.6 + s)]]
    out = xp.call(lambda a, b: losskit.dice_loss(a, b, reduction="none"), xp.asarray(p), xp.asarray(np.array([0, 1])))
    xp.assert_close(out, expected)


@pytest.mark.parametrize("label_dtype", ["uint8", "int16", "int32"])
@pytest.mark.parametrize(
    "name", ["dice_loss", "generalized_dice_loss", "tversky_loss", "lovasz_softmax_loss", "dice_ce_loss"]
)
def test_torch_narrow_integer_labels_equal_int64_labels(monkeypatch, name, label_dtype):
    # Label images often come as uint8; torch's gather/scatter take int64/int32 indices only,
    # so every path (generic and fast, sigmoid, softmax, squared) must accept the narrow dtype.
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 4, 5, generator=g)
    lab = torch.randint(0, 3, (2, 4, 5), generator=g)
    fn = getattr(losskit, name)
    options = [{}] if name == "lovasz_softmax_loss" else [
        dict(activation="softmax"), dict(activation="sigmoid"), dict(activation="softmax", squared=True)
    ]
    if name != "dice_loss":
        options = [o for o in options if "squared" not in o]
    from losskit import _numba

    # compiled (numba) where installed, fused torch, generic
    for fast, numba_off in ((True, False), (True, True), (False, True)):
        monkeypatch.setattr(seg, "_TORCH_FAST", fast)
        for kw in options:
            res = []
            for labels in (lab, lab.to(getattr(torch, label_dtype))):
                a = x.clone().requires_grad_(True)
                with _numba.disabled() if numba_off else contextlib.nullcontext():
                    v = fn(a, labels, **kw)
                    v.backward()
                res.append((v.detach(), a.grad))
            torch.testing.assert_close(res[0], res[1], rtol=0, atol=0)


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
def test_accelerator_tensors_take_the_generic_path(monkeypatch):
    # The fused and compiled label sums are CPU paths; on a GPU the generic gather/scatter
    # kernels are faster (measured on an H100), so tensors there must not reach them.
    torch = pytest.importorskip("torch")
    from losskit import segmentation as seg

    calls = []
    for name in ("_torch_softmax_label_sums", "_numba_apply"):
        real = getattr(seg, name)
        monkeypatch.setattr(seg, name, lambda *a, _r=real, **k: calls.append(1) or _r(*a, **k))
    x = torch.randn(2, 3, 4, 5, device=TORCH_DEVICE, requires_grad=True)
    lab = torch.randint(0, 3, (2, 4, 5), device=TORCH_DEVICE)
    losskit.dice_loss(x, lab, activation="softmax").backward()
    assert not calls
    assert torch.isfinite(x.grad).all()
