"""The one reduction helper every loss ends with (:func:`reduce_loss`), the mean's
denominator it uses (:func:`mean_denominator`) and its chain rule for hand-derived
gradients (:func:`reduce_grad`).

``reduction="mean"`` is a *weighted* mean: ``sum(w * loss) / sum(w)`` (``w = 1`` when no
weight is given, so it is the plain mean). This is torch's rule for ``cross_entropy``'s
class weights and ``ignore_index``, and scikit-learn's for ``sample_weight``. A masked
element is an element of weight 0.

An empty batch, or one whose weights are all zero (every target ignored), gives 0, not
``0 / 0 = NaN``, and keeps the autograd graph: the result is still ``sum(...) / d``, so a
backward pass through it runs and gives zero gradients.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import check_reduction


# torch's own numbering of the reductions (``torch.nn._reduction.get_enum``), for the fast
# paths that call a torch loss kernel's binding directly
TORCH_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}


def mean_denominator(shape: tuple, xp, *, weight: Any = None) -> Any:
    """The denominator of ``reduction="mean"`` over a loss of ``shape``.

    ``sum(weight)`` (the weight broadcast to ``shape``) when a weight is given, else the
    element count. Where that is 0 (an empty batch, every weight zero or every target
    ignored) it is 1, so the mean is ``0 / 1 = 0`` instead of ``0 / 0 = NaN``; the ``where``
    keeps the graph and the gradient finite (the numerator is 0 there). A Python int when
    ``weight`` is ``None``, else a 0-d array of the weight's dtype.
    """
    if weight is None:
        # max(n, 1): the mean of an empty batch is 0 (the sum of nothing), not NaN.
        return max(math.prod(shape), 1)
    shape = tuple(shape)
    w = xp.broadcast_to(weight, shape) if tuple(weight.shape) != shape else weight
    denom = xp.sum(w)
    return xp.where(denom == 0, xp.ones_like(denom), denom)


def reduce_loss(loss: Any, reduction: str, xp, *, weight: Any = None) -> Any:
    """Reduce an elementwise ``loss`` with an optional broadcastable ``weight``.

    ``reduction="none"`` returns ``weight * loss`` with the loss's shape (broadcast with the
    weight). ``"sum"`` returns the weighted sum, ``"mean"`` the weighted mean (see module
    docstring). The result has the loss's dtype.
    """
    check_reduction(reduction)
    if weight is not None:
        weight = xp.astype(weight, loss.dtype) if weight.dtype != loss.dtype else weight
        loss = loss * weight
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    return total / mean_denominator(tuple(loss.shape), xp, weight=weight)


def reduce_grad(dloss: Any, reduction: str, xp, *, weight: Any = None) -> Any:
    """The elementwise derivative ``dloss`` chained through :func:`reduce_loss`.

    For ``value = reduce_loss(loss, reduction, xp, weight=weight)`` and ``dloss`` the
    derivative of each ``loss`` element with respect to its own input, returns
    ``d value / d input``: ``weight * dloss`` for ``"sum"`` and ``"none"`` (the gradient of
    the sum of the returned values), divided by :func:`mean_denominator` for ``"mean"`` (0
    for an empty or all-zero-weight batch, as the value). Hand-derived gradients use it.
    """
    check_reduction(reduction)
    if weight is not None:
        weight = xp.astype(weight, dloss.dtype) if weight.dtype != dloss.dtype else weight
        dloss = dloss * weight
    if reduction != "mean":
        return dloss
    return dloss / mean_denominator(tuple(dloss.shape), xp, weight=weight)
