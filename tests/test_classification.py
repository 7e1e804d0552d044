"""Classification losses: hand-derived values, shapes, reductions, bad input, dtypes, empty
input, extremes and identities, on every backend (the ``xp`` fixture).

Gradients (analytic == autograd == numerical) are in test_classification_grad.py; parity
with torch / scikit-learn / optax in parity/test_classification_parity.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from losskit import classification as C

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------- NumPy references
# Written from the formulas with explicit loops, independent of the library code.


def _log_softmax_last(x):
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def ref_cross_entropy(x, y, w=None, ignore_index=None, eps=0.0, axis=1, reduction="mean"):
    """torch's definition, element by element."""
    x = np.moveaxis(np.asarray(x, np.float64), axis if x.ndim > 1 else 0, -1)
    c = x.shape[-1]
    logp = _log_softmax_last(x)
    w = np.ones(c) if w is None else np.asarray(w, np.float64)
    if y.dtype.kind == "f":  # probabilities
        q = np.moveaxis(y, axis if y.ndim > 1 else 0, -1) * (1 - eps) + eps / c
        losses = -(q * w * logp).sum(-1)
        if reduction == "none":
            return losses
        return losses.sum() if reduction == "sum" else losses.mean()
    losses = np.zeros(y.shape)
    wsum = 0.0
    for idx in np.ndindex(*y.shape):
        k = int(y[idx])
        if ignore_index is not None and k == ignore_index:
            continue
        lp = logp[idx]
        losses[idx] = (1 - eps) * w[k] * -lp[k] + eps / c * np.sum(w * -lp)
        wsum += w[k]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / wsum if wsum else 0.0


def run(xp, fn, *arrays, **kw):
    """Call ``fn`` on backend arrays (jitted for jax) and return NumPy float64."""
    args = [xp.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays]
    kw = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return xp.np(xp.call(fn, *args, **kw))


# ----------------------------------------------------------------- cross_entropy


def test_cross_entropy_hand_value(xp):
    # Row 0: -log softmax([2, 0, -1])_0 = log(e^2 + 1 + e^-1) - 2; row 1: -log(1/3) = log 3.
    x = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    r0 = math.log(math.e**2 + 1 + math.exp(-1)) - 2
    expected = (r0 + math.log(3)) / 2
    xp.assert_close(run(xp, losskit.cross_entropy, x, y), expected)
    xp.assert_close(run(xp, losskit.cross_entropy, x, y, reduction="sum"), 2 * expected)
    xp.assert_close(run(xp, losskit.cross_entropy, x, y, reduction="none"), [r0, math.log(3)])


def test_cross_entropy_weight_ignore_smoothing_hand_value(xp):
    # Two samples, C = 2, logits 0 => log p = -log 2 everywhere. weight = [1, 3].
    # Sample 0 (y = 1): (1 - .2) * 3 * log 2 + (.2 / 2) * (1 + 3) * log 2 = 2.8 log 2.
    # Sample 1 is ignored (y = -1). Mean divides by w[1] = 3 => 2.8 log 2 / 3.
    x = np.zeros((2, 2))
    y = np.array([1, -1])
    out = run(xp, losskit.cross_entropy, x, y, weight=np.array([1.0, 3.0]), ignore_index=-1, label_smoothing=0.2)
    xp.assert_close(out, 2.8 * math.log(2) / 3)
    none = run(
        xp, losskit.cross_entropy, x, y, weight=np.array([1.0, 3.0]), ignore_index=-1,
        label_smoothing=0.2, reduction="none",
    )
    xp.assert_close(none, [2.8 * math.log(2), 0.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"weight": "w"},
        {"ignore_index": 1},
        {"label_smoothing": 0.3},
        {"weight": "w", "ignore_index": 255, "label_smoothing": 0.1},
    ],
    ids=["plain", "weight", "ignore", "smooth", "all"],
)
def test_cross_entropy_batched_matches_reference(xp, reduction, opts):
    x = RNG.normal(size=(3, 4, 2, 5)) * 3
    y = RNG.integers(0, 4, size=(3, 2, 5))
    y[0, 0, :2] = opts.get("ignore_index", 0)
    kw = dict(opts)
    if kw.get("weight") == "w":
        kw["weight"] = np.array([0.5, 1.0, 2.0, 0.25])
    out = run(xp, losskit.cross_entropy, x, y, reduction=reduction, **kw)
    ref = ref_cross_entropy(x, y, w=kw.get("weight"), ignore_index=kw.get("ignore_index"),
                            eps=kw.get("label_smoothing", 0.0), reduction=reduction)
    assert out.shape == np.shape(ref)
    xp.assert_close(out, ref)


def test_cross_entropy_probability_targets(xp):
    x = RNG.normal(size=(4, 3))
    q = RNG.dirichlet(np.ones(3), size=4)
    for eps in (0.0, 0.25):
        for w in (None, np.array([1.0, 2.0, 0.5])):
            kw = {} if w is None else {"weight": w}
            out = run(xp, losskit.cross_entropy, x, q, label_smoothing=eps, **kw)
            xp.assert_close(out, ref_cross_entropy(x, q, w=w, eps=eps))


def test_cross_entropy_one_hot_probabilities_equal_indices(xp):
    x = RNG.normal(size=(5, 4))
    y = RNG.integers(0, 4, size=5)
    oh = np.eye(4)[y]
    a = run(xp, losskit.cross_entropy, x, y, label_smoothing=0.1)
    b = run(xp, losskit.cross_entropy, x, oh, label_smoothing=0.1)
    xp.assert_close(a, b)


def test_cross_entropy_axis_last_equals_axis_one(xp):
    x = RNG.normal(size=(2, 3, 4))
    y = RNG.integers(0, 3, size=(2, 4))
    a = run(xp, losskit.cross_entropy, x, y, reduction="none")
    b = run(xp, losskit.cross_entropy, np.moveaxis(x, 1, -1).copy(), y, axis=-1, reduction="none")
    xp.assert_close(a, b)
    q = RNG.dirichlet(np.ones(3), size=(2, 4))  # (2, 4, 3): probabilities on the last axis
    c = run(xp, losskit.cross_entropy, np.moveaxis(x, 1, -1).copy(), q, axis=-1, reduction="none")
    d = run(xp, losskit.cross_entropy, x, np.moveaxis(q, -1, 1).copy(), reduction="none")
    xp.assert_close(c, d)


def test_cross_entropy_unbatched_1d(xp):
    x = np.array([1.0, 2.0, 3.0])
    out = run(xp, losskit.cross_entropy, x, np.array(2))
    xp.assert_close(out, math.log(math.e + math.e**2 + math.e**3) - 3)


