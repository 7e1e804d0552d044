r"""The Kullback-Leibler divergence ``kl_div`` (torch's argument order: log-probabilities
of the model, probabilities of the reference)."""

from __future__ import annotations

import math
from typing import Any

from .._checks import (
    check_array,
    check_bool,
    check_choice,
    check_floating,
    check_in_unit_interval,
    check_same_shape,
)
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, namespace, xlogy
from ._common import nan_where

__all__ = ["kl_div"]


@loss(
    formula=r"\ell = t\,(\log t - x) \quad (x = \log q)",
    reference="Kullback, Leibler, On Information and Sufficiency, 1951",
    aliases=("kl_divergence", "kldiv"),
)
def kl_div(input: Any, target: Any, *, log_target: bool = False, reduction: str = "mean") -> Any:
    r"""Kullback-Leibler divergence KL(target || exp(input)), torch's argument order.

    .. math::

        \ell = t \,(\log t - x) \quad\text{or, with log\_target:}\quad \ell = e^{t}\,(t - x)

    where

    - :math:`x` is ``input``: the **log**-probabilities :math:`\log q` of the model,
    - :math:`t` is ``target``: the reference distribution's **probabilities** :math:`p`
      (its log-probabilities when ``log_target=True``),
    - :math:`0 \log 0 = 0` (``xlogy``), so zero target probabilities contribute nothing.

    Summed over the class axis this is :math:`KL(p \,\|\, q) = \sum_c p_c \log(p_c / q_c)`.

    Args:
        input: log-probabilities of the model, any shape.
        target: probabilities in [0, 1] (or log-probabilities with ``log_target=True``),
            ``input``'s shape.
        log_target: whether ``target`` is given in log space.
        reduction: ``"mean"`` (over *all elements*, torch's default), ``"batchmean"``
            (sum divided by ``input.shape[0]``: the true KL per sample when the class axis
            is the rest), ``"sum"`` or ``"none"`` (``input``'s shape).

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.kl_div`` semantics: note that ``input`` is *log*-probabilities
        and ``target`` plain probabilities, the reverse of what the name KL(p || q)
        suggests. ``reduction="mean"`` averages over every element (torch's default, which
        is not the KL divergence); use ``"batchmean"`` for the mathematical value. An empty
        batch gives 0. Zero target probabilities (or ``-inf`` log-targets) contribute 0 even
        where ``input`` is ``-inf``; torch gives NaN there. A NaN ``input`` gives NaN.

    References:
        Kullback, Leibler, On Information and Sufficiency, Ann. Math. Statist., 1951.

    Example:
        >>> import numpy as np, losskit
        >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])
        >>> # .5 log(.5/.25) + .5 log(.5/.75)
        >>> print(f"{float(losskit.kl_div(np.log(q), p, reduction='batchmean')):.4f}")
        0.1438
    """
    check_choice("reduction", reduction, ("mean", "batchmean", "sum", "none"))
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target)
    check_floating("input", input, xp)
    check_bool("log_target", log_target)
    check_floating("target", target, xp)
    check_same_shape("input", input, "target", target)
    if not log_target:
        check_in_unit_interval("target", target)
    x = as_float(input, xp)
    t = as_float(target, xp, x.dtype)
    zero = xp.zeros_like(x)
    if log_target:
        # A target log-probability of -inf is a zero probability: its term is 0 (torch gives
        # exp(-inf) * (-inf - x) = 0 * -inf = NaN). The inner where keeps inf out of both
        # the value and the gradient.
        absent = t == -math.inf
        ts = xp.where(absent, zero, t)
        loss = xp.where(absent, zero, xp.exp(ts) * (ts - x))
    else:
        # xlogy: a zero target probability contributes 0 (0 log 0 = 0), not NaN; likewise
        # 0 * x where the model's log-probability x is -inf (torch: 0 * -inf = NaN).
        absent = t == 0
        loss = xlogy(t, t, xp) - xp.where(absent, zero, t * xp.where(absent, zero, x))
    # A zero target probability makes its term 0 whatever the model says, but not when the
    # model says NaN: that NaN is kept, never hidden.
    loss = nan_where(x, loss, xp)
    if reduction == "batchmean":
        total = xp.sum(loss)
        return total / max(int(input.shape[0]), 1) if input.ndim > 0 else total
    return reduce_loss(loss, reduction, xp)
