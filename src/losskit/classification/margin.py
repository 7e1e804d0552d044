r"""Margin losses: the binary ``hinge_loss`` and ``squared_hinge_loss``, the multiclass
hinges of Weston-Watkins (``multi_margin_loss``) and Crammer-Singer
(``multiclass_hinge_loss``), and the ``zero_one_loss`` they bound (see
:mod:`losskit.classification` for the conventions they share).

A NaN score gives a NaN loss: the hinge is :func:`._common.positive_part`, which keeps NaN
(``max(0, NaN)`` written as ``where(z > 0, z, 0)`` would be 0).
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import (
    check_array,
    check_class_weight,
    check_floating,
    check_number,
    check_reduction,
    check_sample_weight,
)
from .._meta import analytic_grad, loss
from .._reduce import mean_denominator, reduce_grad, reduce_loss
from .._xp import as_float, compute_dtype, namespace, one_hot, take_along_axis
from ._common import (
    as_index,
    check_binary_labels,
    check_index_target,
    check_scores,
    gather,
    index_setup,
    index_shape,
    nan_where,
    pick,
    positive_part,
    signed,
)

__all__ = ["hinge_loss", "squared_hinge_loss", "multi_margin_loss", "multiclass_hinge_loss", "zero_one_loss"]


def _hinge_setup(input, target, weight, reduction):
    check_reduction(reduction)
    check_array("input", input)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    check_binary_labels(target, input, xp)
    x = as_float(input, xp)
    y = signed(target, xp, x.dtype)
    w = check_sample_weight(weight, tuple(input.shape), xp, x.dtype, exact=True)
    return xp, x, y, w


@loss(
    formula=r"\ell = \max(0,\ 1 - y f)",
    reference="Cortes, Vapnik, Support-Vector Networks, 1995",
    aliases=("hinge",),
    plot="margin",
)
def hinge_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary hinge loss of decision values against labels in {-1, 1} or {0, 1}.

    .. math::

        \ell = \max(0,\ 1 - y f)

    where

    - :math:`f` is the decision value (``input``; its sign is the predicted class),
    - :math:`y \in \{-1, 1\}` the label (a label 0 is read as -1),
    - the margin is 1: correct predictions with :math:`y f \ge 1` cost nothing.

    Args:
        input: decision values, any shape.
        target: labels in {-1, 1} or in {0, 1} (integer, bool or float), ``input``'s shape.
        weight: optional per-sample weight, ``input``'s shape.
        reduction: ``"mean"`` (weighted mean, as scikit-learn's ``sample_weight``),
            ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Matches ``sklearn.metrics.hinge_loss`` (binary) and ``optax.hinge_loss``. The
        gradient at the kink :math:`y f = 1` is taken as 0. Labels mixing -1 and 0 are
        rejected (eager mode). A NaN decision value gives a NaN loss.

    References:
        Cortes, Vapnik, Support-Vector Networks, Machine Learning 20, 1995.

    Example:
        >>> import numpy as np, losskit
        >>> f, y = np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1])
        >>> print(f"{float(losskit.hinge_loss(f, y)):.4f}")  # (0 + .5 + 2) / 3
        0.8333
    """
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    return reduce_loss(positive_part(1.0 - y * x, xp), reduction, xp, weight=w)


@analytic_grad(hinge_loss)
def _hinge_loss_grad(input, target, *, weight=None, reduction="mean"):
    """d/df = -y where y f < 1, else 0 (also at the kink, as :func:`positive_part`)."""
    value = hinge_loss(input, target, weight=weight, reduction=reduction)
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    g = xp.where(1.0 - y * x <= 0, xp.zeros_like(x), -y)
    return value, reduce_grad(g, reduction, xp, weight=w)


