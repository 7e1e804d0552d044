r"""Losses on one score or probability per element: ``binary_cross_entropy``,
``binary_cross_entropy_with_logits``, ``sigmoid_focal_loss`` and scikit-learn's
``log_loss`` (see :mod:`losskit.classification` for the conventions they share).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._checks import (
    check_array,
    check_floating,
    check_in_unit_interval,
    check_integer,
    check_labels_in_range,
    check_number,
    check_reduction,
    check_sample_weight,
    eager_values,
    is_scalar_option,
    option_array,
)
from .._meta import analytic_grad, loss
from .._reduce import reduce_grad, reduce_loss
from .._xp import as_float, namespace, safe_pow, sigmoid, softplus
from ._common import LOG_CLAMP, as_index, binary_setup, device, dpow

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "log_loss", "sigmoid_focal_loss"]


def _clamped_logs(p, xp):
    """(log p, log(1 - p), mask_p, mask_q), each log clamped at -100 like torch's BCE.

    Exact 0 and 1 are valid probabilities: log 0 = -inf would make the loss inf and the
    gradient NaN (inf * 0). Where the clamp is active the loss is flat (value 100, gradient
    0); the ``where``s take the log of 1 there, so no inf or NaN reaches the backward pass.
    """
    # The conditions name where the clamp applies (p <= 0, log p below -100) rather than
    # where it does not, so that a NaN probability (seen when the eager [0, 1] check is
    # skipped: jit, accelerators) stays NaN instead of costing a finite 100.
    zero = p <= 0
    lp = xp.log(xp.where(zero, xp.ones_like(p), p))
    keep_p = ~(zero | (lp <= LOG_CLAMP))
    one = p >= 1
    # log1p(-p) keeps the precision of 1 - p for small p (as torch's CPU kernel does).
    lq = xp.log1p(-xp.where(one, xp.zeros_like(p), p))
    keep_q = ~(one | (lq <= LOG_CLAMP))
    clamp = xp.full_like(p, LOG_CLAMP)
    return xp.where(keep_p, lp, clamp), xp.where(keep_q, lq, clamp), keep_p, keep_q


def _bce_setup(input, target, weight, reduction):
    xp, x, t = binary_setup(input, target, reduction, weight)
    check_in_unit_interval("input", input)
    w = check_sample_weight(weight, tuple(input.shape), xp, x.dtype, what="the input's shape")
    return xp, x, t, w


@loss(
    formula=r"\ell = -w\,[\,y \log p + (1 - y) \log (1 - p)\,]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.2)",
    aliases=("bce",),
    plot="margin",
)
def binary_cross_entropy(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary cross-entropy between predicted probabilities and targets in [0, 1].

    .. math::

        \ell = -w\,\bigl[\,y \max(\log p, -100) + (1 - y) \max(\log(1 - p), -100)\,\bigr]

    where

    - :math:`p` is the predicted probability of the positive class (``input``),
    - :math:`y` the target in [0, 1] (hard labels or soft targets),
    - :math:`w` the optional elementwise ``weight`` (1 when ``None``).

    Args:
        input: probabilities in [0, 1], any shape.
        target: targets in [0, 1], ``input``'s shape (floats; ints/bools are cast).
        weight: optional rescaling broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (over elements, like torch: *not* divided by the weights'
            sum), ``"sum"`` or ``"none"`` (``input``'s shape).

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Exact 0 and 1 are valid: as in ``torch.nn.functional.binary_cross_entropy`` both
        logs are clamped at -100, so a confident wrong prediction costs 100, not inf.
        Where the clamp is active the loss is flat, so its gradient is 0 there (torch's
        hand-written backward instead returns ``(p - y) / max(p (1 - p), 1e-12)``); between
        the clamps both agree. Prefer :func:`binary_cross_entropy_with_logits` for training:
        it never saturates.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.2.

    Example:
        >>> import numpy as np, losskit
        >>> p, y = np.array([0.8, 0.1, 1.0]), np.array([1.0, 0.0, 0.0])
        >>> # (-log .8 - log .9 + 100) / 3: the exact 1 with target 0 is clamped at 100
        >>> print(f"{float(losskit.binary_cross_entropy(p, y)):.4f}")
        33.4428
    """
    xp, x, t, w = _bce_setup(input, target, weight, reduction)
    lp, lq, _, _ = _clamped_logs(x, xp)
    loss = -(t * lp + (1.0 - t) * lq)
    if w is not None:
        loss = loss * w
    return reduce_loss(loss, reduction, xp)


