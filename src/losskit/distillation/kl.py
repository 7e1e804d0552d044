r"""Knowledge distillation: the temperature-scaled KL divergence of Hinton et al. and the
generalized Jensen-Shannon divergence of GKD.

Conventions shared by both losses:

* **Arguments.** The student's logits come first (the argument a training step
  differentiates), the teacher's second, of the same shape, with the classes (the
  vocabulary) on ``axis``. :math:`P = \operatorname{softmax}(t / T)` is the teacher's
  distribution and :math:`Q = \operatorname{softmax}(s / T)` the student's.
* **Temperature.** Both losses soften the two distributions with the same temperature
  :math:`T` and multiply the divergence by :math:`T^2`: the gradient of a softened
  divergence scales as :math:`1 / T^2` (Hinton et al., Sec. 2), so the factor keeps its
  size, and its balance with a hard-label term, independent of :math:`T`. At ``T = 1``
  the factor is 1.
* **Gradients** flow into both logits. The teacher is a constant in distillation: compute
  its logits under ``torch.no_grad()`` (or detach them) as trainers do; GKD's on-policy
  setting differentiates the student only as well.
* **Masking.** With ``labels`` and ``ignore_index``, the positions whose label equals
  ``ignore_index`` (padding, prompt tokens) contribute 0 and are not counted by ``"mean"``.
* **Reductions.** ``"none"``: one value per position (the logits' shape without the class
  axis); ``"sum"``; ``"mean"``: over the positions that count; ``"batchmean"``: the sum
  divided by the logits' first dimension (torch's ``F.kl_div(reduction="batchmean")``;
  for ``(N, C)`` logits without masking it equals ``"mean"``, for ``(B, L, V)`` token
  logits it is the per-sequence sum averaged over the batch). An empty or fully masked
  batch gives 0, not NaN, and keeps the autograd graph.
* **Numerics.** Only log-softmax forms are used (no ``log(softmax)``, no ``log 0``): the
  values and gradients are finite for logits of :math:`\pm 10^4`, and for ``beta`` 0 and 1
  exactly. A teacher logit of ``-inf`` (a masked vocabulary entry) is a class of
  probability 0 and contributes nothing. Float16 and bfloat16 logits are computed and
  returned in float32; float64 stays float64.
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_labels_in_range, check_number
from .._meta import loss
from ..classification import cross_entropy
from ._common import kl_rows, log_probs, mask_of, reduce, setup

__all__ = ["distillation_loss", "jsd_loss"]


@loss(
    formula=r"\ell_n = (1 - \alpha)\, T^2 \sum_c p_c \log \frac{p_c}{q_c} + \alpha\, \mathrm{CE}(s_n, y_n),"
    r"\quad p = \operatorname{softmax}(t_n / T),\ q = \operatorname{softmax}(s_n / T)",
    reference="Hinton, Vinyals, Dean, Distilling the Knowledge in a Neural Network, 2015, "
    "arXiv:1503.02531",
    aliases=("kd_loss", "knowledge_distillation_loss"),
)
def distillation_loss(
    student_logits: Any,
    teacher_logits: Any,
    *,
    temperature: float,
    labels: Any = None,
    hard_weight: float = 0.5,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "batchmean",
) -> Any:
    r"""Knowledge-distillation loss: KL(teacher || student) at a temperature, times T^2.

    .. math::

        \ell_n = T^2 \sum_{c=1}^{C} p_{n,c} \log \frac{p_{n,c}}{q_{n,c}}
        \quad\text{or, with labels:}\quad
        \ell_n = (1 - \alpha)\, T^2 \sum_{c} p_{n,c} \log \frac{p_{n,c}}{q_{n,c}}
        + \alpha\, \bigl(-\log \operatorname{softmax}(s_n)_{y_n}\bigr)

    where

    - :math:`s_n`, :math:`t_n` are the student's and the teacher's logits of sample (or
      position) :math:`n` along the class axis,
    - :math:`p_n = \operatorname{softmax}(t_n / T)` and
      :math:`q_n = \operatorname{softmax}(s_n / T)` their softened distributions,
      :math:`T` is ``temperature``,
    - :math:`y_n` is the hard label and :math:`\alpha` is ``hard_weight``; the hard term is
      the cross-entropy of the student's logits at temperature 1 (Hinton et al.: "the
      same logits in the softmax of the distilled model but at a temperature of 1").

    Args:
        student_logits: the student's logits, shape ``(N, C, d1, ...)`` (class axis
            ``axis``), ``(N, C)`` or ``(C,)``; floating.
        teacher_logits: the teacher's logits, ``student_logits``' shape; floating.
        temperature: :math:`T > 0`; required, there is no value that suits every task
            (Hinton et al. use 1 to 20).
        labels: optional integer class labels, the logits' shape without the class axis:
            adds the hard-label term with weight ``hard_weight``.
        hard_weight: :math:`\alpha \in [0, 1]`, the weight of the hard-label term (the soft
            term gets :math:`1 - \alpha`); used only with ``labels``. ``0`` keeps the labels
            for masking only.
        ignore_index: a label value whose positions contribute 0 to both terms and are not
            counted by ``"mean"``; needs ``labels``. ``None``: nothing is ignored.
        axis: the class axis (default 1, as torch's ``(N, C, ...)``; ``-1`` for
            ``(..., C)`` such as token logits ``(B, L, V)``).
        reduction: ``"batchmean"`` (default: the sum divided by ``N``, the first
            dimension), ``"mean"`` (over the positions that count), ``"sum"`` or
            ``"none"`` (the logits' shape without the class axis).

    Returns:
        The loss in the student's compute dtype (float64 stays float64, otherwise
        float32): a scalar, or one value per position for ``reduction="none"``.

    Notes:
        ``distillation_loss(s, t, temperature=T)`` equals
        ``T**2 * F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1),
        reduction="batchmean")`` in torch. The :math:`T^2` factor is the one most often
        forgotten or questioned in distillation code (IntelLabs/distiller #122,
        huggingface/transformers #12299); torch's ``F.kl_div(reduction="mean")`` averages
        over the classes too, which is not the KL divergence (use ``"batchmean"``). Without
        labels ``hard_weight`` plays no part: the loss is the soft term alone, with weight 1.
        See :mod:`losskit.distillation.kl` for the conventions of the family.

    References:
        Hinton, Vinyals, Dean, Distilling the Knowledge in a Neural Network, 2015,
        arXiv:1503.02531.

    Example:
        >>> import numpy as np, losskit
        >>> s, t = np.array([[0.0, 0.0]]), np.array([[2.0 * np.log(3.0), 0.0]])
        >>> # T = 2: p = softmax(t / 2) = [3/4, 1/4], q = [1/2, 1/2];
        >>> # 4 (3/4 log(3/2) + 1/4 log(1/2)) = 3 log 3 - 4 log 2 = 0.5232
        >>> print(f"{float(losskit.distillation_loss(s, t, temperature=2.0)):.4f}")
        0.5232
    """
    xp, ax, s, t = setup(student_logits, teacher_logits, labels, temperature, ignore_index, axis, reduction)
    check_number("hard_weight", hard_weight, low=0.0, high=1.0)
    if ignore_index is not None and labels is None:
        raise ValueError("ignore_index: expected labels= to mask with, got labels=None")
    if labels is not None:
        check_labels_in_range("labels", labels, int(s.shape[ax]), ignore_index=ignore_index)
    kl = kl_rows(log_probs(t, temperature, ax, xp), log_probs(s, temperature, ax, xp), ax, xp)
    out = (temperature * temperature) * kl
    if labels is not None:
        out = (1.0 - hard_weight) * out
        if hard_weight != 0.0:
            hard = cross_entropy(s, labels, ignore_index=ignore_index, axis=ax, reduction="none")
            out = out + hard_weight * hard
    mask = mask_of(labels, ignore_index, xp, out.dtype)
    return reduce(out, reduction, xp, mask=mask, batch=int(s.shape[0]) if s.ndim > 1 else 1)


@loss(
    formula=r"T^2 \bigl[\beta\, \mathrm{KL}(P \,\|\, M) + (1 - \beta)\, \mathrm{KL}(Q \,\|\, M)\bigr],"
    r"\quad M = \beta P + (1 - \beta) Q",
    reference="Agarwal, Vieillard, Zhou, Stanczyk, Ramos, Geist, Bachem, On-Policy "
    "Distillation of Language Models: Learning from Self-Generated Mistakes (GKD), 2023, "
    "arXiv:2306.13649",
    aliases=("generalized_jsd_loss", "gkd_loss"),
)
def jsd_loss(
    student_logits: Any,
    teacher_logits: Any,
    *,
    beta: float = 0.5,
    temperature: float = 1.0,
    labels: Any = None,
    ignore_index: int | None = None,
    axis: int = -1,
    reduction: str = "mean",
) -> Any:
    r"""Generalized Jensen-Shannon divergence between teacher and student, per token (GKD).

    .. math::

        \ell_n = T^2 \bigl[\beta\, \mathrm{KL}(P_n \,\|\, M_n)
        + (1 - \beta)\, \mathrm{KL}(Q_n \,\|\, M_n)\bigr],
        \qquad M_n = \beta P_n + (1 - \beta) Q_n \quad (0 < \beta < 1),

        \ell_n = T^2\, \mathrm{KL}(P_n \,\|\, Q_n) \ (\beta = 0), \qquad
        \ell_n = T^2\, \mathrm{KL}(Q_n \,\|\, P_n) \ (\beta = 1)

    where

    - :math:`P_n = \operatorname{softmax}(t_n / T)` is the teacher's distribution at
      position :math:`n` and :math:`Q_n = \operatorname{softmax}(s_n / T)` the student's,
    - :math:`\beta` is ``beta``, :math:`T` is ``temperature``,
    - :math:`\mathrm{KL}(A \,\|\, B) = \sum_v A_v \log (A_v / B_v)` over the vocabulary.

    ``beta = 0.5`` is the symmetric Jensen-Shannon divergence (at most :math:`\log 2` per
    token at ``T = 1``).

    Args:
        student_logits: the student's logits, shape ``(..., V)`` (vocabulary on ``axis``),
            e.g. ``(B, L, V)`` or flattened tokens ``(B * L, V)``; floating.
        teacher_logits: the teacher's logits, ``student_logits``' shape; floating.
        beta: :math:`\beta \in [0, 1]`; 0 is the forward KL, 1 the reverse KL, exactly.
        temperature: :math:`T > 0` (default 1: no softening, factor 1).
        labels: optional integer token labels, the logits' shape without the vocabulary
            axis, used only to mask: positions whose label is ``ignore_index`` contribute 0
            and are not counted by ``"mean"``. Requires ``ignore_index``.
        ignore_index: the label value to mask (``-100`` in transformers); requires
            ``labels``. ``None`` with ``labels=None``: every position counts.
        axis: the vocabulary axis (default ``-1``, the layout of token logits).
        reduction: ``"mean"`` (default: over the positions that count, Liger-Kernel's
            normalisation by the non-ignored tokens), ``"batchmean"`` (the sum divided by
            the first dimension), ``"sum"`` or ``"none"`` (the logits' shape without the
            vocabulary axis).

    Returns:
        The loss in the student's compute dtype (float64 stays float64, otherwise
        float32): a scalar, or one value per position for ``reduction="none"``.

    Notes:
        The endpoints follow Liger-Kernel's ``LigerJSD`` (student first, teacher second,
        :math:`\beta` weighting the teacher): ``beta = 0`` is the forward KL
        :math:`\mathrm{KL}(P \,\|\, Q)` and ``beta = 1`` the reverse KL
        :math:`\mathrm{KL}(Q \,\|\, P)`. The GKD paper's :math:`\mathrm{JSD}(\beta)` itself
        tends to 0 at both ends (it behaves like :math:`\beta\, \mathrm{KL}(P\|Q)` near 0);
        the endpoints are the KLs it interpolates, not its limits. ``temperature`` adds the
        :math:`T^2` factor, as :func:`distillation_loss` (Liger-Kernel's ``LigerJSD`` has no
        temperature; at ``T = 1`` the two agree). The mixture's log is
        ``logaddexp(log beta + log P, log(1 - beta) + log Q)``: finite wherever the logits
        are. See :mod:`losskit.distillation.kl` for the conventions of the family.

    References:
        Agarwal et al., On-Policy Distillation of Language Models: Learning from
        Self-Generated Mistakes, ICLR 2024, arXiv:2306.13649.

    Example:
        >>> import numpy as np, losskit
        >>> s, t = np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])
        >>> # P = [3/4, 1/4], Q = [1/2, 1/2]; beta = 0: KL(P || Q) = 3/4 log 3 - log 2
        >>> print(f"{float(losskit.jsd_loss(s, t, beta=0.0)):.4f}")
        0.1308
    """
    xp, ax, s, t = setup(student_logits, teacher_logits, labels, temperature, ignore_index, axis, reduction)
    check_number("beta", beta, low=0.0, high=1.0)
    if (labels is None) != (ignore_index is None):
        given, missing = ("labels", "ignore_index") if ignore_index is None else ("ignore_index", "labels")
        raise ValueError(
            f"{missing}: expected a value with {given}= (labels only mask the positions whose "
            f"label is ignore_index), got None"
        )
    lp = log_probs(t, temperature, ax, xp)
    lq = log_probs(s, temperature, ax, xp)
    if beta == 0.0:
        div = kl_rows(lp, lq, ax, xp)
    elif beta == 1.0:
        div = kl_rows(lq, lp, ax, xp)
    else:
        # log M without forming M: log(beta P + (1 - beta) Q), finite for finite logits.
        lm = xp.logaddexp(lp + math.log(beta), lq + math.log1p(-beta))
        div = beta * kl_rows(lp, lm, ax, xp) + (1.0 - beta) * kl_rows(lq, lm, ax, xp)
    out = (temperature * temperature) * div
    mask = mask_of(labels, ignore_index, xp, out.dtype)
    return reduce(out, reduction, xp, mask=mask, batch=int(s.shape[0]) if s.ndim > 1 else 1)
