"""Shared helpers of the metric-learning family: normalisation, the Gram matrix (and its
torch fast path), pairwise distances, pair masks, masked reductions, option checks and
the rounding-tie rule of the hinge losses.

Masked reductions use a finite fill value instead of ``-inf``: a row with nothing to reduce
(an anchor without negatives) then gives a finite value whose gradient is exactly zero,
where ``logsumexp`` over ``-inf`` entries would give ``0 * inf = NaN`` in the backward pass.

**Rounding ties.** Distances come from ``||a||^2 + ||b||^2 - 2 a.b`` and similarities from
a dot product: their last bits depend on each library's summation order, so a quantity
that is mathematically 0 or equal to a margin (a zero embedding against a unit one is at
distance exactly 1, the default ``neg_margin``; duplicates are at distance 0) comes out
slightly above it on one library and below it on another. Two rules make every backend
agree there:

* a squared distance within the norm trick's rounding error of 0,
  ``d^2 <= TIE * eps * (||a||^2 + ||b||^2)``, is exactly 0 (like the self-distance);
* a hinge term counts as positive (in the "mean over non-zero terms" and in the value)
  only when it exceeds the rounding error of the quantities it compares; within it, it is
  exactly 0 (the hinge's value at its kink) with a zero gradient.

``TIE = sqrt(D) + 8`` units of the dtype's ``eps`` (D the embedding size): the rounding
error of a length-D dot product grows like sqrt(D) ulps for any summation order, with
headroom for blocked and fused kernels. Terms smaller than that are rounding noise (well
below 1e-5 relative in float32, 1e-13 in float64). A NaN is never a tie: it propagates.
"""

from __future__ import annotations

import math

from array_api_compat import device as _device

from .._checks import (
    check_array, check_bool, check_floating, check_integer, check_labels_in_range, check_ndim, check_number,
    check_reduction,
)
from .._fastpath import fast_path, select
from .._xp import as_float, backend_name, namespace, stop_gradient

# ----------------------------------------------------------------------------------------
# the Gram matrix and its torch fast path
# ----------------------------------------------------------------------------------------

SELF_GRAM = fast_path(
    "metric_learning.torch_self_gram",
    kernel="metric_learning.self_gram",
    impl="losskit.metric_learning._torch:self_gram",
    backend="torch",
    when="x @ x.T of one batch with itself (every pair loss on its own batch): "
         "a one-matmul backward, (G + G^T) @ x, instead of autograd's two",
)


def gram(a, b, xp):
    """``a @ b.T``; for ``b is a``, the symmetric product may take the fast path
    ``metric_learning.torch_self_gram`` (:mod:`losskit._fastpath` decides)."""
    if b is a:
        impl = select("metric_learning.self_gram", backend_name(xp), a)
        if impl is not None:
            return impl(a)
    return xp.matmul(a, xp.permute_dims(b, (1, 0)))


# ----------------------------------------------------------------------------------------
# normalisation, distances, similarities
# ----------------------------------------------------------------------------------------


def tie_ulps(dim: int) -> float:
    """``TIE``: the rounding error of a length-``dim`` dot product, in units of eps, with
    headroom (see the module docstring)."""
    return math.sqrt(max(int(dim), 1)) + 8.0


def l2_normalize(x, xp, eps: float):
    """x / max(||x||, eps) row-wise (torch.nn.functional.normalize's values).

    ``eps`` keeps a zero vector at zero instead of 0 / 0 = NaN; the maximum is taken on the
    squared norm so that the square root is never evaluated at 0 (infinite derivative).
    A zero vector has no direction: its normalisation is 0 with gradient 0. (F.normalize
    gives it the gradient 1 / eps, 1e12, which no float16 or bfloat16 gradient can hold
    and which, for a loss that is discontinuous there, is no derivative of anything.)
    """
    sq = xp.sum(x * x, axis=-1, keepdims=True)
    inv = 1.0 / xp.sqrt(xp.maximum(sq, xp.full_like(sq, eps * eps)))
    # multiply by the (B, 1) reciprocal: cheaper than a (B, D) division, forward and backward
    return x * xp.where(sq > 0, inv, xp.zeros_like(inv))


def safe_sqrt(x, xp):
    """sqrt(x) for x >= 0 whose gradient is 0 (not inf) where x == 0; NaN stays NaN.

    The distance of a point to itself (the diagonal of a distance matrix) is 0, and the
    derivative of sqrt there is infinite; ``0 * inf`` would then poison every gradient in
    the batch. The ``where`` takes the square root of 1 there, so both branches stay finite.
    The test is ``not x <= 0`` so that a NaN (a NaN embedding) reaches the loss as NaN.
    """
    pos = xp.logical_not(x <= 0)
    return xp.where(pos, xp.sqrt(xp.where(pos, x, xp.ones_like(x))), xp.zeros_like(x))


