"""The fast paths of the box losses, ``boxes.numba`` (``losskit.boxes._numba``) and
``boxes.torch`` (``losskit.boxes._torch``), beyond their pinning in
``tests/test_fast_paths.py``.

GIoU, DIoU, CIoU, EIoU and SIoU on eager torch tensors run hand-derived kernels (loss and
local gradient in one forward pass): on CPU float32 / float64 tensors the compiled numba
kernel when numba is installed, else (and on accelerators, and with ``LOSSKIT_NUMBA=0``) the
chunked torch kernel; under ``torch.compile``, ``torch.func`` and dispatch modes the
array-API reference runs. Paths are chosen through the public switch only:
``losskit.fast_paths(only=...)`` runs one path, ``losskit.fast_paths(False)`` the reference.
Every test with the ``fast_path`` fixture runs once per path and pins it to the reference --
values and gradients with respect to prediction *and* target -- on random boxes and on the
degenerate cases where hand-derived gradients go wrong (identical boxes, zero width or
height, points, coincident centres, shared edges, inverted boxes, far apart, 1e4 px
coordinates), in float32 (1e-5) and float64 (1e-10); plus ``torch.autograd.gradcheck``,
chunking and thread splits (through the kernels' ``chunk=`` / ``grain=`` keywords), batch
shapes, empty batches, a second backward through a retained graph, ``torch.compile`` and
autocast.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import losskit  # noqa: E402
from helpers import numerical_grad  # noqa: E402
from losskit import _fastpath, _numba  # noqa: E402
from losskit.boxes import _numba as box_numba  # noqa: E402
from losskit.boxes import _torch as box_torch  # noqa: E402
from losskit.boxes._common import FAST_KINDS  # noqa: E402

# (kind, options) pairs: every option of every fast kind, defaults first.
CASES = [
    ("giou", {}),
    ("diou", {}),
    ("ciou", {}),
    ("ciou", {"alpha_threshold": 0.5}),
    ("eiou", {}),
    ("siou", {}),
    ("siou", {"theta": 2.5}),
    ("siou", {"theta": 1.0}),
]
IDS = [k + "".join(f"-{n}={v}" for n, v in o.items()) for k, o in CASES]

TOL = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}


def _need_compiled():
    """Skip unless numba is installed (``fast_paths(only="boxes.numba")`` runs the compiled
    path even where ``LOSSKIT_NUMBA=0`` switches it off for users)."""
    pytest.importorskip("numba")


@pytest.fixture(params=["boxes.torch", "boxes.numba"])
def fast_path(request):
    """The fast path the test runs, alone (``losskit.fast_paths(only=...)``); the numba one
    is skipped when numba is not installed."""
    if request.param == "boxes.numba":
        _need_compiled()
    with losskit.fast_paths(only=request.param):
        yield request.param


#: Each path's entry point, for the tests that call the kernel directly.
_ELEMENTWISE = {"boxes.torch": box_torch.elementwise, "boxes.numba": box_numba.elementwise}


def _public(kind):
    return getattr(losskit, f"{kind}_loss")


def _random_pairs(rng, n, scale=100.0):
    """n valid (pred, target) pairs, mostly overlapping, xyxy."""
    c = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(1, scale / 2, (n, 2))
    t = np.concatenate([c - wh / 2, c + wh / 2], 1)
    cp = c + rng.normal(0, scale / 8, (n, 2))
    whp = wh * rng.uniform(0.5, 1.5, (n, 2))
    p = np.concatenate([cp - whp / 2, cp + whp / 2], 1)
    return p, t


def _boxes():
    """Random pairs followed by the degenerate cases, as float64 NumPy (n, 4) arrays."""
    rng = np.random.default_rng(0)
    p, t = _random_pairs(rng, 64)
    T = [0.0, 0.0, 4.0, 2.0]
    special = [
        ([0.0, 0.0, 4.0, 2.0], T),  # identical: ties in every min / max
        ([1.0, 0.5, 1.0, 3.0], T),  # zero-width prediction
        ([1.0, 1.0, 5.0, 1.0], T),  # zero-height prediction (CIoU's atan(w / 0))
        ([2.0, 1.0, 2.0, 1.0], T),  # a point inside the target
        ([2.0, 1.0, 2.0, 1.0], [2.0, 1.0, 2.0, 1.0]),  # identical points: everything 0 / eps
        ([3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0]),  # two distinct points
        ([0.0, 0.0, 8.0, 8.0], [2.0, 2.0, 6.0, 6.0]),  # coincident centres (SIoU's sigma = 0)
        ([1.0, -1.0, 3.0, 3.0], T),  # same centre x (dx = 0), target inside in x
        ([-3.0, 0.5, 1.0, 1.5], T),  # same centre y (dy = 0)
        ([0.0, -1.0, 2.0, 1.0], T),  # shared left edge (tie in max(x1, x1_gt))
        ([0.0, 0.0, 4.0, 5.0], T),  # shared left, top and right edges
        ([4.0, 0.0, 6.0, 2.0], T),  # touching boxes (zero-width intersection)
        ([3.0, 3.0, 1.0, 1.0], T),  # inverted in x and y, over the target
        ([2.5, 0.0, 0.5, 2.0], T),  # inverted in x only
        ([0.0, 2.0, 4.0, 0.0], T),  # inverted in y, corners on the target's
        ([90.0, 50.0, 80.0, 40.0], T),  # inverted and far away
        ([3.0, 3.0, 1.0, 1.0], [2.0, 2.0, 0.0, 0.0]),  # both inverted
        ([0.0, 0.0, 1.0, 1.0], [5000.0, 3000.0, 5001.0, 3002.0]),  # far apart
        ([100.0, 200.0, 9000.0, 9500.0], [150.0, 100.0, 9900.0, 9800.0]),  # 1e4 px
        ([9000.0, 9000.0, 9010.0, 9004.0], [9001.0, 9000.5, 9011.0, 9005.0]),  # small boxes at 1e4
        ([0.0, 0.0, 4.0, 2.0], [1.0, 0.0, 1.0, 2.0]),  # zero-width target
        ([0.0, 0.0, 1e-3, 2e-3], [0.0, 0.0, 2e-3, 1e-3]),  # tiny boxes (eps matters)
    ]
    sp = np.array([a for a, _ in special])
    st = np.array([b for _, b in special])
    return np.concatenate([p, sp]), np.concatenate([t, st])


def _fast_node(out) -> str | None:
    """The fast path whose node is in the autograd graph of ``out`` ("boxes.torch": the
    torch kernel, "boxes.numba": numba's; read off the per-row node's compute function),
    or None."""
    seen, stack = set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        call = getattr(fn, "call", None)  # losskit._per_row's node keeps (compute, ...)
        if type(fn).__name__ == "LocalGradientBackward" and call is not None:
            return {"losskit.boxes._torch": "boxes.torch", "losskit.boxes._numba": "boxes.numba"}[call[0].__module__]
        stack.extend(f for f, _ in fn.next_functions)
    return None


def _has_fast_node(out) -> bool:
    """True when the autograd graph of ``out`` contains a fast kernel's node."""
    return _fast_node(out) is not None




