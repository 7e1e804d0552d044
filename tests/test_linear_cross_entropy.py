"""losskit.torch.linear_cross_entropy: equal to matmul + F.cross_entropy (values and
gradients, every option: class weights, z-loss, soft-capping, shift, and their
combinations, written out on the materialised logits), without ever materialising the
(tokens x vocabulary) logits."""

from __future__ import annotations

import itertools
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
    # ~64 MiB of one (chunk, V) float32 buffer: V = 32768 -> 512 tokens.
    assert default_chunk_size(8192, 32768) == 512
    assert default_chunk_size(8192, 32768, itemsize=8) == 256  # float64, or soft-capping's two buffers
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
    assert "losskit.linear_cross_entropy" in LinearCrossEntropyLoss.__doc__  # the generated shell names the flat function


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


# --------------------------------------------------------------------------- LLM options (issue 16)


def _reference_full(h, w, b, t, *, class_weight=None, ignore_index=None, label_smoothing=0.0, z_loss=0.0,
                    softcap=None, shift=False, reduction="mean"):
    """Everything written out on the materialised logits: optional shift, the soft-capped
    logits, F.cross_entropy with the class weights, plus z_loss * lse^2 per kept token
    (averaged over the kept tokens with "mean")."""
    if shift:
        h, t = h[..., :-1, :], t[..., 1:]
    u = h @ w.T + (b if b is not None else 0)
    z = softcap * torch.tanh(u / softcap) if softcap is not None else u
    ign = -100 if ignore_index is None else ignore_index
    zf, tf = z.reshape(-1, z.shape[-1]), t.reshape(-1)
    ce = F.cross_entropy(zf, tf, weight=class_weight, ignore_index=ign, label_smoothing=label_smoothing,
                         reduction=reduction)
    keep = (tf != ign).to(z.dtype)
    zterm = z_loss * torch.logsumexp(zf, dim=-1) ** 2 * keep
    if reduction == "none":
        return (ce + zterm).reshape(t.shape)
    if reduction == "sum":
        return ce + zterm.sum()
    return ce + zterm.sum() / keep.sum().clamp(min=1)


def _data3(seed=0, B=2, S=7, H=H, V=V, dtype=torch.float32, ignore=None):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(B, S, H, generator=g, dtype=torch.float64).to(dtype)
    w = (torch.randn(V, H, generator=g, dtype=torch.float64) * 0.9).to(dtype)
    b = torch.randn(V, generator=g, dtype=torch.float64).to(dtype)
    t = torch.randint(0, V, (B, S), generator=g)
    if ignore is not None:
        t[:, ::3] = ignore
    cw = (torch.rand(V, generator=g, dtype=torch.float64) + 0.25).to(dtype)
    return h, w, b, t, cw


_OPTIONS = {
    "class_weight": dict(class_weight=True),
    "z_loss": dict(z_loss=1e-2),
    "softcap": dict(softcap=2.0),
    "shift": dict(shift=True),
    "smoothing": dict(label_smoothing=0.1),
    "ignore": dict(ignore_index=4),
}
# every option alone, every pair, and all of them together
_COMBOS = [(k,) for k in _OPTIONS] + list(itertools.combinations(_OPTIONS, 2)) + [tuple(_OPTIONS)]


def _options(combo, cw):
    opts = {}
    for k in combo:
        opts.update(_OPTIONS[k])
    if opts.pop("class_weight", False):
        opts["class_weight"] = cw
    return opts


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("combo", _COMBOS, ids=["+".join(c) for c in _COMBOS])
def test_llm_options_match_the_materialised_logits(combo, reduction):
    h, w, b, t, cw = _data3(ignore=4 if "ignore" in combo else None)
    opts = _options(combo, cw)
    upstream = None
    if reduction == "none":
        shape = (2, 6) if opts.get("shift") else (2, 7)
        upstream = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    out, grads = _grads(
        lambda h, w, b: linear_cross_entropy(h, w, t, bias=b, reduction=reduction, chunk_size=3, **opts),
        [h, w, b], upstream)
    ref, ref_grads = _grads(lambda h, w, b: _reference_full(h, w, b, t, reduction=reduction, **opts),
                            [h, w, b], upstream)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk_size", [1, 5, None])