def sq_distances(a, b, xp):
    """(d2, e2): ``||a_i - b_j||^2`` from norms and one matmul, and its rounding error
    ``e2 = TIE * eps * (||a_i||^2 + ||b_j||^2)`` (a constant for autodiff). Entries within
    ``e2`` of 0 (and the negative values rounding produces) are exactly 0."""
    aa = xp.sum(a * a, axis=-1)
    bb = aa if b is a else xp.sum(b * b, axis=-1)
    scale = aa[:, None] + bb[None, :]
    d2 = scale - 2.0 * gram(a, b, xp)
    e2 = stop_gradient(scale, xp) * (tie_ulps(a.shape[-1]) * float(xp.finfo(d2.dtype).eps))
    return xp.where(d2 <= e2, xp.zeros_like(d2), d2), e2


def eye_offset(nq: int, nr: int, offset: int, xp, device):
    """(nq, nr) boolean mask of the self-pairs: query row i is reference row offset + i."""
    iq = xp.arange(nq, device=device)
    ir = xp.arange(nr, device=device)
    return (iq[:, None] + offset) == ir[None, :]


def pair_masks(lq, lr, offset: int, xp, device):
    """(same label, positive pair = same label and not itself, negative pair)."""
    same = lq[:, None] == lr[None, :]
    selfp = eye_offset(lq.shape[0], lr.shape[0], offset, xp, device)
    return same, xp.logical_and(same, xp.logical_not(selfp)), xp.logical_not(same)


def similarity(q, r, distance: str, normalize: bool, eps: float, xp, *, same_batch: bool):
    """(matrix, err, is_similarity): cosine similarity or Euclidean distance between rows,
    and the rounding error of each entry (a number or a matrix; constants for autodiff).

    Cosine similarities of normalised rows are dot products of magnitude <= 1: error
    ``TIE * eps``. A distance ``d = sqrt(d2)`` inherits ``e2`` as ``e2 / (d + sqrt(e2))``
    (``e2 / 2d`` far from 0, ``sqrt(e2)`` near it); an entry snapped to 0 is exact.
    """
    tie = tie_ulps(q.shape[-1])
    if distance == "cosine":
        qn = l2_normalize(q, xp, eps)
        rn = qn if same_batch else l2_normalize(r, xp, eps)
        s = gram(qn, rn, xp)
        return s, tie * float(xp.finfo(s.dtype).eps), True
    if normalize:
        q = l2_normalize(q, xp, eps)
        r = q if same_batch else l2_normalize(r, xp, eps)
    d2, e2 = sq_distances(q, r, xp)
    d = safe_sqrt(d2, xp)
    dd = stop_gradient(d, xp)
    exact = d2 == 0
    # d2 != 0 means d2 > e2 >= 0, so d > 0 there: the where keeps 0 / 0 out of the rest
    den = xp.where(exact, xp.ones_like(d2), dd + xp.sqrt(e2))
    err = xp.where(exact, xp.zeros_like(d2), e2 / den)
    return d, err, False


def positive_beyond(term, tol, xp):
    """``term > tol`` as a boolean mask, with NaN counted as positive (it must reach the
    loss, not be dropped from it): the certain-sign test of the tie rule."""
    return xp.logical_not(term <= tol)


# ----------------------------------------------------------------------------------------
# masked reductions
# ----------------------------------------------------------------------------------------


def _fill(dtype, xp) -> float:
    """A finite stand-in for -inf in masked reductions.

    A quarter of the most negative float: far below any logit (so exp(fill - m) is 0),
    yet adding or subtracting logits or log(B) to it cannot overflow to -inf, and
    differences of two fills are 0, not inf - inf = NaN.
    """
    return float(xp.finfo(dtype).min) / 4.0


class RowMask:
    """A boolean mask over the last axis with what every masked log-sum-exp over it needs,
    computed once (AdaSP reuses one mask three times)."""

    def __init__(self, mask, dtype, xp):
        self.mask = mask
        self.maskf = xp.astype(mask, dtype)
        has = xp.any(mask, axis=-1, keepdims=True)
        self.has = xp.squeeze(has, axis=-1)
        self.empty = xp.astype(xp.logical_not(has), dtype)  # 1 on rows with no entry
        self.fill = _fill(dtype, xp)


