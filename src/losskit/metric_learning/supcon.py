"""Supervised contrastive loss (SupCon, Khosla et al. 2020), the L_out form, with labels
and optional views."""

from __future__ import annotations

from .._checks import check_floating, check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from ._pairs import (
    RowMask,
    batch_namespace,
    check_batch,
    device_of,
    eye_offset,
    masked_logsumexp,
    number,
    similarity,
    zero_graph,
)

__all__ = ["supcon_loss"]


@loss(
    formula=(
        r"\ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)} \log\frac{e^{z_i \cdot z_p/\tau}}"
        r"{\sum_{a \ne i} e^{z_i \cdot z_a/\tau}},\ L = \mathrm{mean}_{i: P(i) \ne \emptyset}\ \ell_i"
    ),
    reference=(
        "Prannay Khosla, Piotr Teterwak, Chen Wang, Aaron Sarna, Yonglong Tian, Phillip Isola, "
        "Aaron Maschinot, Ce Liu, Dilip Krishnan, Supervised Contrastive Learning, NeurIPS 2020, "
        "arXiv:2004.11362"
    ),
    aliases=("supcon", "supervised_contrastive_loss"),
    fast_paths=("metric_learning.torch_self_gram",),
)
def supcon_loss(embeddings, labels, *, temperature: float = 0.1, reduction: str = "mean"):
    r"""Supervised contrastive loss (SupCon), the L_out form of the paper's eq. 2.

    .. math::

        \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)}
                 \log\frac{e^{z_i \cdot z_p/\tau}}{\sum_{a \in A(i)} e^{z_i \cdot z_a/\tau}},
        \qquad L = \frac{1}{|I^+|}\sum_{i \in I^+} \ell_i

    where

    - :math:`z_i` is anchor :math:`i`'s embedding, L2-normalised inside (so
      :math:`z_i \cdot z_a` is the cosine similarity), :math:`\tau` the temperature;
    - :math:`A(i)` are all the other samples of the batch (every view of every sample but
      :math:`i` itself), :math:`P(i) \subset A(i)` those with :math:`i`'s label;
    - :math:`I^+` the anchors with at least one positive. An anchor with none contributes
      nothing: its loss is 0 and it is not counted in the mean (its :math:`\ell_i` is
      :math:`0/0`).

    Args:
        embeddings: (B, D) floating array, or (B, V, D) with V views of each sample (the
            paper's multi-view batch: every view is an anchor, the other views of the same
            sample are positives). Normalised inside (a zero row stays zero: its cosine with
            everything is 0).
        labels: (B,) integer labels, one per sample (shared by its views). For the
            self-supervised case (SimCLR), give (B, V, D) views with ``labels = arange(B)``.
        temperature: :math:`\tau > 0` (0.1, the paper's and PML's).
        reduction: ``"mean"`` over the anchors with a positive (PML's convention),
            ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or for ``"none"`` the per-anchor losses, shaped like the embeddings'
        leading axes ((B,) or (B, V)), 0 for an anchor without positives. Compute dtype of
        ``embeddings`` (float32 for half precision, float64 stays).

    Notes:
        This is the paper's eq. 2 (the :math:`1/\lvert P(i)\rvert` outside the log, which the paper finds
        better than :math:`\mathcal{L}^{sup}_{in}`). The denominator holds every other
        sample, positives included; :func:`losskit.nt_xent_loss` is the NT-Xent form whose
        denominator holds only the pair's positive and the negatives.

        pytorch-metric-learning: ``SupConLoss(temperature)`` with its defaults (cosine
        similarity, ``AvgNonZeroReducer``) gives the same value on a batch with positives
        and negatives: its mean is over the anchors with a non-zero loss, which are those
        with a positive (a loss of exactly 0 needs one positive and nothing else in the
        denominator). PML returns 0 for a batch without any negative pair (one label);
        here such a batch gives the paper's value (every other sample is a positive).
        For (B, V, D), PML takes the (B * V, D) rows with each label repeated V times.
        The authors' code (SupContrast) also multiplies the loss by
        :math:`\tau / 0.07` (``base_temperature``); neither PML nor losskit does.

        Only the (B V, B V) similarity matrix is built (never a (B, B, D) tensor); on
        torch it takes the family's self-Gram fast path. Log-sum-exp form: finite for
        any :math:`\tau`, float16 inputs included. A NaN embedding gives NaN.

    References:
        Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, arXiv:2004.11362.

    Example:
        Two samples of label 0 at similarity 1, one of label 1 orthogonal to them, tau = 1:
        each label-0 anchor has one positive (z = 1) and A(i) = {1, 0}, so its loss is
        log(e + 1) - 1 = log(1 + 1/e); the label-1 anchor has no positive.

        >>> import numpy as np, losskit
        >>> e = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
        >>> y = np.array([0, 0, 1])
        >>> np.round(losskit.supcon_loss(e, y, temperature=1.0, reduction="none"), 6).tolist()
        [0.313262, 0.313262, 0.0]
        >>> round(float(losskit.supcon_loss(e, y, temperature=1.0)), 6)
        0.313262
    """
    check_reduction(reduction)
    xp = batch_namespace(embeddings, labels)
    check_floating("embeddings", embeddings, xp)
    if embeddings.ndim not in (2, 3):
        raise ValueError(
            f"embeddings: expected a 2-D (B, D) or 3-D (B, V, D) array, got shape {tuple(embeddings.shape)}"
        )
    x = check_batch(embeddings, labels, xp, ndim=embeddings.ndim)
    temperature = number("temperature", temperature, low=0.0, low_open=True)
    lead = tuple(x.shape[:-1])  # (B,) or (B, V): the shape of the per-anchor losses
    if x.ndim == 3:
        b, v, d = x.shape
        # sample-major rows: row b * V + v is view v of sample b (so "none" reshapes back)
        x = xp.reshape(x, (b * v, d))
        labels = xp.reshape(xp.broadcast_to(labels[:, None], (b, v)), (b * v,))
    n = x.shape[0]
    if n == 0:
        return reduce_loss(xp.reshape(zero_graph(x, xp), lead), reduction, xp)
    s, _, _ = similarity(x, x, "cosine", True, 1e-12, xp, same_batch=True)
    z = s / temperature
    dev = device_of(x)
    others = xp.logical_not(eye_offset(n, n, 0, xp, dev))
    pos = xp.logical_and(labels[:, None] == labels[None, :], others)
    posf = xp.astype(pos, z.dtype)
    count = xp.sum(posf, axis=1)
    has_pos = count > 0
    # log of the denominator over A(i); a lone anchor (n = 1) has an empty A(i) and gets
    # the finite fill with a zero gradient (it has no positive either, so it is masked).
    log_den = masked_logsumexp(z, RowMask(others, z.dtype, xp), xp)
    # mean over P(i) of z_ip; the count is a constant (labels), max(count, 1) keeps 0/0 out
    pos_mean = xp.sum(z * posf, axis=1) / xp.maximum(count, xp.ones_like(count))
    per = xp.where(has_pos, log_den - pos_mean, xp.zeros_like(pos_mean))
    weight = xp.astype(has_pos, per.dtype)
    return reduce_loss(xp.reshape(per, lead), reduction, xp, weight=xp.reshape(weight, lead))