def _value_and_grads(fn, p, t, **opts):
    pp = p.detach().clone().requires_grad_(True)
    tt = t.detach().clone().requires_grad_(True)
    out = fn(pp, tt, reduction="none", **opts)
    # A weighted sum, so that the per-box upstream gradient is not all ones.
    w = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
    gp, gt = torch.autograd.grad((out * w).sum(), (pp, tt))
    return out.detach(), gp, gt


def _assert_close(actual, expected, dtype, what):
    np.testing.assert_allclose(
        actual.detach().numpy(), expected.detach().numpy(), err_msg=what, **TOL[dtype]
    )


def _assert_grad_close(actual, expected, dtype, what):
    """Gradients of boxes (..., 4): equal to rtol times the box's gradient scale.

    A coordinate's derivative is a sum of terms of the size of the box's largest derivative
    (intersection, union, enclosing box, centres, aspect), and the two paths add them in
    different orders; where they cancel (a derivative of 0.14 from terms of +-300, tiny
    boxes in CIoU) float32 rounding is relative to the terms, not to the small result.
    (There the fast path is the closer one to float64: it sums fewer terms.)
    """
    a = actual.detach().numpy()
    e = expected.detach().numpy()
    scale = np.abs(e).max(axis=-1, keepdims=True)
    tol = TOL[dtype]["atol"] + TOL[dtype]["rtol"] * np.maximum(np.abs(e), scale)
    err = np.abs(a - e)
    bad = np.argwhere(err > tol)
    assert bad.size == 0, (
        f"{what}: {len(bad)} elements differ, first at {tuple(bad[0])}: "
        f"{a[tuple(bad[0])]} vs {e[tuple(bad[0])]} (box scale {scale[tuple(bad[0][:-1])][0]})"
    )


