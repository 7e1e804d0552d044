"""Parity of the classification losses with the libraries people use, random data, every backend.

Peers (versions read at import time and shown in the test ids and assertion messages):

* torch.nn.functional (PyTorch): cross_entropy with every combination of class-index /
  probability targets, ``weight``, ``ignore_index``, ``label_smoothing`` and reduction;
  nll_loss; binary_cross_entropy (incl. exact 0 and 1); binary_cross_entropy_with_logits
  (incl. ``pos_weight``); kl_div (incl. ``log_target`` and ``batchmean``);
  multi_margin_loss (p = 1, 2, margin, weight). Values on every backend, gradients on
  torch; and the generic array-API cross-entropy kernel run on torch tensors is pinned to
  ``F.cross_entropy`` (values and gradients, every option), since on torch the public
  function dispatches to it.
* scikit-learn (sklearn.metrics): log_loss (binary 1-D, (N, 2), multiclass, sample_weight,
  clipping of exact 0 and 1 in the input's dtype) and hinge_loss (binary with {0, 1} and
  {-1, 1} labels, multiclass Crammer-Singer, sample_weight).
* optax (optax.losses): poly_loss_cross_entropy, sigmoid_focal_loss, hinge_loss,
  multiclass_hinge_loss.

Peers run on float64 data (scikit-learn on the backend's float dtype, so that its clipping
eps matches); float32 backends get float32 tolerances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")
F = torch.nn.functional
sklearn = pytest.importorskip("sklearn")
from sklearn import metrics  # noqa: E402
from helpers import optax_peer  # noqa: E402

TORCH = f"torch {torch.__version__}"
SKLEARN = f"scikit-learn {sklearn.__version__}"

RNG = np.random.default_rng(20240601)
N, C = 6, 4
X = RNG.normal(scale=2.0, size=(N, C))
Y = RNG.integers(0, C, size=N)
Y[1] = 2  # the class used as ignore_index below appears
W = RNG.uniform(0.2, 2.0, size=C)
Q = RNG.dirichlet(np.ones(C), size=N)
XS = RNG.normal(size=(2, C, 3))  # (N, C, L): spatial
YS = RNG.integers(0, C, size=(2, 3))
YS[0, 0] = 2


def _tol(xp):
    return (2e-5, 2e-6) if xp.float_dtype == "float32" else (1e-11, 1e-12)


def _t(a):
    a = np.asarray(a)
    return torch.from_numpy(a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64))


def _call(xp, fn, x, t, **kw):
    kw = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return xp.np(xp.call(fn, xp.asarray(x), xp.asarray(t), **kw))


# --------------------------------------------------------------------------- cross_entropy

CE_INDEX = list(itertools.product([False, True], [None, 2, -100], [0.0, 0.15]))
CE_PROBS = list(itertools.product([False, True], [0.0, 0.15]))


def _ce_case(kind, weight, ignore):
    if kind == "probs":
        return X, Q, None
    if kind == "spatial":
        return XS, YS, None
    y = Y.copy()
    if ignore == -100:
        y[0] = -100
    return X, y, ignore


CE_CASES = (
    [("index", w, ii, ls) for w, ii, ls in CE_INDEX]
    + [("probs", w, None, ls) for w, ls in CE_PROBS]
    + [("spatial", True, 2, 0.1)]
)
CE_IDS = [f"{k}-w{int(w)}-ii{ii}-ls{ls}-vs-{TORCH}" for k, w, ii, ls in CE_CASES]


@pytest.mark.parametrize("kind,weight,ignore,smoothing", CE_CASES, ids=CE_IDS)
def test_cross_entropy_vs_torch(xp, kind, weight, ignore, smoothing):
    x, y, ii = _ce_case(kind, weight, ignore)
    rtol, atol = _tol(xp)
    for reduction in ("mean", "sum", "none"):
        expected = F.cross_entropy(
            _t(x), _t(y), weight=_t(W) if weight else None, ignore_index=-100 if ii is None else ii,
            label_smoothing=smoothing, reduction=reduction,
        ).numpy()
        kw = {"weight": W} if weight else {}
        got = _call(xp, losskit.cross_entropy, x, y, ignore_index=ii, label_smoothing=smoothing, reduction=reduction, **kw)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{kind} {reduction} vs {TORCH}")


@pytest.mark.parametrize("kind,weight,ignore,smoothing", CE_CASES, ids=CE_IDS)
def test_generic_cross_entropy_kernel_on_torch_equals_F_cross_entropy(kind, weight, ignore, smoothing):
    """The array-API kernel (what NumPy/JAX run) vs the torch fast path, values and gradients."""
    x, y, ii = _ce_case(kind, weight, ignore)
    xt = _t(x)
    yt = _t(y)
    wt = _t(W) if weight else None
    for reduction in ("mean", "sum", "none"):
        a = xt.clone().requires_grad_(True)
        b = xt.clone().requires_grad_(True)
        kw = {"weight": wt} if weight else {}
        with losskit.fast_paths(False) as used:  # the array-API reference on torch tensors
            ours = losskit.cross_entropy(a, yt, ignore_index=ii, label_smoothing=smoothing, reduction=reduction, **kw)
        assert used == set()
        ref = F.cross_entropy(b, yt, weight=wt, ignore_index=-100 if ii is None else ii,
                              label_smoothing=smoothing, reduction=reduction)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12, msg=f"{reduction} vs {TORCH}")
        ours.sum().backward()
        ref.sum().backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12, msg=f"grad {reduction} vs {TORCH}")
        # the public function (fast path) has the same gradient
        c = xt.clone().requires_grad_(True)
        losskit.cross_entropy(c, yt, ignore_index=ii, label_smoothing=smoothing, reduction=reduction, **kw).sum().backward()
        torch.testing.assert_close(c.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_cross_entropy_all_ignored_is_zero_where_torch_is_nan():
    x = _t(X).requires_grad_(True)
    y = torch.full((N,), 2)
    assert torch.isnan(F.cross_entropy(x, y, ignore_index=2)), f"{TORCH} no longer gives NaN; update the docs"
    for kw in ({}, {"weight": _t(W)}, {"label_smoothing": 0.1}):
        out = losskit.cross_entropy(x, y, ignore_index=2, **kw)
        assert out.item() == 0.0
        (g,) = torch.autograd.grad(out, x)
        assert torch.all(g == 0)


def test_cross_entropy_float32_fast_path_vs_torch_and_within_float32():
    x = torch.from_numpy(X.astype(np.float32))
    y = _t(Y)
    ours = losskit.cross_entropy(x, y, weight=_t(W).float(), ignore_index=2, label_smoothing=0.1)
    ref = F.cross_entropy(x, y, weight=_t(W).float(), ignore_index=2, label_smoothing=0.1)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref)


# --------------------------------------------------------------------------- nll / BCE / KL / multi-margin


@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("ignore", [None, 1])
def test_nll_loss_vs_torch(xp, weight, ignore):
    logp = np.log(Q)
    rtol, atol = _tol(xp)
    for reduction in ("mean", "sum", "none"):
        expected = F.nll_loss(_t(logp), _t(Y), weight=_t(W) if weight else None,
                              ignore_index=-100 if ignore is None else ignore, reduction=reduction).numpy()
        kw = {"weight": W} if weight else {}
        got = _call(xp, losskit.nll_loss, logp, Y, ignore_index=ignore, reduction=reduction, **kw)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"nll {reduction} vs {TORCH}")


P = RNG.uniform(0.02, 0.98, size=(N, C))
P[0, :2] = [0.0, 1.0]  # exact 0 and 1: torch clamps the logs at -100, so do we
T01 = RNG.uniform(size=(N, C))
T01[0, :2] = [1.0, 0.0]
BIN = (RNG.uniform(size=(N, C)) > 0.5).astype(np.float64)


@pytest.mark.parametrize("weight", [None, "full", "row"])
def test_binary_cross_entropy_vs_torch(xp, weight):
    wv = {"full": RNG.uniform(size=(N, C)), "row": RNG.uniform(size=(1, C)), None: None}[weight]
    rtol, atol = _tol(xp)
    for reduction in ("mean", "sum", "none"):
        expected = F.binary_cross_entropy(_t(P), _t(T01), weight=None if wv is None else _t(wv), reduction=reduction).numpy()
        kw = {} if wv is None else {"weight": wv}
        got = _call(xp, losskit.binary_cross_entropy, P, T01, reduction=reduction, **kw)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=max(atol, 1e-5 if xp.float_dtype == "float32" else 0),
                                   err_msg=f"bce {reduction} vs {TORCH}")


def test_binary_cross_entropy_gradient_vs_torch_away_from_the_clamp():
    p = P[1:]
    t = T01[1:]
    a = _t(p).requires_grad_(True)
    b = _t(p).requires_grad_(True)
    losskit.binary_cross_entropy(a, _t(t)).backward()
    F.binary_cross_entropy(b, _t(t)).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12, msg=f"vs {TORCH}")


@pytest.mark.parametrize("pos_weight", [None, "vector", "scalar"])
@pytest.mark.parametrize("weight", [False, True])
def test_bce_with_logits_vs_torch(xp, pos_weight, weight):
    x = X * 3
    pw = {"vector": RNG.uniform(0.5, 3.0, size=C), "scalar": 2.5, None: None}[pos_weight]
    wv = RNG.uniform(size=(N, 1)) if weight else None
    rtol, atol = _tol(xp)
    for reduction in ("mean", "sum", "none"):
        expected = F.binary_cross_entropy_with_logits(
            _t(x), _t(T01), weight=None if wv is None else _t(wv),
            pos_weight=None if pw is None else _t(np.broadcast_to(pw, (C,)).copy()), reduction=reduction,
        ).numpy()
        kw = {"pos_weight": pw}
        if wv is not None:
            kw["weight"] = wv
        got = _call(xp, losskit.binary_cross_entropy_with_logits, x, T01, reduction=reduction, **kw)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"bce_logits {reduction} vs {TORCH}")
    # gradient with the richest options, on torch
    a = _t(x).requires_grad_(True)
    b = _t(x).requires_grad_(True)
    pwt = None if pw is None else _t(np.broadcast_to(pw, (C,)).copy())
    losskit.binary_cross_entropy_with_logits(a, _t(T01), pos_weight=pwt, weight=None if wv is None else _t(wv)).backward()
    F.binary_cross_entropy_with_logits(b, _t(T01), pos_weight=pwt, weight=None if wv is None else _t(wv)).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12, msg=f"vs {TORCH}")


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's own warning
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_vs_torch(xp, log_target):
    logq = np.log(RNG.dirichlet(np.ones(C), size=N))
    p = Q.copy()
    p[0, 0] = 0.0  # a zero target probability (0 log 0 = 0)
    p[0] /= p[0].sum()
    target = np.log(Q) if log_target else p
    rtol, atol = _tol(xp)
    for reduction in ("mean", "batchmean", "sum", "none"):
        expected = F.kl_div(_t(logq), _t(target), reduction=reduction, log_target=log_target).numpy()
        got = _call(xp, losskit.kl_div, logq, target, log_target=log_target, reduction=reduction)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"kl {reduction} vs {TORCH}")


@pytest.mark.parametrize("p,margin,weight", [(1, 1.0, False), (2, 1.0, False), (1, 0.4, True), (2, 2.5, True)])
def test_multi_margin_loss_vs_torch(xp, p, margin, weight):
    x = X * 0.5
    rtol, atol = _tol(xp)
    for reduction in ("mean", "sum", "none"):
        expected = F.multi_margin_loss(_t(x), _t(Y), p=p, margin=margin, weight=_t(W) if weight else None, reduction=reduction).numpy()
        kw = {"weight": W} if weight else {}
        got = _call(xp, losskit.multi_margin_loss, x, Y, p=p, margin=margin, reduction=reduction, **kw)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"multi_margin {reduction} vs {TORCH}")
    a = _t(x).requires_grad_(True)
    b = _t(x).requires_grad_(True)
    losskit.multi_margin_loss(a, _t(Y), p=p, margin=margin, weight=_t(W) if weight else None).backward()
    F.multi_margin_loss(b, _t(Y), p=p, margin=margin, weight=_t(W) if weight else None).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12, msg=f"vs {TORCH}")


# --------------------------------------------------------------------------- scikit-learn


def _sk_dtype(xp):
    return np.float32 if xp.float_dtype == "float32" else np.float64


@pytest.mark.parametrize("case", ["binary-1d", "binary-2col", "multiclass", "weighted", "clipped"], ids=lambda c: f"{c}-vs-{SKLEARN}")
def test_log_loss_vs_sklearn(xp, case):
    dt = _sk_dtype(xp)
    if case == "binary-1d":
        p, y, w = RNG.uniform(size=N), np.array([0, 1, 1, 0, 1, 0]), None
    elif case == "binary-2col":
        p1 = RNG.uniform(size=N)
        p, y, w = np.stack([1 - p1, p1], axis=1), np.array([0, 1, 1, 0, 1, 0]), None
    elif case == "multiclass":
        p, y, w = Q, Y, None
    elif case == "weighted":
        p, y, w = Q, Y, RNG.uniform(0.1, 2.0, size=N)
    else:  # exact zeros and ones: clipped to [eps, 1 - eps] of the input's dtype
        p = np.eye(C)[[0, 1, 2, 3, 0, 1]]
        y = np.array([0, 2, 2, 3, 1, 1])
        w = None
    labels = [0, 1] if p.ndim == 1 or p.shape[1] == 2 else list(range(C))
    expected = metrics.log_loss(y, p.astype(dt), labels=labels, sample_weight=w)
    rtol = 2e-6 if dt == np.float32 else 1e-12
    kw = {} if w is None else {"weight": w}
    got = _call(xp, losskit.log_loss, p, y, **kw)
    np.testing.assert_allclose(got, expected, rtol=rtol, err_msg=f"log_loss {case} vs {SKLEARN}")
    expected_sum = metrics.log_loss(y, p.astype(dt), labels=labels, sample_weight=w, normalize=False)
    np.testing.assert_allclose(_call(xp, losskit.log_loss, p, y, reduction="sum", **kw), expected_sum, rtol=rtol)


@pytest.mark.parametrize("case", ["binary-01", "binary-pm1", "binary-weighted", "multiclass", "multiclass-weighted"], ids=lambda c: f"{c}-vs-{SKLEARN}")
def test_hinge_loss_vs_sklearn(xp, case):
    w = RNG.uniform(0.1, 2.0, size=N) if case.endswith("weighted") else None
    kw = {} if w is None else {"weight": w}
    rtol, atol = _tol(xp)
    if case.startswith("binary"):
        f = X[:, 0]
        y = np.array([0, 1, 1, 0, 1, 0]) if case != "binary-pm1" else np.array([-1, 1, 1, -1, 1, -1])
        expected = metrics.hinge_loss(y, f, sample_weight=w)
        got = _call(xp, losskit.hinge_loss, f, y, **kw)
    else:
        expected = metrics.hinge_loss(Y, X, labels=list(range(C)), sample_weight=w)
        got = _call(xp, losskit.multiclass_hinge_loss, X, Y, **kw)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"hinge {case} vs {SKLEARN}")


# --------------------------------------------------------------------------- optax


def test_poly_loss_vs_optax(xp):
    optax, jnp, version = optax_peer()
    rtol, atol = _tol(xp)
    for eps in (2.0, -1.0, 0.5):
        expected = np.asarray(optax.losses.poly_loss_cross_entropy(jnp.asarray(X), jnp.asarray(Q), epsilon=eps))
        got = _call(xp, losskit.poly1_cross_entropy, X, Q, epsilon=eps, axis=-1, reduction="none")
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"poly eps={eps} vs {version}")
        onehot = np.eye(C)[Y]
        expected = np.asarray(optax.losses.poly_loss_cross_entropy(jnp.asarray(X), jnp.asarray(onehot), epsilon=eps))
        got = _call(xp, losskit.poly1_cross_entropy, X, Y, epsilon=eps, axis=-1, reduction="none")
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"poly index eps={eps} vs {version}")


@pytest.mark.parametrize("alpha,gamma", [(None, 2.0), (0.25, 2.0), (0.7, 0.5), (None, 0.0)])
def test_sigmoid_focal_loss_vs_optax(xp, alpha, gamma):
    optax, jnp, version = optax_peer()
    x = X * 3
    rtol, atol = _tol(xp)
    for t in (BIN, T01):
        expected = np.asarray(optax.losses.sigmoid_focal_loss(jnp.asarray(x), jnp.asarray(t), alpha=alpha, gamma=gamma))
        got = _call(xp, losskit.sigmoid_focal_loss, x, t, alpha=alpha, gamma=gamma, reduction="none")
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"sigmoid focal vs {version}")


def test_hinge_losses_vs_optax(xp):
    optax, jnp, version = optax_peer()
    rtol, atol = _tol(xp)
    ypm = np.where(BIN > 0, 1.0, -1.0)
    expected = np.asarray(optax.losses.hinge_loss(jnp.asarray(X), jnp.asarray(ypm)))
    np.testing.assert_allclose(_call(xp, losskit.hinge_loss, X, ypm, reduction="none"), expected,
                               rtol=rtol, atol=atol, err_msg=f"hinge vs {version}")
    expected = np.asarray(optax.losses.multiclass_hinge_loss(jnp.asarray(X), jnp.asarray(Y)))
    np.testing.assert_allclose(_call(xp, losskit.multiclass_hinge_loss, X, Y, axis=-1, reduction="none"), expected,
                               rtol=rtol, atol=atol, err_msg=f"multiclass hinge vs {version}")
