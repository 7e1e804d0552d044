"""Validation and pieces shared by the preference losses (private to the family)."""

from __future__ import annotations

from typing import Any

from .._checks import check_array, check_bool, check_floating, check_reduction, check_same_shape
from .._reduce import reduce_loss
from .._xp import as_float, log_sigmoid, namespace, stop_gradient


def setup(reduction: str, return_rewards: Any, **arrays: Any):
    """Check ``reduction``, ``return_rewards`` and the log-probability arrays (floating, all
    of the first one's shape); returns ``(xp, arrays)`` in the first one's compute dtype
    (float64 stays float64, otherwise float32)."""
    check_reduction(reduction)
    check_bool("return_rewards", return_rewards)
    names = list(arrays)
    for name in names:
        check_array(name, arrays[name])
    xp = namespace(*arrays.values())
    first = names[0]
    for name in names:
        check_floating(name, arrays[name], xp)
        if name != first:
            check_same_shape(first, arrays[first], name, arrays[name])
    dtype = as_float(arrays[first], xp).dtype
    return xp, [as_float(arrays[name], xp, dtype) for name in names]


def smoothed_logistic(z, label_smoothing: float, xp):
    """-(1 - e) log sigmoid(z) - e log sigmoid(-z): the logistic loss of the margin ``z``
    with the preference label flipped with probability ``e`` (conservative DPO); the
    ``log_sigmoid`` form is finite for margins of any size."""
    out = -log_sigmoid(z, xp)
    if label_smoothing != 0.0:
        out = (1.0 - label_smoothing) * out - label_smoothing * log_sigmoid(-z, xp)
    return out


def finish(loss, reduction: str, xp, return_rewards: bool, chosen_rewards, rejected_rewards):
    """The reduced loss, and with ``return_rewards`` the per-pair rewards as constants
    (what trainers log; no gradient flows through them)."""
    out = reduce_loss(loss, reduction, xp)
    if not return_rewards:
        return out
    return out, stop_gradient(chosen_rewards, xp), stop_gradient(rejected_rewards, xp)
