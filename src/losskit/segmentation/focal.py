r"""Dice + focal losses of the segmentation family: :func:`dice_focal_loss` and
:func:`generalized_dice_focal_loss` (MONAI's ``DiceFocalLoss`` / ``GeneralizedDiceFocalLoss``).

The region term is :func:`losskit.segmentation.dice_loss` /
:func:`losskit.segmentation.generalized_dice_loss`; the focal term follows the activation:
losskit's softmax :func:`losskit.focal_loss` on the labels for ``activation="softmax"``,
the per-channel :func:`losskit.sigmoid_focal_loss` for ``"sigmoid"``. MONAI keeps a sigmoid
focal term whatever the Dice activation; ``focal_activation="sigmoid"`` reproduces it.
"""

from __future__ import annotations

from ..classification import focal_loss, sigmoid_focal_loss
from .._checks import check_choice, check_number, normalize_axis
from .._reduce import reduce_loss
from .._xp import as_float
from ._common import FAST_PATHS, channel_targets, check_compound, class_weight, is_label_map, loss
from .overlap import dice_loss, generalized_dice_loss

__all__ = ["dice_focal_loss", "generalized_dice_focal_loss"]

_LIN = "Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017, arXiv:1708.02002"


def _region_plus_focal(region, region_options, input, target, *, lambda_dice, lambda_focal, gamma, alpha,
                       activation, focal_activation, axis, include_background, weight, ignore_index, reduction):
    """``lambda_dice * region(...) + lambda_focal * focal_term(...)``: the body of the Dice +
    focal losses, ``region`` their Dice loss with its own options ``region_options``."""
    xp, target, ignore_index = check_compound(
        input, target, activation=activation, axis=axis, ignore_index=ignore_index, reduction=reduction,
        takes_logits="the focal term",
    )
    check_choice("focal_activation", focal_activation, (None, "sigmoid"))
    check_number("gamma", gamma, low=0.0)
    if alpha is not None:
        check_number("alpha", alpha, low=0.0, high=1.0)
    check_number("lambda_dice", lambda_dice, low=0.0)
    check_number("lambda_focal", lambda_focal, low=0.0)
    shared = dict(activation=activation, axis=axis, include_background=include_background,
                  ignore_index=ignore_index, reduction=reduction)
    dice = region(input, target, **shared, **region_options)
    focal = focal_term(input, target, xp, focal_activation=focal_activation, gamma=gamma, alpha=alpha,
                       weight=weight, **shared)
    return lambda_dice * dice + lambda_focal * focal


def _masked_mean(loss_, keep, reduction, xp):
    """Sum of ``loss_`` over the kept elements (``keep`` a boolean mask broadcastable to
    it, or ``None`` for all), divided by their count for ``"mean"`` (0 when none is kept or
    the batch is empty, the graph kept)."""
    if keep is None:
        return reduce_loss(loss_, reduction, xp)
    # where before the weights: a dropped element's loss may be inf (logit -inf), and inf * 0 is NaN.
    loss_ = xp.where(keep, loss_, xp.zeros_like(loss_))
    return reduce_loss(loss_, reduction, xp, weight=xp.astype(keep, loss_.dtype))


def focal_term(input, target, xp, *, activation, focal_activation, axis, include_background, gamma, alpha,
               weight, ignore_index, reduction):
    """The focal term of the Dice + focal losses, over the elements the Dice term counts.

    ``target`` is already validated (by the Dice term) and in the ``(N, ...)`` labels or the
    input's shape. Softmax: ``focal_loss`` per pixel (the class weights as its per-class
    ``alpha``), background pixels left out without background. Sigmoid: ``sigmoid_focal_loss``
    per element of the per-channel binary target, times the class weight of the channel,
    channel 0 left out without background.
    """
    ax = normalize_axis("axis", axis, input.ndim)
    C = input.shape[ax]
    x = as_float(input, xp)
    w = class_weight(weight, C, xp, x)
    is_labels = is_label_map(input, target, xp)
    if (focal_activation or activation) == "softmax":
        if not is_labels:
            raise ValueError(
                "target: expected integer labels for the softmax focal term (losskit.focal_loss takes class "
                f"indices), got an array of the input's shape {tuple(target.shape)}; focal_activation='sigmoid' "
                "gives MONAI's per-channel focal term on dense targets"
            )
        if alpha is not None:
            raise ValueError(
                f"alpha: expected None with the softmax focal term (its class weights are weight=), got {alpha!r}"
            )
        per_pixel = focal_loss(x, target, gamma=gamma, alpha=w, ignore_index=ignore_index, axis=ax, reduction="none")
        keep = None
        if ignore_index is not None:
            keep = target != ignore_index
        if not include_background:
            fg = target != 0
            keep = fg if keep is None else xp.logical_and(keep, fg)
        return _masked_mean(per_pixel, keep, reduction, xp)
    if ax != 1:
        x = xp.moveaxis(x, ax, 1)
        if not is_labels:
            target = xp.moveaxis(target, ax, 1)
    t, keep = channel_targets(target, C, 1, ignore_index, x.dtype, xp, labels=is_labels)
    per_elem = sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction="none")
    if w is not None:
        per_elem = per_elem * xp.reshape(w, (1, C) + (1,) * (x.ndim - 2))
    if not include_background:
        per_elem = per_elem[:, 1:, ...]
        keep = None if keep is None else keep[:, 1:, ...]
    return _masked_mean(per_elem, keep, reduction, xp)


