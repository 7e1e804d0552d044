r"""The textbook pair, exactly as the seed article defines them (NumPy only).

The article that started losskit introduces two losses and one gradient tool:

* :func:`mean_squared_error`: :math:`E = \tfrac12 \sum_k (y_k - t_k)^2`, a *half sum*;
* :func:`cross_entropy_error`: :math:`E = -\sum_k t_k \log(y_k + \delta)` with
  :math:`\delta = 10^{-7}`, in a batch form that divides by the batch size;
* :func:`softmax` (max-shifted) and :func:`numerical_gradient` (central difference,
  :math:`h = 10^{-4}`), plus the analytic gradient of softmax + cross-entropy,
  :func:`softmax_cross_entropy_grad`.

They are kept *as written* so that the article's numbers (0.0975, 0.5975, 0.51, 2.30) come
out of the code. The production losses differ on purpose: :func:`losskit.mse_loss` is a mean,
not a half sum, and :func:`losskit.cross_entropy` takes logits and uses log-sum-exp instead of
adding :math:`\delta` to probabilities. Each docstring says how.

They are **NumPy-only**, as the article writes them (``np.sum``, ``np.log`` on NumPy
arrays): the registry says so (``backends=("numpy",)``), and ``losskit eval --backend
torch`` refuses them. Their gradients with respect to ``y`` are derived by hand
(``@analytic_grad``), so :func:`losskit.value_and_grad` and ``losskit eval --grad`` need no
autodiff framework.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from ._meta import analytic_grad, loss

__all__ = [
    "mean_squared_error",
    "cross_entropy_error",
    "softmax",
    "numerical_gradient",
    "softmax_cross_entropy_grad",
    "DELTA",
]

#: The article's :math:`\delta`, added inside the log so that a probability of exactly 0
#: gives a large finite loss (-log 1e-7 = 16.1) instead of ``inf``.
DELTA = 1e-7


def _as_float_array(name: str, a: Any) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.dtype == np.float16:
        # losskit's rule for half precision (a sum of squares overflows 65504): float32.
        return arr.astype(np.float32)
    return arr.astype(np.float64) if arr.dtype.kind != "f" else arr


def _read_targets(t: Any, y: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(t, is_labels)``: the article's targets for ``y`` of shape ``(K,)`` or ``(N, K)``,
    validated.

    ``t`` is either of ``y``'s shape (one-hot or probabilities; returned in ``y``'s dtype) or
    integer class labels of shape ``y.shape[:-1]``, each in ``[0, K)`` (returned as given).
    """
    t = np.asarray(t)
    if t.shape == y.shape:
        if t.dtype.kind not in "fiub":
            raise TypeError(f"t: expected numeric one-hot targets, got dtype {t.dtype}")
        return t.astype(y.dtype), False
    if t.shape != y.shape[:-1]:
        raise ValueError(
            f"t: expected one-hot targets of shape {y.shape} or labels of shape "
            f"{y.shape[:-1]}, got {t.shape}"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(f"t: expected integer class labels, got dtype {t.dtype}")
    num_classes = y.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"t: expected class labels in [0, {num_classes - 1}], got values in [{t.min()}, {t.max()}]"
        )
    return t, True


# The article's reference and its example (a one-hot target, a softmax output), which both
# losses' docstrings show.
_DOC = {
    "article": """\
    References:
        K. Saito, Deep Learning from Scratch, O'Reilly Japan, 2016 (chapter 4).

    Example:
        >>> import numpy as np
        >>> t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        >>> y = np.array([.1, .05, .6, 0, .05, .1, 0, .1, 0, 0])""",
}

# Both losses are the article's, in NumPy only, as it writes them.
_article_loss = functools.partial(
    loss, reference="Saito, Deep Learning from Scratch, 2016 (ch. 4, loss functions)", backends=("numpy",), doc=_DOC
)


