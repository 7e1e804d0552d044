"""The triplet margin loss on explicit (anchor, positive, negative) triplets:
``torch.nn.functional.triplet_margin_loss``'s meaning, with Balntas et al.'s swap.

The batch-hard form that mines its triplets from labels is in :mod:`.pairs`.
"""

from __future__ import annotations

from .._checks import Plans, check_array, check_broadcastable, check_floating, check_reduction
from .._fastpath import fast_path, select
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, backend_name, namespace, namespace_by_type, subgrad_abs, subgrad_clip, subgrad_minimum
from ._pairs import flag, number

__all__ = ["triplet_margin_loss"]

TORCH_TRIPLET_MARGIN = fast_path(
    "metric_learning.torch_triplet_margin",
    kernel="metric_learning.triplet_margin",
    impl="losskit.metric_learning._torch:triplet_margin",
    backend="torch",
    when="any torch triplets: torch's own triplet_margin_loss (what F.triplet_margin_loss calls), "
    "whose norm kernel takes fewer passes and calls than the reference's operations",
)


@loss(
    formula=(
        r"\ell_i = [m + d(a_i, p_i) - d(a_i, n_i)]_+,\ "
        r"d(x, y) = \lVert x - y + \epsilon \rVert_p"
    ),
    reference=(
        "Florian Schroff, Dmitry Kalenichenko, James Philbin, FaceNet: A Unified Embedding "
        "for Face Recognition and Clustering, CVPR 2015, arXiv:1503.03832; swap: Vassileios "
        "Balntas, Edgar Riba, Daniel Ponsa, Krystian Mikolajczyk, Learning local feature "
        "descriptors with triplets and shallow convolutional neural networks, BMVC 2016"
    ),
    aliases=("triplet_margin",),
    fast_paths=("metric_learning.torch_triplet_margin",),
)
def triplet_margin_loss(
    anchor,
    positive,
    negative,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
):
    r"""Triplet margin loss on given (anchor, positive, negative) triplets.

    .. math::

        \ell_i = \max\big(m + d(a_i, p_i) - d^-_i,\ 0\big), \qquad
        d(x, y) = \Big(\sum_k |x_k - y_k + \epsilon|^p\Big)^{1/p}

    where

    - :math:`a_i, p_i, n_i` are the i-th anchor, positive and negative embeddings (rows of
      the last axis);
    - :math:`d` is the p-norm distance with :math:`\epsilon` added to every component of
      the difference (``torch.nn.functional.pairwise_distance``'s convention);
    - :math:`d^-_i = d(a_i, n_i)`, or with ``swap=True``
      :math:`\min\big(d(a_i, n_i),\ d(p_i, n_i)\big)`: the positive stands in for the
      anchor when it is closer to the negative (Balntas et al.'s distance swap);
    - :math:`m` is ``margin``.

    Args:
        anchor: (B, D) or (D,) floating array.
        positive: array of the anchor's number of dimensions, broadcastable with it
            (torch's rule: a (1, D) row pairs with every anchor).
        negative: likewise.
        margin: :math:`m > 0` (torch refuses ``margin <= 0`` too).
        p: the norm's degree, a finite number :math:`> 0` (2: Euclidean, 1: Manhattan).
        eps: :math:`\epsilon \ge 0`, added to every component of each difference.
        swap: use :math:`\min(d(a, n), d(p, n))` as the negative distance.
        reduction: ``"mean"`` (over the triplets), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` the per-triplet losses: the broadcast shape of the three
        arrays without its last axis ((B,) for (B, D) inputs, a 0-d array for (D,) ones).
        Compute dtype of the inputs (float64 if any is float64, else float32: float16 and
        bfloat16 are computed in float32).

    Notes:
        Equals ``torch.nn.functional.triplet_margin_loss(anchor, positive, negative,
        margin, p, eps, swap, reduction)`` in value and gradient (on torch, eagerly, it is
        that kernel: the fast path ``metric_learning.torch_triplet_margin``), including its
        subgradients:
        1 at the hinge's kink (``clamp_min``), half to each distance where the swap's two
        distances tie, 0 from a distance whose difference vector is 0 (possible only with
        ``eps=0``, or where :math:`x - y = -\epsilon` exactly). The :math:`\epsilon` inside
        the difference keeps :math:`d(a, a) = \epsilon D^{1/p}` away from the norm's
        kink, so an anchor equal to its positive still has a finite gradient, on every
        backend. The mean of an empty batch is 0 (torch gives NaN). A Euclidean distance
        whose difference vector is 0 is 1e-19 (float32) or 1e-154 (float64) in the
        array-API reference, the square root of the dtype's smallest normal number that
        keeps its gradient finite (torch's kernel gives exactly 0).

        **optax's** ``triplet_margin_loss`` adds :math:`\epsilon` to the sum of powers
        instead, :math:`(\sum_k (x_k - y_k)^p + \epsilon)^{1/p}`, and takes no absolute
        value (so its ``norm_degree`` is a norm for even degrees only); it returns the
        per-triplet losses (``reduction="none"``). The two agree exactly with ``eps=0`` on
        both sides and an even ``p``; with their defaults (1e-6 each) the distances differ
        by about :math:`\epsilon \sum_k (x_k - y_k) / d` (relative 1e-7 on unit-scale
        embeddings). optax's gradient at ``eps=0`` and :math:`x = y` is NaN; losskit's is 0.

        A NaN input gives a NaN loss.

    References:
        Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face Recognition
        and Clustering", CVPR 2015, arXiv:1503.03832.
        Balntas, Riba, Ponsa, Mikolajczyk, "Learning local feature descriptors with triplets
        and shallow convolutional neural networks", BMVC 2016 (the swap).

    Example:
        Anchor at the origin, positive at (3, 4) (distance 5), negative at (6, 8) (distance
        10), margin 6, ``eps=0``: 6 + 5 - 10 = 1. With ``swap=True`` the positive is at
        distance 5 of the negative, closer than the anchor: 6 + 5 - 5 = 6.

        >>> import numpy as np, losskit
        >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[6.0, 8.0]])
        >>> float(losskit.triplet_margin_loss(a, p, n, margin=6.0, eps=0.0))
        1.0
        >>> float(losskit.triplet_margin_loss(a, p, n, margin=6.0, eps=0.0, swap=True))
        6.0
    """
    key = plan = None
    try:
        key = (type(anchor), anchor.dtype, anchor.shape, type(positive), positive.dtype, positive.shape,
               type(negative), negative.dtype, negative.shape, type(margin), margin, type(p), p,
               type(eps), eps, type(swap), swap, reduction)
        plan = _PLANS.get(key)
    except (AttributeError, TypeError):  # not arrays, or an unhashable option: checked below
        key = None
    if plan is None:
        plan = _plan(anchor, positive, negative, margin, p, eps, swap, reduction)
        if key is not None and namespace_by_type(key[0], key[3], key[6]):
            _PLANS.remember(key, plan)
    xp, dtype, margin, p, eps, tiny, backend = plan
    a, pos, neg = as_float(anchor, xp, dtype), as_float(positive, xp, dtype), as_float(negative, xp, dtype)
    fast = select("metric_learning.triplet_margin", backend, a, pos, neg)
    if fast is not None:
        return fast(a, pos, neg, margin, p, eps, swap, reduction)
    d_neg = _distance(a, neg, p, eps, tiny, xp)
    if swap:
        d_neg = subgrad_minimum(d_neg, _distance(pos, neg, p, eps, tiny, xp), xp)
    # torch's clamp_min: derivative 1 on the kink, as subgrad_clip on every backend
    per = subgrad_clip(margin + _distance(a, pos, p, eps, tiny, xp) - d_neg, xp, min=0.0)
    return reduce_loss(per, reduction, xp)


