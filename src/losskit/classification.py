r"""Classification losses: cross-entropy family, binary cross-entropy / log loss, KL
divergence, the hinge family, focal losses, PolyLoss and the 0-1 loss.

Conventions shared by every loss here:

* **Class axis.** Multiclass losses take scores of shape ``(N, C, d1, ...)`` with the
  classes on ``axis=1`` (PyTorch's layout); ``axis=-1`` gives the ``(..., C)`` layout of
  JAX/optax. A 1-D input ``(C,)`` is one sample (its class axis is 0, as in torch).
* **Class targets** are *integer* class indices with the input's shape without the class
  axis. Floating targets of that shape raise ``TypeError`` (a float label is a bug more
  often than a feature); ``cross_entropy`` and ``poly1_cross_entropy`` also accept class
  *probabilities* of the input's own shape.
* **Binary targets** (BCE, focal) are floats (or ints/bools) in [0, 1]; the hinge losses
  take labels in {-1, 1} or in {0, 1}.
* **Value checks** (labels in range, probabilities in [0, 1]) run in eager mode and are
  skipped for traced arrays (``jax.jit``, ``torch.compile``), so every loss compiles.
* **Dtypes.** The prediction decides library, device and dtype: float64 stays float64,
  float32/float16/bfloat16 are computed and returned in float32.
* **Weights.** Each loss follows its peer library: ``weight`` is a per-*class* weight in
  ``cross_entropy``/``nll_loss``/``multi_margin_loss`` (torch: the mean divides by the sum of
  the targets' weights), an *elementwise* rescaling in the two BCEs (torch: the mean still
  divides by the number of elements), and a per-*sample* weight in ``log_loss``, the hinge
  losses and ``zero_one_loss`` (scikit-learn's ``sample_weight``: a weighted mean).
* **Empty batches** and batches whose targets are all ignored give 0, never ``0/0 = NaN``,
  and keep the autograd graph.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._checks import (
    check_array,
    check_bool,
    check_broadcastable_to,
    check_choice,
    check_floating,
    check_in_unit_interval,
    check_integer,
    check_labels_in_range,
    check_number,
    check_reduction,
    check_same_shape,
    eager_values,
    normalize_axis,
)
from ._meta import analytic_grad, loss
from ._reduce import mean_denominator, reduce_grad, reduce_loss
from ._xp import (
    as_float,
    backend_name,
    compute_dtype,
    log_softmax,
    namespace,
    one_hot,
    safe_pow,
    sigmoid,
    softmax,
    softplus,
    take_along_axis,
    xlogy,
)

__all__ = [
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "log_loss",
    "kl_div",
    "hinge_loss",
    "squared_hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "sigmoid_focal_loss",
    "focal_loss",
    "poly1_cross_entropy",
    "zero_one_loss",
]

# torch clamps log(p) and log(1 - p) at -100 in binary_cross_entropy; we keep its value.
_LOG_CLAMP = -100.0


# --------------------------------------------------------------------------- helpers


def _class_axis(input: Any, axis: Any) -> int:
    """The class axis of ``input``: ``axis`` normalised; a 1-D input is one sample (axis 0)."""
    if input.ndim == 0:
        raise ValueError("input: expected at least 1 dimension (the class axis), got shape ()")
    if input.ndim == 1 and axis == 1:
        # torch's convention: a (C,) input is one unbatched sample, class axis 0.
        return 0
    return normalize_axis("axis", axis, input.ndim)


def _check_scores(input: Any, axis: Any, xp, *, min_classes: int = 1) -> tuple[int, int]:
    """``input`` a floating array with a non-empty class axis; returns ``(axis, C)``."""
    check_floating("input", input, xp)
    ax = _class_axis(input, axis)
    c = int(input.shape[ax])
    if c < min_classes:
        what = "an empty class axis" if c == 0 else f"{c} class(es)"
        raise ValueError(
            f"input: expected at least {min_classes} classes along axis {ax}, got {what} "
            f"(shape {tuple(input.shape)})"
        )
    return ax, c


def _index_shape(input: Any, ax: int) -> tuple:
    shape = tuple(input.shape)
    return shape[:ax] + shape[ax + 1:]


def _check_index_target(
    target: Any, input: Any, ax: int, c: int, xp, *, ignore_index: int | None = None
) -> None:
    """Integer class indices with ``input``'s shape without the class axis, in [0, C)."""
    check_array("target", target)
    expected = _index_shape(input, ax)
    if not xp.isdtype(target.dtype, "integral"):
        if xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == expected:
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
    check_labels_in_range("target", target, c, ignore_index=ignore_index)


def _is_probability_target(target: Any, input: Any, xp) -> bool:
    """Class probabilities (a floating target of ``input``'s own shape), not class indices:
    the two target forms of ``cross_entropy`` and ``poly1_cross_entropy``."""
    return xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == tuple(input.shape)


def _check_ignore_index(ignore_index: Any) -> None:
    if ignore_index is None:
        return
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index: expected an int or None, got {type(ignore_index).__name__}")


def _index_setup(input, target, axis, reduction, *extra, ignore_index=None, min_classes=1):
    """Validation shared by the losses on class scores with integer class indices.

    ``extra`` are further arrays that take part in the namespace resolution (weights).
    Returns ``(xp, axis, C)``.
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, *extra)
    ax, c = _check_scores(input, axis, xp, min_classes=min_classes)
    _check_ignore_index(ignore_index)
    _check_index_target(target, input, ax, c, xp, ignore_index=ignore_index)
    return xp, ax, c


def _safe_index(target: Any, ignore_index: int | None, xp) -> tuple[Any, Any]:
    """``(t, valid)``: gatherable indices and the mask of targets not equal to ``ignore_index``.

    Ignored entries may hold any value (-100, 255): they are replaced by class 0 so that a
    gather stays in range; callers mask their result with ``valid`` (``None`` when
    ``ignore_index`` is ``None``).
    """
    t = _as_index(target, xp)
    if ignore_index is None:
        return t, None
    valid = t != ignore_index
    return xp.where(valid, t, xp.zeros_like(t)), valid


def _binary_setup(input, target, reduction, *extra):
    """Validation shared by the losses on one score or probability per element with targets
    in [0, 1]; returns ``(xp, x, t)`` in the compute dtype (bool and integer targets cast)."""
    check_reduction(reduction)
    check_array("input", input)
    xp = namespace(input, target, *extra)
    check_floating("input", input, xp)
    _check_prob_target(target, input, xp)
    x = as_float(input, xp)
    return xp, x, as_float(target, xp, x.dtype)


def _as_index(t: Any, xp) -> Any:
    """torch's gather/index_select need int64 indices; other backends take any integer."""
    if backend_name(xp) == "torch" and t.dtype != xp.int64:
        return xp.astype(t, xp.int64)
    return t


def _class_weight(weight: Any, c: int, xp, dtype, name: str = "weight") -> Any:
    """A floating (C,) per-class weight in the compute dtype, or ``None``."""
    if weight is None:
        return None
    check_floating(name, weight, xp)
    if tuple(weight.shape) != (c,):
        raise ValueError(f"{name}: expected one weight per class, shape ({c},), got {tuple(weight.shape)}")
    return as_float(weight, xp, dtype)


def _along(v: Any, ax: int, ndim: int, xp) -> Any:
    """A (C,) vector reshaped to broadcast along axis ``ax`` of an ``ndim``-D array."""
    shape = [1] * ndim
    shape[ax] = v.shape[0]
    return xp.reshape(v, tuple(shape))


def _gather(v: Any, idx: Any, xp) -> Any:
    """``v[idx]`` for a 1-D ``v`` and integer ``idx`` of any shape (the standard's ``take``
    wants 1-D indices)."""
    flat = xp.reshape(idx, (-1,))
    return xp.reshape(xp.take(v, flat, axis=0), tuple(idx.shape))


def _pick(x: Any, t: Any, ax: int, xp) -> Any:
    """``x`` at class ``t`` along ``ax`` (shape of ``t``)."""
    picked = take_along_axis(x, xp.expand_dims(t, axis=ax), xp, axis=ax)
    return xp.squeeze(picked, axis=ax)


def _check_sample_weight(weight: Any, shape: tuple, xp, dtype) -> Any:
    """A floating per-sample weight of exactly ``shape`` in ``dtype``, or ``None``."""
    if weight is None:
        return None
    check_floating("weight", weight, xp)
    if tuple(weight.shape) != tuple(shape):
        raise ValueError(f"weight: expected one weight per sample, shape {tuple(shape)}, got {tuple(weight.shape)}")
    return as_float(weight, xp, dtype)