# ---------------------------------------------------------------------------------------
# fast path == generic path
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_fast_path_equals_generic(kind, opts, dtype, fast_path):
    p_np, t_np = _boxes()
    p = torch.tensor(p_np, dtype=dtype)
    t = torch.tensor(t_np, dtype=dtype)
    fn = _public(kind)
    assert kind in FAST_KINDS
    assert _fast_node(fn(p.clone().requires_grad_(True), t, **opts)) == fast_path
    v, gp, gt = _value_and_grads(fn, p, t, **opts)
    with losskit.fast_paths(False):
        rv, rgp, rgt = _value_and_grads(fn, p, t, **opts)
    assert v.dtype == dtype and gp.dtype == dtype
    assert torch.isfinite(v).all() and torch.isfinite(gp).all() and torch.isfinite(gt).all()
    _assert_close(v, rv, dtype, "value")
    _assert_grad_close(gp, rgp, dtype, "d/d pred")
    _assert_grad_close(gt, rgt, dtype, "d/d target")


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_public_loss_dispatches_to_fast_path(kind, opts, fast_path):
    p_np, t_np = _boxes()
    p = torch.tensor(p_np[:4], requires_grad=True)
    t = torch.tensor(t_np[:4])
    assert _fast_node(_public(kind)(p, t, **opts)) == fast_path
    with losskit.fast_paths(False) as used:
        assert not _has_fast_node(_public(kind)(p, t, **opts))
    assert used == set()
    with losskit.fast_paths(only=fast_path) as used:
        assert _fast_node(_public(kind)(p, t, **opts)) == fast_path
    assert used == {fast_path}


def test_switch_restores_after_an_exception():
    p = torch.tensor([[0.0, 0.0, 2.0, 2.0]], requires_grad=True)
    t = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    with pytest.raises(KeyError):
        with losskit.fast_paths(False):
            raise KeyError("boom")
    with losskit.fast_paths() as used:
        assert _has_fast_node(losskit.giou_loss(p, t))
    assert used and used <= {"boxes.numba", "boxes.torch"}


def test_kinds_and_unknown_kind():
    assert FAST_KINDS == frozenset({"giou", "diou", "ciou", "eiou", "siou"})
    p = torch.zeros(2, 4)
    for elementwise in _ELEMENTWISE.values():
        with pytest.raises(ValueError, match="kind: expected one of"):
            elementwise("iou", p, p, eps=1e-7)


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_reductions_and_batch_shapes(kind, opts, fast_path):
    rng = np.random.default_rng(1)
    p_np, t_np = _random_pairs(rng, 6)
    fn = _public(kind)
    # pred (2, 3, 4) against target (3, 4): broadcasting over the leading axis
    p = torch.tensor(p_np.reshape(2, 3, 4))
    t = torch.tensor(t_np[:3])
    for reduction in ("none", "mean", "sum"):
        pp = p.clone().requires_grad_(True)
        tt = t.clone().requires_grad_(True)
        out = fn(pp, tt, reduction=reduction, **opts)
        gp, gt = torch.autograd.grad(out.sum(), (pp, tt))
        with losskit.fast_paths(False):
            pr = p.clone().requires_grad_(True)
            tr = t.clone().requires_grad_(True)
            ref = fn(pr, tr, reduction=reduction, **opts)
            rgp, rgt = torch.autograd.grad(ref.sum(), (pr, tr))
        assert out.shape == ref.shape == ((2, 3) if reduction == "none" else ())
        assert gp.shape == (2, 3, 4) and gt.shape == (3, 4)
        _assert_close(out, ref, torch.float64, reduction)
        _assert_grad_close(gp, rgp, torch.float64, reduction + " d/d pred")
        _assert_grad_close(gt, rgt, torch.float64, reduction + " d/d target (summed over broadcast)")
    # a single box (4,) gives a 0-d loss
    single = fn(torch.tensor(p_np[0]), torch.tensor(t_np[0]), reduction="none", **opts)
    assert single.shape == ()