# _plan's decisions per call signature (see losskit._checks.Plans)
_PLANS = Plans()


def _plan(anchor, positive, negative, margin, p, eps, swap, reduction):
    """(xp, compute dtype, margin, p, eps, tiny, backend name) of valid arguments (floating arrays of one
    number of dimensions >= 1 that broadcast together, and the options); ``tiny`` is the
    compute dtype's smallest normal number (see :func:`_distance`)."""
    check_reduction(reduction)
    check_array("anchor", anchor)
    check_array("positive", positive)
    check_array("negative", negative)
    xp = namespace(anchor, positive, negative)
    arrays = {"anchor": anchor, "positive": positive, "negative": negative}
    for name, x in arrays.items():
        check_floating(name, x, xp)
    if anchor.ndim < 1:
        raise ValueError(f"anchor: expected a (B, D) or (D,) array, got shape {tuple(anchor.shape)}")
    for name in ("positive", "negative"):
        x = arrays[name]
        if x.ndim != anchor.ndim:
            raise ValueError(
                f"{name}: expected a {anchor.ndim}-D array like anchor {tuple(anchor.shape)}, "
                f"got shape {tuple(x.shape)}"
            )
        check_broadcastable("anchor", anchor, name, x)
    check_broadcastable("positive", positive, "negative", negative)
    margin = number("margin", margin, low=0.0, low_open=True)
    p = number("p", p, low=0.0, low_open=True)
    eps = number("eps", eps, low=0.0)
    flag("swap", swap)
    dtype = xp.float64 if any(x.dtype == xp.float64 for x in arrays.values()) else xp.float32
    return xp, dtype, margin, p, eps, float(xp.finfo(dtype).smallest_normal), backend_name(xp)