def test_cross_entropy_all_ignored_and_empty_give_zero(xp):
    x = RNG.normal(size=(3, 4))
    y = np.full(3, -100)
    for kw in ({}, {"weight": np.ones(4)}, {"label_smoothing": 0.2}):
        out = run(xp, losskit.cross_entropy, x, y, ignore_index=-100, **kw)
        assert out == 0.0
    for red in ("mean", "sum"):
        assert run(xp, losskit.cross_entropy, np.zeros((0, 4)), np.zeros(0, dtype=np.int64), reduction=red) == 0.0
        assert run(xp, losskit.cross_entropy, np.zeros((0, 4)), np.zeros((0, 4)), reduction=red) == 0.0
    assert run(xp, losskit.cross_entropy, np.zeros((0, 4)), np.zeros(0, dtype=np.int64), reduction="none").shape == (0,)


def test_cross_entropy_extreme_logits_finite(xp):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    y = np.array([1, 0])
    out = run(xp, losskit.cross_entropy, x, y, label_smoothing=0.1)
    assert np.isfinite(out)
    xp.assert_close(out, ref_cross_entropy(x, y, eps=0.1), rtol=1e-6)


def test_cross_entropy_half_precision_inputs(xp):
    x = RNG.normal(size=(4, 3))
    y = RNG.integers(0, 3, size=4)
    ref = ref_cross_entropy(x, y)
    for dt in ("float16", "bfloat16"):
        if not xp.has_dtype(dt):
            continue
        xin = xp.asarray(x, dtype=dt)
        out = xp.call(losskit.cross_entropy, xin, xp.asarray(y))
        assert out.dtype == xp.dtype("float32")
        np.testing.assert_allclose(xp.np(out), ref, rtol=2e-2)


