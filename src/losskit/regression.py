r"""Regression losses: squared, absolute, Huber, smooth-L1, log-cosh, quantile (pinball),
Charbonnier, squared log error, Poisson and Gaussian negative log-likelihood.

Every loss here is elementwise: it takes a prediction ``input`` and a ``target`` of the same
shape (``gaussian_nll_loss`` also a variance), computes one value per element, multiplies
by an optional broadcastable ``weight`` and reduces with :func:`losskit._reduce.reduce_loss`
(``"mean"`` is the *weighted* mean ``sum(w l) / sum(w)``, as scikit-learn's
``sample_weight``). Names and semantics follow ``torch.nn.functional`` where torch has the
loss; scikit-learn where it has the metric (pinball, squared log error); optax for log-cosh.

The arrays may come from any array-API library (NumPy, PyTorch, JAX, ...). The prediction
(a floating array: an integer prediction raises ``TypeError``) decides the library, device
and dtype: float64 stays float64; float32, float16 and bfloat16 predictions are computed and
returned in float32. Targets may be floating or integer (counts, labels) and are cast to the
prediction's compute dtype.

The five losses with a closed-form derivative (mse, l1, huber, smooth_l1, log_cosh) carry a
hand-derived gradient (``@analytic_grad``) that :func:`losskit.value_and_grad` uses on NumPy.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import (
    check_array,
    check_broadcastable,
    check_broadcastable_to,
    check_floating,
    check_nonnegative_values,
    check_number,
    check_reduction,
    check_same_shape,
    eager_min,
)
from ._meta import analytic_grad, loss
from ._reduce import reduce_grad, reduce_loss
from ._xp import (
    as_float,
    backend_name,
    compute_dtype,
    log_cosh,
    namespace,
    stop_gradient,
)

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "log_cosh_loss",
    "quantile_loss",
    "charbonnier_loss",
    "msle_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- helpers


def _check_real(name: str, x: Any, xp) -> None:
    """``x`` must be an array of real numbers (floating or integer; not bool or complex)."""
    check_array(name, x)
    if not xp.isdtype(x.dtype, ("real floating", "integral")):
        raise TypeError(f"{name}: expected a real (floating or integer) array, got dtype {x.dtype}")


def _prepare(input: Any, target: Any, weight: Any, reduction: str, *extra: Any):
    """Validate ``reduction`` and the arrays of an elementwise loss, and cast the arrays to
    the compute dtype (every loss here and its hand-derived gradient start with it).

    Returns ``(xp, x, t, w)``: ``x`` and ``t`` in the prediction's compute dtype, ``w``
    (or ``None``) in the same dtype. ``extra`` are further arrays that take part in the
    namespace resolution (``var``).
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    if weight is not None:
        check_array("weight", weight)
    xp = namespace(input, target, weight, *extra)
    check_floating("input", input, xp)
    _check_real("target", target, xp)
    check_same_shape("input", input, "target", target)
    dtype = compute_dtype(input, xp)
    x = as_float(input, xp)
    t = as_float(target, xp, dtype)
    w = _prepare_weight(weight, tuple(input.shape), xp, dtype)
    return xp, x, t, w


def _prepare_weight(weight: Any, loss_shape: tuple, xp, dtype):
    if weight is None:
        return None
    if not xp.isdtype(weight.dtype, ("real floating", "integral", "bool")):
        # bool is accepted: a mask is a 0/1 weight.
        raise TypeError(f"weight: expected a real or boolean array, got dtype {weight.dtype}")
    check_broadcastable_to("weight", weight, loss_shape, what="the loss's shape")
    return as_float(weight, xp, dtype)


