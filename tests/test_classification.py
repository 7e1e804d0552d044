"""Classification losses beyond the case table (``tests/cases/classification.py``, which
holds the hand-derived values, bad inputs, empty batches and identities): independent NumPy
references on random batches, shapes, extremes, torch modules, properties, and the
issue-20 defect classes (NaN inputs, flags, weight gradients, unbatched inputs,
``ignore_index`` outside the labels' dtype), on every backend (the ``xp`` fixture).

Gradients (analytic == autograd == numerical) are in test_classification_grad.py; parity
with torch / scikit-learn / optax in parity/test_classification_parity.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit

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


def test_binary_cross_entropy_batched_soft_targets(xp):
    p = RNG.uniform(0.01, 0.99, size=(3, 4, 5))
    y = RNG.uniform(size=(3, 4, 5))
    out = run(xp, losskit.binary_cross_entropy, p, y, reduction="none")
    xp.assert_close(out, ref_bce(p, y))


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


# ----------------------------------------------------------------- zero_one


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


# ----------------------------------------------------------------- registry




def test_registry_metadata():
    clf = losskit.names("classification")
    assert "linear_cross_entropy" in clf and losskit.get("linear_cross_entropy").backends == ("torch",)
    for name in clf:
        info = losskit.get(name)
        assert info.reference and info.formula
    assert losskit.get("bce").name == "binary_cross_entropy"
    assert losskit.get("ce").name == "cross_entropy"
    margin = {n for n in clf if losskit.get(n).plot == "margin"}
    assert margin == {"hinge_loss", "squared_hinge_loss", "binary_cross_entropy_with_logits", "sigmoid_focal_loss",
                      "binary_cross_entropy", "log_loss", "asymmetric_loss"}


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





# ----------------------------------------------------------------- NaN input gives NaN (issue 20, class 11)

_NAN = float("nan")
_SCORES = np.array([[_NAN, 0.0, 0.5], [1.0, 2.0, 3.0]])  # NaN in a class that is not sample 0's target
NAN_CASES = {
    "cross_entropy": (_SCORES, np.array([1, 0]), {}),
    "asymmetric_loss": (_SCORES, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), {}),
    "asymmetric_single_label_loss": (_SCORES, np.array([1, 0]), {}),
    "nll_loss": (np.array([[0.0, _NAN, 0.0], [-1.0, -2.0, -0.5]]), np.array([1, 0]), {}),  # it reads x[y] only
    "focal_loss": (_SCORES, np.array([1, 0]), {"gamma": 0.5}),
    "poly1_cross_entropy": (_SCORES, np.array([1, 0]), {}),
    "multi_margin_loss": (_SCORES, np.array([1, 0]), {}),
    "multiclass_hinge_loss": (_SCORES, np.array([1, 0]), {}),
    "zero_one_loss": (_SCORES, np.array([1, 0]), {}),
    "hinge_loss": (np.array([_NAN, 3.0]), np.array([1, 1]), {}),
    "squared_hinge_loss": (np.array([_NAN, 3.0]), np.array([1, 1]), {}),
    "binary_cross_entropy_with_logits": (np.array([_NAN, 1.0]), np.array([1.0, 0.0]), {}),
    "sigmoid_focal_loss": (np.array([_NAN, 1.0]), np.array([1.0, 0.0]), {"gamma": 0.5}),
    "kl_div": (np.array([[_NAN, math.log(0.5)]]), np.array([[0.0, 1.0]]), {}),  # NaN where the target is 0
    # probability inputs are checked to lie in [0, 1] in eager mode (a NaN raises there)
    "binary_cross_entropy": (np.array([_NAN, 0.5]), np.array([1.0, 0.0]), {}),
    "log_loss": (np.array([_NAN, 0.5]), np.array([1, 0]), {}),
}
_CHECKED_PROBABILITIES = {"binary_cross_entropy", "log_loss"}


def test_nan_cases_cover_the_family():
    assert set(NAN_CASES) == set(losskit.names("classification")) - {"linear_cross_entropy"}


@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_nan_input_gives_nan_loss(xp, name):
    fn = getattr(losskit, name)
    x, t, opts = NAN_CASES[name]
    if name in _CHECKED_PROBABILITIES and xp.name != "jax" and not xp.on_accelerator:
        with pytest.raises(ValueError, match=r"input: expected probabilities in \[0, 1\]"):
            fn(xp.asarray(x), xp.asarray(t), **opts)
        return
    none = run(xp, fn, x, t, reduction="none", **opts)
    assert np.isnan(none.reshape(none.shape[0], -1)[0]).any(), none
    assert np.isnan(run(xp, fn, x, t, **opts))
    assert np.isnan(run(xp, fn, x, t, reduction="sum", **opts))


def test_nan_hidden_state_gives_nan_linear_cross_entropy():
    torch = pytest.importorskip("torch")
    h = torch.tensor([[_NAN, 0.0], [1.0, 0.0]])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = losskit.linear_cross_entropy(h, w, torch.tensor([0, 1]), reduction="none")
    assert torch.isnan(out[0]) and torch.isfinite(out[1])


def test_hinge_nan_gradient_agrees_with_autograd(autodiff_xp):
    # the analytic gradients treat a NaN margin as autograd does (no silent 0 loss)
    b = autodiff_xp
    for name in ("hinge_loss", "squared_hinge_loss", "multiclass_hinge_loss"):
        x, t, _ = NAN_CASES[name]
        value, _ = b.grad(getattr(losskit, name), b.asarray(x), b.asarray(t))
        assert np.isnan(value)
        av, _ = losskit.get(name).grad(x, t)
        assert np.isnan(av)


# ----------------------------------------------------------------- flags (issue 20, class 6)


def _bool_options():
    out = []
    for name in losskit.names("classification"):
        if len(losskit.get(name).arguments) != 2:  # linear_cross_entropy: tests/test_linear_cross_entropy.py
            continue
        for opt, default in losskit.get(name).options.items():
            if isinstance(default, bool):
                out.append((name, opt))
    return out


def test_the_family_has_flags():
    assert ("kl_div", "log_target") in _bool_options()


@pytest.mark.parametrize("name, opt", _bool_options())
@pytest.mark.parametrize("value", ["False", 0, 1, None, np.bool_(True)])
def test_every_flag_takes_a_bool_only(name, opt, value):
    fn = losskit.get(name).fn
    x = np.log(np.full((2, 2), 0.5))
    with pytest.raises(TypeError, match=f"{opt}: expected a bool, got"):
        fn(x, np.full((2, 2), 0.5), **{opt: value})


# ----------------------------------------------------------------- class-weight gradients (issue 20, class 12)


@pytest.mark.parametrize("opts", [{}, {"ignore_index": 2, "label_smoothing": 0.2}, {"probs": True}],
                         ids=["plain", "ignore-smoothing", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_weight_gradient_equals_numpy_and_jax(opts, reduction):
    """torch differentiates the class weight like the numerical gradient (and JAX) do: the
    fast path, which cannot, steps aside for a weight that requires grad."""
    torch = pytest.importorskip("torch")
    from helpers import numerical_grad

    opts = dict(opts)
    x = RNG.normal(size=(5, 3))
    y = np.array([0, 2, 1, 2, 0]) if not opts.pop("probs", False) else RNG.dirichlet(np.ones(3), 5)
    w = np.array([0.5, 2.0, 1.5])
    kw = dict(opts, reduction=reduction)
    num = numerical_grad(lambda v: np.asarray(losskit.cross_entropy(x, y, weight=v, **kw)), w)
    wt = torch.tensor(w, requires_grad=True)
    with losskit.fast_paths(True) as used:
        out = losskit.cross_entropy(torch.tensor(x), torch.tensor(y), weight=wt, **kw)
    (g,) = torch.autograd.grad(out.sum(), wt)
    np.testing.assert_allclose(g.numpy(), num, rtol=1e-6, atol=1e-9)
    if y.dtype.kind == "i":
        assert used == set()  # F.cross_entropy has no weight derivative with class indices
    # the fast path still runs for a constant weight
    with losskit.fast_paths(True) as used:
        losskit.cross_entropy(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w), **kw)
    assert used == {"classification.torch_cross_entropy"}
    jax = pytest.importorskip("jax")
    import helpers  # noqa: F401  (enables float64 in jax)

    helpers._jax()
    gj = jax.grad(lambda v: losskit.cross_entropy(jax.numpy.asarray(x), jax.numpy.asarray(y), weight=v, **kw).sum())(
        jax.numpy.asarray(w))
    np.testing.assert_allclose(np.asarray(gj), num, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------- unbatched inputs (issue 20, class 8)

UNBATCHED = [
    ("cross_entropy", {}), ("nll_loss", {}), ("focal_loss", {}), ("poly1_cross_entropy", {"epsilon": 2.0}),
    ("multi_margin_loss", {}), ("multi_margin_loss", {"p": 2, "margin": 2.0}), ("multiclass_hinge_loss", {}),
    ("zero_one_loss", {}),
]


@pytest.mark.parametrize("name, opts", UNBATCHED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(UNBATCHED)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_unbatched_value_and_grad_agree_with_the_plain_call(name, opts, reduction):
    """(C,) scores with a 0-d target: value_and_grad on NumPy (the hand-derived gradient)
    gives the plain call's value and torch's autograd gradient."""
    fn = getattr(losskit, name)
    x = np.array([1.0, 2.0, 0.5])
    t = np.array(1)
    kw = dict(opts, reduction=reduction)
    value, grad = losskit.value_and_grad(fn)(x, t, **kw)
    np.testing.assert_allclose(value, fn(x, t, **kw), rtol=1e-14)
    assert np.shape(value) == () and grad.shape == (3,)
    torch = pytest.importorskip("torch")
    tv, tg = losskit.value_and_grad(fn)(torch.tensor(x), torch.tensor(t), **kw)
    np.testing.assert_allclose(value, tv.numpy(), rtol=1e-14)
    np.testing.assert_allclose(grad, tg.numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- ignore_index vs the labels' dtype (issue 20, class 12)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "focal_loss"])
def test_ignore_index_outside_the_label_dtype_ignores_nothing(xp, name):
    fn = getattr(losskit, name)
    x = RNG.normal(size=(3, 4))
    y = np.array([0, 3, 1])
    ref = run(xp, fn, x, y, reduction="none")
    for dtype, ii in (("uint8", -100), ("int32", 2**40), ("int16", 70000)):
        if xp.name == "jax" and dtype == "uint8":
            continue
        yy = xp.asarray(y, dtype=dtype) if xp.has_dtype(dtype) else None
        if yy is None:
            continue
        out = xp.np(fn(xp.asarray(x), yy, ignore_index=ii, reduction="none"))
        np.testing.assert_allclose(out, ref, rtol=1e-6)
    with pytest.raises(ValueError, match="ignore_index: expected an int in the int64 range"):
        fn(xp.asarray(x), xp.asarray(y), ignore_index=2**63)
    out = xp.np(fn(xp.asarray(x), xp.asarray(y), ignore_index=np.int64(3), reduction="none"))
    assert out[1] == 0.0  # a NumPy integer is an int


# ----------------------------------------------------------------- asymmetric loss (issue 16)
# Hand-derived values, bad inputs, identities and the empty batch are in the case table;
# here: independent float64 closed forms on random batches, the extremes where the
# reference code gives NaN, and parity with timm (its loss file, read from the wheel).


def ref_asymmetric(x, y, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=None, reduction="mean"):
    """The paper's formula, element by element in float64 (math module only)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        p = 1.0 / (1.0 + math.exp(-x[i]))
        pm = max(p - clip, 0.0)
        logp, logq = math.log(p), math.log(1.0 - pm)
        if eps is not None:
            logp, logq = max(logp, math.log(eps)), max(logq, math.log(eps))
        out[i] = -y[i] * (1.0 - p) ** gamma_pos * logp - (1.0 - y[i]) * pm**gamma_neg * logq
    return {"none": out, "sum": out.sum(), "mean": out.mean()}[reduction]


