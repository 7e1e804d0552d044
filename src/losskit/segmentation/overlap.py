r"""The overlap losses of the segmentation family: Dice, Jaccard, generalized Dice,
Tversky, focal Tversky, log-cosh Dice, and Dice + cross-entropy.

Every loss here is written once on top of the per-(sample, class) sums ``I, P, G`` of
:func:`losskit.segmentation._common.overlap_sums` and a *tail*, the loss's own formula and
reduction on those sums (:func:`~losskit.segmentation._common.overlap_loss`).

Conventions shared by the family (those of MONAI unless said otherwise):

* ``input`` is ``(N, C, *spatial)`` with the class axis at ``axis`` (default 1) and any
  number of spatial axes (2D, 3D, ...). It holds probabilities unless ``activation`` says
  otherwise: ``"softmax"`` over the class axis (mutually exclusive classes) or
  ``"sigmoid"`` per channel (multi-label, or one foreground channel).
* ``target`` is either integer labels (any integer dtype) of the input's shape *without*
  the class axis, or an array of the input's shape (one-hot, multi-label masks or soft
  labels in [0, 1]; integers and booleans are cast). With one channel (``C == 1``) integer
  labels are a binary mask (0/1). Integer labels are never expanded to an ``(N, C, ...)``
  one-hot (except by the array-API fallback of namespaces without a scatter).
* On CPU torch tensors, ``activation="softmax"`` with integer labels (and
  ``squared=False``) takes a fast path in eager mode: compiled numba kernels where numba
  is installed (``pip install losskit[fast]``), else a fused torch ``autograd.Function``,
  both with a hand-derived backward (see :mod:`losskit.segmentation._common`;
  ``losskit.fast_paths(False)`` runs the reference). Tests pin both to the reference
  (values and gradients).
* ``ignore_index`` pixels are removed from the numerator, the denominator *and* the average:
  a (sample, class) entry with no valid pixel gets weight 0 in ``reduction="mean"``.
* ``smooth_nr = smooth_dr = 1e-5``: an empty target with an empty prediction gives loss 0,
  an empty target with predicted mass gives a loss that rises with the mass and a gradient
  that pushes it down (see :func:`dice_loss`).
* MONAI's label layout is accepted as it is: a ``(N, 1, *spatial)`` label map (integer,
  boolean or integer-valued float, what ``to_onehot_y=True`` takes) for an input with
  ``C >= 2`` classes is the same as the ``(N, *spatial)`` labels, so a MONAI pipeline
  swaps its loss without touching its data (a non-integer value is an error in eager mode).
* Class weights ``weight`` have one entry per class of ``input`` (background included, also
  with ``include_background=False``, as in ``torch.nn.functional.cross_entropy``);
  ``reduction="mean"`` is the weighted mean ``sum(w * L) / sum(w)``.
* A NaN in ``input`` gives a NaN loss.
"""

from __future__ import annotations

from ..classification import binary_cross_entropy_with_logits, cross_entropy
from .._checks import check_choice, check_number, check_reduction, normalize_axis
from .._xp import as_float, log_cosh
from ._common import (
    FAST_PATHS,
    DiceTail,
    EntryTail,
    class_weight,
    channel_targets,
    check_compound,
    check_smooth,
    dice_formula,
    is_label_map,
    loss,
    namespace_of,
    overlap_loss,
    reduce_entries,
)

__all__ = [
    "dice_loss",
    "jaccard_loss",
    "generalized_dice_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "log_cosh_dice_loss",
    "dice_ce_loss",
]

_MNR = "Milletari, Navab, Ahmadi, V-Net: Fully Convolutional Neural Networks for Volumetric Medical Image Segmentation, 2016, arXiv:1606.04797"


