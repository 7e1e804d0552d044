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