@loss(
    formula=r"\ell = \max(0,\ 1 - y f)^2",
    reference="Janocha, Czarnecki, On Loss Functions for Deep Neural Networks in Classification, 2017, arXiv:1702.05659",
    aliases=("squared_hinge", "l2_hinge"),
    plot="margin",
)
def squared_hinge_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Squared binary hinge loss (L2-SVM): differentiable at the margin.

    .. math::

        \ell = \max(0,\ 1 - y f)^2

    where

    - :math:`f` is the decision value (``input``),
    - :math:`y \in \{-1, 1\}` the label (a label 0 is read as -1).

    Args:
        input: decision values, any shape.
        target: labels in {-1, 1} or in {0, 1}, ``input``'s shape.
        weight: optional per-sample weight, ``input``'s shape.
        reduction: ``"mean"`` (weighted), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Same label and weight conventions as :func:`hinge_loss` (Keras' ``squared_hinge``
        also maps {0, 1} labels to {-1, 1}). Unlike the hinge, its gradient
        :math:`-2 y \max(0, 1 - y f)` is continuous.

    References:
        Janocha, Czarnecki, On Loss Functions for Deep Neural Networks in Classification,
        2017, arXiv:1702.05659.

    Example:
        >>> import numpy as np, losskit
        >>> f, y = np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1])
        >>> print(f"{float(losskit.squared_hinge_loss(f, y)):.4f}")  # (0 + .25 + 4) / 3
        1.4167
    """
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    h = positive_part(1.0 - y * x, xp)
    return reduce_loss(h * h, reduction, xp, weight=w)


@analytic_grad(squared_hinge_loss)
def _squared_hinge_loss_grad(input, target, *, weight=None, reduction="mean"):
    """d/df = -2 y max(0, 1 - y f)."""
    value = squared_hinge_loss(input, target, weight=weight, reduction=reduction)
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    g = -2.0 * y * positive_part(1.0 - y * x, xp)
    return value, reduce_grad(g, reduction, xp, weight=w)


def _multi_margin_setup(input, target, p, margin, weight, axis, reduction):
    """Validation of multi_margin_loss and its gradient; the margins ``z = m - x_y + x``,
    the true-class mask and the true class's weight (broadcast along the class axis)."""
    xp, ax, c, _ = index_setup(input, target, axis, reduction, weight)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"p: expected 1 or 2, got {p!r}")
    margin = float(check_number("margin", margin))
    x = as_float(input, xp)
    w = check_class_weight(weight, c, xp, x.dtype)
    t = as_index(target, xp)
    z = margin - take_along_axis(x, xp.expand_dims(t, axis=ax), xp, axis=ax) + x
    is_true = one_hot(t, c, xp, axis=ax, dtype=xp.bool)
    wy = xp.expand_dims(gather(w, t, xp), axis=ax) if w is not None else None
    return xp, x, ax, c, t, wy, is_true, z