def _check_elementwise_weight(name: str, weight: Any, shape: tuple, xp, dtype) -> Any:
    """A floating array broadcastable to ``shape`` (without growing it), or ``None``."""
    if weight is None:
        return None
    check_floating(name, weight, xp)
    check_broadcastable_to(name, weight, shape)
    return as_float(weight, xp, dtype)


def _check_prob_target(target: Any, input: Any, xp) -> None:
    """Targets in [0, 1] of ``input``'s shape: floats, or ints/bools (cast)."""
    check_array("target", target)
    if not xp.isdtype(target.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"target: expected a real or boolean array, got dtype {target.dtype}")
    check_same_shape("input", input, "target", target)
    check_in_unit_interval("target", target)


def _check_binary_labels(target: Any, input: Any, xp) -> None:
    """Labels in {-1, 1} or in {0, 1} (any real or boolean dtype), of ``input``'s shape."""
    check_array("target", target)
    if not xp.isdtype(target.dtype, ("real floating", "integral", "bool")):
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


def _signed(target: Any, xp, dtype) -> Any:
    """Labels in {-1, 1} from {-1, 1} or {0, 1}: positive stays +1, anything else -1."""
    t = target if not xp.isdtype(target.dtype, "bool") else xp.astype(target, xp.int8)
    one = xp.ones(t.shape, dtype=dtype, device=_device(t))
    return xp.where(t > 0, one, -one)


def _device(x: Any):
    return getattr(x, "device", None)


def _relu(z: Any, xp) -> Any:
    # where(z > 0, z, 0) rather than maximum(z, 0): the gradient at the kink is 0 on every
    # backend (maximum splits ties 0.5/0.5 in jax), matching the analytic gradients.
    return xp.where(z > 0, z, xp.zeros_like(z))


def _dpow(m: Any, gamma: float, xp) -> Any:
    """d/dm m ** gamma for m >= 0 (0 at m = 0 where gamma < 1, see :func:`safe_pow`)."""
    if gamma == 0:
        return xp.zeros_like(m)
    return gamma * safe_pow(m, gamma - 1.0, xp)


# --------------------------------------------------------------------------- cross-entropy


def _ce_setup(input, target, weight, ignore_index, label_smoothing, axis, reduction):
    """Validation shared by cross_entropy and its gradient; returns the pieces."""
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    ax, c = _check_scores(input, axis, xp)
    _check_ignore_index(ignore_index)
    check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    index = not _is_probability_target(target, input, xp)
    if index:
        _check_index_target(target, input, ax, c, xp, ignore_index=ignore_index)
    else:
        if ignore_index is not None:
            raise ValueError(
                "ignore_index: expected None with class-probability targets (it applies to "
                f"class indices), got {ignore_index!r}"
            )
        check_in_unit_interval("target", target)
    w = _class_weight(weight, c, xp, compute_dtype(input, xp))
    return xp, ax, c, index, w


