"""Center loss (Wen et al. 2016): the squared distance of each feature to its class centre,
and the paper's update rule for the centres as a pure function."""

from __future__ import annotations

from .._checks import check_reduction
from .._meta import loss
from .._reduce import reduce_loss
from .._xp import as_float, stop_gradient
from ._pairs import batch_namespace, check_batch, check_class_table, device_of, number

__all__ = ["center_loss", "center_update"]


def _center_setup(features, labels, centers, xp):
    """Validate (B, D) features, (B,) labels in [0, C) and (C, D) centres; the features in
    their compute dtype."""
    x = check_batch(features, labels, xp, name="features")
    check_class_table("centers", centers, x, labels, xp, size="feature size")
    return x


@loss(
    formula=r"\ell_i = \tfrac{1}{2}\lVert x_i - c_{y_i}\rVert_2^2",
    reference=(
        "Yandong Wen, Kaipeng Zhang, Zhifeng Li, Yu Qiao, A Discriminative Feature Learning "
        "Approach for Deep Face Recognition, ECCV 2016"
    ),
    aliases=("center", "centre_loss"),
)
def center_loss(features, labels, centers, *, reduction: str = "mean"):
    r"""Center loss: half the squared Euclidean distance of each feature to its class centre.

    .. math::

        \ell_i = \frac{1}{2}\lVert x_i - c_{y_i}\rVert_2^2

    where

    - :math:`x_i` is sample :math:`i`'s (deep) feature and :math:`y_i` its label;
    - :math:`c_j` is the centre of class :math:`j` (row :math:`j` of ``centers``), kept
      across batches: updated by the paper's rule (:func:`center_update`), or trained as
      a parameter.

    Args:
        features: (B, D) floating array (not normalised: the loss is on the raw features,
            as in the paper).
        labels: (B,) integer class indices in [0, C).
        centers: (C, D) floating array of class centres. Gradients flow to it too (for
            learnable centres); with the paper's rule, pass the centres as a constant.
        reduction: ``"mean"`` over the samples (default), ``"sum"`` (the paper's
            :math:`\mathcal{L}_C = \frac{1}{2}\sum_i \lVert x_i - c_{y_i}\rVert^2` over the
            mini-batch) or ``"none"``.

    Returns:
        A scalar, or (B,) per-sample losses for ``"none"``. Compute dtype of ``features``
        (float32 for half precision, float64 stays).

    Notes:
        The paper trains with :math:`\mathcal{L}_S + \lambda \mathcal{L}_C`; the re-ID
        strong baseline (Luo et al., arXiv:1903.07071) uses :math:`\lambda = 5 \cdot
        10^{-4}`. The widely used PyTorch implementation (KaiyangZhou/pytorch-center-loss,
        which that baseline took) averages :math:`\lVert x_i - c_{y_i}\rVert^2` over the
        batch *without* the 1/2 (and clamps every entry of its (B, C) distance matrix at
        1e-12): about twice this loss's ``"mean"``, with its centres a learnable parameter. pytorch-metric-learning has
        no center loss (its issue #108). :class:`losskit.torch.CenterLoss` keeps the
        centres as module state. The distance is computed as a difference (no norm trick),
        so it is exact at 0 and its gradient :math:`x_i - c_{y_i}` is never singular. A
        NaN input gives NaN.

    References:
        Wen, Zhang, Li, Qiao, "A Discriminative Feature Learning Approach for Deep Face
        Recognition", ECCV 2016.

    Example:
        Features (3, 4) and (0, 0) against centres (0, 0) and (1, 1): 1/2 * 25 and
        1/2 * 2.

        >>> import numpy as np, losskit
        >>> x = np.array([[3.0, 4.0], [0.0, 0.0]])
        >>> c = np.array([[0.0, 0.0], [1.0, 1.0]])
        >>> losskit.center_loss(x, np.array([0, 1]), c, reduction="none").tolist()
        [12.5, 1.0]
    """
    check_reduction(reduction)
    xp = batch_namespace(features, labels, name="features", centers=centers)
    x = _center_setup(features, labels, centers, xp)
    c = xp.take(as_float(centers, xp, x.dtype), labels, axis=0)  # (B, D): c_{y_i}
    diff = x - c
    return reduce_loss(0.5 * xp.sum(diff * diff, axis=1), reduction, xp)


