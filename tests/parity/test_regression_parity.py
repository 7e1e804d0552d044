"""Parity of the regression losses with the libraries people use, on random data, every backend.

Peers (versions read at import time and shown in the test ids and assertion messages):

* torch.nn.functional (PyTorch): mse_loss, l1_loss, huber_loss, smooth_l1_loss,
  poisson_nll_loss (log_input x full), gaussian_nll_loss (full, variance shapes); values on
  every backend and input / variance gradients on torch.
* scikit-learn (sklearn.metrics): mean_pinball_loss, mean_squared_log_error, and
  mean_squared_error / mean_absolute_error with sample_weight, which pin our weighted-mean
  convention (``weight`` of shape ``(N, 1)`` on ``(N, D)`` targets = sample weights).
* optax (optax.losses): log_cosh, huber_loss and l2_loss (optax's ``l2_loss`` is half the
  squared error), on jax arrays.

The peer always runs on float64 NumPy / torch / jax data; our loss runs on the backend under
test (float32 backends get float32 tolerances).
"""

from __future__ import annotations

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

RNG = np.random.default_rng(20231124)
X = RNG.normal(scale=2.0, size=(6, 5))
T = RNG.normal(scale=2.0, size=(6, 5))


def _tol(xp):
    return (1e-5, 1e-5) if xp.float_dtype == "float32" else (1e-12, 1e-12)


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


# --------------------------------------------------------------------------- torch.nn.functional

TORCH_CASES = [
    ("mse_loss", losskit.mse_loss, F.mse_loss, {}),
    ("l1_loss", losskit.l1_loss, F.l1_loss, {}),
    ("huber_loss", losskit.huber_loss, F.huber_loss, {"delta": 1.0}),
    ("huber_loss", losskit.huber_loss, F.huber_loss, {"delta": 0.37}),
    ("huber_loss", losskit.huber_loss, F.huber_loss, {"delta": 3.5}),
    ("smooth_l1_loss", losskit.smooth_l1_loss, F.smooth_l1_loss, {"beta": 1.0}),
    ("smooth_l1_loss", losskit.smooth_l1_loss, F.smooth_l1_loss, {"beta": 0.2}),
    ("smooth_l1_loss", losskit.smooth_l1_loss, F.smooth_l1_loss, {"beta": 0.0}),
]


@pytest.mark.parametrize(
    "name,ours,theirs,opts",
    TORCH_CASES,
    ids=[f"{c[0]}-{c[3]}-vs-{TORCH}" for c in TORCH_CASES],
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_vs_torch(xp, name, ours, theirs, opts, reduction):
    expected = theirs(_t(X), _t(T), reduction=reduction, **opts).numpy()
    got = xp.call(lambda a, b: ours(a, b, reduction=reduction, **opts), xp.asarray(X), xp.asarray(T))
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol, err_msg=f"{name} {opts} vs {TORCH}")


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_poisson_nll_vs_torch(xp, log_input, full, reduction):
    # log-rates anywhere; rates >= 0 (one exact 0 to exercise eps); counts 0..7 (Stirling
    # applies only to counts > 1 in torch: 0 and 1 are included to pin that)
    x = RNG.normal(size=(4, 6)) if log_input else np.abs(RNG.normal(scale=3.0, size=(4, 6)))
    if not log_input:
        x[0, 0] = 0.0
    t = RNG.integers(0, 8, size=(4, 6)).astype(np.float64)
    t[0, :3] = [0.0, 1.0, 2.0]
    expected = F.poisson_nll_loss(_t(x), _t(t), log_input=log_input, full=full, reduction=reduction).numpy()
    got = xp.call(
        lambda a, b: losskit.poisson_nll_loss(a, b, log_input=log_input, full=full, reduction=reduction),
        xp.asarray(x), xp.asarray(t),
    )
    rtol, atol = _tol(xp)
    if not log_input and xp.float_dtype == "float32":
        # x = 0: 0 - t log(0 + 1e-8), and log(1e-8) in float32 carries ~1e-7 relative error
        rtol = 2e-5
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol,
                               err_msg=f"poisson_nll log_input={log_input} full={full} vs {TORCH}")


VAR_SHAPES = {
    "same": (6, 5),          # heteroscedastic
    "one_short": (6,),       # torch's homoscedastic form: var[..., None]
    "column": (6, 1),        # broadcastable
}


