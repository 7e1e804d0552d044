"""Helpers shared by the classification losses: the class axis, target validation (class
indices, probabilities, binary labels), index arithmetic and the few elementwise pieces
several losses use. Weights and ``ignore_index`` are validated by :mod:`losskit._checks`
(one validator per concept); this module only adapts them to class targets.
"""

from __future__ import annotations

from typing import Any

from .._checks import (
    check_array,
    check_floating,
    check_ignore_index,
    check_in_unit_interval,
    check_integer,
    check_labels_in_range,
    check_reduction,
    check_same_shape,
    eager_values,
    normalize_axis,
)
from .._xp import as_float, backend_name, isdtype, namespace, safe_pow, take_along_axis, torch_index

# torch clamps log(p) and log(1 - p) at -100 in binary_cross_entropy; we keep its value.
LOG_CLAMP = -100.0


def class_axis(input: Any, axis: Any) -> int:
    """The class axis of ``input``: ``axis`` normalised; a 1-D input is one sample (axis 0)."""
    if input.ndim == 0:
        raise ValueError("input: expected at least 1 dimension (the class axis), got shape ()")
    if input.ndim == 1 and axis == 1:
        # torch's convention: a (C,) input is one unbatched sample, class axis 0.
        return 0
    return normalize_axis("axis", axis, input.ndim)


def check_scores(input: Any, axis: Any, xp, *, min_classes: int = 1) -> tuple[int, int]:
    """``input`` a floating array with a non-empty class axis; returns ``(axis, C)``."""
    check_floating("input", input, xp)
    ax = class_axis(input, axis)
    c = int(input.shape[ax])
    if c < min_classes:
        what = "an empty class axis" if c == 0 else f"{c} class(es)"
        raise ValueError(
            f"input: expected at least {min_classes} classes along axis {ax}, got {what} "
            f"(shape {tuple(input.shape)})"
        )
    return ax, c


def index_shape(input: Any, ax: int) -> tuple:
    shape = tuple(input.shape)
    return shape[:ax] + shape[ax + 1:]


def check_index_target(
    target: Any, input: Any, ax: int, c: int, xp, *, ignore_index: int | None = None,
    values: bool = True,
) -> None:
    """Integer class indices with ``input``'s shape without the class axis, in [0, C)
    (the range only with ``values``: a caller whose kernel checks it itself passes False
    and runs :func:`losskit._checks.check_labels_in_range` where that kernel does not run)."""
    check_array("target", target)
    expected = index_shape(input, ax)
    if not isdtype(target.dtype, "integral", xp):
        if isdtype(target.dtype, "real floating", xp) and tuple(target.shape) == expected:
            raise TypeError(
                f"target: expected an integer array of class indices, got dtype {target.dtype}"
                " (cast labels to an integer dtype)"
            )
        check_integer("target", target, xp)
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target: expected class indices of shape {expected} (input {tuple(input.shape)} "
            f"without its class axis {ax}), got {tuple(target.shape)}"
        )
    if values:
        check_labels_in_range("target", target, c, ignore_index=ignore_index)


def is_probability_target(target: Any, input: Any, xp) -> bool:
    """Class probabilities (a floating target of ``input``'s own shape), not class indices:
    the two target forms of ``cross_entropy`` and ``poly1_cross_entropy``."""
    return isdtype(target.dtype, "real floating", xp) and tuple(target.shape) == tuple(input.shape)


def index_setup(input, target, axis, reduction, *extra, ignore_index=None, min_classes=1):
    """Validation shared by the losses on class scores with integer class indices.

    ``extra`` are further arrays that take part in the namespace resolution (weights).
    Returns ``(xp, axis, C, ignore_index)`` (``ignore_index`` as a Python int or ``None``).
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, *extra)
    ax, c = check_scores(input, axis, xp, min_classes=min_classes)
    ignore_index = check_ignore_index(ignore_index)
    check_index_target(target, input, ax, c, xp, ignore_index=ignore_index)
    return xp, ax, c, ignore_index


def as_index(t: Any, xp) -> Any:
    """Class indices as a dtype the backend's gather takes (:func:`losskit._xp.torch_index`
    on torch; other backends take any integer dtype)."""
    return torch_index(t) if backend_name(xp) == "torch" else t


def not_ignored(t: Any, ignore_index: int | None, xp) -> Any:
    """The mask of targets not equal to ``ignore_index``, or ``None`` when none can be.

    An ``ignore_index`` outside the range of ``t``'s dtype (-100 with uint8 labels, 2**40
    with int32) equals no target; comparing with it would overflow the dtype.
    """
    if ignore_index is None:
        return None
    info = xp.iinfo(t.dtype)
    if not info.min <= ignore_index <= info.max:
        return None
    return t != ignore_index


def safe_index(target: Any, ignore_index: int | None, xp) -> tuple[Any, Any]:
    """``(t, valid)``: gatherable indices and the mask of targets not equal to ``ignore_index``.

    Ignored entries may hold any value (-100, 255): they are replaced by class 0 so that a
    gather stays in range; callers mask their result with ``valid`` (``None`` when no
    target can be ignored).
    """
    t = as_index(target, xp)
    valid = not_ignored(t, ignore_index, xp)
    if valid is None:
        return t, None
    return xp.where(valid, t, xp.zeros_like(t)), valid


def check_prob_target(target: Any, input: Any, xp) -> None:
    """Targets in [0, 1] of ``input``'s shape: floats, or ints/bools (cast)."""
    check_array("target", target)
    if not isdtype(target.dtype, ("real floating", "integral", "bool"), xp):
        raise TypeError(f"target: expected a real or boolean array, got dtype {target.dtype}")
    check_same_shape("input", input, "target", target)
    check_in_unit_interval("target", target)


