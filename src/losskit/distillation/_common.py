"""Validation and reductions shared by the distillation losses (private to the family)."""

from __future__ import annotations

from typing import Any

from .._checks import (
    check_array,
    check_choice,
    check_floating,
    check_ignore_index,
    check_integer,
    check_ndim,
    check_number,
    check_same_shape,
    normalize_axis,
)
from .._reduce import reduce_loss
from .._xp import as_float, log_softmax, namespace

# "batchmean" is torch's F.kl_div reduction (the sum divided by the first dimension);
# "mean" is the mean over the unmasked positions (samples, or tokens).
REDUCTIONS = ("batchmean", "mean", "sum", "none")


def setup(student, teacher, labels, temperature, ignore_index, axis, reduction):
    """Check the arguments; returns ``(xp, class axis, student, teacher)`` in the compute
    dtype (the student's: float64 stays float64, otherwise float32)."""
    check_choice("reduction", reduction, REDUCTIONS)
    check_array("student_logits", student)
    check_array("teacher_logits", teacher)
    xp = namespace(student, teacher, labels)
    check_floating("student_logits", student, xp)
    check_floating("teacher_logits", teacher, xp)
    check_ndim("student_logits", student, min_ndim=1)
    check_same_shape("student_logits", student, "teacher_logits", teacher)
    ax = normalize_axis("axis", axis, student.ndim)
    check_number("temperature", temperature, low=0.0, low_open=True)
    check_ignore_index(ignore_index)
    if labels is not None:
        check_integer("labels", labels, xp)
        expected = tuple(d for i, d in enumerate(student.shape) if i != ax)
        if tuple(labels.shape) != expected:
            raise ValueError(
                f"labels: expected the logits' shape without the class axis {expected}, "
                f"got {tuple(labels.shape)}"
            )
    s = as_float(student, xp)
    t = as_float(teacher, xp, s.dtype)
    return xp, ax, s, t


def log_probs(logits, temperature: float, ax: int, xp):
    """log softmax(logits / T) along ``ax``: finite for finite logits of any size."""
    return log_softmax(logits / temperature if temperature != 1.0 else logits, xp, axis=ax)


def kl_rows(lp, lq, ax: int, xp):
    """KL(p || q) = sum_c p_c (log p_c - log q_c) along ``ax`` from log-probabilities.

    A class with p_c = 0 (a teacher logit of -inf: a masked vocabulary entry) contributes
    0, not 0 * (-inf - log q) = NaN; the inner ``where`` keeps that NaN out of the
    gradient too.
    """
    p = xp.exp(lp)
    absent = p == 0
    d = xp.where(absent, xp.zeros_like(lp), lp - lq)
    return xp.sum(p * d, axis=ax)


def mask_of(labels, ignore_index, xp, dtype):
    """The positions that count (1) and those ignored (0), or ``None`` when none is."""
    if labels is None or ignore_index is None:
        return None
    return xp.astype(labels != ignore_index, dtype)


def reduce(loss, reduction: str, xp, *, mask, batch: int):
    """Masked positions give 0; ``"mean"`` divides by the positions that count (0 for an
    empty or fully masked batch, not NaN), ``"batchmean"`` by ``batch`` (the first
    dimension of the logits, at least 1), as torch's ``F.kl_div``."""
    if mask is not None:
        loss = xp.where(mask > 0, loss, xp.zeros_like(loss))
    if reduction == "batchmean":
        return xp.sum(loss) / max(batch, 1)
    return reduce_loss(loss, reduction, xp, weight=mask)
