"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR, with label-defined
positives (pytorch-metric-learning's ``NTXentLoss``)."""

from __future__ import annotations

from .._meta import loss
from .._reduce import reduce_loss
from .._xp import softplus
from ._pairs import RowMask, batch_setup, device_of, masked_logsumexp, number, pair_masks, similarity, zero_graph

__all__ = ["nt_xent_loss"]


@loss(
    formula=(
        r"\ell_{ap} = -\log\frac{e^{s_{ap}/\tau}}{e^{s_{ap}/\tau} + \sum_{n: y_n \ne y_a} e^{s_{an}/\tau}},\ "
        r"L = \mathrm{mean}_{(a,p): y_a = y_p, a \ne p}\ \ell_{ap}"
    ),
    reference=(
        "Ting Chen, Simon Kornblith, Mohammad Norouzi, Geoffrey Hinton, A Simple Framework for "
        "Contrastive Learning of Visual Representations, ICML 2020, arXiv:2002.05709"
    ),
    aliases=("nt_xent", "ntxent"),
    fast_paths=("metric_learning.torch_self_gram",),
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
        every pair costs log(1) = 0. A NaN embedding gives NaN.

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
    xp, x = batch_setup(embeddings, labels, reduction)
    temperature = number("temperature", temperature, low=0.0, low_open=True)
    return _ntxent_from(x, labels, x, labels, 0, temperature=temperature, reduction=reduction, xp=xp)


def _ntxent_from(q, lq, r, lr, offset, *, temperature, reduction, xp):
    if q.shape[0] == 0:
        return reduce_loss(zero_graph(q, xp), reduction, xp)
    s, _, _ = similarity(q, r, "cosine", True, 1e-12, xp, same_batch=r is q)
    z = s / temperature
    _, pos, neg = pair_masks(lq, lr, offset, xp, device_of(q))
    neg_lse = masked_logsumexp(z, RowMask(neg, z.dtype, xp), xp)  # fill (loss 0) without negatives
    # -log(e^p / (e^p + sum e^n)) = log(1 + sum e^(n - p)) = softplus(lse_n - p)
    per_pair = softplus(neg_lse[:, None] - z, xp)
    per_pair = xp.where(pos, per_pair, xp.zeros_like(per_pair))
    return reduce_loss(per_pair, reduction, xp, weight=xp.astype(pos, per_pair.dtype))
