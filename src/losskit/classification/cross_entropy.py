r"""Softmax cross-entropy and the losses built on it: ``cross_entropy``, ``nll_loss``,
``focal_loss`` and ``poly1_cross_entropy`` (class scores with class indices or class
probabilities; see :mod:`losskit.classification` for the conventions they share).

``cross_entropy`` on torch tensors may run ``F.cross_entropy`` (the fused kernel, in
:mod:`losskit.classification._torch`): the fast path ``classification.torch_cross_entropy``,
declared below and pinned to the array-API reference by ``tests/test_fast_paths.py``.
"""

from __future__ import annotations

from typing import Any

from .._checks import (
    check_array,
    check_class_weight,
    check_ignore_index,
    check_in_unit_interval,
    check_labels_in_range,
    check_number,
    check_reduction,
    Plans,
    is_scalar_option,
    option_array,
)
from .._fastpath import fast_path, select
from .._meta import analytic_grad, loss
from .._reduce import mean_denominator, reduce_loss
from .._xp import (
    as_float,
    backend_name,
    compute_dtype,
    log_softmax,
    logsumexp,
    namespace,
    namespace_by_type,
    one_hot,
    safe_pow,
    softmax,
)
from ._common import (
    along,
    as_index,
    check_index_target,
    check_scores,
    device,
    dpow,
    gather,
    index_setup,
    index_shape,
    is_probability_target,
    pick,
    safe_index,
)

__all__ = ["cross_entropy", "nll_loss", "focal_loss", "poly1_cross_entropy"]


def _weight_is_constant(x, target, *, weight=None, index=True, **_):
    # F.cross_entropy has no derivative for a class weight with class-index targets
    # (nll_loss_forward); the reference differentiates it, as on NumPy and JAX.
    return not (index and weight is not None and weight.requires_grad)


TORCH_CROSS_ENTROPY = fast_path(
    "classification.torch_cross_entropy",
    kernel="classification.cross_entropy",
    impl="losskit.classification._torch:cross_entropy",
    backend="torch",
    when="any torch logits (torch's fused kernel); not with a class weight that requires grad "
    "and class-index targets",
    eligible=_weight_is_constant,
)


# --------------------------------------------------------------------------- cross-entropy


def _ce_checks(input, target, weight, ignore_index, label_smoothing, axis, reduction):
    """The shape, dtype and option checks of cross_entropy and its gradient (no value
    check: those read the data, :func:`_ce_setup`); returns the pieces."""
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    ax, c = check_scores(input, axis, xp)
    ignore_index = check_ignore_index(ignore_index)
    label_smoothing = float(check_number("label_smoothing", label_smoothing, low=0.0, high=1.0))
    index = not is_probability_target(target, input, xp)
    if index:
        check_index_target(target, input, ax, c, xp, ignore_index=ignore_index, values=False)
    elif ignore_index is not None:
        raise ValueError(
            "ignore_index: expected None with class-probability targets (it applies to "
            f"class indices), got {ignore_index!r}"
        )
    w = check_class_weight(weight, c, xp, compute_dtype(input, xp))
    return xp, ax, c, index, w, ignore_index, label_smoothing


def _ce_setup(input, target, weight, ignore_index, label_smoothing, axis, reduction, values=True):
    """:func:`_ce_checks` and the value checks; ``values``: check the class indices'
    range here too (``cross_entropy`` defers it, see there)."""
    setup = _ce_checks(input, target, weight, ignore_index, label_smoothing, axis, reduction)
    index, ignore_index = setup[3], setup[5]
    if not index:
        check_in_unit_interval("target", target)
    elif values:
        check_labels_in_range("target", target, setup[2], ignore_index=ignore_index)
    return setup


# _ce_checks' results for calls without a class weight (see losskit._checks.Plans)
_CE_PLANS = Plans()


