r"""The elementwise regression losses: squared, absolute, Huber, smooth-L1, log-cosh,
quantile (pinball), Charbonnier and squared log error (see :mod:`losskit.regression`).

The four losses torch has (mse, l1, huber, smooth-l1) compute their elementwise values in
one kernel, ``regression.elementwise``; on eager torch tensors its fast path
``regression.torch_native`` (torch's fused ATen kernels, :mod:`losskit.regression._torch`)
stands in for it. Kinks follow the subgradient convention of :mod:`losskit._xp`: the
gradient at a zero residual of ``|d|`` is 0 on every backend.
"""

from __future__ import annotations

import functools

from .._checks import check_number, eager_min
from .._fastpath import fast_path, select
from .._meta import analytic_grad
from .._reduce import reduce_grad, reduce_loss
from .._xp import (
    backend_name,
    log_cosh,
    stop_gradient,
    subgrad_abs,
    subgrad_maximum,
)
from ._common import loss as _family_loss
from ._common import prepare as _prepare

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "log_cosh_loss",
    "quantile_loss",
    "charbonnier_loss",
    "msle_loss",
]

# Every loss here is a function of the residual x - y alone: `losskit plot` draws it against that.
loss = functools.partial(_family_loss, plot="residual")

_FLOAT32_TINY = 2.0**-126  # the smallest normal float32

TORCH_NATIVE = fast_path(
    "regression.torch_native",
    kernel="regression.elementwise",
    impl="losskit.regression._torch:native",
    backend="torch",
    when="mse_loss / l1_loss / huber_loss / smooth_l1_loss on torch tensors: "
    "torch.nn.functional's fused kernel of the same name",
)

TORCH_LOG_COSH = fast_path(
    "regression.torch_log_cosh",
    kernel="regression.log_cosh",
    impl="losskit.regression._torch:log_cosh",
    backend="torch",
    when="log_cosh_loss on torch tensors: a torch.autograd.Function (the value without a "
    "graph, the gradient tanh(d) in one operation)",
)


def _elementwise(name: str, x, t, w, reduction: str, xp, **options):
    """The reduced loss ``name`` (``mse_loss``, ``l1_loss``, ``huber_loss``,
    ``smooth_l1_loss``) of the validated ``x``, ``t``, ``w``: the array-API reference,
    or its fast path where :func:`losskit._fastpath.select` picks one."""
    arrays = (x, t) if w is None else (x, t, w)
    impl = select("regression.elementwise", backend_name(xp), *arrays)
    if impl is not None:
        return impl(name, x, t, w, reduction, xp, **options)
    d = x - t
    if name == "mse_loss":
        out = d * d
    elif name == "l1_loss":
        out = subgrad_abs(d, xp)
    elif name == "huber_loss":
        out = _huber(d, options["delta"], xp)
    else:
        out = _smooth_l1(d, options["beta"], xp)
    return reduce_loss(out, reduction, xp, weight=w)

def _residual_grad(input, target, weight, reduction: str, loss_of, slope_of):
    """``(value, gradient)`` of a loss of the residual ``d = input - target``: the reduced
    ``loss_of(d, xp)`` and the reduced ``slope_of(d, xp)``, its derivative in ``d``."""
    xp, x, t, w = _prepare(input, target, weight, reduction)
    d = x - t
    value = reduce_loss(loss_of(d, xp), reduction, xp, weight=w)
    return value, reduce_grad(slope_of(d, xp), reduction, xp, weight=w)


# --------------------------------------------------------------------------- mse


