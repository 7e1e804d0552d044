"""The textbook pair exactly as the seed article defines it: what the case table
(tests/cases/textbook.py, which holds the article's numbers) cannot express.

The article's worked examples (t one-hot at index 2):

* y = [.1, .05, .6, 0, .05, .1, 0, .1, 0, 0] -> squared error 0.0975, cross-entropy 0.51
* y = [.1, .05, .1, 0, .05, .1, 0, .6, 0, 0] -> squared error 0.5975, cross-entropy 2.30
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from losskit import textbook as tb

T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
Y_GOOD = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_BAD = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_squared_error_is_a_half_sum_not_a_mean():
    rng = np.random.default_rng(0)
    y, t = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    assert tb.mean_squared_error(y, t) == pytest.approx(0.5 * np.sum((y - t) ** 2), rel=1e-14)
    # the production loss is the mean without the half
    assert float(losskit.mse_loss(y, t)) == pytest.approx(2 * tb.mean_squared_error(y, t) / y.size, rel=1e-14)


def test_textbook_invalid_input():
    # (the losses' own bad inputs are rows of tests/cases/textbook.py)
    # the analytic gradient reads its targets with the same rules (a label out of range
    # used to give an all-zero one-hot row, i.e. a silently wrong gradient)
    with pytest.raises(ValueError, match=r"t: expected class labels in \[0, 2\]"):
        tb.softmax_cross_entropy_grad(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="t: expected integer class labels"):
        tb.softmax_cross_entropy_grad(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="t: expected one-hot targets of shape"):
        tb.softmax_cross_entropy_grad(np.zeros((2, 3)), np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="x: expected a floating NumPy array"):
        tb.numerical_gradient(lambda x: 0.0, np.array([1, 2]))
    with pytest.raises(ValueError, match="h: expected a finite number > 0"):
        tb.numerical_gradient(lambda x: 0.0, np.array([1.0]), h=0.0)


def test_softmax_rows_sum_to_one_shift_invariant_and_no_overflow():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5))
    s = tb.softmax(x)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-14)
    # by definition: exp(x) / sum(exp(x)) (safe here: small x)
    np.testing.assert_allclose(s, np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-13)
    # invariance to a constant shift per row
    np.testing.assert_allclose(tb.softmax(x + 123.0), s, rtol=1e-12)
    # 1000 overflows exp in float64 (exp(710) = inf); the max shift avoids it
    big = tb.softmax(np.array([1010.0, 1000.0, 990.0]))
    assert np.all(np.isfinite(big))
    e = np.exp([0.0, -10.0, -20.0])
    np.testing.assert_allclose(big, e / e.sum(), rtol=1e-13)
    # 1-D and batched agree
    np.testing.assert_allclose(tb.softmax(x[0]), s[0], rtol=1e-15)


def test_numerical_gradient_of_sum_of_squares_and_restores_x():
    # f(x0, x1) = x0^2 + x1^2 has gradient (2 x0, 2 x1): (6, 8) at (3, 4), (0, 4) at (0, 2)
    f = lambda x: x[0] ** 2 + x[1] ** 2  # noqa: E731
    for point, expected in (([3.0, 4.0], [6.0, 8.0]), ([0.0, 2.0], [0.0, 4.0]), ([3.0, 0.0], [6.0, 0.0])):
        x = np.array(point)
        g = tb.numerical_gradient(f, x)
        np.testing.assert_allclose(g, expected, atol=1e-7)  # central difference is exact on quadratics
        np.testing.assert_array_equal(x, point)  # restored


def test_numerical_gradient_any_shape_closure_idiom_and_analytic_softmax_ce():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(2, 3, 4))
    # any shape: gradient of sum(sin(W)) is cos(W); central difference error ~ h^2 / 6
    np.testing.assert_allclose(tb.numerical_gradient(lambda w: np.sum(np.sin(w)), W), np.cos(W), atol=1e-8)
    # the article's idiom: f ignores its argument and reads W through a closure
    x = rng.normal(size=(5, 2))
    labels = np.array([0, 1, 2, 1, 0])
    Wl = rng.normal(size=(2, 3))

    def loss(_):
        return tb.cross_entropy_error(tb.softmax(x @ Wl), labels)

    before = Wl.copy()
    g = tb.numerical_gradient(loss, Wl)
    np.testing.assert_array_equal(Wl, before)
    # analytic: dE/dW = x^T (softmax(xW) - t) / N (delta changes it only by O(1e-7))
    analytic = x.T @ tb.softmax_cross_entropy_grad(x @ Wl, labels)
    np.testing.assert_allclose(g, analytic, rtol=1e-5, atol=1e-6)
    # one-hot targets give the same analytic gradient
    scores = x @ Wl
    np.testing.assert_allclose(tb.softmax_cross_entropy_grad(scores, np.eye(3)[labels]),
                               tb.softmax_cross_entropy_grad(scores, labels), rtol=1e-15)


def test_registered_in_textbook_family():
    assert set(losskit.names("textbook")) >= {"mean_squared_error", "cross_entropy_error"}
    info = losskit.get("cross_entropy_error")
    assert info.family == "textbook" and "delta" in info.formula
    assert "textbook" in dir(losskit)


def test_numpy_only_metadata_and_hand_derived_gradients():
    for name in ("mean_squared_error", "cross_entropy_error"):
        info = losskit.get(name)
        assert info.backends == ("numpy",) and info.grad is not None
        assert "NumPy only" in info.fn.__doc__
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="input: mean_squared_error runs on numpy arrays only, got a torch array"):
        losskit.value_and_grad(tb.mean_squared_error)(torch.ones(2), torch.ones(2))


def test_analytic_gradients_equal_numerical_labels_and_one_hot():
    from helpers import numerical_grad

    rng = np.random.default_rng(4)
    y = rng.uniform(0.05, 1.0, size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    for t in (labels, np.eye(3)[labels]):
        value, g = losskit.value_and_grad(tb.cross_entropy_error)(y, t)
        assert value == tb.cross_entropy_error(y, t)
        np.testing.assert_allclose(g, numerical_grad(lambda a: tb.cross_entropy_error(a, t), y), rtol=1e-6)
    # -t / (N (y + delta)): only the true class of each row, divided by the batch size 4
    expected = np.zeros_like(y)
    expected[np.arange(4), labels] = -1.0 / (4 * (y[np.arange(4), labels] + tb.DELTA))
    np.testing.assert_allclose(losskit.value_and_grad(tb.cross_entropy_error)(y, labels)[1], expected, rtol=1e-14)
    t = rng.normal(size=(4, 3))
    value, g = losskit.value_and_grad(tb.mean_squared_error)(y, t)
    np.testing.assert_allclose(g, y - t, rtol=1e-15)  # the half makes the derivative y - t
    # 0-d: a 0-d gradient
    value, g = losskit.value_and_grad(tb.mean_squared_error)(np.array(2.0), np.array(0.5))
    assert np.shape(g) == () and float(g) == 1.5 and float(value) == 0.5 * 1.5**2


def test_float16_is_computed_in_float32():
    y16, t16 = Y_GOOD.astype(np.float16), T.astype(np.float16)
    assert tb.mean_squared_error(y16, t16).dtype == np.float32
    assert tb.cross_entropy_error(y16, t16).dtype == np.float32
    assert tb.mean_squared_error(Y_GOOD.astype(np.float32), T.astype(np.float32)).dtype == np.float32