@loss(
    formula=r"\ell_n = \frac{1}{C} \sum_{j \ne y_n} w_{y_n} \max(0,\ m - x_{n,y_n} + x_{n,j})^p",
    reference="Weston, Watkins, Support Vector Machines for Multi-Class Pattern Recognition, 1999",
    aliases=("multi_margin", "weston_watkins_hinge"),
)
def multi_margin_loss(
    input: Any,
    target: Any,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Multiclass hinge loss of Weston and Watkins (torch's ``multi_margin_loss``).

    .. math::

        \ell_n = \frac{1}{C} \sum_{j \ne y_n} w_{y_n}\, \max(0,\ m - x_{n, y_n} + x_{n, j})^p

    where

    - :math:`x_n` are the class scores of sample :math:`n`, :math:`y_n` its class,
    - :math:`m` is ``margin``, :math:`p \in \{1, 2\}` the power,
    - :math:`w_c` the optional class weight, :math:`C` the number of classes.

    Every wrong class within the margin of the true class's score is penalised (compare
    :func:`multiclass_hinge_loss`, which penalises only the largest).

    Args:
        input: scores, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, ``input``'s shape without the class axis.
        p: 1 or 2.
        margin: :math:`m`, a real number (default 1).
        weight: optional per-class weight, shape ``(C,)``.
        axis: class axis (default 1).
        reduction: ``"mean"`` (plain mean over samples, as torch), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape without the class axis, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.multi_margin_loss`` semantics: the class weight multiplies
        after the power (torch's kernel; its documentation writes it inside), and the
        mean does *not* divide by the weights. torch accepts only ``(N, C)``; here any
        number of trailing axes works.

    References:
        Weston, Watkins, Support Vector Machines for Multi-Class Pattern Recognition,
        ESANN 1999.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
        >>> # (1 - .8 + .1) + (1 - .8 + .2) + (1 - .8 + .4), over C = 4 (torch's doc example)
        >>> print(f"{float(losskit.multi_margin_loss(x, np.array([3]))):.4f}")
        0.3250
    """
    xp, x, ax, c, t, wy, is_true, z = _multi_margin_setup(input, target, p, margin, weight, axis, reduction)
    h = positive_part(z, xp)
    if p == 2:
        h = h * h
    # j = y is not a wrong class (it would add margin^p to every sample).
    h = xp.where(is_true, xp.zeros_like(h), h)
    if wy is not None:
        h = h * wy
    return reduce_loss(xp.sum(h, axis=ax) / c, reduction, xp)


@analytic_grad(multi_margin_loss)
def _multi_margin_loss_grad(input, target, *, p=1, margin=1.0, weight=None, axis=1, reduction="mean"):
    r"""With d_j = w_y / C * d h_j / d z_j for the wrong classes (1 or 2 z_j where z_j > 0,
    else 0) and 0 for the true class: d l / d x_j = d_j, d l / d x_y = -sum_j d_j."""
    value = multi_margin_loss(input, target, p=p, margin=margin, weight=weight, axis=axis, reduction=reduction)
    xp, x, ax, c, t, wy, is_true, z = _multi_margin_setup(input, target, p, margin, weight, axis, reduction)
    zero = xp.zeros_like(z)
    dh = xp.where(z <= 0, zero, 2.0 * z if p == 2 else xp.ones_like(z))
    d = xp.where(is_true, zero, dh) / c
    if wy is not None:
        d = d * wy
    g = d - xp.astype(is_true, x.dtype) * xp.sum(d, axis=ax, keepdims=True)
    if reduction == "mean":
        g = g / mean_denominator(index_shape(x, ax), xp)
    return value, g


def _multiclass_hinge_setup(input, target, weight, axis, reduction):
    """Validation of multiclass_hinge_loss and its gradient; the scores with the true class
    set to -inf (so that their max is the strongest wrong class)."""
    xp, ax, c, _ = index_setup(input, target, axis, reduction, weight, min_classes=2)
    x = as_float(input, xp)
    w = check_sample_weight(weight, tuple(target.shape), xp, x.dtype, exact=True)
    t = as_index(target, xp)
    is_true = one_hot(t, c, xp, axis=ax, dtype=xp.bool)
    # The true class is excluded from the max by -inf (a constant: no gradient flows to it).
    others = xp.where(is_true, xp.full_like(x, -math.inf), x)
    return xp, x, ax, c, t, w, is_true, others


@loss(
    formula=r"\ell_n = \max\bigl(0,\ 1 - x_{n,y_n} + \max_{j \ne y_n} x_{n,j}\bigr)",
    reference="Crammer, Singer, On the Algorithmic Implementation of Multiclass Kernel-based "
    "Vector Machines, JMLR 2001",
    aliases=("crammer_singer_hinge",),
)
def multiclass_hinge_loss(
    input: Any, target: Any, *, weight: Any = None, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""Multiclass hinge loss of Crammer and Singer (scikit-learn's multiclass ``hinge_loss``).

    .. math::

        \ell_n = \max\Bigl(0,\ 1 - \bigl(x_{n, y_n} - \max_{j \ne y_n} x_{n, j}\bigr)\Bigr)

    where

    - :math:`x_n` are the class scores (decision function) of sample :math:`n`,
    - :math:`y_n` its class; only the strongest wrong class counts.

    Args:
        input: scores, shape ``(N, C, d1, ...)`` with ``C >= 2`` (class axis ``axis``).
        target: integer class indices, ``input``'s shape without the class axis.
        weight: optional per-sample weight, ``target``'s shape.
        axis: class axis (default 1).
        reduction: ``"mean"`` (weighted mean, scikit-learn's ``sample_weight``), ``"sum"``
            or ``"none"``.

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype.

    Notes:
        Equals ``sklearn.metrics.hinge_loss`` with a multiclass target (labels
        ``0..C-1``) and ``optax.multiclass_hinge_loss``. Compare
        :func:`multi_margin_loss` (Weston-Watkins: a sum over every wrong class).

    References:
        Crammer, Singer, On the Algorithmic Implementation of Multiclass Kernel-based
        Vector Machines, JMLR 2, 2001.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0]])
        >>> # 1 - (2 - 1.5) = .5; 1 - (1 - 3) = 3
        >>> print(f"{float(losskit.multiclass_hinge_loss(x, np.array([0, 2]))):.4f}")
        1.7500
    """
    xp, x, ax, c, t, w, is_true, others = _multiclass_hinge_setup(input, target, weight, axis, reduction)
    loss = positive_part(1.0 - pick(x, t, ax, xp) + xp.max(others, axis=ax), xp)
    return reduce_loss(loss, reduction, xp, weight=w)


@analytic_grad(multiclass_hinge_loss)
def _multiclass_hinge_loss_grad(input, target, *, weight=None, axis=1, reduction="mean"):
    r"""d l / d x = [z > 0] (e_k - e_y), z the hinge's argument and k the strongest wrong
    class (the first of tied ones; autograd may split a tie between them)."""
    value = multiclass_hinge_loss(input, target, weight=weight, axis=axis, reduction=reduction)
    xp, x, ax, c, t, w, is_true, others = _multiclass_hinge_setup(input, target, weight, axis, reduction)
    z = 1.0 - pick(x, t, ax, xp) + xp.max(others, axis=ax)
    active = xp.where(z <= 0, xp.zeros_like(z), xp.ones_like(z))
    if w is not None:
        active = active * w
    k = xp.argmax(others, axis=ax)
    g = (one_hot(k, c, xp, axis=ax, dtype=x.dtype) - xp.astype(is_true, x.dtype)) * xp.expand_dims(active, axis=ax)
    if reduction == "mean":
        g = g / mean_denominator(tuple(t.shape), xp, weight=w)
    return value, g


# --------------------------------------------------------------------------- 0-1 loss


@loss(
    formula=r"\ell_n = [\arg\max_c x_{n,c} \ne y_n]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 1.5.1)",
    aliases=("zero_one", "misclassification_rate"),
    differentiable=False,
)
def zero_one_loss(
    input: Any, target: Any, *, weight: Any = None, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""0-1 loss (misclassification rate): 1 for a wrong prediction, 0 for a right one.

    .. math::

        \ell_n = \bigl[\, \hat y_n \ne y_n \,\bigr], \qquad
        \hat y_n = \arg\max_c x_{n,c}\ \text{(multiclass)}\quad\text{or}\quad
        \hat y_n = \operatorname{sign}(f_n)\ \text{(binary)}

    where

    - :math:`x_n` are class scores with integer targets :math:`y_n` (the first maximum
      wins ties), or, when ``input`` and ``target`` have the same shape, :math:`f_n` are
      binary decision values and :math:`y_n` labels in {-1, 1} or {0, 1} (:math:`f_n > 0`
      predicts the positive class).

    It is what we care about and what we do not train on: as a function of the scores it is
    a step function, so its derivative is 0 almost everywhere (and undefined on the decision
    boundary). A small change of the weights leaves it unchanged, then it jumps; gradient
    descent gets no signal. Surrogates (cross-entropy, hinge) bound it from above and are
    differentiable. It is registered with ``differentiable=False``; on torch and jax the
    result stays in the autograd graph with a gradient of exactly 0, so ``backward()``
    runs and shows it (``losskit.value_and_grad`` on NumPy returns that 0 too). A NaN
    score gives a NaN loss for its sample.

    Args:
        input: scores ``(N, C, d1, ...)`` (class axis ``axis``) with integer targets
            ``(N, d1, ...)``; or decision values of ``target``'s shape (binary).
        target: integer class indices, or binary labels in {-1, 1} / {0, 1}.
        weight: optional per-sample weight, ``target``'s shape.
        axis: class axis (multiclass only; default 1).
        reduction: ``"mean"`` (weighted fraction of errors, scikit-learn's
            ``zero_one_loss(normalize=True)``), ``"sum"`` (number of errors) or ``"none"``.

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype; its gradient is 0.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 1.5.1.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
        >>> print(f"{float(losskit.zero_one_loss(x, np.array([0, 0, 0]))):.4f}")
        0.3333
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    dtype = compute_dtype(input, xp)
    x = as_float(input, xp)
    if tuple(input.shape) == tuple(target.shape):
        check_binary_labels(target, input, xp)
        wrong = (x > 0) != (signed(target, xp, dtype) > 0)
        score = x
        nan_axis = None
    else:
        ax, c = check_scores(input, axis, xp)
        check_index_target(target, input, ax, c, xp)
        t = as_index(target, xp)
        wrong = xp.argmax(x, axis=ax) != t
        score = pick(x, t, ax, xp)
        nan_axis = ax
    w = check_sample_weight(weight, tuple(target.shape), xp, dtype, exact=True)
    # + 0 * sign(score): the value is unchanged (sign is finite, also for +-inf) but the
    # result stays attached to the autograd graph with an exactly zero gradient (sign's
    # derivative is 0 in torch and jax), so backward() runs and shows the point of this
    # loss -- no training signal -- instead of raising "does not require grad".
    loss = xp.astype(wrong, dtype) + 0.0 * xp.sign(score)
    # A NaN score makes the prediction undefined (argmax and comparisons would pick a class
    # and hide it): the sample's loss is NaN.
    loss = nan_where(x, loss, xp, axis=nan_axis)
    return reduce_loss(loss, reduction, xp, weight=w)


@analytic_grad(zero_one_loss)
def _zero_one_loss_grad(input, target, *, weight=None, axis=1, reduction="mean"):
    """0 everywhere: the loss is a step function of the scores (see its docstring)."""
    value = zero_one_loss(input, target, weight=weight, axis=axis, reduction=reduction)
    xp = namespace(input, target, weight)
    return value, xp.zeros_like(as_float(input, xp))

