"""Distillation losses beyond the case table (tests/cases/distillation.py): the T^2
factor's purpose, float64 closed-form references on random data, extremes, masking,
dtypes, the endpoints of the generalized JSD, and the torch shells under
torch.compile(fullgraph=True). Parity with torch's F.kl_div is in
parity/test_llm_parity.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit

RNG = np.random.default_rng(16)


# ----------------------------------------------------------------- float64 references
# Written from the formulas with explicit NumPy, independent of the library code.


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True)))


def ref_kd(s, t, T, axis=1, labels=None, alpha=0.5):
    lp, lq = _log_softmax(t / T, axis), _log_softmax(s / T, axis)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=axis) * T * T
    if labels is None:
        return kl
    ce = -np.take_along_axis(_log_softmax(s, axis), np.expand_dims(labels, axis), axis=axis).squeeze(axis)
    return (1 - alpha) * kl + alpha * ce


def ref_jsd(s, t, beta, T=1.0, axis=-1):
    p, q = np.exp(_log_softmax(t / T, axis)), np.exp(_log_softmax(s / T, axis))
    if beta == 0:
        out = (p * np.log(p / q)).sum(axis)
    elif beta == 1:
        out = (q * np.log(q / p)).sum(axis)
    else:
        m = beta * p + (1 - beta) * q
        out = beta * (p * np.log(p / m)).sum(axis) + (1 - beta) * (q * np.log(q / m)).sum(axis)
    return T * T * out


# ----------------------------------------------------------------- distillation_loss


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0])
def test_distillation_matches_float64_reference(xp, T):
    s, t = RNG.standard_normal((5, 7)) * 3, RNG.standard_normal((5, 7)) * 3
    expected = ref_kd(s, t, T)
    out = xp.call(lambda a, b: losskit.distillation_loss(a, b, temperature=T, reduction="none"), xp.asarray(s), xp.asarray(t))
    xp.assert_close(out, expected)
    default = xp.call(lambda a, b: losskit.distillation_loss(a, b, temperature=T), xp.asarray(s), xp.asarray(t))
    xp.assert_close(default, expected.sum() / 5)  # batchmean


def test_distillation_dense_layout_and_hard_term(xp):
    # (N, C, H, W) with the classes on axis 1 (segmentation distillation), labels (N, H, W)
    s, t = RNG.standard_normal((2, 4, 3, 3)), RNG.standard_normal((2, 4, 3, 3))
    y = RNG.integers(0, 4, (2, 3, 3))
    expected = ref_kd(s, t, 3.0, labels=y, alpha=0.2)
    fn = lambda a, b: losskit.distillation_loss(a, b, temperature=3.0, labels=xp.asarray(y), hard_weight=0.2, reduction="none")
    xp.assert_close(xp.call(fn, xp.asarray(s), xp.asarray(t)), expected)
    bm = lambda a, b: losskit.distillation_loss(a, b, temperature=3.0, labels=xp.asarray(y), hard_weight=0.2)
    xp.assert_close(xp.call(bm, xp.asarray(s), xp.asarray(t)), expected.sum() / 2)


def test_t_squared_keeps_the_gradient_scale():
    """Hinton et al., Sec. 2.1: at high temperature the gradient of the softened KL is
    (z_i - v_i) / (C T^2) for zero-mean logits; the T^2 factor makes it (z_i - v_i) / C,
    independent of T (per sample, "sum" reduction)."""
    torch = pytest.importorskip("torch")
    s = RNG.standard_normal((3, 6))
    t = RNG.standard_normal((3, 6))
    s, t = s - s.mean(1, keepdims=True), t - t.mean(1, keepdims=True)
    for T in (500.0, 2000.0):  # the approximation error is O(|z| / T)
        x = torch.tensor(s, requires_grad=True)
        losskit.distillation_loss(x, torch.tensor(t), temperature=T, reduction="sum").backward()
        np.testing.assert_allclose(x.grad.numpy(), (s - t) / 6, rtol=1e-2, atol=1e-3)
    # without the factor (torch's F.kl_div at the same temperature) it vanishes as 1 / T^2
    F = torch.nn.functional
    x = torch.tensor(s, requires_grad=True)
    F.kl_div(F.log_softmax(x / 200.0, 1), F.softmax(torch.tensor(t) / 200.0, 1), reduction="sum").backward()
    assert np.abs(x.grad.numpy()).max() < np.abs((s - t) / 6).max() / 200.0**2 * 1.1


def test_distillation_extremes_are_finite():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        s = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], dtype=dtype, requires_grad=True)
        t = torch.tensor([[-1e4, 1e4, 0.0], [5.0, -1e4, 1e4]], dtype=dtype)
        out = losskit.distillation_loss(s, t, temperature=1.0, labels=torch.tensor([0, 2]))
        assert out.dtype == torch.float32
        out.backward()
        assert torch.isfinite(out) and torch.isfinite(s.grad).all()


def test_masked_teacher_classes_contribute_nothing():
    # a teacher logit of -inf (a masked vocabulary entry): probability 0, no NaN
    torch = pytest.importorskip("torch")
    s = torch.tensor([[0.3, -0.2, 1.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[1.0, -math.inf, 0.5]], dtype=torch.float64)
    out = losskit.distillation_loss(s, t, temperature=2.0)
    out.backward()
    p = np.exp(_log_softmax(np.array([[0.5, 0.25]]), 1))  # softmax([1, 0.5] / 2)
    lq = _log_softmax(s.detach().numpy() / 2.0, 1)[:, [0, 2]]
    assert out.item() == pytest.approx(4.0 * float((p * (np.log(p) - lq)).sum()), rel=1e-12)
    assert torch.isfinite(s.grad).all()


def test_fully_masked_batch_gives_zero_with_graph():
    torch = pytest.importorskip("torch")
    s = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.full((3,), -100)
    for reduction in ("mean", "sum", "batchmean"):
        out = losskit.distillation_loss(s, torch.randn(3, 4, dtype=torch.float64), temperature=2.0, labels=y,
                                        ignore_index=-100, reduction=reduction)
        assert out.item() == 0.0
        (g,) = torch.autograd.grad(out, s)
        assert torch.all(g == 0)


def test_distillation_dtypes(xp):
    s, t = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    out = losskit.distillation_loss(xp.asarray(s), xp.asarray(t), temperature=2.0)
    assert str(out.dtype).endswith(xp.float_dtype)
    if xp.has_dtype("float16"):
        half = losskit.distillation_loss(xp.asarray(s, dtype="float16"), xp.asarray(t, dtype="float16"), temperature=2.0)
        assert str(half.dtype).endswith("float32")


# ----------------------------------------------------------------- jsd_loss


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_jsd_matches_float64_reference(xp, beta):
    s, t = RNG.standard_normal((2, 3, 5)) * 2, RNG.standard_normal((2, 3, 5)) * 2
    expected = ref_jsd(s, t, beta, T=1.5)
    fn = lambda a, b: losskit.jsd_loss(a, b, beta=beta, temperature=1.5, reduction="none")
    xp.assert_close(xp.call(fn, xp.asarray(s), xp.asarray(t)), expected)
    bm = lambda a, b: losskit.jsd_loss(a, b, beta=beta, temperature=1.5, reduction="batchmean")
    xp.assert_close(xp.call(bm, xp.asarray(s), xp.asarray(t)), expected.sum() / 2)


def test_jsd_masking_matches_liger_normalisation(xp):
    """Liger-Kernel's JSD with labels: the sum over tokens whose label is not ignore_index,
    divided by their count."""
    s, t = RNG.standard_normal((2, 4, 6)), RNG.standard_normal((2, 4, 6))
    y = np.array([[3, -100, 1, 0], [-100, -100, 5, 2]])
    per = ref_jsd(s, t, 0.3)
    keep = y != -100
    fn = lambda a, b: losskit.jsd_loss(a, b, beta=0.3, labels=xp.asarray(y), ignore_index=-100)
    xp.assert_close(xp.call(fn, xp.asarray(s), xp.asarray(t)), per[keep].sum() / keep.sum())


def test_jsd_small_beta_is_beta_times_forward_kl():
    # the GKD paper's JSD(beta) ~ beta KL(P || Q) near 0: the endpoint is the KL it
    # interpolates, not the limit of JSD(beta) (which is 0)
    s, t = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    beta = 1e-5
    small = np.asarray(losskit.jsd_loss(s, t, beta=beta, reduction="none"))
    fwd = np.asarray(losskit.jsd_loss(s, t, beta=0.0, reduction="none"))
    np.testing.assert_allclose(small / beta, fwd, rtol=1e-3)
    rev = np.asarray(losskit.jsd_loss(s, t, beta=1.0, reduction="none"))
    near1 = np.asarray(losskit.jsd_loss(s, t, beta=1.0 - beta, reduction="none"))
    np.testing.assert_allclose(near1 / beta, rev, rtol=1e-3)


def test_jsd_half_is_bounded_by_log2():
    s, t = RNG.standard_normal((50, 8)) * 30, RNG.standard_normal((50, 8)) * 30
    out = np.asarray(losskit.jsd_loss(s, t, reduction="none"))
    assert np.all(out >= 0) and np.all(out <= math.log(2.0) + 1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_jsd_extremes_finite_values_and_gradients(beta):
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        s = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 2.0]], dtype=dtype, requires_grad=True)
        t = torch.tensor([[-1e4, 1e4, 0.0], [3.0, 1e4, -1e4]], dtype=dtype, requires_grad=True)
        out = losskit.jsd_loss(s, t, beta=beta, temperature=1.0)
        assert out.dtype == torch.float32
        out.backward()
        assert torch.isfinite(out), (beta, dtype)
        assert torch.isfinite(s.grad).all() and torch.isfinite(t.grad).all(), (beta, dtype)


# ----------------------------------------------------------------- torch shells


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.parametrize("cls_name, options", [
    ("DistillationLoss", {"temperature": 2.0, "ignore_index": -100, "hard_weight": 0.3, "axis": -1}),
    ("JSDLoss", {"beta": 0.0, "ignore_index": -100}),
    ("JSDLoss", {"beta": 1.0, "ignore_index": -100, "temperature": 2.0, "reduction": "batchmean"}),
    ("JSDLoss", {"beta": 0.4, "ignore_index": -100, "reduction": "none"}),
])
def test_shells_compile_fullgraph_with_masking(cls_name, options):
    torch = pytest.importorskip("torch")
    import torch._dynamo.testing

    import losskit.torch as lt

    module = getattr(lt, cls_name)(**options)
    assert repr(module).startswith(cls_name)
    s = torch.randn(2, 3, 5, dtype=torch.float32)
    t = torch.randn(2, 3, 5, dtype=torch.float32)
    y = torch.tensor([[1, -100, 4], [0, 2, -100]])

    def run(fn):
        x = s.clone().requires_grad_(True)
        out = fn(x, t, labels=y)
        (g,) = torch.autograd.grad(out.sum(), x)
        return out.detach(), g

    eager = run(module)
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    compiled = run(torch.compile(module, fullgraph=True, backend=counter))
    assert counter.frame_count >= 1
    torch.testing.assert_close(compiled[0], eager[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled[1], eager[1], rtol=1e-5, atol=1e-6)
