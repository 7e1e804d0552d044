r"""Preference losses on sequence log-probabilities: DPO (with its conservative, IPO and
hinge variants), SimPO and ORPO.

Conventions shared by every loss here:

* **Inputs** are log-probabilities of whole responses, one per preference pair, all of one
  shape (``(B,)`` for a batch of pairs): the *chosen* (preferred, :math:`y_w`) response's
  first, the *rejected* (:math:`y_l`) response's second. :func:`sequence_logprobs` makes
  them from logits and labels: its sum for DPO, its mean (``average=True``, the
  length-normalised log-probability) for SimPO and ORPO.
* **Rewards.** ``return_rewards=True`` returns ``(loss, chosen_rewards, rejected_rewards)``:
  the implicit rewards that trainers log (TRL's ``rewards/chosen`` and
  ``rewards/rejected``; their difference is ``rewards/margins``), one per pair, with the
  inputs' shape, as constants (no gradient flows through them).
* **Reductions.** ``"mean"`` over the pairs (default), ``"sum"``, ``"none"`` (one value per
  pair). An empty batch gives 0, not NaN, and keeps the autograd graph.
* **Numerics.** ``log_sigmoid`` forms: finite for margins of any size. Float16 and bfloat16
  inputs are computed and returned in float32; float64 stays float64.
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_choice, check_number, eager_values
from .._meta import loss
from .._xp import log_sigmoid
from ._common import finish, setup, smoothed_logistic

__all__ = ["dpo_loss", "simpo_loss", "orpo_loss"]

DPO_LOSS_TYPES = ("sigmoid", "ipo", "hinge")


@loss(
    formula=r"\ell = -\log \sigma\bigl(\beta\, [(\log \pi(y_w) - \log \pi_{\mathrm{ref}}(y_w))"
    r" - (\log \pi(y_l) - \log \pi_{\mathrm{ref}}(y_l))]\bigr)",
    reference="Rafailov, Sharma, Mitchell, Ermon, Manning, Finn, Direct Preference "
    "Optimization: Your Language Model is Secretly a Reward Model, 2023, arXiv:2305.18290; "
    "Azar et al., A General Theoretical Paradigm to Understand Learning from Human "
    "Preferences (IPO), 2023, arXiv:2310.12036",
    aliases=("dpo",),
)
def dpo_loss(
    policy_chosen: Any,
    policy_rejected: Any,
    reference_chosen: Any,
    reference_rejected: Any,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
    loss_type: str = "sigmoid",
    return_rewards: bool = False,
    reduction: str = "mean",
) -> Any:
    r"""Direct Preference Optimization loss (and its conservative, IPO and hinge forms).

    .. math::

        h = \bigl(\log \pi(y_w) - \log \pi_{\mathrm{ref}}(y_w)\bigr)
          - \bigl(\log \pi(y_l) - \log \pi_{\mathrm{ref}}(y_l)\bigr)

        \ell_{\mathrm{sigmoid}} = -(1 - \varepsilon) \log \sigma(\beta h)
          - \varepsilon \log \sigma(-\beta h), \qquad
        \ell_{\mathrm{ipo}} = \Bigl(h - \frac{1}{2 \beta}\Bigr)^2, \qquad
        \ell_{\mathrm{hinge}} = \max(0,\, 1 - \beta h)

    where

    - :math:`\log \pi(y_w)`, :math:`\log \pi(y_l)` are the policy's log-probabilities of the
      chosen and rejected responses, :math:`\log \pi_{\mathrm{ref}}` the reference model's,
    - :math:`h` is the difference of the two log-ratios (the implicit reward margin over
      :math:`\beta`),
    - :math:`\beta` is ``beta`` (the KL-penalty strength; IPO's :math:`\tau`),
      :math:`\sigma` the logistic function,
    - :math:`\varepsilon` is ``label_smoothing``: the probability that a pair's labels are
      flipped (conservative DPO; 0 is the paper's eq. 7).

    The rewards are :math:`r_w = \beta (\log \pi(y_w) - \log \pi_{\mathrm{ref}}(y_w))` and
    :math:`r_l = \beta (\log \pi(y_l) - \log \pi_{\mathrm{ref}}(y_l))`.

    Args:
        policy_chosen: the policy's log-probabilities of the chosen responses, shape
            ``(B,)`` (any shape, one entry per pair); floating.
        policy_rejected: the policy's log-probabilities of the rejected responses.
        reference_chosen: the reference model's log-probabilities of the chosen responses
            (constants: compute them under ``torch.no_grad()``).
        reference_rejected: the reference model's for the rejected responses.
        beta: :math:`\beta > 0`.
        label_smoothing: :math:`\varepsilon \in [0, 0.5]` (``"sigmoid"`` only; above 0.5
            the loss would prefer the rejected response: swap the arguments instead).
        loss_type: ``"sigmoid"`` (DPO, eq. 7), ``"ipo"`` (Azar et al., eq. 17) or
            ``"hinge"`` (SLiC's hinge on the margin, Zhao et al., arXiv:2305.10425).
        return_rewards: also return the chosen and rejected rewards.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per pair).

    Returns:
        The loss in the policy's compute dtype (float64 stays float64, otherwise float32):
        a scalar, or one value per pair for ``reduction="none"``; with
        ``return_rewards=True``, ``(loss, chosen_rewards, rejected_rewards)``, the rewards of
        the inputs' shape, without gradient.

    Notes:
        TRL 1.16's ``DPOTrainer`` (tested against its code): ``beta`` and ``loss_type``
        "sigmoid", "hinge" and "ipo" are its options of the same names, on the summed
        log-probabilities it computes (``sequence_logprobs``), and the rewards are its
        ``rewards/chosen`` and ``rewards/rejected``, per pair. Its IPO divides each log-ratio
        by its completion's token count (a length normalisation it confirmed with the IPO
        authors): pass per-token *averages* (``sequence_logprobs(..., average=True)``, for
        the policy and the reference) to reproduce it, sums for the paper's sequence-level
        form; TRL still logs the rewards of the summed log-ratios there, ours are ``beta``
        times the log-ratios given (multiply by the token counts for TRL's). ``label_smoothing`` is
        conservative DPO, the formula of TRL's ``CPOTrainer`` ``loss_type="sigmoid"`` on the
        two log-ratios; TRL 1.16's ``DPOTrainer`` "sigmoid" ignores ``label_smoothing``,
        which there drives "robust" (robust DPO, an unbiased correction rather than a
        conservative one) and "exo_pair", losses not offered here. As :math:`\beta \to 0`
        the sigmoid loss tends to :math:`\log 2`; for small :math:`\beta h` it is the
        logistic loss of the margin :math:`\beta h`:
        ``binary_cross_entropy_with_logits(beta * h, 1 - eps)``.

    References:
        Rafailov et al., Direct Preference Optimization: Your Language Model is Secretly a
        Reward Model, NeurIPS 2023, arXiv:2305.18290 (eq. 7). Azar et al., A General
        Theoretical Paradigm to Understand Learning from Human Preferences, AISTATS 2024,
        arXiv:2310.12036 (IPO). Mitchell, A note on DPO with noisy preferences, 2023
        (conservative DPO).

    Example:
        >>> import numpy as np, losskit
        >>> pc, pr = np.array([-10.0]), np.array([-12.0])
        >>> rc, rr = np.array([-11.0]), np.array([-11.0])
        >>> # h = (-10 + 11) - (-12 + 11) = 2; -log sigmoid(0.5 * 2) = log(1 + e^-1)
        >>> print(f"{float(losskit.dpo_loss(pc, pr, rc, rr, beta=0.5)):.4f}")
        0.3133
    """
    xp, (pc, pr, rc, rr) = setup(
        reduction, return_rewards, policy_chosen=policy_chosen, policy_rejected=policy_rejected,
        reference_chosen=reference_chosen, reference_rejected=reference_rejected,
    )
    check_number("beta", beta, low=0.0, low_open=True)
    check_choice("loss_type", loss_type, DPO_LOSS_TYPES)
    check_number("label_smoothing", label_smoothing, low=0.0, high=0.5)
    if label_smoothing != 0.0 and loss_type != "sigmoid":
        raise ValueError(
            f"label_smoothing: expected 0.0 with loss_type={loss_type!r} (it smooths the "
            f"sigmoid loss only), got {label_smoothing!r}"
        )
    chosen = pc - rc
    rejected = pr - rr
    h = chosen - rejected
    if loss_type == "sigmoid":
        out = smoothed_logistic(beta * h, label_smoothing, xp)
    elif loss_type == "ipo":
        d = h - 1.0 / (2.0 * beta)
        out = d * d
    else:
        out = xp.clip(1.0 - beta * h, min=0.0)
    return finish(out, reduction, xp, return_rewards, beta * chosen, beta * rejected)


@loss(
    formula=r"\ell = -\log \sigma\Bigl(\frac{\beta}{|y_w|} \log \pi(y_w)"
    r" - \frac{\beta}{|y_l|} \log \pi(y_l) - \gamma\Bigr)",
    reference="Meng, Xia, Chen, SimPO: Simple Preference Optimization with a Reference-Free "
    "Reward, 2024, arXiv:2405.14734",
    aliases=("simpo",),
)
def simpo_loss(
    chosen: Any,
    rejected: Any,
    *,
    beta: float = 2.0,
    gamma: float = 0.5,
    label_smoothing: float = 0.0,
    return_rewards: bool = False,
    reduction: str = "mean",
) -> Any:
    r"""SimPO loss: a reference-free DPO on length-normalised log-probabilities, with a margin.

    .. math::

        \ell = -(1 - \varepsilon) \log \sigma(z) - \varepsilon \log \sigma(-z), \qquad
        z = \beta\, \bar{\ell}_w - \beta\, \bar{\ell}_l - \gamma

    where

    - :math:`\bar{\ell}_w = \frac{1}{|y_w|} \log \pi(y_w)` and
      :math:`\bar{\ell}_l = \frac{1}{|y_l|} \log \pi(y_l)` are the policy's length-normalised
      (per-token mean) log-probabilities of the chosen and rejected responses
      (``sequence_logprobs(..., average=True)``),
    - :math:`\beta` is ``beta`` (the reward scale), :math:`\gamma` is ``gamma`` (the target
      reward margin),
    - :math:`\varepsilon` is ``label_smoothing`` (0 is the paper's eq. 6).

    The rewards are :math:`r_w = \beta \bar{\ell}_w` and :math:`r_l = \beta \bar{\ell}_l`.

    Args:
        chosen: the length-normalised log-probabilities of the chosen responses, shape
            ``(B,)`` (any shape, one entry per pair); floating.
        rejected: those of the rejected responses, ``chosen``'s shape.
        beta: :math:`\beta > 0` (the paper's default 2.0; 2.0-2.5 in its tables).
        gamma: :math:`\gamma` (the paper's margin; 0.5 by default, as TRL's ``simpo_gamma``).
        label_smoothing: :math:`\varepsilon \in [0, 0.5]`.
        return_rewards: also return the chosen and rejected rewards.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per pair).

    Returns:
        The loss in ``chosen``'s compute dtype (float64 stays float64, otherwise float32);
        with ``return_rewards=True``, ``(loss, chosen_rewards, rejected_rewards)``.

    Notes:
        ``gamma`` is the margin itself, as in the paper's eq. 6 and TRL 1.16's ``CPOTrainer``
        with ``loss_type="simpo"`` (tested against its code): TRL's ``simpo_gamma`` is
        ``gamma`` (it subtracts ``simpo_gamma / beta`` from the log-probability difference
        before scaling by ``beta``: the same :math:`z`), its ``beta`` and
        ``label_smoothing`` are ours and so are its rewards, on the per-token averages it
        computes for SimPO. TRL's ``CPOConfig`` defaults differ: ``beta=0.1`` (ours is the
        paper's 2.0) and ``cpo_alpha=1.0``, which adds CPO's NLL term; SimPO proper is
        ``cpo_alpha=0``. The SimPO repository's configurations give ``gamma_beta_ratio``
        instead: ``gamma = gamma_beta_ratio * beta``. With ``gamma = 0`` SimPO is
        ``dpo_loss`` with a zero reference on the averaged log-probabilities.

    References:
        Meng, Xia, Chen, SimPO: Simple Preference Optimization with a Reference-Free Reward,
        NeurIPS 2024, arXiv:2405.14734 (eq. 6).

    Example:
        >>> import numpy as np, losskit
        >>> c, r = np.array([-0.5]), np.array([-1.0])
        >>> # z = 2 (-0.5) - 2 (-1) - 0.5 = 0.5; -log sigmoid(0.5) = log(1 + e^-0.5)
        >>> print(f"{float(losskit.simpo_loss(c, r)):.4f}")
        0.4741
    """
    xp, (c, r) = setup(reduction, return_rewards, chosen=chosen, rejected=rejected)
    check_number("beta", beta, low=0.0, low_open=True)
    check_number("gamma", gamma)
    check_number("label_smoothing", label_smoothing, low=0.0, high=0.5)
    rc, rr = beta * c, beta * r
    out = smoothed_logistic(rc - rr - gamma, label_smoothing, xp)
    return finish(out, reduction, xp, return_rewards, rc, rr)


def _log1mexp(x, xp):
    """log(1 - exp(x)) for x <= 0, finite and accurate up to x = 0 (Maechler's two
    branches: log(-expm1(x)) near 0, where 1 - exp(x) cancels, log1p(-exp(x)) below -log 2).

    A log-probability of exactly 0 (a probability that rounds to 1) is read as the dtype's
    smallest normal below 0, so the log-odds stay finite; each branch sees only inputs of
    its own range (the other side's gradient would be 0 * inf = NaN).
    """
    tiny = float(xp.finfo(x.dtype).smallest_normal)
    x = xp.clip(x, max=-tiny)
    near = x > -math.log(2.0)
    cut = xp.full_like(x, -math.log(2.0))
    a = xp.log(-xp.expm1(xp.where(near, x, cut)))
    b = xp.log1p(-xp.exp(xp.where(near, cut, x)))
    return xp.where(near, a, b)


def _check_nonpositive(name: str, x) -> None:
    v = eager_values(x)
    if v is not None and not float(v.max()) <= 0.0:  # NaN fails too
        raise ValueError(f"{name}: expected log-probabilities <= 0, got a maximum of {float(v.max())}")


@loss(
    formula=r"\ell = -\bar{\ell}_w - \lambda \log \sigma\Bigl(\log \frac{\mathrm{odds}(y_w)}"
    r"{\mathrm{odds}(y_l)}\Bigr),\quad \mathrm{odds}(y) = \frac{P(y)}{1 - P(y)}",
    reference="Hong, Lee, Thorne, ORPO: Monolithic Preference Optimization without Reference "
    "Model, 2024, arXiv:2403.07691",
    aliases=("orpo",),
)
def orpo_loss(
    chosen: Any,
    rejected: Any,
    *,
    beta: float = 0.1,
    return_rewards: bool = False,
    reduction: str = "mean",
) -> Any:
    r"""ORPO loss: the chosen response's NLL plus a weighted log-odds-ratio term.

    .. math::

        \ell = -\bar{\ell}_w - \lambda \log \sigma\Bigl(
          \log \frac{\mathrm{odds}(y_w)}{\mathrm{odds}(y_l)}\Bigr), \qquad
        \log \mathrm{odds}(y) = \bar{\ell} - \log\bigl(1 - e^{\bar{\ell}}\bigr)

    where

    - :math:`\bar{\ell}_w`, :math:`\bar{\ell}_l` are the policy's length-normalised
      (per-token mean) log-probabilities of the chosen and rejected responses
      (``sequence_logprobs(..., average=True)``), so :math:`P(y) = e^{\bar{\ell}}`,
    - :math:`-\bar{\ell}_w` is the supervised fine-tuning term: the chosen response's mean
      token negative log-likelihood,
    - :math:`\lambda` is ``beta`` (the weight of the odds-ratio term; TRL's ``beta``).

    The rewards are :math:`r_w = \lambda \bar{\ell}_w` and :math:`r_l = \lambda \bar{\ell}_l`
    (TRL's ``ORPOTrainer``).

    Args:
        chosen: the length-normalised log-probabilities of the chosen responses, shape
            ``(B,)`` (any shape, one entry per pair); floating, :math:`\le 0`.
        rejected: those of the rejected responses, ``chosen``'s shape, :math:`\le 0`.
        beta: :math:`\lambda \ge 0` (0.1 by default, as TRL; the paper uses 0.1-1.0).
        return_rewards: also return the chosen and rejected rewards.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per pair).

    Returns:
        The loss in ``chosen``'s compute dtype (float64 stays float64, otherwise float32);
        with ``return_rewards=True``, ``(loss, chosen_rewards, rejected_rewards)``.

    Notes:
        :math:`\log(1 - e^{\bar{\ell}})` is computed with ``expm1`` near 0 and ``log1p``
        below :math:`-\log 2`, so the loss stays finite and accurate as the probabilities
        approach 1 (a log-probability of exactly 0 counts as the dtype's smallest normal
        below 0). Positive log-probabilities raise ``ValueError`` in eager mode.

        TRL 1.16's ``ORPOTrainer`` (tested against its code): its ``beta`` is ours (the
        paper's :math:`\lambda`, 0.1 by default in both) and its odds-ratio term and rewards
        are ours, on the per-token averages it computes; it casts them to float32 first,
        where float64 stays float64 here. Its NLL term differs: the chosen sequences' token
        cross-entropy over the prompt *and* the response, averaged over all the chosen
        tokens of the batch (long responses weigh more), where ours is the per-pair mean
        token NLL of the response, :math:`-\bar{\ell}_w`. The two agree when the prompt is
        masked and the responses have equal lengths; otherwise
        ``orpo_loss(chosen, rejected) + mean(chosen) + nll`` is TRL's loss for its ``nll``.

    References:
        Hong, Lee, Thorne, ORPO: Monolithic Preference Optimization without Reference Model,
        EMNLP 2024, arXiv:2403.07691 (eqs. 4-7).

    Example:
        >>> import numpy as np, losskit
        >>> c, r = np.array([np.log(0.5)]), np.array([np.log(0.2)])
        >>> # odds 1 and 1/4: log-odds ratio log 4; log 2 + 0.1 log(1 + 1/4) = 0.7155
        >>> print(f"{float(losskit.orpo_loss(c, r)):.4f}")
        0.7155
    """
    xp, (c, r) = setup(reduction, return_rewards, chosen=chosen, rejected=rejected)
    check_number("beta", beta, low=0.0)
    _check_nonpositive("chosen", c)
    _check_nonpositive("rejected", r)
    log_odds = (c - r) - (_log1mexp(c, xp) - _log1mexp(r, xp))
    out = -c - beta * log_sigmoid(log_odds, xp)
    return finish(out, reduction, xp, return_rewards, beta * c, beta * r)
