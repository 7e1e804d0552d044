r"""The likelihood regression losses: Poisson and Gaussian negative log-likelihood
(see :mod:`losskit.regression`)."""

from __future__ import annotations

import math
from typing import Any

from .._checks import (
    check_bool,
    check_broadcastable,
    check_nonnegative_values,
    check_number,
    is_scalar_option,
)
from .._reduce import reduce_loss
from .._xp import as_float, stop_gradient
from ._common import check_real as _check_real
from ._common import loss
from ._common import prepare as _prepare

__all__ = ["poisson_nll_loss", "gaussian_nll_loss"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@loss(
    formula=r"\ell(x, y) = e^{x} - y x \ \text{(log\_input)}, \quad x - y \log(x + \varepsilon) \ \text{(otherwise)}",
    reference="torch.nn.functional.poisson_nll_loss; Nelder & Wedderburn, Generalized Linear Models, 1972",
    aliases=("poisson_nll", "poisson"),
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
%(weight_reduction)s

    Returns:
%(returns)s

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
    eps = float(check_number("eps", eps, low=0.0, low_open=True))
    check_bool("log_input", log_input)
    check_bool("full", full)
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
    if not is_scalar_option(var) and (isinstance(var, bool) or not hasattr(var, "shape")):
        raise TypeError(f"var: expected an array or a non-negative number, got {type(var).__name__}")
    if is_scalar_option(var):
        var = float(check_number("var", float(var), low=0.0))
        # A Python or NumPy number: one variance for every element, in the input's dtype
        # and on its device (ones_like inherits both; no default dtype is ever used).
        return xp.ones_like(as_float(input, xp, dtype)) * var
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
    formula=r"\ell(x, y, \sigma^2) = \tfrac12 \left(\log \max(\sigma^2, \varepsilon) + "
    r"\frac{(x - y)^2}{\max(\sigma^2, \varepsilon)}\right) + [\text{full}]\, \tfrac12 \log 2\pi",
    reference="Nix & Weigend, Estimating the mean and variance of the target probability "
    "distribution, 1994; torch.nn.functional.gaussian_nll_loss",
    aliases=("gaussian_nll", "gaussian"),
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
%(weight_reduction)s

    Returns:
%(returns)s

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
    eps = float(check_number("eps", eps, low=0.0, low_open=True))
    check_bool("full", full)
    array_var = hasattr(var, "shape") and not is_scalar_option(var)
    xp, x, t, w = _prepare(input, target, weight, reduction, var if array_var else None)
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
