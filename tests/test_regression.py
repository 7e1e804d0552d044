"""Regression losses: what the case table (tests/cases/regression.py, run by
tests/test_checklist.py and tests/test_fast_paths.py) cannot express: weights, shapes,
var shapes, extreme inputs, identities over random data, gradients under every reduction,
subgradients at ties on every backend, option types, the torch modules and properties.

Every expected value below is derived by hand (or with ``math`` on the formula) in a
comment; none was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from losskit import _xp
from helpers import check_gradient

# The residuals used by most hand-derived values: d = x - t = [0.5, -2, 2, 0].
X = np.array([0.5, -2.0, 3.0, 0.0])
T = np.array([0.0, 0.0, 1.0, 0.0])


def _lc(d):  # log cosh straight from the definition (fine for these small d)
    return math.log(math.cosh(d))


# name -> (function, options, x, t, expected elementwise values (hand-derived))
CASES = {
    # (x - t)^2 = [0.25, 4, 4, 0]
    "mse": (losskit.mse_loss, {}, X, T, [0.25, 4.0, 4.0, 0.0]),
    # |x - t| = [0.5, 2, 2, 0]
    "l1": (losskit.l1_loss, {}, X, T, [0.5, 2.0, 2.0, 0.0]),
    # delta = 1: 0.5 * 0.25 = 0.125 (inside); 1 * (2 - 0.5) = 1.5 (outside)
    "huber": (losskit.huber_loss, {}, X, T, [0.125, 1.5, 1.5, 0.0]),
    # delta = 2: |2| is not < 2 -> 2 * (2 - 1) = 2 (= 0.5 * 2^2, continuous at the joint)
    "huber_delta2": (losskit.huber_loss, {"delta": 2.0}, X, T, [0.125, 2.0, 2.0, 0.0]),
    # beta = 0.5: |0.5| is not < 0.5 -> 0.5 - 0.25 = 0.25; 2 - 0.25 = 1.75
    "smooth_l1_beta05": (losskit.smooth_l1_loss, {"beta": 0.5}, X, T, [0.25, 1.75, 1.75, 0.0]),
    # beta = 2: 0.25 / 4 = 0.0625; |2| is not < 2 -> 2 - 1 = 1
    "smooth_l1_beta2": (losskit.smooth_l1_loss, {"beta": 2.0}, X, T, [0.0625, 1.0, 1.0, 0.0]),
    # beta = 0 is L1
    "smooth_l1_beta0": (losskit.smooth_l1_loss, {"beta": 0.0}, X, T, [0.5, 2.0, 2.0, 0.0]),
    "log_cosh": (losskit.log_cosh_loss, {}, X, T, [_lc(0.5), _lc(2.0), _lc(2.0), 0.0]),
    # r = t - x = [-0.5, 2, -2, 0]; q = 0.9: max(0.9 r, -0.1 r) = [0.05, 1.8, 0.2, 0]
    "quantile_09": (losskit.quantile_loss, {"quantile": 0.9}, X, T, [0.05, 1.8, 0.2, 0.0]),
    # q = 0.5 is half the absolute error
    "quantile_05": (losskit.quantile_loss, {}, X, T, [0.25, 1.0, 1.0, 0.0]),
    # sqrt(d^2 + eps^2), eps = 0.5: sqrt(0.5), sqrt(4.25), sqrt(4.25), 0.5
    "charbonnier": (
        losskit.charbonnier_loss, {"eps": 0.5}, X, T,
        [math.sqrt(0.5), math.sqrt(4.25), math.sqrt(4.25), 0.5],
    ),
    # log1p: x = [0, e - 1, 3], t = [0, 0, 1] -> [0, 1, log 4 - log 2 = log 2], squared
    "msle": (
        losskit.msle_loss, {}, np.array([0.0, math.e - 1.0, 3.0]), np.array([0.0, 0.0, 1.0]),
        [0.0, 1.0, math.log(2.0) ** 2],
    ),
    # log_input: exp(x) - t x with x = [0, log 2], t = [1, 3] -> [1, 2 - 3 log 2]
    "poisson": (
        losskit.poisson_nll_loss, {}, np.array([0.0, math.log(2.0)]), np.array([1.0, 3.0]),
        [1.0, 2.0 - 3.0 * math.log(2.0)],
    ),
    # full adds Stirling only where t > 1: t = 3 -> 3 log 3 - 3 + 0.5 log(6 pi)
    "poisson_full": (
        losskit.poisson_nll_loss, {"full": True}, np.array([0.0, math.log(2.0)]), np.array([1.0, 3.0]),
        [1.0, 2.0 - 3.0 * math.log(2.0) + 3 * math.log(3.0) - 3.0 + 0.5 * math.log(6 * math.pi)],
    ),
    # rates: x - t log(x + eps) with x = [1, 2], t = [1, 3]
    "poisson_rate": (
        losskit.poisson_nll_loss, {"log_input": False}, np.array([1.0, 2.0]), np.array([1.0, 3.0]),
        [1.0 - math.log(1.0 + 1e-8), 2.0 - 3.0 * math.log(2.0 + 1e-8)],
    ),
}


def _call(xp, case, reduction, weight=None):
    fn, opts, x, t, _ = CASES[case]
    args = [xp.asarray(x), xp.asarray(t)]
    kw = dict(opts, reduction=reduction)
    if weight is not None:
        args.append(xp.asarray(weight))
        return xp.call(lambda a, b, w: fn(a, b, weight=w, **kw), *args)
    return xp.call(lambda a, b: fn(a, b, **kw), *args)


@pytest.mark.parametrize("case", ["mse", "huber", "quantile_09", "poisson"])
def test_weighted_mean_is_sum_w_l_over_sum_w(xp, case):
    expected = np.asarray(CASES[case][4])
    w = np.linspace(0.5, 2.0, expected.size)
    xp.assert_close(_call(xp, case, "none", w), w * expected)
    xp.assert_close(_call(xp, case, "sum", w), (w * expected).sum())
    xp.assert_close(_call(xp, case, "mean", w), (w * expected).sum() / w.sum())


def test_per_sample_weight_broadcasts_and_all_zero_weight_gives_zero(xp):
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    w = np.array([[1.0], [0.0], [3.0]])
    sq = (x - t) ** 2
    # weighted mean over elements: each row's weight counts once per column
    expected = (w * sq).sum() / (w.sum() * 4)
    xp.assert_close(losskit.mse_loss(xp.asarray(x), xp.asarray(t), weight=xp.asarray(w)), expected)
    zero = losskit.mse_loss(xp.asarray(x), xp.asarray(t), weight=xp.asarray(np.zeros((3, 1))))
    assert xp.np(zero) == 0.0


def test_boolean_mask_weight(xp):
    x, t = np.array([1.0, 2.0, 3.0]), np.zeros(3)
    mask = xp.asarray(np.array([True, False, True]))
    # (1 + 9) / 2
    xp.assert_close(losskit.mse_loss(xp.asarray(x), xp.asarray(t), weight=mask), 5.0)


@pytest.mark.parametrize("case", ["mse", "l1", "huber", "smooth_l1_beta05", "log_cosh", "quantile_09", "charbonnier"])
def test_batched_shapes(xp, case):
    fn, opts, *_ = CASES[case]
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    none = xp.call(lambda a, b: fn(a, b, reduction="none", **opts), xp.asarray(x), xp.asarray(t))
    assert tuple(none.shape) == (2, 3, 5)
    # the batched loss is the per-element loss: compare against the flattened computation
    flat = xp.call(lambda a, b: fn(a, b, reduction="none", **opts), xp.asarray(x.ravel()), xp.asarray(t.ravel()))
    xp.assert_close(xp.np(none).ravel(), xp.np(flat))
    mean = xp.call(lambda a, b: fn(a, b, **opts), xp.asarray(x), xp.asarray(t))
    assert tuple(mean.shape) == ()
    xp.assert_close(mean, xp.np(none).mean(), rtol=1e-5 if xp.float_dtype == "float32" else 1e-12)


def test_gaussian_nll_values_and_var_shapes(xp):
    x, t = np.array([0.0, 0.0]), np.array([1.0, 2.0])
    # 0.5 (log v + d^2 / v): v = 1 -> 0.5; v = 4 -> 0.5 (log 4 + 1)
    exp = np.array([0.5, 0.5 * (math.log(4.0) + 1.0)])
    f = losskit.gaussian_nll_loss
    xp.assert_close(xp.call(lambda a, b, v: f(a, b, v, reduction="none"), xp.asarray(x), xp.asarray(t), xp.asarray(np.array([1.0, 4.0]))), exp)
    # full adds 0.5 log(2 pi) per element
    xp.assert_close(
        xp.call(lambda a, b, v: f(a, b, v, full=True), xp.asarray(x), xp.asarray(t), xp.asarray(np.array([1.0, 4.0]))),
        exp.mean() + 0.5 * math.log(2 * math.pi),
    )
    # var = 0 is clamped to eps: x = t -> 0.5 log(eps)
    z = xp.asarray(np.zeros(1))
    xp.assert_close(xp.call(lambda a, b, v: f(a, b, v, eps=1e-4), z, z, z), 0.5 * math.log(1e-4), rtol=1e-5)
    # a Python number, a (N, 1) and torch's "one short" (N,) var on an (N, D) input
    rng = np.random.default_rng(2)
    xs, ts = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    v = np.array([0.5, 1.0, 2.0])
    ref = 0.5 * (np.log(v[:, None]) + (xs - ts) ** 2 / v[:, None])
    for var in (xp.asarray(v), xp.asarray(v[:, None])):
        xp.assert_close(f(xp.asarray(xs), xp.asarray(ts), var, reduction="none"), ref)
    # var = 2 for all: 0.5 (log 2 + d^2 / 2)
    xp.assert_close(f(xp.asarray(xs), xp.asarray(ts), 2.0, reduction="none"), 0.5 * (math.log(2.0) + (xs - ts) ** 2 / 2.0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(0,), (0, 3)])
def test_empty_input(xp, reduction, shape):
    e = xp.asarray(np.zeros(shape))
    for fn in (losskit.mse_loss, losskit.l1_loss, losskit.huber_loss, losskit.smooth_l1_loss,
               losskit.log_cosh_loss, losskit.quantile_loss, losskit.charbonnier_loss,
               losskit.msle_loss, losskit.poisson_nll_loss):
        out = fn(e, e, reduction=reduction)
        if reduction == "none":
            assert tuple(out.shape) == shape, fn.__name__
        else:
            assert xp.np(out) == 0.0, fn.__name__
    out = losskit.gaussian_nll_loss(e, e, e, reduction=reduction)
    assert tuple(out.shape) == (shape if reduction == "none" else ())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_and_extreme_residuals_are_finite(xp, dtype):
    if not xp.has_dtype(dtype):
        pytest.skip(f"{xp.name} has no {dtype}")
    # residuals of 1e4: squares (1e8) overflow float16 (max 65504); we compute in float32
    x = xp.asarray(np.array([1e4, -1e4, 0.5, 0.0]), dtype=dtype)
    t = xp.asarray(np.array([0.0, 0.0, 0.0, 0.0]), dtype=dtype)
    ns = _xp.namespace(x)
    for fn in (losskit.mse_loss, losskit.l1_loss, losskit.huber_loss, losskit.smooth_l1_loss,
               losskit.log_cosh_loss, losskit.quantile_loss, losskit.charbonnier_loss,
               losskit.gaussian_nll_loss):
        args = (x, t, xp.asarray(np.ones(4), dtype=dtype)) if fn is losskit.gaussian_nll_loss else (x, t)
        out = xp.call(lambda *a: fn(*a, reduction="none"), *args)
        assert out.dtype == ns.float32, fn.__name__
        assert np.all(np.isfinite(xp.np(out))), fn.__name__
        if xp.has_autodiff:  # gradients flow back to the half-precision input, finite
            _, g = losskit.value_and_grad(fn)(*args)
            assert g.dtype == x.dtype and np.all(np.isfinite(xp.np(g))), fn.__name__
    # log cosh(1e4) = 1e4 - log 2 (cosh itself overflows); float32 has ~4 decimal places here
    lc = xp.np(xp.call(lambda a, b: losskit.log_cosh_loss(a, b, reduction="none"), x, t))
    # (bfloat16 stores 1e4 as 9984: compare with the value the input really holds)
    np.testing.assert_allclose(lc[:2], np.abs(xp.np(x)[:2]) - math.log(2.0), rtol=1e-6)
    counts = xp.asarray(np.array([0.0, 3.0]), dtype=dtype)
    assert np.isfinite(xp.np(losskit.poisson_nll_loss(xp.asarray(np.array([-10.0, 5.0]), dtype=dtype), counts, full=True)))
    assert np.isfinite(xp.np(losskit.msle_loss(x[2:], t[2:])))


def test_log_cosh_large_residuals_value_and_gradient(autodiff_xp):
    b = autodiff_xp
    d = np.array([-1e4, -800.0, 30.0, 1e4])  # cosh overflows float64 beyond ~710
    value, g = b.grad(losskit.log_cosh_loss, b.asarray(d), b.asarray(np.zeros(4)), reduction="none")
    np.testing.assert_allclose(value, np.abs(d) - math.log(2.0), rtol=1e-12)
    np.testing.assert_allclose(g, np.sign(d), rtol=1e-12)  # tanh saturates to +-1


def test_float64_stays_float64_and_float32_stays_float32(xp):
    x = xp.asarray(np.array([1.0, 2.0]))
    out = losskit.huber_loss(x, x)
    ns = _xp.namespace(x)
    assert out.dtype == (ns.float64 if xp.float_dtype == "float64" else ns.float32)
    # an integer target is cast to the prediction's dtype
    out = losskit.mse_loss(x, xp.asarray(np.array([1, 0])))
    xp.assert_close(out, 2.0)  # (0 + 4) / 2


# --------------------------------------------------------------------------- identities


def test_identities(xp):
    rng = np.random.default_rng(3)
    x, t = xp.asarray(rng.normal(scale=3, size=20)), xp.asarray(rng.normal(scale=3, size=20))
    n = xp.np
    # Huber(delta) = delta * SmoothL1(beta=delta), for any delta
    for delta in (0.3, 1.0, 2.5):
        xp.assert_close(n(losskit.huber_loss(x, t, delta=delta, reduction="none")),
                        delta * n(losskit.smooth_l1_loss(x, t, beta=delta, reduction="none")))
    # delta = 1: Huber == SmoothL1
    xp.assert_close(n(losskit.huber_loss(x, t)), n(losskit.smooth_l1_loss(x, t)))
    # pinball at q = 0.5 is half the absolute error
    xp.assert_close(n(losskit.quantile_loss(x, t, quantile=0.5)), 0.5 * n(losskit.l1_loss(x, t)))
    # pinball(q) + pinball(1 - q) = |d| (the two slopes add to 1 on each side)
    xp.assert_close(n(losskit.quantile_loss(x, t, quantile=0.2, reduction="none"))
                    + n(losskit.quantile_loss(x, t, quantile=0.8, reduction="none")),
                    n(losskit.l1_loss(x, t, reduction="none")))
    # Gaussian NLL with unit variance is half the squared error
    xp.assert_close(n(losskit.gaussian_nll_loss(x, t, 1.0)), 0.5 * n(losskit.mse_loss(x, t)))
    # Charbonnier: between |d| and |d| + eps (sqrt(d^2 + e^2) <= |d| + e)
    ch = n(losskit.charbonnier_loss(x, t, eps=1e-3, reduction="none"))
    l1 = n(losskit.l1_loss(x, t, reduction="none"))
    assert np.all(ch >= l1 - 1e-6) and np.all(ch <= l1 + 1e-3 + 1e-6)
    # log cosh: d^2/2 - d^4/12 <= log cosh d <= d^2/2, and |d| - log 2 <= log cosh d <= |d|
    d = n(x) - n(t)
    lc = n(losskit.log_cosh_loss(x, t, reduction="none"))
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-12
    assert np.all(lc <= d * d / 2 + tol) and np.all(lc >= d * d / 2 - d**4 / 12 - tol)
    assert np.all(lc >= np.abs(d) - math.log(2) - tol) and np.all(lc <= np.abs(d) + tol)
    # MSLE is the MSE of log1p values
    p, q = xp.asarray(rng.uniform(0, 5, size=8)), xp.asarray(rng.uniform(0, 5, size=8))
    xp.assert_close(n(losskit.msle_loss(p, q)), np.mean((np.log1p(n(p)) - np.log1p(n(q))) ** 2),
                    rtol=1e-5 if xp.float_dtype == "float32" else 1e-10)
    # Poisson: log_input=True on log(rate) equals log_input=False on the rate (up to eps)
    rate = rng.uniform(0.5, 4, size=8)
    counts = xp.asarray(rng.integers(0, 6, size=8).astype(float))
    xp.assert_close(n(losskit.poisson_nll_loss(xp.asarray(np.log(rate)), counts)),
                    n(losskit.poisson_nll_loss(xp.asarray(rate), counts, log_input=False, eps=1e-12)),
                    rtol=1e-5 if xp.float_dtype == "float32" else 1e-9)


# --------------------------------------------------------------------------- gradients

_GRAD_DATA = (np.array([[0.3, -1.7, 2.4], [-0.6, 0.9, 4.1]]), np.array([[0.0, 0.2, 0.1], [0.4, -1.0, 1.0]]))


@pytest.mark.parametrize(
    "fn,opts",
    [
        (losskit.mse_loss, {}),
        (losskit.l1_loss, {}),
        (losskit.huber_loss, {"delta": 1.3}),
        (losskit.smooth_l1_loss, {"beta": 0.7}),
        (losskit.smooth_l1_loss, {"beta": 0.0}),
        (losskit.log_cosh_loss, {}),
        (losskit.quantile_loss, {"quantile": 0.3}),
        (losskit.charbonnier_loss, {"eps": 0.1}),
        (losskit.poisson_nll_loss, {"full": True}),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradient_matches_numerical(autodiff_xp, fn, opts, reduction):
    x, t = _GRAD_DATA
    if fn is losskit.poisson_nll_loss:
        t = np.abs(t) * 3.0  # counts, some > 1 so that Stirling's term is active
    check_gradient(autodiff_xp, fn, x, t, reduction=reduction, **opts)
    # weighted
    w = np.array([[1.0], [2.5]])
    check_gradient(autodiff_xp, fn, x, t, weight=w, reduction=reduction, **opts)


def test_gradient_msle_and_poisson_rate(autodiff_xp):
    x = np.array([0.2, 1.5, 3.0])
    t = np.array([1.0, 0.0, 2.0])
    check_gradient(autodiff_xp, losskit.msle_loss, x, t)
    check_gradient(autodiff_xp, losskit.poisson_nll_loss, x, t, log_input=False)


def test_gradient_gaussian_nll_input_and_var(autodiff_xp):
    b = autodiff_xp
    x, t = _GRAD_DATA
    var = np.array([[0.5, 1.0, 2.0], [0.3, 3.0, 1.0]])
    check_gradient(b, losskit.gaussian_nll_loss, x, t, var, full=True)
    # gradient with respect to var (also differentiable): var as the "input" of a closure
    xa, ta = b.asarray(x), b.asarray(t)

    def as_fn_of_var(v):
        if isinstance(v, np.ndarray):  # the numerical oracle's call
            return losskit.gaussian_nll_loss(x, t, v)
        return losskit.gaussian_nll_loss(xa, ta, v)

    check_gradient(b, as_fn_of_var, var)
    # below eps, the value uses eps but the gradient passes through the clamp (torch's
    # rule): d/dv 0.5 (log v + d^2 / v) evaluated at v = eps
    eps = 0.25
    v0 = b.asarray(np.array([[0.01, 1.0, 2.0], [0.3, 3.0, 1.0]]))
    _, g = b.grad(lambda v: losskit.gaussian_nll_loss(xa, ta, v, eps=eps, reduction="sum"), v0)
    d2 = (x[0, 0] - t[0, 0]) ** 2
    np.testing.assert_allclose(g[0, 0], 0.5 * (1 / eps - d2 / eps**2), rtol=1e-12)


def test_gradients_are_finite_for_extreme_input(autodiff_xp):
    b = autodiff_xp
    x, t = b.asarray(np.array([1e4, -1e4, 0.0])), b.asarray(np.zeros(3))
    for fn in (losskit.mse_loss, losskit.l1_loss, losskit.huber_loss, losskit.smooth_l1_loss,
               losskit.log_cosh_loss, losskit.quantile_loss, losskit.charbonnier_loss):
        _, g = b.grad(fn, x, t)
        assert np.all(np.isfinite(g)), fn.__name__
    # empty: zero gradient of the right shape, no NaN from 0 / 0
    e = b.asarray(np.zeros((0, 2)))
    _, g = b.grad(losskit.mse_loss, e, e)
    assert g.shape == (0, 2)


# --------------------------------------------------------------------------- validation


def test_invalid_arguments():
    # (the rest of the bad inputs are rows of tests/cases/regression.py)
    x, t = np.zeros(3), np.zeros(3)
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum', 'none', got 'avg'"):
        losskit.l1_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match=r"weight: expected a shape broadcastable to the loss's shape"):
        losskit.mse_loss(x, t, weight=np.ones((2, 3)))  # would enlarge the loss


def test_invalid_arguments_every_backend(xp):
    x = xp.asarray(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(2, 3\), got \(3,\)"):
        losskit.huber_loss(x, xp.asarray(np.zeros(3)))
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        losskit.l1_loss(xp.asarray(np.zeros(3, dtype=np.int64)), xp.asarray(np.zeros(3)))
    with pytest.raises(ValueError, match="input: expected values > -1"):
        losskit.msle_loss(xp.asarray(np.array([-2.0])), xp.asarray(np.array([0.0])))


def test_mixed_libraries_raise():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="expected arrays from one library"):
        losskit.mse_loss(torch.zeros(2), np.zeros(2))


def test_value_checks_are_skipped_under_jit():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    # eager: error; jit: no Python branch on values, so it compiles (and gives NaN)
    out = jax.jit(losskit.msle_loss)(jnp.array([-2.0, 0.0]), jnp.array([0.0, 0.0]))
    assert np.isnan(float(out))
    out = jax.jit(lambda a, b, v: losskit.gaussian_nll_loss(a, b, v))(jnp.zeros(2), jnp.ones(2), jnp.ones(2))
    assert float(out) == pytest.approx(0.5)


# --------------------------------------------------------------------------- registry, torch modules


def test_registry_names_aliases_and_plot_kind():
    for alias, name in [("mse", "mse_loss"), ("mae", "l1_loss"), ("l1", "l1_loss"), ("huber", "huber_loss"),
                        ("smooth-l1", "smooth_l1_loss"), ("log_cosh", "log_cosh_loss"), ("pinball", "quantile_loss"),
                        ("pinball_loss", "quantile_loss"), ("msle", "msle_loss"), ("charbonnier", "charbonnier_loss"),
                        ("poisson_nll", "poisson_nll_loss"), ("gaussian_nll", "gaussian_nll_loss")]:
        info = losskit.get(alias)
        assert info.name == name and info.family == "regression"
    assert set(losskit.names("regression")) == {
        "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss", "quantile_loss",
        "charbonnier_loss", "msle_loss", "poisson_nll_loss", "gaussian_nll_loss"}
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss", "quantile_loss",
                 "charbonnier_loss", "msle_loss"):
        assert losskit.get(name).plot == "residual"
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss"):
        assert losskit.get(name).grad is not None
    assert losskit.get("huber").options == {"delta": 1.0, "weight": None, "reduction": "mean"}


_MODULES = [
    ("MSELoss", losskit.mse_loss, {}),
    ("L1Loss", losskit.l1_loss, {"reduction": "sum"}),
    ("HuberLoss", losskit.huber_loss, {"delta": 0.5}),
    ("SmoothL1Loss", losskit.smooth_l1_loss, {"beta": 0.25}),
    ("LogCoshLoss", losskit.log_cosh_loss, {"reduction": "none"}),
    ("QuantileLoss", losskit.quantile_loss, {"quantile": 0.8}),
    ("CharbonnierLoss", losskit.charbonnier_loss, {"eps": 0.01}),
    ("MSLELoss", losskit.msle_loss, {}),
    ("PoissonNLLLoss", losskit.poisson_nll_loss, {"log_input": False, "full": True}),
    ("GaussianNLLLoss", losskit.gaussian_nll_loss, {"full": True}),
]


@pytest.mark.parametrize("cls_name,fn,opts", _MODULES, ids=[m[0] for m in _MODULES])
def test_torch_module_equals_function(cls_name, fn, opts):
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    cls = getattr(lt, cls_name)
    assert cls_name in lt.__all__
    module = cls(**opts)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, generator=g, dtype=torch.float64) + 0.1
    t = torch.rand(4, 3, generator=g, dtype=torch.float64)
    args = (x, t, torch.rand(4, 3, generator=g, dtype=torch.float64) + 0.1) if fn is losskit.gaussian_nll_loss else (x, t)
    torch.testing.assert_close(module(*args), fn(*args, **opts), rtol=0, atol=0)
    r = repr(module)
    for k, v in opts.items():
        assert f"{k}={v!r}" in r
    assert "reduction=" in r
    assert f"losskit.{fn.__name__}" in (cls.__doc__ or "")
    with pytest.raises(TypeError, match="unexpected option"):
        cls(no_such_option=1)


# --------------------------------------------------------------------------- properties

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_FINITE = st.floats(-1e4, 1e4, allow_nan=False, width=32)
_PAIRS = st.integers(1, 6).flatmap(
    lambda n: st.tuples(hnp.arrays(np.float32, n, elements=_FINITE), hnp.arrays(np.float32, n, elements=_FINITE))
)
_ELEMENTWISE = [
    (losskit.mse_loss, {}), (losskit.l1_loss, {}), (losskit.huber_loss, {"delta": 0.5}),
    (losskit.smooth_l1_loss, {"beta": 2.0}), (losskit.log_cosh_loss, {}), (losskit.quantile_loss, {"quantile": 0.1}),
    (losskit.charbonnier_loss, {}),
]


@given(pair=_PAIRS)
def test_property_extreme_residuals_give_finite_nonnegative_values_and_gradients(pair):
    torch = pytest.importorskip("torch")
    x, t = pair
    for fn, opts in _ELEMENTWISE:
        v = np.asarray(fn(x, t, reduction="none", **opts))
        assert v.dtype == np.float32 and np.all(np.isfinite(v)) and np.all(v >= 0), fn.__name__
        xt = torch.from_numpy(x.copy())
        _, g = losskit.value_and_grad(fn)(xt, torch.from_numpy(t), **opts)
        assert torch.isfinite(g).all(), fn.__name__
        grad_fn = getattr(fn, "__losskit_grad__", None)
        if grad_fn is not None:
            _, ga = grad_fn(x, t, **opts)
            assert np.all(np.isfinite(ga)), fn.__name__
            # analytic (NumPy) and autograd (torch) agree, both in float32
            np.testing.assert_allclose(ga, g.numpy(), rtol=1e-5, atol=1e-7 * max(1.0, float(np.abs(ga).max())))


@given(
    x=hnp.arrays(np.float32, 4, elements=st.floats(-50, 50, width=32)),
    t=hnp.arrays(np.float32, 4, elements=st.floats(0, 1e4, width=32)),
    var=hnp.arrays(np.float32, 4, elements=st.floats(0, 1e4, width=32)),
)
def test_property_likelihood_losses_are_finite(x, t, var):
    for full in (False, True):
        assert np.all(np.isfinite(losskit.poisson_nll_loss(x, np.round(t), full=full, reduction="none")))
        assert np.all(np.isfinite(losskit.poisson_nll_loss(np.abs(x), t, log_input=False, full=full, reduction="none")))
        # var = 0 is clamped to eps: finite
        assert np.all(np.isfinite(losskit.gaussian_nll_loss(x, t, var, full=full, reduction="none")))
    assert np.all(np.isfinite(losskit.msle_loss(np.abs(x), t, reduction="none")))


def test_log_cosh_is_nonnegative_and_accurate_for_tiny_float32_residuals(xp):
    # log(cosh(d)) = d^2/2 - d^4/12 + ...: for |d| <= 1e-2 the series to d^4 is exact to
    # float32 precision; the |d| + softplus(-2|d|) - log 2 form alone rounds to values < 0.
    d = np.array([0.0, 1e-6, -3e-4, 1e-3, 7e-3, -1e-2, 0.999, 1.0, 1.001, 30.0], dtype=np.float32)
    got = xp.np(xp.call(lambda a, b: losskit.log_cosh_loss(a, b, reduction="none"),
                        xp.asarray(d), xp.asarray(np.zeros_like(d))))
    d64 = d.astype(np.float64)
    # np.log(np.cosh(d)) itself cancels for tiny d; the Taylor series is exact there.
    series = d64**2 / 2 - d64**4 / 12 + d64**6 / 45
    ref = np.where(np.abs(d64) <= 1e-2, series, np.log(np.cosh(d64)))
    assert np.all(got >= 0)
    np.testing.assert_allclose(got, ref, rtol=2e-6 if xp.float_dtype == "float32" else 1e-12, atol=1e-30)


# --------------------------------------------------------------------------- subgradients at ties

# (loss, options, residuals d = x - t at its kinks, the gradient of sum(loss) there by the
# convention of losskit._xp: |d|' = 0 at 0; a where takes the branch it selects (Huber's
# and smooth-L1's linear branch at |d| = delta / beta); a max's tie splits the gradient)
_TIES = [
    (losskit.l1_loss, {}, [0.0, 1.0, -1.0], [0.0, 1.0, -1.0]),
    (losskit.smooth_l1_loss, {"beta": 0.0}, [0.0, 2.0, -2.0], [0.0, 1.0, -1.0]),
    (losskit.smooth_l1_loss, {"beta": 0.5}, [0.0, 0.5, -0.5], [0.0, 1.0, -1.0]),
    (losskit.huber_loss, {"delta": 1.0}, [0.0, 1.0, -1.0], [0.0, 1.0, -1.0]),
    (losskit.huber_loss, {"delta": 2.0}, [0.0, 2.0, -2.0], [0.0, 2.0, -2.0]),
    # max(q r, (q - 1) r), r = t - x: at r = 0 the mean of -q and 1 - q
    (losskit.quantile_loss, {"quantile": 0.9}, [0.0, 1.0, -1.0], [0.5 - 0.9, 0.1, -0.9]),
    (losskit.quantile_loss, {"quantile": 0.25}, [0.0], [0.5 - 0.25]),
    (losskit.mse_loss, {}, [0.0], [0.0]),
    (losskit.log_cosh_loss, {}, [0.0, 40.0, -40.0], [0.0, 1.0, -1.0]),
    (losskit.charbonnier_loss, {"eps": 1e-3}, [0.0], [0.0]),
]
_TIE_IDS = [f"{fn.__name__}-{opts}" for fn, opts, *_ in _TIES]


@pytest.mark.parametrize("fn, opts, d, expected", _TIES, ids=_TIE_IDS)
@pytest.mark.parametrize("fast", [True, False], ids=["fast-paths", "reference"])
def test_subgradient_at_ties_is_the_same_on_every_backend(xp, fn, opts, d, expected, fast):
    # jax.grad of l1_loss at a zero residual was 1 (jnp.abs'(0)), against 0 on torch
    if not xp.has_autodiff:
        if getattr(fn, "__losskit_grad__", None) is not None:  # NumPy: the hand-derived gradient
            _, g = fn.__losskit_grad__(xp.asarray(np.array(d)), xp.asarray(np.zeros(len(d))), reduction="sum", **opts)
            np.testing.assert_allclose(xp.np(g), expected, rtol=1e-6, atol=1e-7)
            return
        pytest.skip(f"{xp.name} has no autodiff")
    x = xp.asarray(np.array(d))
    t = xp.asarray(np.zeros(len(d)))
    with losskit.fast_paths(fast):
        _, g = xp.grad(fn, x, t, reduction="sum", **opts)
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-7)
    if xp.name == "jax":  # and under jit
        import jax

        g = jax.jit(jax.grad(lambda a: fn(a, t, reduction="sum", **opts)))(x)
        np.testing.assert_allclose(xp.np(g), expected, rtol=1e-6, atol=1e-7)


def test_subgradient_helpers_follow_torch_on_jax():
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    from losskit import _xp

    v = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    jnp = jax.numpy
    jns, tns = _xp.namespace(jnp.zeros(1)), _xp.namespace(torch.zeros(1))
    for fn in (lambda a, ns: _xp.subgrad_abs(a, ns), lambda a, ns: _xp.subgrad_clip(a, ns, min=-1.0, max=1.0),
               lambda a, ns: _xp.subgrad_clip(a, ns, min=0.0), lambda a, ns: _xp.subgrad_clip(a, ns, max=0.0),
               lambda a, ns: _xp.subgrad_maximum(a, a * 0.0, ns), lambda a, ns: _xp.subgrad_minimum(a, a * 0.0, ns)):
        tx = torch.tensor(v, requires_grad=True)
        fn(tx, tns).sum().backward()
        gj = jax.grad(lambda a: fn(a, jns).sum())(jnp.asarray(v))
        np.testing.assert_array_equal(np.asarray(gj), tx.grad.numpy())
        np.testing.assert_array_equal(np.asarray(fn(jnp.asarray(v), jns)), fn(tx, tns).detach().numpy())
    # the values: |x| and clip exactly, NaN stays NaN
    assert np.isnan(float(_xp.subgrad_abs(jnp.asarray(np.nan), jns)))


# --------------------------------------------------------------------------- option types


def test_flags_take_only_bools():
    x, t = np.zeros(2), np.ones(2)
    with pytest.raises(TypeError, match="log_input: expected a bool, got str"):
        losskit.poisson_nll_loss(x, t, log_input="False")
    for bad in ("False", 0, 1, None, np.bool_(True)):
        with pytest.raises(TypeError, match="full: expected a bool"):
            losskit.poisson_nll_loss(x, t, full=bad)
        with pytest.raises(TypeError, match="full: expected a bool"):
            losskit.gaussian_nll_loss(x, t, np.ones(2), full=bad)
    with pytest.raises(TypeError, match="log_input: expected a bool, got int"):
        losskit.poisson_nll_loss(x, t, log_input=1)


_SCALAR_OPTIONS = [
    (losskit.mse_loss, {"weight": 2.0}),
    (losskit.l1_loss, {"weight": 3}),
    (losskit.huber_loss, {"delta": 0.5, "weight": 2.0}),
    (losskit.smooth_l1_loss, {"beta": 0.5}),
    (losskit.quantile_loss, {"quantile": 0.3}),
    (losskit.charbonnier_loss, {"eps": 0.01}),
    (losskit.poisson_nll_loss, {"eps": 1e-3, "weight": 0.5}),
    (losskit.msle_loss, {"weight": 2.0}),
]


@pytest.mark.parametrize("fn, opts", _SCALAR_OPTIONS, ids=[f"{f.__name__}-{sorted(o)}" for f, o in _SCALAR_OPTIONS])
@pytest.mark.parametrize("kind", ["float64", "float32", "int64"])
def test_numpy_scalar_options_work_on_every_backend(xp, fn, opts, kind):
    # NumPy scalars are numbers: mse_loss(x, t, weight=np.float64(2.0)) on torch / jax
    # inputs raised "arrays from one library" deep inside
    x, t = np.array([0.5, 1.0, 2.0]), np.array([0.0, 1.5, 1.0])
    as_np = {k: (getattr(np, kind)(v) if kind != "int64" or float(v).is_integer() else np.float64(v))
             for k, v in opts.items()}
    for reduction in ("mean", "sum", "none"):
        ref = xp.np(fn(xp.asarray(x), xp.asarray(t), reduction=reduction, **opts))
        got = xp.np(fn(xp.asarray(x), xp.asarray(t), reduction=reduction, **as_np))
        np.testing.assert_allclose(got, ref, rtol=1e-6)
    # a scalar weight w: sum is w * sum, mean is the plain mean
    if "weight" in opts:
        plain = {k: v for k, v in opts.items() if k != "weight"}
        s = xp.np(fn(xp.asarray(x), xp.asarray(t), reduction="sum", **plain))
        xp.assert_close(fn(xp.asarray(x), xp.asarray(t), reduction="sum", **as_np), float(opts["weight"]) * s)


def test_gaussian_nll_numpy_scalar_var_every_backend(xp):
    x, t = np.array([0.0, 1.0]), np.array([1.0, 3.0])
    # 0.5 (log 0.5 + d^2 / 0.5), d = [-1, -2] -> 0.5 log 0.5 + [1, 4]
    expected = 0.5 * math.log(0.5) + np.array([1.0, 4.0])
    for var in (0.5, np.float64(0.5), np.float32(0.5), np.array(0.5)):
        xp.assert_close(losskit.gaussian_nll_loss(xp.asarray(x), xp.asarray(t), var, reduction="none"), expected)
    for bad in (np.float64(np.nan), np.float64(-1.0), float("inf")):
        with pytest.raises(ValueError, match="var: expected a"):
            losskit.gaussian_nll_loss(xp.asarray(x), xp.asarray(t), bad)


@pytest.mark.parametrize("eps", [1e-30, 1.2e-38, 1e-3])
def test_charbonnier_tiny_eps_finite_gradient_at_zero_residual(autodiff_xp, eps):
    # eps * eps underflowed float32: sqrt(0) at a zero residual, gradient 0 / 0 = NaN
    b = autodiff_xp
    for dtype in ("float32", "float64"):
        x = b.asarray(np.array([0.0, 1e-20, -3.0, 2e19]), dtype=dtype)
        t = b.asarray(np.zeros(4), dtype=dtype)
        value, g = b.grad(losskit.charbonnier_loss, x, t, eps=eps, reduction="none")
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(g)), (dtype, value, g)
        xs = b.np(x)
        # sqrt(d^2 + eps^2), its derivative d / sqrt(d^2 + eps^2), in float64 with big numbers
        ref = np.array([math.hypot(v, eps) for v in xs])
        np.testing.assert_allclose(value, ref, rtol=1e-6)
        np.testing.assert_allclose(g, xs / ref, rtol=1e-6, atol=0)


def test_charbonnier_eps_below_float32_range_is_rejected():
    # below float32's smallest normal number (subnormal or 0 there, flushed to 0 by XLA)
    x = np.zeros(2, dtype=np.float32)
    for eps in (1e-38, 1e-44, 1e-50):
        with pytest.raises(ValueError, match=r"eps: expected a number >= 1.1754944e-38 \(the smallest normal float32\)"):
            losskit.charbonnier_loss(x, x, eps=eps)
    # float64 holds them: sqrt(0 + eps^2) = eps
    assert float(losskit.charbonnier_loss(x.astype(np.float64), x.astype(np.float64), eps=1e-50)) == 1e-50


def test_log_cosh_torch_fast_path_second_derivatives():
    # regression.torch_log_cosh writes its gradient tanh(d) down; recomputed from the saved
    # inputs, so create_graph=True records it and the second derivative is sech^2(d).
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.3, -1.2, 25.0, 0.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.5, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    d = (x - t).detach()
    with losskit.fast_paths(only="regression.torch_log_cosh") as used:
        (gx, gt) = torch.autograd.grad(losskit.log_cosh_loss(x, t, reduction="sum"), (x, t), create_graph=True)
        (hx,) = torch.autograd.grad(gx.sum(), x)
        assert torch.autograd.gradgradcheck(
            lambda a, b: losskit.log_cosh_loss(a, b, reduction="none"),
            (torch.randn(5, dtype=torch.float64, requires_grad=True),
             torch.randn(5, dtype=torch.float64, requires_grad=True)))
    assert used == {"regression.torch_log_cosh"}
    torch.testing.assert_close(gx, torch.tanh(d))
    torch.testing.assert_close(gt, -torch.tanh(d))
    torch.testing.assert_close(hx, 1.0 / torch.cosh(d) ** 2)


def test_remembered_checks_never_hide_an_error():
    # prepare remembers its decisions per (types, dtypes, reduction); the shapes are still
    # compared on every call, and a call that fails its checks is never remembered.
    torch = pytest.importorskip("torch")
    x, t = torch.ones(4), torch.zeros(4)
    for _ in range(2):
        assert float(losskit.mse_loss(x, t)) == 1.0  # (1 - 0)^2
        with pytest.raises(ValueError, match=r"target: expected the shape of input \(4,\), got \(3,\)"):
            losskit.mse_loss(x, torch.zeros(3))
        with pytest.raises(TypeError, match="input: expected a floating-point array"):
            losskit.mse_loss(torch.ones(4, dtype=torch.int64), t)
        with pytest.raises(ValueError, match="reduction: expected one of"):
            losskit.mse_loss(x, t, reduction="avg")