@loss(
    family="classification",
    formula=r"\ell_n = -\sum_c w_c\, q_{n,c} \log \frac{e^{x_{n,c}}}{\sum_k e^{x_{n,k}}},"
    r"\quad q_{n,c} = (1-\varepsilon)\,[y_n = c] + \varepsilon / C",
    reference="Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, Rethinking the Inception Architecture "
    "for Computer Vision (label smoothing), 2016, arXiv:1512.00567",
    aliases=("ce", "softmax_cross_entropy", "categorical_cross_entropy"),
)
def cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Softmax cross-entropy between logits and class indices or class probabilities.

    .. math::

        \ell_n = -\sum_{c=1}^{C} w_c\, q_{n,c}\, \log \operatorname{softmax}(x_n)_c,
        \qquad q_{n,c} = (1 - \varepsilon)\, t_{n,c} + \frac{\varepsilon}{C}

    where

    - :math:`x_n` are the logits of sample (or pixel) :math:`n` along the class axis,
    - :math:`t_{n,c}` is the target: one-hot of the class index :math:`y_n`, or the given
      class probabilities,
    - :math:`\varepsilon` is ``label_smoothing`` and :math:`C` the number of classes,
    - :math:`w_c` the optional class weight (1 when ``weight=None``).

    For class indices the ``"mean"`` is torch's weighted mean
    :math:`\sum_n \ell_n / \sum_n w_{y_n}` over the targets not equal to ``ignore_index``;
    for class probabilities it is the plain mean over samples (torch's rule too).

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices of shape ``(N, d1, ...)`` (``input`` without the class
            axis), or class probabilities of ``input``'s shape (floating, in [0, 1]).
        weight: optional per-class weight, shape ``(C,)``, floating.
        ignore_index: a target value that contributes neither to the loss nor to the
            mean's denominator (class indices only). ``None``: no value is ignored.
        label_smoothing: :math:`\varepsilon \in [0, 1]`, mixes the target with the uniform
            distribution.
        axis: the class axis of ``input`` (default 1, as in torch; ``-1`` for ``(..., C)``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (shape ``(N, d1, ...)``; ignored
            targets give 0).

    Returns:
        The loss in the logits' compute dtype (float64 stays float64, otherwise float32):
        a scalar, or the per-sample losses for ``reduction="none"``.

    Notes:
        Same semantics as ``torch.nn.functional.cross_entropy`` (also how ``weight``,
        ``ignore_index`` and ``label_smoothing`` combine: the smoothing term is weighted by
        every class's weight and shares the denominator :math:`\sum_n w_{y_n}`), with two
        differences: a batch whose targets are all ignored (or empty) gives 0 instead of
        NaN, and ``ignore_index`` defaults to ``None`` rather than ``-100``. On torch
        tensors the computation is dispatched to ``F.cross_entropy`` (its fused kernel);
        the generic array-API path is pinned to it by the parity tests. The log-softmax
        is computed with log-sum-exp, so logits of any magnitude give finite values.

    References:
        Szegedy et al., Rethinking the Inception Architecture for Computer Vision, 2016,
        arXiv:1512.00567 (label smoothing).

    Example:
        >>> import numpy as np, losskit
        >>> logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
        >>> # -log softmax: row 0 at class 0 is log(e^2 + 1 + e^-1) - 2 = 0.1698; row 1: log 3
        >>> print(f"{float(losskit.cross_entropy(logits, np.array([0, 2]))):.4f}")
        0.6342
    """
    xp, ax, c, index, w = _ce_setup(input, target, weight, ignore_index, label_smoothing, axis, reduction)
    x = as_float(input, xp)
    if backend_name(xp) == "torch":
        return _cross_entropy_torch(x, target, w, ignore_index, label_smoothing, ax, index, reduction)
    return _cross_entropy_generic(x, target, w, ignore_index, label_smoothing, ax, c, index, reduction, xp)


def _ce_index_weights(target, w, ignore_index, xp, dtype):
    """(safe target, per-element weight w_{y_n} with 0 where ignored or None, valid mask)."""
    t, valid = _safe_index(target, ignore_index, xp)
    wy = _gather(w, t, xp) if w is not None else None
    if valid is not None:
        ones = xp.ones(t.shape, dtype=dtype, device=_device(t))
        wy = xp.where(valid, wy if wy is not None else ones, xp.zeros_like(ones))
    return t, wy, valid


def _cross_entropy_generic(x, target, w, ignore_index, smoothing, ax, c, index, reduction, xp):
    logp = log_softmax(x, xp, axis=ax)
    wb = _along(w, ax, x.ndim, xp) if w is not None else None
    if not index:
        q = as_float(target, xp, x.dtype)
        if smoothing > 0:
            q = q * (1.0 - smoothing) + smoothing / c
        if wb is not None:
            q = q * wb
        # xlogy-free: logp is finite for finite logits, and a 0 target times a finite logp is 0.
        loss = -xp.sum(q * logp, axis=ax)
        return reduce_loss(loss, reduction, xp)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    nll = -_pick(logp, t, ax, xp)
    loss = nll * wy if wy is not None else nll
    if smoothing > 0:
        smooth = -xp.sum(logp * wb, axis=ax) if wb is not None else -xp.sum(logp, axis=ax)
        loss = (1.0 - smoothing) * loss + (smoothing / c) * smooth
    if valid is not None:
        # where, not a product: an ignored entry's logits may be -inf (0 * inf = NaN).
        loss = xp.where(valid, loss, xp.zeros_like(loss))
    if reduction == "mean" and wy is not None:
        return xp.sum(loss) / mean_denominator(tuple(loss.shape), xp, weight=wy)
    return reduce_loss(loss, reduction, xp)


def _cross_entropy_torch(x, target, w, ignore_index, smoothing, ax, index, reduction):
    """``F.cross_entropy`` (the fused kernel) with the empty / all-ignored mean fixed."""
    import torch
    import torch.nn.functional as F

    if x.ndim > 1 and ax != 1:
        x = x.movedim(ax, 1)
        if not index:
            target = target.movedim(ax, 1)
    if index:
        target = target if target.dtype == torch.int64 else target.long()
    else:
        target = target if target.dtype == x.dtype else target.to(x.dtype)
    # torch needs an int; -100 (its default) is never a valid class, and the eager range
    # check rejects it when ignore_index is None.
    ii = -100 if ignore_index is None else ignore_index
    if reduction != "mean":
        return F.cross_entropy(x, target, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=smoothing)
    if not index or (ignore_index is None and w is None):
        # Plain mean over samples; an empty batch (a static shape, not a data branch) sums to 0.
        red = "mean" if target.numel() > 0 and x.numel() > 0 else "sum"
        return F.cross_entropy(x, target, weight=w, ignore_index=ii, reduction=red, label_smoothing=smoothing)
    # torch's mean is sum / sum(w[y] over non-ignored); it is 0/0 = NaN when all are ignored.
    # Summing and dividing ourselves by a guarded denominator gives 0 with no Python branch.
    total = F.cross_entropy(x, target, weight=w, ignore_index=ii, reduction="sum", label_smoothing=smoothing)
    valid = target != ii
    if w is None:
        denom = valid.sum().to(x.dtype)
    else:
        safe_t = torch.where(valid, target, torch.zeros_like(target))
        denom = torch.where(valid, w[safe_t], torch.zeros((), dtype=x.dtype, device=x.device)).sum()
    return total / torch.where(denom == 0, torch.ones_like(denom), denom)


def _ce_coefficients(target, w, ignore_index, smoothing, ax, c, index, x, xp):
    """The coefficients a with loss_n = -sum_c a_{n,c} log p_{n,c}, and the mean's denominator."""
    ndim = x.ndim
    wb = _along(w, ax, ndim, xp) if w is not None else None
    if not index:
        q = as_float(target, xp, x.dtype)
        if smoothing > 0:
            q = q * (1.0 - smoothing) + smoothing / c
        a = q * wb if wb is not None else q
        return a, mean_denominator(_index_shape(x, ax), xp)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    oh = one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    a = oh * xp.expand_dims(wy, axis=ax) if wy is not None else oh
    if smoothing > 0:
        smooth = wb if wb is not None else xp.ones(tuple([1] * ndim), dtype=x.dtype, device=_device(x))
        if valid is not None:
            smooth = smooth * xp.expand_dims(xp.astype(valid, x.dtype), axis=ax)
        a = (1.0 - smoothing) * a + (smoothing / c) * smooth
    return a, mean_denominator(_index_shape(x, ax), xp, weight=wy)


@analytic_grad(cross_entropy)
def _cross_entropy_grad(input, target, *, weight=None, ignore_index=None, label_smoothing=0.0, axis=1, reduction="mean"):
    r"""d loss / d x = (softmax(x) * sum_c a_c - a) / denominator, with loss = -sum_c a_c log p_c."""
    value = cross_entropy(
        input, target, weight=weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, axis=axis, reduction=reduction,
    )
    xp, ax, c, index, w = _ce_setup(input, target, weight, ignore_index, label_smoothing, axis, reduction)
    x = as_float(input, xp)
    a, denom = _ce_coefficients(target, w, ignore_index, label_smoothing, ax, c, index, x, xp)
    g = softmax(x, xp, axis=ax) * xp.sum(a, axis=ax, keepdims=True) - a
    if reduction == "mean":
        g = g / denom
    return value, g


# --------------------------------------------------------------------------- nll


@loss(
    family="classification",
    formula=r"\ell_n = -w_{y_n}\, x_{n, y_n}",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.4)",
    aliases=("nll", "negative_log_likelihood"),
)
def nll_loss(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Negative log-likelihood of class indices under given log-probabilities.

    .. math::

        \ell_n = -w_{y_n}\, x_{n, y_n}, \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    where

    - :math:`x_n` are the *log*-probabilities of sample :math:`n` (e.g. ``log_softmax``),
    - :math:`y_n` is its class index (targets equal to ``ignore_index`` are left out of
      both sums),
    - :math:`w_c` is the optional class weight (1 when ``weight=None``).

    Args:
        input: log-probabilities, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, shape ``(N, d1, ...)``.
        weight: optional per-class weight, shape ``(C,)``.
        ignore_index: a target value to leave out (``None``: none).
        axis: class axis of ``input`` (default 1).
        reduction: ``"mean"`` (weighted, as above), ``"sum"`` or ``"none"``.

    Returns:
        Scalar, or shape ``(N, d1, ...)`` for ``"none"``; in ``input``'s compute dtype.

    Notes:
        torch's ``F.nll_loss`` semantics, except that an empty or all-ignored batch gives 0
        rather than NaN and ``ignore_index`` defaults to ``None``. ``input`` is not
        checked to be <= 0 (torch does not either): any scores work, the loss is then
        simply ``-score``. ``cross_entropy(x, y) == nll_loss(log_softmax(x), y)``.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.4.

    Example:
        >>> import numpy as np, losskit
        >>> logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
        >>> print(f"{float(losskit.nll_loss(logp, np.array([0, 2]))):.4f}")  # (log 2 - log .8) / 2
        0.4581
    """
    xp, ax, c = _index_setup(input, target, axis, reduction, weight, ignore_index=ignore_index)
    x = as_float(input, xp)
    w = _class_weight(weight, c, xp, x.dtype)
    t, wy, valid = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    loss = -_pick(x, t, ax, xp)
    if wy is not None:
        loss = loss * wy
    if valid is not None:
        loss = xp.where(valid, loss, xp.zeros_like(loss))
    if reduction == "mean" and wy is not None:
        return xp.sum(loss) / mean_denominator(tuple(loss.shape), xp, weight=wy)
    return reduce_loss(loss, reduction, xp)


@analytic_grad(nll_loss)
def _nll_loss_grad(input, target, *, weight=None, ignore_index=None, axis=1, reduction="mean"):
    """d loss / d x_{n,c} = -w_{y_n} [c = y_n] / denominator."""
    value = nll_loss(input, target, weight=weight, ignore_index=ignore_index, axis=axis, reduction=reduction)
    xp, ax, c = _index_setup(input, target, axis, reduction, weight, ignore_index=ignore_index)
    x = as_float(input, xp)
    w = _class_weight(weight, c, xp, x.dtype)
    t, wy, _ = _ce_index_weights(target, w, ignore_index, xp, x.dtype)
    g = -one_hot(t, c, xp, axis=ax, dtype=x.dtype)
    if wy is not None:
        g = g * xp.expand_dims(wy, axis=ax)
    if reduction == "mean":
        g = g / mean_denominator(tuple(t.shape), xp, weight=wy)
    return value, g


# --------------------------------------------------------------------------- binary cross-entropy


def _clamped_logs(p, xp):
    """(log p, log(1 - p), mask_p, mask_q), each log clamped at -100 like torch's BCE.

    Exact 0 and 1 are valid probabilities: log 0 = -inf would make the loss inf and the
    gradient NaN (inf * 0). Where the clamp is active the loss is flat (value 100, gradient
    0); the ``where``s take the log of 1 there, so no inf or NaN reaches the backward pass.
    """
    pos = p > 0
    lp = xp.log(xp.where(pos, p, xp.ones_like(p)))
    keep_p = pos & (lp > _LOG_CLAMP)
    below = p < 1
    # log1p(-p) keeps the precision of 1 - p for small p (as torch's CPU kernel does).
    lq = xp.log1p(-xp.where(below, p, xp.zeros_like(p)))
    keep_q = below & (lq > _LOG_CLAMP)
    clamp = xp.full_like(p, _LOG_CLAMP)
    return xp.where(keep_p, lp, clamp), xp.where(keep_q, lq, clamp), keep_p, keep_q


def _bce_setup(input, target, weight, reduction):
    xp, x, t = _binary_setup(input, target, reduction, weight)
    check_in_unit_interval("input", input)
    w = _check_elementwise_weight("weight", weight, tuple(input.shape), xp, x.dtype)
    return xp, x, t, w


@loss(
    family="classification",
    formula=r"\ell = -w\,[\,y \log p + (1 - y) \log (1 - p)\,]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.2)",
    aliases=("bce",),
    plot="margin",
)
def binary_cross_entropy(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary cross-entropy between predicted probabilities and targets in [0, 1].

    .. math::

        \ell = -w\,\bigl[\,y \max(\log p, -100) + (1 - y) \max(\log(1 - p), -100)\,\bigr]

    where

    - :math:`p` is the predicted probability of the positive class (``input``),
    - :math:`y` the target in [0, 1] (hard labels or soft targets),
    - :math:`w` the optional elementwise ``weight`` (1 when ``None``).

    Args:
        input: probabilities in [0, 1], any shape.
        target: targets in [0, 1], ``input``'s shape (floats; ints/bools are cast).
        weight: optional rescaling broadcastable to ``input``'s shape.
        reduction: ``"mean"`` (over elements, like torch: *not* divided by the weights'
            sum), ``"sum"`` or ``"none"`` (``input``'s shape).

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Exact 0 and 1 are valid: as in ``torch.nn.functional.binary_cross_entropy`` both
        logs are clamped at -100, so a confident wrong prediction costs 100, not inf.
        Where the clamp is active the loss is flat, so its gradient is 0 there (torch's
        hand-written backward instead returns ``(p - y) / max(p (1 - p), 1e-12)``); between
        the clamps both agree. Prefer :func:`binary_cross_entropy_with_logits` for training:
        it never saturates.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.2.

    Example:
        >>> import numpy as np, losskit
        >>> p, y = np.array([0.8, 0.1, 1.0]), np.array([1.0, 0.0, 0.0])
        >>> # (-log .8 - log .9 + 100) / 3: the exact 1 with target 0 is clamped at 100
        >>> print(f"{float(losskit.binary_cross_entropy(p, y)):.4f}")
        33.4428
    """
    xp, x, t, w = _bce_setup(input, target, weight, reduction)
    lp, lq, _, _ = _clamped_logs(x, xp)
    loss = -(t * lp + (1.0 - t) * lq)
    if w is not None:
        loss = loss * w
    return reduce_loss(loss, reduction, xp)


@analytic_grad(binary_cross_entropy)
def _binary_cross_entropy_grad(input, target, *, weight=None, reduction="mean"):
    """d/dp = w [-y / p + (1 - y) / (1 - p)], each term 0 where its log is clamped."""
    value = binary_cross_entropy(input, target, weight=weight, reduction=reduction)
    xp, x, t, w = _bce_setup(input, target, weight, reduction)
    _, _, keep_p, keep_q = _clamped_logs(x, xp)
    one = xp.ones_like(x)
    zero = xp.zeros_like(x)
    gp = xp.where(keep_p, -t / xp.where(keep_p, x, one), zero)
    gq = xp.where(keep_q, (1.0 - t) / xp.where(keep_q, 1.0 - x, one), zero)
    g = gp + gq
    if w is not None:
        g = g * w
    return value, reduce_grad(g, reduction, xp)


def _logit_bce(x, t, xp, *, pos_weight=None):
    """Elementwise BCE of logits ``x``: ``p_w t softplus(-x) + (1 - t) softplus(x)``.

    ``softplus(-x) = -log sigmoid(x)`` and ``softplus(x) = -log(1 - sigmoid(x))``, finite for
    logits of any magnitude (no ``log(sigmoid(x))`` that underflows to ``log 0``).
    """
    pos = t * softplus(-x, xp)
    if pos_weight is not None:
        pos = pos * pos_weight
    return pos + (1.0 - t) * softplus(x, xp)


def _bcel_setup(input, target, weight, pos_weight, reduction):
    pw_arr = pos_weight if (pos_weight is not None and hasattr(pos_weight, "shape")) else None
    xp, x, t = _binary_setup(input, target, reduction, weight, pw_arr)
    w = _check_elementwise_weight("weight", weight, tuple(input.shape), xp, x.dtype)
    if pos_weight is None or pw_arr is not None:
        pw = _check_elementwise_weight("pos_weight", pos_weight, tuple(input.shape), xp, x.dtype)
    else:
        pw = float(check_number("pos_weight", pos_weight, low=0.0))
    return xp, x, t, w, pw


@loss(
    family="classification",
    formula=r"\ell = w\,[\,p_w\, y \log(1 + e^{-x}) + (1 - y) \log(1 + e^{x})\,]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.2)",
    aliases=("bce_with_logits", "sigmoid_cross_entropy", "logistic_loss"),
    plot="margin",
)
def binary_cross_entropy_with_logits(
    input: Any, target: Any, *, weight: Any = None, pos_weight: Any = None, reduction: str = "mean"
) -> Any:
    r"""Binary cross-entropy on logits (sigmoid + BCE in one stable formula).

    .. math::

        \ell = w\,\bigl[\,p_w\, y\, \operatorname{softplus}(-x)
               + (1 - y)\, \operatorname{softplus}(x)\,\bigr]

    where

    - :math:`x` is the logit (``input``), :math:`\operatorname{softplus}(z) = \log(1 + e^z)`,
      so :math:`\operatorname{softplus}(-x) = -\log \sigma(x)` and
      :math:`\operatorname{softplus}(x) = -\log(1 - \sigma(x))`,
    - :math:`y` the target in [0, 1],
    - :math:`w` the optional elementwise ``weight``, :math:`p_w` the optional
      ``pos_weight`` (weight of the positive term; > 1 raises recall).

    Args:
        input: logits, any shape.
        target: targets in [0, 1], ``input``'s shape.
        weight: optional rescaling broadcastable to ``input``'s shape.
        pos_weight: optional positive-class weight: a number, or an array broadcastable to
            ``input``'s shape (e.g. ``(C,)`` for the last axis of ``(N, C)``, as in torch).
        reduction: ``"mean"`` (over elements, like torch), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.binary_cross_entropy_with_logits`` semantics. The softplus
        form never evaluates ``exp`` of a large positive number, so logits of +-1e4 give
        finite values and gradients. ``pos_weight`` may also be a Python number.
        Plotted against the margin ``y * x`` (labels +1) this is the logistic loss.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.2.

    Example:
        >>> import numpy as np, losskit
        >>> x, y = np.array([0.0, 2.0]), np.array([1.0, 0.0])
        >>> # (log 2 + log(1 + e^2)) / 2
        >>> print(f"{float(losskit.binary_cross_entropy_with_logits(x, y)):.4f}")
        1.4100
    """
    xp, x, t, w, pw = _bcel_setup(input, target, weight, pos_weight, reduction)
    loss = _logit_bce(x, t, xp, pos_weight=pw)
    if w is not None:
        loss = loss * w
    return reduce_loss(loss, reduction, xp)


@analytic_grad(binary_cross_entropy_with_logits)
def _bce_with_logits_grad(input, target, *, weight=None, pos_weight=None, reduction="mean"):
    """d/dx = w [(1 - y) sigma(x) - p_w y sigma(-x)] (= w (sigma(x) - y) when p_w = 1)."""
    value = binary_cross_entropy_with_logits(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction)
    xp, x, t, w, pw = _bcel_setup(input, target, weight, pos_weight, reduction)
    neg = t * sigmoid(-x, xp)
    if pw is not None:
        neg = neg * pw
    g = (1.0 - t) * sigmoid(x, xp) - neg
    if w is not None:
        g = g * w
    return value, reduce_grad(g, reduction, xp)


# --------------------------------------------------------------------------- log loss


@loss(
    family="classification",
    formula=r"\ell_n = -\log \operatorname{clip}(p_{n, y_n}, \epsilon, 1 - \epsilon)",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 4.3.4)",
    aliases=("logloss", "sklearn_log_loss"),
    plot="margin",
)
def log_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Log loss with scikit-learn's meaning: predicted probabilities vs integer labels.

    .. math::

        \ell_n = -\log \operatorname{clip}\bigl(p_{n, y_n},\ \epsilon,\ 1 - \epsilon\bigr),
        \qquad \text{mean} = \frac{\sum_n s_n \ell_n}{\sum_n s_n}

    where

    - :math:`p_{n,c}` is the predicted probability of class :math:`c` for sample :math:`n`
      (binary 1-D input: :math:`p_{n,1} = p_n`, :math:`p_{n,0} = 1 - p_n`),
    - :math:`y_n` the integer label, :math:`\epsilon` the machine epsilon of the compute
      dtype (``xp.finfo(dtype).eps``, as scikit-learn),
    - :math:`s_n` the optional sample weight (``weight``; scikit-learn's ``sample_weight``).

    Args:
        input: probabilities, shape ``(N,)`` (of the positive class, binary), ``(N, 1)``
            (the same) or ``(N, C)`` (one column per class, labels ``0..C-1``; ``C = 2`` is
            the binary case of ``predict_proba``).
        target: integer labels, shape ``(N,)``, in ``{0, 1}`` (binary) or ``0..C-1``.
        weight: optional per-sample weights, shape ``(N,)``.
        reduction: ``"mean"`` (weighted mean over samples, scikit-learn's
            ``normalize=True``), ``"sum"`` (``normalize=False``) or ``"none"`` (``(N,)``).

    Returns:
        Scalar or ``(N,)`` in ``input``'s compute dtype.

    Notes:
        Follows ``sklearn.metrics.log_loss`` (1.5 and later): probabilities are clipped to
        ``[eps, 1 - eps]`` and *not* renormalised; rows of an ``(N, C)`` input that do not
        sum to 1 (within ``sqrt(eps)``) give a ``UserWarning`` in eager mode, as in
        scikit-learn (before 1.5 it divided each row by its sum). Labels are integers
        ``0..C-1`` rather than arbitrary class names. Only the true class's probability is
        read (a flat gather), so the loss is one pass over ``N`` values after the checks. For logits use :func:`cross_entropy` or
        :func:`binary_cross_entropy_with_logits`.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 4.3.4.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
        >>> # -(log .9 + log .8 + log .3 + log .65) / 4
        >>> print(f"{float(losskit.log_loss(p, np.array([0, 1, 0, 1]))):.4f}")
        0.4908
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    if input.ndim not in (1, 2):
        raise ValueError(f"input: expected probabilities of shape (N,) or (N, C), got {tuple(input.shape)}")
    n = int(input.shape[0])
    binary = input.ndim == 1 or input.shape[1] == 1
    c = 2 if binary else int(input.shape[1])
    if input.ndim == 2 and input.shape[1] == 0:
        raise ValueError(f"input: expected at least 1 column of probabilities, got an empty class axis (shape {tuple(input.shape)})")
    check_integer("target", target, xp)
    if tuple(target.shape) != (n,):
        raise ValueError(f"target: expected labels of shape ({n},), got {tuple(target.shape)}")
    check_in_unit_interval("input", input)
    check_labels_in_range("target", target, c)
    x = as_float(input, xp)
    w = _check_sample_weight(weight, (n,), xp, x.dtype)
    eps = float(xp.finfo(x.dtype).eps)
    v = None if binary else eager_values(x)
    if v is not None:
        # einsum: NumPy's sum over a short last axis is ~10x slower on (10^6, 10), and a
        # BLAS matrix-vector product starts threads (slow and noisy on a busy machine).
        row_sums = np.einsum("ij->i", v)
        if not (np.abs(row_sums - 1.0) <= math.sqrt(eps)).all():
            warnings.warn(
                "input: the rows of probabilities do not sum to one; log_loss does not "
                "renormalise them (scikit-learn >= 1.5 neither)",
                UserWarning,
                stacklevel=2,
            )
    if binary:
        p = xp.reshape(x, (n,))
        pt = xp.where(target == 1, p, 1.0 - p)
    else:
        # The true class's probability by a flat gather (row * C + label): one read per
        # sample, several times faster on NumPy than take_along_axis on a short class axis.
        t = _as_index(target, xp)
        rows = xp.arange(n, dtype=t.dtype, device=_device(t)) * c
        pt = xp.take(xp.reshape(x, (-1,)), rows + t, axis=0)
    # Clipping (as scikit-learn): a probability of exactly 0 for the true class costs
    # -log(eps) ~ 36 (float64) instead of inf.
    loss = -xp.log(xp.clip(pt, eps, 1.0 - eps))
    return reduce_loss(loss, reduction, xp, weight=w)


# --------------------------------------------------------------------------- KL divergence


@loss(
    family="classification",
    formula=r"\ell = t\,(\log t - x) \quad (x = \log q)",
    reference="Kullback, Leibler, On Information and Sufficiency, 1951",
    aliases=("kl_divergence", "kldiv"),
)
def kl_div(input: Any, target: Any, *, log_target: bool = False, reduction: str = "mean") -> Any:
    r"""Kullback-Leibler divergence KL(target || exp(input)), torch's argument order.

    .. math::

        \ell = t \,(\log t - x) \quad\text{or, with log\_target:}\quad \ell = e^{t}\,(t - x)

    where

    - :math:`x` is ``input``: the **log**-probabilities :math:`\log q` of the model,
    - :math:`t` is ``target``: the reference distribution's **probabilities** :math:`p`
      (its log-probabilities when ``log_target=True``),
    - :math:`0 \log 0 = 0` (``xlogy``), so zero target probabilities contribute nothing.

    Summed over the class axis this is :math:`KL(p \,\|\, q) = \sum_c p_c \log(p_c / q_c)`.

    Args:
        input: log-probabilities of the model, any shape.
        target: probabilities in [0, 1] (or log-probabilities with ``log_target=True``),
            ``input``'s shape.
        log_target: whether ``target`` is given in log space.
        reduction: ``"mean"`` (over *all elements*, torch's default), ``"batchmean"``
            (sum divided by ``input.shape[0]``: the true KL per sample when the class axis
            is the rest), ``"sum"`` or ``"none"`` (``input``'s shape).

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.kl_div`` semantics: note that ``input`` is *log*-probabilities
        and ``target`` plain probabilities, the reverse of what the name KL(p || q)
        suggests. ``reduction="mean"`` averages over every element (torch's default, which
        is not the KL divergence); use ``"batchmean"`` for the mathematical value. An empty
        batch gives 0. Zero target probabilities (or ``-inf`` log-targets) contribute 0 even
        where ``input`` is ``-inf``; torch gives NaN there.

    References:
        Kullback, Leibler, On Information and Sufficiency, Ann. Math. Statist., 1951.

    Example:
        >>> import numpy as np, losskit
        >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])
        >>> # .5 log(.5/.25) + .5 log(.5/.75)
        >>> print(f"{float(losskit.kl_div(np.log(q), p, reduction='batchmean')):.4f}")
        0.1438
    """
    check_choice("reduction", reduction, ("mean", "batchmean", "sum", "none"))
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target)
    check_floating("input", input, xp)
    check_bool("log_target", log_target)
    check_floating("target", target, xp)
    check_same_shape("input", input, "target", target)
    if not log_target:
        check_in_unit_interval("target", target)
    x = as_float(input, xp)
    t = as_float(target, xp, x.dtype)
    zero = xp.zeros_like(x)
    if log_target:
        # A target log-probability of -inf is a zero probability: its term is 0 (torch gives
        # exp(-inf) * (-inf - x) = 0 * -inf = NaN). The inner where keeps inf out of both
        # the value and the gradient.
        absent = t == -math.inf
        ts = xp.where(absent, zero, t)
        loss = xp.where(absent, zero, xp.exp(ts) * (ts - x))
    else:
        # xlogy: a zero target probability contributes 0 (0 log 0 = 0), not NaN; likewise
        # 0 * x where the model's log-probability x is -inf (torch: 0 * -inf = NaN).
        absent = t == 0
        loss = xlogy(t, t, xp) - xp.where(absent, zero, t * xp.where(absent, zero, x))
    if reduction == "batchmean":
        total = xp.sum(loss)
        return total / max(int(input.shape[0]), 1) if input.ndim > 0 else total
    return reduce_loss(loss, reduction, xp)


# --------------------------------------------------------------------------- hinge family


def _hinge_setup(input, target, weight, reduction):
    check_reduction(reduction)
    check_array("input", input)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    _check_binary_labels(target, input, xp)
    x = as_float(input, xp)
    y = _signed(target, xp, x.dtype)
    w = _check_sample_weight(weight, tuple(input.shape), xp, x.dtype)
    return xp, x, y, w


@loss(
    family="classification",
    formula=r"\ell = \max(0,\ 1 - y f)",
    reference="Cortes, Vapnik, Support-Vector Networks, 1995",
    aliases=("hinge",),
    plot="margin",
)
def hinge_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary hinge loss of decision values against labels in {-1, 1} or {0, 1}.

    .. math::

        \ell = \max(0,\ 1 - y f)

    where

    - :math:`f` is the decision value (``input``; its sign is the predicted class),
    - :math:`y \in \{-1, 1\}` the label (a label 0 is read as -1),
    - the margin is 1: correct predictions with :math:`y f \ge 1` cost nothing.

    Args:
        input: decision values, any shape.
        target: labels in {-1, 1} or in {0, 1} (integer, bool or float), ``input``'s shape.
        weight: optional per-sample weight, ``input``'s shape.
        reduction: ``"mean"`` (weighted mean, as scikit-learn's ``sample_weight``),
            ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Matches ``sklearn.metrics.hinge_loss`` (binary) and ``optax.hinge_loss``. The
        gradient at the kink :math:`y f = 1` is taken as 0. Labels mixing -1 and 0 are
        rejected (eager mode).

    References:
        Cortes, Vapnik, Support-Vector Networks, Machine Learning 20, 1995.

    Example:
        >>> import numpy as np, losskit
        >>> f, y = np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1])
        >>> print(f"{float(losskit.hinge_loss(f, y)):.4f}")  # (0 + .5 + 2) / 3
        0.8333
    """
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    return reduce_loss(_relu(1.0 - y * x, xp), reduction, xp, weight=w)


@analytic_grad(hinge_loss)
def _hinge_loss_grad(input, target, *, weight=None, reduction="mean"):
    """d/df = -y where y f < 1, else 0."""
    value = hinge_loss(input, target, weight=weight, reduction=reduction)
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    g = xp.where(1.0 - y * x > 0, -y, xp.zeros_like(x))
    return value, reduce_grad(g, reduction, xp, weight=w)


@loss(
    family="classification",
    formula=r"\ell = \max(0,\ 1 - y f)^2",
    reference="Janocha, Czarnecki, On Loss Functions for Deep Neural Networks in Classification, 2017, arXiv:1702.05659",
    aliases=("squared_hinge", "l2_hinge"),
    plot="margin",
)
def squared_hinge_loss(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    r"""Squared binary hinge loss (L2-SVM): differentiable at the margin.

    .. math::

        \ell = \max(0,\ 1 - y f)^2

    where

    - :math:`f` is the decision value (``input``),
    - :math:`y \in \{-1, 1\}` the label (a label 0 is read as -1).

    Args:
        input: decision values, any shape.
        target: labels in {-1, 1} or in {0, 1}, ``input``'s shape.
        weight: optional per-sample weight, ``input``'s shape.
        reduction: ``"mean"`` (weighted), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        Same label and weight conventions as :func:`hinge_loss` (Keras' ``squared_hinge``
        also maps {0, 1} labels to {-1, 1}). Unlike the hinge, its gradient
        :math:`-2 y \max(0, 1 - y f)` is continuous.

    References:
        Janocha, Czarnecki, On Loss Functions for Deep Neural Networks in Classification,
        2017, arXiv:1702.05659.

    Example:
        >>> import numpy as np, losskit
        >>> f, y = np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1])
        >>> print(f"{float(losskit.squared_hinge_loss(f, y)):.4f}")  # (0 + .25 + 4) / 3
        1.4167
    """
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    h = _relu(1.0 - y * x, xp)
    return reduce_loss(h * h, reduction, xp, weight=w)


@analytic_grad(squared_hinge_loss)
def _squared_hinge_loss_grad(input, target, *, weight=None, reduction="mean"):
    """d/df = -2 y max(0, 1 - y f)."""
    value = squared_hinge_loss(input, target, weight=weight, reduction=reduction)
    xp, x, y, w = _hinge_setup(input, target, weight, reduction)
    g = -2.0 * y * _relu(1.0 - y * x, xp)
    return value, reduce_grad(g, reduction, xp, weight=w)


@loss(
    family="classification",
    formula=r"\ell_n = \frac{1}{C} \sum_{j \ne y_n} w_{y_n} \max(0,\ m - x_{n,y_n} + x_{n,j})^p",
    reference="Weston, Watkins, Support Vector Machines for Multi-Class Pattern Recognition, 1999",
    aliases=("multi_margin", "weston_watkins_hinge"),
)
def multi_margin_loss(
    input: Any,
    target: Any,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Multiclass hinge loss of Weston and Watkins (torch's ``multi_margin_loss``).

    .. math::

        \ell_n = \frac{1}{C} \sum_{j \ne y_n} w_{y_n}\, \max(0,\ m - x_{n, y_n} + x_{n, j})^p

    where

    - :math:`x_n` are the class scores of sample :math:`n`, :math:`y_n` its class,
    - :math:`m` is ``margin``, :math:`p \in \{1, 2\}` the power,
    - :math:`w_c` the optional class weight, :math:`C` the number of classes.

    Every wrong class within the margin of the true class's score is penalised (compare
    :func:`multiclass_hinge_loss`, which penalises only the largest).

    Args:
        input: scores, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, ``input``'s shape without the class axis.
        p: 1 or 2.
        margin: :math:`m`, a real number (default 1).
        weight: optional per-class weight, shape ``(C,)``.
        axis: class axis (default 1).
        reduction: ``"mean"`` (plain mean over samples, as torch), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape without the class axis, in ``input``'s compute dtype.

    Notes:
        ``torch.nn.functional.multi_margin_loss`` semantics: the class weight multiplies
        after the power (torch's kernel; its documentation writes it inside), and the
        mean does *not* divide by the weights. torch accepts only ``(N, C)``; here any
        number of trailing axes works.

    References:
        Weston, Watkins, Support Vector Machines for Multi-Class Pattern Recognition,
        ESANN 1999.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
        >>> # (1 - .8 + .1) + (1 - .8 + .2) + (1 - .8 + .4), over C = 4 (torch's doc example)
        >>> print(f"{float(losskit.multi_margin_loss(x, np.array([3]))):.4f}")
        0.3250
    """
    xp, ax, c = _index_setup(input, target, axis, reduction, weight)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"p: expected 1 or 2, got {p!r}")
    check_number("margin", margin)
    x = as_float(input, xp)
    w = _class_weight(weight, c, xp, x.dtype)
    t = _as_index(target, xp)
    tt = xp.expand_dims(t, axis=ax)
    z = float(margin) - take_along_axis(x, tt, xp, axis=ax) + x
    h = _relu(z, xp)
    if p == 2:
        h = h * h
    # j = y is not a wrong class (it would add margin^p to every sample).
    is_true = one_hot(t, c, xp, axis=ax, dtype=xp.bool)
    h = xp.where(is_true, xp.zeros_like(h), h)
    if w is not None:
        h = h * xp.expand_dims(_gather(w, t, xp), axis=ax)
    return reduce_loss(xp.sum(h, axis=ax) / c, reduction, xp)