_FOCAL_ARGS = """\
        lambda_dice: weight of the Dice term (>= 0).
        lambda_focal: weight of the focal term (>= 0).
        gamma: focal exponent (>= 0; 0 makes the focal term a cross-entropy).
        alpha: the sigmoid focal term's positive/negative balance in [0, 1] (``None``: off,
            MONAI's default); must be ``None`` with the softmax focal term, whose class
            weights are ``weight``.
        activation: ``"softmax"`` (mutually exclusive classes: softmax Dice, softmax focal
            term on the labels) or ``"sigmoid"`` (per channel: sigmoid Dice, sigmoid focal
            term per element).
        focal_activation: ``None`` (the focal term follows ``activation``) or
            ``"sigmoid"`` (a sigmoid focal term on the per-channel binary targets whatever
            the Dice activation, as MONAI computes it).
        axis: the class axis (not 0).
        include_background: ``False`` leaves class 0 out of *both* terms: of the Dice
            average, and of the focal term (background pixels with the softmax term, channel
            0 with the sigmoid term; the softmax still sees class 0).
        ignore_index: label excluded from both terms; ``None`` for none.
        reduction: ``"mean"`` or ``"sum"``, applied to each term before they are added
            (``"none"`` is refused: the terms have different shapes). The focal
            ``"mean"`` is the plain mean over the counted pixels (elements with the
            sigmoid term)."""


_DOC = {"focal_args": _FOCAL_ARGS}


