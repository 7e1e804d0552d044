"""Pair losses of metric learning on a (B, B) distance or similarity matrix: batch-hard
triplet, contrastive, circle and multi-similarity (pytorch-metric-learning's meanings)."""

from __future__ import annotations

from .._checks import check_choice
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import softplus, stop_gradient
from ._pairs import (
    DISTANCES,
    RowMask,
    batch_setup,
    device_of,
    flag,
    masked_logsumexp,
    masked_max,
    masked_min,
    number,
    pair_masks,
    positive_beyond,
    similarity,
    tie_ulps,
    zero_graph,
)

__all__ = ["batch_hard_triplet_loss", "contrastive_loss", "circle_loss", "multi_similarity_loss"]



# ----------------------------------------------------------------------------------------
# batch-hard triplet
# ----------------------------------------------------------------------------------------


@loss(
    formula=(
        r"\ell_a = [\max_{p: y_p = y_a} d_{ap} - \min_{n: y_n \ne y_a} d_{an} + m]_+,\ "
        r"L = \mathrm{mean}_{a: \ell_a > 0}\, \ell_a"
    ),
    reference=(
        "Alexander Hermans, Lucas Beyer, Bastian Leibe, In Defense of the Triplet Loss for "
        "Person Re-Identification, 2017, arXiv:1703.07737"
    ),
    aliases=("batch_hard_triplet", "triplet_batch_hard"),
    fast_paths=("metric_learning.torch_self_gram",),
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

        Rounding ties: a hinge within the rounding error of the distances it compares
        (duplicate, collinear or zero embeddings, ``margin=0``) is exactly 0 and is not
        counted, on every library alike (see :mod:`losskit.metric_learning`). A NaN
        embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    margin = number("margin", margin)
    check_choice("distance", distance, DISTANCES)
    flag("normalize", normalize)
    flag("soft", soft)
    return _triplet_from(x, labels, x, labels, 0, margin=margin, distance=distance,
                         normalize=normalize, soft=soft, reduction=reduction, xp=xp)


def _triplet_from(q, lq, r, lr, offset, *, margin, distance, normalize, soft, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    mat, err, is_sim = similarity(q, r, distance, normalize, 1e-12, xp, same_batch=r is q)
    _, pos, neg = pair_masks(lq, lr, offset, xp, device_of(q))
    if is_sim:
        ap, has_p = masked_min(mat, pos, xp, axis=1)  # hardest positive: least similar
        an, has_n = masked_max(mat, neg, xp, axis=1)  # hardest negative: most similar
        violation = an - ap + margin
    else:
        ap, has_p = masked_max(mat, pos, xp, axis=1)
        an, has_n = masked_min(mat, neg, xp, axis=1)
        violation = ap - an + margin
    valid = xp.logical_and(has_p, has_n)
    zero = xp.zeros_like(violation)
    if soft:
        per = xp.where(valid, softplus(violation, xp), zero)
        # softplus is positive unless it underflows; a NaN counts (so that it reaches the
        # sum: a compiler may turn NaN * 0 into 0)
        counted = positive_beyond(per, 0.0, xp)
    else:
        # The tie rule (see _pairs): a violation within the rounding error of the two
        # selected entries and of the sum is exactly 0, on every backend.
        u = tie_ulps(q.shape[-1]) * float(xp.finfo(mat.dtype).eps)
        size = xp.abs(stop_gradient(ap, xp)) + xp.abs(stop_gradient(an, xp)) + abs(margin)
        tol = _selected(err, mat, ap, pos, xp) + _selected(err, mat, an, neg, xp) + u * size
        counted = xp.logical_and(valid, positive_beyond(violation, tol, xp))
        per = xp.where(counted, violation, zero)
    # PML's AvgNonZeroReducer: average over the triplets whose loss is > 0.
    return reduce_loss(per, reduction, xp, weight=xp.astype(counted, per.dtype))


def _selected(err, mat, value, mask, xp):
    """The rounding error of the entry of each row of ``mat`` that a masked max or min
    selected (``value``); ``err`` is a number for similarities."""
    if isinstance(err, float):
        return err
    sel = xp.logical_and(mask, mat == value[:, None])
    return xp.max(xp.where(sel, err, xp.zeros_like(err)), axis=1)


# ----------------------------------------------------------------------------------------
# contrastive
# ----------------------------------------------------------------------------------------


@loss(
    formula=(
        r"L = \mathrm{mean}^{+}_{(i,j): y_i = y_j} [d_{ij} - m_p]_+ "
        r"+ \mathrm{mean}^{+}_{(i,j): y_i \ne y_j} [m_n - d_{ij}]_+"
    ),
    reference=(
        "Raia Hadsell, Sumit Chopra, Yann LeCun, Dimensionality Reduction by Learning an "
        "Invariant Mapping, CVPR 2006"
    ),
    aliases=("contrastive", "pair_margin_loss"),
    fast_paths=("metric_learning.torch_self_gram",),
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
      an empty part counts 0. A term within the rounding error of the distance it is
      computed from is a tie: exactly 0, not counted (the same terms on every library;
      see :mod:`losskit.metric_learning`).

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
        reproduces. A NaN embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    pos_margin = number("pos_margin", pos_margin)
    neg_margin = number("neg_margin", neg_margin)
    check_choice("distance", distance, DISTANCES)
    flag("normalize", normalize)
    return _contrastive_from(x, labels, x, labels, 0, pos_margin=pos_margin, neg_margin=neg_margin,
                             distance=distance, normalize=normalize, reduction=reduction, xp=xp)


def _nonzero_mean(values, counted, xp):
    """Mean of ``values`` (0 outside ``counted``) over the ``counted`` entries, 0 if none,
    graph kept."""
    n = xp.sum(xp.astype(counted, values.dtype))
    return xp.sum(values) / xp.maximum(n, xp.ones_like(n))


def _contrastive_from(q, lq, r, lr, offset, *, pos_margin, neg_margin, distance, normalize, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    mat, err, is_sim = similarity(q, r, distance, normalize, 1e-12, xp, same_batch=r is q)
    _, pos, neg = pair_masks(lq, lr, offset, xp, device_of(q))
    if is_sim:
        pos_t, neg_t = pos_margin - mat, mat - neg_margin
    else:
        pos_t, neg_t = mat - pos_margin, neg_margin - mat
    # The tie rule (see _pairs): a hinge term counts, and is non-zero, only beyond the
    # rounding error of the distance and of the subtraction; within it, it is exactly 0
    # on every backend (a zero embedding is at distance 1 = the default neg_margin from
    # every other one; duplicates are at distance 0 = the default pos_margin).
    u = tie_ulps(q.shape[-1]) * float(xp.finfo(mat.dtype).eps)
    size = xp.abs(stop_gradient(mat, xp))
    pos_ok = xp.logical_and(pos, positive_beyond(pos_t, err + u * (size + abs(pos_margin)), xp))
    neg_ok = xp.logical_and(neg, positive_beyond(neg_t, err + u * (size + abs(neg_margin)), xp))
    zero = xp.zeros_like(mat)
    pos_l = xp.where(pos_ok, pos_t, zero)
    neg_l = xp.where(neg_ok, neg_t, zero)
    if reduction == "mean":
        return _nonzero_mean(pos_l, pos_ok, xp) + _nonzero_mean(neg_l, neg_ok, xp)
    return reduce_loss(pos_l + neg_l, reduction, xp)


# ----------------------------------------------------------------------------------------
# circle
# ----------------------------------------------------------------------------------------


@loss(
    formula=(
        r"\ell_a = \log\Big(1 + \sum_{n} e^{\gamma \alpha_n (s_n - m)} \sum_{p} e^{-\gamma \alpha_p (s_p - 1 + m)}\Big),\ "
        r"\alpha_p = [1 + m - s_p]_+,\ \alpha_n = [s_n + m]_+"
    ),
    reference=(
        "Yifan Sun, Changmao Cheng, Yuhan Zhang, Chi Zhang, Liang Zheng, Zhongdao Wang, Yichen Wei, "
        "Circle Loss: A Unified Perspective of Pair Similarity Optimization, CVPR 2020, arXiv:2002.10857"
    ),
    aliases=("circle",),
    fast_paths=("metric_learning.torch_self_gram",),
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
        Each anchor's loss is a softplus, positive unless it underflows, so the mean counts
        the same anchors on every library. A NaN embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    m = number("m", m)
    gamma = number("gamma", gamma, low=0.0, low_open=True)
    return _circle_from(x, labels, x, labels, 0, m=m, gamma=gamma, reduction=reduction, xp=xp)


def _circle_from(q, lq, r, lr, offset, *, m, gamma, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    s, _, _ = similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    _, pos, neg = pair_masks(lq, lr, offset, xp, device_of(q))
    sd = stop_gradient(s, xp)  # alpha_p, alpha_n: self-paced weights, constants (see docstring)
    zero = xp.zeros_like(s)
    logit_p = -gamma * xp.maximum(1.0 + m - sd, zero) * (s - (1.0 - m))
    logit_n = gamma * xp.maximum(sd + m, zero) * (s - m)
    lse_p = masked_logsumexp(logit_p, RowMask(pos, s.dtype, xp), xp)
    lse_n = masked_logsumexp(logit_n, RowMask(neg, s.dtype, xp), xp)
    valid = xp.logical_and(xp.any(pos, axis=1), xp.any(neg, axis=1))
    # Invalid rows: the fills make the softplus argument hugely negative (loss 0); the
    # where zeroes them exactly, with a zero gradient.
    zrow = xp.zeros_like(lse_p)
    per = softplus(xp.where(valid, lse_p + lse_n, zrow), xp)
    per = xp.where(valid, per, zrow)
    # the non-zero mean; a NaN counts (positive_beyond), so that it reaches the value
    return reduce_loss(per, reduction, xp, weight=xp.astype(positive_beyond(per, 0.0, xp), per.dtype))


# ----------------------------------------------------------------------------------------
# multi-similarity
# ----------------------------------------------------------------------------------------


@loss(
    formula=(
        r"\ell_a = \frac{1}{\alpha}\log\Big(1 + \sum_{p} e^{-\alpha (s_{ap} - \lambda)}\Big) "
        r"+ \frac{1}{\beta}\log\Big(1 + \sum_{n} e^{\beta (s_{an} - \lambda)}\Big)"
    ),
    reference=(
        "Xun Wang, Xintong Han, Weilin Huang, Dengke Dong, Matthew R. Scott, Multi-Similarity Loss "
        "with General Pair Weighting for Deep Metric Learning, CVPR 2019, arXiv:1904.06627"
    ),
    aliases=("multi_similarity", "ms_loss"),
    fast_paths=("metric_learning.torch_self_gram",),
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
        pairs are kept. A NaN embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    alpha = number("alpha", alpha, low=0.0, low_open=True)
    beta = number("beta", beta, low=0.0, low_open=True)
    base = number("base", base)
    return _ms_from(x, labels, x, labels, 0, alpha=alpha, beta=beta, base=base, reduction=reduction, xp=xp)


def _ms_from(q, lq, r, lr, offset, *, alpha, beta, base, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    s, _, _ = similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    _, pos, neg = pair_masks(lq, lr, offset, xp, device_of(q))
    # log(1 + sum exp) = softplus(logsumexp); an empty mask gives the fill -> softplus = 0.
    pos_l = softplus(masked_logsumexp(-alpha * (s - base), RowMask(pos, s.dtype, xp), xp), xp) / alpha
    neg_l = softplus(masked_logsumexp(beta * (s - base), RowMask(neg, s.dtype, xp), xp), xp) / beta
    return reduce_loss(pos_l + neg_l, reduction, xp)
