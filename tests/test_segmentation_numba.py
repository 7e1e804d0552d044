"""The compiled CPU path of the Dice family (``segmentation.numba``: softmax + integer
labels, numba kernels in ``losskit.segmentation._numba``) pinned to the reference: values
and gradients (float32 to 1e-5, float64 to 1e-10), on random and degenerate inputs, through
every option that reaches it; the conditions under which it is (not) used; and what the
case table cannot express: the kernels' split over threads, the buffer it reuses, a second
backward with ``retain_graph``, the loss fused into one ``autograd.Function``.

Paths are switched with ``losskit.fast_paths``: ``only="segmentation.numba"`` (which runs
it even where ``LOSSKIT_NUMBA=0`` switched it off for the rest of the suite) against
``fast_paths(False)`` (the reference). The fused torch path is pinned in
test_segmentation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
torch = pytest.importorskip("torch")

import losskit  # noqa: E402
from losskit import _numba as numba_infra  # noqa: E402
from losskit.segmentation import _common  # noqa: E402
from losskit.segmentation import _numba as kernels  # noqa: E402

NUMBA = "segmentation.numba"


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)


def _compiled_and_generic(fn, x, lab, grad_out=None, **kw):
    """(value, gradient) of ``fn`` on the compiled path and on the reference; the compiled
    path must have run."""
    out = []
    for switch in ({"only": NUMBA}, {"enabled": False}):
        a = x.detach().clone().requires_grad_(True)
        with losskit.fast_paths(**switch) as used:
            v = fn(a, lab, **kw)
            go = torch.ones_like(v) if grad_out is None else grad_out
            (g,) = torch.autograd.grad(v, a, go)
        assert used == ({NUMBA} if "only" in switch else set()), "the compiled path did not run"
        out.append((v.detach(), g))
    return out


def _assert_pinned(fn, x, lab, **kw):
    (v1, g1), (v0, g0) = _compiled_and_generic(fn, x, lab, **kw)
    tol = _tol(x.dtype)
    torch.testing.assert_close(v1, v0, **tol)
    torch.testing.assert_close(g1, g0, **tol)
    return v1, g1


def _runs_compiled(fn, *args, **kw):
    """``fn(*args, **kw)`` and whether the compiled path ran it (all paths allowed)."""
    with losskit.fast_paths(True) as used:
        out = fn(*args, **kw)
    return out, NUMBA in used


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
def test_compiled_dice_equals_generic(dtype, kw):
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
    (v1, g1), (v0, g0) = _compiled_and_generic(losskit.dice_loss, x, lab, grad_out=gout, **kw)
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
        "negative_ignore_index",
        "uint8_negative_ignore_index",
    ],
)
def test_compiled_dice_equals_generic_more_cases(case, dtype):
    shape = {"3d": (2, 3, 5, 6, 7), "many_classes": (2, 19, 9, 8), "one_pixel": (2, 3, 1)}.get(case, (2, 3, 16, 17))
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
    _assert_pinned(losskit.dice_loss, x, lab, **kw)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_kernels_split_over_two_threads(dtype):
    # the kernels' split (two ranges, one inside a sample), which the loss leaves off
    # (kernels.THREADS = 1): sums and gradients equal to one thread's
    x, lab = _data((3, 3, 100, 200), seed=1, dtype=dtype)
    lab.view(-1)[::7] = 255
    x, lab = x.reshape(3, 3, -1), lab.reshape(3, -1)
    assert numba_infra.plan(3 * 100 * 200, 2) == 2
    res = []
    for threads in (1, 2):
        a = x.clone().requires_grad_(True)
        I, P, G = kernels.apply(a, lab, 255, threads=threads, buffers=kernels.BufferCache(0))
        (0.7 * I - 1.3 * P.square()).sum().backward()
        res.append((I.detach(), P.detach(), G, a.grad))
    for u, v in zip(*res):
        torch.testing.assert_close(u, v, **_tol(dtype))


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
def test_compiled_path_serves_the_other_overlap_losses(fn, kw, dtype):
    x, lab = _data((2, 3, 11, 13), seed=2, dtype=dtype, ignore_every=4 if "ignore_index" in kw else None)
    _assert_pinned(fn, x, lab, activation="softmax", **kw)


def test_compiled_path_serves_dice_ce():
    x, lab = _data((2, 3, 11, 13), seed=3, dtype=torch.float64, ignore_every=4)
    _assert_pinned(losskit.dice_ce_loss, x, lab, ignore_index=255, lambda_ce=0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_sums_and_their_gradients_one_at_a_time(dtype):
    # I, P, G and validity against the reference kernel, and gradients of any combination
    # of I and P (a backward that reaches only I, or only P, gets None for the other).
    x0, lab = _data((2, 3, 40, 9), seed=4, dtype=dtype)
    x0, lab = x0.reshape(2, 3, -1), lab.reshape(2, -1)
    lab[0, ::3] = 7
    lab[1, :] = 7  # a sample without a valid pixel
    xp = _common.namespace(x0)
    for ignore in (None, 7):
        lab_c = lab if ignore is not None else lab.clamp(max=2)
        mask = None if ignore is None else lab != ignore
        lab_m = lab_c if mask is None else torch.where(mask, lab_c, 0)
        for which in ("I", "P", "both"):
            res = []
            for path in ("compiled", "generic", "generic64"):
                x = (x0.double() if path == "generic64" else x0).clone().requires_grad_(True)
                if path == "compiled":
                    I, P, G = kernels.apply(x, lab_c, ignore)
                    I, P, G, valid = _common.validity_and_pooling(I, P, G, ignore is not None, False, xp)
                else:
                    I, P, G, valid = _common.overlap_sums(torch.softmax(x, 1), lab_m, None, mask, xp)
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
                # by ~1e-5 of its scale (here ~3e-5 for the reference). The compiled
                # one must be as accurate: compared with the float64 gradient.
                err_c, err_g = float((g_c - g_64).abs().max()), float((g_g - g_64).abs().max())
                scale = float(g_64.abs().max())
                assert err_c <= 2.0 * err_g + 1e-6 * scale, (which, ignore, err_c, err_g, scale)


def test_compiled_second_backward_with_retain_graph():
    # The first backward writes the gradient into the exponentials' memory; a second one
    # through the same graph recomputes them instead of reading it.
    x, lab = _data((2, 3, 20, 30), seed=5, dtype=torch.float64, ignore_every=3)
    x.requires_grad_(True)
    with losskit.fast_paths(only=NUMBA) as used:
        loss = losskit.dice_loss(x, lab, activation="softmax", ignore_index=255)
        (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
        (g2,) = torch.autograd.grad(loss, x, retain_graph=True)
        loss.backward()
    assert used == {NUMBA}
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, g1, rtol=0, atol=0)
    a = x.detach().clone().requires_grad_(True)
    with losskit.fast_paths(False):  # and it is the gradient of the reference
        losskit.dice_loss(a, lab, activation="softmax", ignore_index=255).backward()
    torch.testing.assert_close(g1, a.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(0, 3, 4, 5), (2, 3, 0, 5)])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_compiled_empty_batch_and_empty_image(shape, ignore_index):
    x = torch.zeros(shape, requires_grad=True)
    lab = torch.zeros((shape[0],) + shape[2:], dtype=torch.int64)
    (v1, g1), (v0, g0) = _compiled_and_generic(losskit.dice_loss, x, lab, activation="softmax", ignore_index=ignore_index)
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(g1, g0)
    assert g1.shape == shape and torch.all(g1 == 0)


def test_compiled_nan_logits_propagate_like_the_generic_path():
    x, lab = _data((2, 3, 6, 5), seed=6)
    x[0, 1, 2, 3] = float("nan")
    (v1, g1), (v0, g0) = _compiled_and_generic(losskit.dice_loss, x, lab, activation="softmax", reduction="none")
    torch.testing.assert_close(v1, v0, equal_nan=True, rtol=1e-5, atol=1e-6)
    assert torch.isnan(v1[0]).all() and torch.isfinite(v1[1]).all()
    torch.testing.assert_close(g1, g0, equal_nan=True, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_dtype", [torch.int64, torch.int32, torch.uint8, torch.int16, torch.uint64])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_compiled_out_of_range_labels_raise_like_the_generic_path(ignore_index, label_dtype):
    # int64, int32 and uint8 labels reach the kernels as they are (compiled per dtype); others
    # are widened to int64 first
    x, lab = _data((2, 3, 6, 5), seed=7)
    lab = lab.to(label_dtype)
    with losskit.fast_paths(only=NUMBA) as used:
        for bad in (3, -1) if label_dtype.is_signed else (3, 200):
            lab2 = lab.clone()
            lab2[1, 4, 2] = bad
            extra = " or ignore_index=255" if ignore_index is not None else ""
            with pytest.raises(ValueError, match=rf"target: expected class indices in \[0, 2\]{extra}, got {bad}"):
                losskit.dice_loss(x, lab2, activation="softmax", ignore_index=ignore_index)
        if ignore_index is not None:  # ignored pixels may hold any value
            lab2 = lab.clone()
            lab2[0, 0, 0] = 255
            losskit.dice_loss(x, lab2, activation="softmax", ignore_index=255)
        with pytest.raises(TypeError, match="ignore_index: expected an int or None"):
            losskit.dice_loss(x, lab, activation="softmax", ignore_index=1.5)
        with pytest.raises(ValueError, match="ignore_index: expected an int in the int64 range"):
            losskit.dice_loss(x, lab, activation="softmax", ignore_index=2**64)
    assert used == {NUMBA}


def test_compiled_half_precision_no_grad_and_autocast():
    x, lab = _data((2, 3, 6, 5), seed=8)
    ref, ran = _runs_compiled(losskit.dice_loss, x, lab, activation="softmax", reduction="none")
    assert ran
    for dt in (torch.float16, torch.bfloat16):
        xh = (x * 30).to(dt).requires_grad_(True)
        out, ran = _runs_compiled(losskit.dice_loss, xh, lab, activation="softmax")
        assert ran
        out.backward()
        assert out.dtype == torch.float32 and torch.isfinite(out) and xh.grad.dtype == dt
        assert torch.isfinite(xh.grad.float()).all()
    with torch.no_grad():
        out, ran = _runs_compiled(losskit.dice_loss, x, lab, activation="softmax", reduction="none")
        assert ran
        torch.testing.assert_close(out, ref)
    with torch.inference_mode():
        out, ran = _runs_compiled(losskit.dice_loss, x, lab, activation="softmax", reduction="none")
        assert ran
        torch.testing.assert_close(out, ref)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, ran = _runs_compiled(losskit.dice_loss, x, lab, activation="softmax", reduction="none")
        assert ran
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_compiled_path_is_used_only_where_it_may_be():
    x, lab = _data((2, 3, 6, 5), seed=9)
    assert _runs_compiled(losskit.dice_loss, x, lab, activation="softmax")[1]
    with losskit.fast_paths(only="segmentation.torch") as used:  # numba off: the fused torch path
        losskit.dice_loss(x, lab, activation="softmax")
    assert used == {"segmentation.torch"}
    # other activations, squared, dense targets, NumPy: the reference
    onehot = torch.nn.functional.one_hot(lab, 3).movedim(-1, 1).float()
    for args, kw in (((x, lab), {"activation": "sigmoid"}), ((x, lab), {"activation": "softmax", "squared": True}),
                     ((x, onehot), {"activation": "softmax"}), ((x.numpy(), lab.numpy()), {"activation": "softmax"})):
        with losskit.fast_paths(True) as used:
            losskit.dice_loss(*args, **kw)
        assert used == set(), kw
    # torch.func transforms (the fused Functions have no functorch rules)
    x1, lab1 = x[:1], lab[:1]
    assert _runs_compiled(losskit.dice_loss, x1, lab1, activation="softmax")[1]  # eager: compiled
    with losskit.fast_paths(True) as used:
        g = torch.func.grad(lambda a: losskit.dice_loss(a, lab1, activation="softmax"))(x1)
    assert used == set()
    a = x1.clone().requires_grad_(True)
    losskit.dice_loss(a, lab1, activation="softmax").backward()
    torch.testing.assert_close(g, a.grad, rtol=1e-5, atol=1e-7)


def test_compiled_path_under_torch_compile_is_not_traced():
    x, lab = _data((2, 3, 6, 5), seed=10)
    fn = torch.compile(lambda a, b: losskit.dice_loss(a, b, activation="softmax"), backend="eager", fullgraph=False)
    with losskit.fast_paths(True) as used:
        out = fn(x, lab)
    assert used == set()  # dynamo traced the reference
    torch.testing.assert_close(out, losskit.dice_loss(x, lab, activation="softmax"), rtol=1e-5, atol=1e-7)


def test_compiled_module_equals_function():
    import losskit.torch as lt

    x, lab = _data((2, 3, 6, 5), seed=12)
    mod = lt.DiceLoss(activation="softmax", ignore_index=255, batch=True)
    torch.testing.assert_close(mod(x, lab), losskit.dice_loss(x, lab, activation="softmax", ignore_index=255, batch=True))
    assert "ignore_index=255" in repr(mod)


def test_kernels_directly_on_numpy_match_a_one_hot_reference():
    # the kernels alone, on NumPy arrays (what the torch Function hands them); reference
    # straight from the definition with an explicit one-hot
    k = kernels
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

    def grad_of(a, switch=None):
        a = a.detach().clone().requires_grad_(True)
        with losskit.fast_paths(**(switch or {"only": NUMBA})) as used:
            losskit.dice_loss(a, lab, activation="softmax", ignore_index=255).backward()
        assert used == ({NUMBA} if switch is None else set())
        return a.grad

    ref1, ref2 = grad_of(x, {"enabled": False}), grad_of(x * 2.0, {"enabled": False})
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
    with losskit.fast_paths(only=NUMBA):
        pending = losskit.dice_loss(a, lab, activation="softmax", ignore_index=255)
    g4 = grad_of(x * 2.0)
    pending.backward()
    torch.testing.assert_close(a.grad, ref1, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g4, ref2, rtol=1e-10, atol=1e-12)
    # gradients accumulated into an existing .grad
    b = x.detach().clone().requires_grad_(True)
    with losskit.fast_paths(only=NUMBA):
        for _ in range(3):
            losskit.dice_loss(b, lab, activation="softmax", ignore_index=255).backward()
    torch.testing.assert_close(b.grad, 3 * ref1, rtol=1e-10, atol=1e-12)


def test_buffer_cache_keeps_at_most_its_limit():
    # above the size limit nothing is kept (a cache of its own, not the loss's)
    x, lab = _data((2, 3, 12, 10), seed=14, dtype=torch.float64)
    x, lab = x.reshape(2, 3, -1), lab.reshape(2, -1)
    for limit, kept in ((x.numel() * 8 - 1, False), (x.numel() * 8, True)):
        cache = kernels.BufferCache(max_bytes=limit)
        a = x.clone().requires_grad_(True)
        I, P, G = kernels.apply(a, lab, None, buffers=cache)
        I.sum().backward()
        assert cache.kept() is kept
        del a, I, P, G
        if kept:  # nothing holds the gradient any more: the next call takes the buffer
            assert cache.take(x) is not None and not cache.kept()


def test_compiled_dice_is_one_function_with_its_formula_inside():
    # dice_loss on the compiled path: sums, formula and reduction in one autograd.Function
    # (no small torch ops after it); the other losses get the sums and apply their formula
    # in torch. A class weight that requires grad takes the sums path, so that its gradient
    # flows (the head treats weights as constants).
    x, lab = _data((2, 3, 7, 6), seed=15, dtype=torch.float64)
    x.requires_grad_(True)
    whole = "SoftmaxLabelSumsCompiledBackward"
    with losskit.fast_paths(only=NUMBA) as used:
        loss = losskit.dice_loss(x, lab, activation="softmax")
        assert type(loss.grad_fn).__name__ == whole
        jac = losskit.jaccard_loss(x, lab, activation="softmax")
        assert type(jac.grad_fn).__name__ != whole
        w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
        weighted = losskit.dice_loss(x, lab, activation="softmax", weight=w, reduction="sum")
        assert type(weighted.grad_fn).__name__ != whole
        weighted.backward()
    assert used == {NUMBA}
    w0 = w.detach().clone().requires_grad_(True)
    with losskit.fast_paths(False):
        losskit.dice_loss(x.detach(), lab, activation="softmax", weight=w0, reduction="sum").backward()
    torch.testing.assert_close(w.grad, w0.grad, **_tol(torch.float64))
