"""Property tests (hypothesis) for the segmentation losses: extreme logits, random label maps.

* Every loss gives a finite value and a finite gradient for logits up to +-1e4 (softmax and
  sigmoid saturate to exact 0/1 there), including empty classes and ignored pixels.
* The Dice-family values stay in [0, 1] (equal smoothing), Lovász losses are >= 0.
* The integer-label kernel (gather + scatter into class bins) equals the explicit one-hot
  computation, with and without ignore_index, on torch (fast path) and NumPy.
* Permuting pixels (the same permutation for input and target) does not change the loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@st.composite
def seg_batch(draw, max_n=3, max_c=4, max_pixels=12):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(2, max_c))
    s = draw(st.integers(1, max_pixels))
    scale = draw(st.sampled_from([1.0, 30.0, 1e4]))
    x = draw(hnp.arrays(np.float64, (n, c, s), elements=st.floats(-1.0, 1.0))) * scale
    lab = draw(hnp.arrays(np.int64, (n, s), elements=st.integers(-1, c - 1)))  # -1: ignored
    return x, lab


OVERLAP = [
    (losskit.dice_loss, {}),
    (losskit.dice_loss, {"squared": True, "batch": True}),
    (losskit.jaccard_loss, {}),
    (losskit.generalized_dice_loss, {}),
    (losskit.tversky_loss, {"alpha": 0.3, "beta": 0.7}),
    (losskit.focal_tversky_loss, {}),
    (losskit.log_cosh_dice_loss, {}),
]


@given(seg_batch())
def test_finite_values_and_gradients_in_bounds(batch):
    x, lab = batch
    t = torch.tensor(lab)
    for fn, kw in OVERLAP + [(losskit.lovasz_softmax_loss, {}), (losskit.dice_ce_loss, {})]:
        kw = dict(kw, ignore_index=-1)
        if fn is not losskit.lovasz_softmax_loss and fn is not losskit.dice_ce_loss:
            kw["activation"] = "softmax"
        xt = torch.tensor(x, requires_grad=True)
        out = fn(xt, t, **kw)
        (g,) = torch.autograd.grad(out, xt)
        assert torch.isfinite(out), (fn.__name__, kw)
        assert torch.isfinite(g).all(), (fn.__name__, kw)
        if fn in (losskit.dice_ce_loss,):
            continue
        upper = 1.0 if fn is not losskit.log_cosh_dice_loss else np.log(np.cosh(1.0))
        assert -1e-12 <= out.item() <= upper + 1e-9, (fn.__name__, out.item())
    h = torch.tensor(x[:, 0], requires_grad=True)
    out = losskit.lovasz_hinge_loss(h, torch.tensor(lab.clip(0, 1)))
    (g,) = torch.autograd.grad(out, h)
    assert torch.isfinite(out) and out.item() >= 0.0 and torch.isfinite(g).all()


@given(seg_batch(), st.booleans(), st.booleans())
def test_label_kernel_equals_explicit_one_hot(batch, use_ignore, squared):
    x, lab = batch
    n, c, s = x.shape
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    valid = lab >= 0 if use_ignore else np.ones_like(lab, dtype=bool)
    lab_ok = np.where(lab >= 0, lab, 0) if use_ignore else np.where(lab >= 0, lab, 0)
    onehot = np.moveaxis(np.eye(c)[lab_ok], -1, 1) * valid[:, None]
    pm = p * valid[:, None]
    i = (pm * onehot).sum(-1)
    pp = (pm**2 if squared else pm).sum(-1)
    gg = onehot.sum(-1)
    expected = 1 - (2 * i + 1e-5) / (pp + gg + 1e-5)
    labels = lab if use_ignore else lab_ok
    kw = dict(activation="softmax", squared=squared, ignore_index=-1 if use_ignore else None, reduction="none")
    ours_t = losskit.dice_loss(torch.tensor(x), torch.tensor(labels), **kw).numpy()
    ours_np = losskit.dice_loss(x, labels, **kw)
    # entries with no valid pixel get weight 0 in "none"
    entry_valid = valid.any(-1)[:, None] if use_ignore else np.ones((n, 1), dtype=bool)
    np.testing.assert_allclose(ours_t, expected * entry_valid, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours_np, expected * entry_valid, rtol=1e-9, atol=1e-12)


@given(seg_batch(), st.randoms(use_true_random=False))
def test_pixel_permutation_invariance(batch, rnd):
    x, lab = batch
    lab = np.where(lab >= 0, lab, 0)
    perm = list(range(x.shape[-1]))
    rnd.shuffle(perm)
    for fn, kw in OVERLAP + [(losskit.lovasz_softmax_loss, {"per_image": True})]:
        kw = dict(kw)
        if fn is not losskit.lovasz_softmax_loss:
            kw["activation"] = "softmax"
        a = fn(x, lab, **kw)
        b = fn(x[..., perm], lab[..., perm], **kw)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=fn.__name__)
