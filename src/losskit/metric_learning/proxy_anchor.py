"""Proxy-Anchor loss (Kim et al. 2020): each class proxy is an anchor that pulls its
samples and pushes the others, weighted by a log-sum-exp over the batch."""

from __future__ import annotations

from .._checks import check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, softplus
from ._pairs import RowMask, batch_namespace, check_batch, check_class_table, device_of, gram, l2_normalize, masked_logsumexp, number

__all__ = ["proxy_anchor_loss"]


@loss(
    formula=(
        r"L = \frac{1}{|P^+|}\sum_{p \in P^+} \log\Big(1 + \sum_{x \in X_p^+} e^{-\alpha(s(x, p) - \delta)}\Big) + "
        r"\frac{1}{|P|}\sum_{p \in P} \log\Big(1 + \sum_{x \in X_p^-} e^{\alpha(s(x, p) + \delta)}\Big)"
    ),
    reference=(
        "Sungyeon Kim, Dongwon Kim, Minsu Cho, Suha Kwak, Proxy Anchor Loss for Deep Metric Learning, "
        "CVPR 2020, arXiv:2003.13911"
    ),
    aliases=("proxy_anchor",),
)
def proxy_anchor_loss(embeddings, labels, proxies, *, alpha: float = 32.0, delta: float = 0.1, reduction: str = "mean"):
    r"""Proxy-Anchor loss: every class proxy is an anchor against the whole batch.

    .. math::

        L = \frac{1}{|P^+|}\sum_{p \in P^+}
              \log\Big(1 + \sum_{x \in X_p^+} e^{-\alpha(s(x, p) - \delta)}\Big)
          + \frac{1}{|P|}\sum_{p \in P}
              \log\Big(1 + \sum_{x \in X_p^-} e^{\alpha(s(x, p) + \delta)}\Big)

    where

    - :math:`P` are the C class proxies (rows of ``proxies``), :math:`P^+` those whose
      class is in the batch;
    - :math:`X_p^+` the batch's samples of proxy :math:`p`'s class, :math:`X_p^-` the others;
    - :math:`s(x, p)` the cosine similarity (both L2-normalised inside; a zero row has
      similarity 0 with everything);
    - :math:`\alpha` the scale, :math:`\delta` the margin.

    Args:
        embeddings: (B, D) floating array.
        labels: (B,) integer class indices in [0, C).
        proxies: (C, D) floating array of class proxies (a parameter you train; see
            :class:`losskit.torch.ProxyAnchorLoss`).
        alpha: :math:`\alpha > 0` (32, the paper's and PML's).
        delta: :math:`\delta` (0.1, the paper's; PML's ``margin``).
        reduction: ``"mean"`` (the formula above, default), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` the (C,) per-proxy losses (its positive term plus its
        negative term; the positive term of a proxy whose class is absent is 0), whose sum
        is ``"sum"``. ``"mean"`` is not their mean: the positive terms are averaged over
        :math:`|P^+|` and the negative ones over :math:`|P| = C`, as the paper writes it.
        Compute dtype of ``embeddings`` (float32 for half precision, float64 stays).

    Notes:
        pytorch-metric-learning: ``ProxyAnchorLoss(num_classes, embedding_size,
        margin=delta, alpha=alpha)`` (default reducer, cosine similarity) gives the same
        value; its ``proxies`` parameter is (C, D) like ``proxies`` here. Each term is
        ``softplus`` of a masked log-sum-exp over the batch, computed in float32 at least:
        finite for any :math:`\alpha`, float16 inputs included. One (C, D) x (D, B)
        product; a NaN input gives NaN.

    References:
        Kim, Kim, Cho, Kwak, "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020,
        arXiv:2003.13911.

    Example:
        One sample on its class proxy (s = 1), orthogonal to the other proxy (s = 0);
        alpha = 1, delta = 0: the positive term log(1 + e^-1) over the one proxy with a
        positive, plus the negative term log(1 + e^0) = log 2 of the other proxy over
        the two proxies.

        >>> import numpy as np, losskit
        >>> p = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> v = losskit.proxy_anchor_loss(np.array([[3.0, 0.0]]), np.array([0]), p, alpha=1.0, delta=0.0)
        >>> round(float(v), 6), round(float(np.log1p(np.exp(-1)) + np.log(2) / 2), 6)
        (0.659835, 0.659835)
    """
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels, proxies=proxies)
    x = check_batch(embeddings, labels, xp)
    check_class_table("proxies", proxies, x, labels, xp, size="embedding size")
    alpha = number("alpha", alpha, low=0.0, low_open=True)
    delta = number("delta", delta)
    p = as_float(proxies, xp, x.dtype)
    s = gram(l2_normalize(p, xp, 1e-12), l2_normalize(x, xp, 1e-12), xp)  # (C, B)
    classes = xp.arange(p.shape[0], dtype=labels.dtype, device=device_of(x))
    pos = classes[:, None] == labels[None, :]
    pos_rm = RowMask(pos, s.dtype, xp)
    if x.shape[0] == 0:  # an empty batch: every term is log(1 + 0) = 0 (graph kept)
        pos_term = neg_term = xp.sum(s, axis=1) * 0.0
    else:
        # log(1 + sum_{x in X} e^t) = softplus(logsumexp_X t); an empty X gives the finite
        # fill (see _pairs), whose softplus is exactly 0 with a zero gradient.
        pos_term = softplus(masked_logsumexp(-alpha * (s - delta), pos_rm, xp), xp)
        neg_rm = RowMask(xp.logical_not(pos), s.dtype, xp)
        neg_term = softplus(masked_logsumexp(alpha * (s + delta), neg_rm, xp), xp)
    if reduction != "mean":
        return reduce_loss(pos_term + neg_term, reduction, xp)
    n_pos = xp.sum(xp.astype(pos_rm.has, s.dtype))
    n_pos = xp.maximum(n_pos, xp.ones_like(n_pos))  # no class in the batch: the sum is 0
    return xp.sum(pos_term) / n_pos + xp.sum(neg_term) / max(p.shape[0], 1)