def binary_setup(input, target, reduction, *extra):
    """Validation shared by the losses on one score or probability per element with targets
    in [0, 1]; returns ``(xp, x, t)`` in the compute dtype (bool and integer targets cast)."""
    check_reduction(reduction)
    check_array("input", input)
    xp = namespace(input, target, *extra)
    check_floating("input", input, xp)
    check_prob_target(target, input, xp)
    x = as_float(input, xp)
    return xp, x, as_float(target, xp, x.dtype)


def check_binary_labels(target: Any, input: Any, xp) -> None:
    """Labels in {-1, 1} or in {0, 1} (any real or boolean dtype), of ``input``'s shape."""
    check_array("target", target)
    if not isdtype(target.dtype, ("real floating", "integral", "bool"), xp):
        raise TypeError(f"target: expected binary labels (integer, bool or float), got dtype {target.dtype}")
    check_same_shape("input", input, "target", target)
    v = eager_values(target)
    if v is None:
        return
    pm = ((v == 1) | (v == -1)).all()
    zo = ((v == 0) | (v == 1)).all()
    if not (pm or zo):
        bad = sorted({float(u) for u in v.reshape(-1)[:100000].tolist()} - {-1.0, 0.0, 1.0})
        shown = bad[0] if bad else "a mix of -1 and 0"
        raise ValueError(f"target: expected binary labels in {{-1, 1}} or {{0, 1}}, got {shown}")


def signed(target: Any, xp, dtype) -> Any:
    """Labels in {-1, 1} from {-1, 1} or {0, 1}: positive stays +1, anything else -1."""
    t = target if not isdtype(target.dtype, "bool", xp) else xp.astype(target, xp.int8)
    one = xp.ones(t.shape, dtype=dtype, device=device(t))
    return xp.where(t > 0, one, -one)


def device(x: Any):
    return getattr(x, "device", None)


def along(v: Any, ax: int, ndim: int, xp) -> Any:
    """A (C,) vector reshaped to broadcast along axis ``ax`` of an ``ndim``-D array."""
    shape = [1] * ndim
    shape[ax] = v.shape[0]
    return xp.reshape(v, tuple(shape))


def gather(v: Any, idx: Any, xp) -> Any:
    """``v[idx]`` for a 1-D ``v`` and integer ``idx`` of any shape (the standard's ``take``
    wants 1-D indices)."""
    flat = xp.reshape(idx, (-1,))
    return xp.reshape(xp.take(v, flat, axis=0), tuple(idx.shape))


def pick(x: Any, t: Any, ax: int, xp) -> Any:
    """``x`` at class ``t`` along ``ax`` (shape of ``t``)."""
    picked = take_along_axis(x, xp.expand_dims(t, axis=ax), xp, axis=ax)
    return xp.squeeze(picked, axis=ax)


def positive_part(z: Any, xp) -> Any:
    """``max(z, 0)`` of the hinge losses, NaN kept as NaN, with gradient 0 at ``z = 0``.

    ``where(z <= 0, 0, z)`` rather than ``maximum(z, 0)``: the gradient at the kink is 0
    on every backend (``maximum`` splits ties 0.5/0.5 in jax), matching the analytic
    gradients; and rather than ``where(z > 0, z, 0)``, which would turn a NaN margin into
    a loss of 0 and hide it.
    """
    return xp.where(z <= 0, xp.zeros_like(z), z)


def dpow(m: Any, gamma: float, xp) -> Any:
    """d/dm m ** gamma for m >= 0 (0 at m = 0 where gamma < 1, see :func:`safe_pow`)."""
    if gamma == 0:
        return xp.zeros_like(m)
    return gamma * safe_pow(m, gamma - 1.0, xp)


def nan_where(x: Any, loss: Any, xp, *, axis: int | None = None) -> Any:
    """``loss`` with NaN wherever ``x`` (or, with ``axis``, any element of ``x`` along that
    axis) is NaN: for losses whose formula would otherwise map a NaN score to a finite
    number (a comparison, an argmax), so that a NaN input is never hidden."""
    bad = xp.isnan(x)
    if axis is not None:
        bad = xp.any(bad, axis=axis)
    return xp.where(bad, xp.full_like(loss, float("nan")), loss)
