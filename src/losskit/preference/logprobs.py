r"""Sequence log-probabilities: the input every preference loss takes.

:func:`sequence_logprobs` turns a language model's logits and the response's token labels
into one log-probability per sequence (summed, or averaged over the tokens that count), as
DPO (sums), SimPO and ORPO (averages) need them.
"""

from __future__ import annotations

from typing import Any

from .._checks import (
    check_array,
    check_bool,
    check_floating,
    check_ignore_index,
    check_integer,
    check_labels_in_range,
    check_ndim,
)
from .._xp import as_float, logsumexp, namespace, take_along_axis

__all__ = ["sequence_logprobs"]


def sequence_logprobs(
    logits: Any,
    labels: Any,
    *,
    ignore_index: int | None = None,
    average: bool = False,
    shift: bool = False,
) -> Any:
    r"""Per-sequence log-probability of the labels under the logits: the sum (or mean) of
    the token log-probabilities.

    .. math::

        \log \pi(y) = \sum_{l \in \mathcal{V}} \log \operatorname{softmax}(z_l)_{y_l}
        \quad\text{or, with average:}\quad
        \frac{1}{|\mathcal{V}|} \sum_{l \in \mathcal{V}} \log \operatorname{softmax}(z_l)_{y_l}

    where

    - :math:`z_l` are the logits at position :math:`l` (over the vocabulary) and
      :math:`y_l` the token label there,
    - :math:`\mathcal{V}` is the set of positions whose label is not ``ignore_index``
      (prompt and padding tokens are usually labelled ``-100``).

    Args:
        logits: shape ``(..., L, V)``: sequence positions on the second-to-last axis, the
            vocabulary on the last (e.g. ``(B, L, V)``); floating.
        labels: integer token labels, shape ``(..., L)`` (``logits`` without the
            vocabulary axis), in ``[0, V)`` or equal to ``ignore_index``.
        ignore_index: a label value whose positions are left out (of the sum and of the
            mean's count). ``None``: every position counts.
        average: return the mean over the positions that count instead of the sum (the
            length-normalised log-probability of SimPO and ORPO; TRL's
            ``average_log_prob=True``). A sequence with no position that counts gives 0.
        shift: next-token alignment: ``logits[..., l, :]`` predicts ``labels[..., l + 1]``
            (the logits at the last position and the label at the first are dropped), as
            a causal language model's raw outputs need. ``False`` (default): ``labels`` are
            aligned with ``logits`` (already shifted), as ``linear_cross_entropy``.

    Returns:
        One log-probability per sequence, shape ``(...)`` (``logits.shape[:-2]``), in the
        logits' compute dtype (float64 stays float64, otherwise float32); :math:`\le 0`.

    Notes:
        Computed as the picked logit minus the log-sum-exp of its row: no log-softmax of
        the whole ``(..., L, V)`` array is formed, and logits of any magnitude give finite
        values. Labels are range-checked in eager mode on the host (skipped under
        ``jax.jit`` / ``torch.compile`` and for accelerator arrays).

    Example:
        >>> import numpy as np, losskit
        >>> logits = np.zeros((1, 3, 4))  # uniform over 4 tokens: log(1/4) per token
        >>> labels = np.array([[2, 1, -100]])
        >>> print(f"{float(losskit.sequence_logprobs(logits, labels, ignore_index=-100)[0]):.4f}")
        -2.7726
    """
    check_array("logits", logits)
    check_array("labels", labels)
    xp = namespace(logits, labels)
    check_floating("logits", logits, xp)
    check_integer("labels", labels, xp)
    check_ndim("logits", logits, min_ndim=2)
    if tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"labels: expected the logits' shape without the vocabulary axis "
            f"{tuple(logits.shape[:-1])}, got {tuple(labels.shape)}"
        )
    check_ignore_index(ignore_index)
    check_bool("average", average)
    check_bool("shift", shift)
    vocab = int(logits.shape[-1])
    check_labels_in_range("labels", labels, vocab, ignore_index=ignore_index)
    if shift:
        logits = logits[..., :-1, :]
        labels = labels[..., 1:]
    x = as_float(logits, xp)
    if ignore_index is None:
        valid, safe = None, labels
    else:
        valid = labels != ignore_index
        # an ignored label is any int (-100): gather at class 0 there, then mask.
        safe = xp.where(valid, labels, xp.zeros_like(labels))
    picked = take_along_axis(x, safe[..., None], xp, axis=-1)[..., 0]
    tokens = picked - logsumexp(x, xp, axis=-1)
    if valid is not None:
        tokens = xp.where(valid, tokens, xp.zeros_like(tokens))
    total = xp.sum(tokens, axis=-1)
    if not average:
        return total
    if valid is None:
        return total / max(int(tokens.shape[-1]), 1)
    count = xp.sum(xp.astype(valid, x.dtype), axis=-1)
    # no position that counts: 0 / 1 = 0, not 0 / 0
    return total / xp.where(count == 0, xp.ones_like(count), count)
