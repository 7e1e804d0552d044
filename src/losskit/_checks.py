"""Validation shared by every loss.

Shapes, dtypes and option values are always checked and raise ``ValueError`` or
``TypeError`` with the argument's name and "expected X, got Y". Checks that need the
array's *values* (labels in range, probabilities in [0, 1], a positive running mean) run in
eager mode on host memory only: under ``jax.jit``, ``torch.compile`` or ``torch.func`` the
arrays are symbolic, and a data-dependent Python branch would break compilation (see
:func:`losskit._xp.is_traced`); on an accelerator, reading values back would cost a device
synchronisation on every call, so they are skipped there too (one policy for every loss:
:func:`eager_values`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

from ._xp import as_float, compute_dtype, is_traced, isdtype, namespace, to_numpy

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: Any) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {shown}, got {value!r}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Any:
    """A real Python number inside [low, high] (open ends when asked); finite."""
    kind = type(value)
    if kind is not float and kind is not int:  # the common case first: no ABC isinstance
        if value is None and allow_none:
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name}: expected a number {op} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name}: expected a number {op} {high}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> None:
    """A Python bool (not 0/1, not an array): flags such as ``batch`` or ``log_target``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")


def check_array(name: str, x: Any) -> None:
    if x is None or not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name}: expected an array (numpy, torch, jax, ...), got {type(x).__name__}")


def check_floating(name: str, x: Any, xp) -> None:
    """``x`` must be a real floating array (losses are defined on real-valued predictions)."""
    check_array(name, x)
    if not isdtype(x.dtype, "real floating", xp):
        raise TypeError(f"{name}: expected a floating-point array, got dtype {x.dtype}")


def check_integer(name: str, x: Any, xp) -> None:
    check_array(name, x)
    if not isdtype(x.dtype, "integral", xp):
        raise TypeError(f"{name}: expected an integer array of class indices, got dtype {x.dtype}")


def check_same_shape(name_a: str, a: Any, name_b: str, b: Any) -> None:
    if a.shape == b.shape:  # the common case, without copying torch.Size into tuples
        return
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_b}: expected the shape of {name_a} {tuple(a.shape)}, got {tuple(b.shape)}"
        )


