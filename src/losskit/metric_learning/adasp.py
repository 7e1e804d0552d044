"""The Adaptive Sparse Pairwise loss (AdaSP) for re-identification, on any batch layout."""

from __future__ import annotations

from .._checks import check_choice
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import softplus, stop_gradient
from ._pairs import RowMask, batch_setup, gram, l2_normalize, masked_logsumexp, number, zero_graph

__all__ = ["adasp_loss"]

_ADASP_VARIANTS = ("adasp", "sp-h", "sp-lh")


def _adasp_core(q, lq, r, lr, offset, *, temperature, variant, eps, xp):
    """Per-query-row identity losses and their weights 1/K (K: identity's rows in q).

    Written over a (Bq, Br) matrix so that the same code serves the full batch (q is r)
    and the "local anchors against all references" form (q a slice of r).
    """
    qn = l2_normalize(q, xp, eps)
    rn = qn if r is q else l2_normalize(r, xp, eps)
    z = gram(qn, rn, xp) * (1.0 / temperature)  # s_ij / tau
    dtype = z.dtype
    same_qr = lq[:, None] == lr[None, :]  # includes the self-pair (i = j is in "i, j in c")
    pos_qr = RowMask(same_qr, dtype, xp)
    ids = pos_qr if r is q else RowMask(lq[:, None] == lq[None, :], dtype, xp)
    # row_i = log sum_{j in c} exp(-s_ij / tau) = -m_i / tau
    row = masked_logsumexp(-z, pos_qr, xp)
    # sum_{k != c} exp(N^{c,k}) = sum_{i in c, j not in c} exp(s_ij / tau): the identity
    # pairs collapse into one masked log-sum-exp over the rows, then over the identity.
    neg_row = masked_logsumexp(z, RowMask(xp.logical_not(same_qr), dtype, xp), xp)
    # The second sums run over the rows of the same identity, for every row (each row then
    # holds its identity's value), all three in one pass over a (3, B, B) stack:
    #   s_H / tau  = -log sum_{i in c} exp(row_i)      (= -log sum_{i, j in c} exp(-s_ij / tau))
    #   s_LH / tau =  log sum_{i in c} exp(m_i / tau)
    #   log sum_{k != c} exp(N^{c,k}) = log sum_{i in c} exp(neg_row_i)
    stacked = xp.stack([row, -row, neg_row])[:, None, :]
    a_h, s_lh_tau, n_c = xp.unstack(masked_logsumexp(stacked, ids, xp))
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
    formula=(
        r"L = \frac{1}{|C|}\sum_{c} \log\Big(1 + \sum_{k \ne c} e^{N^{c,k} - s_p^c/\tau}\Big),\ "
        r"N^{c,k} = \log\sum_{i\in c, j \in k} e^{s_{ij}/\tau},\ s_p^c = a\,s_H^c + (1-a)\,s_{LH}^c"
    ),
    reference=(
        "Xiao Zhou, Yujie Zhong, Zhen Cheng, Fan Liang, Lin Ma, Adaptive Sparse Pairwise Loss "
        "for Object Re-Identification, CVPR 2023, arXiv:2303.18247"
    ),
    aliases=("adasp", "sparse_pairwise_loss"),
    fast_paths=("metric_learning.torch_self_gram",),
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
        itself included). An empty batch gives 0; a NaN embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    temperature = number("temperature", temperature, low=0.0, low_open=True)
    check_choice("variant", variant, _ADASP_VARIANTS)
    return _adasp_from(x, labels, x, labels, 0, temperature=temperature, variant=variant,
                       reduction=reduction, xp=xp)


def _adasp_from(q, lq, r, lr, offset, *, temperature, variant, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    per_row, w = _adasp_core(q, lq, r, lr, offset, temperature=temperature, variant=variant, eps=1e-12, xp=xp)
    return reduce_loss(per_row, reduction, xp, weight=w)