@_article_loss(formula=r"E = \frac{1}{2} \sum_k (y_k - t_k)^2")
def mean_squared_error(y, t):
    r"""Sum of squared errors, halved, exactly as the article writes it.

    .. math::

        E = \frac{1}{2} \sum_k (y_k - t_k)^2

    where

    - :math:`y_k` is the network's output for class (or component) :math:`k`;
    - :math:`t_k` is the target (one-hot in the article's example);
    - the sum runs over *every* element: there is no division by a count.

    Args:
        y: outputs, a NumPy array (or anything ``np.asarray`` accepts) of any shape.
        t: targets, the same shape as ``y``.

    Returns:
        A NumPy scalar of NumPy's result type of ``y`` and ``t`` (integer arrays count as
        float64, float16 as float32): ``np.float64`` for the article's inputs,
        ``np.float32`` when both are float32.

    NumPy only, as the article writes it. Its gradient :math:`y_k - t_k` is registered
    (``@analytic_grad``) for :func:`losskit.value_and_grad`.

    Notes:
        The factor :math:`\tfrac12` makes the derivative :math:`y_k - t_k`. The production
        loss :func:`losskit.mse_loss` is a *mean* (PyTorch's and scikit-learn's
        convention) without the half: ``mse_loss(y, t) == 2 * mean_squared_error(y, t) /
        y.size``. Over a batch this half sum grows with the batch size; the mean does not.

%(article)s
        >>> from losskit.textbook import mean_squared_error
        >>> round(float(mean_squared_error(y, t)), 4)
        0.0975
    """
    y = _as_float_array("y", y)
    t = _as_float_array("t", t)
    if y.shape != t.shape:
        raise ValueError(f"t: expected the shape of y {y.shape}, got {t.shape}")
    return 0.5 * np.sum((y - t) ** 2)


@_article_loss(formula=r"E = -\frac{1}{N} \sum_n \sum_k t_{nk} \log(y_{nk} + \delta), \quad \delta = 10^{-7}")
def cross_entropy_error(y, t):
    r"""Cross-entropy of probabilities with the article's delta = 1e-7, averaged over the batch.

    .. math::

        E = -\frac{1}{N} \sum_{n=1}^{N} \sum_k t_{nk} \log(y_{nk} + \delta)

    where

    - :math:`y_{nk}` is the predicted *probability* (a softmax output) of class :math:`k`
      for sample :math:`n`;
    - :math:`t_{nk}` is the one-hot target (or integer labels :math:`c_n`, which pick
      :math:`-\log(y_{n c_n} + \delta)`);
    - :math:`N` is the batch size (1 for a single 1-D sample);
    - :math:`\delta = 10^{-7}` keeps :math:`\log 0 = -\infty` out of the result.

    Args:
        y: probabilities, shape ``(K,)`` (one sample) or ``(N, K)`` (a batch).
        t: one-hot (or any probability) targets of ``y``'s shape, or integer labels of
            shape ``()`` for a 1-D ``y`` / ``(N,)`` for a 2-D ``y``, each in ``[0, K)``.

    Returns:
        A NumPy float64 scalar (float32 if ``y`` is float32 or float16).

    NumPy only, as the article writes it. Its gradient with respect to ``y``,
    :math:`-t_{nk} / (N (y_{nk} + \delta))`, is registered (``@analytic_grad``) for
    :func:`losskit.value_and_grad`.

    Notes:
        With :math:`\delta`, a perfect prediction (:math:`y = t`, one-hot) gives
        :math:`-\log(1 + 10^{-7}) \approx -10^{-7}`: slightly *below* zero. The production
        loss :func:`losskit.cross_entropy` takes logits and computes
        :math:`\log\mathrm{softmax}` with log-sum-exp, which needs no :math:`\delta`, is
        exact for confident predictions and never negative; prefer it for training.

%(article)s
        >>> from losskit.textbook import cross_entropy_error
        >>> round(float(cross_entropy_error(y, t)), 2)  # -log 0.6
        0.51
        >>> round(float(cross_entropy_error(y[None], np.array([2]))), 2)  # labels, batch of 1
        0.51
    """
    y = _as_float_array("y", y)
    if y.ndim not in (1, 2):
        raise ValueError(f"y: expected a 1-D or 2-D array of probabilities, got shape {y.shape}")
    t, is_labels = _read_targets(t, y)
    y2 = y.reshape(1, -1) if y.ndim == 1 else y
    batch = y2.shape[0]
    if is_labels:
        # The article's batch form: the probability of each sample's class, picked.
        total = -np.sum(np.log(y2[np.arange(batch), t.reshape(batch)] + DELTA))
    else:
        total = -np.sum(t * np.log(y + DELTA))
    # An empty batch has no error to average: 0, not 0 / 0.
    return total / max(batch, 1)


@analytic_grad(mean_squared_error)
def _mean_squared_error_grad(y, t):
    # d/dy_k 1/2 sum (y - t)^2 = y_k - t_k (the half is there for this)
    y = _as_float_array("y", y)
    t = _as_float_array("t", t)
    if y.shape != t.shape:
        raise ValueError(f"t: expected the shape of y {y.shape}, got {t.shape}")
    d = np.asarray(y - t)
    return 0.5 * np.sum(d**2), d