def check_broadcastable(name_a: str, a: Any, name_b: str, b: Any) -> tuple:
    """The broadcast shape of ``a`` and ``b``; ValueError naming both if there is none."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    out = []
    for i in range(1, max(len(sa), len(sb)) + 1):
        da = sa[-i] if i <= len(sa) else 1
        db = sb[-i] if i <= len(sb) else 1
        if da != db and 1 not in (da, db):
            raise ValueError(
                f"{name_b}: expected a shape broadcastable with {name_a} {sa}, got {sb}"
            )
        out.append(max(da, db) if 0 not in (da, db) else 0)
    return tuple(reversed(out))


def check_broadcastable_to(name: str, x: Any, shape: tuple, *, what: str = "the input's shape") -> None:
    """``x``'s shape broadcasts to ``shape`` without growing it (weights and masks).

    ``what`` names ``shape`` in the message: "{name}: expected a shape broadcastable to
    {what} {shape}, got {x.shape}".
    """
    xs, shape = tuple(x.shape), tuple(shape)
    ok = len(xs) <= len(shape) and all(a in (1, b) for a, b in zip(xs[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"{name}: expected a shape broadcastable to {what} {shape}, got {xs}")


def check_box_array(name: str, boxes: Any, xp=None, *, width: int = 4, what: str = "boxes",
                    layout: str = "") -> None:
    """An array of boxes, one per ``width`` numbers of the last axis; real (floating or
    integer) when ``xp`` is given. ``what`` and ``layout`` name the kind of box in the
    message: "{name}: expected {what} of shape (..., {width}){layout}, got shape ..."."""
    check_array(name, boxes)
    if boxes.ndim < 1 or boxes.shape[-1] != width:
        raise ValueError(f"{name}: expected {what} of shape (..., {width}){layout}, got shape {tuple(boxes.shape)}")
    if xp is not None and not (isdtype(boxes.dtype, "real floating", xp) or isdtype(boxes.dtype, "integral", xp)):
        raise TypeError(f"{name}: expected a real (floating or integer) array, got dtype {boxes.dtype}")


def check_box_pair(pred: Any, target: Any, *, width: int = 4, what: str = "boxes", layout: str = "",
                   names: tuple[str, str] = ("pred", "target"), pred_floating: bool = True,
                   broadcast: bool = True):
    """A (pred, target) pair of box arrays (:func:`check_box_array` with ``width``, ``what``
    and ``layout``) from one library, the first floating-point unless
    ``pred_floating=False``, broadcastable unless ``broadcast=False``.

    Returns ``(xp, p, t)``: the namespace and both arrays in the first one's compute dtype
    (:func:`losskit._xp.compute_dtype`: float64 stays, everything else computes in float32),
    not broadcast. Both box families start with it; what a box's numbers mean stays with
    each family.
    """
    na, nb = names
    check_array(na, pred)
    check_array(nb, target)
    xp = namespace(pred, target)
    check_box_array(na, pred, xp, width=width, what=what, layout=layout)
    check_box_array(nb, target, xp, width=width, what=what, layout=layout)
    if pred_floating and not isdtype(pred.dtype, "real floating", xp):
        raise TypeError(f"{na}: expected a floating-point array of {what}, got dtype {pred.dtype}")
    if broadcast:
        check_broadcastable(na, pred, nb, target)
    dtype = compute_dtype(pred, xp)
    return xp, as_float(pred, xp, dtype), as_float(target, xp, dtype)


def check_ndim(name: str, x: Any, *, min_ndim: int | None = None, ndim: int | None = None) -> None:
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(
            f"{name}: expected at least {min_ndim} dimensions, got shape {tuple(x.shape)}"
        )


def normalize_axis(name: str, axis: Any, ndim: int) -> int:
    if type(axis) is int and -ndim <= axis < ndim:  # the common case: no ABC isinstance
        return axis % ndim
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: expected an axis in [{-ndim}, {ndim}), got {axis}")
    return int(axis) % ndim


def _on_host(x: Any) -> bool:
    """True unless ``x`` lives on an accelerator (a torch or jax array off the CPU)."""
    kind = getattr(getattr(x, "device", None), "type", None)  # torch
    if kind is not None:
        return kind == "cpu"
    devices = getattr(x, "devices", None)  # jax
    if callable(devices):
        try:
            return all(d.platform == "cpu" for d in devices())
        except Exception:  # noqa: BLE001 - an unknown array type: assume host memory
            return True
    return True


def eager_values(x: Any):
    """A NumPy view of ``x``'s values for a value check, or ``None`` when the check is
    skipped: ``x`` traced, empty, or on an accelerator (see the module docstring)."""
    if is_traced(x) or math.prod(x.shape) == 0 or not _on_host(x):
        return None
    return to_numpy(x)


_UNSIGNED = {1: "u1", 2: "u2", 4: "u4", 8: "u8"}


def check_labels_in_range(
    name: str, labels: Any, num_classes: int, *, ignore_index: int | None = None
) -> None:
    """Integer class labels in [0, num_classes) (``ignore_index`` allowed); eager only."""
    v = eager_values(labels)
    if v is None:
        return
    # One reduction for the common case: viewed as unsigned, a negative label is larger than
    # any class count, so max < C exactly when every label is in [0, C). The detailed pass
    # below (ignore_index, the offending value for the message) runs only when this fails.
    unsigned = _UNSIGNED.get(v.dtype.itemsize) if v.dtype.kind in "iu" else None
    if unsigned is not None and int(v.view(unsigned).max()) < num_classes:
        return
    if ignore_index is not None:
        v = v[v != ignore_index]
        if v.size == 0:
            return
    lo, hi = int(v.min()), int(v.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        extra = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{name}: expected class indices in [0, {num_classes - 1}]{extra}, got {bad}"
        )


def check_in_unit_interval(name: str, x: Any) -> None:
    """Probabilities in [0, 1] (NaN counts as outside); eager only."""
    v = eager_values(x)
    if v is None:
        return
    lo, hi = float(v.min()), float(v.max())
    if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both comparisons
        raise ValueError(f"{name}: expected probabilities in [0, 1], got values in [{lo}, {hi}]")


def eager_min(x: Any) -> float | None:
    """The smallest value of ``x`` as a Python float; ``None`` when ``x`` is traced or empty.

    For value checks with a message of their own (NaN comes back as NaN: test with
    ``not lo >= bound`` so that it fails too).
    """
    v = eager_values(x)
    return None if v is None else float(v.min())


def check_nonnegative_values(name: str, x: Any, *, what: str = "values") -> None:
    """Values >= 0 (counts, variances, ...); eager only. ``what`` names them in the message."""
    lo = eager_min(x)
    if lo is not None and not lo >= 0.0:  # NaN fails too
        raise ValueError(f"{name}: expected non-negative {what}, got a minimum of {lo}")


# --------------------------------------------------------------------------- validate once

_PLANS_MAX = 512


class Plans(dict):
    """What a loss's shape, dtype and option checks decided, remembered per call signature
    (validate once, decide once: a training loop calls a loss thousands of times on arrays
    of the same kinds, and the checks cost a small torch kernel's time).

    The key is everything those checks read: the arrays' types, dtypes (and shapes where
    the checks compare them) and the options *with their types* (``True == 1`` and
    ``hash(True) == hash(1)``: without its type a bool option would reuse the plan of an
    int). Only a call whose checks passed is remembered, so a bad input always reaches its
    check and its error; value checks (labels in range, probabilities in [0, 1]) read the
    data and run on every call. Bounded: cleared when full (shapes that vary without end).
    """

    def remember(self, key: Any, plan: Any) -> Any:
        if len(self) >= _PLANS_MAX:
            self.clear()
        self[key] = plan
        return plan


# --------------------------------------------------------------------------- one validator per concept
# Every family validates these concepts through the functions below (one name, one wording).

_INT64 = (-(2**63), 2**63 - 1)


def check_int(name: str, value: Any, *, allow_none: bool = True, low: int | None = None) -> int | None:
    """A Python or NumPy integer (not a bool) that fits int64 (it is compared with int64
    arrays), optionally ``>= low``; returned as a Python int."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__}")
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{name}: expected an int in the int64 range, got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}")
    return value