@loss(
    formula=r"\ell_n = -\sum_c w_c\, q_{n,c} \log \frac{e^{x_{n,c}}}{\sum_k e^{x_{n,k}}},"
    r"\quad q_{n,c} = (1-\varepsilon)\,[y_n = c] + \varepsilon / C",
    reference="Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, Rethinking the Inception Architecture "
    "for Computer Vision (label smoothing), 2016, arXiv:1512.00567",
    aliases=("ce", "softmax_cross_entropy", "categorical_cross_entropy"),
    fast_paths=("classification.torch_cross_entropy",),
)
def cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Softmax cross-entropy between logits and class indices or class probabilities.

    .. math::

        \ell_n = -\sum_{c=1}^{C} w_c\, q_{n,c}\, \log \operatorname{softmax}(x_n)_c,
        \qquad q_{n,c} = (1 - \varepsilon)\, t_{n,c} + \frac{\varepsilon}{C}

    where

    - :math:`x_n` are the logits of sample (or pixel) :math:`n` along the class axis,
    - :math:`t_{n,c}` is the target: one-hot of the class index :math:`y_n`, or the given
      class probabilities,
    - :math:`\varepsilon` is ``label_smoothing`` and :math:`C` the number of classes,
    - :math:`w_c` the optional class weight (1 when ``weight=None``).

    For class indices the ``"mean"`` is torch's weighted mean
    :math:`\sum_n \ell_n / \sum_n w_{y_n}` over the targets not equal to ``ignore_index``;
    for class probabilities it is the plain mean over samples (torch's rule too).

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices of shape ``(N, d1, ...)`` (``input`` without the class
            axis), or class probabilities of ``input``'s shape (floating, in [0, 1]).
        weight: optional per-class weight, shape ``(C,)``, floating.
        ignore_index: a target value that contributes neither to the loss nor to the
            mean's denominator (class indices only). ``None``: no value is ignored.
        label_smoothing: :math:`\varepsilon \in [0, 1]`, mixes the target with the uniform
            distribution.
        axis: the class axis of ``input`` (default 1, as in torch; ``-1`` for ``(..., C)``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (shape ``(N, d1, ...)``; ignored
            targets give 0).

    Returns:
        The loss in the logits' compute dtype (float64 stays float64, otherwise float32):
        a scalar, or the per-sample losses for ``reduction="none"``.

    Notes:
        Same semantics as ``torch.nn.functional.cross_entropy`` (also how ``weight``,
        ``ignore_index`` and ``label_smoothing`` combine: the smoothing term is weighted by
        every class's weight and shares the denominator :math:`\sum_n w_{y_n}`), with two
        differences: a batch whose targets are all ignored (or empty) gives 0 instead of
        NaN, and ``ignore_index`` defaults to ``None`` rather than ``-100``. On torch
        tensors in eager mode the computation runs ``F.cross_entropy`` (its fused kernel;
        the fast path ``classification.torch_cross_entropy``), except with a class weight
        that requires grad, which torch cannot differentiate there and the array-API
        reference does (as on NumPy and JAX). The log-softmax is computed with
        log-sum-exp, so logits of any magnitude give finite values; a NaN logit gives a
        NaN loss.

    References:
        Szegedy et al., Rethinking the Inception Architecture for Computer Vision, 2016,
        arXiv:1512.00567 (label smoothing).

    Example:
        >>> import numpy as np, losskit
        >>> logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
        >>> # -log softmax: row 0 at class 0 is log(e^2 + 1 + e^-1) - 2 = 0.1698; row 1: log 3
        >>> print(f"{float(losskit.cross_entropy(logits, np.array([0, 2]))):.4f}")
        0.6342
    """
    plan = key = None
    if weight is None:
        try:
            key = (type(input), input.dtype, input.shape, type(target), target.dtype, target.shape,
                   type(ignore_index), ignore_index, type(label_smoothing), label_smoothing,
                   type(axis), axis, reduction)
            plan = _CE_PLANS.get(key)
        except (AttributeError, TypeError):  # not arrays, or an unhashable option: checked below
            key = None
    if plan is None:
        plan = _ce_checks(input, target, weight, ignore_index, label_smoothing, axis, reduction)
        plan = (*plan, backend_name(plan[0]))
        if key is not None and namespace_by_type(key[0], key[3]):
            _CE_PLANS.remember(key, plan)
    xp, ax, c, index, w, ignore_index, label_smoothing, backend = plan
    if not index:
        check_in_unit_interval("target", target)
    x = as_float(input, xp)
    # without a class weight the path's predicate has nothing to refuse: no options to pass
    fast = (select("classification.cross_entropy", backend, x, target) if w is None
            else select("classification.cross_entropy", backend, x, target, weight=w, index=index))
    if fast is not None:
        # torch's kernel checks the class indices' range as it reads them, and the fast path
        # turns its IndexError into the same ValueError as below: no second pass over them.
        return fast(x, target, w, ignore_index, label_smoothing, ax, index, reduction)
    if index:
        check_labels_in_range("target", target, c, ignore_index=ignore_index)
    return _cross_entropy_reference(x, target, w, ignore_index, label_smoothing, ax, c, index, reduction, xp)


def _log_p_at(x, t, ax, xp):
    """log softmax(x)_t as x_t - logsumexp(x): the logit is picked from ``x`` itself, so no
    (N, C) log-probability array has to exist for the gather (and its scatter in the
    backward pass) to read; under ``jax.jit`` that array and its extra passes were half
    of cross_entropy's time (benchmarks/bench_jax.py)."""
    return pick(x, t, ax, xp) - logsumexp(x, xp, axis=ax)


def _ce_index_weights(target, w, ignore_index, xp, dtype):
    """(safe target, per-element weight w_{y_n} with 0 where ignored or None, valid mask)."""
    t, valid = safe_index(target, ignore_index, xp)
    wy = gather(w, t, xp) if w is not None else None
    if valid is not None:
        ones = xp.ones(t.shape, dtype=dtype, device=device(t))
        wy = xp.where(valid, wy if wy is not None else ones, xp.zeros_like(ones))
    return t, wy, valid


def _cross_entropy_reference(x, target, w, ignore_index, smoothing, ax, c, index, reduction, xp):
    wb = along(w, ax, x.ndim, xp) if w is not None else None
    if not index:
        logp = log_softmax(x, xp, axis=ax)
        q = as_float(target, xp, x.dtype)
        if smoothing > 0:
            q = q * (1.0 - smoothing) + smoothing / c
        if wb is not None:
            q = q * wb
        # xlogy-free: logp is finite for finite logits, and a 0 target times a finite logp is 0.
        loss = -xp.sum(q * logp, axis=ax)
        return reduce_loss(loss, reduction, xp)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    # -log p_y = logsumexp(x) - x_y, as in _log_p_at (lse is reused by the smoothing term)
    lse = logsumexp(x, xp, axis=ax)
    nll = lse - pick(x, t, ax, xp)
    loss = nll * wy if wy is not None else nll
    if smoothing > 0:
        # x - lse is fused into the sum (one reader of x); the split form
        # sum(x) - C * lse would cancel catastrophically for logits far from 0.
        logp = x - xp.expand_dims(lse, axis=ax)
        smooth = -xp.sum(logp * wb, axis=ax) if wb is not None else -xp.sum(logp, axis=ax)
        loss = (1.0 - smoothing) * loss + (smoothing / c) * smooth
    if valid is not None:
        # where, not a product: an ignored entry's logits may be -inf (0 * inf = NaN).
        loss = xp.where(valid, loss, xp.zeros_like(loss))
    if reduction == "mean" and wy is not None:
        return xp.sum(loss) / mean_denominator(tuple(loss.shape), xp, weight=wy)
    return reduce_loss(loss, reduction, xp)


def _ce_coefficients(target, w, ignore_index, smoothing, ax, c, index, x, xp):
    """The coefficients a with loss_n = -sum_c a_{n,c} log p_{n,c}, and the mean's denominator."""
    ndim = x.ndim
    wb = along(w, ax, ndim, xp) if w is not None else None
    if not index:
        q = as_float(target, xp, x.dtype)
        if smoothing > 0:
            q = q * (1.0 - smoothing) + smoothing / c
        a = q * wb if wb is not None else q
        return a, mean_denominator(index_shape(x, ax), xp)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    oh = one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    a = oh * xp.expand_dims(wy, axis=ax) if wy is not None else oh
    if smoothing > 0:
        smooth = wb if wb is not None else xp.ones(tuple([1] * ndim), dtype=x.dtype, device=device(x))
        if valid is not None:
            smooth = smooth * xp.expand_dims(xp.astype(valid, x.dtype), axis=ax)
        a = (1.0 - smoothing) * a + (smoothing / c) * smooth
    return a, mean_denominator(index_shape(x, ax), xp, weight=wy)


@analytic_grad(cross_entropy)
def _cross_entropy_grad(input, target, *, weight=None, ignore_index=None, label_smoothing=0.0, axis=1, reduction="mean"):
    r"""d loss / d x = (softmax(x) * sum_c a_c - a) / denominator, with loss = -sum_c a_c log p_c."""
    value = cross_entropy(
        input, target, weight=weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, axis=axis, reduction=reduction,
    )
    xp, ax, c, index, w, ignore_index, label_smoothing = _ce_setup(
        input, target, weight, ignore_index, label_smoothing, axis, reduction
    )
    x = as_float(input, xp)
    a, denom = _ce_coefficients(target, w, ignore_index, label_smoothing, ax, c, index, x, xp)
    g = softmax(x, xp, axis=ax) * xp.sum(a, axis=ax, keepdims=True) - a
    if reduction == "mean":
        g = g / denom
    return value, g


# --------------------------------------------------------------------------- nll


@loss(
    formula=r"\ell_n = -w_{y_n}\, x_{n, y_n}",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.4)",
    aliases=("nll", "negative_log_likelihood"),
)
def nll_loss(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Negative log-likelihood of class indices under given log-probabilities.

    .. math::

        \ell_n = -w_{y_n}\, x_{n, y_n}, \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    where

    - :math:`x_n` are the *log*-probabilities of sample :math:`n` (e.g. ``log_softmax``),
    - :math:`y_n` is its class index (targets equal to ``ignore_index`` are left out of
      both sums),
    - :math:`w_c` is the optional class weight (1 when ``weight=None``).

    Args:
        input: log-probabilities, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, shape ``(N, d1, ...)``.
        weight: optional per-class weight, shape ``(C,)``.
        ignore_index: a target value to leave out (``None``: none).
        axis: class axis of ``input`` (default 1).
        reduction: ``"mean"`` (weighted, as above), ``"sum"`` or ``"none"``.

    Returns:
        Scalar, or shape ``(N, d1, ...)`` for ``"none"``; in ``input``'s compute dtype.

    Notes:
        torch's ``F.nll_loss`` semantics, except that an empty or all-ignored batch gives 0
        rather than NaN and ``ignore_index`` defaults to ``None``. ``input`` is not
        checked to be <= 0 (torch does not either): any scores work, the loss is then
        simply ``-score``. ``cross_entropy(x, y) == nll_loss(log_softmax(x), y)``.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.4.

    Example:
        >>> import numpy as np, losskit
        >>> logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
        >>> print(f"{float(losskit.nll_loss(logp, np.array([0, 2]))):.4f}")  # (log 2 - log .8) / 2
        0.4581
    """
    xp, ax, c, ignore_index = index_setup(input, target, axis, reduction, weight, ignore_index=ignore_index)
    x = as_float(input, xp)
    w = check_class_weight(weight, c, xp, x.dtype)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    loss = -pick(x, t, ax, xp)
    if wy is not None:
        loss = loss * wy
    if valid is not None:
        loss = xp.where(valid, loss, xp.zeros_like(loss))
    if reduction == "mean" and wy is not None:
        return xp.sum(loss) / mean_denominator(tuple(loss.shape), xp, weight=wy)
    return reduce_loss(loss, reduction, xp)


@analytic_grad(nll_loss)
def _nll_loss_grad(input, target, *, weight=None, ignore_index=None, axis=1, reduction="mean"):
    """d loss / d x_{n,c} = -w_{y_n} [c = y_n] / denominator."""
    value = nll_loss(input, target, weight=weight, ignore_index=ignore_index, axis=axis, reduction=reduction)
    xp, ax, c, ignore_index = index_setup(input, target, axis, reduction, weight, ignore_index=ignore_index)
    x = as_float(input, xp)
    w = check_class_weight(weight, c, xp, x.dtype)
    t, wy, _ = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    g = -one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    if wy is not None:
        g = g * xp.expand_dims(wy, axis=ax)
    if reduction == "mean":
        g = g / mean_denominator(tuple(t.shape), xp, weight=wy)
    return value, g


# --------------------------------------------------------------------------- focal loss


def _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction):
    scalar = is_scalar_option(alpha)
    alpha_arr = None if scalar else alpha
    xp, ax, c, ignore_index = index_setup(input, target, axis, reduction, alpha_arr, ignore_index=ignore_index)
    gamma = float(check_number("gamma", gamma, low=0.0))
    x = as_float(input, xp)
    if scalar:
        check_number("alpha", float(alpha), low=0.0)
        a = option_array("alpha", alpha, xp, x)
    else:
        a = check_class_weight(alpha_arr, c, xp, x.dtype, name="alpha")
    t, valid = safe_index(target, ignore_index, xp)
    # The mean is over the targets not ignored: a 0/1 reduction weight (alpha is not in it).
    vw = xp.astype(valid, x.dtype) if valid is not None else None
    at = gather(a, t, xp) if (a is not None and not scalar) else a
    return xp, x, t, ax, c, at, vw


@loss(
    formula=r"\ell_n = -\alpha_{y_n} (1 - p_{n,y_n})^\gamma \log p_{n,y_n},\ p = \operatorname{softmax}(x)",
    reference="Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002",
    aliases=("softmax_focal_loss",),
)
def focal_loss(
    input: Any,
    target: Any,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Softmax (multiclass) focal loss on logits and class indices.

    .. math::

        \ell_n = -\alpha_{y_n}\, (1 - p_{n, y_n})^{\gamma}\, \log p_{n, y_n},
        \qquad p_n = \operatorname{softmax}(x_n)

    where

    - :math:`x_n` are the logits of sample :math:`n`, :math:`y_n` its class,
    - :math:`\gamma \ge 0` down-weights well-classified samples,
    - :math:`\alpha_c` is an optional per-class weight (an array ``(C,)``) or one number
      for every class; ``None`` means 1.

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, ``input``'s shape without the class axis.
        gamma: :math:`\gamma \ge 0` (default 2).
        alpha: ``None``, a number >= 0, or a per-class weight array of shape ``(C,)``.
        ignore_index: a target value to leave out of the loss and of the mean.
        axis: class axis (default 1).
        reduction: ``"mean"`` (plain mean over the non-ignored samples: alpha does not
            enter the denominator, as in the paper's normalisation by a count), ``"sum"``
            or ``"none"`` (ignored samples give 0).

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype.

    Notes:
        With ``gamma=0`` and ``alpha=None`` this is :func:`cross_entropy` (same
        ``ignore_index`` handling). With a per-class ``alpha`` the mean differs from
        ``cross_entropy(weight=alpha)``, which divides by the sum of the weights.
        :math:`1 - p_{y}` is computed as ``-expm1(log p_y)``, precise when :math:`p_y \to 1`.

    References:
        Lin et al., Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0]])  # p_y = 1/2: (1/2)^2 * log 2
        >>> print(f"{float(losskit.focal_loss(x, np.array([1]))):.5f}")
        0.17329
    """
    xp, x, t, ax, c, at, vw = _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction)
    lpt = _log_p_at(x, t, ax, xp)
    m = -xp.expm1(lpt)  # 1 - p_t without cancellation when p_t ~ 1
    # safe_pow: a finite gradient at m = 0 for gamma < 1 (see sigmoid_focal_loss).
    loss = -safe_pow(m, gamma, xp) * lpt
    if at is not None:
        loss = loss * at
    if vw is not None:
        # where, not a product: an ignored sample's loss may be inf (logit -inf).
        loss = xp.where(vw > 0, loss, xp.zeros_like(loss))
    return reduce_loss(loss, reduction, xp, weight=vw)


@analytic_grad(focal_loss)
def _focal_loss_grad(input, target, *, gamma=2.0, alpha=None, ignore_index=None, axis=1, reduction="mean"):
    r"""d l / d x_c = alpha_y (p_c - [c = y]) [m^gamma - gamma m^(gamma-1) p_y log p_y], m = 1 - p_y."""
    value = focal_loss(input, target, gamma=gamma, alpha=alpha, ignore_index=ignore_index, axis=axis, reduction=reduction)
    xp, x, t, ax, c, at, vw = _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction)
    logp = log_softmax(x, xp, axis=ax)
    lpt = pick(logp, t, ax, xp)
    m = -xp.expm1(lpt)
    coef = safe_pow(m, gamma, xp) - dpow(m, gamma, xp) * xp.exp(lpt) * lpt
    if at is not None:
        coef = coef * at
    if vw is not None:
        coef = coef * vw
    g = (xp.exp(logp) - one_hot(t, c, xp, axis=ax, dtype=x.dtype)) * xp.expand_dims(coef, axis=ax)
    if reduction == "mean":
        g = g / mean_denominator(tuple(t.shape), xp, weight=vw)
    return value, g


# --------------------------------------------------------------------------- PolyLoss


def _poly1_setup(input, target, epsilon, axis, reduction):
    """Validation of poly1_cross_entropy and its gradient: ``(xp, x, axis, C, q, t, epsilon)``
    with ``q`` the target probabilities (``None`` for class indices ``t``)."""
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target)
    ax, c = check_scores(input, axis, xp)
    epsilon = float(check_number("epsilon", epsilon))
    x = as_float(input, xp)
    if is_probability_target(target, input, xp):
        check_in_unit_interval("target", target)
        return xp, x, ax, c, as_float(target, xp, x.dtype), None, epsilon
    check_index_target(target, input, ax, c, xp)
    return xp, x, ax, c, None, as_index(target, xp), epsilon