def _torch_native(name: str, x, t, w, reduction: str, xp, **options):
    """torch's fused ATen kernel for ``name`` (``mse_loss``, ``huber_loss``, ...) or ``None``.

    Fast path: the generic array-API code builds several full-size temporaries (abs,
    compare, both branches of a where) in the forward *and* the backward pass; on torch
    CPU that measured ~4-5x slower than ``F.huber_loss`` / ``F.smooth_l1_loss`` on 10^6
    floats (benchmarks/bench_regression.py). torch's kernels have the same semantics
    (tests/parity pins values and gradients, kinks included), so torch tensors use them.
    The array-API kernel stays the reference for every other backend and is pinned to
    this path in tests/test_regression.py. torch's own reduction is used only where it
    agrees with ours: no weight and a non-empty batch (torch's mean of nothing is NaN).
    """
    if backend_name(xp) != "torch":
        return None
    import torch.nn.functional as F

    fn = getattr(F, name)
    if w is None and reduction != "none" and math.prod(x.shape) > 0:
        return fn(x, t, reduction=reduction, **options)
    return reduce_loss(fn(x, t, reduction="none", **options), reduction, xp, weight=w)


# --------------------------------------------------------------------------- mse


@loss(
    family="regression",
    formula=r"\ell(x, y) = (x - y)^2",
    reference="Gauss, Theoria motus corporum coelestium, 1809 (least squares); torch.nn.functional.mse_loss",
    aliases=("mse", "squared_error", "l2_loss"),
    plot="residual",
)
def mse_loss(input, target, *, weight=None, reduction="mean"):
    r"""Mean squared error: the squared residual, averaged.

    .. math::

        \ell_i = w_i (x_i - y_i)^2, \qquad
        L = \frac{\sum_i \ell_i}{\sum_i w_i}

    where

    - :math:`x_i` is the prediction (``input``) and :math:`y_i` the ``target``;
    - :math:`w_i` the optional elementwise ``weight`` (1 when omitted, so the mean is the
      plain mean over all elements).

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input`` (floating or integer).
        weight: optional elementwise weights, broadcastable to ``input``'s shape (e.g.
            ``(N, 1)`` for per-sample weights of an ``(N, D)`` batch).
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar for ``"mean"``/``"sum"``, or an array of ``input``'s shape for ``"none"``
        (weights applied). dtype: float64 for float64 input, else float32.

    Notes:
        This is PyTorch's ``mse_loss`` (a mean over elements) and scikit-learn's
        ``mean_squared_error``, not the textbook *half sum*
        :func:`losskit.textbook.mean_squared_error`. Unlike torch, ``input`` and ``target``
        must have the same shape (no silent broadcasting).

    References:
        C. F. Gauss, Theoria motus corporum coelestium, 1809 (least squares).

    Example:
        >>> import numpy as np
        >>> from losskit import mse_loss
        >>> x, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])
        >>> round(float(mse_loss(x, y)), 4)  # (0 + 4 + 9) / 3
        4.3333
    """
    xp, x, t, w = _prepare(input, target, weight, reduction)
    fast = _torch_native("mse_loss", x, t, w, reduction, xp)
    if fast is not None:
        return fast
    d = x - t
    return reduce_loss(d * d, reduction, xp, weight=w)


@analytic_grad(mse_loss)
def _mse_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx (x - y)^2 = 2 (x - y)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(d * d, reduction, xp, weight=w)
    return value, reduce_grad(2.0 * d, reduction, xp, weight=w)


# --------------------------------------------------------------------------- l1


@loss(
    family="regression",
    formula=r"\ell(x, y) = |x - y|",
    reference="Laplace, 1774 (least absolute deviations); torch.nn.functional.l1_loss",
    aliases=("l1", "mae", "absolute_error"),
    plot="residual",
)
def l1_loss(input, target, *, weight=None, reduction="mean"):
    r"""Mean absolute error (L1): the absolute residual, averaged.

    .. math::

        \ell_i = w_i |x_i - y_i|, \qquad L = \frac{\sum_i \ell_i}{\sum_i w_i}

    where

    - :math:`x_i` is the prediction (``input``), :math:`y_i` the ``target``;
    - :math:`w_i` the optional elementwise ``weight`` (1 when omitted).

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Same as ``torch.nn.functional.l1_loss`` and scikit-learn's
        ``mean_absolute_error``. The (sub)gradient at a zero residual is 0, as in torch.

    References:
        P.-S. Laplace, Mémoire sur la probabilité des causes par les événements, 1774.

    Example:
        >>> import numpy as np
        >>> from losskit import l1_loss
        >>> round(float(l1_loss(np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0]))), 4)
        1.6667
    """
    xp, x, t, w = _prepare(input, target, weight, reduction)
    fast = _torch_native("l1_loss", x, t, w, reduction, xp)
    if fast is not None:
        return fast
    return reduce_loss(xp.abs(x - t), reduction, xp, weight=w)