@analytic_grad(cross_entropy_error)
def _cross_entropy_error_grad(y, t):
    # d/dy_nk -1/N sum t log(y + delta) = -t_nk / (N (y_nk + delta)); with labels c_n,
    # only y_{n c_n} gets -1 / (N (y_{n c_n} + delta)).
    y = _as_float_array("y", y)
    if y.ndim not in (1, 2):
        raise ValueError(f"y: expected a 1-D or 2-D array of probabilities, got shape {y.shape}")
    t, is_labels = _read_targets(t, y)
    batch = y.shape[0] if y.ndim == 2 else 1
    if is_labels:
        t = (t[..., None] == np.arange(y.shape[-1])).astype(y.dtype)
    value = cross_entropy_error(y, t)
    return value, -t / (y + DELTA) / max(batch, 1)


def softmax(x):
    r"""Softmax along the last axis, shifted by the maximum so that it never overflows.

    .. math::

        \mathrm{softmax}(x)_k = \frac{e^{x_k - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j

    where subtracting :math:`m` leaves the result unchanged (numerator and denominator are
    both multiplied by :math:`e^{-m}`) but keeps every exponent :math:`\le 0`, so
    ``softmax([1000, 1010])`` is finite where the naive form gives ``inf / inf = nan``.

    Args:
        x: scores, shape ``(K,)`` or ``(..., K)`` (rows of a batch).

    Returns:
        Probabilities of ``x``'s shape, each row summing to 1 (float64 unless ``x`` is
        float32).

    Example:
        >>> import numpy as np
        >>> from losskit.textbook import softmax
        >>> softmax(np.array([1000.0, 1000.0 + np.log(3.0)])).round(4).tolist()
        [0.25, 0.75]
    """
    x = _as_float_array("x", x)
    if x.ndim == 0:
        raise ValueError("x: expected at least one dimension, got a 0-d array")
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def numerical_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    r"""Central-difference gradient of a scalar function, one element at a time.

    .. math::

        \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    where :math:`e_i` is the unit vector of element :math:`i` and :math:`h = 10^{-4}` (the
    article's choice: small enough for a good approximation, large enough that float
    rounding of :math:`f(x \pm h)` does not dominate; the central difference has error
    :math:`O(h^2)`, the forward difference only :math:`O(h)`).

    Args:
        f: a function of ``x`` returning a scalar. ``x`` is modified *in place* and passed
            to ``f``, so ``f`` may also ignore its argument and read ``x`` through a closure
            (the article's ``lambda W: net.loss(x, t)`` idiom).
        x: a floating NumPy array of any shape (it is restored before returning).
        h: the step (default 1e-4).

    Returns:
        An array of ``x``'s shape and dtype with the gradient.

    Example:
        >>> import numpy as np
        >>> from losskit.textbook import numerical_gradient
        >>> g = numerical_gradient(lambda x: x[0] ** 2 + x[1] ** 2, np.array([3.0, 4.0]))
        >>> g.round(4).tolist()
        [6.0, 8.0]
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x: expected a floating NumPy array (it is perturbed in place), got {kind}")
    if not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
        raise ValueError(f"h: expected a finite number > 0, got {h!r}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        try:
            x[i] = old + h
            f_plus = float(f(x))
            x[i] = old - h
            f_minus = float(f(x))
        finally:
            x[i] = old  # restore, even if f raises
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def softmax_cross_entropy_grad(x, t):
    r"""Analytic gradient of ``cross_entropy_error(softmax(x), t)`` with respect to scores ``x``.

    .. math::

        \frac{\partial E}{\partial x_{nk}} = \frac{\mathrm{softmax}(x_n)_k - t_{nk}}{N}

    where :math:`t` is one-hot (integer labels are one-hot encoded) and :math:`N` the batch
    size. This ignores :math:`\delta`; the exact derivative with it differs by
    :math:`O(\delta)`.

    Args:
        x: scores, shape ``(K,)`` or ``(N, K)``.
        t: one-hot targets of ``x``'s shape or integer labels of shape ``x.shape[:-1]``.

    Returns:
        The gradient, an array of ``x``'s shape.

    Example:
        >>> import numpy as np
        >>> from losskit.textbook import softmax_cross_entropy_grad
        >>> softmax_cross_entropy_grad(np.zeros((2, 2)), np.array([0, 1])).round(4).tolist()
        [[-0.25, 0.25], [0.25, -0.25]]
    """
    x = _as_float_array("x", x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x: expected a 1-D or 2-D array of scores, got shape {x.shape}")
    t, is_labels = _read_targets(t, x)
    onehot = (t[..., None] == np.arange(x.shape[-1])).astype(x.dtype) if is_labels else t
    batch = x.shape[0] if x.ndim == 2 else 1
    return (softmax(x) - onehot) / max(batch, 1)