def test_every_option_at_once_2d_and_default_chunk(reduction, chunk_size):
    # (tokens, H) input, no bias, every option on; the default chunk covers all tokens.
    h, w, _, t, cw = _data3(B=1, S=13, ignore=2)
    h, t = h[0], t[0]
    opts = dict(class_weight=cw, ignore_index=2, label_smoothing=0.2, z_loss=1e-3, softcap=1.5, shift=True)
    upstream = torch.randn(12, generator=torch.Generator().manual_seed(5)) if reduction == "none" else None
    out, grads = _grads(lambda h, w: linear_cross_entropy(h, w, t, reduction=reduction, chunk_size=chunk_size, **opts),
                        [h, w], upstream)
    ref, ref_grads = _grads(lambda h, w: _reference_full(h, w, None, t, reduction=reduction, **opts), [h, w], upstream)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64_every_option(reduction):
    h, w, b, t, cw = _data3(B=2, S=4, H=3, V=5, dtype=torch.float64, ignore=1)
    leaves = [x.clone().requires_grad_(True) for x in (h, w, b)]
    assert torch.autograd.gradcheck(
        lambda h, w, b: linear_cross_entropy(
            h, w, t, bias=b, reduction=reduction, class_weight=cw, z_loss=0.05, softcap=1.5, shift=True,
            label_smoothing=0.1, ignore_index=1, chunk_size=3,
        ),
        leaves,
    )


def test_shift_none_shape_and_no_copy_of_hidden():
    h, w, b, t, _ = _data3(B=3, S=5)
    out = linear_cross_entropy(h, w, t, bias=b, shift=True, reduction="none")
    assert out.shape == (3, 4)  # (batch, seq - 1)
    torch.testing.assert_close(out, _reference_full(h, w, b, t, shift=True, reduction="none"), rtol=1e-5, atol=1e-6)
    # the shifted hidden states are never copied: no (batch * (seq - 1), H) tensor is made
    # from hidden (the recorder sees every tensor an op produces)
    with _LargestShapes() as mode:
        linear_cross_entropy(h.requires_grad_(True), w, t, bias=b, shift=True, chunk_size=2).backward()
    assert (3 * 4, H) not in mode.shapes and (3, 4, H) not in mode.shapes
    # the first target is never read (only target[..., 1:]): it may be anything in range
    t2 = t.clone()
    t2[:, 0] = 0
    torch.testing.assert_close(linear_cross_entropy(h, w, t2, bias=b, shift=True, reduction="none"), out.detach())


class _LargestShapes(TorchDispatchMode):
    """Records the shapes of the tensors every aten op produces."""

    def __init__(self):
        super().__init__()
        self.shapes = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.shapes.add(tuple(o.shape))
        return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_return_lse_and_z_loss(reduction):
    h, w, b, t, cw = _data3(ignore=4)
    opts = dict(bias=b, ignore_index=4, z_loss=1e-2, softcap=3.0, class_weight=cw, reduction=reduction)
    loss, lse, zl = linear_cross_entropy(h, w, t, return_lse=True, return_z_loss=True, chunk_size=4, **opts)
    z = 3.0 * torch.tanh((h @ w.T + b) / 3.0)
    ref_lse = torch.logsumexp(z, dim=-1)
    torch.testing.assert_close(lse, ref_lse, rtol=1e-5, atol=1e-6)  # every token, ignored ones too
    keep = (t != 4).float()
    per = 1e-2 * ref_lse**2 * keep
    expect_z = {"none": per, "sum": per.sum(), "mean": per.sum() / keep.sum()}[reduction]
    torch.testing.assert_close(zl, expect_z, rtol=1e-5, atol=1e-7)
    assert not lse.requires_grad and not zl.requires_grad
    # the order of the tuple, and the loss unchanged by the flags
    only_lse = linear_cross_entropy(h, w, t, return_lse=True, chunk_size=4, **opts)
    only_z = linear_cross_entropy(h, w, t, return_z_loss=True, chunk_size=4, **opts)
    torch.testing.assert_close(only_lse[1], lse)
    torch.testing.assert_close(only_z[1], zl)
    torch.testing.assert_close(only_z[0], linear_cross_entropy(h, w, t, chunk_size=4, **opts))
    # with shift: lse per predicting position, (batch, seq - 1)
    _, lse_s = linear_cross_entropy(h, w, t, return_lse=True, shift=True, **opts)
    torch.testing.assert_close(lse_s, ref_lse[:, :-1], rtol=1e-5, atol=1e-6)
    # z_loss = 0: the returned term is 0
    assert torch.all(linear_cross_entropy(h, w, t, return_z_loss=True, reduction=reduction)[1] == 0)


def test_gradients_through_the_returned_lse_are_not_supported_but_the_loss_trains():
    h, w, b, t, _ = _data3()
    h.requires_grad_(True)
    loss, lse = linear_cross_entropy(h, w, t, bias=b, return_lse=True, z_loss=1e-2)
    loss.backward()
    ref_h = h.detach().clone().requires_grad_(True)
    _reference_full(ref_h, w, b, t, z_loss=1e-2).backward()
    torch.testing.assert_close(h.grad, ref_h.grad, rtol=1e-5, atol=1e-6)