@analytic_grad(binary_cross_entropy)
def _binary_cross_entropy_grad(input, target, *, weight=None, reduction="mean"):
    """d/dp = w [-y / p + (1 - y) / (1 - p)], each term 0 where its log is clamped."""
    value = binary_cross_entropy(input, target, weight=weight, reduction=reduction)
    xp, x, t, w = _bce_setup(input, target, weight, reduction)
    _, _, keep_p, keep_q = _clamped_logs(x, xp)
    one = xp.ones_like(x)
    zero = xp.zeros_like(x)
    gp = xp.where(keep_p, -t / xp.where(keep_p, x, one), zero)
    gq = xp.where(keep_q, (1.0 - t) / xp.where(keep_q, 1.0 - x, one), zero)
    g = gp + gq
    if w is not None:
        g = g * w
    return value, reduce_grad(g, reduction, xp)


def _logit_bce(x, t, xp, *, pos_weight=None):
    """Elementwise BCE of logits ``x``: ``p_w t softplus(-x) + (1 - t) softplus(x)``.

    ``softplus(-x) = -log sigmoid(x)`` and ``softplus(x) = -log(1 - sigmoid(x))``, finite for
    logits of any magnitude (no ``log(sigmoid(x))`` that underflows to ``log 0``).
    """
    pos = t * softplus(-x, xp)
    if pos_weight is not None:
        pos = pos * pos_weight
    return pos + (1.0 - t) * softplus(x, xp)


def _bcel_setup(input, target, weight, pos_weight, reduction):
    scalar = is_scalar_option(pos_weight)
    if not scalar and pos_weight is not None:
        check_array("pos_weight", pos_weight)
    xp, x, t = binary_setup(input, target, reduction, weight, None if scalar else pos_weight)
    w = check_sample_weight(weight, tuple(input.shape), xp, x.dtype, what="the input's shape")
    if scalar:
        # A Python or NumPy number: a 0-d array of the logits' library, dtype and device.
        check_number("pos_weight", float(pos_weight), low=0.0)
        pw = option_array("pos_weight", pos_weight, xp, x)
    else:
        pw = check_sample_weight(pos_weight, tuple(input.shape), xp, x.dtype, name="pos_weight",
                                 what="the input's shape")
    return xp, x, t, w, pw


