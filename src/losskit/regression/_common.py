"""Validation and casting shared by every regression loss (and its hand-derived gradient)."""

from __future__ import annotations

import functools
from typing import Any

from .. import _meta
from .._checks import (
    check_array,
    check_broadcastable_to,
    check_floating,
    check_reduction,
    Plans,
    check_same_shape,
    is_scalar_option,
    option_array,
)
from .._xp import as_float, compute_dtype, isdtype, namespace, namespace_by_type


def check_real(name: str, x: Any, xp) -> None:
    """``x`` must be an array of real numbers (floating or integer; not bool or complex)."""
    check_array(name, x)
    if not isdtype(x.dtype, ("real floating", "integral"), xp):
        raise TypeError(f"{name}: expected a real (floating or integer) array, got dtype {x.dtype}")


def prepare(input: Any, target: Any, weight: Any, reduction: str, *extra: Any):
    """Validate ``reduction`` and the arrays of an elementwise loss, and cast the arrays to
    the compute dtype (every loss here and its hand-derived gradient start with it).

    Returns ``(xp, x, t, w)``: ``x`` and ``t`` in the prediction's compute dtype, ``w``
    (or ``None``) in the same dtype. ``extra`` are further arrays that take part in the
    namespace resolution (``var``). A Python or NumPy scalar ``weight`` is one weight for
    every element (a number, not an array of another library).
    """
    if weight is None and not extra:
        try:
            key = (type(input), input.dtype, type(target), target.dtype, reduction)
            plan = _PLANS.get(key)
        except (AttributeError, TypeError):  # not arrays, or an unhashable reduction: checked below
            key = plan = None
        if plan is not None:
            check_same_shape("input", input, "target", target)  # shapes are not in the key
            xp, dtype = plan
            return xp, as_float(input, xp, dtype), as_float(target, xp, dtype), None
        if key is not None:
            out = _prepare(input, target, weight, reduction)
            if namespace_by_type(key[0], key[2]):
                _PLANS.remember(key, (out[0], out[1].dtype))
            return out
    return _prepare(input, target, weight, reduction, *extra)


# prepare's decisions for calls without a weight (see losskit._checks.Plans)
_PLANS = Plans()


def _prepare(input: Any, target: Any, weight: Any, reduction: str, *extra: Any):
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    scalar_weight = is_scalar_option(weight)
    if weight is not None and not scalar_weight:
        check_array("weight", weight)
    xp = namespace(input, target, None if scalar_weight else weight, *extra)
    check_floating("input", input, xp)
    check_real("target", target, xp)
    check_same_shape("input", input, "target", target)
    dtype = compute_dtype(input, xp)
    x = as_float(input, xp, dtype)
    t = as_float(target, xp, dtype)
    if scalar_weight:
        return xp, x, t, option_array("weight", weight, xp, x)
    w = _prepare_weight(weight, tuple(input.shape), xp, dtype)
    return xp, x, t, w


def _prepare_weight(weight: Any, loss_shape: tuple, xp, dtype):
    if weight is None:
        return None
    if not isdtype(weight.dtype, ("real floating", "integral", "bool"), xp):
        # bool is accepted: a mask is a 0/1 weight.
        raise TypeError(f"weight: expected a real or boolean array, got dtype {weight.dtype}")
    check_broadcastable_to("weight", weight, loss_shape, what="the loss's shape")
    return as_float(weight, xp, dtype)


# Argument and return descriptions shared by the family's docstrings (filled by ``loss`` below).
DOC = {
    "input_target": """\
        input: predictions, a floating array of any shape ``(*)``.
        target: targets, same shape as ``input``.""",
    "weight_reduction": """\
        weight: optional elementwise weights, broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.""",
    "returns": """\
        A scalar, or an array of ``input``'s shape for ``"none"``. dtype: float64 for
        float64 input, else float32.""",
}

# The family's decorator: ``@loss(...)`` with the regression losses' shared docstring parts, so
# that no loss restates ``doc=DOC`` (a loss may still pass its own ``doc``).
loss = functools.partial(_meta.loss, doc=DOC)