@loss(
    formula=r"\ell_n = \mathrm{CE}(x_n, t_n) + \epsilon\,(1 - p_{n,t})",
    reference="Leng, Xu, Tan, et al., PolyLoss: A Polynomial Expansion Perspective of "
    "Classification Loss Functions, 2022, arXiv:2204.12511",
    aliases=("poly1", "poly_loss"),
)
def poly1_cross_entropy(
    input: Any, target: Any, *, epsilon: float = 1.0, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""Poly-1 loss: cross-entropy plus epsilon times (1 - p_t), the first polynomial term.

    .. math::

        \ell_n = -\sum_c t_{n,c} \log p_{n,c} + \epsilon \sum_c t_{n,c}\,(1 - p_{n,c}),
        \qquad p_n = \operatorname{softmax}(x_n)

    where

    - :math:`x_n` are the logits, :math:`t_n` the target distribution (one-hot of the
      class index, or given probabilities); for a one-hot target the second term is
      :math:`\epsilon (1 - p_t)`,
    - :math:`\epsilon` is the coefficient of the first polynomial term (``epsilon``;
      :math:`\epsilon = 0` is cross-entropy, :math:`\epsilon = -1` drops the first term).

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices (``input``'s shape without the class axis) or class
            probabilities (``input``'s shape).
        epsilon: :math:`\epsilon`, any real number (default 1, the paper's Poly-1).
        axis: class axis (default 1; optax uses the last axis: pass ``axis=-1``).
        reduction: ``"mean"`` (over samples), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or the per-sample shape, in ``input``'s compute dtype.

    Notes:
        ``optax.poly_loss_cross_entropy`` semantics (which defaults to ``epsilon=2.0``, the
        paper's ImageNet value, and takes probability labels on the last axis).

    References:
        Leng et al., PolyLoss: A Polynomial Expansion Perspective of Classification Loss
        Functions, ICLR 2022, arXiv:2204.12511.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0]])  # p_t = 1/2: log 2 + 1 * (1 - 1/2)
        >>> print(f"{float(losskit.poly1_cross_entropy(x, np.array([0]))):.4f}")
        1.1931
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp, x, ax, c, q, t, epsilon = _poly1_setup(input, target, epsilon, axis, reduction)
    if q is not None:
        # x - logsumexp(x) (fused into both sums) rather than log_softmax: under jax.jit the
        # value and gradient take half the time (exp(log_softmax) made XLA keep the (N, C)
        # log-probabilities for the backward pass; benchmarks/bench_jax.py)
        logp = x - logsumexp(x, xp, axis=ax, keepdims=True)
        ce = -xp.sum(q * logp, axis=ax)
        one_minus_pt = xp.sum(q * (1.0 - xp.exp(logp)), axis=ax)
    else:
        lpt = _log_p_at(x, t, ax, xp)
        ce = -lpt
        one_minus_pt = -xp.expm1(lpt)  # 1 - p_t, precise when p_t ~ 1
    return reduce_loss(ce + epsilon * one_minus_pt, reduction, xp)


@analytic_grad(poly1_cross_entropy)
def _poly1_cross_entropy_grad(input, target, *, epsilon=1.0, axis=1, reduction="mean"):
    r"""d l / d x_k = p_k sum_c q_c - q_k - epsilon (q_k p_k - p_k sum_c q_c p_c), with q the
    target distribution (one-hot for class indices): the softmax Jacobian
    d p_c / d x_k = p_c ([c = k] - p_k) applied to -sum_c q_c (log p_c + epsilon p_c)."""
    value = poly1_cross_entropy(input, target, epsilon=epsilon, axis=axis, reduction=reduction)
    xp, x, ax, c, q, t, epsilon = _poly1_setup(input, target, epsilon, axis, reduction)
    if q is None:
        q = one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    p = softmax(x, xp, axis=ax)
    qp = q * p
    g = p * xp.sum(q, axis=ax, keepdims=True) - q - epsilon * (qp - p * xp.sum(qp, axis=ax, keepdims=True))
    if reduction == "mean":
        g = g / mean_denominator(index_shape(x, ax), xp)
    return value, g


