"""Metric learning: the Adaptive Sparse Pairwise loss (AdaSP) and its peers.

Every loss here takes a batch of ``embeddings`` (B, D) and integer identity ``labels`` (B,)
in **any order and any layout** (no P x K requirement, any number of samples per identity)
and works on a (B, B) similarity or distance matrix with boolean masks: no Python loop over
identities, no data-dependent shapes, so every loss runs under ``jax.jit`` and
``torch.compile``. The (B, B, D) difference tensor is never built: distances come from
``||a||^2 + ||b||^2 - 2 a.b`` (see :func:`pairwise_distance`).

The peers keep pytorch-metric-learning's (PML) meanings, so that a user can switch:

=================================  ===============================================
losskit                            pytorch-metric-learning 2.x
=================================  ===============================================
``batch_hard_triplet_loss``        ``TripletMarginLoss`` + ``BatchHardMiner``
``contrastive_loss``               ``ContrastiveLoss``
``circle_loss``                    ``CircleLoss``
``multi_similarity_loss``          ``MultiSimilarityLoss`` (no miner)
``nt_xent_loss``                   ``NTXentLoss`` with labels
``arcface_loss`` / ``cosface_loss``  ``ArcFaceLoss`` / ``CosFaceLoss``
=================================  ===============================================

including PML's reducers (``reduction="mean"`` returns the value PML returns).

Masked reductions use a finite fill value instead of ``-inf``: a row with nothing to reduce
(an anchor without negatives) then gives a finite value whose gradient is exactly zero,
where ``logsumexp`` over ``-inf`` entries would give ``0 * inf = NaN`` in the backward pass.
"""

from __future__ import annotations

import math

from array_api_compat import device as _device

from ._checks import (
    check_choice,
    check_floating,
    check_integer,
    check_labels_in_range,
    check_ndim,
    check_number,
    check_reduction,
)
from ._meta import loss
from ._reduce import reduce_loss
from ._xp import as_float, backend_name, is_traced, logsumexp, namespace, softplus, stop_gradient

__all__ = [
    "pairwise_cosine_similarity",
    "pairwise_distance",
    "adasp_loss",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "circle_loss",
    "multi_similarity_loss",
    "nt_xent_loss",
    "arcface_loss",
    "cosface_loss",
]

_DISTANCES = ("euclidean", "cosine")


# ----------------------------------------------------------------------------------------
# private helpers
# ----------------------------------------------------------------------------------------


def _fill(dtype, xp) -> float:
    """A finite stand-in for -inf in masked reductions.

    A quarter of the most negative float: far below any logit (so exp(fill - m) is 0),
    yet adding or subtracting logits or log(B) to it cannot overflow to -inf, and
    differences of two fills are 0, not inf - inf = NaN.
    """
    return float(xp.finfo(dtype).min) / 4.0


class _RowMask:
    """A boolean mask over the last axis with what every masked log-sum-exp over it needs,
    computed once (AdaSP reuses one mask three times)."""

    def __init__(self, mask, dtype, xp):
        self.mask = mask
        self.maskf = xp.astype(mask, dtype)
        has = xp.any(mask, axis=-1, keepdims=True)
        self.has = xp.squeeze(has, axis=-1)
        self.empty = xp.astype(xp.logical_not(has), dtype)  # 1 on rows with no entry
        self.fill = _fill(dtype, xp)


def _masked_logsumexp(x, rm: _RowMask, xp):
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


def _masked_max(x, mask, xp, axis: int = -1):
    """(max over ``mask``, row has any) with a finite fill for empty rows."""
    fill = _fill(x.dtype, xp)
    m = xp.max(xp.where(mask, x, xp.full_like(x, fill)), axis=axis)
    has = xp.any(mask, axis=axis)
    return xp.where(has, m, xp.zeros_like(m)), has


def _masked_min(x, mask, xp, axis: int = -1):
    m, has = _masked_max(-x, mask, xp, axis=axis)
    return -m, has


def _safe_sqrt(x, xp):
    """sqrt(x) for x >= 0 whose gradient is 0 (not inf) where x == 0.

    The distance of a point to itself (the diagonal of a distance matrix) is 0, and the
    derivative of sqrt there is infinite; ``0 * inf`` would then poison every gradient in
    the batch. The ``where`` takes the square root of 1 there, so both branches stay finite.
    """
    pos = x > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, x, xp.ones_like(x))), xp.zeros_like(x))


def _l2_normalize(x, xp, eps: float):
    """x / max(||x||, eps) row-wise (torch.nn.functional.normalize's convention).

    ``eps`` keeps a zero vector at zero instead of 0 / 0 = NaN; the maximum is taken on the
    squared norm so that the square root is never evaluated at 0 (infinite derivative).
    """
    sq = xp.sum(x * x, axis=-1, keepdims=True)
    # multiply by the (B, 1) reciprocal: cheaper than a (B, D) division, forward and backward
    return x * (1.0 / xp.sqrt(xp.maximum(sq, xp.full_like(sq, eps * eps))))


def _gram(a, b, xp):
    """a @ b.T; for b is a on torch, the symmetric fast path (:func:`_torch_self_gram`).

    Not under torch.compile: dynamo cannot trace the lazy class definition, and the
    compiled graph is optimised by inductor anyway.
    """
    if b is a and backend_name(xp) == "torch" and not is_traced(a):
        return _torch_self_gram()(a)
    return xp.matmul(a, xp.permute_dims(b, (1, 0)))


_SELF_GRAM = None


def _torch_self_gram():
    """x @ x.T with a one-matmul backward, (G + G^T) @ x, instead of autograd's two.

    The (B, B, D) products dominate every pair loss here (about 2/3 of the time at
    B = 256, D = 2048 on a CPU): generic autograd computes G @ x and G^T @ x and adds them.
    Pinned to the generic matmul (values and gradients) by the tests.
    """
    global _SELF_GRAM
    if _SELF_GRAM is None:
        import torch

        class _SelfGram(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x @ x.T

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                # under autocast the forward product (and so grad) may be bfloat16/float16
                # while x is float32: the gradient of x is computed and returned in x's dtype
                return (grad + grad.T).to(x.dtype) @ x

        _SELF_GRAM = _SelfGram.apply
    return _SELF_GRAM


def _sq_distances(a, b, xp):
    """||a_i - b_j||^2 from norms and one matmul, clamped at 0 (rounding can make it < 0)."""
    aa = xp.sum(a * a, axis=-1)
    bb = aa if b is a else xp.sum(b * b, axis=-1)
    d2 = aa[:, None] + bb[None, :] - 2.0 * _gram(a, b, xp)
    return xp.maximum(d2, xp.zeros_like(d2))


def _check_batch(embeddings, labels, xp):
    check_floating("embeddings", embeddings, xp)
    check_ndim("embeddings", embeddings, ndim=2)
    check_integer("labels", labels, xp)
    check_ndim("labels", labels, ndim=1)
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels: expected shape ({embeddings.shape[0]},) to match embeddings' batch size, "
            f"got {tuple(labels.shape)}"
        )
    return as_float(embeddings, xp)