def test_elementwise_any_batch_shape_and_non_contiguous(fast_path):
    rng = np.random.default_rng(2)
    p_np, t_np = _random_pairs(rng, 24)
    p = torch.tensor(p_np).reshape(2, 3, 4, 4)
    t = torch.tensor(t_np).reshape(2, 3, 4, 4)
    elementwise = _ELEMENTWISE[fast_path]
    out = elementwise("diou", p, t, eps=1e-7)
    assert out.shape == (2, 3, 4)
    # a strided view (every other box of a wider array) gives the same numbers
    wide = torch.zeros(24, 2, 4, dtype=torch.float64)
    wide[:, 0] = torch.tensor(p_np)
    strided = wide[:, 0]
    assert not strided.is_contiguous()
    ref = elementwise("diou", torch.tensor(p_np), torch.tensor(t_np), eps=1e-7)
    out_strided = elementwise("diou", strided, torch.tensor(t_np), eps=1e-7)
    _assert_close(out_strided, ref, torch.float64, "strided")
    _assert_close(out.reshape(-1), ref, torch.float64, "batched")


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_chunking_does_not_change_the_result(kind, opts):
    """The torch kernel's chunks (its ``chunk=`` keyword; the compiled kernel has its own
    test below): chunks of 3 boxes per thread give the numbers of one chunk, bit for bit."""
    p_np, t_np = _boxes()
    p = torch.tensor(p_np, dtype=torch.float32)
    t = torch.tensor(t_np, dtype=torch.float32)

    def fn(a, b, reduction="none", chunk=box_torch.CHUNK, **o):
        assert reduction == "none"
        return box_torch.elementwise(kind, a, b, eps=1e-7, chunk=chunk, **o)

    v, gp, gt = _value_and_grads(fn, p, t, **opts)
    assert p.shape[0] > 3 * torch.get_num_threads() and p.shape[0] < box_torch.CHUNK
    cv, cgp, cgt = _value_and_grads(fn, p, t, chunk=3, **opts)
    with torch.no_grad():
        nv = fn(p, t, chunk=3, **opts)
    assert torch.equal(v, cv) and torch.equal(gp, cgp) and torch.equal(gt, cgt)
    assert torch.equal(v, nv)
    # and the public loss on that path gives the same numbers
    with losskit.fast_paths(only="boxes.torch") as used:
        pv, _, _ = _value_and_grads(_public(kind), p, t, **opts)
    assert used == {"boxes.torch"} and torch.equal(v, pv)


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_only_one_input_requires_grad(kind, opts, fast_path):
    rng = np.random.default_rng(3)
    p_np, t_np = _random_pairs(rng, 5)
    fn = _public(kind)
    p = torch.tensor(p_np)
    t = torch.tensor(t_np, requires_grad=True)
    out = fn(p, t, **opts)
    (gt,) = torch.autograd.grad(out, t)
    with losskit.fast_paths(False):
        tr = torch.tensor(t_np, requires_grad=True)
        (rgt,) = torch.autograd.grad(fn(p, tr, **opts), tr)
    _assert_grad_close(gt, rgt, torch.float64, "d/d target")
    # without any input requiring grad (or under no_grad) no graph is built
    assert fn(p, t.detach(), **opts).grad_fn is None
    with torch.no_grad():
        assert fn(p.requires_grad_(True), t, **opts).grad_fn is None


# ---------------------------------------------------------------------------------------
# gradients against finite differences
# ---------------------------------------------------------------------------------------

_GC_PRED = [[0.0, 0.0, 4.0, 3.0], [1.0, 2.0, 5.0, 8.0], [10.0, 10.0, 13.0, 12.0], [0.0, 0.0, 2.0, 2.0]]
_GC_TARGET = [[1.0, 0.5, 4.5, 3.5], [0.0, 1.0, 4.0, 6.0], [11.0, 9.0, 13.5, 11.0], [5.0, 6.0, 9.0, 8.0]]


# CIoU's detached alpha makes its gradient differ from finite differences by design; it is
# checked against the frozen-alpha function below.
_NOT_CIOU = [(c, i) for c, i in zip(CASES, IDS) if c[0] != "ciou"]