def test_cross_entropy_bad_input(xp):
    x = xp.asarray(np.zeros((2, 3)))
    y = xp.asarray(np.array([0, 1]))
    f = losskit.cross_entropy
    with pytest.raises(ValueError, match="reduction: expected one of"):
        f(x, y, reduction="avg")
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2,\)"):
        f(x, xp.asarray(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2, 4\)"):
        # wrong class axis: (N, C, L) logits with a (N, C) target
        f(xp.asarray(np.zeros((2, 3, 4))), xp.asarray(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="target: expected an integer array of class indices"):
        f(x, xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\], got 3"):
        f(x, xp.asarray(np.array([0, 3])))
    with pytest.raises(ValueError, match="got -1"):
        f(x, xp.asarray(np.array([0, -1])))
    with pytest.raises(ValueError, match="target: expected probabilities in"):
        f(x, xp.asarray(np.array([[0.5, 0.7, -0.2], [1.0, 0.0, 0.0]])))
    with pytest.raises(ValueError, match="input: expected at least 1 classes along axis 1, got an empty class axis"):
        f(xp.asarray(np.zeros((2, 0))), y)
    with pytest.raises(ValueError, match=r"axis: expected an axis in \[-2, 2\), got 2"):
        f(x, y, axis=2)
    with pytest.raises(ValueError, match=r"label_smoothing: expected a number <= 1"):
        f(x, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight: expected one weight per class, shape \(3,\)"):
        f(x, y, weight=xp.asarray(np.ones(2)))
    with pytest.raises(TypeError, match="ignore_index: expected an int or None"):
        f(x, y, ignore_index=1.0)
    with pytest.raises(ValueError, match="ignore_index: expected None with class-probability targets"):
        f(x, xp.asarray(np.full((2, 3), 1 / 3)), ignore_index=0)
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        f(xp.asarray(np.zeros((2, 3), dtype=np.int64)), y)


def test_cross_entropy_ignore_index_value_is_allowed_out_of_range(xp):
    x = RNG.normal(size=(3, 4))
    y = np.array([0, 255, 3])
    out = run(xp, losskit.cross_entropy, x, y, ignore_index=255)
    xp.assert_close(out, ref_cross_entropy(x, y, ignore_index=255))


# ----------------------------------------------------------------- nll_loss


def test_nll_loss_hand_value_and_identity(xp):
    # -(log .5 + log .8) / 2
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    y = np.array([0, 2])
    xp.assert_close(run(xp, losskit.nll_loss, logp, y), -(math.log(0.5) + math.log(0.8)) / 2)
    # cross_entropy(x, y) == nll_loss(log_softmax(x), y), with every option
    x = RNG.normal(size=(4, 3, 2))
    y = RNG.integers(0, 3, size=(4, 2))
    y[0, 0] = 7
    w = np.array([0.2, 1.0, 3.0])
    logp = np.moveaxis(_log_softmax_last(np.moveaxis(x, 1, -1)), -1, 1)
    for red in ("mean", "sum", "none"):
        a = run(xp, losskit.nll_loss, logp, y, weight=w, ignore_index=7, reduction=red)
        b = ref_cross_entropy(x, y, w=w, ignore_index=7, reduction=red)
        xp.assert_close(a, b)


def test_nll_loss_all_ignored_empty_and_bad_input(xp):
    assert run(xp, losskit.nll_loss, np.zeros((2, 3)), np.array([5, 5]), ignore_index=5) == 0.0
    assert run(xp, losskit.nll_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0
    x = xp.asarray(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="target: expected an integer array"):
        losskit.nll_loss(x, xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"expected class indices in \[0, 2\], got 3"):
        losskit.nll_loss(x, xp.asarray(np.array([3, 1])))
    with pytest.raises(ValueError, match="reduction: expected"):
        losskit.nll_loss(x, xp.asarray(np.array([0, 1])), reduction="batchmean")
    with pytest.raises(ValueError, match="got an empty class axis"):
        losskit.nll_loss(xp.asarray(np.zeros((2, 0))), xp.asarray(np.array([0, 1])))


# ----------------------------------------------------------------- binary cross-entropy


def ref_bce(p, y):
    lp = np.maximum(np.log(np.where(p > 0, p, 1.0)) * (p > 0) + (p <= 0) * -1e300, -100)
    lq = np.maximum(np.log(np.where(p < 1, 1 - p, 1.0)) * (p < 1) + (p >= 1) * -1e300, -100)
    return -(y * lp + (1 - y) * lq)


def test_binary_cross_entropy_hand_value_and_reductions(xp):
    p = np.array([0.8, 0.1, 1.0, 0.0])
    y = np.array([1.0, 0.0, 0.0, 0.0])
    # -log .8, -log .9, clamp 100 (p = 1 with target 0), 0 (p = 0 with target 0)
    per = [-math.log(0.8), -math.log(0.9), 100.0, 0.0]
    xp.assert_close(run(xp, losskit.binary_cross_entropy, p, y, reduction="none"), per)
    xp.assert_close(run(xp, losskit.binary_cross_entropy, p, y), sum(per) / 4)
    xp.assert_close(run(xp, losskit.binary_cross_entropy, p, y, reduction="sum"), sum(per))
    # weight rescales elementwise; mean still divides by the number of elements (torch)
    w = np.array([2.0, 0.0, 1.0, 1.0])
    xp.assert_close(run(xp, losskit.binary_cross_entropy, p, y, weight=w), (2 * per[0] + per[2]) / 4)


def test_binary_cross_entropy_batched_soft_targets(xp):
    p = RNG.uniform(0.01, 0.99, size=(3, 4, 5))
    y = RNG.uniform(size=(3, 4, 5))
    out = run(xp, losskit.binary_cross_entropy, p, y, reduction="none")
    xp.assert_close(out, ref_bce(p, y))


def test_binary_cross_entropy_bad_input(xp):
    p = xp.asarray(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"input: expected probabilities in \[0, 1\]"):
        losskit.binary_cross_entropy(xp.asarray(np.array([0.5, 1.5])), xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.binary_cross_entropy(p, xp.asarray(np.array([0.0, 2.0])))
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(2,\), got \(3,\)"):
        losskit.binary_cross_entropy(p, xp.asarray(np.array([0.0, 1.0, 1.0])))
    with pytest.raises(ValueError, match="weight: expected a shape broadcastable"):
        losskit.binary_cross_entropy(p, xp.asarray(np.array([0.0, 1.0])), weight=xp.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="reduction: expected"):
        losskit.binary_cross_entropy(p, p, reduction="mena")


def test_binary_cross_entropy_empty_and_half(xp):
    assert run(xp, losskit.binary_cross_entropy, np.zeros(0), np.zeros(0)) == 0.0
    for dt in ("float16", "bfloat16"):
        if not xp.has_dtype(dt):
            continue
        p = xp.asarray(np.array([0.0, 0.3, 1.0]), dtype=dt)
        out = xp.np(xp.call(losskit.binary_cross_entropy, p, xp.asarray(np.array([1.0, 0.0, 1.0]))))
        assert np.isfinite(out)


def ref_bce_logits(x, y, pw=1.0):
    # log sigma(x) = -log(1 + e^-x); written with logaddexp for the extremes
    return pw * y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)


def test_bce_with_logits_hand_value(xp):
    x = np.array([0.0, 2.0])
    y = np.array([1.0, 0.0])
    # log 2 (sigma(0) = 1/2) and -log(1 - sigma(2)) = log(1 + e^2)
    xp.assert_close(run(xp, losskit.binary_cross_entropy_with_logits, x, y, reduction="none"),
                    [math.log(2), math.log(1 + math.e**2)])
    # pos_weight 3 triples the positive term only
    xp.assert_close(run(xp, losskit.binary_cross_entropy_with_logits, x, y, pos_weight=3.0, reduction="sum"),
                    3 * math.log(2) + math.log(1 + math.e**2))


def test_bce_with_logits_batched_pos_weight_weight(xp):
    x = RNG.normal(size=(4, 3)) * 4
    y = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float64)
    pw = np.array([1.0, 2.0, 0.5])
    w = np.array([[1.0], [0.5], [2.0], [0.0]])
    for red in ("mean", "sum", "none"):
        out = run(xp, losskit.binary_cross_entropy_with_logits, x, y, pos_weight=pw, weight=w, reduction=red)
        ref = w * ref_bce_logits(x, y, pw)
        ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[red]
        xp.assert_close(out, ref)


def test_bce_with_logits_extremes_and_identity_with_bce(xp):
    x = np.array([1e4, -1e4, 30.0, -30.0, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    out = run(xp, losskit.binary_cross_entropy_with_logits, x, y, reduction="none")
    xp.assert_close(out, ref_bce_logits(x, y), rtol=1e-6)
    # away from saturation, BCE(sigmoid(x)) == BCE-with-logits(x)
    x = RNG.normal(size=6)
    y = RNG.uniform(size=6)
    p = 1 / (1 + np.exp(-x))
    xp.assert_close(run(xp, losskit.binary_cross_entropy, p, y),
                    run(xp, losskit.binary_cross_entropy_with_logits, x, y), rtol=1e-5)


def test_bce_with_logits_int_bool_targets_and_bad_input(xp):
    x = np.array([0.5, -0.5])
    a = run(xp, losskit.binary_cross_entropy_with_logits, x, np.array([1.0, 0.0]))
    b = run(xp, losskit.binary_cross_entropy_with_logits, x, np.array([1, 0]))
    c = run(xp, losskit.binary_cross_entropy_with_logits, x, np.array([True, False]))
    xp.assert_close(a, b)
    xp.assert_close(a, c)
    xa = xp.asarray(x)
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.binary_cross_entropy_with_logits(xa, xp.asarray(np.array([-1.0, 1.0])))
    with pytest.raises(ValueError, match="pos_weight: expected a number >= 0"):
        losskit.binary_cross_entropy_with_logits(xa, xp.asarray(np.array([0.0, 1.0])), pos_weight=-1.0)
    with pytest.raises(ValueError, match="pos_weight: expected a shape broadcastable"):
        losskit.binary_cross_entropy_with_logits(xa, xp.asarray(np.array([0.0, 1.0])), pos_weight=xp.asarray(np.ones(3)))
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        losskit.binary_cross_entropy_with_logits(xp.asarray(np.array([1, 0])), xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        losskit.binary_cross_entropy_with_logits(xa, xp.asarray(np.array([[0.0, 1.0]])))
    assert run(xp, losskit.binary_cross_entropy_with_logits, np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


# ----------------------------------------------------------------- log_loss


def test_log_loss_hand_value_binary_and_multiclass(xp):
    # (N, 2): -(log .9 + log .8 + log .3 + log .65) / 4
    p2 = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
    y = np.array([0, 1, 0, 1])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.3) + math.log(0.65)) / 4
    xp.assert_close(run(xp, losskit.log_loss, p2, y), expected)
    # (N,) positive-class probabilities and (N, 1) give the same
    xp.assert_close(run(xp, losskit.log_loss, p2[:, 1].copy(), y), expected)
    xp.assert_close(run(xp, losskit.log_loss, p2[:, 1:].copy(), y), expected)
    # sample weights: weighted mean; "sum" is sum of w * l
    w = np.array([1.0, 0.0, 2.0, 1.0])
    per = -np.log([0.9, 0.8, 0.3, 0.65])
    xp.assert_close(run(xp, losskit.log_loss, p2, y, weight=w), (per * w).sum() / 4)
    xp.assert_close(run(xp, losskit.log_loss, p2, y, weight=w, reduction="sum"), (per * w).sum())
    xp.assert_close(run(xp, losskit.log_loss, p2, y, reduction="none"), per)


def test_log_loss_clips_exact_zero_and_one(xp):
    # p(true) = 0 costs -log(eps), p(true) = 1 costs -log(1 - eps) (scikit-learn's clipping)
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = np.array([1, 1])
    eps = np.finfo(np.float32 if xp.float_dtype == "float32" else np.float64).eps
    out = run(xp, losskit.log_loss, p, y, reduction="none")
    xp.assert_close(out, [-math.log(eps), -math.log1p(-eps)], rtol=1e-6)
    assert np.all(np.isfinite(out))


def test_log_loss_does_not_renormalise_and_warns(xp):
    if xp.on_accelerator:
        pytest.skip("value warnings read host memory only (no device sync per call)")
    p = np.array([[0.2, 0.2, 0.2], [0.2, 0.3, 0.5]])
    y = np.array([0, 2])
    with pytest.warns(UserWarning, match="do not sum to one"):
        out = losskit.log_loss(xp.asarray(p), xp.asarray(y), reduction="none")
    xp.assert_close(out, [-math.log(0.2), -math.log(0.5)])


def test_log_loss_bad_input(xp):
    p = xp.asarray(np.array([[0.5, 0.5], [0.1, 0.9]]))
    with pytest.raises(TypeError, match="target: expected an integer array"):
        losskit.log_loss(p, xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 1\], got 2"):
        losskit.log_loss(p, xp.asarray(np.array([0, 2])))
    with pytest.raises(ValueError, match=r"input: expected probabilities in \[0, 1\]"):
        losskit.log_loss(xp.asarray(np.array([0.5, 1.2])), xp.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"target: expected labels of shape \(2,\), got \(3,\)"):
        losskit.log_loss(p, xp.asarray(np.array([0, 1, 1])))
    with pytest.raises(ValueError, match=r"input: expected probabilities of shape \(N,\) or \(N, C\)"):
        losskit.log_loss(xp.asarray(np.full((2, 2, 2), 0.5)), xp.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match="got an empty class axis"):
        losskit.log_loss(xp.asarray(np.zeros((2, 0))), xp.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match="weight: expected one weight per sample"):
        losskit.log_loss(p, xp.asarray(np.array([0, 1])), weight=xp.asarray(np.ones(3)))
    assert run(xp, losskit.log_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


# ----------------------------------------------------------------- kl_div


def test_kl_div_hand_value_and_reductions(xp):
    # KL(p || q) = .5 log(.5/.25) + .5 log(.5/.75); a zero target probability adds 0
    p = np.array([[0.5, 0.5, 0.0]])
    q = np.array([[0.25, 0.7, 0.05]])
    per = [0.5 * math.log(0.5 / 0.25), 0.5 * math.log(0.5 / 0.7), 0.0]
    lq = np.log(q)
    xp.assert_close(run(xp, losskit.kl_div, lq, p, reduction="none"), [per])
    xp.assert_close(run(xp, losskit.kl_div, lq, p, reduction="sum"), sum(per))
    xp.assert_close(run(xp, losskit.kl_div, lq, p), sum(per) / 3)  # mean over elements
    xp.assert_close(run(xp, losskit.kl_div, lq, p, reduction="batchmean"), sum(per))  # N = 1
    # log_target gives the same values for positive targets
    p2 = np.array([[0.5, 0.5], [0.9, 0.1]])
    q2 = np.array([[0.3, 0.7], [0.6, 0.4]])
    a = run(xp, losskit.kl_div, np.log(q2), p2, reduction="batchmean")
    b = run(xp, losskit.kl_div, np.log(q2), np.log(p2), log_target=True, reduction="batchmean")
    ref = (p2 * np.log(p2 / q2)).sum() / 2
    xp.assert_close(a, ref)
    xp.assert_close(b, ref)


def test_kl_div_zero_probabilities_with_infinite_log_inputs(xp):
    # p = [1, 0], q = [1, 0]: KL = 1 log 1 + 0 = 0 even though log q_1 = -inf
    lq = np.array([[0.0, -np.inf]])
    p = np.array([[1.0, 0.0]])
    assert run(xp, losskit.kl_div, lq, p, reduction="sum") == 0.0
    assert run(xp, losskit.kl_div, lq, np.array([[0.0, -np.inf]]), log_target=True, reduction="sum") == 0.0


def test_kl_div_bad_input_and_empty(xp):
    lq = xp.asarray(np.log(np.full((2, 2), 0.5)))
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'batchmean'"):
        losskit.kl_div(lq, lq, reduction="avg")
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.kl_div(lq, lq)  # log-probabilities passed as probabilities
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        losskit.kl_div(lq, xp.asarray(np.full((2, 3), 0.2)))
    with pytest.raises(TypeError, match="log_target: expected a bool"):
        losskit.kl_div(lq, lq, log_target=1)
    for red in ("mean", "batchmean", "sum"):
        assert run(xp, losskit.kl_div, np.zeros((0, 3)), np.zeros((0, 3)), reduction=red) == 0.0


# ----------------------------------------------------------------- hinge family


@pytest.mark.parametrize("labels", ["pm1", "01", "bool", "float"])
def test_hinge_and_squared_hinge_hand_values(xp, labels):
    f = np.array([2.0, 0.5, -1.0, 0.25])
    ypm = np.array([1, 1, 1, -1])
    y = {"pm1": ypm, "01": (ypm > 0).astype(np.int64), "bool": ypm > 0, "float": ypm.astype(np.float64)}[labels]
    # margins y f = 2, .5, -1, -.25 -> hinge 0, .5, 2, 1.25; squared 0, .25, 4, 1.5625
    xp.assert_close(run(xp, losskit.hinge_loss, f, y, reduction="none"), [0.0, 0.5, 2.0, 1.25])
    xp.assert_close(run(xp, losskit.hinge_loss, f, y), 3.75 / 4)
    xp.assert_close(run(xp, losskit.squared_hinge_loss, f, y, reduction="none"), [0.0, 0.25, 4.0, 1.5625])
    xp.assert_close(run(xp, losskit.squared_hinge_loss, f, y, reduction="sum"), 5.8125)
    w = np.array([1.0, 2.0, 0.0, 1.0])
    xp.assert_close(run(xp, losskit.hinge_loss, f, y, weight=w), (1.0 + 1.25) / 4)


def test_hinge_batched_and_bad_input(xp):
    f = RNG.normal(size=(3, 4))
    y = np.where(RNG.uniform(size=(3, 4)) > 0.5, 1, -1)
    xp.assert_close(run(xp, losskit.hinge_loss, f, y, reduction="none"), np.maximum(0, 1 - y * f))
    fa = xp.asarray(f[0])
    for fn in (losskit.hinge_loss, losskit.squared_hinge_loss):
        with pytest.raises(ValueError, match=r"target: expected binary labels in \{-1, 1\} or \{0, 1\}, got 2"):
            fn(fa, xp.asarray(np.array([0, 1, 2, 1])))
        with pytest.raises(ValueError, match="a mix of -1 and 0"):
            fn(fa, xp.asarray(np.array([0, 1, -1, 1])))
        with pytest.raises(ValueError, match="target: expected the shape of input"):
            fn(fa, xp.asarray(np.array([1, 1, -1])))
        with pytest.raises(ValueError, match="reduction: expected"):
            fn(fa, xp.asarray(np.array([1, 1, -1, 1])), reduction="max")
        assert run(xp, fn, np.zeros(0), np.zeros(0, dtype=np.int64)) == 0.0


def ref_multi_margin(x, y, p=1, margin=1.0, w=None):
    n, c = x.shape
    out = np.zeros(n)
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            z = margin - x[i, y[i]] + x[i, j]
            if z > 0:
                out[i] += (z**p) * (1.0 if w is None else w[y[i]])
    return out / c


def test_multi_margin_loss_hand_value_and_reference(xp):
    # torch's documentation example: (1 - .8 + .1 + 1 - .8 + .2 + 1 - .8 + .4) / 4 = .325
    x = np.array([[0.1, 0.2, 0.4, 0.8]])
    xp.assert_close(run(xp, losskit.multi_margin_loss, x, np.array([3])), 0.325)
    x = RNG.normal(size=(5, 4))
    y = RNG.integers(0, 4, size=5)
    w = np.array([1.0, 0.5, 2.0, 3.0])
    for p in (1, 2):
        for red in ("mean", "sum", "none"):
            out = run(xp, losskit.multi_margin_loss, x, y, p=p, margin=0.7, weight=w, reduction=red)
            ref = ref_multi_margin(x, y, p, 0.7, w)
            ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[red]
            xp.assert_close(out, ref)


def test_multi_margin_loss_extra_axes_and_bad_input(xp):
    x = RNG.normal(size=(2, 3, 4))
    y = RNG.integers(0, 3, size=(2, 4))
    out = run(xp, losskit.multi_margin_loss, x, y, reduction="none")
    flat = ref_multi_margin(np.moveaxis(x, 1, -1).reshape(-1, 3), y.reshape(-1))
    xp.assert_close(out, flat.reshape(2, 4))
    xa = xp.asarray(np.zeros((2, 3)))
    ya = xp.asarray(np.array([0, 2]))
    with pytest.raises(ValueError, match="p: expected 1 or 2, got 3"):
        losskit.multi_margin_loss(xa, ya, p=3)
    with pytest.raises(TypeError, match="margin: expected a real number"):
        losskit.multi_margin_loss(xa, ya, margin="1")
    with pytest.raises(ValueError, match=r"expected class indices in \[0, 2\], got 3"):
        losskit.multi_margin_loss(xa, xp.asarray(np.array([0, 3])))
    with pytest.raises(TypeError, match="target: expected an integer array"):
        losskit.multi_margin_loss(xa, xp.asarray(np.array([0.0, 2.0])))
    with pytest.raises(ValueError, match="empty class axis"):
        losskit.multi_margin_loss(xp.asarray(np.zeros((2, 0))), ya)
    assert run(xp, losskit.multi_margin_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


def test_multiclass_hinge_loss_hand_value(xp):
    # 1 - (2 - 1.5) = .5; 1 - (1 - 3) = 3; 1 - (5 - 1) < 0 -> 0
    x = np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0], [5.0, 1.0, 0.0]])
    y = np.array([0, 2, 0])
    xp.assert_close(run(xp, losskit.multiclass_hinge_loss, x, y, reduction="none"), [0.5, 3.0, 0.0])
    xp.assert_close(run(xp, losskit.multiclass_hinge_loss, x, y), 3.5 / 3)
    w = np.array([2.0, 1.0, 1.0])
    xp.assert_close(run(xp, losskit.multiclass_hinge_loss, x, y, weight=w), (1.0 + 3.0) / 4)
    # axis=-1 on (N, L, C) equals axis=1 on (N, C, L)
    x3 = RNG.normal(size=(2, 3, 4))
    y3 = RNG.integers(0, 3, size=(2, 4))
    a = run(xp, losskit.multiclass_hinge_loss, x3, y3, reduction="none")
    b = run(xp, losskit.multiclass_hinge_loss, np.moveaxis(x3, 1, -1).copy(), y3, axis=-1, reduction="none")
    xp.assert_close(a, b)


def test_multiclass_hinge_loss_bad_input(xp):
    with pytest.raises(ValueError, match="input: expected at least 2 classes along axis 1, got 1 class"):
        losskit.multiclass_hinge_loss(xp.asarray(np.zeros((2, 1))), xp.asarray(np.array([0, 0])))
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2,\)"):
        losskit.multiclass_hinge_loss(xp.asarray(np.zeros((2, 3))), xp.asarray(np.array([[0, 0]])))
    with pytest.raises(ValueError, match="weight: expected one weight per sample"):
        losskit.multiclass_hinge_loss(xp.asarray(np.zeros((2, 3))), xp.asarray(np.array([0, 0])), weight=xp.asarray(np.ones(3)))
    assert run(xp, losskit.multiclass_hinge_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


# ----------------------------------------------------------------- focal losses


def test_sigmoid_focal_loss_hand_value_and_identities(xp):
    # x = 0, y = 1: p_t = 1/2 -> alpha (1/2)^2 log 2; x = 0, y = 0: (1 - alpha) (1/2)^2 log 2
    x = np.array([0.0, 0.0])
    y = np.array([1.0, 0.0])
    per = [0.25 * 0.25 * math.log(2), 0.75 * 0.25 * math.log(2)]
    xp.assert_close(run(xp, losskit.sigmoid_focal_loss, x, y, reduction="none"), per)
    # gamma = 0, alpha = None is BCE with logits
    x = RNG.normal(size=(3, 4)) * 3
    y = RNG.uniform(size=(3, 4))
    xp.assert_close(run(xp, losskit.sigmoid_focal_loss, x, y, alpha=None, gamma=0.0),
                    run(xp, losskit.binary_cross_entropy_with_logits, x, y))
    # reference formula, textbook form p_t = p y + (1 - p)(1 - y)
    p = 1 / (1 + np.exp(-x))
    pt = p * y + (1 - p) * (1 - y)
    ref = (0.4 * y + 0.6 * (1 - y)) * (1 - pt) ** 1.5 * ref_bce_logits(x, y)
    xp.assert_close(run(xp, losskit.sigmoid_focal_loss, x, y, alpha=0.4, gamma=1.5, reduction="none"), ref, rtol=1e-4 if xp.float_dtype == "float32" else 1e-9)


def test_sigmoid_focal_loss_extremes_and_bad_input(xp):
    x = np.array([1e4, -1e4, 1e4, -1e4, 50.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    for gamma in (0.5, 2.0):
        out = run(xp, losskit.sigmoid_focal_loss, x, y, gamma=gamma, reduction="none")
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out[[0, 1, 4]], 0.0, atol=1e-12)
        xp.assert_close(out[2], 0.75 * 1e4, rtol=1e-6)
    xa = xp.asarray(np.zeros(2))
    ya = xp.asarray(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"alpha: expected a number <= 1"):
        losskit.sigmoid_focal_loss(xa, ya, alpha=1.5)
    with pytest.raises(ValueError, match=r"gamma: expected a number >= 0"):
        losskit.sigmoid_focal_loss(xa, ya, gamma=-1.0)
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.sigmoid_focal_loss(xa, xp.asarray(np.array([0.0, 2.0])))
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        losskit.sigmoid_focal_loss(xa, xp.asarray(np.zeros(3)))
    assert run(xp, losskit.sigmoid_focal_loss, np.zeros(0), np.zeros(0)) == 0.0


def test_focal_loss_hand_value_and_identity_with_cross_entropy(xp):
    # p_y = 1/2: (1/2)^2 log 2
    xp.assert_close(run(xp, losskit.focal_loss, np.zeros((1, 2)), np.array([1])), 0.25 * math.log(2))
    x = RNG.normal(size=(4, 3, 2)) * 2
    y = RNG.integers(0, 3, size=(4, 2))
    y[0, 0] = -1
    for red in ("mean", "sum", "none"):
        a = run(xp, losskit.focal_loss, x, y, gamma=0.0, ignore_index=-1, reduction=red)
        b = run(xp, losskit.cross_entropy, x, y, ignore_index=-1, reduction=red)
        xp.assert_close(a, b)
    # reference with per-class alpha and gamma = 2
    alpha = np.array([0.25, 0.5, 1.0])
    xl = np.moveaxis(x, 1, -1)
    p = np.exp(_log_softmax_last(xl))
    ys = np.where(y < 0, 0, y)
    py = np.take_along_axis(p, ys[..., None], -1)[..., 0]
    ref = np.where(y < 0, 0.0, -alpha[ys] * (1 - py) ** 2 * np.log(py))
    xp.assert_close(run(xp, losskit.focal_loss, x, y, alpha=alpha, ignore_index=-1, reduction="none"), ref)
    xp.assert_close(run(xp, losskit.focal_loss, x, y, alpha=alpha, ignore_index=-1), ref.sum() / 7)
    xp.assert_close(run(xp, losskit.focal_loss, x, y, alpha=0.5, ignore_index=-1),
                    run(xp, losskit.focal_loss, x, y, ignore_index=-1) * 0.5)


def test_focal_loss_extremes_and_bad_input(xp):
    x = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]])
    y = np.array([0, 0, 1])
    for gamma in (0.5, 2.0):
        out = run(xp, losskit.focal_loss, x, y, gamma=gamma, reduction="none")
        assert np.all(np.isfinite(out))
        xp.assert_close(out[:2], [0.0, 2e4], rtol=1e-6)
    xa = xp.asarray(np.zeros((2, 3)))
    ya = xp.asarray(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"alpha: expected one weight per class, shape \(3,\)"):
        losskit.focal_loss(xa, ya, alpha=xp.asarray(np.ones(2)))
    with pytest.raises(ValueError, match="gamma: expected a number >= 0"):
        losskit.focal_loss(xa, ya, gamma=-0.5)
    with pytest.raises(TypeError, match="target: expected an integer array"):
        losskit.focal_loss(xa, xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"expected class indices in \[0, 2\], got 5"):
        losskit.focal_loss(xa, xp.asarray(np.array([0, 5])))
    assert run(xp, losskit.focal_loss, np.zeros((2, 3)), np.array([4, 4]), ignore_index=4) == 0.0
    assert run(xp, losskit.focal_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


# ----------------------------------------------------------------- poly1


def test_poly1_hand_value_and_identities(xp):
    # p_t = 1/2: log 2 + eps (1 - 1/2)
    xp.assert_close(run(xp, losskit.poly1_cross_entropy, np.zeros((1, 2)), np.array([0])), math.log(2) + 0.5)
    x = RNG.normal(size=(5, 4))
    y = RNG.integers(0, 4, size=5)
    # epsilon = 0 is cross-entropy; one-hot probabilities equal indices
    xp.assert_close(run(xp, losskit.poly1_cross_entropy, x, y, epsilon=0.0), run(xp, losskit.cross_entropy, x, y))
    a = run(xp, losskit.poly1_cross_entropy, x, y, epsilon=-1.0, reduction="none")
    b = run(xp, losskit.poly1_cross_entropy, x, np.eye(4)[y], epsilon=-1.0, reduction="none")
    xp.assert_close(a, b)
    p = np.exp(_log_softmax_last(x))
    ref = -np.log(p[np.arange(5), y]) + 2.0 * (1 - p[np.arange(5), y])
    xp.assert_close(run(xp, losskit.poly1_cross_entropy, x, y, epsilon=2.0, reduction="none"), ref)


def test_poly1_bad_input_and_empty(xp):
    xa = xp.asarray(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="epsilon: expected a real number"):
        losskit.poly1_cross_entropy(xa, xp.asarray(np.array([0, 1])), epsilon=None)
    with pytest.raises(TypeError, match="target: expected an integer array"):
        losskit.poly1_cross_entropy(xa, xp.asarray(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"target: expected probabilities in \[0, 1\]"):
        losskit.poly1_cross_entropy(xa, xp.asarray(np.full((2, 3), 2.0)))
    assert run(xp, losskit.poly1_cross_entropy, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


# ----------------------------------------------------------------- zero_one


def test_zero_one_loss_values(xp):
    x = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    y = np.array([0, 0, 0])
    xp.assert_close(run(xp, losskit.zero_one_loss, x, y), 1 / 3)
    xp.assert_close(run(xp, losskit.zero_one_loss, x, y, reduction="sum"), 1.0)
    xp.assert_close(run(xp, losskit.zero_one_loss, x, y, weight=np.array([1.0, 3.0, 0.0])), 3 / 4)
    # binary decision values: f > 0 predicts the positive class
    f = np.array([0.5, -0.2, 0.0, 3.0])
    for lab in (np.array([1, 1, -1, -1]), np.array([1, 1, 0, 0])):
        xp.assert_close(run(xp, losskit.zero_one_loss, f, lab, reduction="none"), [0.0, 1.0, 0.0, 1.0])


def test_zero_one_loss_is_a_step_function(xp):
    # The seed article's argument: nudging the scores leaves the loss unchanged (zero
    # gradient almost everywhere) while cross-entropy moves.
    # Scores are a permutation of (0, 1, 2) per row plus noise below 0.3, so every row's
    # argmax has a margin > 0.4 and a 1e-4 nudge cannot flip it.
    rng = np.random.default_rng(7)
    x = rng.permuted(np.tile([0.0, 1.0, 2.0], (8, 1)), axis=1) + rng.uniform(-0.15, 0.15, size=(8, 3))
    y = rng.integers(0, 3, size=8)
    a = run(xp, losskit.zero_one_loss, x, y)
    b = run(xp, losskit.zero_one_loss, x + 1e-4 * rng.normal(size=x.shape), y)
    assert a == b
    assert run(xp, losskit.cross_entropy, x, y) != run(xp, losskit.cross_entropy, x + 1e-2 * rng.normal(size=x.shape), y)
    assert not losskit.get("zero_one_loss").differentiable


def test_zero_one_loss_bad_input(xp):
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2,\)"):
        losskit.zero_one_loss(xp.asarray(np.zeros((2, 3))), xp.asarray(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=r"expected class indices in \[0, 2\], got 3"):
        losskit.zero_one_loss(xp.asarray(np.zeros((2, 3))), xp.asarray(np.array([0, 3])))
    with pytest.raises(ValueError, match="binary labels"):
        losskit.zero_one_loss(xp.asarray(np.zeros(2)), xp.asarray(np.array([0, 3])))


# ----------------------------------------------------------------- every loss: half precision, registry


HALF_CASES = {
    "cross_entropy": lambda: (RNG.normal(size=(4, 3)), np.array([0, 1, 2, 0])),
    "nll_loss": lambda: (np.log(RNG.dirichlet(np.ones(3), 4)), np.array([0, 1, 2, 0])),
    "binary_cross_entropy": lambda: (np.array([0.0, 0.2, 0.9, 1.0]), np.array([1.0, 0.0, 1.0, 0.0])),
    "binary_cross_entropy_with_logits": lambda: (np.array([-60.0, 0.2, 60.0, 1.0]), np.array([1.0, 0.0, 1.0, 0.0])),
    "log_loss": lambda: (np.array([0.0, 0.2, 0.9, 1.0]), np.array([1, 0, 1, 0])),
    "kl_div": lambda: (np.log(RNG.dirichlet(np.ones(3), 4)), RNG.dirichlet(np.ones(3), 4)),
    "hinge_loss": lambda: (RNG.normal(size=4), np.array([1, -1, 1, -1])),
    "squared_hinge_loss": lambda: (RNG.normal(size=4), np.array([1, 0, 1, 0])),
    "multi_margin_loss": lambda: (RNG.normal(size=(4, 3)), np.array([0, 1, 2, 0])),
    "multiclass_hinge_loss": lambda: (RNG.normal(size=(4, 3)), np.array([0, 1, 2, 0])),
    "sigmoid_focal_loss": lambda: (np.array([-60.0, 0.2, 60.0, 1.0]), np.array([1.0, 0.0, 1.0, 0.0])),
    "focal_loss": lambda: (RNG.normal(size=(4, 3)) * 20, np.array([0, 1, 2, 0])),
    "poly1_cross_entropy": lambda: (RNG.normal(size=(4, 3)), np.array([0, 1, 2, 0])),
    "zero_one_loss": lambda: (RNG.normal(size=(4, 3)), np.array([0, 1, 2, 0])),
}


@pytest.mark.parametrize("name", sorted(HALF_CASES))
def test_half_precision_inputs_give_finite_float32(xp, name):
    fn = getattr(losskit, name)
    x, t = HALF_CASES[name]()
    ref = xp.np(fn(xp.asarray(x, dtype="float32"), xp.asarray(t)))  # same compute dtype (and eps) as half input
    ran = False
    for dt in ("float16", "bfloat16"):
        if not xp.has_dtype(dt):
            continue
        ran = True
        out = xp.call(fn, xp.asarray(x, dtype=dt), xp.asarray(t))
        assert out.dtype == xp.dtype("float32"), (name, dt)
        v = xp.np(out)
        assert np.isfinite(v)
        # half-precision rounding of the inputs (3 significant digits for bf16) moves the value a little
        np.testing.assert_allclose(v, ref, rtol=5e-2, atol=5e-2)
    if not ran:  # array_api_strict has no half dtypes: the float32 path must still be finite
        assert np.isfinite(ref)


def test_registry_metadata():
    clf = losskit.names("classification")
    assert set(HALF_CASES) == set(clf)
    for name in clf:
        info = losskit.get(name)
        assert info.reference and info.formula
    assert losskit.get("bce").name == "binary_cross_entropy"
    assert losskit.get("ce").name == "cross_entropy"
    margin = {n for n in clf if losskit.get(n).plot == "margin"}
    assert margin == {"hinge_loss", "squared_hinge_loss", "binary_cross_entropy_with_logits", "sigmoid_focal_loss",
                      "binary_cross_entropy", "log_loss"}


# ----------------------------------------------------------------- torch modules


MODULE_CASES = [
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 2}, "ce"),
    ("NLLLoss", {"ignore_index": 0}, "logp"),
    ("BCELoss", {}, "prob"),
    ("BCEWithLogitsLoss", {"pos_weight": 2.0}, "binary"),
    ("LogLoss", {}, "logloss"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("HingeLoss", {}, "pm1"),
    ("SquaredHingeLoss", {"reduction": "sum"}, "pm1"),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, "ce"),
    ("MulticlassHingeLoss", {}, "ce"),
    ("SigmoidFocalLoss", {"alpha": None, "gamma": 1.0}, "binary"),
    ("FocalLoss", {"gamma": 1.0}, "ce"),
    ("Poly1CrossEntropyLoss", {"epsilon": 2.0}, "ce"),
    ("ZeroOneLoss", {}, "ce"),
]


def _module_inputs(kind, torch):
    g = np.random.default_rng(3)
    if kind == "ce":
        return torch.tensor(g.normal(size=(4, 3))), torch.tensor([0, 1, 2, 0])
    if kind == "logp":
        return torch.tensor(np.log(g.dirichlet(np.ones(3), 4))), torch.tensor([0, 1, 2, 0])
    if kind == "prob":
        return torch.tensor(g.uniform(size=4)), torch.tensor([1.0, 0.0, 1.0, 0.0])
    if kind == "binary":
        return torch.tensor(g.normal(size=4)), torch.tensor([1.0, 0.0, 1.0, 0.0])
    if kind == "logloss":
        return torch.tensor(g.dirichlet(np.ones(3), 4)), torch.tensor([0, 1, 2, 0])
    if kind == "kl":
        return torch.tensor(np.log(g.dirichlet(np.ones(3), 4))), torch.tensor(g.dirichlet(np.ones(3), 4))
    return torch.tensor(g.normal(size=4)), torch.tensor([1, -1, 1, -1])


@pytest.mark.parametrize("cls,opts,kind", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_torch_module_equals_function(cls, opts, kind):
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    module = getattr(lt, cls)(**opts)
    fn = module.function
    x, t = _module_inputs(kind, torch)
    torch.testing.assert_close(module(x, t), fn(x, t, **opts))
    text = repr(module)
    assert text.startswith(cls + "(")
    for k, v in opts.items():
        assert f"{k}={v!r}" in text
    assert fn.__name__ in (module.__doc__ or "")


def test_torch_module_class_weight_is_a_buffer():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    w = torch.tensor([1.0, 2.0, 0.5])
    module = lt.CrossEntropyLoss(weight=w)
    assert "weight" in dict(module.named_buffers())
    x, t = _module_inputs("ce", torch)
    x = x.float()
    torch.testing.assert_close(module(x, t), torch.nn.functional.cross_entropy(x, t, weight=w))
    assert "weight=tensor(shape=(3,))" in repr(module)


# ----------------------------------------------------------------- property tests (hypothesis)

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_LOGITS = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)),
                     elements=st.floats(-1e4, 1e4, allow_nan=False))


@given(x=_LOGITS, data=st.data(), smoothing=st.sampled_from([0.0, 0.1]))
def test_property_cross_entropy_finite_nonnegative_with_finite_gradient(x, data, smoothing):
    y = data.draw(hnp.arrays(np.int64, x.shape[:1], elements=st.integers(0, x.shape[1] - 1)))
    value, grad = losskit.value_and_grad(losskit.cross_entropy)(x, y, label_smoothing=smoothing)
    assert np.isfinite(value) and value >= 0
    assert np.all(np.isfinite(grad))
    # each row's gradient sums to 0 (softmax minus a distribution)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


@given(x=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e4, 1e4, allow_nan=False)),
       data=st.data(), gamma=st.sampled_from([0.0, 0.5, 2.0]))