def ref_asymmetric_single(x, y, gamma_neg=4.0, gamma_pos=1.0, label_smoothing=0.0, reduction="mean"):
    x = np.asarray(x, np.float64)
    n, c = x.shape
    out = np.zeros(n)
    for i in range(n):
        logp = _log_softmax_last(x[i])
        for k in range(c):
            p = math.exp(logp[k])
            q = (1.0 - label_smoothing) * (k == y[i]) + label_smoothing / c
            w = (1.0 - p) ** gamma_pos if k == y[i] else p**gamma_neg
            out[i] -= q * w * logp[k]
    return {"none": out, "sum": out.sum(), "mean": out.mean()}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", [{}, {"gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.0}, {"clip": 0.2, "gamma_pos": 0.5},
                                  {"eps": 1e-3}])
def test_asymmetric_loss_batched_matches_reference(xp, reduction, opts):
    x = RNG.normal(size=(5, 7)) * 2.5
    y = (RNG.uniform(size=(5, 7)) < 0.4).astype(np.float64)
    got = run(xp, losskit.asymmetric_loss, x, y, reduction=reduction, **opts)
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, ref_asymmetric(x, y, reduction=reduction, **opts), rtol=tol, atol=tol)


def test_asymmetric_loss_soft_targets_interpolate(xp):
    x = RNG.normal(size=(3, 4))
    y = RNG.uniform(size=(3, 4))
    got = run(xp, losskit.asymmetric_loss, x, y, reduction="none")
    pos = ref_asymmetric(x, np.ones_like(y), reduction="none")
    neg = ref_asymmetric(x, np.zeros_like(y), reduction="none")
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, y * pos + (1 - y) * neg, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.1}, {"gamma_neg": 1.5, "gamma_pos": 0.5, "label_smoothing": 0.3}])
def test_asymmetric_single_label_batched_matches_reference(xp, reduction, opts):
    x = RNG.normal(size=(6, 5)) * 2.0
    y = RNG.integers(0, 5, size=6)
    got = run(xp, losskit.asymmetric_single_label_loss, x, y, reduction=reduction, **opts)
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, ref_asymmetric_single(x, y, reduction=reduction, **opts), rtol=tol, atol=tol)
    # the class axis last (timm's layout) equals axis 1 on the transposed input
    got_last = run(xp, losskit.asymmetric_single_label_loss, x, y, reduction=reduction, axis=-1, **opts)
    np.testing.assert_allclose(got_last, got, rtol=tol, atol=tol)