@loss(
    formula=r"\ell = w\,[\,p_w\, y \log(1 + e^{-x}) + (1 - y) \log(1 + e^{x})\,]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.2)",
    aliases=("bce_with_logits", "sigmoid_cross_entropy", "logistic_loss"),
    plot="margin",
)
def binary_cross_entropy_with_logits(
    input: Any, target: Any, *, weight: Any = None, pos_weight: Any = None, reduction: str = "mean"
) -> Any:
    r"""Binary cross-entropy on logits (sigmoid + BCE in one stable formula).

    .. math::

        \ell = w\,\bigl[\,p_w\, y\, \operatorname{softplus}(-x)
               + (1 - y)\, \operatorname{softplus}(x)\,\bigr]

    where

    - :math:`x` is the logit (``input``), :math:`\operatorname{softplus}(z) = \log(1 + e^z)`,
      so :math:`\operatorname{softplus}(-x) = -\log \sigma(x)` and
      :math:`\operatorname{softplus}(x) = -\log(1 - \sigma(x))`,
    - :math:`y` the target in [0, 1],
    - :math:`w` the optional elementwise ``weight``, :math:`p_w` the optional
      ``pos_weight`` (weight of the positive term; > 1 raises recall).

    Args:
        input: logits, any shape.
        target: targets in [0, 1], ``input``'s shape.
        weight: optional rescaling broadcastable to ``input``'s shape.
        pos_weight: optional positive-class weight: a number, or an array broadcastable to
            ``input``'s shape (e.g. ``(C,)`` for the last axis of ``(N, C)``, as in torch).
        reduction: ``"mean"`` (over elements, like torch), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.binary_cross_entropy_with_logits`` semantics. The softplus
        form never evaluates ``exp`` of a large positive number, so logits of +-1e4 give
        finite values and gradients. ``pos_weight`` may also be a Python or NumPy number
        (on any backend).
        Plotted against the margin ``y * x`` (labels +1) this is the logistic loss.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.2.

    Example:
        >>> import numpy as np, losskit
        >>> x, y = np.array([0.0, 2.0]), np.array([1.0, 0.0])
        >>> # (log 2 + log(1 + e^2)) / 2
        >>> print(f"{float(losskit.binary_cross_entropy_with_logits(x, y)):.4f}")
        1.4100
    """
    xp, x, t, w, pw = _bcel_setup(input, target, weight, pos_weight, reduction)
    loss = _logit_bce(x, t, xp, pos_weight=pw)
    if w is not None:
        loss = loss * w
    return reduce_loss(loss, reduction, xp)


@analytic_grad(binary_cross_entropy_with_logits)
def _bce_with_logits_grad(input, target, *, weight=None, pos_weight=None, reduction="mean"):
    """d/dx = w [(1 - y) sigma(x) - p_w y sigma(-x)] (= w (sigma(x) - y) when p_w = 1)."""
    value = binary_cross_entropy_with_logits(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction)
    xp, x, t, w, pw = _bcel_setup(input, target, weight, pos_weight, reduction)
    neg = t * sigmoid(-x, xp)
    if pw is not None:
        neg = neg * pw
    g = (1.0 - t) * sigmoid(x, xp) - neg
    if w is not None:
        g = g * w
    return value, reduce_grad(g, reduction, xp)


# --------------------------------------------------------------------------- log loss