def check_ignore_index(ignore_index: Any) -> int | None:
    """``ignore_index``: ``None`` (nothing ignored) or an int64-sized integer."""
    return check_int("ignore_index", ignore_index)


def is_scalar_option(value: Any) -> bool:
    """A Python or NumPy real scalar given where an array option is also accepted
    (``pos_weight=2.0``, ``pos_weight=np.float64(2.0)``): not an array of some library."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    return type(value).__module__ == "numpy" and getattr(value, "shape", None) == ()


def option_array(name: str, value: Any, xp, like: Any) -> Any:
    """An option that may be a number or an array, as an array of ``like``'s namespace,
    dtype and device: Python and NumPy scalars become 0-d arrays (a NumPy scalar on a
    torch or JAX input is a number, not an array of another library)."""
    if is_scalar_option(value):
        check_number(name, float(value))
        return xp.asarray(float(value), dtype=like.dtype, device=getattr(like, "device", None))
    check_array(name, value)
    return value


def check_class_weight(weight: Any, num_classes: int, xp, dtype, *, name: str = "weight",
                       integers: bool = False, nonnegative: bool = False, device: Any = None) -> Any:
    """A per-class weight of shape ``(C,)`` in ``dtype``, or ``None``.

    ``integers``: integer arrays (and sequences of numbers) are accepted too;
    ``nonnegative``: negative weights are an error (eager check). ``device``: where a
    sequence of numbers is placed (the input's device).
    """
    if weight is None:
        return None
    if integers and not hasattr(weight, "shape"):
        weight = xp.asarray(weight, dtype=dtype, device=device)
    check_array(name, weight)
    kinds = ("real floating", "integral") if integers else "real floating"
    if not isdtype(weight.dtype, kinds, xp):
        what = "a real array of class weights" if integers else "a floating-point array"
        raise TypeError(f"{name}: expected {what}, got dtype {weight.dtype}")
    if tuple(weight.shape) != (num_classes,):
        raise ValueError(
            f"{name}: expected one weight per class, shape ({num_classes},), got {tuple(weight.shape)}"
        )
    if nonnegative:
        check_nonnegative_values(name, weight)
    return weight if weight.dtype == dtype else xp.astype(weight, dtype)


def check_sample_weight(weight: Any, shape: tuple, xp, dtype, *, name: str = "weight",
                        exact: bool = False, masks: bool = False,
                        what: str = "the loss's shape") -> Any:
    """A weight per loss element in ``dtype``, or ``None``: of exactly ``shape``
    (``exact``: one weight per sample) or broadcastable to it without growing it (``what``
    names ``shape`` in the message). ``masks``: integer and boolean arrays (0/1 masks) are accepted too."""
    if weight is None:
        return None
    check_array(name, weight)
    kinds = ("real floating", "integral", "bool") if masks else "real floating"
    if not isdtype(weight.dtype, kinds, xp):
        what = "a real or boolean array" if masks else "a floating-point array"
        raise TypeError(f"{name}: expected {what}, got dtype {weight.dtype}")
    if exact:
        if tuple(weight.shape) != tuple(shape):
            raise ValueError(
                f"{name}: expected one weight per sample, shape {tuple(shape)}, got {tuple(weight.shape)}"
            )
    else:
        check_broadcastable_to(name, weight, shape, what=what)
    return weight if weight.dtype == dtype else xp.astype(weight, dtype)