def _eye_offset(nq: int, nr: int, offset: int, xp, device):
    """(nq, nr) boolean mask of the self-pairs: query row i is reference row offset + i."""
    iq = xp.arange(nq, device=device)
    ir = xp.arange(nr, device=device)
    return (iq[:, None] + offset) == ir[None, :]


def _pair_masks(lq, lr, offset: int, xp, device):
    """(same label, positive pair = same label and not itself, negative pair)."""
    same = lq[:, None] == lr[None, :]
    selfp = _eye_offset(lq.shape[0], lr.shape[0], offset, xp, device)
    return same, xp.logical_and(same, xp.logical_not(selfp)), xp.logical_not(same)


def _similarity(q, r, distance: str, normalize: bool, eps: float, xp, *, same_batch: bool):
    """(matrix, is_similarity): cosine similarity or Euclidean distance between rows."""
    if distance == "cosine":
        qn = _l2_normalize(q, xp, eps)
        rn = qn if same_batch else _l2_normalize(r, xp, eps)
        return _gram(qn, rn, xp), True
    if normalize:
        q = _l2_normalize(q, xp, eps)
        r = q if same_batch else _l2_normalize(r, xp, eps)
    return _safe_sqrt(_sq_distances(q, r, xp), xp), False


def _zero_graph(x, xp):
    """A (0,) array connected to ``x`` (empty batches keep the autograd graph)."""
    return xp.sum(x, axis=-1)[:0] * 0.0


# ----------------------------------------------------------------------------------------
# pairwise helpers (public)
# ----------------------------------------------------------------------------------------