@analytic_grad(l1_loss)
def _l1_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx |x - y| = sign(x - y) (0 at a zero residual, as torch's subgradient)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(xp.abs(d), reduction, xp, weight=w)
    return value, reduce_grad(xp.sign(d), reduction, xp, weight=w)


# --------------------------------------------------------------------------- huber


def _huber(d, delta: float, xp):
    a = xp.abs(d)
    # Quadratic inside |d| < delta, linear outside; both branches are finite everywhere,
    # so the discarded branch of the where never puts a NaN into the gradient.
    return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


@loss(
    family="regression",
    formula=r"\ell(x, y) = \begin{cases} \tfrac12 (x - y)^2 & |x - y| < \delta \\ "
    r"\delta (|x - y| - \tfrac12 \delta) & \text{otherwise} \end{cases}",
    reference="Huber, Robust Estimation of a Location Parameter, 1964",
    aliases=("huber",),
    plot="residual",
)
def huber_loss(input, target, *, delta=1.0, weight=None, reduction="mean"):
    r"""Huber loss: squared for small residuals, absolute (linear) for large ones.

    .. math::

        \ell_i = w_i \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
        \delta \left(|d_i| - \tfrac12 \delta\right) & \text{otherwise} \end{cases}

    where

    - :math:`d_i = x_i - y_i` is the residual of prediction ``input`` and ``target``;
    - :math:`\delta > 0` is where the quadratic turns linear (the gradient is clipped at
      :math:`\pm\delta`);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.
        delta: threshold :math:`\delta`, a number > 0 (default 1.0).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Same as ``torch.nn.functional.huber_loss(delta=)``. Huber with ``delta`` equals
        ``delta * smooth_l1_loss(beta=delta)``; at ``delta=1`` the two coincide.

    References:
        P. J. Huber, Robust Estimation of a Location Parameter, Annals of Mathematical
        Statistics 35(1), 1964.

    Example:
        >>> import numpy as np
        >>> from losskit import huber_loss
        >>> x, y = np.array([0.5, 3.0]), np.array([0.0, 0.0])
        >>> huber_loss(x, y, delta=1.0, reduction="none").round(4).tolist()  # 0.5*0.25, 1*(3-0.5)
        [0.125, 2.5]
    """
    check_number("delta", delta, low=0.0, low_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    fast = _torch_native("huber_loss", x, t, w, reduction, xp, delta=delta)
    if fast is not None:
        return fast
    return reduce_loss(_huber(x - t, delta, xp), reduction, xp, weight=w)


@analytic_grad(huber_loss)
def _huber_loss_grad(input, target, *, delta=1.0, weight=None, reduction="mean"):
    # d/dx: d inside |d| < delta, delta * sign(d) outside = clip(d, -delta, delta).
    check_number("delta", delta, low=0.0, low_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(_huber(d, delta, xp), reduction, xp, weight=w)
    return value, reduce_grad(xp.clip(d, min=-delta, max=delta), reduction, xp, weight=w)


# --------------------------------------------------------------------------- smooth l1


def _smooth_l1(d, beta: float, xp):
    a = xp.abs(d)
    if beta == 0.0:  # a Python option, not an array value: fine under jit
        # The quadratic piece has zero width; dividing by beta would give 0/0.
        return a
    return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


@loss(
    family="regression",
    formula=r"\ell(x, y) = \begin{cases} \tfrac{1}{2\beta} (x - y)^2 & |x - y| < \beta \\ "
    r"|x - y| - \tfrac12 \beta & \text{otherwise} \end{cases}",
    reference="Girshick, Fast R-CNN, 2015, arXiv:1504.08083",
    aliases=("smooth_l1",),
    plot="residual",
)
def smooth_l1_loss(input, target, *, beta=1.0, weight=None, reduction="mean"):
    r"""Smooth L1 loss (Fast R-CNN): L1 with a quadratic patch of width ``beta`` at zero.

    .. math::

        \ell_i = w_i \begin{cases} \dfrac{d_i^2}{2\beta} & |d_i| < \beta \\
        |d_i| - \tfrac12 \beta & \text{otherwise} \end{cases}

    where

    - :math:`d_i = x_i - y_i` is the residual;
    - :math:`\beta \ge 0` is the width of the quadratic zone (``beta=0`` is exactly L1);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.
        beta: width :math:`\beta \ge 0` (default 1.0).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Same as ``torch.nn.functional.smooth_l1_loss(beta=)``. Unlike Huber, the linear
        part has slope 1 whatever ``beta`` is: ``huber_loss(delta=b) == b *
        smooth_l1_loss(beta=b)``. Fast R-CNN writes it with :math:`\beta = 1`.

    References:
        R. Girshick, Fast R-CNN, ICCV 2015, arXiv:1504.08083.

    Example:
        >>> import numpy as np
        >>> from losskit import smooth_l1_loss
        >>> x, y = np.array([0.5, 3.0]), np.array([0.0, 0.0])
        >>> smooth_l1_loss(x, y, beta=2.0, reduction="none").round(4).tolist()  # 0.25/4, 3-1
        [0.0625, 2.0]
    """
    check_number("beta", beta, low=0.0)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    fast = _torch_native("smooth_l1_loss", x, t, w, reduction, xp, beta=beta)
    if fast is not None:
        return fast
    return reduce_loss(_smooth_l1(x - t, beta, xp), reduction, xp, weight=w)


@analytic_grad(smooth_l1_loss)
def _smooth_l1_loss_grad(input, target, *, beta=1.0, weight=None, reduction="mean"):
    # d/dx: d / beta inside |d| < beta, sign(d) outside = clip(d / beta, -1, 1);
    # beta = 0 is L1, whose (sub)gradient is sign(d).
    check_number("beta", beta, low=0.0)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(_smooth_l1(d, beta, xp), reduction, xp, weight=w)
    g = xp.sign(d) if beta == 0.0 else xp.clip(d / beta, min=-1.0, max=1.0)
    return value, reduce_grad(g, reduction, xp, weight=w)


# --------------------------------------------------------------------------- log-cosh


@loss(
    family="regression",
    formula=r"\ell(x, y) = \log\cosh(x - y)",
    reference="Chen et al., Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder, 2019",
    aliases=("log_cosh", "logcosh"),
    plot="residual",
)
def log_cosh_loss(input, target, *, weight=None, reduction="mean"):
    r"""Log-cosh loss: about d^2 / 2 for small residuals and |d| - log 2 for large ones.

    .. math::

        \ell_i = w_i \log\cosh(d_i) = w_i \left(|d_i| + \log\left(1 + e^{-2|d_i|}\right)
        - \log 2\right)

    where

    - :math:`d_i = x_i - y_i` is the residual;
    - :math:`w_i` is the optional elementwise ``weight``.

    Its gradient is :math:`\tanh(d_i)`: smooth everywhere (unlike Huber's second
    derivative) and bounded by 1 (robust to outliers, like L1).

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Computed in the right-hand form above, so residuals of 1e4 (where ``cosh``
        overflows) give finite values and gradients. optax's ``log_cosh`` returns the
        elementwise values (our ``reduction="none"``); Keras' ``LogCosh`` is the mean.

    References:
        P. Chen, G. Chen, S. Zhang, Log Hyperbolic Cosine Loss Improves Variational
        Auto-Encoder, 2019 (OpenReview rkglvsC9Ym).

    Example:
        >>> import numpy as np
        >>> from losskit import log_cosh_loss
        >>> x, y = np.array([0.0, 1.0, 1000.0]), np.zeros(3)
        >>> log_cosh_loss(x, y, reduction="none").round(4).tolist()  # 0, log cosh 1, 1000 - log 2
        [0.0, 0.4338, 999.3069]
    """
    xp, x, t, w = _prepare(input, target, weight, reduction)
    return reduce_loss(log_cosh(x - t, xp), reduction, xp, weight=w)


@analytic_grad(log_cosh_loss)
def _log_cosh_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx log cosh(d) = sinh(d) / cosh(d) = tanh(d) (tanh saturates, never overflows).
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(log_cosh(d, xp), reduction, xp, weight=w)
    return value, reduce_grad(xp.tanh(d), reduction, xp, weight=w)


# --------------------------------------------------------------------------- quantile


@loss(
    family="regression",
    formula=r"\ell(x, y) = \max\big(q (y - x),\ (q - 1)(y - x)\big)",
    reference="Koenker & Bassett, Regression Quantiles, Econometrica 1978",
    aliases=("pinball_loss", "pinball", "quantile"),
    plot="residual",
)
def quantile_loss(input, target, *, quantile=0.5, weight=None, reduction="mean"):
    r"""Quantile (pinball) loss: its minimiser is the ``quantile`` of the target distribution.

    .. math::

        \ell_i = w_i \max\big(q\, r_i,\ (q - 1)\, r_i\big), \qquad r_i = y_i - x_i

    where

    - :math:`r_i` is the target minus the prediction (under-prediction :math:`r_i > 0` costs
      :math:`q` per unit, over-prediction costs :math:`1 - q`);
    - :math:`q \in (0, 1)` is the ``quantile`` (0.5 gives half the absolute error);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predicted quantiles, a floating array of any shape ``(*)``.
        target: observations, same shape as ``input``.
        quantile: :math:`q`, strictly between 0 and 1 (default 0.5).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        ``reduction="mean"`` equals scikit-learn's ``mean_pinball_loss(target, input,
        alpha=quantile, sample_weight=...)`` (note scikit-learn's argument order: truth
        first). scikit-learn also accepts ``alpha`` of exactly 0 or 1; those make the loss
        one-sided with no finite minimiser, so they are rejected here.

    References:
        R. Koenker, G. Bassett, Regression Quantiles, Econometrica 46(1), 1978.

    Example:
        >>> import numpy as np
        >>> from losskit import quantile_loss
        >>> x, y = np.array([0.0, 0.0]), np.array([2.0, -2.0])
        >>> quantile_loss(x, y, quantile=0.9, reduction="none").round(4).tolist()  # 0.9*2, 0.1*2
        [1.8, 0.2]
    """
    check_number("quantile", quantile, low=0.0, high=1.0, low_open=True, high_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    r = t - x
    return reduce_loss(xp.maximum(quantile * r, (quantile - 1.0) * r), reduction, xp, weight=w)


# --------------------------------------------------------------------------- charbonnier


@loss(
    family="regression",
    formula=r"\ell(x, y) = \sqrt{(x - y)^2 + \varepsilon^2}",
    reference="Charbonnier et al., Two deterministic half-quadratic regularization algorithms "
    "for computed imaging, 1994; Lai et al., LapSRN, 2017, arXiv:1704.03915",
    aliases=("charbonnier",),
    plot="residual",
)
def charbonnier_loss(input, target, *, eps=1e-3, weight=None, reduction="mean"):
    r"""Charbonnier loss: a differentiable L1, sqrt(d^2 + eps^2).

    .. math::

        \ell_i = w_i \sqrt{d_i^2 + \varepsilon^2}

    where

    - :math:`d_i = x_i - y_i` is the residual;
    - :math:`\varepsilon > 0` rounds off the kink of :math:`|d|` at zero (default 1e-3, as in
      LapSRN);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.
        eps: :math:`\varepsilon`, a number > 0 (with 0 the gradient at a zero residual
            would be 0/0).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Follows the papers: a perfect prediction costs :math:`\varepsilon`, not 0. Some
        code writes :math:`\sqrt{d^2 + \varepsilon}` (with ``eps=1e-6``, the same curve as
        ours with ``eps=1e-3``); pass ``eps=sqrt(their_eps)`` to reproduce it.

    References:
        P. Charbonnier, L. Blanc-Féraud, G. Aubert, M. Barlaud, Two deterministic
        half-quadratic regularization algorithms for computed imaging, ICIP 1994.
        W.-S. Lai, J.-B. Huang, N. Ahuja, M.-H. Yang, Deep Laplacian Pyramid Networks for
        Fast and Accurate Super-Resolution, CVPR 2017, arXiv:1704.03915.

    Example:
        >>> import numpy as np
        >>> from losskit import charbonnier_loss
        >>> x, y = np.array([0.0, 3.0]), np.array([0.0, -1.0])
        >>> charbonnier_loss(x, y, eps=3.0, reduction="none").round(4).tolist()  # sqrt(0+9), sqrt(16+9)
        [3.0, 5.0]
    """
    check_number("eps", eps, low=0.0, low_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    # eps is the papers' constant, not a guard: it rounds off the kink of |d| at 0, where
    # the gradient d / sqrt(d^2 + eps^2) is then 0 instead of 0 / 0.
    return reduce_loss(xp.sqrt(d * d + eps * eps), reduction, xp, weight=w)


# --------------------------------------------------------------------------- msle


@loss(
    family="regression",
    formula=r"\ell(x, y) = \big(\log(1 + x) - \log(1 + y)\big)^2",
    reference="scikit-learn, sklearn.metrics.mean_squared_log_error",
    aliases=("msle", "mean_squared_log_error", "squared_log_error"),
    plot="residual",
)
def msle_loss(input, target, *, weight=None, reduction="mean"):
    r"""Mean squared logarithmic error: squared error of ``log1p`` values (relative errors).

    .. math::

        \ell_i = w_i \big(\log(1 + x_i) - \log(1 + y_i)\big)^2

    where

    - :math:`x_i > -1` is the prediction and :math:`y_i > -1` the target (in practice
      non-negative quantities: counts, prices);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predictions, a floating array of any shape ``(*)``, values > -1.
        target: targets, same shape as ``input``, values > -1.
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Raises:
        ValueError: (eager mode) when ``input`` or ``target`` has a value <= -1, where
        ``log(1 + v)`` is undefined: scikit-learn's rule (since 1.6; earlier releases
        rejected every negative value).

    Notes:
        ``log1p`` keeps precision for small values. ``reduction="mean"`` equals
        scikit-learn's ``mean_squared_log_error(target, input, sample_weight=...)``.
        Keras' ``MeanSquaredLogarithmicError`` clips to 0 instead of raising.

    References:
        scikit-learn, ``sklearn.metrics.mean_squared_log_error``.

    Example:
        >>> import numpy as np
        >>> from losskit import msle_loss
        >>> x, y = np.array([np.e - 1.0, 0.0]), np.array([0.0, 0.0])
        >>> round(float(msle_loss(x, y)), 4)  # ((1 - 0)^2 + 0) / 2
        0.5
    """
    xp, x, t, w = _prepare(input, target, weight, reduction)
    for name, arr in (("input", x), ("target", t)):
        lo = eager_min(arr)
        if lo is not None and not lo > -1.0:  # NaN fails too
            raise ValueError(f"{name}: expected values > -1 (log1p is undefined at or below -1), got a minimum of {lo}")
    d = xp.log1p(x) - xp.log1p(t)
    return reduce_loss(d * d, reduction, xp, weight=w)


# --------------------------------------------------------------------------- poisson nll


@loss(
    family="regression",
    formula=r"\ell(x, y) = e^{x} - y x \ \text{(log\_input)}, \quad x - y \log(x + \varepsilon) \ \text{(otherwise)}",
    reference="torch.nn.functional.poisson_nll_loss; Nelder & Wedderburn, Generalized Linear Models, 1972",
    aliases=("poisson_nll", "poisson"),
    plot=None,
)
def poisson_nll_loss(
    input, target, *, log_input=True, full=False, eps=1e-8, weight=None, reduction="mean"
):
    r"""Poisson negative log-likelihood of counts ``target`` given a predicted rate.

    .. math::

        \ell_i = w_i \left(\lambda_i - y_i \log\lambda_i + [\text{full}]\, s(y_i)\right),
        \qquad s(y) = \begin{cases} y \log y - y + \tfrac12 \log(2\pi y) & y > 1 \\
        0 & y \le 1 \end{cases}

    where

    - :math:`\log\lambda_i = x_i` when ``log_input=True`` (the loss is then
      :math:`e^{x_i} - y_i x_i`), else :math:`\lambda_i = x_i` and :math:`\log\lambda_i` is
      computed as :math:`\log(x_i + \varepsilon)`;
    - :math:`y_i \ge 0` is the observed count (``target``);
    - :math:`s(y)` is Stirling's approximation of :math:`\log y!`, added when ``full=True``
      (it depends on the target only: it shifts the value, not the gradient);
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: log-rates (``log_input=True``) or rates >= 0 (``log_input=False``), a
            floating array of any shape ``(*)``.
        target: counts, same shape as ``input``, values >= 0 (floating or integer).
        log_input: whether ``input`` is the log of the rate (default True).
        full: add the Stirling term (default False).
        eps: :math:`\varepsilon > 0` added to the rate inside the log when
            ``log_input=False`` so that a zero rate gives a finite value (default 1e-8).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Same as ``torch.nn.functional.poisson_nll_loss`` (including the Stirling term
        being applied only where the target is > 1, and the omitted constant
        :math:`\log y!` otherwise). Negative targets raise in eager mode; torch accepts
        them silently.

    References:
        J. A. Nelder, R. W. M. Wedderburn, Generalized Linear Models, JRSS A 135(3), 1972.

    Example:
        >>> import numpy as np
        >>> from losskit import poisson_nll_loss
        >>> x, y = np.array([0.0, np.log(2.0)]), np.array([1.0, 2.0])
        >>> poisson_nll_loss(x, y, reduction="none").round(4).tolist()  # 1 - 0, 2 - 2 log 2
        [1.0, 0.6137]
    """
    check_number("eps", eps, low=0.0, low_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction)
    check_nonnegative_values("target", t, what="counts")
    if log_input:
        out = xp.exp(x) - t * x
    else:
        # eps keeps log finite for a predicted rate of exactly 0 (torch's convention).
        out = x - t * xp.log(x + eps)
    if full:
        big = t > 1.0
        # The term is only used where t > 1; elsewhere log is taken of 1 so that no
        # log(0) = -inf (and 0 * -inf = NaN) is ever computed, even in the discarded branch.
        ts = xp.where(big, t, xp.ones_like(t))
        stirling = ts * xp.log(ts) - ts + 0.5 * xp.log(2.0 * math.pi * ts)
        out = out + xp.where(big, stirling, xp.zeros_like(stirling))
    return reduce_loss(out, reduction, xp, weight=w)


# --------------------------------------------------------------------------- gaussian nll


def _prepare_var(var: Any, input: Any, xp, dtype):
    """``var`` as an array broadcastable to ``input`` (torch's shape rules), compute dtype."""
    if isinstance(var, bool) or not (hasattr(var, "shape") or isinstance(var, (int, float))):
        raise TypeError(f"var: expected an array or a non-negative number, got {type(var).__name__}")
    if not hasattr(var, "shape"):
        check_number("var", var, low=0.0)
        # A Python number: one variance for every element, in the input's dtype and on
        # its device (ones_like inherits both; no default dtype is ever used).
        return xp.ones_like(as_float(input, xp, dtype)) * float(var)
    _check_real("var", var, xp)
    v = as_float(var, xp, dtype)
    in_shape, v_shape = tuple(input.shape), tuple(v.shape)
    if v_shape != in_shape and v.ndim >= 1 and v_shape == in_shape[:-1]:
        # torch's homoscedastic shortcut: one variance per row of the last axis
        # (input (N, D), var (N,)) -- this is *not* NumPy broadcasting, which would align
        # var with the last axis instead; torch's rule is kept for compatibility.
        v = xp.expand_dims(v, axis=-1)
    shape = check_broadcastable("input", input, "var", v)
    if shape != in_shape:
        raise ValueError(
            f"var: expected a shape broadcastable to input's shape {in_shape} "
            f"(or input's shape without its last axis), got {v_shape}"
        )
    check_nonnegative_values("var", v, what="variances")
    return v


@loss(
    family="regression",
    formula=r"\ell(x, y, \sigma^2) = \tfrac12 \left(\log \max(\sigma^2, \varepsilon) + "
    r"\frac{(x - y)^2}{\max(\sigma^2, \varepsilon)}\right) + [\text{full}]\, \tfrac12 \log 2\pi",
    reference="Nix & Weigend, Estimating the mean and variance of the target probability "
    "distribution, 1994; torch.nn.functional.gaussian_nll_loss",
    aliases=("gaussian_nll", "gaussian"),
    plot=None,
)
def gaussian_nll_loss(input, target, var, *, full=False, eps=1e-6, weight=None, reduction="mean"):
    r"""Gaussian negative log-likelihood of ``target`` under a predicted mean and variance.

    .. math::

        \ell_i = w_i \left(\tfrac12 \left(\log v_i + \frac{(x_i - y_i)^2}{v_i}\right)
        + [\text{full}]\, \tfrac12 \log 2\pi\right), \qquad v_i = \max(\sigma_i^2, \varepsilon)

    where

    - :math:`x_i` is the predicted mean (``input``), :math:`y_i` the ``target``;
    - :math:`\sigma_i^2 \ge 0` the predicted variance (``var``), clamped below at
      :math:`\varepsilon`;
    - ``full`` adds the constant :math:`\tfrac12\log 2\pi`;
    - :math:`w_i` is the optional elementwise ``weight``.

    Args:
        input: predicted means, a floating array of any shape ``(*)``.
        target: observations, same shape as ``input``.
        var: variances >= 0: an array of ``input``'s shape (heteroscedastic), one
            broadcastable to it (e.g. ``(N, 1)``), one of ``input``'s shape without its last
            axis (torch's homoscedastic form, read as ``var[..., None]``), or a number.
            Any NumPy-broadcastable shape is accepted (torch only allows one broadcast
            axis); the shape-without-last-axis rule takes precedence when both apply.
        full: include the constant term (default False).
        eps: :math:`\varepsilon > 0`, the smallest variance used (default 1e-6).
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.

    Notes:
        Same as ``torch.nn.functional.gaussian_nll_loss``, including its clamp: the value
        uses :math:`\max(\sigma^2, \varepsilon)` but the gradient with respect to ``var``
        passes *through* the clamp as if it were the identity (torch clamps in place under
        ``no_grad``), so a variance driven below ``eps`` still receives a gradient pushing it
        back up instead of a zero one. Negative variances raise in eager mode, as in torch.

    References:
        D. A. Nix, A. S. Weigend, Estimating the mean and variance of the target probability
        distribution, ICNN 1994.

    Example:
        >>> import numpy as np
        >>> from losskit import gaussian_nll_loss
        >>> x, y, v = np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([1.0, 4.0])
        >>> gaussian_nll_loss(x, y, v, reduction="none").round(4).tolist()  # 0.5*(0+1), 0.5*(log 4+1)
        [0.5, 1.1931]
    """
    check_number("eps", eps, low=0.0, low_open=True)
    xp, x, t, w = _prepare(input, target, weight, reduction, var if hasattr(var, "shape") else None)
    v = _prepare_var(var, input, xp, x.dtype)
    # Straight-through clamp (torch's semantics): the forward value is max(var, eps), the
    # backward pass sees the identity. stop_gradient hides the clamp's own (zero)
    # derivative, so d loss / d var is evaluated at the clamped value and passed through.
    v = v + stop_gradient(xp.clip(v, min=eps) - v, xp)
    d = x - t
    out = 0.5 * (xp.log(v) + d * d / v)
    if full:
        out = out + _HALF_LOG_2PI
    return reduce_loss(out, reduction, xp, weight=w)
