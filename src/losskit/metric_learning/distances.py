"""The public pairwise helpers of the metric-learning family: cosine similarities and
Euclidean distances between the rows of two batches, without an (N, M, D) tensor."""

from __future__ import annotations

from .._checks import check_floating, check_ndim
from .._xp import as_float, namespace
from ._pairs import device_of, eye_offset, flag, gram, l2_normalize, number, safe_sqrt, sq_distances

__all__ = ["pairwise_cosine_similarity", "pairwise_distance"]


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
    eps = number("eps", eps, low=0.0, low_open=True)
    x = as_float(x, xp)
    if y is None:
        xn = l2_normalize(x, xp, eps)
        return gram(xn, xn, xp)
    check_floating("y", y, xp)
    check_ndim("y", y, ndim=2)
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"y: expected {x.shape[1]} columns like x, got shape {tuple(y.shape)}")
    y = as_float(y, xp, x.dtype)
    return gram(l2_normalize(x, xp, eps), l2_normalize(y, xp, eps), xp)


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
    difference of two large squared norms); compute in float64 when that matters. A squared
    distance within that rounding error of 0, :math:`D_{ij}^2 \le (\sqrt{d} + 8)\,\epsilon\,
    (\lVert x_i\rVert^2 + \lVert y_j\rVert^2)` (:math:`\epsilon` the dtype's machine epsilon,
    :math:`d` the number of columns), is exactly 0, so duplicate points are at distance 0 on
    every library. A NaN input gives NaN.

    Example:
        >>> import numpy as np, losskit
        >>> x = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> losskit.pairwise_distance(x).tolist()
        [[0.0, 5.0], [5.0, 0.0]]
    """
    xp = namespace(x, y)
    check_floating("x", x, xp)
    check_ndim("x", x, ndim=2)
    flag("squared", squared)
    x = as_float(x, xp)
    if y is None:
        d2, _ = sq_distances(x, x, xp)
        # The self-distance is exactly 0; rounding in the norm trick could leave ~1e-7.
        eye = eye_offset(x.shape[0], x.shape[0], 0, xp, device_of(x))
        d2 = xp.where(eye, xp.zeros_like(d2), d2)
    else:
        check_floating("y", y, xp)
        check_ndim("y", y, ndim=2)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"y: expected {x.shape[1]} columns like x, got shape {tuple(y.shape)}")
        d2, _ = sq_distances(x, as_float(y, xp, x.dtype), xp)
    return d2 if squared else safe_sqrt(d2, xp)