@loss(
    formula=r"\ell_n = -\log \operatorname{clip}(p_{n, y_n}, \epsilon, 1 - \epsilon)",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.4)",
    aliases=("logloss", "sklearn_log_loss"),
    plot="margin",
)
def log_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Log loss with scikit-learn's meaning: predicted probabilities vs integer labels.

    .. math::

        \ell_n = -\log \operatorname{clip}\bigl(p_{n, y_n},\ \epsilon,\ 1 - \epsilon\bigr),
        \qquad \text{mean} = \frac{\sum_n s_n \ell_n}{\sum_n s_n}

    where

    - :math:`p_{n,c}` is the predicted probability of class :math:`c` for sample :math:`n`
      (binary 1-D input: :math:`p_{n,1} = p_n`, :math:`p_{n,0} = 1 - p_n`),
    - :math:`y_n` the integer label, :math:`\epsilon` the machine epsilon of the compute
      dtype (``xp.finfo(dtype).eps``, as scikit-learn),
    - :math:`s_n` the optional sample weight (``weight``; scikit-learn's ``sample_weight``).

    Args:
        input: probabilities, shape ``(N,)`` (of the positive class, binary), ``(N, 1)``
            (the same) or ``(N, C)`` (one column per class, labels ``0..C-1``; ``C = 2`` is
            the binary case of ``predict_proba``).
        target: integer labels, shape ``(N,)``, in ``{0, 1}`` (binary) or ``0..C-1``.
        weight: optional per-sample weights, shape ``(N,)``.
        reduction: ``"mean"`` (weighted mean over samples, scikit-learn's
            ``normalize=True``), ``"sum"`` (``normalize=False``) or ``"none"`` (``(N,)``).

    Returns:
        Scalar or ``(N,)`` in ``input``'s compute dtype.

    Notes:
        Follows ``sklearn.metrics.log_loss`` (1.5 and later): probabilities are clipped to
        ``[eps, 1 - eps]`` and *not* renormalised; rows of an ``(N, C)`` input that do not
        sum to 1 (within ``sqrt(eps)``) give a ``UserWarning`` in eager mode, as in
        scikit-learn (before 1.5 it divided each row by its sum). Labels are integers
        ``0..C-1`` rather than arbitrary class names. Only the true class's probability is
        read (a flat gather), so the loss is one pass over ``N`` values after the checks. For logits use :func:`cross_entropy` or
        :func:`binary_cross_entropy_with_logits`.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.4.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
        >>> # -(log .9 + log .8 + log .3 + log .65) / 4
        >>> print(f"{float(losskit.log_loss(p, np.array([0, 1, 0, 1]))):.4f}")
        0.4908
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    if input.ndim not in (1, 2):
        raise ValueError(f"input: expected probabilities of shape (N,) or (N, C), got {tuple(input.shape)}")
    n = int(input.shape[0])
    binary = input.ndim == 1 or input.shape[1] == 1
    c = 2 if binary else int(input.shape[1])
    if input.ndim == 2 and input.shape[1] == 0:
        raise ValueError(f"input: expected at least 1 column of probabilities, got an empty class axis (shape {tuple(input.shape)})")
    check_integer("target", target, xp)
    if tuple(target.shape) != (n,):
        raise ValueError(f"target: expected labels of shape ({n},), got {tuple(target.shape)}")
    check_in_unit_interval("input", input)
    check_labels_in_range("target", target, c)
    x = as_float(input, xp)
    w = check_sample_weight(weight, (n,), xp, x.dtype, exact=True)
    eps = float(xp.finfo(x.dtype).eps)
    v = None if binary else eager_values(x)
    if v is not None:
        # einsum: NumPy's sum over a short last axis is ~10x slower on (10^6, 10), and a
        # BLAS matrix-vector product starts threads (slow and noisy on a busy machine).
        row_sums = np.einsum("ij->i", v)
        if not (np.abs(row_sums - 1.0) <= math.sqrt(eps)).all():
            warnings.warn(
                "input: the rows of probabilities do not sum to one; log_loss does not "
                "renormalise them (scikit-learn >= 1.5 neither)",
                UserWarning,
                stacklevel=2,
            )
    if binary:
        p = xp.reshape(x, (n,))
        pt = xp.where(target == 1, p, 1.0 - p)
    else:
        # The true class's probability by a flat gather (row * C + label): one read per
        # sample, several times faster on NumPy than take_along_axis on a short class axis.
        t = as_index(target, xp)
        rows = xp.arange(n, dtype=t.dtype, device=device(t)) * c
        pt = xp.take(xp.reshape(x, (-1,)), rows + t, axis=0)
    # Clipping (as scikit-learn): a probability of exactly 0 for the true class costs
    # -log(eps) ~ 36 (float64) instead of inf.
    loss = -xp.log(xp.clip(pt, eps, 1.0 - eps))
    return reduce_loss(loss, reduction, xp, weight=w)


# --------------------------------------------------------------------------- sigmoid focal loss


def _sigmoid_focal_setup(input, target, alpha, gamma, reduction):
    xp, x, t = binary_setup(input, target, reduction)
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, allow_none=True)
    # Python floats: a NumPy scalar times a torch or JAX array is not always that array.
    alpha = None if alpha is None else float(alpha)
    gamma = float(check_number("gamma", gamma, low=0.0))
    return xp, x, t, alpha, gamma