def test_property_binary_logit_losses_finite(x, data, gamma):
    t = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 1.0)))
    for fn, kw in ((losskit.binary_cross_entropy_with_logits, {"pos_weight": 2.0}),
                   (losskit.sigmoid_focal_loss, {"gamma": gamma})):
        value, grad = losskit.value_and_grad(fn)(x, t, **kw)
        assert np.isfinite(value) and value >= 0
        assert np.all(np.isfinite(grad))


@given(p=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(0.0, 1.0)), data=st.data())
def test_property_probability_losses_finite_at_any_probability(p, data):
    t = data.draw(hnp.arrays(np.float64, p.shape, elements=st.floats(0.0, 1.0)))
    value, grad = losskit.value_and_grad(losskit.binary_cross_entropy)(p, t)
    assert np.isfinite(value) and 0 <= value <= 100
    assert np.all(np.isfinite(grad))
    labels = (t > 0.5).astype(np.int64)
    v = losskit.log_loss(p, labels)
    assert np.isfinite(v) and 0 <= v <= -math.log(np.finfo(np.float64).eps) + 1e-9


# ----------------------------------------------------------------- bad input, every loss

# (valid input, valid target, a wrong-shaped target, whether the loss has a class axis)
BAD_CASES = {
    "cross_entropy": (np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1, 2]), True),
    "nll_loss": (np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1, 2]), True),
    "binary_cross_entropy": (np.full((2, 3), 0.5), np.zeros((2, 3)), np.zeros((3, 2)), False),
    "binary_cross_entropy_with_logits": (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2,)), False),
    "log_loss": (np.full((2, 3), 1 / 3), np.array([0, 1]), np.array([0, 1, 2]), True),
    "kl_div": (np.log(np.full((2, 3), 1 / 3)), np.full((2, 3), 1 / 3), np.full((3, 3), 1 / 3), False),
    "hinge_loss": (np.zeros(4), np.array([1, -1, 1, -1]), np.array([1, -1]), False),
    "squared_hinge_loss": (np.zeros(4), np.array([1, -1, 1, -1]), np.array([1, -1]), False),
    "multi_margin_loss": (np.zeros((2, 3)), np.array([0, 1]), np.array([[0, 1]]), True),
    "multiclass_hinge_loss": (np.zeros((2, 3)), np.array([0, 1]), np.array([0]), True),
    "sigmoid_focal_loss": (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)), False),
    "focal_loss": (np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1, 1]), True),
    "poly1_cross_entropy": (np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1, 1]), True),
    "zero_one_loss": (np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1, 1]), True),
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_every_loss_rejects_bad_input(xp, name):
    assert set(BAD_CASES) == set(losskit.names("classification"))
    fn = getattr(losskit, name)
    x, t, bad_t, has_classes = BAD_CASES[name]
    xa, ta = xp.asarray(x), xp.asarray(t)
    assert np.isfinite(xp.np(fn(xa, ta)))  # the valid case works
    with pytest.raises(ValueError, match="reduction: expected one of"):
        fn(xa, ta, reduction="average")
    with pytest.raises(ValueError, match="target: expected"):
        fn(xa, xp.asarray(bad_t))
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        fn(xp.asarray(x.astype(np.int64)), ta)
    with pytest.raises(TypeError, match="expected an array"):
        fn(x.tolist(), ta)
    if has_classes:
        with pytest.raises(ValueError, match="empty class axis|at least 2 classes"):
            fn(xp.asarray(np.zeros((2, 0))), ta)
        with pytest.raises(TypeError, match="target: expected an integer array"):
            fn(xa, xp.asarray(t.astype(np.float64)))
        with pytest.raises(ValueError, match="target: expected class indices in"):
            fn(xa, xp.asarray(np.array([0, 3])))