def center_update(features, labels, centers, *, alpha: float = 0.5):
    r"""The next class centres by the center loss paper's rule (pure; no gradient).

    .. math::

        c_j \leftarrow c_j - \alpha\,\frac{\sum_i [y_i = j]\,(c_j - x_i)}{1 + \sum_i [y_i = j]}

    where :math:`[y_i = j]` is 1 if sample :math:`i` has label :math:`j`, else 0; a class
    absent from the batch keeps its centre.

    Args:
        features: (B, D) floating array (this batch's features).
        labels: (B,) integer class indices in [0, C).
        centers: (C, D) floating array, the current centres.
        alpha: :math:`\alpha \in [0, 1]`, the centres' learning rate (0.5, the paper's
            default in its experiments; 0 leaves the centres unchanged).

    Returns:
        The (C, D) new centres, in ``centers``' dtype (computed in its float32-or-wider
        compute dtype), detached from both inputs. Works under ``jax.jit``.

    Notes:
        The update is computed as :math:`(1 - \alpha\frac{n_j}{1 + n_j})\,c_j +
        \alpha\sum_i [y_i = j]\,\frac{x_i}{1 + n_j}`: for :math:`\alpha \in [0, 1]` the new
        centre is a weighted average of the old centre and the class's features (weights
        :math:`\ge 0` summing to at most 1), so it stays finite and within their range,
        whatever the batch. A sample whose feature is not finite (an overflow under mixed
        precision) is left out of the update, so that one bad batch cannot turn a centre
        into NaN for the rest of training (its loss is NaN, as it should be). Class sums
        are one (C, B) x (B, D) product: no (B, C, D) tensor.

    References:
        Wen, Zhang, Li, Qiao, "A Discriminative Feature Learning Approach for Deep Face
        Recognition", ECCV 2016 (eq. 4 and Algorithm 1).

    Example:
        Two samples of class 0 at (2, 0) and (4, 0), centre at the origin, alpha = 0.5:
        c <- 0 - 0.5 * (0 - 6) / 3 = (1, 0); class 1 (absent) keeps its centre.

        >>> import numpy as np, losskit
        >>> x = np.array([[2.0, 0.0], [4.0, 0.0]])
        >>> c = np.array([[0.0, 0.0], [5.0, 5.0]])
        >>> losskit.center_update(x, np.array([0, 0]), c).tolist()
        [[1.0, 0.0], [5.0, 5.0]]
    """
    xp = batch_namespace(features, labels, name="features", centers=centers)
    _center_setup(features, labels, centers, xp)
    alpha = number("alpha", alpha, low=0.0, high=1.0)
    # The centres are state updated by a rule, never differentiated (the paper's update
    # is not a gradient step of the network): both inputs are constants here.
    c = stop_gradient(as_float(centers, xp), xp)
    x = stop_gradient(as_float(features, xp, c.dtype), xp)
    finite = xp.all(xp.isfinite(x), axis=1)
    # where, not a product: 0 * inf = NaN would still reach the class sums
    x = xp.where(finite[:, None], x, xp.zeros_like(x))
    classes = xp.arange(centers.shape[0], dtype=labels.dtype, device=device_of(x))
    member = xp.astype(xp.logical_and(labels[:, None] == classes[None, :], finite[:, None]), c.dtype)  # (B, C)
    n = xp.sum(member, axis=0)  # (C,) samples of each class
    # x_i / (1 + n_j) summed per class: each term is at most |x_i|, so no overflow
    share = xp.matmul(xp.permute_dims(member / (1.0 + n)[None, :], (1, 0)), x)  # (C, D)
    new = (1.0 - alpha * n / (1.0 + n))[:, None] * c + alpha * share
    return xp.astype(new, centers.dtype) if new.dtype != centers.dtype else new