@loss(
    formula=r"\ell = -\alpha_t (1 - p_t)^\gamma \log p_t,\ p = \sigma(x)",
    reference="Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002",
    aliases=("binary_focal_loss",),
    plot="margin",
)
def sigmoid_focal_loss(
    input: Any, target: Any, *, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean"
) -> Any:
    r"""Sigmoid (binary / multi-label) focal loss on logits, as in RetinaNet.

    .. math::

        \ell = \alpha_t\, (1 - p_t)^{\gamma}\, \operatorname{BCE}(x, y),\qquad
        1 - p_t = y\, \sigma(-x) + (1 - y)\, \sigma(x),\qquad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    where

    - :math:`x` is the logit (``input``), :math:`\sigma` the sigmoid, :math:`p = \sigma(x)`,
    - :math:`y \in [0, 1]` the target, :math:`p_t` the probability given to it,
    - :math:`\operatorname{BCE}(x, y) = y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)`,
    - :math:`\gamma \ge 0` focuses on hard examples; :math:`\alpha \in [0, 1]` balances
      positives and negatives (``alpha=None``: no balancing, :math:`\alpha_t = 1`).

    Args:
        input: logits, any shape.
        target: targets in [0, 1], ``input``'s shape.
        alpha: :math:`\alpha` or ``None`` (default 0.25, the paper's).
        gamma: :math:`\gamma \ge 0` (default 2).
        reduction: ``"mean"`` (over elements), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torchvision.ops.sigmoid_focal_loss`` and ``optax.sigmoid_focal_loss`` semantics
        (torchvision turns alpha off with ``alpha < 0``, optax with ``None``, as here; both
        default to ``reduction="none"``, losskit to ``"mean"``; RetinaNet divides the sum by
        the number of positive anchors: use ``reduction="sum"`` and divide). :math:`1 - p_t`
        is computed from sigmoids of :math:`\pm x` rather than as ``1 - p``, so it keeps its
        precision when :math:`p_t \to 1`. With :math:`\gamma = 0` and ``alpha=None`` this is
        :func:`binary_cross_entropy_with_logits`.

    References:
        Lin et al., Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002.

    Example:
        >>> import numpy as np, losskit
        >>> # x = 0, y = 1: p_t = 1/2, so .25 * (1/2)^2 * log 2
        >>> print(f"{float(losskit.sigmoid_focal_loss(np.array([0.0]), np.array([1.0]))):.5f}")
        0.04332
    """
    xp, x, t, alpha, gamma = _sigmoid_focal_setup(input, target, alpha, gamma, reduction)
    ce = _logit_bce(x, t, xp)
    m = t * sigmoid(-x, xp) + (1.0 - t) * sigmoid(x, xp)
    # safe_pow: for gamma < 1, d m^gamma / dm is infinite at m = 0 (a confident, correct
    # prediction) and autodiff would give inf * 0 = NaN there; it is taken as 0.
    loss = safe_pow(m, gamma, xp) * ce
    if alpha is not None:
        loss = (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss
    return reduce_loss(loss, reduction, xp)


@analytic_grad(sigmoid_focal_loss)
def _sigmoid_focal_loss_grad(input, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    r"""d/dx = alpha_t [gamma m^(gamma-1) (1 - 2y) s(1-s) ce + m^gamma (s - y)], s = sigma(x),
    m = 1 - p_t (dm/dx = (1 - 2y) s (1 - s), dce/dx = s - y)."""
    value = sigmoid_focal_loss(input, target, alpha=alpha, gamma=gamma, reduction=reduction)
    xp, x, t, alpha, gamma = _sigmoid_focal_setup(input, target, alpha, gamma, reduction)
    s = sigmoid(x, xp)
    sn = sigmoid(-x, xp)
    ce = _logit_bce(x, t, xp)
    m = t * sn + (1.0 - t) * s
    g = dpow(m, gamma, xp) * (1.0 - 2.0 * t) * s * sn * ce + safe_pow(m, gamma, xp) * (s - t)
    if alpha is not None:
        g = (alpha * t + (1.0 - alpha) * (1.0 - t)) * g
    return value, reduce_grad(g, reduction, xp)