def test_class_weight_all_zero_mean_is_zero_not_nan():
    h, w, b, t, _ = _data3()
    h.requires_grad_(True)
    out = linear_cross_entropy(h, w, t, class_weight=torch.zeros(V))
    assert out.item() == 0.0
    (g,) = torch.autograd.grad(out, h)
    assert torch.all(g == 0)


# The documented half-precision tolerance: half inputs against the same call on the
# float32 (unrounded) inputs; the difference is the inputs' own rounding.
_HALF_RTOL = {torch.bfloat16: 1e-2, torch.float16: 3e-3}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_half_inputs_every_option_finite_and_within_the_documented_tolerance(dtype, reduction):
    g = torch.Generator().manual_seed(11)
    B, S, H_, V_ = 2, 16, 32, 257
    h = torch.randn(B, S, H_, generator=g)
    w = torch.randn(V_, H_, generator=g) / H_**0.5
    t = torch.randint(0, V_, (B, S), generator=g)
    cw = torch.rand(V_, generator=g) + 0.5
    opts = dict(class_weight=cw, z_loss=1e-4, softcap=30.0, shift=True, label_smoothing=0.1, reduction=reduction)
    hh, wh = h.to(dtype).requires_grad_(True), w.to(dtype).requires_grad_(True)
    out = linear_cross_entropy(hh, wh, t, chunk_size=7, **opts)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.sum().backward()
    assert hh.grad.dtype == dtype and torch.isfinite(hh.grad).all() and torch.isfinite(wh.grad).all()
    ref = linear_cross_entropy(h, w, t, chunk_size=7, **opts)
    torch.testing.assert_close(out, ref, rtol=_HALF_RTOL[dtype], atol=0)
    # and exactly the float32 computation on the rounded inputs
    rounded = linear_cross_entropy(h.to(dtype).float(), w.to(dtype).float(), t, chunk_size=7, **opts)
    torch.testing.assert_close(out, rounded, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_never_materialises_the_logits_with_softcap_and_shift(reduction):
    B, S, H_, V_, chunk = 4, 16, 8, 50, 16
    h, w, b, t, cw = _data3(B=B, S=S, H=H_, V=V_)
    h.requires_grad_(True)
    w.requires_grad_(True)
    with _LargestTensor() as mode:
        out = linear_cross_entropy(h, w, t, bias=b, class_weight=cw, z_loss=1e-3, softcap=2.0, shift=True,
                                   reduction=reduction, chunk_size=chunk)
        out.sum().backward()
    assert mode.largest <= max(chunk * V_, V_ * H_, B * S * H_) < B * S * V_


def test_backward_hands_over_the_stored_gradients_and_matches():
    # A plain backward (no retain_graph) scales the stored gradients in place and hands
    # them over; the values equal the reference, and a later call starts afresh.
    h, w, b, t, cw = _data3()
    for _ in range(2):
        hh, ww = h.clone().requires_grad_(True), w.clone().requires_grad_(True)
        (2.5 * linear_cross_entropy(hh, ww, t, bias=b, class_weight=cw, z_loss=1e-2)).backward()
        rh, rw = h.clone().requires_grad_(True), w.clone().requires_grad_(True)
        (2.5 * _reference_full(rh, rw, b, t, class_weight=cw, z_loss=1e-2)).backward()
        torch.testing.assert_close(hh.grad, rh.grad, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ww.grad, rw.grad, rtol=1e-5, atol=1e-6)


def test_compiles_fullgraph_with_llm_options():
    h, w, b, t, cw = _data3()
    opts = dict(bias=b, class_weight=cw, z_loss=1e-2, softcap=2.0, shift=True, ignore_index=4, chunk_size=4)
    torch._dynamo.reset()
    fn = torch.compile(lambda h, w: linear_cross_entropy(h, w, t, **opts), fullgraph=True, backend="aot_eager")
    out, grads = _grads(fn, [h, w])
    ref, ref_grads = _grads(lambda h, w: linear_cross_entropy(h, w, t, **opts), [h, w])
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-6, atol=1e-6)


def test_signature_names_the_integrations_detect():
    import inspect

    params = inspect.signature(linear_cross_entropy).parameters
    for name in ("softcap", "shift", "z_loss", "class_weight", "return_lse", "return_z_loss", "label_smoothing",
                 "ignore_index", "bias", "reduction", "chunk_size"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