@loss(
    formula=r"1 - \frac{2\sum_i p_i g_i + s_{nr}}{\sum_i p_i + \sum_i g_i + s_{dr}}",
    reference=_MNR,
    aliases=("dice", "soft_dice_loss"),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    soft_label=False,
    reduction="mean",
):
    r"""Soft Dice loss, one minus the soft Dice coefficient per sample and class.

    .. math::

        L_{nc} = 1 - \frac{2 \sum_i p_{nci} g_{nci} + s_{nr}}
                          {\sum_i p_{nci}^{k} + \sum_i g_{nci}^{k} + s_{dr}}

    where

    - :math:`p_{nci}` is the predicted probability of class :math:`c` at pixel :math:`i`
      of sample :math:`n` (after ``activation``),
    - :math:`g_{nci}` the target (1 where the label is :math:`c`, or a soft label),
    - :math:`k = 1`, or :math:`k = 2` with ``squared=True`` (V-Net's squared denominator),
    - :math:`s_{nr}, s_{dr}` the smoothing terms; with ``batch=True`` the sums also run over
      :math:`n`.

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the denominator (Milletari et al.).
%(weight)s
%(soft_label_squared)s

    Returns:
%(common_returns)s

    Notes:
        On hard labels with ``squared=False`` and no smoothing, the Dice coefficient of a
        binary prediction is the F1 score, so the loss is ``1 - F1``.

        *Empty target.* For a class absent from the target (:math:`G = 0`) the loss is
        :math:`1 - s_{nr} / (P + s_{dr})`: 0 when nothing is predicted either, rising with
        the predicted mass :math:`P`, with gradient :math:`s_{nr} / (P + s_{dr})^2 > 0`
        that pushes :math:`P` down. This needs :math:`s_{nr} = s_{dr} > 0`; with
        :math:`s_{nr} = 0` the loss is a constant 1 and the gradient 0 (MONAI issue 7883);
        a larger smoothing (e.g. 1.0) gives a stronger push on empty images.

        Defaults follow MONAI's ``DiceLoss`` (per sample, background included,
        ``smooth = 1e-5``). Differences: the activation is one argument; ``weight`` always
        has ``C`` entries and ``"mean"`` is the weighted mean (MONAI multiplies by the
        weight and takes the plain mean); ``"none"`` is ``(N, C)`` instead of a
        broadcastable ``(N, C, 1, ...)``. segmentation_models_pytorch pools the batch
        (``batch=True``), uses ``smooth = 0`` with a clamp ``eps`` and zeroes classes
        absent from the target.

    References:
        Milletari, Navab, Ahmadi, V-Net: Fully Convolutional Neural Networks for Volumetric
        Medical Image Segmentation, 2016, arXiv:1606.04797. Wang, Blaschko, Dice
        Semimetric Losses: Optimizing the Dice Score with Soft Labels, 2023,
        arXiv:2303.16296 (``soft_label``).

    Example:
        Two of four pixels are foreground; the prediction puts 0.5 on each of them:
        Dice = 2 * 1 / (1 + 2) = 2/3.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])   # (N=1, C=1, 4 pixels)
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.dice_loss(p, g)), 4)
        0.3333
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_smooth(smooth_nr, smooth_dr)
    return overlap_loss(
        input, target, xp, DiceTail(smooth_nr, smooth_dr, reduction), activation=activation,
        axis=axis, include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight, soft_label=soft_label,
    )


@loss(
    formula=r"1 - \frac{\sum_i p_i g_i + s_{nr}}{\sum_i p_i + \sum_i g_i - \sum_i p_i g_i + s_{dr}}",
    reference="Rahman, Wang, Optimizing Intersection-Over-Union in Deep Neural Networks for Image Segmentation, 2016, ISVC (doi:10.1007/978-3-319-50835-1_22)",
    aliases=("soft_jaccard_loss", "soft_iou_loss", "jaccard"),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def jaccard_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    soft_label=False,
    reduction="mean",
):
    r"""Soft Jaccard (IoU) loss, one minus the soft intersection over union.

    .. math::

        L_{nc} = 1 - \frac{I_{nc} + s_{nr}}{P_{nc} + G_{nc} - I_{nc} + s_{dr}}

    where

    - :math:`I_{nc} = \sum_i p_{nci} g_{nci}` is the soft intersection,
    - :math:`P_{nc} = \sum_i p_{nci}^k`, :math:`G_{nc} = \sum_i g_{nci}^k` (:math:`k = 2`
      with ``squared=True``),
    - :math:`s_{nr}, s_{dr}` the smoothing terms.

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the union's sums.
%(weight)s
%(soft_label_squared)s

    Returns:
%(common_returns)s

    Notes:
        The smoothing enters as ``(I + s) / (U + s)`` (as in segmentation_models_pytorch).
        MONAI's ``DiceLoss(jaccard=True)`` computes ``(2 I + s) / (2 U + s)``, which is this
        loss with ``smooth_nr = s / 2`` and ``smooth_dr = s / 2``. Jaccard and Dice are
        monotone in each other (``J = D / (2 - D)``), but their gradients differ.

    References:
        Rahman, Wang, Optimizing Intersection-Over-Union in Deep Neural Networks for Image
        Segmentation, ISVC 2016. Wang, Blaschko, Jaccard Metric Losses: Optimizing the
        Jaccard Index with Soft Labels, 2023, arXiv:2302.05666 (``soft_label``).

    Example:
        Intersection 1, union 1 + 2 - 1 = 2: IoU = 1/2.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.jaccard_loss(p, g)), 4)
        0.5
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_smooth(smooth_nr, smooth_dr)

    def jaccard(I, P, G, xp):
        return 1.0 - (I + smooth_nr) / (P + G - I + smooth_dr)

    return overlap_loss(
        input, target, xp, EntryTail(jaccard, reduction), activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight, soft_label=soft_label,
    )


@loss(
    formula=r"1 - \frac{2\sum_l w_l \sum_i p_{li} g_{li} + s_{nr}}{\sum_l w_l \sum_i (p_{li} + g_{li}) + s_{dr}},\ w_l = 1/(\sum_i g_{li})^2",
    reference="Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237",
    aliases=("gdl", "generalised_dice_loss"),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def generalized_dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    weight_type="square",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    ignore_index=None,
    reduction="mean",
):
    r"""Generalized Dice loss: classes weighted by inverse target volume, summed before dividing.

    .. math::

        L_n = 1 - \frac{2 \sum_c w_{nc} I_{nc} + s_{nr}}{\sum_c w_{nc} (P_{nc} + G_{nc}) + s_{dr}},
        \qquad w_{nc} = \frac{1}{G_{nc}^{2}}

    where

    - :math:`I_{nc} = \sum_i p_{nci} g_{nci}`, :math:`P_{nc} = \sum_i p_{nci}`,
      :math:`G_{nc} = \sum_i g_{nci}` (pooled over the batch with ``batch=True``),
    - :math:`w_{nc}` is :math:`1/G^2` (``"square"``, the paper), :math:`1/G` (``"simple"``)
      or 1 (``"uniform"``). A class absent from the target (infinite weight) gets the
      largest finite weight of the same sample (of the batch with ``batch=True``).

    Args:
%(common_args)s
        weight_type: ``"square"``, ``"simple"`` or ``"uniform"``.

    Returns:
        The loss, float32 (float64 for float64 input). Shape ``()`` for ``"mean"``/``"sum"``;
        for ``"none"`` ``(N,)`` per sample, or ``()`` with ``batch=True``.

    Notes:
        The weights depend on the target only and carry no gradient. Matches MONAI's
        ``GeneralizedDiceLoss`` (which returns ``(N, 1)`` for ``"none"``). A sample whose
        pixels are all ignored gets weight 0 in the mean.

    References:
        Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep
        learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237.

    Example:
        Two classes with target volumes 2 and 2 (equal weights 1/4), perfect prediction:

        >>> import numpy as np, losskit
        >>> g = np.array([[0, 0, 1, 1]])                       # labels, (N=1, 4 pixels)
        >>> p = np.array([[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]])
        >>> round(float(losskit.generalized_dice_loss(p, g)), 4)
        0.0
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_smooth(smooth_nr, smooth_dr)
    check_choice("weight_type", weight_type, ("square", "simple", "uniform"))

    def tail(I, P, G, valid, _, xp):
        present = G > 0
        if weight_type == "uniform":
            w = xp.ones_like(G)
        else:
            # 1 / G where G > 0; the where keeps 1/0 (a warning in NumPy, inf elsewhere) out.
            safe = xp.where(present, G, xp.ones_like(G))
            w = 1.0 / (safe * safe) if weight_type == "square" else 1.0 / safe
            w = xp.where(present, w, xp.zeros_like(w))
            wmax = xp.max(w, axis=-1, keepdims=True)
            w = xp.where(present, w, wmax)
        num = 2.0 * xp.sum(w * I, axis=-1) + smooth_nr
        den = xp.sum(w * (P + G), axis=-1) + smooth_dr
        loss_ = 1.0 - num / den
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=-1) > 0, loss_.dtype) if valid.shape[-1] > 1 else valid[..., 0]
        return reduce_entries(loss_, reduction, xp, None, valid)

    return overlap_loss(
        input, target, xp, tail, activation=activation, axis=axis,
        include_background=include_background, squared=False, batch=batch,
        ignore_index=ignore_index, weight=None,
    )


def _tversky_index(I, P, G, *, alpha, beta, smooth_nr, smooth_dr):
    # FP = sum p (1 - g) = P - I and FN = sum (1 - p) g = G - I, exactly (also soft labels).
    return (I + smooth_nr) / (I + alpha * (P - I) + beta * (G - I) + smooth_dr)


def _check_tversky(alpha, beta, smooth_nr, smooth_dr):
    check_number("alpha", alpha, low=0.0)
    check_number("beta", beta, low=0.0)
    check_smooth(smooth_nr, smooth_dr)


@loss(
    formula=r"1 - \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}}",
    reference="Salehi, Erdogmus, Gholipour, Tversky loss function for image segmentation using 3D fully convolutional deep networks, 2017, arXiv:1706.05721",
    aliases=("tversky",),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    activation=None,
    axis=1,
    include_background=True,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    soft_label=False,
    reduction="mean",
):
    r"""Tversky loss: a Dice loss with separate weights for false positives and false negatives.

    .. math::

        L_{nc} = 1 - TI_{nc}, \qquad
        TI_{nc} = \frac{TP_{nc} + s_{nr}}{TP_{nc} + \alpha FP_{nc} + \beta FN_{nc} + s_{dr}}

    where

    - :math:`TP = \sum_i p_i g_i`, :math:`FP = \sum_i p_i (1 - g_i)`,
      :math:`FN = \sum_i (1 - p_i) g_i` per sample and class,
    - :math:`\alpha` weighs false positives and :math:`\beta` false negatives
      (:math:`\beta > \alpha` favours recall; the paper uses :math:`\alpha = 0.3, \beta = 0.7`).

    Args:
%(common_args)s
        alpha: weight of false positives (>= 0).
        beta: weight of false negatives (>= 0).
%(weight)s
%(soft_label)s

    Returns:
%(common_returns)s

    Notes:
        ``alpha = beta = 0.5`` is the Dice loss with half the smoothing:
        ``tversky_loss(alpha=.5, beta=.5, smooth_nr=s/2, smooth_dr=s/2) ==
        dice_loss(smooth_nr=s, smooth_dr=s)``; ``alpha = beta = 1`` is the Jaccard loss.
        The smoothing convention is MONAI's ``TverskyLoss`` (and segmentation_models_pytorch's
        with ``smooth`` on both sides).

    References:
        Salehi, Erdogmus, Gholipour, Tversky loss function for image segmentation using 3D
        fully convolutional deep networks, 2017, arXiv:1706.05721. Wang, Blaschko,
        arXiv:2303.16296 (``soft_label``).

    Example:
        TP = 1, FP = 0, FN = 1: TI = 1 / (1 + 0.7) with beta = 0.7.

        >>> import numpy as np, losskit
        >>> p = np.array([[[1.0, 0.0, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.tversky_loss(p, g, alpha=0.3, beta=0.7)), 4)
        0.4118
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    _check_tversky(alpha, beta, smooth_nr, smooth_dr)

    def tversky(I, P, G, xp):
        return 1.0 - _tversky_index(I, P, G, alpha=alpha, beta=beta, smooth_nr=smooth_nr, smooth_dr=smooth_dr)

    return overlap_loss(
        input, target, xp, EntryTail(tversky, reduction), activation=activation, axis=axis,
        include_background=include_background, squared=False, batch=batch,
        ignore_index=ignore_index, weight=weight, soft_label=soft_label,
    )


@loss(
    formula=r"\left(1 - \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}}\right)^{1/\gamma}",
    reference="Abraham, Khan, A Novel Focal Tversky loss function with improved Attention U-Net for lesion segmentation, 2019, arXiv:1810.07842",
    aliases=("focal_tversky", "ftl"),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def focal_tversky_loss(
    input,
    target,
    *,
    alpha=0.5,
    beta=0.5,
    gamma=4.0 / 3.0,
    activation=None,
    axis=1,
    include_background=True,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Focal Tversky loss: the per-class Tversky loss raised to the power 1/gamma.

    .. math::

        L_{nc} = (1 - TI_{nc})^{1/\gamma}

    where

    - :math:`TI_{nc}` is the Tversky index of :func:`tversky_loss`,
    - :math:`\gamma` is the focal parameter, in [1, 3] in the paper (4/3 there): with
      :math:`\gamma > 1` the exponent :math:`1/\gamma < 1` raises small losses, focusing
      training on classes and samples that are already nearly right but not quite.

    Args:
%(common_args)s
        alpha: weight of false positives (>= 0).
        beta: weight of false negatives (>= 0).
        gamma: focal parameter (> 0); the exponent is ``1 / gamma`` as in the paper.
%(weight)s

    Returns:
%(common_returns)s

    Notes:
        Exponent convention: the paper's :math:`(1 - TI)^{1/\gamma}`, applied per class
        before averaging; ``gamma = 1`` is :func:`tversky_loss`. segmentation_models_pytorch's
        ``TverskyLoss(gamma=g)`` instead raises the *class-averaged* loss to the power
        ``g`` (so its ``g`` is our ``1 / gamma`` and the two agree only for one class).
        With :math:`1/\gamma < 1` the derivative is infinite at a perfect score; there the
        gradient is set to 0 (the minimum) instead of NaN;
        a NaN input still gives a NaN loss. The paper sums over classes;
        ``reduction="sum"`` gives that sum.

    References:
        Abraham, Khan, A Novel Focal Tversky loss function with improved Attention U-Net for
        lesion segmentation, 2019, arXiv:1810.07842.

    Example:
        Tversky loss 0.5 (TP = 1, FP = FN = 1, alpha = beta = 0.5), exponent 1/2:
        sqrt(0.5).

        >>> import numpy as np, losskit
        >>> p = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 0.0, 1.0, 0.0]]])
        >>> round(float(losskit.focal_tversky_loss(p, g, gamma=2.0, smooth_nr=0.0, smooth_dr=0.0)), 4)
        0.7071
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_number("gamma", gamma, low=0.0, low_open=True)
    _check_tversky(alpha, beta, smooth_nr, smooth_dr)

    def focal_tversky(I, P, G, xp):
        base = 1.0 - _tversky_index(I, P, G, alpha=alpha, beta=beta, smooth_nr=smooth_nr, smooth_dr=smooth_dr)
        if gamma == 1.0:
            return base
        # base^(1/gamma) has derivative (1/gamma) base^(1/gamma - 1): infinite at base = 0
        # when gamma > 1, and base may round to a tiny negative (NaN power). The double
        # where gives value 0 and gradient 0 there (0 is the minimum) and keeps NaN out of
        # the backward pass of the discarded branch. "Not <= 0" rather than "> 0": a NaN
        # base (NaN input) takes the power and stays NaN instead of becoming a finite 0.
        ok = xp.logical_not(base <= 0)
        safe = xp.where(ok, base, xp.ones_like(base))
        return xp.where(ok, safe ** (1.0 / gamma), xp.zeros_like(base))

    return overlap_loss(
        input, target, xp, EntryTail(focal_tversky, reduction), activation=activation, axis=axis,
        include_background=include_background, squared=False, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )


@loss(
    formula=r"\log\cosh(L_{\mathrm{Dice}})",
    reference="Jadon, A survey of loss functions for semantic segmentation, 2020, arXiv:2006.14822",
    aliases=("log_cosh_dice",),
    plot="dice",
    fast_paths=FAST_PATHS,
)
def log_cosh_dice_loss(
    input,
    target,
    *,
    activation=None,
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Log-cosh Dice loss: log(cosh(.)) of the per-sample, per-class Dice loss.

    .. math::

        L_{nc} = \log\cosh\left(D_{nc}\right)

    where

    - :math:`D_{nc}` is the Dice loss of :func:`dice_loss` for sample :math:`n` and
      class :math:`c` (same options).

    Args:
%(common_args)s
        squared: square ``p`` and ``g`` in the Dice denominator.
%(weight)s

    Returns:
%(common_returns)s

    Notes:
        Computed by ``losskit._xp.log_cosh``: finite for any input, exact and >= 0 for
        small Dice losses. Jadon's code applies log-cosh to the Dice loss of the whole batch (all
        classes pooled); here it is applied per (sample, class) entry like the rest of the
        family, which is the same for one class with ``batch=True``. Since
        :math:`\log\cosh x \approx x^2/2` near 0, the loss is flatter than Dice near a
        perfect score.

    References:
        Jadon, A survey of loss functions for semantic segmentation, 2020, arXiv:2006.14822.

    Example:
        Dice loss 1/3 (see :func:`dice_loss`): log(cosh(1/3)) = 0.0546.

        >>> import numpy as np, losskit
        >>> p = np.array([[[0.5, 0.5, 0.0, 0.0]]])
        >>> g = np.array([[[1.0, 1.0, 0.0, 0.0]]])
        >>> round(float(losskit.log_cosh_dice_loss(p, g)), 4)
        0.0546
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_smooth(smooth_nr, smooth_dr)

    def log_cosh_dice(I, P, G, xp):
        return log_cosh(dice_formula(I, P, G, smooth_nr, smooth_dr), xp)

    return overlap_loss(
        input, target, xp, EntryTail(log_cosh_dice, reduction), activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )


@loss(
    formula=r"\lambda_{\mathrm{Dice}} L_{\mathrm{Dice}} + \lambda_{\mathrm{CE}} L_{\mathrm{CE}}",
    reference="Isensee, Jaeger, Kohl, Petersen, Maier-Hein, nnU-Net: a self-configuring method for deep learning-based biomedical image segmentation, 2021, arXiv:1809.10486",
    aliases=("dice_ce", "dice_cross_entropy_loss"),
    fast_paths=FAST_PATHS,
)
def dice_ce_loss(
    input,
    target,
    *,
    lambda_dice=1.0,
    lambda_ce=1.0,
    activation="softmax",
    axis=1,
    include_background=True,
    squared=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    reduction="mean",
):
    r"""Dice loss plus cross-entropy on the same logits (the nnU-Net / MONAI ``DiceCELoss`` recipe).

    .. math::

        L = \lambda_{\mathrm{Dice}}\, L_{\mathrm{Dice}}(a(x), g)
          + \lambda_{\mathrm{CE}}\, L_{\mathrm{CE}}(x, g)

    where

    - :math:`x` are the logits and :math:`a` the ``activation``,
    - :math:`L_{\mathrm{Dice}}` is :func:`dice_loss` with the Dice options,
    - :math:`L_{\mathrm{CE}}` is :func:`losskit.cross_entropy` (``activation="softmax"``) or
      :func:`losskit.binary_cross_entropy_with_logits` per channel (``"sigmoid"``).

    Args:
        input: ``(N, C, *spatial)`` logits, class axis ``axis``.
        target: integer labels ``(N, *spatial)`` (with ``C == 1``: a 0/1 mask), MONAI's
            ``(N, 1, *spatial)`` label map (integer or integer-valued float), or an array
            of the input's shape (one-hot / soft labels; multi-label masks with
            ``"sigmoid"``).
        lambda_dice: weight of the Dice term (>= 0).
        lambda_ce: weight of the cross-entropy term (>= 0).
        activation: ``"softmax"`` (mutually exclusive classes: softmax Dice + cross-entropy)
            or ``"sigmoid"`` (per-channel: sigmoid Dice + binary cross-entropy).
        axis: the class axis (not 0).
        include_background: Dice term only (the cross-entropy always sees every class).
        squared, smooth_nr, smooth_dr, batch: Dice term options, see :func:`dice_loss`.
        weight: ``(C,)`` class weights, used by both terms: the Dice class weights and the
            cross-entropy ``weight`` (softmax), or the per-channel ``pos_weight`` of the
            binary cross-entropy (sigmoid), as in MONAI.
        ignore_index: label excluded from both terms; ``None`` for none.
        label_smoothing: cross-entropy label smoothing in [0, 1] (softmax only).
        reduction: ``"mean"`` or ``"sum"``, applied to each term before they are added
            (``"none"`` is refused: the terms have different shapes, per (sample, class)
            and per pixel).

    Returns:
        A scalar, float32 (float64 for float64 input).

    Notes:
        Matches MONAI's ``DiceCELoss(softmax=True)`` (and ``sigmoid=True`` with one
        channel, where MONAI also switches to binary cross-entropy). Differences: with
        ``"sigmoid"`` and several channels MONAI still applies softmax cross-entropy,
        here the binary cross-entropy matches the sigmoid (multi-label) Dice; MONAI's
        weighted Dice ``"mean"`` is ``mean(w * L)``, here ``sum(w * L) / sum(w)``; MONAI
        refuses ``ignore_index``. With ``"sigmoid"``, integer labels and several channels,
        each channel's binary target is its one-hot column. With ``activation="softmax"``
        and integer labels on torch, both terms avoid a one-hot (Dice via the fused label
        sums, CE via ``F.cross_entropy``).

    References:
        Isensee, Jaeger, Kohl, Petersen, Maier-Hein, nnU-Net: a self-configuring method for
        deep learning-based biomedical image segmentation, 2021, arXiv:1809.10486.

    Example:
        Logits of 0 for two classes: softmax 1/2 everywhere, CE = log 2 = 0.6931; labels
        [0, 1]: each class has I = 0.5, P = 1, G = 1, Dice loss 1 - 1/2 = 0.5 (smoothing 0).

        >>> import numpy as np, losskit
        >>> x = np.zeros((1, 2, 2))
        >>> g = np.array([[0, 1]])
        >>> round(float(losskit.dice_ce_loss(x, g, smooth_nr=0.0, smooth_dr=0.0)), 4)
        1.1931
    """
    xp, target, ignore_index = check_compound(
        input, target, activation=activation, axis=axis, ignore_index=ignore_index, reduction=reduction,
        takes_logits="dice_ce_loss",
    )
    check_number("lambda_dice", lambda_dice, low=0.0)
    check_number("lambda_ce", lambda_ce, low=0.0)
    check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    if activation == "sigmoid" and label_smoothing != 0.0:
        raise ValueError(
            f"label_smoothing: expected 0.0 with activation='sigmoid' (binary cross-entropy), got {label_smoothing!r}"
        )
    check_smooth(smooth_nr, smooth_dr)

    def dice_(I, P, G, xp):  # an EntryTail, no vjp: the numba path returns the sums here
        return dice_formula(I, P, G, smooth_nr, smooth_dr)

    dice = overlap_loss(
        input, target, xp, EntryTail(dice_, reduction), activation=activation, axis=axis,
        include_background=include_background, squared=squared, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    is_labels = is_label_map(input, target, xp)
    if activation == "softmax" and ignore_index is not None and not is_labels:
        raise ValueError(
            "ignore_index: expected None with dense (one-hot / soft) targets and "
            f"activation='softmax' (cross-entropy ignores class indices only), got {ignore_index!r}"
        )
    ax = normalize_axis("axis", axis, input.ndim)
    C = input.shape[ax]
    cw = class_weight(weight, C, xp, as_float(input, xp))
    if activation == "softmax":
        ce = cross_entropy(
            input, target, weight=cw, ignore_index=ignore_index if is_labels else None,
            label_smoothing=label_smoothing, axis=ax, reduction=reduction,
        )
    else:
        x = as_float(input, xp)
        t, keep = channel_targets(target, C, ax, ignore_index, x.dtype, xp, labels=is_labels)
        mask = None
        if keep is not None:
            mask = xp.astype(keep, x.dtype) * xp.ones_like(x)  # every channel of a kept pixel
            t = t * mask  # ignored elements: target 0, weight 0
        pw = None
        if cw is not None:
            shape = [1] * x.ndim
            shape[ax] = C
            pw = xp.reshape(cw, tuple(shape))
        if mask is None:
            ce = binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction=reduction)
        else:
            # torch's BCE "mean" divides by every element; ignored ones must not count.
            ce = binary_cross_entropy_with_logits(x, t, weight=mask, pos_weight=pw, reduction="sum")
            if reduction == "mean":
                count = xp.sum(mask)
                ce = ce / xp.where(count > 0, count, xp.ones_like(count))
    return lambda_dice * dice + lambda_ce * ce