def _distance(x, y, p: float, eps: float, tiny: float, xp):
    """``||x - y + eps||_p`` over the last axis; its gradient is 0 (torch's) where the
    difference is the zero vector, and a NaN component gives NaN."""
    if p == 2.0:
        return _euclidean(x - y, eps, tiny, xp)
    diff = x - y + eps if eps else x - y
    mag = subgrad_abs(diff, xp)  # its derivative at 0 is 0, torch's sign(0)
    if p == 1.0:
        return xp.sum(mag, axis=-1)
    # |v|^p for p < 1 and s^(1/p) for p > 1 have an infinite derivative at 0
    return _root(xp.sum(_root(mag, 1.0 / p, xp), axis=-1), p, xp)


def _euclidean(v, eps: float, tiny: float, xp):
    """``||v + eps||_2`` over the last axis.

    Under XLA the shift is cheaper outside the (B, D) difference: with ``v + eps`` fused
    into it, XLA recomputed the difference from the three inputs in the backward pass
    instead of reading it back (1.1-1.8x optax's ``triplet_margin_loss``, which has no
    shift; see benchmarks/bench_jax.py), so there it is expanded,
    ``sum((v + eps)^2) = sum(v^2) + eps (2 sum(v) + D eps)``: the same value up to rounding
    and the same gradient, ``2 (v + eps)``. Eager torch pays per operation instead and
    keeps the direct form.
    """
    if eps and backend_name(xp) == "jax":
        ss = xp.sum(xp.square(v), axis=-1) + eps * (2.0 * xp.sum(v, axis=-1) + v.shape[-1] * eps)
        # the expansion can round a little below 0 where v = -eps: sqrt would give NaN
        ss = xp.clip(ss, min=0.0)
    else:
        w = v + eps if eps else v
        # w * w, not square(w): torch differentiates a product in one pass over (B, D),
        # a power through pow(w, 1) first
        ss = xp.sum(w * w, axis=-1)
    # sqrt's derivative is infinite at 0, where the difference is the zero vector and
    # 0 * inf = NaN would reach the gradient. Adding the dtype's smallest normal number
    # makes it finite there (the gradient is then exactly 0, as torch's norm gives); it is
    # absorbed by any sum of squares above 1e-30 (float32), and moves a zero distance to
    # 1e-19 (float32) or 1e-154 (float64). One fused add, where a where guard cost six
    # small kernels on torch (benchmarks/bench_metric_learning.py's F.triplet_margin_loss row).
    return xp.sqrt(ss + tiny)


def _root(x, q: float, xp):
    """``x ** (1 / q)`` for ``x >= 0`` with a zero gradient (not inf) at 0 when ``q > 1``;
    NaN stays NaN."""
    if q <= 1.0:
        return x ** (1.0 / q)  # derivative (1/q) x^(1/q - 1) is finite (0) at 0
    pos = xp.logical_not(x <= 0)
    return xp.where(pos, xp.where(pos, x, xp.ones_like(x)) ** (1.0 / q), xp.zeros_like(x))