@loss(
    family="classification",
    formula=r"\ell_n = \max\bigl(0,\ 1 - x_{n,y_n} + \max_{j \ne y_n} x_{n,j}\bigr)",
    reference="Crammer, Singer, On the Algorithmic Implementation of Multiclass Kernel-based "
    "Vector Machines, JMLR 2001",
    aliases=("crammer_singer_hinge",),
)
def multiclass_hinge_loss(
    input: Any, target: Any, *, weight: Any = None, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""Multiclass hinge loss of Crammer and Singer (scikit-learn's multiclass ``hinge_loss``).

    .. math::

        \ell_n = \max\Bigl(0,\ 1 - \bigl(x_{n, y_n} - \max_{j \ne y_n} x_{n, j}\bigr)\Bigr)

    where

    - :math:`x_n` are the class scores (decision function) of sample :math:`n`,
    - :math:`y_n` its class; only the strongest wrong class counts.

    Args:
        input: scores, shape ``(N, C, d1, ...)`` with ``C >= 2`` (class axis ``axis``).
        target: integer class indices, ``input``'s shape without the class axis.
        weight: optional per-sample weight, ``target``'s shape.
        axis: class axis (default 1).
        reduction: ``"mean"`` (weighted mean, scikit-learn's ``sample_weight``), ``"sum"``
            or ``"none"``.

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype.

    Notes:
        Equals ``sklearn.metrics.hinge_loss`` with a multiclass target (labels
        ``0..C-1``) and ``optax.multiclass_hinge_loss``. Compare
        :func:`multi_margin_loss` (Weston-Watkins: a sum over every wrong class).

    References:
        Crammer, Singer, On the Algorithmic Implementation of Multiclass Kernel-based
        Vector Machines, JMLR 2, 2001.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0]])
        >>> # 1 - (2 - 1.5) = .5; 1 - (1 - 3) = 3
        >>> print(f"{float(losskit.multiclass_hinge_loss(x, np.array([0, 2]))):.4f}")
        1.7500
    """
    xp, ax, c = _index_setup(input, target, axis, reduction, weight, min_classes=2)
    x = as_float(input, xp)
    w = _check_sample_weight(weight, tuple(target.shape), xp, x.dtype)
    t = _as_index(target, xp)
    is_true = one_hot(t, c, xp, axis=ax, dtype=xp.bool)
    # The true class is excluded from the max by -inf (a constant: no gradient flows to it).
    others = xp.max(xp.where(is_true, xp.full_like(x, -math.inf), x), axis=ax)
    loss = _relu(1.0 - _pick(x, t, ax, xp) + others, xp)
    return reduce_loss(loss, reduction, xp, weight=w)


# --------------------------------------------------------------------------- focal losses


def _sigmoid_focal_setup(input, target, alpha, gamma, reduction):
    xp, x, t = _binary_setup(input, target, reduction)
    check_number("alpha", alpha, low=0.0, high=1.0, allow_none=True)
    check_number("gamma", gamma, low=0.0)
    return xp, x, t


@loss(
    family="classification",
    formula=r"\ell = -\alpha_t (1 - p_t)^\gamma \log p_t,\ p = \sigma(x)",
    reference="Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002",
    aliases=("binary_focal_loss",),
    plot="margin",
)
def sigmoid_focal_loss(
    input: Any, target: Any, *, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean"
) -> Any:
    r"""Sigmoid (binary / multi-label) focal loss on logits, as in RetinaNet.

    .. math::

        \ell = \alpha_t\, (1 - p_t)^{\gamma}\, \operatorname{BCE}(x, y),\qquad
        1 - p_t = y\, \sigma(-x) + (1 - y)\, \sigma(x),\qquad
        \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    where

    - :math:`x` is the logit (``input``), :math:`\sigma` the sigmoid, :math:`p = \sigma(x)`,
    - :math:`y \in [0, 1]` the target, :math:`p_t` the probability given to it,
    - :math:`\operatorname{BCE}(x, y) = y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)`,
    - :math:`\gamma \ge 0` focuses on hard examples; :math:`\alpha \in [0, 1]` balances
      positives and negatives (``alpha=None``: no balancing, :math:`\alpha_t = 1`).

    Args:
        input: logits, any shape.
        target: targets in [0, 1], ``input``'s shape.
        alpha: :math:`\alpha` or ``None`` (default 0.25, the paper's).
        gamma: :math:`\gamma \ge 0` (default 2).
        reduction: ``"mean"`` (over elements), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or ``input``'s shape, in ``input``'s compute dtype.

    Notes:
        ``torchvision.ops.sigmoid_focal_loss`` and ``optax.sigmoid_focal_loss`` semantics
        (torchvision turns alpha off with ``alpha < 0``, optax with ``None``, as here; both
        default to ``reduction="none"``, losskit to ``"mean"``; RetinaNet divides the sum by
        the number of positive anchors: use ``reduction="sum"`` and divide). :math:`1 - p_t`
        is computed from sigmoids of :math:`\pm x` rather than as ``1 - p``, so it keeps its
        precision when :math:`p_t \to 1`. With :math:`\gamma = 0` and ``alpha=None`` this is
        :func:`binary_cross_entropy_with_logits`.

    References:
        Lin et al., Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002.

    Example:
        >>> import numpy as np, losskit
        >>> # x = 0, y = 1: p_t = 1/2, so .25 * (1/2)^2 * log 2
        >>> print(f"{float(losskit.sigmoid_focal_loss(np.array([0.0]), np.array([1.0]))):.5f}")
        0.04332
    """
    xp, x, t = _sigmoid_focal_setup(input, target, alpha, gamma, reduction)
    ce = _logit_bce(x, t, xp)
    m = t * sigmoid(-x, xp) + (1.0 - t) * sigmoid(x, xp)
    # safe_pow: for gamma < 1, d m^gamma / dm is infinite at m = 0 (a confident, correct
    # prediction) and autodiff would give inf * 0 = NaN there; it is taken as 0.
    loss = safe_pow(m, float(gamma), xp) * ce
    if alpha is not None:
        loss = (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss
    return reduce_loss(loss, reduction, xp)


@analytic_grad(sigmoid_focal_loss)
def _sigmoid_focal_loss_grad(input, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    r"""d/dx = alpha_t [gamma m^(gamma-1) (1 - 2y) s(1-s) ce + m^gamma (s - y)], s = sigma(x),
    m = 1 - p_t (dm/dx = (1 - 2y) s (1 - s), dce/dx = s - y)."""
    value = sigmoid_focal_loss(input, target, alpha=alpha, gamma=gamma, reduction=reduction)
    xp, x, t = _sigmoid_focal_setup(input, target, alpha, gamma, reduction)
    s = sigmoid(x, xp)
    sn = sigmoid(-x, xp)
    ce = _logit_bce(x, t, xp)
    m = t * sn + (1.0 - t) * s
    g = _dpow(m, float(gamma), xp) * (1.0 - 2.0 * t) * s * sn * ce + safe_pow(m, float(gamma), xp) * (s - t)
    if alpha is not None:
        g = (alpha * t + (1.0 - alpha) * (1.0 - t)) * g
    return value, reduce_grad(g, reduction, xp)


def _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction):
    alpha_arr = alpha if (alpha is not None and hasattr(alpha, "shape")) else None
    xp, ax, c = _index_setup(input, target, axis, reduction, alpha_arr, ignore_index=ignore_index)
    check_number("gamma", gamma, low=0.0)
    x = as_float(input, xp)
    if alpha is None or alpha_arr is not None:
        a = _class_weight(alpha_arr, c, xp, x.dtype, name="alpha")
    else:
        a = float(check_number("alpha", alpha, low=0.0))
    t, valid = _safe_index(target, ignore_index, xp)
    # The mean is over the targets not ignored: a 0/1 reduction weight (alpha is not in it).
    vw = xp.astype(valid, x.dtype) if valid is not None else None
    at = _gather(a, t, xp) if (a is not None and not isinstance(a, float)) else a
    return xp, x, t, ax, c, at, vw


@loss(
    family="classification",
    formula=r"\ell_n = -\alpha_{y_n} (1 - p_{n,y_n})^\gamma \log p_{n,y_n},\ p = \operatorname{softmax}(x)",
    reference="Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002",
    aliases=("softmax_focal_loss",),
)
def focal_loss(
    input: Any,
    target: Any,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    ignore_index: int | None = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Any:
    r"""Softmax (multiclass) focal loss on logits and class indices.

    .. math::

        \ell_n = -\alpha_{y_n}\, (1 - p_{n, y_n})^{\gamma}\, \log p_{n, y_n},
        \qquad p_n = \operatorname{softmax}(x_n)

    where

    - :math:`x_n` are the logits of sample :math:`n`, :math:`y_n` its class,
    - :math:`\gamma \ge 0` down-weights well-classified samples,
    - :math:`\alpha_c` is an optional per-class weight (an array ``(C,)``) or one number
      for every class; ``None`` means 1.

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices, ``input``'s shape without the class axis.
        gamma: :math:`\gamma \ge 0` (default 2).
        alpha: ``None``, a number >= 0, or a per-class weight array of shape ``(C,)``.
        ignore_index: a target value to leave out of the loss and of the mean.
        axis: class axis (default 1).
        reduction: ``"mean"`` (plain mean over the non-ignored samples: alpha does not
            enter the denominator, as in the paper's normalisation by a count), ``"sum"``
            or ``"none"`` (ignored samples give 0).

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype.

    Notes:
        With ``gamma=0`` and ``alpha=None`` this is :func:`cross_entropy` (same
        ``ignore_index`` handling). With a per-class ``alpha`` the mean differs from
        ``cross_entropy(weight=alpha)``, which divides by the sum of the weights.
        :math:`1 - p_{y}` is computed as ``-expm1(log p_y)``, precise when :math:`p_y \to 1`.

    References:
        Lin et al., Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0]])  # p_y = 1/2: (1/2)^2 * log 2
        >>> print(f"{float(losskit.focal_loss(x, np.array([1]))):.5f}")
        0.17329
    """
    xp, x, t, ax, c, at, vw = _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction)
    lpt = _pick(log_softmax(x, xp, axis=ax), t, ax, xp)
    m = -xp.expm1(lpt)  # 1 - p_t without cancellation when p_t ~ 1
    # safe_pow: a finite gradient at m = 0 for gamma < 1 (see sigmoid_focal_loss).
    loss = -safe_pow(m, float(gamma), xp) * lpt
    if at is not None:
        loss = loss * at
    if vw is not None:
        # where, not a product: an ignored sample's loss may be inf (logit -inf).
        loss = xp.where(vw > 0, loss, xp.zeros_like(loss))
    return reduce_loss(loss, reduction, xp, weight=vw)


@analytic_grad(focal_loss)
def _focal_loss_grad(input, target, *, gamma=2.0, alpha=None, ignore_index=None, axis=1, reduction="mean"):
    r"""d l / d x_c = alpha_y (p_c - [c = y]) [m^gamma - gamma m^(gamma-1) p_y log p_y], m = 1 - p_y."""
    value = focal_loss(input, target, gamma=gamma, alpha=alpha, ignore_index=ignore_index, axis=axis, reduction=reduction)
    xp, x, t, ax, c, at, vw = _focal_setup(input, target, gamma, alpha, ignore_index, axis, reduction)
    logp = log_softmax(x, xp, axis=ax)
    lpt = _pick(logp, t, ax, xp)
    m = -xp.expm1(lpt)
    coef = safe_pow(m, float(gamma), xp) - _dpow(m, float(gamma), xp) * xp.exp(lpt) * lpt
    if at is not None:
        coef = coef * at
    if vw is not None:
        coef = coef * vw
    g = (xp.exp(logp) - one_hot(t, c, xp, axis=ax, dtype=x.dtype)) * xp.expand_dims(coef, axis=ax)
    if reduction == "mean":
        g = g / mean_denominator(tuple(t.shape), xp, weight=vw)
    return value, g


# --------------------------------------------------------------------------- PolyLoss


@loss(
    family="classification",
    formula=r"\ell_n = \mathrm{CE}(x_n, t_n) + \epsilon\,(1 - p_{n,t})",
    reference="Leng, Xu, Tan, et al., PolyLoss: A Polynomial Expansion Perspective of "
    "Classification Loss Functions, 2022, arXiv:2204.12511",
    aliases=("poly1", "poly_loss"),
)
def poly1_cross_entropy(
    input: Any, target: Any, *, epsilon: float = 1.0, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""Poly-1 loss: cross-entropy plus epsilon times (1 - p_t), the first polynomial term.

    .. math::

        \ell_n = -\sum_c t_{n,c} \log p_{n,c} + \epsilon \sum_c t_{n,c}\,(1 - p_{n,c}),
        \qquad p_n = \operatorname{softmax}(x_n)

    where

    - :math:`x_n` are the logits, :math:`t_n` the target distribution (one-hot of the
      class index, or given probabilities); for a one-hot target the second term is
      :math:`\epsilon (1 - p_t)`,
    - :math:`\epsilon` is the coefficient of the first polynomial term (``epsilon``;
      :math:`\epsilon = 0` is cross-entropy, :math:`\epsilon = -1` drops the first term).

    Args:
        input: logits, shape ``(N, C, d1, ...)`` (class axis ``axis``) or ``(C,)``.
        target: integer class indices (``input``'s shape without the class axis) or class
            probabilities (``input``'s shape).
        epsilon: :math:`\epsilon`, any real number (default 1, the paper's Poly-1).
        axis: class axis (default 1; optax uses the last axis: pass ``axis=-1``).
        reduction: ``"mean"`` (over samples), ``"sum"`` or ``"none"``.

    Returns:
        Scalar or the per-sample shape, in ``input``'s compute dtype.

    Notes:
        ``optax.poly_loss_cross_entropy`` semantics (which defaults to ``epsilon=2.0``, the
        paper's ImageNet value, and takes probability labels on the last axis).

    References:
        Leng et al., PolyLoss: A Polynomial Expansion Perspective of Classification Loss
        Functions, ICLR 2022, arXiv:2204.12511.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0]])  # p_t = 1/2: log 2 + 1 * (1 - 1/2)
        >>> print(f"{float(losskit.poly1_cross_entropy(x, np.array([0]))):.4f}")
        1.1931
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target)
    ax, c = _check_scores(input, axis, xp)
    check_number("epsilon", epsilon)
    x = as_float(input, xp)
    logp = log_softmax(x, xp, axis=ax)
    if _is_probability_target(target, input, xp):
        check_in_unit_interval("target", target)
        q = as_float(target, xp, x.dtype)
        ce = -xp.sum(q * logp, axis=ax)
        one_minus_pt = xp.sum(q * (1.0 - xp.exp(logp)), axis=ax)
    else:
        _check_index_target(target, input, ax, c, xp)
        lpt = _pick(logp, _as_index(target, xp), ax, xp)
        ce = -lpt
        one_minus_pt = -xp.expm1(lpt)  # 1 - p_t, precise when p_t ~ 1
    return reduce_loss(ce + float(epsilon) * one_minus_pt, reduction, xp)


# --------------------------------------------------------------------------- 0-1 loss


@loss(
    family="classification",
    formula=r"\ell_n = [\arg\max_c x_{n,c} \ne y_n]",
    reference="Bishop, Pattern Recognition and Machine Learning, 2006 (Sec. 1.5.1)",
    aliases=("zero_one", "misclassification_rate"),
    differentiable=False,
)
def zero_one_loss(
    input: Any, target: Any, *, weight: Any = None, axis: int = 1, reduction: str = "mean"
) -> Any:
    r"""0-1 loss (misclassification rate): 1 for a wrong prediction, 0 for a right one.

    .. math::

        \ell_n = \bigl[\, \hat y_n \ne y_n \,\bigr], \qquad
        \hat y_n = \arg\max_c x_{n,c}\ \text{(multiclass)}\quad\text{or}\quad
        \hat y_n = \operatorname{sign}(f_n)\ \text{(binary)}

    where

    - :math:`x_n` are class scores with integer targets :math:`y_n` (the first maximum
      wins ties), or, when ``input`` and ``target`` have the same shape, :math:`f_n` are
      binary decision values and :math:`y_n` labels in {-1, 1} or {0, 1} (:math:`f_n > 0`
      predicts the positive class).

    It is what we care about and what we do not train on: as a function of the scores it is
    a step function, so its derivative is 0 almost everywhere (and undefined on the decision
    boundary). A small change of the weights leaves it unchanged, then it jumps; gradient
    descent gets no signal. Surrogates (cross-entropy, hinge) bound it from above and are
    differentiable. It is registered with ``differentiable=False``; on torch and jax the
    result stays in the autograd graph with a gradient of exactly 0, so ``backward()``
    runs and shows it.

    Args:
        input: scores ``(N, C, d1, ...)`` (class axis ``axis``) with integer targets
            ``(N, d1, ...)``; or decision values of ``target``'s shape (binary).
        target: integer class indices, or binary labels in {-1, 1} / {0, 1}.
        weight: optional per-sample weight, ``target``'s shape.
        axis: class axis (multiclass only; default 1).
        reduction: ``"mean"`` (weighted fraction of errors, scikit-learn's
            ``zero_one_loss(normalize=True)``), ``"sum"`` (number of errors) or ``"none"``.

    Returns:
        Scalar or ``target``'s shape, in ``input``'s compute dtype; its gradient is 0.

    References:
        Bishop, Pattern Recognition and Machine Learning, 2006, Sec. 1.5.1.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
        >>> print(f"{float(losskit.zero_one_loss(x, np.array([0, 0, 0]))):.4f}")
        0.3333
    """
    check_reduction(reduction)
    check_array("input", input)
    check_array("target", target)
    xp = namespace(input, target, weight)
    check_floating("input", input, xp)
    dtype = compute_dtype(input, xp)
    x = as_float(input, xp)
    if tuple(input.shape) == tuple(target.shape):
        _check_binary_labels(target, input, xp)
        wrong = (x > 0) != (_signed(target, xp, dtype) > 0)
        score = x
    else:
        ax, c = _check_scores(input, axis, xp)
        _check_index_target(target, input, ax, c, xp)
        t = _as_index(target, xp)
        wrong = xp.argmax(x, axis=ax) != t
        score = _pick(x, t, ax, xp)
    w = _check_sample_weight(weight, tuple(target.shape), xp, dtype)
    # + 0 * sign(score): the value is unchanged (sign is finite, also for +-inf) but the
    # result stays attached to the autograd graph with an exactly zero gradient (sign's
    # derivative is 0 in torch and jax), so backward() runs and shows the point of this
    # loss -- no training signal -- instead of raising "does not require grad".
    loss = xp.astype(wrong, dtype) + 0.0 * xp.sign(score)
    return reduce_loss(loss, reduction, xp, weight=w)
