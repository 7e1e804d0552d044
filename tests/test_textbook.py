"""The textbook pair exactly as the seed article defines it, and its numbers.

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


def test_squared_error_article_numbers():
    # 0.5 * (0.01 + 0.0025 + 0.16 + 0.0025 + 0.01 + 0.01) = 0.5 * 0.195 = 0.0975
    assert round(float(tb.mean_squared_error(Y_GOOD, T)), 4) == 0.0975
    assert tb.mean_squared_error(Y_GOOD, T) == pytest.approx(0.0975, abs=1e-15)
    # 0.5 * (0.01 + 0.0025 + 0.81 + 0.0025 + 0.01 + 0.36) = 0.5 * 1.195 = 0.5975
    assert round(float(tb.mean_squared_error(Y_BAD, T)), 4) == 0.5975
    assert tb.mean_squared_error(Y_BAD, T) == pytest.approx(0.5975, abs=1e-15)


def test_squared_error_is_a_half_sum_not_a_mean():
    rng = np.random.default_rng(0)
    y, t = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    assert tb.mean_squared_error(y, t) == pytest.approx(0.5 * np.sum((y - t) ** 2), rel=1e-14)
    # the production loss is the mean without the half
    assert float(losskit.mse_loss(y, t)) == pytest.approx(2 * tb.mean_squared_error(y, t) / y.size, rel=1e-14)


def test_cross_entropy_article_numbers():
    # -log(0.6 + 1e-7) = 0.5108..., printed as 0.51; -log(0.1 + 1e-7) = 2.3025..., printed 2.30
    good, bad = tb.cross_entropy_error(Y_GOOD, T), tb.cross_entropy_error(Y_BAD, T)
    assert round(float(good), 2) == 0.51
    assert round(float(bad), 2) == 2.30
    assert good == pytest.approx(-math.log(0.6 + 1e-7), rel=1e-14)
    assert bad == pytest.approx(-math.log(0.1 + 1e-7), rel=1e-14)


def test_cross_entropy_delta_keeps_log_zero_finite_and_perfect_is_slightly_negative():
    # probability 0 at the true class: -log(1e-7) = 16.118..., not inf
    y = np.array([1.0, 0.0, 0.0])
    assert tb.cross_entropy_error(y, np.array([0, 1, 0])) == pytest.approx(-math.log(1e-7), rel=1e-12)
    # perfect prediction: -log(1 + 1e-7) < 0
    perfect = tb.cross_entropy_error(y, np.array([1, 0, 0]))
    assert perfect < 0
    assert perfect == pytest.approx(-math.log1p(1e-7), rel=1e-9)


def test_cross_entropy_batch_one_hot_and_labels_agree():
    y = np.stack([Y_GOOD, Y_BAD, Y_BAD])
    labels = np.array([2, 7, 2])
    one_hot = np.eye(10)[labels]
    # (-log(0.6 + d) - log(0.6 + d) - log(0.1 + d)) / 3: divided by the batch size
    expected = -(2 * math.log(0.6 + 1e-7) + math.log(0.1 + 1e-7)) / 3
    assert tb.cross_entropy_error(y, one_hot) == pytest.approx(expected, rel=1e-14)
    assert tb.cross_entropy_error(y, labels) == pytest.approx(expected, rel=1e-14)
    # 1-D y with a scalar label is a batch of one
    assert tb.cross_entropy_error(Y_GOOD, np.array(2)) == pytest.approx(-math.log(0.6 + 1e-7), rel=1e-14)
    # empty batch: 0, not 0 / 0
    assert tb.cross_entropy_error(np.zeros((0, 3)), np.zeros((0,), dtype=int)) == 0.0


def test_textbook_invalid_input():
    with pytest.raises(ValueError, match=r"t: expected the shape of y \(10,\), got \(3,\)"):
        tb.mean_squared_error(Y_GOOD, np.zeros(3))
    with pytest.raises(ValueError, match="t: expected one-hot targets of shape"):
        tb.cross_entropy_error(np.full((2, 3), 1 / 3), np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="t: expected integer class labels"):
        tb.cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"t: expected class labels in \[0, 2\]"):
        tb.cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0, 3]))
    with pytest.raises(ValueError, match="y: expected a 1-D or 2-D array"):
        tb.cross_entropy_error(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
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
