"""``losskit.value_and_grad`` and the hand-derived gradients of the regression losses.

For mse, l1, huber, smooth_l1 and log_cosh: analytic gradient == framework autograd ==
float64 numerical gradient, with every reduction and with weights. The analytic gradients
are array-API code, so they are also run on torch and jax arrays (and array_api_strict).
On NumPy, ``value_and_grad`` takes the analytic path; a NumPy loss without one falls back to
torch (then jax) autograd; with neither installed it raises an ImportError saying what to
install.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import losskit
import losskit._grad
from helpers import numerical_grad

# Residuals kept away from the kinks (0 for l1, +-delta / +-beta for huber / smooth_l1),
# where the one-sided derivatives differ and a central difference straddles them.
X = np.array([[0.3, -1.7, 2.4], [-0.6, 0.9, 4.1]])
T = np.array([[0.0, 0.2, 0.1], [0.4, -1.0, 1.0]])
W = np.array([[1.0], [2.5]])

ANALYTIC = [
    (losskit.mse_loss, {}),
    (losskit.l1_loss, {}),
    (losskit.huber_loss, {}),
    (losskit.huber_loss, {"delta": 2.0}),
    (losskit.smooth_l1_loss, {}),
    (losskit.smooth_l1_loss, {"beta": 0.5}),
    (losskit.smooth_l1_loss, {"beta": 0.0}),
    (losskit.log_cosh_loss, {}),
]
IDS = [f"{fn.__name__}-{opts}" for fn, opts in ANALYTIC]
CASES = [
    pytest.param(fn, opts, reduction, weight, id=f"{i}-{reduction}-{'w' if weight else 'nw'}")
    for (fn, opts), i in zip(ANALYTIC, IDS)
    for reduction in ("mean", "sum", "none")
    for weight in (False, True)
]


def _numerical(fn, opts, reduction, weight):
    kw = dict(opts, reduction=reduction)
    if weight:
        kw["weight"] = W
    return numerical_grad(lambda a: fn(a, T, **kw), X)


def _expected_value(fn, opts, reduction, weight):
    kw = dict(opts, reduction=reduction)
    if weight:
        kw["weight"] = W
    return np.asarray(fn(X, T, **kw))


@pytest.mark.parametrize("fn,opts,reduction,weight", CASES)
def test_numpy_uses_the_analytic_gradient(monkeypatch, fn, opts, reduction, weight):
    assert losskit.get(fn.__name__).grad is not None

    def no_framework(*a, **k):  # the autograd fallback must not be reached
        raise AssertionError("value_and_grad fell back to a framework for a loss with an analytic gradient")

    monkeypatch.setattr(losskit._grad, "_numpy_via_framework", no_framework)
    kw = dict(opts, reduction=reduction)
    if weight:
        kw["weight"] = W
    value, grad = losskit.value_and_grad(fn)(X, T, **kw)
    assert isinstance(grad, np.ndarray) and grad.shape == X.shape and grad.dtype == np.float64
    np.testing.assert_allclose(value, _expected_value(fn, opts, reduction, weight), rtol=1e-15)
    np.testing.assert_allclose(grad, _numerical(fn, opts, reduction, weight), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fn,opts,reduction,weight", CASES)
def test_analytic_equals_autograd_equals_numerical(autodiff_xp, fn, opts, reduction, weight):
    b = autodiff_xp
    kw = dict(opts, reduction=reduction)
    if weight:
        kw["weight"] = b.asarray(W)
    x, t = b.asarray(X), b.asarray(T)
    # the framework's autograd (value_and_grad on torch / jax arrays)
    auto_value, auto_grad = b.grad(fn, x, t, **kw)
    # the hand-derived gradient, run on the same torch / jax arrays
    an_value, an_grad = fn.__losskit_grad__(x, t, **kw)
    num = _numerical(fn, opts, reduction, weight)
    np.testing.assert_allclose(b.np(an_value), auto_value, rtol=1e-14)
    np.testing.assert_allclose(b.np(an_grad), auto_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(auto_grad, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fn,opts", ANALYTIC, ids=IDS)
def test_analytic_gradient_runs_on_every_backend(xp, fn, opts):
    # array-API code: float32 torch / jax and array_api_strict too (float32 tolerances)
    kw = dict(opts, weight=xp.asarray(W))
    value, grad = xp.call(lambda a, b_: fn.__losskit_grad__(a, b_, **kw), xp.asarray(X), xp.asarray(T))
    assert tuple(grad.shape) == X.shape
    assert grad.dtype == xp.asarray(X).dtype
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-6
    np.testing.assert_allclose(xp.np(value), _expected_value(fn, opts, "mean", True), rtol=tol)
    np.testing.assert_allclose(xp.np(grad), _numerical(fn, opts, "mean", True), rtol=tol, atol=1e-7)


def test_analytic_gradient_of_empty_and_all_zero_weight_is_zero():
    for fn, opts in ANALYTIC:
        value, grad = fn.__losskit_grad__(np.zeros((0, 3)), np.zeros((0, 3)), **opts)
        assert float(value) == 0.0 and grad.shape == (0, 3)
        value, grad = fn.__losskit_grad__(X, T, weight=np.zeros((2, 1)), **opts)
        assert float(value) == 0.0 and np.all(grad == 0.0)


def test_analytic_gradients_at_kinks_follow_torch():
    torch = pytest.importorskip("torch")
    # at d = 0 (l1), d = +-delta (huber) and d = +-beta (smooth_l1) the analytic gradient
    # must pick the same one-sided value as torch's autograd
    d = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 2.0])
    z = np.zeros_like(d)
    for fn, opts in [(losskit.l1_loss, {}), (losskit.huber_loss, {"delta": 1.0}),
                     (losskit.smooth_l1_loss, {"beta": 0.5}), (losskit.smooth_l1_loss, {"beta": 0.0}),
                     (losskit.mse_loss, {}), (losskit.log_cosh_loss, {})]:
        _, an = fn.__losskit_grad__(d, z, reduction="sum", **opts)
        _, auto = losskit.value_and_grad(fn)(torch.from_numpy(d), torch.from_numpy(z), reduction="sum", **opts)
        # one-sided choices differ by O(1), float rounding by an ulp
        np.testing.assert_allclose(an, auto.numpy(), rtol=1e-14, atol=0, err_msg=f"{fn.__name__} {opts}")


# --------------------------------------------------------------------------- fallbacks


def _fake_find_spec(missing):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name.split(".")[0] in missing:
            return None
        return real(name, *args, **kwargs)

    return find_spec


def test_numpy_loss_without_analytic_gradient_uses_torch_autograd(monkeypatch):
    pytest.importorskip("torch")
    fn = losskit.quantile_loss
    assert losskit.get("quantile_loss").grad is None
    # with jax "missing", the torch path must be the one taken
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec({"jax"}))
    value, grad = losskit.value_and_grad(fn)(X, T, quantile=0.3)
    assert isinstance(value, np.ndarray) and isinstance(grad, np.ndarray)
    assert grad.dtype == np.float64  # torch computes in float64
    # d/dx max(q r, (q - 1) r), r = t - x: -q where x < t, 1 - q where x > t; mean over 6
    expected = np.where(X < T, -0.3, 0.7) / X.size
    np.testing.assert_allclose(grad, expected, rtol=1e-14)
    np.testing.assert_allclose(value, fn(X, T, quantile=0.3), rtol=1e-15)


def test_numpy_loss_falls_back_to_jax_without_torch(monkeypatch):
    pytest.importorskip("jax")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec({"torch"}))
    value, grad = losskit.value_and_grad(losskit.charbonnier_loss)(X, T, eps=0.1, reduction="sum")
    d = X - T
    # d/dx sqrt(d^2 + eps^2) = d / sqrt(d^2 + eps^2); jax may run in float32 (x64 off)
    np.testing.assert_allclose(np.asarray(grad), d / np.sqrt(d * d + 0.01), rtol=1e-6)
    np.testing.assert_allclose(float(value), np.sum(np.sqrt(d * d + 0.01)), rtol=1e-6)


def test_numpy_loss_without_any_framework_raises_import_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec({"torch", "jax"}))
    with pytest.raises(ImportError, match=r"quantile_loss has no hand-derived gradient .* pip install 'losskit\[torch\]'"):
        losskit.value_and_grad(losskit.quantile_loss)(X, T)
    # a loss with an analytic gradient needs no framework at all
    value, grad = losskit.value_and_grad(losskit.huber_loss)(X, T)
    assert grad.shape == X.shape


def test_value_and_grad_on_torch_and_jax_use_their_autograd(autodiff_xp):
    b = autodiff_xp
    x = b.asarray(X)
    value, grad = losskit.value_and_grad(losskit.quantile_loss)(x, b.asarray(T), quantile=0.3)
    # returns the backend's arrays
    assert type(grad) is type(x) or b.name == "jax"
    np.testing.assert_allclose(b.np(grad), np.where(X < T, -0.3, 0.7) / X.size, rtol=1e-14)
    if b.is_torch:
        assert not x.requires_grad and not value.requires_grad


# --------------------------------------------------------------------------- 0-d NumPy inputs

from cases import load as _load_cases  # noqa: E402

_TABLE = _load_cases()


def _zero_d_calls():
    """(loss name, 0-d args, options) for every registered loss that accepts 0-d inputs:
    the first element of each array argument of its case-table cases (a loss that rejects
    them with ValueError / TypeError does not take 0-d input, and is left out)."""
    out = []
    for name in losskit.names():
        row = _TABLE.get(name)
        if row is None:
            continue
        fn = losskit.get(name).fn
        for case in row.cases:
            arrays = [a for a in case.args if isinstance(a, np.ndarray)]
            if not arrays or any(a.size == 0 for a in arrays) or any(
                    isinstance(v, np.ndarray) and v.ndim > 0 for v in case.options.values()):
                continue
            args = tuple(np.asarray(a.reshape(-1)[0]) if isinstance(a, np.ndarray) else a for a in case.args)
            try:
                fn(*args, **case.options)
            except (ValueError, TypeError):
                continue
            out.append(pytest.param(name, args, case.options, id=f"{name}-{case.id}"))
            break
    return out


@pytest.mark.parametrize("name, args, options", _zero_d_calls())
@pytest.mark.parametrize("path", ["analytic-or-framework", "framework"])
def test_value_and_grad_of_a_0d_numpy_input_is_0d(monkeypatch, name, args, options, path):
    # the fallback went through np.ascontiguousarray, which makes 0-d arrays 1-d: the
    # gradient came back with shape (1,)
    info = losskit.get(name)
    if not info.differentiable:
        pytest.skip(f"{name} is not differentiable")
    fn = info.fn
    if path == "framework":
        if info.grad is None:
            pytest.skip("no hand-derived gradient: the other parameter already takes the framework path")
        if "torch" not in info.backends or importlib.util.find_spec("torch") is None:
            pytest.skip("the framework path needs torch and a loss that runs on it")
        monkeypatch.delattr(fn, "__losskit_grad__")
    value, grad = losskit.value_and_grad(fn)(*args, **options)
    assert np.shape(grad) == np.shape(args[0]) == (), (name, np.shape(grad))
    assert np.shape(value) == np.shape(fn(*args, **options))
    # the same numbers as the 1-element batch
    one = tuple(a.reshape(1) if isinstance(a, np.ndarray) else a for a in args)
    v1, g1 = losskit.value_and_grad(fn)(*one, **options)
    np.testing.assert_allclose(np.asarray(grad).reshape(1), np.asarray(g1).reshape(-1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(value).reshape(-1), np.asarray(v1).reshape(-1), rtol=1e-12)
