r"""The asymmetric loss (ASL) of Ridnik et al. for multi-label classification, and its
single-label form (see :mod:`losskit.classification` for the conventions they share).

Two functions rather than a ``multi_label=`` flag: the two forms take different targets
(a multi-hot ``(N, C)`` array against integer class indices), different options
(``clip`` shifts the sigmoid probabilities of the negatives; the softmax form has
``label_smoothing``, ``ignore_index`` and ``axis`` instead) and reduce over different
things (elements against samples), as timm's two classes do.

Numerics: every logarithm and every power of a probability is written in log-sigmoid /
log-softmax form (``log p = log_sigmoid(x)``, ``(1 - p)^g = exp(g log_sigmoid(-x))``, the
shifted ``1 - p_m = min(sigmoid(-x) + m, 1)``), so the loss and its gradient are finite
for logits of any magnitude and any ``gamma >= 0``, where the reference code's ``log`` of
clamped probabilities and ``pow(0, gamma)`` gave NaN (Alibaba-MIIL/ASL #87, #112).
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_number
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, log_sigmoid, log_softmax, one_hot, safe_pow, sigmoid
from ._common import binary_setup, index_setup, safe_index

__all__ = ["asymmetric_loss", "asymmetric_single_label_loss"]


def _gammas(gamma_neg, gamma_pos):
    # Python floats: a NumPy scalar times a torch or JAX array is not always that array.
    return (float(check_number("gamma_neg", gamma_neg, low=0.0)),
            float(check_number("gamma_pos", gamma_pos, low=0.0)))


def _check_eps(eps):
    eps = check_number("eps", eps, low=0.0, high=1.0, low_open=True, allow_none=True)
    return None if eps is None else float(eps)


def _exp_pow(log_x, gamma, xp):
    """``x ** gamma`` from ``log x`` (finite value and gradient, also at x -> 0)."""
    return xp.ones_like(log_x) if gamma == 0 else xp.exp(gamma * log_x)


@loss(
    formula=(
        r"\ell = -y\,(1-p)^{\gamma_+}\log p - (1-y)\,p_m^{\gamma_-}\log(1-p_m),"
        r"\ p = \sigma(x),\ p_m = \max(p - m, 0)"
    ),
    reference=("Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor, Asymmetric Loss "
               "For Multi-Label Classification, ICCV 2021, arXiv:2009.14119"),
    aliases=("asl",),
    plot="margin",
)
def asymmetric_loss(
    input: Any,
    target: Any,
    *,
    gamma_neg: float = 4.0,
    gamma_pos: float = 1.0,
    clip: float = 0.05,
    eps: float | None = None,
    reduction: str = "mean",
) -> Any:
    r"""Asymmetric loss (ASL) for multi-label logits, with a margin on the negatives.

    Focusing that differs for positives and negatives, and a probability margin that
    discards easy negatives.

    .. math::

        \ell = -y\,(1 - p)^{\gamma_+}\log p \;-\; (1 - y)\,p_m^{\gamma_-}\log(1 - p_m),
        \qquad p = \sigma(x),\quad p_m = \max(p - m, 0)

    where

    - :math:`x` is the logit of one label (``input``), :math:`\sigma` the sigmoid,
    - :math:`y \in [0, 1]` its target (1 positive, 0 negative; soft targets interpolate
      the two terms linearly),
    - :math:`\gamma_+` (``gamma_pos``) and :math:`\gamma_-` (``gamma_neg``) the focusing
      exponents of the positives and negatives (the paper's 1 and 4),
    - :math:`m` (``clip``) the probability margin of the negatives (the paper's 0.05):
      a negative with :math:`p \le m` costs nothing.

    Args:
        input: logits, any shape (``(N, C)`` for ``N`` samples of ``C`` labels).
        target: targets in [0, 1] of ``input``'s shape (floats, ints or bools).
        gamma_neg: :math:`\gamma_- \ge 0` (default 4).
        gamma_pos: :math:`\gamma_+ \ge 0` (default 1).
        clip: :math:`m \in [0, 1]` (default 0.05); 0 turns the margin off (timm's ``None``).
        eps: ``None`` (default): exact logarithms. A number reproduces timm's clamp
            ``log(max(q, eps))`` of both probabilities (timm's default is ``1e-8``):
            the loss is flat (zero gradient) where it bites.
        reduction: ``"mean"`` (over elements), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        - timm's ``AsymmetricLossMultiLabel(gamma_neg, gamma_pos, clip, eps)`` returns the
          *sum* over every element: ``reduction="sum"``, ``eps=1e-8`` gives its value for
          binary targets (with ``eps=None`` it agrees wherever its clamp does not bite,
          and stays finite, with the exact gradient, where it does). Its
          ``disable_torch_grad_focal_loss`` detaches the focusing weights; here they are
          differentiated (its default).
        - :math:`(1 - p)^{\gamma_+} = e^{\gamma_+ \log\sigma(-x)}` and
          :math:`\log p = \log\sigma(x)` are finite for any logit; :math:`1 - p_m =
          \min(\sigma(-x) + m, 1) \ge m`, so with :math:`m > 0` the negative's logarithm
          is bounded by :math:`\log m`; with :math:`m = 0` it is :math:`\log\sigma(-x)`.
        - With ``gamma_neg = gamma_pos = 0`` and ``clip = 0`` this is
          :func:`binary_cross_entropy_with_logits`.

    References:
        Ridnik et al., Asymmetric Loss For Multi-Label Classification, ICCV 2021,
        arXiv:2009.14119 (eqs. 1-4: the asymmetric focusing and the probability shifting).

    Example:
        >>> import numpy as np, losskit
        >>> # x = 0, y = 1: p = 1/2, so -(1/2)^1 log(1/2) = log(2) / 2
        >>> print(f"{float(losskit.asymmetric_loss(np.array([0.0]), np.array([1.0]))):.5f}")
        0.34657
    """
    xp, x, t = binary_setup(input, target, reduction)
    gamma_neg, gamma_pos = _gammas(gamma_neg, gamma_pos)
    m = float(check_number("clip", clip, low=0.0, high=1.0))
    eps = _check_eps(eps)
    ls_pos, ls_neg = log_sigmoid(x, xp), log_sigmoid(-x, xp)  # log p, log(1 - p)
    if m > 0:
        q = sigmoid(-x, xp) + m  # 1 - p + m; p_m = 0 and a zero gradient where it reaches 1
        one_minus_pm = xp.minimum(q, xp.ones_like(q))
        log_q = xp.log(one_minus_pm)  # >= log m: finite
        w_neg = safe_pow(1.0 - one_minus_pm, gamma_neg, xp)  # p_m^gamma-, p_m may be exactly 0
    else:
        log_q = ls_neg
        w_neg = _exp_pow(ls_pos, gamma_neg, xp)  # p^gamma- = exp(gamma- log p)
    if eps is not None:
        floor = math.log(eps)
        ls_pos = xp.maximum(ls_pos, xp.full_like(ls_pos, floor))
        log_q = xp.maximum(log_q, xp.full_like(log_q, floor))
    w_pos = _exp_pow(ls_neg, gamma_pos, xp)  # (1 - p)^gamma+
    out = -t * w_pos * ls_pos - (1.0 - t) * w_neg * log_q
    return reduce_loss(out, reduction, xp)


@loss(
    formula=(
        r"\ell_n = -\sum_c q_c\,w_c \log p_c,\ w_y = (1-p_y)^{\gamma_+},\ w_{c\ne y} = p_c^{\gamma_-},"
        r"\ q = (1-\varepsilon)\,e_y + \varepsilon / C"
    ),
    reference=("Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor, Asymmetric Loss "
               "For Multi-Label Classification, ICCV 2021, arXiv:2009.14119"),
    aliases=("asl_single_label",),
)
def asymmetric_single_label_loss(
    input: Any,
    target: Any,
    *,
    gamma_neg: float = 4.0,
    gamma_pos: float = 1.0,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""The single-label (softmax) form of the asymmetric loss, on logits and class indices.

    .. math::

        \ell_n = -\sum_{c=1}^{C} q_{n,c}\, w_{n,c}\, \log p_{n,c},\qquad
        w_{n,y_n} = (1 - p_{n,y_n})^{\gamma_+},\quad w_{n,c \ne y_n} = p_{n,c}^{\gamma_-},\qquad
        q_n = (1 - \varepsilon)\, e_{y_n} + \varepsilon / C

    where

    - :math:`p_n = \operatorname{softmax}(x_n)` over the ``C`` classes of sample :math:`n`,
      :math:`y_n` its class and :math:`e_{y_n}` the one-hot vector,
    - :math:`\gamma_+` (``gamma_pos``), :math:`\gamma_-` (``gamma_neg``) the focusing
      exponents of the target class and of the other classes,
    - :math:`\varepsilon` (``label_smoothing``) mixes the uniform distribution into the
      target, as ``F.cross_entropy``'s ``label_smoothing``: the other classes' terms (which
      only exist through smoothing) carry the weights :math:`p_c^{\gamma_-}`.

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, ``input``'s shape without the class axis.
        gamma_neg: :math:`\gamma_- \ge 0` (default 4).
        gamma_pos: :math:`\gamma_+ \ge 0` (default 1).
        label_smoothing: :math:`\varepsilon \in [0, 1]` (default 0; timm's default is 0.1).
        ignore_index: a target value to leave out of the loss and of the mean.
        axis: class axis (default 1).
        reduction: ``"mean"`` (over the non-ignored samples), ``"sum"`` or ``"none"``
            (ignored samples give 0).

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype.

    Notes:
        - timm's ``AsymmetricLossSingleLabel(gamma_pos, gamma_neg, eps)`` is this with
          ``label_smoothing=eps`` on ``(N, C)`` logits (its class axis is the last).
        - With ``label_smoothing=0`` only the target class's term is left, and the loss is
          :func:`focal_loss` with ``gamma = gamma_pos``; with both gammas 0 it is
          :func:`cross_entropy` (with the same ``label_smoothing``).
        - :math:`1 - p_y` is computed as ``-expm1(log p_y)`` and :math:`p_c^{\gamma_-}` as
          :math:`e^{\gamma_- \log p_c}`: finite, with finite gradients, for any logits.

    References:
        Ridnik et al., Asymmetric Loss For Multi-Label Classification, ICCV 2021,
        arXiv:2009.14119.

    Example:
        >>> import numpy as np, losskit
        >>> # two equal logits: p_y = 1/2, so -(1/2)^1 log(1/2) = log(2) / 2
        >>> x = np.array([[0.0, 0.0]])
        >>> print(f"{float(losskit.asymmetric_single_label_loss(x, np.array([1]))):.5f}")
        0.34657
    """
    xp, ax, c, ignore_index = index_setup(input, target, axis, reduction, ignore_index=ignore_index)
    gamma_neg, gamma_pos = _gammas(gamma_neg, gamma_pos)
    eps = float(check_number("label_smoothing", label_smoothing, low=0.0, high=1.0))
    x = as_float(input, xp)
    t, valid = safe_index(target, ignore_index, xp)
    logp = log_softmax(x, xp, axis=ax)
    oh = one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    # 1 - p (for the target class) as -expm1(log p): no cancellation when p ~ 1
    w_pos = safe_pow(-xp.expm1(logp), gamma_pos, xp)
    w_neg = _exp_pow(logp, gamma_neg, xp)
    w = oh * w_pos + (1.0 - oh) * w_neg
    q = (1.0 - eps) * oh + eps / c
    out = -xp.sum(q * w * logp, axis=ax)
    vw = None
    if valid is not None:
        vw = xp.astype(valid, out.dtype)
        # where, not a product: an ignored sample's loss may be inf (logit -inf).
        out = xp.where(valid, out, xp.zeros_like(out))
    return reduce_loss(out, reduction, xp, weight=vw)