def pairwise_cosine_similarity(x, y=None, *, eps: float = 1e-12):
    r"""Cosine similarity between every row of ``x`` and every row of ``y``.

    .. math::

        S_{ij} = \frac{x_i \cdot y_j}{\max(\lVert x_i\rVert, \epsilon)\,\max(\lVert y_j\rVert, \epsilon)}

    where

    - :math:`x_i, y_j` are rows of ``x`` and ``y`` (``y = x`` when omitted);
    - :math:`\epsilon` (``eps``) keeps a zero vector at zero (its similarity with anything is 0).

    Args:
        x: (N, D) floating array.
        y: (M, D) floating array of the same library, or ``None`` for ``x`` itself.
        eps: lower bound on the norms (``torch.nn.functional.normalize``'s convention).

    Returns:
        (N, M) array in the compute dtype of ``x`` (float32 for half/int input, float64 stays).

    One (N, D) x (D, M) matrix product; no (N, M, D) tensor is built.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
        >>> np.round(losskit.pairwise_cosine_similarity(x), 4).tolist()
        [[1.0, 0.7071, 0.0], [0.7071, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    xp = namespace(x, y)
    check_floating("x", x, xp)
    check_ndim("x", x, ndim=2)
    check_number("eps", eps, low=0.0, low_open=True)
    x = as_float(x, xp)
    if y is None:
        xn = _l2_normalize(x, xp, eps)
        return _gram(xn, xn, xp)
    check_floating("y", y, xp)
    check_ndim("y", y, ndim=2)
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"y: expected {x.shape[1]} columns like x, got shape {tuple(y.shape)}")
    y = as_float(y, xp, x.dtype)
    return _gram(_l2_normalize(x, xp, eps), _l2_normalize(y, xp, eps), xp)


def pairwise_distance(x, y=None, *, squared: bool = False):
    r"""Euclidean distance between every row of ``x`` and every row of ``y``.

    .. math::

        D_{ij} = \sqrt{\max(\lVert x_i\rVert^2 + \lVert y_j\rVert^2 - 2\,x_i\cdot y_j,\ 0)}

    where

    - :math:`x_i, y_j` are rows of ``x`` and ``y`` (``y = x`` when omitted);
    - the clamp at 0 removes the small negative values rounding produces for close points.

    Args:
        x: (N, D) floating array.
        y: (M, D) floating array of the same library, or ``None`` for ``x`` itself.
        squared: return :math:`D_{ij}^2` (no square root).

    Returns:
        (N, M) array in the compute dtype of ``x``.

    Computed from the norms and one matrix product (no (N, M, D) tensor). The square root has
    a zero gradient where the distance is exactly 0 (the diagonal when ``y`` is omitted, which
    is set to exactly 0), instead of the infinite derivative of sqrt at 0. Like
    ``torch.cdist``'s matrix-product path, close points lose relative precision (the
    difference of two large squared norms); compute in float64 when that matters.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> losskit.pairwise_distance(x).tolist()
        [[0.0, 5.0], [5.0, 0.0]]
    """
    xp = namespace(x, y)
    check_floating("x", x, xp)
    check_ndim("x", x, ndim=2)
    x = as_float(x, xp)
    if y is None:
        d2 = _sq_distances(x, x, xp)
        # The self-distance is exactly 0; rounding in the norm trick would leave ~1e-7.
        eye = _eye_offset(x.shape[0], x.shape[0], 0, xp, _device(x))
        d2 = xp.where(eye, xp.zeros_like(d2), d2)
    else:
        check_floating("y", y, xp)
        check_ndim("y", y, ndim=2)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"y: expected {x.shape[1]} columns like x, got shape {tuple(y.shape)}")
        d2 = _sq_distances(x, as_float(y, xp, x.dtype), xp)
    return d2 if squared else _safe_sqrt(d2, xp)


# ----------------------------------------------------------------------------------------
# AdaSP
# ----------------------------------------------------------------------------------------

_ADASP_VARIANTS = ("adasp", "sp-h", "sp-lh")


def _adasp_core(q, lq, r, lr, offset, *, temperature, variant, eps, xp):
    """Per-query-row identity losses and their weights 1/K (K: identity's rows in q).

    Written over a (Bq, Br) matrix so that the same code serves the full batch (q is r)
    and the "local anchors against all references" form (q a slice of r).
    """
    qn = _l2_normalize(q, xp, eps)
    rn = qn if r is q else _l2_normalize(r, xp, eps)
    z = _gram(qn, rn, xp) * (1.0 / temperature)  # s_ij / tau
    dtype = z.dtype
    same_qr = lq[:, None] == lr[None, :]  # includes the self-pair (i = j is in "i, j in c")
    pos_qr = _RowMask(same_qr, dtype, xp)
    ids = pos_qr if r is q else _RowMask(lq[:, None] == lq[None, :], dtype, xp)
    # row_i = log sum_{j in c} exp(-s_ij / tau) = -m_i / tau
    row = _masked_logsumexp(-z, pos_qr, xp)
    # sum_{k != c} exp(N^{c,k}) = sum_{i in c, j not in c} exp(s_ij / tau): the identity
    # pairs collapse into one masked log-sum-exp over the rows, then over the identity.
    neg_row = _masked_logsumexp(z, _RowMask(xp.logical_not(same_qr), dtype, xp), xp)
    # The second sums run over the rows of the same identity, for every row (each row then
    # holds its identity's value), all three in one pass over a (3, B, B) stack:
    #   s_H / tau  = -log sum_{i in c} exp(row_i)      (= -log sum_{i, j in c} exp(-s_ij / tau))
    #   s_LH / tau =  log sum_{i in c} exp(m_i / tau)
    #   log sum_{k != c} exp(N^{c,k}) = log sum_{i in c} exp(neg_row_i)
    stacked = xp.stack([row, -row, neg_row])[:, None, :]
    a_h, s_lh_tau, n_c = xp.unstack(_masked_logsumexp(stacked, ids, xp))
    s_h_tau = -a_h
    if variant == "sp-h":
        sp_tau = s_h_tau
    elif variant == "sp-lh":
        sp_tau = s_lh_tau
    else:
        # a = 2 s_H s_LH / (s_H + s_LH), 0 where s_H < 0: a weight, detached as in the paper
        # (Eq. 9 and the authors' code: it chooses the mix, it is not optimised).
        s_h = stop_gradient(s_h_tau * temperature, xp)
        s_lh = stop_gradient(s_lh_tau * temperature, xp)
        den = s_h + s_lh
        # s_H <= s_LH always, so with s_H >= 0 the denominator is 0 only when both are 0,
        # where the harmonic mean's limit is 0; the where keeps 0 / 0 out.
        ok = xp.logical_and(s_h >= 0, den > 0)
        a = xp.where(ok, 2.0 * s_h * s_lh / xp.where(ok, den, xp.ones_like(den)), xp.zeros_like(den))
        sp_tau = a * s_h_tau + (1.0 - a) * s_lh_tau
    # log(1 + sum_k exp(N^{c,k} - s_p / tau)) = softplus(logsumexp_k N^{c,k} - s_p / tau);
    # an identity without negatives has n_c = fill and a loss of exactly 0.
    per_row = softplus(n_c - sp_tau, xp)
    k = xp.sum(ids.maskf, axis=1)
    return per_row, 1.0 / k


@loss(
    family="metric_learning",
    formula=(
        r"L = \frac{1}{|C|}\sum_{c} \log\Big(1 + \sum_{k \ne c} e^{N^{c,k} - s_p^c/\tau}\Big),\ "
        r"N^{c,k} = \log\sum_{i\in c, j \in k} e^{s_{ij}/\tau},\ s_p^c = a\,s_H^c + (1-a)\,s_{LH}^c"
    ),
    reference=(
        "Xiao Zhou, Yujie Zhong, Zhen Cheng, Fan Liang, Lin Ma, Adaptive Sparse Pairwise Loss "
        "for Object Re-Identification, CVPR 2023, arXiv:2303.18247"
    ),
    aliases=("adasp", "sparse_pairwise_loss"),
    plot=None,
)
def adasp_loss(embeddings, labels, *, temperature: float = 0.04, variant: str = "adasp", reduction: str = "mean"):
    r"""Adaptive Sparse Pairwise loss (AdaSP) for re-identification, on any batch layout.

    Each identity contributes one term built from a *sparse* set of pairs: its hardest (or
    least-hard) positive similarity against the hardest negative similarity to every other
    identity, all as temperature-smoothed log-sum-exps:

    .. math::

        L = \frac{1}{|C|}\sum_{c \in C}
            \log\Big(1 + \sum_{k \ne c} \exp\big(N^{c,k} - s_p^c/\tau\big)\Big)

    where

    - :math:`s_{ij}` is the cosine similarity of samples :math:`i, j` (embeddings are
      L2-normalised); :math:`C` the identities present in the batch;
    - :math:`s_H^c = -\tau \log \sum_{i,j \in c} e^{-s_{ij}/\tau}` (hardest positive: a
      soft minimum over *all* intra-identity pairs, the self-pairs included);
    - :math:`m_i = -\tau\log\sum_{j \in c} e^{-s_{ij}/\tau}`,
      :math:`s_{LH}^c = \tau \log \sum_{i \in c} e^{m_i/\tau}` (least-hard positive);
    - :math:`N^{c,k} = \log\sum_{i\in c, j\in k} e^{s_{ij}/\tau}` (hardest negative between
      identities :math:`c` and :math:`k`);
    - ``variant="sp-h"``: :math:`s_p = s_H`; ``"sp-lh"``: :math:`s_p = s_{LH}`; ``"adasp"``:
      :math:`s_p = a s_H + (1-a) s_{LH}` with :math:`a = 2 s_H s_{LH} / (s_H + s_{LH})`
      (a constant for the gradient) and :math:`a = 0` where :math:`s_H < 0`.

    Args:
        embeddings: (B, D) floating array; any order, any number of samples per identity.
        labels: (B,) integer identity labels (any values; they are only compared).
        temperature: :math:`\tau > 0` (0.04 for person, 0.05 for vehicle re-id in the paper).
        variant: ``"adasp"`` (default), ``"sp-h"`` or ``"sp-lh"``.
        reduction: ``"mean"`` (over identities, the paper's), ``"sum"`` (over identities) or
            ``"none"``.

    Returns:
        A scalar, or for ``reduction="none"`` a (B,) array in which every sample holds an
        equal share :math:`L_c / K_c` of its identity's loss (:math:`K_c` its sample count),
        so that ``none.sum() == sum`` and ``mean == sum / |C|``. Compute dtype of
        ``embeddings`` (float32 for half input, float64 stays).

    Notes:
        The authors' code needs a P x K batch (each identity's K samples contiguous, the same
        K for all) and builds block masks with ``np.kron``. Here the two nested sums run over
        a label-equality mask, so any batch works; on P x K batches it is the same formula.
        The sum over negative identities collapses:
        :math:`\sum_{k\ne c} e^{N^{c,k}} = \sum_{i\in c,\, j\notin c} e^{s_{ij}/\tau}`.

        Degenerate batches: an identity with a single sample keeps its self-pair as its only
        positive (:math:`s_{ii} = 1`, so :math:`s_H = s_{LH} = 1`), as the paper's closed form
        and its code give; it is still an anchor against the other identities. A batch with
        one identity has no negatives: loss 0 with zero (finite) gradients. A zero embedding
        is normalised with ``eps = 1e-12`` to the zero vector (similarity 0 with everything,
        itself included). An empty batch gives 0.

    References:
        Zhou, Zhong, Cheng, Liang, Ma, "Adaptive Sparse Pairwise Loss for Object
        Re-Identification", CVPR 2023, arXiv:2303.18247.

    Example:
        Two identities whose samples coincide (s = 1 within, 0 across) at tau = 1:
        s_H = 1 - log 4 < 0, so a = 0 and s_p = s_LH = 1; N = log 4; L = log(1 + 4/e).

        >>> import numpy as np, losskit
        >>> e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> round(float(losskit.adasp_loss(e, y, temperature=1.0)), 6)
        0.904832
        >>> round(float(np.log1p(4 / np.e)), 6)
        0.904832
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("temperature", temperature, low=0.0, low_open=True)
    check_choice("variant", variant, _ADASP_VARIANTS)
    return _adasp_from(x, labels, x, labels, 0, temperature=temperature, variant=variant,
                       reduction=reduction, xp=xp)


def _adasp_from(q, lq, r, lr, offset, *, temperature, variant, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    per_row, w = _adasp_core(q, lq, r, lr, offset, temperature=temperature, variant=variant, eps=1e-12, xp=xp)
    return reduce_loss(per_row, reduction, xp, weight=w)


# ----------------------------------------------------------------------------------------
# batch-hard triplet
# ----------------------------------------------------------------------------------------


@loss(
    family="metric_learning",
    formula=(
        r"\ell_a = [\max_{p: y_p = y_a} d_{ap} - \min_{n: y_n \ne y_a} d_{an} + m]_+,\ "
        r"L = \mathrm{mean}_{a: \ell_a > 0}\, \ell_a"
    ),
    reference=(
        "Alexander Hermans, Lucas Beyer, Bastian Leibe, In Defense of the Triplet Loss for "
        "Person Re-Identification, 2017, arXiv:1703.07737"
    ),
    aliases=("batch_hard_triplet", "triplet_batch_hard"),
    plot=None,
)
def batch_hard_triplet_loss(
    embeddings,
    labels,
    *,
    margin: float = 0.05,
    distance: str = "euclidean",
    normalize: bool = True,
    soft: bool = False,
    reduction: str = "mean",
):
    r"""Triplet margin loss on each anchor's hardest positive and hardest negative.

    .. math::

        \ell_a = h\big(d_{a p^*} - d_{a n^*} + m\big), \qquad
        L = \frac{1}{|\{a: \ell_a > 0\}|} \sum_a \ell_a

    where

    - :math:`d` is the Euclidean distance (of L2-normalised embeddings unless
      ``normalize=False``), or for ``distance="cosine"`` the negated cosine similarity
      (:math:`\ell_a = h(s_{an^*} - s_{ap^*} + m)`);
    - :math:`p^*` is the farthest sample with the anchor's label (itself excluded),
      :math:`n^*` the closest sample with another label; anchors without either are skipped;
    - :math:`h(x) = \max(x, 0)`, or :math:`\log(1 + e^x)` when ``soft=True``;
    - the mean runs over the anchors with a positive loss (PML's ``AvgNonZeroReducer``); 0
      when there is none.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer labels.
        margin: :math:`m` (PML's default 0.05; re-id code often uses 0.3).
        distance: ``"euclidean"`` or ``"cosine"``.
        normalize: L2-normalise the embeddings before Euclidean distances (PML's
            ``LpDistance`` default); ``False`` gives raw distances as in Hermans et al.
        soft: softplus instead of the hinge (PML's ``smooth_loss``; with ``margin=0`` it is
            Hermans et al.'s soft margin).
        reduction: ``"mean"`` (over anchors with a positive loss), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-anchor losses for ``"none"`` (0 for anchors without a positive
        or a negative). Compute dtype of ``embeddings``.

    Notes:
        Equals PML's ``TripletMarginLoss(margin)`` fed the triplets of ``BatchHardMiner()``
        (same distance object). The max/min select one pair per anchor, so the gradient
        flows only through those two distances. A batch with one identity, or with all
        identities distinct, has no valid triplet: loss 0 with zero gradients.

    References:
        Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person
        Re-Identification", 2017, arXiv:1703.07737.

    Example:
        Points 0, 1 | 3, 4 on a line, margin 1.5: the inner anchors (1 and 3) have their
        positive at 1 and nearest negative at 2: 1 - 2 + 1.5 = 0.5; the outer ones give
        1 - 3 + 1.5 < 0, a zero loss, left out of the mean.

        >>> import numpy as np, losskit
        >>> e = np.array([[0.0], [1.0], [3.0], [4.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> float(losskit.batch_hard_triplet_loss(e, y, margin=1.5, normalize=False))
        0.5
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("margin", margin)
    check_choice("distance", distance, _DISTANCES)
    check_choice("normalize", normalize, (True, False))
    check_choice("soft", soft, (True, False))
    return _triplet_from(x, labels, x, labels, 0, margin=margin, distance=distance,
                         normalize=normalize, soft=soft, reduction=reduction, xp=xp)


def _triplet_from(q, lq, r, lr, offset, *, margin, distance, normalize, soft, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    mat, is_sim = _similarity(q, r, distance, normalize, 1e-12, xp, same_batch=r is q)
    _, pos, neg = _pair_masks(lq, lr, offset, xp, _device(q))
    if is_sim:
        ap, has_p = _masked_min(mat, pos, xp, axis=1)  # hardest positive: least similar
        an, has_n = _masked_max(mat, neg, xp, axis=1)  # hardest negative: most similar
        violation = an - ap + margin
    else:
        ap, has_p = _masked_max(mat, pos, xp, axis=1)
        an, has_n = _masked_min(mat, neg, xp, axis=1)
        violation = ap - an + margin
    valid = xp.logical_and(has_p, has_n)
    per = softplus(violation, xp) if soft else xp.maximum(violation, xp.zeros_like(violation))
    per = xp.where(valid, per, xp.zeros_like(per))
    # PML's AvgNonZeroReducer: average over the triplets whose loss is > 0.
    return reduce_loss(per, reduction, xp, weight=xp.astype(per > 0, per.dtype))


# ----------------------------------------------------------------------------------------
# contrastive
# ----------------------------------------------------------------------------------------


@loss(
    family="metric_learning",
    formula=(
        r"L = \mathrm{mean}^{+}_{(i,j): y_i = y_j} [d_{ij} - m_p]_+ "
        r"+ \mathrm{mean}^{+}_{(i,j): y_i \ne y_j} [m_n - d_{ij}]_+"
    ),
    reference=(
        "Raia Hadsell, Sumit Chopra, Yann LeCun, Dimensionality Reduction by Learning an "
        "Invariant Mapping, CVPR 2006"
    ),
    aliases=("contrastive", "pair_margin_loss"),
    plot=None,
)
def contrastive_loss(
    embeddings,
    labels,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    distance: str = "euclidean",
    normalize: bool = True,
    reduction: str = "mean",
):
    r"""Contrastive (pair margin) loss over all pairs of the batch.

    .. math::

        L = \operatorname{mean}^{+}_{(i,j) \in P} [d_{ij} - m_p]_+
          + \operatorname{mean}^{+}_{(i,j) \in N} [m_n - d_{ij}]_+

    where

    - :math:`P` are the ordered pairs with equal labels (:math:`i \ne j`), :math:`N` those
      with different labels;
    - :math:`d` is the Euclidean distance (of L2-normalised embeddings unless
      ``normalize=False``); for ``distance="cosine"`` the similarity :math:`s` is used with
      the inequalities reversed: :math:`[m_p - s]_+` and :math:`[s - m_n]_+`;
    - :math:`\operatorname{mean}^{+}` averages over the pairs with a positive loss (PML's
      ``AvgNonZeroReducer``, applied to the positive and the negative part separately);
      an empty part counts 0.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer labels.
        pos_margin: :math:`m_p` (positive pairs closer than it cost nothing).
        neg_margin: :math:`m_n` (negative pairs farther than it cost nothing).
        distance: ``"euclidean"`` or ``"cosine"`` (then set e.g. ``pos_margin=1,
            neg_margin=0``, as with PML's ``CosineSimilarity``).
        normalize: L2-normalise before Euclidean distances (PML's default).
        reduction: ``"mean"`` (as above), ``"sum"`` (sum over all pairs) or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` the (B, B) matrix of per-pair losses (0 on the diagonal).
        Compute dtype of ``embeddings``.

    Notes:
        Hadsell et al. write :math:`\tfrac12 d^2` and :math:`\tfrac12 [m - d]_+^2`; this is
        PML's ``ContrastiveLoss`` (unsquared, two margins, non-zero averaging), whose value it
        reproduces.

    References:
        Hadsell, Chopra, LeCun, "Dimensionality Reduction by Learning an Invariant Mapping",
        CVPR 2006.

    Example:
        Positive pairs at distance 1 (margin 0: loss 1); negatives at 2 and 3 (margin 2.5:
        0.5 and 0; the 0 is not averaged): L = 1 + 0.5.

        >>> import numpy as np, losskit
        >>> e = np.array([[0.0], [1.0], [3.0]])
        >>> y = np.array([0, 0, 1])
        >>> float(losskit.contrastive_loss(e, y, neg_margin=2.5, normalize=False))
        1.5
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("pos_margin", pos_margin)
    check_number("neg_margin", neg_margin)
    check_choice("distance", distance, _DISTANCES)
    check_choice("normalize", normalize, (True, False))
    return _contrastive_from(x, labels, x, labels, 0, pos_margin=pos_margin, neg_margin=neg_margin,
                             distance=distance, normalize=normalize, reduction=reduction, xp=xp)


def _nonzero_mean(values, mask, xp):
    """Mean of ``values`` over ``mask`` entries that are > 0 (0 if none), graph kept."""
    w = xp.astype(xp.logical_and(mask, values > 0), values.dtype)
    total = xp.sum(values * w)
    n = xp.sum(w)
    return total / xp.maximum(n, xp.ones_like(n))


def _contrastive_from(q, lq, r, lr, offset, *, pos_margin, neg_margin, distance, normalize, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    mat, is_sim = _similarity(q, r, distance, normalize, 1e-12, xp, same_batch=r is q)
    _, pos, neg = _pair_masks(lq, lr, offset, xp, _device(q))
    zero = xp.zeros_like(mat)
    if is_sim:
        pos_l = xp.maximum(pos_margin - mat, zero)
        neg_l = xp.maximum(mat - neg_margin, zero)
    else:
        pos_l = xp.maximum(mat - pos_margin, zero)
        neg_l = xp.maximum(neg_margin - mat, zero)
    pos_l = xp.where(pos, pos_l, zero)
    neg_l = xp.where(neg, neg_l, zero)
    if reduction == "mean":
        return _nonzero_mean(pos_l, pos, xp) + _nonzero_mean(neg_l, neg, xp)
    return reduce_loss(pos_l + neg_l, reduction, xp)


# ----------------------------------------------------------------------------------------
# circle
# ----------------------------------------------------------------------------------------


@loss(
    family="metric_learning",
    formula=(
        r"\ell_a = \log\Big(1 + \sum_{n} e^{\gamma \alpha_n (s_n - m)} \sum_{p} e^{-\gamma \alpha_p (s_p - 1 + m)}\Big),\ "
        r"\alpha_p = [1 + m - s_p]_+,\ \alpha_n = [s_n + m]_+"
    ),
    reference=(
        "Yifan Sun, Changmao Cheng, Yuhan Zhang, Chi Zhang, Liang Zheng, Zhongdao Wang, Yichen Wei, "
        "Circle Loss: A Unified Perspective of Pair Similarity Optimization, CVPR 2020, arXiv:2002.10857"
    ),
    aliases=("circle",),
    plot=None,
)
def circle_loss(embeddings, labels, *, m: float = 0.25, gamma: float = 256.0, reduction: str = "mean"):
    r"""Circle loss (pair form) on cosine similarities.

    .. math::

        \ell_a = \log\Big(1 + \sum_{n} e^{\gamma \alpha_n (s_{an} - \Delta_n)}
                              \sum_{p} e^{-\gamma \alpha_p (s_{ap} - \Delta_p)}\Big)

    where

    - :math:`s` is the cosine similarity; :math:`p` runs over the anchor's positives (same
      label, itself excluded), :math:`n` over its negatives;
    - :math:`\alpha_p = [1 + m - s_{ap}]_+`, :math:`\alpha_n = [s_{an} + m]_+` are constants
      for the gradient (the authors' code and PML detach them);
    - :math:`\Delta_p = 1 - m`, :math:`\Delta_n = m`; :math:`\gamma` the scale;
    - :math:`L` averages :math:`\ell_a` over the anchors with at least one positive and one
      negative and a loss > 0 (PML's ``AvgNonZeroReducer``).

    Args:
        embeddings: (B, D) floating array (normalised inside).
        labels: (B,) integer labels.
        m: relaxation margin (0.25 face recognition and re-id in the paper).
        gamma: scale (256 face recognition, 128 re-id, 80 fine-grained retrieval).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-anchor losses for ``"none"`` (0 for anchors without positives
        or negatives). Compute dtype of ``embeddings``.

    Notes:
        Defaults follow the paper's face-recognition setting (m = 0.25, gamma = 256); PML's
        ``CircleLoss`` defaults to m = 0.4, gamma = 80: pass them to reproduce PML's default.

    References:
        Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization",
        CVPR 2020, arXiv:2002.10857.

    Example:
        Positive similarity 1 and negative 0 with m = 0.25, gamma = 4: alpha_p = 0.25,
        alpha_n = 0.25; exponents 4 * 0.25 * (0 - 0.25) = -0.25 and
        -4 * 0.25 * (1 - 0.75) = -0.25; each anchor has one positive and two negatives, so
        it gives log(1 + 2 exp(-0.5)).

        >>> import numpy as np, losskit
        >>> e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> round(float(losskit.circle_loss(e, y, m=0.25, gamma=4.0)), 6)
        0.794377
        >>> round(float(np.log1p(2 * np.exp(-0.5))), 6)
        0.794377
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("m", m)
    check_number("gamma", gamma, low=0.0, low_open=True)
    return _circle_from(x, labels, x, labels, 0, m=m, gamma=gamma, reduction=reduction, xp=xp)


def _circle_from(q, lq, r, lr, offset, *, m, gamma, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    s, _ = _similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    _, pos, neg = _pair_masks(lq, lr, offset, xp, _device(q))
    sd = stop_gradient(s, xp)  # alpha_p, alpha_n: self-paced weights, constants (see docstring)
    zero = xp.zeros_like(s)
    logit_p = -gamma * xp.maximum(1.0 + m - sd, zero) * (s - (1.0 - m))
    logit_n = gamma * xp.maximum(sd + m, zero) * (s - m)
    lse_p = _masked_logsumexp(logit_p, _RowMask(pos, s.dtype, xp), xp)
    lse_n = _masked_logsumexp(logit_n, _RowMask(neg, s.dtype, xp), xp)
    valid = xp.logical_and(xp.any(pos, axis=1), xp.any(neg, axis=1))
    # Invalid rows: the fills make the softplus argument hugely negative (loss 0); the
    # where zeroes them exactly, with a zero gradient.
    zrow = xp.zeros_like(lse_p)
    per = softplus(xp.where(valid, lse_p + lse_n, zrow), xp)
    per = xp.where(valid, per, zrow)
    return reduce_loss(per, reduction, xp, weight=xp.astype(per > 0, per.dtype))


# ----------------------------------------------------------------------------------------
# multi-similarity
# ----------------------------------------------------------------------------------------


@loss(
    family="metric_learning",
    formula=(
        r"\ell_a = \frac{1}{\alpha}\log\Big(1 + \sum_{p} e^{-\alpha (s_{ap} - \lambda)}\Big) "
        r"+ \frac{1}{\beta}\log\Big(1 + \sum_{n} e^{\beta (s_{an} - \lambda)}\Big)"
    ),
    reference=(
        "Xun Wang, Xintong Han, Weilin Huang, Dengke Dong, Matthew R. Scott, Multi-Similarity Loss "
        "with General Pair Weighting for Deep Metric Learning, CVPR 2019, arXiv:1904.06627"
    ),
    aliases=("multi_similarity", "ms_loss"),
    plot=None,
)
def multi_similarity_loss(
    embeddings, labels, *, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, reduction: str = "mean"
):
    r"""Multi-similarity loss (without its pair-mining step) on cosine similarities.

    .. math::

        \ell_a = \frac{1}{\alpha}\log\Big(1 + \sum_{p} e^{-\alpha (s_{ap} - \lambda)}\Big)
               + \frac{1}{\beta}\log\Big(1 + \sum_{n} e^{\beta (s_{an} - \lambda)}\Big),
        \qquad L = \frac{1}{B}\sum_a \ell_a

    where

    - :math:`s` is the cosine similarity; :math:`p` runs over the anchor's positives (itself
      excluded), :math:`n` over its negatives (an empty sum gives 0);
    - :math:`\alpha, \beta` weight positives and negatives; :math:`\lambda` is ``base``.

    Args:
        embeddings: (B, D) floating array (normalised inside).
        labels: (B,) integer labels.
        alpha, beta, base: the paper's :math:`\alpha = 2`, :math:`\beta = 50`,
            :math:`\lambda = 0.5` by default (PML's defaults too).
        reduction: ``"mean"`` (over all B anchors, PML's ``MeanReducer``), ``"sum"`` or
            ``"none"``.

    Returns:
        A scalar, or (B,) per-anchor losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        The paper first mines informative pairs (with margin :math:`\epsilon`); PML splits that
        into ``MultiSimilarityMiner``. This is PML's ``MultiSimilarityLoss`` used alone: all
        pairs are kept.

    References:
        Wang, Han, Huang, Dong, Scott, "Multi-Similarity Loss with General Pair Weighting for
        Deep Metric Learning", CVPR 2019, arXiv:1904.06627.

    Example:
        Positive similarity 1, negative 0, alpha = beta = 1, base 0.5; each anchor has one
        positive and two negatives: log(1 + e^-0.5) + log(1 + 2 e^-0.5).

        >>> import numpy as np, losskit
        >>> e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> round(float(losskit.multi_similarity_loss(e, y, alpha=1.0, beta=1.0)), 6)
        1.268454
        >>> round(float(np.log1p(np.exp(-0.5)) + np.log1p(2 * np.exp(-0.5))), 6)
        1.268454
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("alpha", alpha, low=0.0, low_open=True)
    check_number("beta", beta, low=0.0, low_open=True)
    check_number("base", base)
    return _ms_from(x, labels, x, labels, 0, alpha=alpha, beta=beta, base=base, reduction=reduction, xp=xp)


def _ms_from(q, lq, r, lr, offset, *, alpha, beta, base, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    s, _ = _similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    _, pos, neg = _pair_masks(lq, lr, offset, xp, _device(q))
    # log(1 + sum exp) = softplus(logsumexp); an empty mask gives the fill -> softplus = 0.
    pos_l = softplus(_masked_logsumexp(-alpha * (s - base), _RowMask(pos, s.dtype, xp), xp), xp) / alpha
    neg_l = softplus(_masked_logsumexp(beta * (s - base), _RowMask(neg, s.dtype, xp), xp), xp) / beta
    return reduce_loss(pos_l + neg_l, reduction, xp)


# ----------------------------------------------------------------------------------------
# NT-Xent (supervised)
# ----------------------------------------------------------------------------------------


@loss(
    family="metric_learning",
    formula=(
        r"\ell_{ap} = -\log\frac{e^{s_{ap}/\tau}}{e^{s_{ap}/\tau} + \sum_{n: y_n \ne y_a} e^{s_{an}/\tau}},\ "
        r"L = \mathrm{mean}_{(a,p): y_a = y_p, a \ne p}\ \ell_{ap}"
    ),
    reference=(
        "Ting Chen, Simon Kornblith, Mohammad Norouzi, Geoffrey Hinton, A Simple Framework for "
        "Contrastive Learning of Visual Representations, ICML 2020, arXiv:2002.05709"
    ),
    aliases=("nt_xent", "ntxent"),
    plot=None,
)
def nt_xent_loss(embeddings, labels, *, temperature: float = 0.07, reduction: str = "mean"):
    r"""NT-Xent (normalised temperature-scaled cross-entropy) with label-defined positives.

    .. math::

        \ell_{ap} = -\log\frac{e^{s_{ap}/\tau}}{e^{s_{ap}/\tau} + \sum_{n} e^{s_{an}/\tau}},
        \qquad L = \frac{1}{|P|}\sum_{(a,p) \in P} \ell_{ap}

    where

    - :math:`s` is the cosine similarity, :math:`\tau` the temperature;
    - :math:`P` are the ordered positive pairs (same label, :math:`a \ne p`); :math:`n` runs
      over the anchor's negatives (other labels). Other positives of the anchor are in neither
      numerator nor denominator.

    Args:
        embeddings: (B, D) floating array (normalised inside). For SimCLR, give the two views
            of sample k the same label k.
        labels: (B,) integer labels.
        temperature: :math:`\tau > 0` (0.07 as PML; SimCLR used 0.1 to 0.5).
        reduction: ``"mean"`` (over positive pairs, PML's ``MeanReducer``), ``"sum"`` or
            ``"none"``.

    Returns:
        A scalar, or for ``"none"`` the (B, B) matrix with :math:`\ell_{ap}` at the positive
        pairs and 0 elsewhere. Compute dtype of ``embeddings``.

    Notes:
        This is PML's ``NTXentLoss`` with labels. It is not SupCon (Khosla et al. 2020,
        arXiv:2004.11362), whose denominator holds all other samples, positives included.
        A batch without positive pairs gives 0; a batch with one label has no negatives:
        every pair costs log(1) = 0.

    References:
        Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning of
        Visual Representations", ICML 2020, arXiv:2002.05709.

    Example:
        Positives at similarity 1, one negative at 0 per anchor, tau = 1:
        -log(e / (e + 1)) = log(1 + 1/e).

        >>> import numpy as np, losskit
        >>> e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> y = np.array([0, 0, 1])
        >>> round(float(losskit.nt_xent_loss(e, y, temperature=1.0)), 6)
        0.313262
        >>> round(float(np.log1p(1 / np.e)), 6)
        0.313262
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels)
    x = _check_batch(embeddings, labels, xp)
    check_number("temperature", temperature, low=0.0, low_open=True)
    return _ntxent_from(x, labels, x, labels, 0, temperature=temperature, reduction=reduction, xp=xp)


def _ntxent_from(q, lq, r, lr, offset, *, temperature, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(_zero_graph(q, xp), reduction, xp)
    s, _ = _similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    z = s / temperature
    _, pos, neg = _pair_masks(lq, lr, offset, xp, _device(q))
    neg_lse = _masked_logsumexp(z, _RowMask(neg, z.dtype, xp), xp)  # fill (loss 0) without negatives
    # -log(e^p / (e^p + sum e^n)) = log(1 + sum e^(n - p)) = softplus(lse_n - p)
    per_pair = softplus(neg_lse[:, None] - z, xp)
    per_pair = xp.where(pos, per_pair, xp.zeros_like(per_pair))
    return reduce_loss(per_pair, reduction, xp, weight=xp.astype(pos, per_pair.dtype))


# ----------------------------------------------------------------------------------------
# ArcFace / CosFace
# ----------------------------------------------------------------------------------------


def _margin_softmax_setup(embeddings, labels, weight, xp):
    x = _check_batch(embeddings, labels, xp)
    check_floating("weight", weight, xp)
    check_ndim("weight", weight, ndim=2)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight: expected shape (num_classes, {x.shape[1]}) matching the embedding size, "
            f"got {tuple(weight.shape)}"
        )
    check_labels_in_range("labels", labels, weight.shape[0])
    w = as_float(weight, xp, x.dtype)
    cos = _gram(_l2_normalize(x, xp, 1e-12), _l2_normalize(w, xp, 1e-12), xp)  # (B, C)
    classes = xp.arange(weight.shape[0], dtype=labels.dtype, device=_device(x))
    onehot = labels[:, None] == classes[None, :]
    target = xp.sum(xp.where(onehot, cos, xp.zeros_like(cos)), axis=1)
    return cos, onehot, target


def _margin_softmax_ce(cos, onehot, target, new_target, scale, reduction, xp):
    logits = scale * xp.where(onehot, new_target[:, None], cos)
    per = logsumexp(logits, xp, axis=1) - scale * new_target
    return reduce_loss(per, reduction, xp)


@loss(
    family="metric_learning",
    formula=(
        r"\ell_i = -\log\frac{e^{s \cos(\theta_{y_i} + m)}}{e^{s \cos(\theta_{y_i} + m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Jiankang Deng, Jia Guo, Niannan Xue, Stefanos Zafeiriou, ArcFace: Additive Angular Margin "
        "Loss for Deep Face Recognition, CVPR 2019, arXiv:1801.07698"
    ),
    aliases=("arcface", "additive_angular_margin_loss"),
    plot=None,
)
def arcface_loss(embeddings, labels, weight, *, margin: float = 0.5, scale: float = 64.0, reduction: str = "mean"):
    r"""ArcFace: softmax cross-entropy with an additive angular margin on the target class.

    .. math::

        \ell_i = -\log\frac{e^{s\,\psi(\theta_{y_i})}}
                           {e^{s\,\psi(\theta_{y_i})} + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    where

    - :math:`\cos\theta_j` is the cosine between embedding :math:`i` and class centre
      :math:`W_j` (both L2-normalised);
    - :math:`\psi(\theta) = \cos(\theta + m)` for :math:`\theta \le \pi - m`, else
      :math:`\cos\theta - m \sin m` (keeps the target logit decreasing in :math:`\theta`);
    - :math:`m` the margin in radians, :math:`s` the scale.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        weight: (C, D) class-centre matrix (the layer's weight; a parameter you train).
        margin: :math:`m` in **radians** (0.5, the paper's). PML's ``ArcFaceLoss`` takes
            degrees (28.6 by default, about 0.4992 rad).
        scale: :math:`s` (64).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        :math:`\cos(\theta + m)` is computed as :math:`c\cos m - \sqrt{1 - c^2}\sin m`,
        without ``acos``; the square root has a zero gradient where :math:`c = \pm 1` exactly
        (acos and sqrt have an infinite derivative there). The fallback branch beyond
        :math:`\pi - m` is PML's and insightface's (``easy_margin=False``). Note PML stores
        its weight as (D, C); here it is (C, D) like ``nn.Linear``.

    References:
        Deng, Guo, Xue, Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face
        Recognition", CVPR 2019, arXiv:1801.07698.

    Example:
        One embedding on its class centre (theta = 0) and orthogonal to the other; m = pi/2,
        s = 1: psi = cos(pi/2) = 0, so the loss is log(e^0 + e^0) = log 2.

        >>> import numpy as np, losskit
        >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.arcface_loss(np.array([[2.0, 0.0]]), np.array([0]), w,
        ...                                  margin=np.pi / 2, scale=1.0)), 6)
        0.693147
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels, weight)
    check_number("margin", margin, low=0.0, high=math.pi / 2)
    check_number("scale", scale, low=0.0, low_open=True)
    cos, onehot, c = _margin_softmax_setup(embeddings, labels, weight, xp)
    one = xp.ones_like(c)
    sin = _safe_sqrt(xp.maximum(one - c * c, xp.zeros_like(c)), xp)
    cos_m = c * math.cos(margin) - sin * math.sin(margin)
    # theta <= pi - m  <=>  c >= cos(pi - m) = -cos(m)
    psi = xp.where(c >= -math.cos(margin), cos_m, c - margin * math.sin(margin))
    return _margin_softmax_ce(cos, onehot, c, psi, scale, reduction, xp)


@loss(
    family="metric_learning",
    formula=(
        r"\ell_i = -\log\frac{e^{s (\cos\theta_{y_i} - m)}}{e^{s (\cos\theta_{y_i} - m)} + "
        r"\sum_{j \ne y_i} e^{s \cos\theta_j}}"
    ),
    reference=(
        "Hao Wang, Yitong Wang, Zheng Zhou, Xing Ji, Dihong Gong, Jingchao Zhou, Zhifeng Li, Wei Liu, "
        "CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018, arXiv:1801.09414"
    ),
    aliases=("cosface", "large_margin_cosine_loss"),
    plot=None,
)
def cosface_loss(embeddings, labels, weight, *, margin: float = 0.35, scale: float = 64.0, reduction: str = "mean"):
    r"""CosFace: softmax cross-entropy with an additive cosine margin on the target class.

    .. math::

        \ell_i = -\log\frac{e^{s(\cos\theta_{y_i} - m)}}
                           {e^{s(\cos\theta_{y_i} - m)} + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    where

    - :math:`\cos\theta_j` is the cosine between embedding :math:`i` and class centre
      :math:`W_j` (both L2-normalised);
    - :math:`m` the cosine margin, :math:`s` the scale.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        weight: (C, D) class-centre matrix.
        margin: :math:`m` (0.35, as the paper and PML).
        scale: :math:`s` (64, as PML).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``embeddings``.

    Notes:
        PML's ``CosFaceLoss`` stores its weight as (D, C); here it is (C, D).

    References:
        Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018,
        arXiv:1801.09414.

    Example:
        On its class centre, orthogonal to the other, m = 1, s = 1: logits (0, 0), log 2.

        >>> import numpy as np, losskit
        >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.cosface_loss(np.array([[2.0, 0.0]]), np.array([0]), w,
        ...                                  margin=1.0, scale=1.0)), 6)
        0.693147
    """
    check_reduction(reduction)
    xp = namespace(embeddings, labels, weight)
    check_number("margin", margin)
    check_number("scale", scale, low=0.0, low_open=True)
    cos, onehot, c = _margin_softmax_setup(embeddings, labels, weight, xp)
    return _margin_softmax_ce(cos, onehot, c, c - margin, scale, reduction, xp)


# The "local anchors against all references" forms used by losskit.torch.distributed:
# f(queries, query_labels, references, reference_labels, offset, **options, xp=xp), where
# query row i is reference row offset + i; options are the public function's keyword-only
# options (defaults from its signature).
_ANCHOR_FORMS = {
    "adasp_loss": _adasp_from,
    "batch_hard_triplet_loss": _triplet_from,
    "contrastive_loss": _contrastive_from,
    "circle_loss": _circle_from,
    "multi_similarity_loss": _ms_from,
    "nt_xent_loss": _ntxent_from,
}
