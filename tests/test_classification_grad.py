"""Gradients of the classification losses.

For the eight losses with a hand-derived gradient (cross_entropy, nll_loss, both BCEs,
hinge, squared hinge, focal, sigmoid focal): analytic == framework autograd (torch, jax,
float64) == float64 numerical gradient, with every reduction and option. The analytic
gradients are array-API code, so they run on the torch/jax arrays too; on NumPy
``value_and_grad`` must take the analytic path. The other differentiable losses are checked
autograd == numerical. Extreme but valid inputs give finite gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from helpers import numerical_grad

G = np.random.default_rng(7)

X3 = G.normal(size=(4, 3)) * 2
Y3 = np.array([0, 2, 1, 2])
Y3_IGN = np.array([0, -1, 1, 2])
W3 = np.array([0.5, 2.0, 1.5])
Q3 = G.dirichlet(np.ones(3), 4)
X_SEG = G.normal(size=(2, 3, 2))  # (N, C, L)
Y_SEG = np.array([[0, 2], [1, 1]])
P4 = G.uniform(0.05, 0.95, size=(2, 4))
T4 = G.uniform(size=(2, 4))
L4 = G.normal(size=(2, 4)) * 2
B4 = (G.uniform(size=(2, 4)) > 0.5).astype(np.float64)
# hinge margins kept away from the kink y f = 1
F6 = np.array([2.0, 0.3, -1.2, 0.6, -0.4, 1.7])
Y6 = np.array([1, 1, 1, -1, -1, -1])

ANALYTIC = [
    ("cross_entropy", X3, Y3, {}),
    ("cross_entropy", X3, Y3, {"weight": W3}),
    ("cross_entropy", X3, Y3_IGN, {"ignore_index": -1}),
    ("cross_entropy", X3, Y3, {"label_smoothing": 0.2}),
    ("cross_entropy", X3, Y3_IGN, {"weight": W3, "ignore_index": -1, "label_smoothing": 0.3}),
    ("cross_entropy", X3, Q3, {"weight": W3, "label_smoothing": 0.1}),
    ("cross_entropy", X_SEG, Y_SEG, {"label_smoothing": 0.1}),
    ("cross_entropy", np.moveaxis(X_SEG, 1, -1).copy(), Y_SEG, {"axis": -1, "weight": W3}),
    ("nll_loss", X3, Y3, {}),
    ("nll_loss", X3, Y3_IGN, {"weight": W3, "ignore_index": -1}),
    ("binary_cross_entropy", P4, T4, {}),
    ("binary_cross_entropy", P4, B4, {"weight": np.array([2.0, 0.5, 1.0, 0.0])}),
    ("binary_cross_entropy_with_logits", L4, T4, {}),
    ("binary_cross_entropy_with_logits", L4, B4, {"pos_weight": np.array([1.0, 3.0, 0.5, 2.0]), "weight": np.array([[2.0], [0.5]])}),
    ("binary_cross_entropy_with_logits", L4, B4, {"pos_weight": 2.5}),
    ("hinge_loss", F6, Y6, {}),
    ("hinge_loss", F6, (Y6 > 0).astype(np.int64), {"weight": np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.0])}),
    ("squared_hinge_loss", F6, Y6, {}),
    ("squared_hinge_loss", F6, Y6, {"weight": np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.0])}),
    ("focal_loss", X3, Y3, {}),
    ("focal_loss", X3, Y3_IGN, {"gamma": 0.5, "alpha": W3, "ignore_index": -1}),
    ("focal_loss", X_SEG, Y_SEG, {"gamma": 1.0, "alpha": 0.25}),
    ("sigmoid_focal_loss", L4, B4, {}),
    ("sigmoid_focal_loss", L4, T4, {"alpha": None, "gamma": 0.5}),
    ("sigmoid_focal_loss", L4, B4, {"alpha": 0.7, "gamma": 0.0}),
]

CASES = [
    pytest.param(name, x, t, opts, red, id=f"{name}-{i}-{red}")
    for i, (name, x, t, opts) in enumerate(ANALYTIC)
    for red in ("mean", "sum", "none")
]
# autograd backends: "sum" is "mean" times a constant, covered by the NumPy test above
AUTODIFF_CASES = [c for c in CASES if c.values[-1] != "sum"]


def _numerical(fn, x, t, kw):
    return numerical_grad(lambda a: np.asarray(fn(a, t, **kw)), x)


def _conv(b, v):
    return b.asarray(v) if isinstance(v, np.ndarray) else v


@pytest.mark.parametrize("name,x,t,opts,reduction", CASES)
def test_numpy_value_and_grad_uses_analytic_gradient(name, x, t, opts, reduction):
    fn = getattr(losskit, name)
    info = losskit.get(name)
    assert info.grad is not None
    kw = dict(opts, reduction=reduction)
    value, grad = losskit.value_and_grad(fn)(x, t, **kw)
    assert isinstance(grad, np.ndarray) and grad.shape == x.shape and grad.dtype == np.float64
    # the hand-derived gradient itself, bit for bit (autograd in float64 would differ in the
    # last digits somewhere in these tables)
    _, analytic = info.grad(x, t, **kw)
    assert np.array_equal(grad, analytic)
    np.testing.assert_allclose(value, np.asarray(fn(x, t, **kw)), rtol=1e-14)
    np.testing.assert_allclose(grad, _numerical(fn, x, t, kw), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,x,t,opts,reduction", AUTODIFF_CASES)
def test_analytic_equals_autograd_equals_numerical(autodiff_xp, name, x, t, opts, reduction):
    b = autodiff_xp
    fn = getattr(losskit, name)
    kw = dict(opts, reduction=reduction)
    bkw = {k: _conv(b, v) for k, v in kw.items()}
    xb, tb = b.asarray(x), b.asarray(t)
    value_a, grad_a = losskit.get(name).grad(xb, tb, **bkw)
    value_g, grad_g = b.grad(fn, xb, tb, **bkw)
    num = _numerical(fn, x, t, kw)
    np.testing.assert_allclose(b.np(value_a), value_g, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.np(grad_a), grad_g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_g, num, rtol=1e-6, atol=1e-9)


def test_analytic_gradient_runs_on_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    for name, x, t, opts in ANALYTIC:
        kw = {k: xps.asarray(v) if isinstance(v, np.ndarray) else v for k, v in opts.items()}
        _, g = losskit.get(name).grad(xps.asarray(x), xps.asarray(t), **kw)
        np.testing.assert_allclose(np.from_dlpack(g), _numerical(getattr(losskit, name), x, t, opts), rtol=1e-6, atol=1e-9)


OTHERS = [
    ("log_loss", G.dirichlet(np.ones(3), 4), Y3, {"weight": np.array([1.0, 0.5, 2.0, 1.0])}),
    ("log_loss", np.array([0.2, 0.7, 0.9]), np.array([0, 1, 0]), {}),
    ("kl_div", np.log(Q3), G.dirichlet(np.ones(3), 4), {"reduction": "batchmean"}),
    ("kl_div", np.log(Q3), np.log(G.dirichlet(np.ones(3), 4)), {"log_target": True}),
    ("multi_margin_loss", X3, Y3, {"p": 1, "margin": 0.8, "weight": W3}),
    ("multi_margin_loss", X3, Y3, {"p": 2}),
    ("multiclass_hinge_loss", X3, Y3, {}),
    ("poly1_cross_entropy", X3, Y3, {"epsilon": 2.0}),
    ("poly1_cross_entropy", X_SEG, np.moveaxis(np.eye(3)[Y_SEG], -1, 1).copy(), {"epsilon": -1.0}),
]


@pytest.mark.filterwarnings("ignore:input. the rows of probabilities do not sum to one")  # h-perturbed rows
@pytest.mark.parametrize("name,x,t,opts", OTHERS, ids=[f"{o[0]}-{i}" for i, o in enumerate(OTHERS)])
def test_autograd_equals_numerical_for_the_other_losses(autodiff_xp, name, x, t, opts):
    b = autodiff_xp
    fn = getattr(losskit, name)
    _, g = b.grad(fn, b.asarray(x), b.asarray(t), **{k: _conv(b, v) for k, v in opts.items()})
    np.testing.assert_allclose(g, _numerical(fn, x, t, opts), rtol=1e-6, atol=1e-9)


def test_zero_one_loss_has_zero_gradient(autodiff_xp):
    b = autodiff_xp
    for x, y in ((X3, Y3), (F6, Y6)):
        value, g = b.grad(losskit.zero_one_loss, b.asarray(x), b.asarray(y))
        assert 0 < value < 1 and g.shape == x.shape and np.all(g == 0)


EXTREME = [
    ("cross_entropy", np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.array([1, 0]), {"label_smoothing": 0.1}),
    ("cross_entropy", np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]), {}),
    ("focal_loss", np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.array([0, 2]), {"gamma": 0.5}),
    ("focal_loss", np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.array([1, 0]), {"gamma": 2.0}),
    ("binary_cross_entropy_with_logits", np.array([1e4, -1e4, 1e4, -1e4]), np.array([1.0, 0.0, 0.0, 1.0]), {"pos_weight": 2.0}),
    ("sigmoid_focal_loss", np.array([1e4, -1e4, 1e4, -1e4]), np.array([1.0, 0.0, 0.0, 1.0]), {"gamma": 0.5}),
    ("sigmoid_focal_loss", np.array([1e4, -1e4, 1e4, -1e4]), np.array([1.0, 0.0, 0.0, 1.0]), {}),
    ("binary_cross_entropy", np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 0.3]), {}),
    ("log_loss", np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 1]), {}),
    ("kl_div", np.log(np.array([[1.0, 1e-300]])), np.array([[1.0, 0.0]]), {}),
    ("hinge_loss", np.array([1e4, -1e4]), np.array([1, 1]), {}),
    ("squared_hinge_loss", np.array([1e4, -1e4]), np.array([0, 1]), {}),
    ("nll_loss", np.array([[-1e4, 0.0]]), np.array([0]), {}),
    ("multi_margin_loss", np.array([[1e4, -1e4, 0.0]]), np.array([1]), {"p": 2}),
    ("multiclass_hinge_loss", np.array([[1e4, -1e4, 0.0]]), np.array([1]), {}),
    ("poly1_cross_entropy", np.array([[1e4, -1e4, 0.0]]), np.array([1]), {}),
]


@pytest.mark.parametrize("name,x,t,opts", EXTREME, ids=[f"{e[0]}-{i}" for i, e in enumerate(EXTREME)])
def test_extreme_valid_inputs_give_finite_values_and_gradients(xp, name, x, t, opts):
    fn = getattr(losskit, name)
    kw = {k: _conv(xp, v) for k, v in opts.items()}
    dtypes = ["float32", "float64"] + [d for d in ("float16",) if xp.has_dtype(d) and np.abs(x).max() < 6e4]
    for dt in dtypes:
        if xp.name == "jax" and dt == "float64":
            continue
        xa = xp.asarray(x, dtype=dt)
        if xp.has_autodiff:
            value, g = losskit.value_and_grad(fn)(xa, xp.asarray(t), **kw)
        elif losskit.get(name).grad is not None:
            value, g = losskit.get(name).grad(xa, xp.asarray(t), **kw)
        else:
            value, g = xp.call(fn, xa, xp.asarray(t), **kw), None
        assert np.all(np.isfinite(xp.np(value))), (name, dt)
        if g is not None:
            assert np.all(np.isfinite(xp.np(g))), (name, dt)


def test_all_ignored_batch_backward_gives_zero_gradient(autodiff_xp):
    b = autodiff_xp
    x = b.asarray(X3)
    y = b.asarray(np.full(4, -1))
    for kw in ({}, {"weight": b.asarray(W3)}, {"label_smoothing": 0.2}):
        value, g = b.grad(losskit.cross_entropy, x, y, ignore_index=-1, **kw)
        assert value == 0.0 and np.all(g == 0)
        value, g = b.grad(losskit.nll_loss, x, y, ignore_index=-1, **kw) if "label_smoothing" not in kw else (0.0, np.zeros(1))
        assert value == 0.0 and np.all(g == 0)
        value, g = b.grad(losskit.focal_loss, x, y, ignore_index=-1)
        assert value == 0.0 and np.all(g == 0)