def masked_logsumexp(x, rm: RowMask, xp):
    """log(sum over ``rm.mask`` of exp(x)) along the last axis (``x`` broadcasts against the
    mask); rows with an empty mask give :func:`_fill` with a zero gradient."""
    xm = xp.where(rm.mask, x, rm.fill)
    # The shift is a constant for the gradient (log-sum-exp is shift-invariant); detaching
    # it avoids routing a cancelling gradient through the argmax. Empty rows: m = fill.
    m = stop_gradient(xp.max(xm, axis=-1, keepdims=True), xp)
    # Inside the mask x - m <= 0. Outside it x - m may be large: replacing it by 0 (a where,
    # so the gradient inside the mask is untouched) keeps exp finite, so the masked-out
    # entries' zero gradient is 0 * exp(0), never 0 * inf = NaN. (exp is also several
    # times slower on -inf or huge negative arguments than on moderate ones.)
    d = xp.where(rm.mask, x - m, 0.0)
    s = xp.sum(xp.exp(d) * rm.maskf, axis=-1, keepdims=True)
    # s >= 1 on rows with entries (the maximum contributes exp(0)); empty rows have s = 0
    # and take log(0 + 1) = 0, so the result is m = fill there and 1/s never reaches the
    # gradient.
    out = xp.log(s + rm.empty) + m
    return xp.squeeze(out, axis=-1)


def masked_max(x, mask, xp, axis: int = -1):
    """(max over ``mask``, row has any) with a finite fill for empty rows."""
    fill = _fill(x.dtype, xp)
    m = xp.max(xp.where(mask, x, xp.full_like(x, fill)), axis=axis)
    has = xp.any(mask, axis=axis)
    return xp.where(has, m, xp.zeros_like(m)), has


def masked_min(x, mask, xp, axis: int = -1):
    m, has = masked_max(-x, mask, xp, axis=axis)
    return -m, has


def zero_graph(x, xp):
    """A (0,) array connected to ``x`` (empty batches keep the autograd graph)."""
    return xp.sum(x, axis=-1)[:0] * 0.0


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------

DISTANCES = ("euclidean", "cosine")


def batch_namespace(embeddings, labels, *, name: str = "embeddings", **more):
    """The namespace of a loss's arrays, each first checked to be an array (so that a list
    is reported by its argument's name, not as a library mix-up); ``name`` is the first
    argument's name (``features`` for the center loss)."""
    check_array(name, embeddings)
    check_array("labels", labels)
    for name, value in more.items():
        check_array(name, value)
    return namespace(embeddings, labels, *more.values())


def batch_setup(embeddings, labels, reduction):
    """The first checks of a loss on one (B, D) batch and its labels: ``reduction``, the
    namespace, the batch (:func:`check_batch`); returns ``(xp, embeddings in their compute
    dtype)``."""
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels)
    return xp, check_batch(embeddings, labels, xp)


def check_batch(embeddings, labels, xp, *, name: str = "embeddings", ndim: int = 2):
    """Validate a (B, D) floating batch (``ndim=3``: (B, V, D), SupCon's views) and its
    (B,) integer labels; the embeddings in their compute dtype. ``name`` is the batch's
    argument name."""
    check_floating(name, embeddings, xp)
    check_ndim(name, embeddings, ndim=ndim)
    check_integer("labels", labels, xp)
    check_ndim("labels", labels, ndim=1)
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels: expected shape ({embeddings.shape[0]},) to match {name}' batch size, "
            f"got {tuple(labels.shape)}"
        )
    return as_float(embeddings, xp)


def check_class_table(name: str, table, x, labels, xp, *, size: str) -> None:
    """Validate a (C, D) floating table of per-class vectors (center loss's centres,
    Proxy-Anchor's proxies) against the batch ``x`` and its labels in [0, C); ``size``
    names D in the message ("feature size", "embedding size")."""
    check_floating(name, table, xp)
    check_ndim(name, table, ndim=2)
    if table.shape[1] != x.shape[1]:
        raise ValueError(
            f"{name}: expected shape (num_classes, {x.shape[1]}) matching the {size}, "
            f"got {tuple(table.shape)}"
        )
    check_labels_in_range("labels", labels, table.shape[0])


def number(name: str, value, **bounds) -> float:
    """:func:`losskit._checks.check_number`, returned as a Python float: a NumPy scalar
    option (``np.float64(0.3)``) must not meet a torch or JAX array as a NumPy object."""
    return float(check_number(name, value, **bounds))


def flag(name: str, value) -> bool:
    """:func:`losskit._checks.check_bool`, returned."""
    check_bool(name, value)
    return value



device_of = _device  # the device of an array (array_api_compat)