@pytest.mark.parametrize("var_shape", list(VAR_SHAPES), ids=[f"{k}-vs-{TORCH}" for k in VAR_SHAPES])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gaussian_nll_vs_torch(xp, var_shape, full, reduction):
    var = RNG.uniform(0.05, 3.0, size=VAR_SHAPES[var_shape])
    var.flat[0] = 1e-9  # below eps: clamped to eps in both
    expected = F.gaussian_nll_loss(_t(X), _t(T), _t(var), full=full, reduction=reduction).numpy()
    got = xp.call(
        lambda a, b, v: losskit.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
        xp.asarray(X), xp.asarray(T), xp.asarray(var),
    )
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol, err_msg=f"gaussian_nll {var_shape} vs {TORCH}")


def test_gaussian_nll_float_var_vs_torch(xp):
    expected = F.gaussian_nll_loss(_t(X), _t(T), 0.7).numpy()
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(losskit.gaussian_nll_loss(xp.asarray(X), xp.asarray(T), 0.7)), expected,
                               rtol=rtol, atol=atol, err_msg=f"vs {TORCH}")
    # torch rejects a (1, 1) var on a (6, 5) input (two broadcast axes); we broadcast it
    # like any array, which is the same as the number
    np.testing.assert_allclose(xp.np(losskit.gaussian_nll_loss(xp.asarray(X), xp.asarray(T), xp.asarray(np.full((1, 1), 0.7)))),
                               expected, rtol=rtol, atol=atol, err_msg=f"vs {TORCH}")


@pytest.mark.parametrize(
    "name,ours,theirs,opts", TORCH_CASES, ids=[f"{c[0]}-{c[3]}-vs-{TORCH}" for c in TORCH_CASES]
)
def test_input_gradients_vs_torch(name, ours, theirs, opts):
    x1, x2 = _t(X).requires_grad_(), _t(X).requires_grad_()
    theirs(x1, _t(T), **opts).backward()
    ours(x2, _t(T), **opts).backward()
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=1e-13, atol=1e-15, err_msg=f"{name} vs {TORCH}")


@pytest.mark.parametrize("log_input,full", [(True, False), (True, True), (False, True)])
def test_poisson_gradients_vs_torch(log_input, full):
    x = np.abs(X) + 0.1 if not log_input else X
    t = np.round(np.abs(T) * 2)
    x1, x2 = _t(x).requires_grad_(), _t(x).requires_grad_()
    F.poisson_nll_loss(x1, _t(t), log_input=log_input, full=full).backward()
    losskit.poisson_nll_loss(x2, _t(t), log_input=log_input, full=full).backward()
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=1e-12, err_msg=f"vs {TORCH}")


def test_gaussian_gradients_vs_torch_including_clamped_var():
    var = RNG.uniform(0.05, 3.0, size=X.shape)
    var[0, :2] = [1e-9, 0.0]  # clamped: torch's gradient passes through the clamp
    x1, x2 = _t(X).requires_grad_(), _t(X).requires_grad_()
    v1, v2 = _t(var).requires_grad_(), _t(var).requires_grad_()
    F.gaussian_nll_loss(x1, _t(T), v1, full=True).backward()
    losskit.gaussian_nll_loss(x2, _t(T), v2, full=True).backward()
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=1e-12, err_msg=f"vs {TORCH}")
    np.testing.assert_allclose(v2.grad.numpy(), v1.grad.numpy(), rtol=1e-12, err_msg=f"vs {TORCH}")
    assert v2.grad[0, 0] != 0  # not the zero gradient of a plain clamp


# --------------------------------------------------------------------------- scikit-learn


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.83])
@pytest.mark.parametrize("weighted", [False, True], ids=[f"unweighted-vs-{SKLEARN}", f"weighted-vs-{SKLEARN}"])
def test_pinball_vs_sklearn(xp, quantile, weighted):
    sw = RNG.uniform(0.1, 2.0, size=X.shape[0]) if weighted else None
    # sklearn: truth first; multioutput: per-output weighted mean over samples, then uniform
    expected = metrics.mean_pinball_loss(T, X, alpha=quantile, sample_weight=sw)
    kw = {"weight": xp.asarray(sw[:, None])} if weighted else {}
    got = losskit.quantile_loss(xp.asarray(X), xp.asarray(T), quantile=quantile, **kw)
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol, err_msg=f"vs {SKLEARN}")