@loss(
    formula=r"\ell(x, y) = (x - y)^2",
    reference="Gauss, Theoria motus corporum coelestium, 1809 (least squares); torch.nn.functional.mse_loss",
    aliases=("mse", "squared_error", "l2_loss"),
    fast_paths=(TORCH_NATIVE.name,),
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
    return _elementwise("mse_loss", x, t, w, reduction, xp)


@analytic_grad(mse_loss)
def _mse_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx (x - y)^2 = 2 (x - y)
    return _residual_grad(input, target, weight, reduction, lambda d, xp: d * d, lambda d, xp: 2.0 * d)


# --------------------------------------------------------------------------- l1


@loss(
    formula=r"\ell(x, y) = |x - y|",
    reference="Laplace, 1774 (least absolute deviations); torch.nn.functional.l1_loss",
    aliases=("l1", "mae", "absolute_error"),
    fast_paths=(TORCH_NATIVE.name,),
)
def l1_loss(input, target, *, weight=None, reduction="mean"):
    r"""Mean absolute error (L1): the absolute residual, averaged.

    .. math::

        \ell_i = w_i |x_i - y_i|, \qquad L = \frac{\sum_i \ell_i}{\sum_i w_i}

    where

    - :math:`x_i` is the prediction (``input``), :math:`y_i` the ``target``;
    - :math:`w_i` the optional elementwise ``weight`` (1 when omitted).

    Args:
%(input_target)s
%(weight_reduction)s

    Returns:
%(returns)s

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
    return _elementwise("l1_loss", x, t, w, reduction, xp)


@analytic_grad(l1_loss)
def _l1_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx |x - y| = sign(x - y) (0 at a zero residual, as torch's subgradient)
    return _residual_grad(input, target, weight, reduction, subgrad_abs, lambda d, xp: xp.sign(d))


# --------------------------------------------------------------------------- huber


def _huber(d, delta: float, xp):
    a = subgrad_abs(d, xp)
    # Quadratic inside |d| < delta, linear outside; both branches are finite everywhere,
    # so the discarded branch of the where never puts a NaN into the gradient.
    return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


@loss(
    formula=r"\ell(x, y) = \begin{cases} \tfrac12 (x - y)^2 & |x - y| < \delta \\ "
    r"\delta (|x - y| - \tfrac12 \delta) & \text{otherwise} \end{cases}",
    reference="Huber, Robust Estimation of a Location Parameter, 1964",
    aliases=("huber",),
    fast_paths=(TORCH_NATIVE.name,),
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
%(input_target)s
        delta: threshold :math:`\delta`, a number > 0 (default 1.0).
%(weight_reduction)s

    Returns:
%(returns)s

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
    delta = float(check_number("delta", delta, low=0.0, low_open=True))
    xp, x, t, w = _prepare(input, target, weight, reduction)
    return _elementwise("huber_loss", x, t, w, reduction, xp, delta=delta)


@analytic_grad(huber_loss)
def _huber_loss_grad(input, target, *, delta=1.0, weight=None, reduction="mean"):
    # d/dx: d inside |d| < delta, delta * sign(d) outside = clip(d, -delta, delta).
    delta = float(check_number("delta", delta, low=0.0, low_open=True))
    return _residual_grad(input, target, weight, reduction, lambda d, xp: _huber(d, delta, xp),
                          lambda d, xp: xp.clip(d, min=-delta, max=delta))


# --------------------------------------------------------------------------- smooth l1


def _smooth_l1(d, beta: float, xp):
    a = subgrad_abs(d, xp)
    if beta == 0.0:  # a Python option, not an array value: fine under jit
        # The quadratic piece has zero width; dividing by beta would give 0/0.
        return a
    return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


@loss(
    formula=r"\ell(x, y) = \begin{cases} \tfrac{1}{2\beta} (x - y)^2 & |x - y| < \beta \\ "
    r"|x - y| - \tfrac12 \beta & \text{otherwise} \end{cases}",
    reference="Girshick, Fast R-CNN, 2015, arXiv:1504.08083",
    aliases=("smooth_l1",),
    fast_paths=(TORCH_NATIVE.name,),
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
%(input_target)s
        beta: width :math:`\beta \ge 0` (default 1.0).
%(weight_reduction)s

    Returns:
%(returns)s

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
    beta = float(check_number("beta", beta, low=0.0))
    xp, x, t, w = _prepare(input, target, weight, reduction)
    return _elementwise("smooth_l1_loss", x, t, w, reduction, xp, beta=beta)


@analytic_grad(smooth_l1_loss)
def _smooth_l1_loss_grad(input, target, *, beta=1.0, weight=None, reduction="mean"):
    # d/dx: d / beta inside |d| < beta, sign(d) outside = clip(d / beta, -1, 1);
    # beta = 0 is L1, whose (sub)gradient is sign(d).
    beta = float(check_number("beta", beta, low=0.0))
    return _residual_grad(
        input, target, weight, reduction, lambda d, xp: _smooth_l1(d, beta, xp),
        lambda d, xp: xp.sign(d) if beta == 0.0 else xp.clip(d / beta, min=-1.0, max=1.0),
    )


# --------------------------------------------------------------------------- log-cosh


@loss(
    formula=r"\ell(x, y) = \log\cosh(x - y)",
    reference="Chen et al., Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder, 2019",
    aliases=("log_cosh", "logcosh"),
    fast_paths=(TORCH_LOG_COSH.name,),
)
def log_cosh_loss(input, target, *, weight=None, reduction="mean"):
    r"""Log-cosh loss: about ``d^2 / 2`` for small residuals and ``|d| - log 2`` for large ones.

    .. math::

        \ell_i = w_i \log\cosh(d_i) = w_i \left(|d_i| + \log\left(1 + e^{-2|d_i|}\right)
        - \log 2\right)

    where

    - :math:`d_i = x_i - y_i` is the residual;
    - :math:`w_i` is the optional elementwise ``weight``.

    Its gradient is :math:`\tanh(d_i)`: smooth everywhere (unlike Huber's second
    derivative) and bounded by 1 (robust to outliers, like L1).

    Args:
%(input_target)s
%(weight_reduction)s

    Returns:
%(returns)s

    Notes:
        Computed without ``cosh`` itself (``losskit._xp.log_cosh``), so residuals
        of 1e4 (where ``cosh`` overflows) give finite values and gradients, and small ones
        no cancellation. On torch tensors in eager mode the fast path
        ``regression.torch_log_cosh`` computes the same values in one
        ``torch.autograd.Function`` whose gradient is ``tanh(d)`` (second derivatives too).
        optax's ``log_cosh`` returns the elementwise values (our ``reduction="none"``);
        Keras' ``LogCosh`` is the mean.

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
    impl = select("regression.log_cosh", backend_name(xp), *((x, t) if w is None else (x, t, w)))
    if impl is not None:
        return impl(x, t, w, reduction, xp)
    return reduce_loss(log_cosh(x - t, xp), reduction, xp, weight=w)


@analytic_grad(log_cosh_loss)
def _log_cosh_loss_grad(input, target, *, weight=None, reduction="mean"):
    # d/dx log cosh(d) = sinh(d) / cosh(d) = tanh(d) (tanh saturates, never overflows).
    return _residual_grad(input, target, weight, reduction, log_cosh, lambda d, xp: xp.tanh(d))


# --------------------------------------------------------------------------- quantile


@loss(
    formula=r"\ell(x, y) = \max\big(q (y - x),\ (q - 1)(y - x)\big)",
    reference="Koenker & Bassett, Regression Quantiles, Econometrica 1978",
    aliases=("pinball_loss", "pinball", "quantile"),
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
%(weight_reduction)s

    Returns:
%(returns)s

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
    quantile = float(check_number("quantile", quantile, low=0.0, high=1.0, low_open=True, high_open=True))
    xp, x, t, w = _prepare(input, target, weight, reduction)
    r = t - x
    # At r = 0 the two slopes tie: the gradient is their mean, 1/2 - q (the convention
    # of losskit._xp).
    out = subgrad_maximum(quantile * r, (quantile - 1.0) * r, xp)
    return reduce_loss(out, reduction, xp, weight=w)


# --------------------------------------------------------------------------- charbonnier


@loss(
    formula=r"\ell(x, y) = \sqrt{(x - y)^2 + \varepsilon^2}",
    reference="Charbonnier et al., Two deterministic half-quadratic regularization algorithms "
    "for computed imaging, 1994; Lai et al., LapSRN, 2017, arXiv:1704.03915",
    aliases=("charbonnier",),
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
%(input_target)s
        eps: :math:`\varepsilon`, a number > 0 (with 0 the gradient at a zero residual
            would be 0/0).
%(weight_reduction)s

    Returns:
%(returns)s

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
    eps = float(check_number("eps", eps, low=0.0, low_open=True))
    xp, x, t, w = _prepare(input, target, weight, reduction)
    if x.dtype == xp.float32 and eps < _FLOAT32_TINY:
        # Below it float32 is subnormal (or 0): XLA flushes subnormals to 0 on CPU, and
        # sqrt(0 + 0) at a zero residual has no finite gradient.
        raise ValueError(f"eps: expected a number >= {_FLOAT32_TINY:.8g} (the smallest normal float32) "
                         f"for float32 input, got {eps!r}")
    d = x - t
    # eps is the papers' constant, not a guard: it rounds off the kink of |d| at 0, where
    # the gradient d / sqrt(d^2 + eps^2) is then 0 instead of 0 / 0. Computed as
    # m sqrt((d/m)^2 + (eps/m)^2) with m = max(|d|, eps) >= eps > 0: the squares are <= 1,
    # so eps^2 cannot underflow (eps = 1e-30 in float32) nor d^2 overflow. The value does
    # not depend on m, so m is a constant for autodiff (exact, and no 1/m^2 in the backward).
    e = xp.full_like(d, eps)  # an array: eps / m must not become eps * (1 / m) = eps * inf
    m = stop_gradient(xp.maximum(xp.abs(d), e), xp)
    u, v = d / m, e / m
    return reduce_loss(m * xp.sqrt(u * u + v * v), reduction, xp, weight=w)


# --------------------------------------------------------------------------- msle


@loss(
    formula=r"\ell(x, y) = \big(\log(1 + x) - \log(1 + y)\big)^2",
    reference="scikit-learn, sklearn.metrics.mean_squared_log_error",
    aliases=("msle", "mean_squared_log_error", "squared_log_error"),
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
%(weight_reduction)s

    Returns:
%(returns)s

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


