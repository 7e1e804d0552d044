"""The compiled CPU path of the Dice family (softmax + integer labels, numba kernels in
``losskit._segmentation_numba``) pinned to the generic array-API path: values and gradients
(float32 to 1e-5, float64 to 1e-10), on random and degenerate inputs, through every option
that reaches it; and the conditions under which it is (not) used.

The generic path is reached with ``segmentation._TORCH_FAST = False``; the fused torch path
(what runs without numba) is pinned in test_segmentation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
torch = pytest.importorskip("torch")

import losskit  # noqa: E402
from losskit import _numba  # noqa: E402
from losskit import segmentation as seg  # noqa: E402


@pytest.fixture(autouse=True)
def _compiled_kernels_on(monkeypatch):
    """These tests are about the compiled path: on even where LOSSKIT_NUMBA=0 switched the
    kernels off for the rest of the suite (numba is installed, or the module was skipped)."""
    monkeypatch.setattr(_numba, "_enabled", True)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)


@pytest.fixture
def compiled_calls(monkeypatch):
    """A list that grows by one for every call of the compiled path (the sums alone, or a
    whole loss with its head in the Function)."""
    calls = []
    real = seg._numba_apply
    monkeypatch.setattr(seg, "_numba_apply", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _compiled_and_generic(monkeypatch, fn, x, lab, grad_out=None, **kw):
    """(value, gradient) of ``fn`` on the compiled path and on the generic path."""
    out = []
    for fast in (True, False):
        monkeypatch.setattr(seg, "_TORCH_FAST", fast)
        a = x.detach().clone().requires_grad_(True)
        v = fn(a, lab, **kw)
        go = torch.ones_like(v) if grad_out is None else grad_out
        (g,) = torch.autograd.grad(v, a, go)
        out.append((v.detach(), g))
    monkeypatch.setattr(seg, "_TORCH_FAST", True)
    return out


def _assert_pinned(monkeypatch, calls, fn, x, lab, **kw):
    (v1, g1), (v0, g0) = _compiled_and_generic(monkeypatch, fn, x, lab, **kw)
    assert calls, "the compiled path did not run"
    tol = _tol(x.dtype)
    torch.testing.assert_close(v1, v0, **tol)
    torch.testing.assert_close(g1, g0, **tol)
    return v1, g1


def _data(shape, seed=0, dtype=torch.float32, scale=1.0, ignore_every=None):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)
    lab = torch.randint(0, shape[1], (shape[0],) + tuple(shape[2:]), generator=g)
    if ignore_every:
        lab.view(-1)[::ignore_every] = 255
    return x, lab


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"ignore_index": 255},
        {"batch": True},
        {"batch": True, "ignore_index": 255, "include_background": False},
        {"include_background": False, "reduction": "none"},
        {"weight": [0.5, 2.0, 0.0, 1.0], "reduction": "sum"},
        {"weight": [0.5, 2.0, 0.0, 1.0], "ignore_index": 255, "batch": True},
        {"smooth_nr": 0.0, "smooth_dr": 1.0, "reduction": "none", "ignore_index": 255},
    ],
)
def test_compiled_dice_equals_generic(monkeypatch, compiled_calls, dtype, kw):
    # (3, 4, 37, 29): 1073 pixels per sample, not a multiple of the kernels' block
    x, lab = _data((3, 4, 37, 29), dtype=dtype, ignore_every=5 if "ignore_index" in kw else None)
    if "ignore_index" in kw:
        lab[1] = 255  # a fully ignored sample: its entries get weight 0
    kw = dict(kw, activation="softmax")
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"], dtype=dtype)
    out = kw.get("reduction", "mean")
    gout = None
    if out == "none":  # a non-uniform upstream gradient reaches every entry differently
        shape = (3, 4) if not kw.get("include_background", True) is False else (3, 3)
        gout = torch.linspace(-1.0, 2.0, shape[0] * shape[1], dtype=dtype).reshape(shape)
    (v1, g1), (v0, g0) = _compiled_and_generic(monkeypatch, losskit.dice_loss, x, lab, grad_out=gout, **kw)
    assert compiled_calls
    torch.testing.assert_close(v1, v0, **_tol(dtype))
    torch.testing.assert_close(g1, g0, **_tol(dtype))
    if "ignore_index" in kw:  # ignored pixels get no gradient
        assert torch.all(g1.movedim(1, -1)[lab == 255] == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "case",
    [
        "3d",
        "large_logits",  # exp without the max-shift would overflow: the shifted branch
        "very_negative_logits",  # every class's exp underflows without the shift
        "mixed_extremes",  # a few pixels out of range, the rest not
        "many_classes",
        "int32_labels",
        "uint8_labels",
        "channels_last",
        "one_pixel",
        "two_threads",  # two ranges, split inside a sample
        "negative_ignore_index",
        "uint8_negative_ignore_index",
    ],
)
def test_compiled_dice_equals_generic_more_cases(monkeypatch, compiled_calls, case, dtype):
    shape = {"3d": (2, 3, 5, 6, 7), "many_classes": (2, 19, 9, 8), "one_pixel": (2, 3, 1),
             "two_threads": (3, 3, 100, 200)}.get(case, (2, 3, 16, 17))
    x, lab = _data(shape, seed=1, dtype=dtype)
    kw = dict(activation="softmax", reduction="none", ignore_index=255)
    lab.view(-1)[::7] = 255
    if case == "large_logits":
        x = x * 60.0
    if case == "very_negative_logits":
        x = x - 200.0
    if case == "mixed_extremes":
        x.view(-1)[::50] += 150.0
    if case == "int32_labels":
        lab = lab.to(torch.int32)
    if case == "uint8_labels":
        lab = lab.to(torch.uint8)
    if case == "channels_last":
        x, kw["axis"] = x.movedim(1, -1), -1
    if case in ("negative_ignore_index", "uint8_negative_ignore_index"):
        lab = torch.where(lab == 255, -100, lab)
        kw["ignore_index"] = -100
    if case == "uint8_negative_ignore_index":  # nothing can equal -100: nothing ignored
        lab = torch.where(lab == -100, 2, lab).to(torch.uint8)
    if case == "two_threads":  # the kernels' split, which the public path leaves off by default
        monkeypatch.setattr(seg, "_NUMBA_THREADS", 2)
        assert _numba.plan(shape[0] * shape[2] * shape[3], seg._NUMBA_THREADS) == 2
    _assert_pinned(monkeypatch, compiled_calls, losskit.dice_loss, x, lab, **kw)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "fn, kw",
    [
        (losskit.jaccard_loss, {"ignore_index": 255, "batch": True}),
        (losskit.generalized_dice_loss, {"ignore_index": 255}),
        (losskit.tversky_loss, {"alpha": 0.2, "beta": 0.8, "include_background": False}),
        (losskit.focal_tversky_loss, {"ignore_index": 255}),
        (losskit.log_cosh_dice_loss, {"reduction": "none"}),
    ],
)
def test_compiled_path_serves_the_other_overlap_losses(monkeypatch, compiled_calls, fn, kw, dtype):
    x, lab = _data((2, 3, 11, 13), seed=2, dtype=dtype, ignore_every=4 if "ignore_index" in kw else None)
    _assert_pinned(monkeypatch, compiled_calls, fn, x, lab, activation="softmax", **kw)


def test_compiled_path_serves_dice_ce(monkeypatch, compiled_calls):
    x, lab = _data((2, 3, 11, 13), seed=3, dtype=torch.float64, ignore_every=4)
    _assert_pinned(monkeypatch, compiled_calls, losskit.dice_ce_loss, x, lab, ignore_index=255, lambda_ce=0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_sums_and_their_gradients_one_at_a_time(dtype):
    # I, P, G and validity against the generic kernel, and gradients of any combination of
    # I and P (a backward that reaches only I, or only P, gets None for the other).
    x0, lab = _data((2, 3, 40, 9), seed=4, dtype=dtype)
    x0, lab = x0.reshape(2, 3, -1), lab.reshape(2, -1)
    lab[0, ::3] = 7
    lab[1, :] = 7  # a sample without a valid pixel
    for ignore in (None, 7):
        lab_c = lab if ignore is not None else lab.clamp(max=2)
        mask = None if ignore is None else lab != ignore
        lab_m = lab_c if mask is None else torch.where(mask, lab_c, 0)
        for which in ("I", "P", "both"):
            res = []
            for path in ("compiled", "generic", "generic64"):
                x = (x0.double() if path == "generic64" else x0).clone().requires_grad_(True)
                if path == "compiled":
                    I, P, G, valid = seg._numba_softmax_label_sums(x, lab_c, ignore, seg.namespace(x), batch=False)
                else:
                    I, P, G, valid = seg._overlap_sums(torch.softmax(x, 1), lab_m, None, mask, seg.namespace(x))
                w = torch.arange(1.0, 4.0, dtype=x.dtype)
                obj = {"I": (I * w).sum(), "P": P.square().sum(), "both": (0.7 * I * w - 1.3 * P.square()).sum()}[which]
                obj.backward()
                res.append((I.detach(), P.detach(), G, valid, x.grad))
            for a, b in zip(res[0][:4], res[1][:4]):
                if b is None:
                    assert a is None
                else:
                    torch.testing.assert_close(a, b, **_tol(dtype))
            g_c, g_g, g_64 = res[0][4], res[1][4], res[2][4].to(dtype)
            if dtype == torch.float64:
                torch.testing.assert_close(g_c, g_g, **_tol(dtype))
            else:
                # P.square() makes dL/dP ~ 2P ~ 240: the softmax backward
                # p_c (b_c - sum_k p_k b_k) cancels, and any float32 path's gradient is off
                # by ~1e-5 of its scale (here ~3e-5 for the generic path). The compiled
                # one must be as accurate: compared with the float64 gradient.
                err_c, err_g = float((g_c - g_64).abs().max()), float((g_g - g_64).abs().max())
                scale = float(g_64.abs().max())
                assert err_c <= 2.0 * err_g + 1e-6 * scale, (which, ignore, err_c, err_g, scale)


def test_compiled_second_backward_with_retain_graph(compiled_calls):
    # The first backward writes the gradient into the exponentials' memory; a second one
    # through the same graph recomputes them instead of reading it.
    x, lab = _data((2, 3, 20, 30), seed=5, dtype=torch.float64, ignore_every=3)
    x.requires_grad_(True)
    loss = losskit.dice_loss(x, lab, activation="softmax", ignore_index=255)
    (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, x, retain_graph=True)
    loss.backward()
    assert compiled_calls
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, g1, rtol=0, atol=0)
    with _numba.disabled():  # and it is the gradient of the other paths
        a = x.detach().clone().requires_grad_(True)
        seg._TORCH_FAST = False
        try:
            losskit.dice_loss(a, lab, activation="softmax", ignore_index=255).backward()
        finally:
            seg._TORCH_FAST = True
    torch.testing.assert_close(g1, a.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(0, 3, 4, 5), (2, 3, 0, 5)])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_compiled_empty_batch_and_empty_image(monkeypatch, compiled_calls, shape, ignore_index):
    x = torch.zeros(shape, requires_grad=True)
    lab = torch.zeros((shape[0],) + shape[2:], dtype=torch.int64)
    (v1, g1), (v0, g0) = _compiled_and_generic(
        monkeypatch, losskit.dice_loss, x, lab, activation="softmax", ignore_index=ignore_index
    )
    assert compiled_calls
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(g1, g0)
    assert g1.shape == shape and torch.all(g1 == 0)


def test_compiled_nan_logits_propagate_like_the_generic_path(monkeypatch, compiled_calls):
    x, lab = _data((2, 3, 6, 5), seed=6)
    x[0, 1, 2, 3] = float("nan")
    (v1, g1), (v0, g0) = _compiled_and_generic(monkeypatch, losskit.dice_loss, x, lab, activation="softmax", reduction="none")
    assert compiled_calls
    torch.testing.assert_close(v1, v0, equal_nan=True, rtol=1e-5, atol=1e-6)
    assert torch.isnan(v1[0]).all() and torch.isfinite(v1[1]).all()
    torch.testing.assert_close(g1, g0, equal_nan=True, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_dtype", [torch.int64, torch.int32, torch.uint8, torch.int16])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_compiled_out_of_range_labels_raise_like_the_generic_path(compiled_calls, ignore_index, label_dtype):
    # int64, int32 and uint8 labels reach the kernels as they are (compiled per dtype); others
    # are widened to int64 first
    x, lab = _data((2, 3, 6, 5), seed=7)
    lab = lab.to(label_dtype)
    for bad in (3, -1) if label_dtype.is_signed else (3, 200):
        lab2 = lab.clone()
        lab2[1, 4, 2] = bad
        extra = " or ignore_index=255" if ignore_index is not None else ""
        with pytest.raises(ValueError, match=rf"target: expected class indices in \[0, 2\]{extra}, got {bad}"):
            losskit.dice_loss(x, lab2, activation="softmax", ignore_index=ignore_index)
    assert compiled_calls
    if ignore_index is not None:  # ignored pixels may hold any value
        lab2 = lab.clone()
        lab2[0, 0, 0] = 255
        losskit.dice_loss(x, lab2, activation="softmax", ignore_index=255)
    with pytest.raises(TypeError, match="ignore_index: expected an int or None"):
        losskit.dice_loss(x, lab, activation="softmax", ignore_index=1.5)


def test_compiled_half_precision_no_grad_and_autocast(monkeypatch, compiled_calls):
    x, lab = _data((2, 3, 6, 5), seed=8)
    ref = losskit.dice_loss(x, lab, activation="softmax", reduction="none")
    for dt in (torch.float16, torch.bfloat16):
        xh = (x * 30).to(dt).requires_grad_(True)
        out = losskit.dice_loss(xh, lab, activation="softmax")
        out.backward()
        assert out.dtype == torch.float32 and torch.isfinite(out) and xh.grad.dtype == dt
        assert torch.isfinite(xh.grad.float()).all()
    with torch.no_grad():
        torch.testing.assert_close(losskit.dice_loss(x, lab, activation="softmax", reduction="none"), ref)
    with torch.inference_mode():
        torch.testing.assert_close(losskit.dice_loss(x, lab, activation="softmax", reduction="none"), ref)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = losskit.dice_loss(x, lab, activation="softmax", reduction="none")
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert len(compiled_calls) == 6


def test_compiled_path_is_used_only_where_it_may_be(compiled_calls):
    x, lab = _data((2, 3, 6, 5), seed=9)
    losskit.dice_loss(x, lab, activation="softmax")
    assert len(compiled_calls) == 1
    with _numba.disabled():  # switched off: the fused torch path
        losskit.dice_loss(x, lab, activation="softmax")
    # other activations, squared, dense targets: today's paths
    losskit.dice_loss(x, lab, activation="sigmoid")
    losskit.dice_loss(x, lab, activation="softmax", squared=True)
    losskit.dice_loss(x, torch.nn.functional.one_hot(lab, 3).movedim(-1, 1).float(), activation="softmax")
    losskit.dice_loss(x.numpy(), lab.numpy(), activation="softmax")
    # torch.func transforms (the fused Functions have no functorch rules)
    x1, lab1 = x[:1], lab[:1]
    losskit.dice_loss(x1, lab1, activation="softmax")  # eager: compiled
    seg_check = seg.check_labels_in_range
    try:  # the eager label check reads values, which functorch's wrappers refuse
        seg.check_labels_in_range = lambda *a, **k: None
        g = torch.func.grad(lambda a: losskit.dice_loss(a, lab1, activation="softmax"))(x1)
    finally:
        seg.check_labels_in_range = seg_check
    assert len(compiled_calls) == 2
    a = x1.clone().requires_grad_(True)
    losskit.dice_loss(a, lab1, activation="softmax").backward()
    torch.testing.assert_close(g, a.grad, rtol=1e-5, atol=1e-7)


def test_compiled_path_under_torch_compile_is_not_traced(compiled_calls):
    x, lab = _data((2, 3, 6, 5), seed=10)
    fn = torch.compile(lambda a, b: losskit.dice_loss(a, b, activation="softmax"), backend="eager", fullgraph=False)
    out = fn(x, lab)
    assert not compiled_calls  # dynamo traced the generic path
    torch.testing.assert_close(out, losskit.dice_loss(x, lab, activation="softmax"), rtol=1e-5, atol=1e-7)


def test_compiled_path_materialises_nothing_of_the_input_size_but_the_exponentials():
    from torch.utils._python_dispatch import TorchDispatchMode

    x, lab = _data((2, 3, 8, 9), seed=11)
    big = x.numel()

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
                if isinstance(o, torch.Tensor) and o.numel() == big and o.untyped_storage().data_ptr() not in shared:
                    self.ops.append(func._schema.name)
            return out

    with Log() as log:
        losskit.dice_loss(x, lab, activation="softmax", ignore_index=2)
    assert log.ops == ["aten::mul"], log.ops  # e = exp2(x log2 e): the mul allocates


def test_compiled_module_equals_function():
    import losskit.torch as lt

    x, lab = _data((2, 3, 6, 5), seed=12)
    mod = lt.DiceLoss(activation="softmax", ignore_index=255, batch=True)
    torch.testing.assert_close(mod(x, lab), losskit.dice_loss(x, lab, activation="softmax", ignore_index=255, batch=True))
    assert "ignore_index=255" in repr(mod)


def test_kernels_directly_on_numpy_match_a_one_hot_reference():
    # the kernels alone, on NumPy arrays (what the torch Function hands them); reference
    # straight from the definition with an explicit one-hot
    from losskit import _segmentation_numba as k

    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 5, 700))
    lab = rng.integers(0, 5, size=(3, 700))
    lab[:, ::9] = 99
    e = np.exp(x)
    sums, bad, lmin, lmax = k.sums(e, lab, 99, 2.0**-40, 2.0**40, threads=2)
    P, I, G = sums
    p = e / e.sum(1, keepdims=True)
    m = (lab != 99).astype(float)
    oh = (np.where(lab == 99, 0, lab)[:, None, :] == np.arange(5)[None, :, None]) * m[:, None, :]
    np.testing.assert_allclose(I, (p * oh).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(P, (p * m[:, None, :]).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(G, oh.sum(-1), rtol=0)
    assert bad == 0 and (lmin, lmax) == (0, 4)
    # pixels out of range are counted; without valid labels, lmin > lmax
    e2 = e.copy()
    e2[1, :, 5] = 1e300
    assert k.sums(e2, lab, 99, 2.0**-40, 2.0**40, threads=1)[1] == 1
    assert k.sums(e, np.full_like(lab, 99), 99, 2.0**-40, 2.0**40, threads=1)[2:] == (2**62, -(2**62))
    # the gradient of sum(a I + b P) through the softmax: dx_c = m p_c (d_c - sum_k p_k d_k)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    d = b[:, :, None] + a[:, :, None] * oh
    expected = m[:, None, :] * p * (d - (p * d).sum(1, keepdims=True))
    out = e.copy()
    k.gradient(out, lab, 99, a, b, threads=2)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


def test_compiled_path_reuses_its_buffer_only_when_nobody_holds_it():
    # The exponentials (which become the gradient) are written into the previous call's
    # memory only once nothing references it: never into a gradient the caller still holds,
    # nor into a live graph's saved exponentials.
    x, lab = _data((2, 3, 12, 10), seed=14, dtype=torch.float64, ignore_every=3)

    def grad_of(a):
        a = a.detach().clone().requires_grad_(True)
        losskit.dice_loss(a, lab, activation="softmax", ignore_index=255).backward()
        return a.grad

    with _numba.disabled():
        ref1, ref2 = grad_of(x), grad_of(x * 2.0)
    g1 = grad_of(x)
    g2 = grad_of(x * 2.0)  # g1 held: a fresh buffer
    assert g1.data_ptr() != g2.data_ptr()
    torch.testing.assert_close(g1, ref1, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g2, ref2, rtol=1e-10, atol=1e-12)
    ptr = g2.data_ptr()
    del g2
    g3 = grad_of(x)  # g2 dropped: its memory is reused
    assert g3.data_ptr() == ptr
    torch.testing.assert_close(g3, ref1, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g1, ref1, rtol=1e-10, atol=1e-12)
    del g3
    # a graph kept alive without its backward keeps its exponentials
    a = x.detach().clone().requires_grad_(True)
    pending = losskit.dice_loss(a, lab, activation="softmax", ignore_index=255)
    g4 = grad_of(x * 2.0)
    pending.backward()
    torch.testing.assert_close(a.grad, ref1, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g4, ref2, rtol=1e-10, atol=1e-12)
    # above the size limit nothing is kept
    seg._BUFFER[0] = None
    old = seg._BUFFER_MAX_BYTES
    try:
        seg._BUFFER_MAX_BYTES = x.numel() * 8 - 1
        grad_of(x)
        assert seg._BUFFER[0] is None
    finally:
        seg._BUFFER_MAX_BYTES = old
    # gradients accumulated into an existing .grad
    b = x.detach().clone().requires_grad_(True)
    for _ in range(3):
        losskit.dice_loss(b, lab, activation="softmax", ignore_index=255).backward()
    torch.testing.assert_close(b.grad, 3 * ref1, rtol=1e-10, atol=1e-12)


def test_compiled_dice_is_one_function_with_its_formula_inside(monkeypatch):
    # dice_loss on the compiled path: sums, formula and reduction in one autograd.Function
    # (no small torch ops after it); the other losses get the sums and apply their formula
    # in torch. A class weight that requires grad takes the sums path, so that its gradient
    # flows (the head treats weights as constants).
    whole, sums = [], []
    real = seg._numba_apply

    def counting(x, labels, ignore_index, head):
        (sums if head is None else whole).append(1)
        return real(x, labels, ignore_index, head)

    monkeypatch.setattr(seg, "_numba_apply", counting)
    x, lab = _data((2, 3, 7, 6), seed=15, dtype=torch.float64)
    x.requires_grad_(True)
    loss = losskit.dice_loss(x, lab, activation="softmax")
    assert (len(whole), len(sums)) == (1, 0)
    assert type(loss.grad_fn).__name__ == "SoftmaxLabelSumsCompiledBackward"
    losskit.jaccard_loss(x, lab, activation="softmax")
    assert (len(whole), len(sums)) == (1, 1)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    losskit.dice_loss(x, lab, activation="softmax", weight=w, reduction="sum").backward()
    assert (len(whole), len(sums)) == (1, 2)
    w0 = w.detach().clone().requires_grad_(True)
    monkeypatch.setattr(seg, "_TORCH_FAST", False)
    losskit.dice_loss(x.detach(), lab, activation="softmax", weight=w0, reduction="sum").backward()
    torch.testing.assert_close(w.grad, w0.grad, **_tol(torch.float64))