@pytest.mark.parametrize("kind,opts", [c for c, _ in _NOT_CIOU], ids=[i for _, i in _NOT_CIOU])
def test_gradcheck(kind, opts, fast_path):
    """torch.autograd.gradcheck (float64) for both arguments, away from the kinks."""
    p = torch.tensor(_GC_PRED, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(_GC_TARGET, dtype=torch.float64, requires_grad=True)

    def f(a, b):
        return _ELEMENTWISE[fast_path](kind, a, b, eps=1e-7, **opts)

    assert torch.autograd.gradcheck(f, (p, t), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("alpha_threshold", [None, 0.2])
def test_ciou_gradient_has_alpha_detached(alpha_threshold, fast_path):
    """CIoU's alpha is a constant for the gradient (the paper): the gradient is that of
    DIoU + alpha_0 * v with alpha_0 frozen at the evaluation point. Checked against a
    float64 central-difference gradient of that frozen function, for pred and target."""
    p0 = np.array(_GC_PRED)
    t0 = np.array(_GC_TARGET)
    k = 4.0 / math.pi**2
    eps = 1e-7

    def v_of(p, t):
        wp, hp = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
        wt, ht = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]
        return k * (np.arctan(wt / (ht + eps)) - np.arctan(wp / (hp + eps))) ** 2

    def iou_of(p, t):
        iw = np.clip(np.minimum(p[:, 2], t[:, 2]) - np.maximum(p[:, 0], t[:, 0]), 0, None)
        ih = np.clip(np.minimum(p[:, 3], t[:, 3]) - np.maximum(p[:, 1], t[:, 1]), 0, None)
        inter = iw * ih
        area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
        area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
        union = area_p + area_t - inter
        return inter / (union + eps)

    v0, iou0 = v_of(p0, t0), iou_of(p0, t0)
    alpha0 = v0 / ((1 - iou0) + v0 + eps)
    if alpha_threshold is not None:
        alpha0 = np.where(iou0 >= alpha_threshold, alpha0, 0.0)
    assert (alpha0 > 0).any() and (alpha0 == 0).any() == (alpha_threshold is not None)

    def frozen(p, t):
        with losskit.fast_paths(False):
            d = losskit.diou_loss(torch.tensor(p), torch.tensor(t), reduction="none").numpy()
        return d + alpha0 * v_of(p, t)

    opts = {} if alpha_threshold is None else {"alpha_threshold": alpha_threshold}
    p = torch.tensor(p0, requires_grad=True)
    t = torch.tensor(t0, requires_grad=True)
    out = _ELEMENTWISE[fast_path]("ciou", p, t, eps=eps, **opts)
    np.testing.assert_allclose(out.detach().numpy(), frozen(p0, t0), rtol=1e-12)
    gp, gt = torch.autograd.grad(out.sum(), (p, t))
    np.testing.assert_allclose(gp.numpy(), numerical_grad(lambda a: frozen(a, t0), p0), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gt.numpy(), numerical_grad(lambda b: frozen(p0, b), t0), rtol=1e-5, atol=1e-8)


def test_second_derivatives_are_refused_not_wrong():
    """The backward pass multiplies a saved local gradient: it is not differentiable again.
    Asking for a second derivative raises instead of silently dropping terms."""
    p = torch.tensor(_GC_PRED, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(_GC_TARGET, dtype=torch.float64)
    out = losskit.giou_loss(p, t) * p.sum()
    (g,) = torch.autograd.grad(out, p, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        g.sum().backward()


# ---------------------------------------------------------------------------------------
# empty batches, dtypes, torch.compile, autocast
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_empty_batch(kind, opts, fast_path):
    p = torch.zeros(0, 4, requires_grad=True)
    t = torch.zeros(0, 4)
    fn = _public(kind)
    assert fn(p, t, reduction="none", **opts).shape == (0,)
    out = fn(p, t, **opts)  # mean of nothing: 0, graph kept
    assert out.item() == 0.0
    out.backward()
    assert p.grad is not None and p.grad.shape == (0, 4)
    empty = torch.zeros(3, 0, 4)
    assert _ELEMENTWISE[fast_path](kind, empty, empty, eps=1e-7, **opts).shape == (3, 0)
    # both arguments, float64, sum: the fast node is in the graph, gradients of shape (0, 4)
    p = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
    t = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
    out = fn(p, t, reduction="sum", **opts)
    assert _fast_node(out) == fast_path and out.item() == 0.0
    gp, gt = torch.autograd.grad(out, (p, t))
    assert gp.shape == gt.shape == (0, 4) and gp.dtype == torch.float64


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("kind", ["giou", "ciou", "siou"])
def test_half_precision_input_goes_fast_in_float32(kind, dtype, fast_path):
    p_np, t_np = _boxes()
    p = torch.tensor(p_np).to(dtype).requires_grad_(True)
    t = torch.tensor(t_np).to(dtype)
    out = _public(kind)(p, t, reduction="none")
    assert out.dtype == torch.float32 and _has_fast_node(out) and torch.isfinite(out).all()
    (g,) = torch.autograd.grad(out.sum(), p)
    assert g.dtype == dtype
    with losskit.fast_paths(False):
        pr = p.detach().clone().requires_grad_(True)
        ref = _public(kind)(pr, t, reduction="none")
        (rg,) = torch.autograd.grad(ref.sum(), pr)
    _assert_close(out, ref, torch.float32, "value")
    # The gradient comes back in the input's half dtype. Where the float32 gradient exceeds
    # its range it is inf on both paths (CIoU at a point-sized prediction: d v / d w ~ 1 / eps);
    # elsewhere both round the same float32 numbers (up to one half-precision step).
    finite = torch.isfinite(rg.float())
    assert torch.equal(torch.isfinite(g.float()), finite)
    step = 2.0 ** -7 if dtype == torch.bfloat16 else 2.0 ** -10
    a, e = g.float()[finite], rg.float()[finite]
    assert torch.all((a - e).abs() <= step * e.abs() + 1e-6)


@pytest.mark.parametrize(
    "kind,opts",
    [("giou", {}), ("siou", {"theta": 2.5}), ("ciou", {"alpha_threshold": 0.5})],
    ids=["giou", "siou", "ciou"],
)
def test_torch_compile(kind, opts):
    """Under torch.compile the reference runs (the eager-only rule: the compiler sees its
    array operations); it traces with fullgraph (no graph breaks) and gives the fast path's
    numbers."""
    torch._dynamo.reset()
    fn = _public(kind)
    p_np, t_np = _boxes()
    p = torch.tensor(p_np, dtype=torch.float32)
    t = torch.tensor(t_np, dtype=torch.float32)
    compiled = torch.compile(
        lambda a, b: fn(a, b, reduction="sum", **opts), backend="aot_eager", fullgraph=True
    )
    pc = p.clone().requires_grad_(True)
    with losskit.fast_paths() as used:
        out = compiled(pc, t)
        out.backward()
    assert used == set()
    pe = p.clone().requires_grad_(True)
    ref = fn(pe, t, reduction="sum", **opts)
    ref.backward()
    _assert_close(out, ref, torch.float32, "value")
    _assert_close(pc.grad, pe.grad, torch.float32, "d/d pred")


def test_autocast_keeps_float32():
    p_np, t_np = _boxes()
    p = torch.tensor(p_np, dtype=torch.float32)
    t = torch.tensor(t_np, dtype=torch.float32)
    ref, gref, _ = _value_and_grads(losskit.ciou_loss, p, t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, g, _ = _value_and_grads(losskit.ciou_loss, p, t)
    assert out.dtype == torch.float32
    _assert_close(out, ref, torch.float32, "value")
    _assert_grad_close(g, gref, torch.float32, "d/d pred")


@pytest.mark.parametrize(
    "kind,opts",
    [("giou", {}), ("ciou", {"alpha_threshold": 0.5}), ("siou", {"theta": 2.5})],
    ids=["giou", "ciou", "siou"],
)
def test_torch_func_transforms_use_the_generic_kernel(kind, opts):
    """torch.func.grad / vmap run the reference (an autograd.Function without setup_context
    would refuse them): same numbers as autograd on the fast path."""
    rng = np.random.default_rng(4)
    p_np, t_np = _random_pairs(rng, 5)
    p = torch.tensor(p_np)
    t = torch.tensor(t_np)
    fn = _public(kind)
    with losskit.fast_paths() as used:
        g = torch.func.grad(lambda a: fn(a, t, reduction="sum", **opts))(p)
        v = torch.func.vmap(lambda a, b: fn(a, b, reduction="none", **opts))(p, t)
    assert used == set()
    pp = p.clone().requires_grad_(True)
    (ref,) = torch.autograd.grad(fn(pp, t, reduction="sum", **opts), pp)
    _assert_grad_close(g, ref, torch.float64, "torch.func.grad")
    _assert_close(v, fn(p, t, reduction="none", **opts), torch.float64, "vmap")


# ---------------------------------------------------------------------------------------
# the compiled kernel: dispatch, retained graphs, thread splits
# ---------------------------------------------------------------------------------------


def test_LOSSKIT_NUMBA_0_routes_to_the_torch_kernel(monkeypatch):
    """With numba, eager CPU float tensors run the compiled kernel; ``LOSSKIT_NUMBA=0``
    routes them to the torch kernel, with and without gradients (same numbers)."""
    _need_compiled()
    p_np, t_np = _boxes()
    p = torch.tensor(p_np, dtype=torch.float32)
    t = torch.tensor(t_np, dtype=torch.float32)
    with losskit.fast_paths() as used:
        a = losskit.ciou_loss(p.clone().requires_grad_(True), t)
        b = losskit.ciou_loss(p, t)  # no gradient needed
    assert _fast_node(a) == "boxes.numba" and b.grad_fn is None and used == {"boxes.numba"}
    monkeypatch.setenv("LOSSKIT_NUMBA", "0")
    with losskit.fast_paths() as used:
        c = losskit.ciou_loss(p.clone().requires_grad_(True), t)
        d = losskit.ciou_loss(p, t)
    assert _fast_node(c) == "boxes.torch" and used == {"boxes.torch"}
    torch.testing.assert_close(a.detach(), c.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b, d, rtol=1e-5, atol=1e-6)


def test_compiled_kernel_only_for_eager_cpu_float32_float64():
    """The eligibility of the two paths (one rule, losskit._fastpath): the compiled kernel
    takes float32 / float64 CPU tensors of one dtype; half precision and mixed dtypes go to
    the torch kernel; the IoU loss has no fast kernel; dispatch modes and torch.func
    transforms, which must see torch operations, run the reference."""
    _need_compiled()
    from torch.utils._python_dispatch import TorchDispatchMode

    p_np, t_np = _random_pairs(np.random.default_rng(5), 4)
    p = torch.tensor(p_np)
    t = torch.tensor(t_np)

    def chosen(a, b, kind="giou"):
        return _fastpath.select("boxes.elementwise", "torch", a, b, kind=kind)

    assert chosen(p, t) is box_numba.elementwise and chosen(p.float(), t.float()) is box_numba.elementwise
    assert chosen(p, t.float()) is box_torch.elementwise  # mixed dtypes
    assert chosen(p.half(), t.half()) is box_torch.elementwise
    assert chosen(p, t, kind="iou") is None

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops += 1
            return func(*args, **(kwargs or {}))

    with losskit.fast_paths() as used:
        with Count() as mode:
            out = losskit.giou_loss(p, t, reduction="none")
        torch.func.grad(lambda a: losskit.giou_loss(a, t, reduction="sum"))(p)
    assert mode.ops > 10 and used == set()  # the mode saw the reference's operations
    with losskit.fast_paths() as used:
        fast = losskit.giou_loss(p, t, reduction="none")
    assert used == {"boxes.numba"}
    np.testing.assert_allclose(out.numpy(), fast.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind,opts", [("giou", {}), ("ciou", {"alpha_threshold": 0.5}), ("siou", {"theta": 2.5})], ids=["giou", "ciou", "siou"])
def test_second_backward_with_retain_graph(kind, opts, fast_path):
    """The compiled path's backward scales the saved local gradient in place; a second
    backward through the retained graph must recompute it, not reuse the scaled one. Three
    backward passes with different upstream gradients, against the generic path."""
    p_np, t_np = _boxes()
    fn = _public(kind)
    n = p_np.shape[0]
    ws = [torch.linspace(0.5, 1.5, n, dtype=torch.float64), torch.full((n,), -2.0, dtype=torch.float64),
          torch.linspace(3.0, -1.0, n, dtype=torch.float64)]

    def grads(reference):
        p = torch.tensor(p_np, requires_grad=True)
        t = torch.tensor(t_np, requires_grad=True)
        if reference:
            with losskit.fast_paths(False):
                out = fn(p, t, reduction="none", **opts)
        else:
            out = fn(p, t, reduction="none", **opts)
            assert _fast_node(out) == fast_path
        res = [torch.autograd.grad(out, (p, t), w, retain_graph=True) for w in ws]
        # and through .backward(): the gradients accumulate into .grad
        (out * ws[0]).sum().backward(retain_graph=True)
        (out * ws[1]).sum().backward()
        return res, (p.grad, t.grad)

    got, acc = grads(False)
    ref, racc = grads(True)
    for (gp, gt), (rp, rt), w in zip(got, ref, ("w0", "w1", "w2")):
        _assert_grad_close(gp, rp, torch.float64, f"d/d pred, {w}")
        _assert_grad_close(gt, rt, torch.float64, f"d/d target, {w}")
    _assert_grad_close(acc[0], racc[0], torch.float64, "accumulated d/d pred")
    _assert_grad_close(acc[1], racc[1], torch.float64, "accumulated d/d target")


@pytest.mark.parametrize("kind,opts", CASES, ids=IDS)
def test_compiled_thread_splits_do_not_change_the_result(kind, opts):
    """The compiled kernel splits the batch into one range per torch thread (ranges of at
    least ``grain`` boxes, blocks of _BLOCK inside): any split gives the same numbers."""
    _need_compiled()
    rng = np.random.default_rng(6)
    p_np, t_np = _boxes()
    rp, rt = _random_pairs(rng, 300)  # > _BLOCK boxes, so ranges hold several blocks
    p = torch.tensor(np.concatenate([p_np, rp]), dtype=torch.float32)
    t = torch.tensor(np.concatenate([t_np, rt]), dtype=torch.float32)
    assert p.shape[0] > 2 * box_numba._BLOCK and p.shape[0] < box_numba.GRAIN

    def fn(a, b, reduction="none", grain=box_numba.GRAIN, **o):
        return box_numba.elementwise(kind, a, b, eps=1e-7, grain=grain, **o)

    v, gp, gt = _value_and_grads(fn, p, t, **opts)  # one range: the batch is below GRAIN
    threads = torch.get_num_threads()
    try:
        for k in (1, 2, 3):
            torch.set_num_threads(k)
            assert _numba.plan(p.shape[0], k, 7) == k
            cv, cgp, cgt = _value_and_grads(fn, p, t, grain=7, **opts)
            assert torch.equal(v, cv) and torch.equal(gp, cgp) and torch.equal(gt, cgt), k
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", sorted(FAST_KINDS))
def test_non_finite_boxes_give_nan_on_every_path(kind, fast_path):
    """A NaN or infinite coordinate (in either box) makes that box's loss and gradient
    row NaN, as on the generic path; the other boxes are unaffected."""
    nan, inf = float("nan"), float("inf")
    p = torch.tensor([[nan, 0, 2, 2], [0, nan, 2, 2], [0, 0, 2, inf], [0, 0, 2, 2], [-inf, 0, 2, 2], [0, 0, 2, 2]],
                     dtype=torch.float64)
    t = torch.tensor([[1.0, 1, 3, 3]] * 3 + [[nan, 1, 3, 3], [1.0, 1, 3, 3], [1.0, 1, 3, 3]], dtype=torch.float64)
    fn = _public(kind)
    v, gp, gt = _value_and_grads(fn, p, t)
    with losskit.fast_paths(False):
        rv, rgp, rgt = _value_and_grads(fn, p, t)
    bad = torch.tensor([True] * 5 + [False])
    assert torch.equal(v.isnan(), bad) and torch.equal(rv.isnan(), bad)
    assert torch.equal(gp.isnan().any(1), bad) and torch.equal(rgp.isnan().any(1), bad)
    assert torch.equal(gt.isnan().any(1), bad) and torch.equal(rgt.isnan().any(1), bad)
    _assert_close(v[5:], rv[5:], torch.float64, "finite box")