_ASL_EXTREMES = [
    ("asymmetric_loss", {"gamma_pos": 0.5, "gamma_neg": 0.5, "clip": 0.0}),
    ("asymmetric_loss", {"gamma_pos": 0.0, "gamma_neg": 4.0, "clip": 0.05}),
    ("asymmetric_loss", {}),
    ("asymmetric_single_label_loss", {"gamma_pos": 0.5, "gamma_neg": 0.5, "label_smoothing": 0.1}),
    ("asymmetric_single_label_loss", {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name, opts", _ASL_EXTREMES)
def test_asymmetric_extreme_logits_finite_loss_and_gradient(name, opts, dtype):
    # Saturated probabilities (p = 0 or 1 exactly in float32), gammas below 1 and no
    # clip: where timm's log of clamped probabilities and pow(0, gamma) give NaN
    # (Alibaba-MIIL/ASL #87, #112), the log-sigmoid forms stay finite.
    torch = pytest.importorskip("torch")
    x = torch.tensor([[-200.0, 200.0, 0.0, 40.0], [-40.0, 90.0, -90.0, 1e4]]).to(getattr(torch, dtype))
    x.requires_grad_(True)
    if name == "asymmetric_loss":
        y = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    else:
        y = torch.tensor([0, 3])
    out = getattr(losskit, name)(x, y, reduction="sum", **opts)
    (g,) = torch.autograd.grad(out, x)
    assert torch.isfinite(out) and torch.isfinite(g).all()


def _timm():
    pytest.importorskip("torch")
    from peers import load_timm_asymmetric_loss

    timm = load_timm_asymmetric_loss()
    if timm is None:
        pytest.skip("timm's asymmetric_loss.py is neither installed nor in pip's local wheels")
    return timm


@pytest.mark.parametrize("opts", [dict(gamma_neg=4, gamma_pos=1, clip=0.05), dict(gamma_neg=2, gamma_pos=0, clip=0.0),
                                  dict(gamma_neg=1.5, gamma_pos=0.5, clip=0.2), dict(gamma_neg=0, gamma_pos=0, clip=0.1)])
def test_asymmetric_loss_matches_timm(opts):
    import torch

    timm = _timm()
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(8, 6, generator=g, dtype=torch.float64) * 3).requires_grad_(True)
    y = (torch.rand(8, 6, generator=g) < 0.4).double()
    theirs = timm.multi_label(eps=1e-8, **opts)(x, y)
    ours = losskit.asymmetric_loss(x, y, reduction="sum", eps=1e-8, **opts)  # timm returns the sum
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.autograd.grad(ours, x)[0], torch.autograd.grad(theirs, x)[0], rtol=1e-12, atol=1e-12)
    # without timm's clamp the same where the clamp does not bite (moderate logits)
    torch.testing.assert_close(losskit.asymmetric_loss(x, y, reduction="sum", **opts), theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("opts", [dict(gamma_neg=4, gamma_pos=1, eps=0.1), dict(gamma_neg=4, gamma_pos=1, eps=0.0),
                                  dict(gamma_neg=2.5, gamma_pos=0.5, eps=0.2)])
def test_asymmetric_single_label_loss_matches_timm(opts):
    import torch

    timm = _timm()
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(8, 5, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    y = torch.randint(0, 5, (8,), generator=g)
    theirs = timm.single_label(**opts)(x, y)  # mean over samples
    ours = losskit.asymmetric_single_label_loss(x, y, gamma_neg=opts["gamma_neg"], gamma_pos=opts["gamma_pos"],
                                                label_smoothing=opts["eps"])
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.autograd.grad(ours, x)[0], torch.autograd.grad(theirs, x)[0], rtol=1e-12, atol=1e-12)


def test_timm_gives_nan_where_asymmetric_loss_is_finite():
    # The defect the log-sigmoid forms fix: a saturated positive with gamma_pos < 1.
    import torch

    timm = _timm()
    x = torch.tensor([[200.0, -3.0]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0]])
    (g_theirs,) = torch.autograd.grad(timm.multi_label(gamma_pos=0.5, gamma_neg=4, clip=0.05)(x, y), x)
    (g_ours,) = torch.autograd.grad(losskit.asymmetric_loss(x, y, gamma_pos=0.5, reduction="sum"), x)
    assert torch.isnan(g_theirs).any()
    assert torch.isfinite(g_ours).all()


def test_asymmetric_torch_shells():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    x = torch.tensor([[0.3, -1.2, 2.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    m = lt.AsymmetricLoss(gamma_neg=3.0, clip=0.1, reduction="sum")
    torch.testing.assert_close(m(x, y), losskit.asymmetric_loss(x, y, gamma_neg=3.0, clip=0.1, reduction="sum"))
    assert "gamma_neg=3.0" in repr(m) and "clip=0.1" in repr(m)
    s = lt.AsymmetricSingleLabelLoss(label_smoothing=0.1)
    torch.testing.assert_close(s(x, torch.tensor([2])),
                               losskit.asymmetric_single_label_loss(x, torch.tensor([2]), label_smoothing=0.1))


def test_cross_entropy_remembered_checks_never_hide_an_error():
    # cross_entropy remembers its shape/dtype/option checks per call signature, the options'
    # types included: True == 1 and hash(True) == hash(1), yet a bool axis or ignore_index
    # is still refused after the int has been seen; labels are range-checked every call.
    torch = pytest.importorskip("torch")
    x, t = torch.zeros(2, 3), torch.tensor([0, 2])
    for _ in range(2):
        # uniform logits: -log(1/3) per sample
        assert abs(float(losskit.cross_entropy(x, t, axis=1, ignore_index=1)) - math.log(3.0)) < 1e-6
        with pytest.raises(TypeError, match="axis: expected an int, got bool"):
            losskit.cross_entropy(x, t, axis=True, ignore_index=1)
        with pytest.raises(TypeError, match="ignore_index: expected an int or None, got bool"):
            losskit.cross_entropy(x, t, axis=1, ignore_index=True)
        with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\]"):
            losskit.cross_entropy(x, torch.tensor([0, 3]))
        with pytest.raises(ValueError, match="target: expected class indices of shape"):
            losskit.cross_entropy(x, torch.tensor([0, 1, 2]))
