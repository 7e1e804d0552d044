"""The one reduction helper every loss ends with.

``reduction="mean"`` is a *weighted* mean: ``sum(w * loss) / sum(w)`` (``w = 1`` when no
weight is given, so it is the plain mean). This is torch's rule for ``cross_entropy``'s
class weights and ``ignore_index``, and scikit-learn's for ``sample_weight``. A masked
element is an element of weight 0.

An empty batch, or one whose weights are all zero (every target ignored), gives 0, not
``0 / 0 = NaN``, and keeps the autograd graph: the result is still ``sum(...) / d``, so a
backward pass through it runs and gives zero gradients.
"""

from __future__ import annotations

from typing import Any

from ._checks import check_reduction
from ._xp import size


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
    if weight is None:
        # max(n, 1): the mean of an empty batch is 0 (the sum of nothing), not NaN.
        return total / max(size(loss), 1)
    w = xp.broadcast_to(weight, loss.shape) if tuple(weight.shape) != tuple(loss.shape) else weight
    denom = xp.sum(w)
    # All weights zero (e.g. every target ignored): 0 / 1 = 0 instead of 0 / 0 = NaN.
    # The where keeps the graph and the gradient finite (total is 0 there).
    safe = xp.where(denom == 0, xp.ones_like(denom), denom)
    return total / safe