@loss(
    formula=r"\lambda_{\mathrm{Dice}} L_{\mathrm{Dice}} + \lambda_{\mathrm{focal}} L_{\mathrm{focal}}",
    reference=_LIN,
    aliases=("dice_focal",),
    fast_paths=FAST_PATHS,
    doc=_DOC,
)
def dice_focal_loss(
    input,
    target,
    *,
    lambda_dice=1.0,
    lambda_focal=1.0,
    gamma=2.0,
    alpha=None,
    activation="softmax",
    focal_activation=None,
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
    r"""Dice loss plus focal loss on the same logits (MONAI's ``DiceFocalLoss``).

    .. math::

        L = \lambda_{\mathrm{Dice}}\, L_{\mathrm{Dice}}(a(x), g)
          + \lambda_{\mathrm{focal}}\, L_{\mathrm{focal}}(x, g)

    where

    - :math:`x` are the logits and :math:`a` the ``activation``,
    - :math:`L_{\mathrm{Dice}}` is :func:`losskit.dice_loss` with the Dice options,
    - :math:`L_{\mathrm{focal}}` is, for ``"softmax"``, the mean over pixels of
      :math:`-w_{y} (1 - p_{y})^{\gamma} \log p_{y}` (:func:`losskit.focal_loss`, :math:`p`
      the softmax, :math:`y` the label, :math:`w` the class weights), and for
      ``"sigmoid"`` the mean over elements of
      :math:`w_c\, \alpha_t (1 - p_t)^{\gamma}\, \mathrm{BCE}(x_c, g_c)`
      (:func:`losskit.sigmoid_focal_loss` per channel).

    Args:
        input: ``(N, C, *spatial)`` logits, class axis ``axis``.
        target: integer labels ``(N, *spatial)`` (with ``C == 1``: a 0/1 mask), MONAI's
            ``(N, 1, *spatial)`` label map (integer or integer-valued float), or an array
            of the input's shape (one-hot / multi-label masks; the softmax focal term needs
            labels, ``focal_activation="sigmoid"`` takes dense targets).
%(focal_args)s
        squared, smooth_nr, smooth_dr, batch: Dice term options, see :func:`dice_loss`.
        weight: ``(C,)`` class weights of both terms (background included): the Dice class
            weights, and the focal term's per-class factor.

    Returns:
        A scalar, float32 (float64 for float64 input).

    Notes:
        MONAI 1.6's ``DiceFocalLoss(softmax=True)`` pairs a softmax Dice with a *sigmoid*
        focal term on the one-hot target: ``dice_focal_loss(activation="softmax",
        focal_activation="sigmoid")`` is that loss (``to_onehot_y`` needs nothing: the
        ``(N, 1, ...)`` label map is accepted as it is). MONAI's focal ``"sum"`` averages
        the spatial axes before summing, and its weighted Dice ``"mean"`` is
        ``mean(w * L)`` where ours is ``sum(w * L) / sum(w)``; the unweighted ``"mean"``
        agrees. ``lambda_focal=0`` is :func:`dice_loss`; ``lambda_dice=0`` with
        ``"softmax"`` and all classes is :func:`losskit.focal_loss`.

    References:
        Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017,
        arXiv:1708.02002. Milletari, Navab, Ahmadi, V-Net, 2016, arXiv:1606.04797.

    Example:
        Logits 0 for two classes, labels [0, 1], no smoothing: the Dice loss is 0.5 (see
        :func:`dice_ce_loss`); each pixel has p_y = 1/2, focal term (1/2)^2 log 2.

        >>> import numpy as np, losskit
        >>> x = np.zeros((1, 2, 2))
        >>> g = np.array([[0, 1]])
        >>> round(float(losskit.dice_focal_loss(x, g, smooth_nr=0.0, smooth_dr=0.0)), 4)
        0.6733
    """
    return _region_plus_focal(
        dice_loss, dict(squared=squared, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch, weight=weight),
        input, target, lambda_dice=lambda_dice, lambda_focal=lambda_focal, gamma=gamma, alpha=alpha,
        activation=activation, focal_activation=focal_activation, axis=axis,
        include_background=include_background, weight=weight, ignore_index=ignore_index, reduction=reduction,
    )


@loss(
    formula=r"\lambda_{\mathrm{Dice}} L_{\mathrm{GDL}} + \lambda_{\mathrm{focal}} L_{\mathrm{focal}}",
    reference="Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237; " + _LIN,
    aliases=("generalized_dice_focal", "generalised_dice_focal_loss"),
    fast_paths=FAST_PATHS,
    doc=_DOC,
)
def generalized_dice_focal_loss(
    input,
    target,
    *,
    lambda_dice=1.0,
    lambda_focal=1.0,
    gamma=2.0,
    alpha=None,
    activation="softmax",
    focal_activation=None,
    axis=1,
    include_background=True,
    weight_type="square",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Generalized Dice loss plus focal loss on the same logits (MONAI's ``GeneralizedDiceFocalLoss``).

    .. math::

        L = \lambda_{\mathrm{Dice}}\, L_{\mathrm{GDL}}(a(x), g)
          + \lambda_{\mathrm{focal}}\, L_{\mathrm{focal}}(x, g)

    where

    - :math:`L_{\mathrm{GDL}}` is :func:`losskit.generalized_dice_loss` (class weights
      from the target volumes, ``weight_type``),
    - :math:`L_{\mathrm{focal}}` is the focal term of :func:`dice_focal_loss`.

    Args:
        input: ``(N, C, *spatial)`` logits, class axis ``axis``.
        target: as for :func:`dice_focal_loss`.
%(focal_args)s
        weight_type, smooth_nr, smooth_dr, batch: generalized Dice options, see
            :func:`generalized_dice_loss`.
        weight: ``(C,)`` class weights of the focal term (the generalized Dice weighs its
            classes itself), as in MONAI.

    Returns:
        A scalar, float32 (float64 for float64 input).

    Notes:
        MONAI calls the Dice weight ``lambda_gdl``; here it is ``lambda_dice`` as in
        :func:`dice_focal_loss`. MONAI's focal term is a sigmoid one
        (``focal_activation="sigmoid"``). ``lambda_focal=0`` is
        :func:`generalized_dice_loss`.

    References:
        Sudre, Li, Vercauteren, Ourselin, Cardoso, Generalised Dice overlap as a deep
        learning loss function for highly unbalanced segmentations, 2017, arXiv:1707.03237.
        Lin, Goyal, Girshick, He, Dollar, Focal Loss for Dense Object Detection, 2017,
        arXiv:1708.02002.

    Example:
        Logits 0, labels [0, 1]: both classes have G = 1 (equal weights), I = 0.5, P = 1:
        GDL 1 - 2 (0.5 + 0.5) / 4 = 0.5; focal term (1/2)^2 log 2 as in :func:`dice_focal_loss`.

        >>> import numpy as np, losskit
        >>> x = np.zeros((1, 2, 2))
        >>> g = np.array([[0, 1]])
        >>> round(float(losskit.generalized_dice_focal_loss(x, g, smooth_nr=0.0, smooth_dr=0.0)), 4)
        0.6733
    """
    return _region_plus_focal(
        generalized_dice_loss, dict(weight_type=weight_type, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch),
        input, target, lambda_dice=lambda_dice, lambda_focal=lambda_focal, gamma=gamma, alpha=alpha,
        activation=activation, focal_activation=focal_activation, axis=axis,
        include_background=include_background, weight=weight, ignore_index=ignore_index, reduction=reduction,
    )