@pytest.mark.parametrize("weighted", [False, True], ids=[f"unweighted-vs-{SKLEARN}", f"weighted-vs-{SKLEARN}"])
def test_msle_vs_sklearn(xp, weighted):
    y_pred, y_true = np.abs(X) * 3, np.abs(T) * 3
    sw = RNG.uniform(0.1, 2.0, size=X.shape[0]) if weighted else None
    expected = metrics.mean_squared_log_error(y_true, y_pred, sample_weight=sw)
    kw = {"weight": xp.asarray(sw[:, None])} if weighted else {}
    got = losskit.msle_loss(xp.asarray(y_pred), xp.asarray(y_true), **kw)
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol, err_msg=f"vs {SKLEARN}")


def test_msle_rejects_what_sklearn_rejects():
    y = np.array([0.5, -1.0])
    with pytest.raises(ValueError):
        metrics.mean_squared_log_error(np.zeros(2), y)
    with pytest.raises(ValueError, match="input: expected values > -1"):
        losskit.msle_loss(y, np.zeros(2))
    # values in (-1, 0) are accepted by both (scikit-learn >= 1.6)
    y = np.array([0.5, -0.5])
    assert float(losskit.msle_loss(y, np.zeros(2))) == pytest.approx(
        metrics.mean_squared_log_error(np.zeros(2), y), rel=1e-14), SKLEARN


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize(
    "ours,theirs",
    [(losskit.mse_loss, metrics.mean_squared_error), (losskit.l1_loss, metrics.mean_absolute_error)],
    ids=[f"mse-vs-{SKLEARN}", f"mae-vs-{SKLEARN}"],
)
def test_weighted_mean_convention_vs_sklearn_sample_weight(xp, ours, theirs, ndim):
    x, t = (X[:, 0], T[:, 0]) if ndim == 1 else (X, T)
    sw = RNG.uniform(0.0, 2.0, size=X.shape[0])
    sw[1] = 0.0  # a zero weight drops the sample from numerator and denominator
    expected = theirs(t, x, sample_weight=sw)
    w = sw if ndim == 1 else sw[:, None]
    got = ours(xp.asarray(x), xp.asarray(t), weight=xp.asarray(w))
    rtol, atol = _tol(xp)
    np.testing.assert_allclose(xp.np(got), expected, rtol=rtol, atol=atol, err_msg=f"{theirs.__name__} vs {SKLEARN}")
    # unweighted too
    np.testing.assert_allclose(xp.np(ours(xp.asarray(x), xp.asarray(t))), theirs(t, x), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- optax


def test_log_cosh_huber_l2_vs_optax(xp):
    optax, jnp, peer = optax_peer()
    x, t = X * 50, T  # residuals up to ~300: cosh(300) is ~1e130, still finite in float64
    rtol, atol = _tol(xp)
    if xp.float_dtype == "float32":
        atol = 1e-4  # |d| ~ 300: float32 spacing there is ~3e-5
    exp_lc = np.asarray(optax.losses.log_cosh(jnp.asarray(x), jnp.asarray(t)))
    got = xp.call(lambda a, b: losskit.log_cosh_loss(a, b, reduction="none"), xp.asarray(x), xp.asarray(t))
    np.testing.assert_allclose(xp.np(got), exp_lc, rtol=rtol, atol=atol, err_msg=f"log_cosh vs {peer}")
    for delta in (1.0, 2.5):
        exp_h = np.asarray(optax.losses.huber_loss(jnp.asarray(X), jnp.asarray(T), delta=delta))
        got = xp.call(lambda a, b: losskit.huber_loss(a, b, delta=delta, reduction="none"), xp.asarray(X), xp.asarray(T))
        np.testing.assert_allclose(xp.np(got), exp_h, rtol=rtol, atol=rtol, err_msg=f"huber vs {peer}")
    # optax's l2_loss is 0.5 (x - t)^2: half our elementwise mse
    exp_l2 = np.asarray(optax.losses.l2_loss(jnp.asarray(X), jnp.asarray(T)))
    got = xp.call(lambda a, b: losskit.mse_loss(a, b, reduction="none"), xp.asarray(X), xp.asarray(T))
    np.testing.assert_allclose(0.5 * xp.np(got), exp_l2, rtol=rtol, atol=rtol, err_msg=f"l2_loss vs {peer}")


def test_log_cosh_gradient_vs_optax_on_jax():
    optax, jnp, peer = optax_peer()
    import jax

    x, t = jnp.asarray(X * 50), jnp.asarray(T)
    g_peer = jax.grad(lambda a: jnp.mean(optax.losses.log_cosh(a, t)))(x)
    g_ours = jax.grad(lambda a: losskit.log_cosh_loss(a, t))(x)
    np.testing.assert_allclose(np.asarray(g_ours), np.asarray(g_peer), rtol=1e-12, atol=1e-16,
                               err_msg=peer)
