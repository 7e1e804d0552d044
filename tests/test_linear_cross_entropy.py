"""losskit.torch.linear_cross_entropy: equal to matmul + F.cross_entropy (values and
gradients, every option), without ever materialising the (tokens x vocabulary) logits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from losskit.torch import LinearCrossEntropyLoss, linear_cross_entropy
from losskit.torch.linear_ce import default_chunk_size

T, H, V = 11, 6, 9  # T = 11 is prime: no chunk size in the tests divides it


def _data(seed=0, T=T, H=H, V=V, dtype=torch.float32, bias=True, ignore=None):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(T, H, generator=g, dtype=torch.float64).to(dtype)
    w = (torch.randn(V, H, generator=g, dtype=torch.float64) * 0.7).to(dtype)
    b = torch.randn(V, generator=g, dtype=torch.float64).to(dtype) if bias else None
    t = torch.randint(0, V, (T,), generator=g)
    if ignore is not None:
        t[::3] = ignore  # tokens 0, 3, 6, 9 ignored
    return h, w, b, t


def _reference(h, w, b, t, *, ignore_index=None, label_smoothing=0.0, reduction="mean"):
    logits = h @ w.T + (b if b is not None else 0)
    out = F.cross_entropy(
        logits, t, ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing, reduction=reduction,
    )
    return out


def _grads(fn, leaves, upstream=None):
    leaves = [x.detach().clone().requires_grad_(True) if x is not None else None for x in leaves]
    out = fn(*leaves)
    g = torch.ones_like(out) if upstream is None else upstream
    wrt = [x for x in leaves if x is not None]
    return out.detach(), torch.autograd.grad(out, wrt, g)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [None, 4])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("chunk_size", [1, 4, None, 64])
def test_matches_matmul_plus_cross_entropy(reduction, ignore_index, label_smoothing, bias, chunk_size):
    h, w, b, t = _data(bias=bias, ignore=ignore_index)
    opts = dict(ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    upstream = None
    if reduction == "none":
        upstream = torch.randn(T, generator=torch.Generator().manual_seed(1))  # per-token weights
    out, grads = _grads(
        lambda h, w, b: linear_cross_entropy(h, w, t, bias=b, chunk_size=chunk_size, **opts), [h, w, b], upstream
    )
    ref, ref_grads = _grads(lambda h, w, b: _reference(h, w, b, t, **opts), [h, w, b], upstream)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(ref_grads) == (3 if bias else 2)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


def test_hand_derived_value():
    # hidden rows e1, e2; weight rows e1, e2, 0 -> logits [1, 0, 0] and [0, 1, 0].
    # Token 0, target 0: lse - z_0 = log(e + 2) - 1. Token 1, target 2: log(e + 2) - 0.
    # Label smoothing 0.3 adds 0.3 * (lse - mean(z)) - 0.3 * (lse - z_y) per token:
    # mean(z) = 1/3 on both rows.
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    t = torch.tensor([0, 2])
    lse = math.log(math.e + 2)
    none = linear_cross_entropy(h, w, t, reduction="none")
    torch.testing.assert_close(none, torch.tensor([lse - 1, lse]))
    assert linear_cross_entropy(h, w, t).item() == pytest.approx(lse - 0.5, rel=1e-6)
    assert linear_cross_entropy(h, w, t, reduction="sum").item() == pytest.approx(2 * lse - 1, rel=1e-6)
    eps = 0.3
    smooth = linear_cross_entropy(h, w, t, label_smoothing=eps, reduction="none")
    expect = [(1 - eps) * (lse - 1) + eps * (lse - 1 / 3), (1 - eps) * lse + eps * (lse - 1 / 3)]
    torch.testing.assert_close(smooth, torch.tensor(expect))


def test_batched_leading_shape_and_none_shape():
    h, w, b, t = _data(T=12)
    h3, t3 = h.reshape(3, 4, H), t.reshape(3, 4)
    out = linear_cross_entropy(h3, w, t3, bias=b, reduction="none", chunk_size=5)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out.reshape(-1), _reference(h, w, b, t, reduction="none"), rtol=1e-5, atol=1e-6)
    # 1-D hidden (one token) with a 0-d target, as F.linear does.
    one = linear_cross_entropy(h[0], w, t[0], bias=b, reduction="none")
    assert one.shape == ()
    torch.testing.assert_close(one, out.reshape(-1)[0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", [(True, False, False), (False, True, False), (False, False, True), (True, True, False)])
def test_gradients_only_for_inputs_that_require_them(reduction, which):
    h, w, b, t = _data()
    leaves = [x.clone().requires_grad_(r) for x, r in zip((h, w, b), which)]
    out = linear_cross_entropy(leaves[0], leaves[1], t, bias=leaves[2], reduction=reduction, chunk_size=3)
    out.sum().backward()
    ref_leaves = [x.clone().requires_grad_(r) for x, r in zip((h, w, b), which)]
    _reference(*ref_leaves, t, reduction=reduction).sum().backward()
    for x, r, req in zip(leaves, ref_leaves, which):
        if req:
            torch.testing.assert_close(x.grad, r.grad, rtol=1e-5, atol=1e-6)
        else:
            assert x.grad is None


def test_no_grad_mode_returns_the_value_without_graph():
    h, w, b, t = _data()
    h.requires_grad_(True)
    with torch.no_grad():
        out = linear_cross_entropy(h, w, t, bias=b, chunk_size=4)
    assert not out.requires_grad
    torch.testing.assert_close(out, _reference(h, w, b, t).detach(), rtol=1e-5, atol=1e-6)


def test_backward_twice_with_retain_graph_gives_the_same_gradients():
    # The stored gradients are scaled out of place: a second backward must not see them
    # already multiplied by the first grad_output.
    h, w, b, t = _data()
    h.requires_grad_(True)
    out = linear_cross_entropy(h, w, t, bias=b, chunk_size=4)
    (g1,) = torch.autograd.grad(3.0 * out, h, retain_graph=True)
    (g2,) = torch.autograd.grad(3.0 * out, h)
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_ignored_and_empty_batches_give_zero_not_nan(reduction):
    h, w, b, t = _data()
    h.requires_grad_(True)
    w.requires_grad_(True)
    t_all = torch.full_like(t, -100)
    out = linear_cross_entropy(h, w, t_all, bias=b, ignore_index=-100, reduction=reduction, chunk_size=4)
    assert torch.all(out == 0)
    gh, gw = torch.autograd.grad(out.sum(), [h, w])
    assert torch.all(gh == 0) and torch.all(gw == 0)
    # torch itself gives NaN for the all-ignored mean (0 / 0); losskit gives 0 everywhere.
    empty = linear_cross_entropy(h[:0], w, t[:0], reduction=reduction)
    assert empty.shape == ((0,) if reduction == "none" else ())
    assert torch.isfinite(empty).all() and torch.all(empty == 0)
    (gw,) = torch.autograd.grad(empty.sum(), [w])
    assert torch.all(gw == 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64(reduction):
    h, w, b, t = _data(T=5, H=3, V=4, dtype=torch.float64, ignore=None)
    t[1] = 2
    leaves = [x.clone().requires_grad_(True) for x in (h, w, b)]
    assert torch.autograd.gradcheck(
        lambda h, w, b: linear_cross_entropy(
            h, w, t, bias=b, reduction=reduction, label_smoothing=0.1, ignore_index=2, chunk_size=2
        ),
        leaves,
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_compute_in_float32(dtype):
    h, w, b, t = _data(dtype=dtype)
    leaves = [x.clone().requires_grad_(True) for x in (h, w, b)]
    out = linear_cross_entropy(*leaves[:2], t, bias=leaves[2], chunk_size=4)
    assert out.dtype == torch.float32 and torch.isfinite(out)
    out.backward()
    # The reference: float32 on the same (rounded) values; the only rounding left is the
    # cast of the gradients back to the half dtype (compared at that dtype's resolution:
    # assert_close's defaults for float16 / bfloat16).
    ref_leaves = [x.float().requires_grad_(True) for x in (h, w, b)]
    ref = _reference(*ref_leaves, t)
    ref.backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    for x, r in zip(leaves, ref_leaves):
        assert x.grad.dtype == dtype
        torch.testing.assert_close(x.grad, r.grad.to(dtype))


def test_autocast_keeps_logits_in_float32():
    h, w, b, t = _data()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = linear_cross_entropy(h, w, t, bias=b)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, _reference(h, w, b, t), rtol=1e-5, atol=1e-6)


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor any aten op produces (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.largest = max(self.largest, o.numel())
        return out


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_never_materialises_the_logits(reduction):
    T_, H_, V_, chunk = 64, 8, 50, 16
    h, w, b, t = _data(T=T_, H=H_, V=V_)
    h.requires_grad_(True)
    w.requires_grad_(True)
    with _LargestTensor() as mode:
        out = linear_cross_entropy(h, w, t, bias=b, reduction=reduction, chunk_size=chunk)
        out.sum().backward()
    # Largest tensors allowed: one chunk of logits (16 x 50) and grad_weight (50 x 8);
    # the full logits would be 64 x 50.
    assert mode.largest <= max(chunk * V_, V_ * H_, T_ * H_) < T_ * V_
    with _LargestTensor() as plain:
        _reference(h, w, b, t, reduction=reduction).sum().backward()
    assert plain.largest == T_ * V_  # the recorder does see the logits when they exist


def test_default_chunk_size_follows_the_memory_budget():
    # ~256 MiB of one (chunk, V) float32 buffer: V = 32768 -> 2048 tokens.
    assert default_chunk_size(8192, 32768) == 2048
    assert default_chunk_size(8192, 32768, itemsize=8) == 1024  # float64
    assert default_chunk_size(10, 32768) == 10  # never more than the tokens
    assert default_chunk_size(0, 32768) == 1
    assert default_chunk_size(10**6, 2**27) == 1  # a gigantic vocabulary: one token at a time
    assert default_chunk_size(10**6, 1000) % 8 == 0


def test_compiles_fullgraph_and_matches_eager():
    h, w, b, t = _data()
    torch._dynamo.reset()
    fn = torch.compile(
        lambda h, w: linear_cross_entropy(h, w, t, bias=b, ignore_index=4, label_smoothing=0.1, chunk_size=4),
        fullgraph=True, backend="aot_eager",
    )
    out, grads = _grads(fn, [h, w])
    ref, ref_grads = _grads(
        lambda h, w: linear_cross_entropy(h, w, t, bias=b, ignore_index=4, label_smoothing=0.1, chunk_size=4), [h, w]
    )
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-6, atol=1e-6)


def test_module_equals_function_and_shows_options():
    h, w, b, t = _data()
    m = LinearCrossEntropyLoss(label_smoothing=0.1, reduction="sum", chunk_size=4)
    torch.testing.assert_close(m(h, w, t), linear_cross_entropy(h, w, t, label_smoothing=0.1, reduction="sum"))
    text = repr(m)
    assert "label_smoothing=0.1" in text and "chunk_size=4" in text and "reduction='sum'" in text
    assert "losskit.torch.linear_cross_entropy" in LinearCrossEntropyLoss.__doc__


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(reduction="avg"), ValueError, "reduction: expected one of"),
        (dict(label_smoothing=1.5), ValueError, "label_smoothing: expected a number <= 1"),
        (dict(label_smoothing=-0.1), ValueError, "label_smoothing: expected a number >= 0"),
        (dict(chunk_size=0), ValueError, "chunk_size: expected a positive int"),
        (dict(chunk_size=True), TypeError, "chunk_size: expected a positive int"),
        (dict(chunk_size=2.0), TypeError, "chunk_size: expected a positive int"),
        (dict(ignore_index=1.0), TypeError, "ignore_index: expected an int or None"),
        (dict(bias=torch.zeros(V + 1)), ValueError, r"bias: expected shape \(9,\)"),
        (dict(bias=[0.0] * V), TypeError, "bias: expected a torch.Tensor"),
    ],
)
def test_invalid_options_raise(kwargs, exc, match):
    h, w, _, t = _data()
    with pytest.raises(exc, match=match):
        linear_cross_entropy(h, w, t, **kwargs)


def test_invalid_arrays_raise():
    h, w, _, t = _data()
    with pytest.raises(TypeError, match="target: expected an integer tensor"):
        linear_cross_entropy(h, w, t.float())
    with pytest.raises(TypeError, match="hidden: expected a floating-point tensor"):
        linear_cross_entropy(h.long(), w, t)
    with pytest.raises(TypeError, match="weight: expected a torch.Tensor"):
        linear_cross_entropy(h, w.numpy(), t)
    with pytest.raises(ValueError, match="hidden: expected a last dimension of 6"):
        linear_cross_entropy(h[:, :5], w, t)
    with pytest.raises(ValueError, match="weight: expected a 2-D"):
        linear_cross_entropy(h, w[0], t)
    with pytest.raises(ValueError, match=r"target: expected shape \(11,\)"):
        linear_cross_entropy(h, w, t[:5])
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 8\]"):
        linear_cross_entropy(h, w, torch.full_like(t, V))
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 8\] or ignore_index=-1, got -2"):
        linear_cross_entropy(h, w, torch.full_like(t, -2), ignore_index=-1)
