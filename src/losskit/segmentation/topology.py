r"""Topology-aware losses of the segmentation family: :func:`cldice_loss` and
:func:`dice_cldice_loss` (Shit et al., clDice).

The soft skeleton is written against the array API: the 3-neighbourhood minimum and
maximum along one spatial axis are taken over slices, the window cut at the border (as
max pooling with ``-inf`` padding), erosion is the minimum of the axis-wise minima (a
cross-shaped window), dilation the axis-wise maxima in turn (a full ``3 x 3 (x 3)`` box).
At a tie the window's first pixel wins, as in max pooling's backward, so that torch's
pooling (fast path ``segmentation.torch_pool``) and MONAI's ``soft_skel`` have the same
gradients everywhere, binary and saturated inputs included. Any number of spatial axes
works; the paper and MONAI use 2D and 3D.
"""

from __future__ import annotations

from .._checks import check_bool, check_choice, check_ignore_index, check_int, check_number, check_reduction
from .._fastpath import fast_path, select
from .._reduce import reduce_loss
from .._xp import backend_name, one_hot
from ._common import (
    FAST_PATHS,
    class_weight,
    drop_background,
    entry_weight,
    label_map,
    loss,
    namespace_of,
    prepare,
    skeleton_iterations,
    spatial_shape,
)
from .overlap import dice_loss

__all__ = ["cldice_loss", "dice_cldice_loss", "soft_skeleton"]

_SHIT = ("Shit, Paetzold, Sekuboyina, Ezhov, Unger, Zhylka, Pluim, Bauer, Menze, clDice - a Novel "
         "Topology-Preserving Loss Function for Tubular Structure Segmentation, 2021, arXiv:2003.07311")


def _first_of3(x, axis, xp, ge):
    """The 3-neighbourhood maximum (``ge = xp.greater_equal``) or minimum (``xp.less_equal``)
    of ``x`` along ``axis``, the window cut at the border, choosing at a tie the *first*
    element of the window (and a NaN wherever there is one), so that the gradient reaches
    one pixel, the one max pooling's backward picks (torch, MONAI)."""
    n = x.shape[axis]
    if n == 1:
        return x

    def sl(a, b):
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(a, b)
        return x[tuple(idx)]

    def first(a, b):
        return xp.where(xp.logical_or(ge(a, b), xp.isnan(a)), a, b)

    pieces = [first(sl(0, 1), sl(1, 2))]  # left border: the window is (x0, x1)
    if n > 2:
        a, b, c = sl(0, n - 2), sl(1, n - 1), sl(2, n)
        a_wins = xp.logical_or(xp.logical_and(ge(a, b), ge(a, c)), xp.isnan(a))
        pieces.append(xp.where(a_wins, a, first(b, c)))
    pieces.append(first(sl(n - 2, n - 1), sl(n - 1, n)))  # right border: (x_{n-2}, x_{n-1})
    return xp.concat(pieces, axis=axis)


def _erode(x, axes, xp):
    # the minimum of the axis-wise minima (a cross-shaped window), in MONAI's nesting
    out = None
    for a in axes:
        m = _first_of3(x, a, xp, xp.less_equal)
        out = m if out is None else xp.minimum(out, m)
    return out


def _dilate(x, axes, xp):
    # the full 3-box, one axis at a time from the last: at a tie the window's first pixel in
    # raster order wins, as in a single max pooling over the box
    for a in reversed(axes):
        x = _first_of3(x, a, xp, xp.greater_equal)
    return x


def _relu(x, xp):
    """max(x, 0) with torch's F.relu gradient at 0 (0, not the 1/2 of a tie); NaN stays NaN."""
    return xp.where(x <= 0, xp.zeros_like(x), x)


SKELETON_TORCH = fast_path(
    "segmentation.torch_pool",
    kernel="segmentation.soft_skeleton",
    impl="losskit.segmentation._torch:soft_skeleton",
    backend="torch",
    when="1 to 3 spatial axes: erosion and dilation as torch max pooling (one pooling per "
         "erosion axis, one over the 3-box per dilation), the reference's tie rule",
    eligible=lambda x, iterations, axes: len(axes) <= 3 and axes == tuple(range(2, x.ndim)),
)


def soft_skeleton(x, iterations, xp, axes=None):
    r"""Soft skeleton of ``x`` (values in [0, 1]) by iterated soft erosion and opening.

    .. math::

        S_0 = \mathrm{relu}(x - \mathrm{open}(x)),\quad x_k = \mathrm{erode}(x_{k-1}),\quad
        \delta_k = \mathrm{relu}(x_k - \mathrm{open}(x_k)),\quad
        S_k = S_{k-1} + \mathrm{relu}(\delta_k - S_{k-1} \delta_k)

    for :math:`k = 1, \dots,` ``iterations``, with ``open = dilate . erode``. ``axes``: the
    spatial axes (default all but the first two, ``(N, C, *spatial)``). Erosion is the
    minimum over the axis-aligned 3-neighbourhoods, dilation the maximum over the 3-box,
    both cut at the border (max pooling's ``-inf`` padding); at a tie the gradient goes to
    the window's first pixel, as max pooling's does.
    """
    if axes is None:
        axes = tuple(range(2, x.ndim))
    impl = select("segmentation.soft_skeleton", backend_name(xp), x, iterations=iterations, axes=tuple(axes))
    if impl is not None:
        return impl(x, iterations)
    return skeleton_iterations(x, iterations, erode=lambda v: _erode(v, axes, xp),
                               dilate=lambda v: _dilate(v, axes, xp), relu=lambda v: _relu(v, xp))


def _check_options(activation, iterations, smooth, harmonic_smooth, batch, include_background):
    check_choice("activation", activation, (None, "sigmoid", "softmax"))
    iterations = check_int("iterations", iterations, allow_none=False, low=0)
    check_number("smooth", smooth, low=0.0, low_open=True)
    check_number("harmonic_smooth", harmonic_smooth, low=0.0)
    check_bool("batch", batch)
    check_bool("include_background", include_background)
    return iterations


def _cldice_entries(input, target, xp, *, activation, axis, include_background, iterations, smooth,
                    harmonic_smooth, batch, ignore_index, weight):
    """Per-(sample, class) clDice losses ``(N, C')`` (``(C',)`` with ``batch``), their class
    weights and validity, ready for :func:`reduce_entries`-style reduction."""
    target = label_map(input, target, axis, xp)
    p, labels, g, mask = prepare(input, target, xp, activation=activation, axis=axis, ignore_index=ignore_index)
    N, C, S = p.shape
    spatial = spatial_shape(input, axis)
    if labels is not None:
        g = one_hot(labels, C, xp, axis=1, dtype=p.dtype)
        if mask is not None:
            mask = mask[:, None, :]
    valid = None
    if mask is not None:
        m = xp.astype(mask, p.dtype)
        # Ignored pixels are background for both skeletons and leave every sum.
        p = p * m
        g = g * m
        valid = xp.astype(xp.sum(m * xp.ones_like(p), axis=-1) > 0, p.dtype)
    w = class_weight(weight, C, xp, p)
    p, g = drop_background(include_background, C, p, g, axis=1)
    w, valid = drop_background(include_background, C, w, valid)
    Cp = p.shape[1]
    shape = (N, Cp) + spatial
    ps, gs = xp.reshape(p, shape), xp.reshape(g, shape)
    sp = xp.reshape(soft_skeleton(ps, iterations, xp), (N, Cp, S))
    sg = xp.reshape(soft_skeleton(gs, iterations, xp), (N, Cp, S))
    sums = [xp.sum(a, axis=-1) for a in (sp * g, sp, sg * p, sg)]
    if batch:
        sums = [xp.sum(a, axis=0) for a in sums]
        if valid is not None:
            valid = xp.astype(xp.sum(valid, axis=0) > 0, p.dtype)
    spg, spp, sgp, sgg = sums
    tprec = (spg + smooth) / (spp + smooth)
    tsens = (sgp + smooth) / (sgg + smooth)
    loss_ = 1.0 - 2.0 * tprec * tsens / (tprec + tsens + harmonic_smooth)
    return loss_, w, valid


_DOC = {"args": """\
        input: ``(N, C, *spatial)`` probabilities, or logits with ``activation``; the
            class axis is ``axis``; at least one spatial axis (2D and 3D in the paper).
        target: integer labels ``(N, *spatial)`` (with ``C == 1`` a 0/1 mask), MONAI's
            ``(N, 1, *spatial)`` label map, or an array of the input's shape (one-hot or
            masks in [0, 1]).
        activation: required, ``None`` (``input`` holds probabilities), ``"softmax"`` or
            ``"sigmoid"``. There is no default: a soft skeleton of logits is meaningless
            and gives a silently wrong loss (MONAI issue 8239 reports a zero loss).
        axis: the class axis (not 0).
        include_background: ``False`` drops class 0 (after the activation).
        iterations: erosion steps of the soft skeleton (>= 0; the paper's and MONAI's 3);
            it should be at least the largest radius of the structures.
        smooth: added to numerator and denominator of the topology precision and
            sensitivity (> 0; 1.0 as in MONAI and the paper's code).
        harmonic_smooth: added to the denominator of their harmonic mean (>= 0); MONAI
            1.6 uses 1e-4, which makes a perfect prediction score slightly above 0.
        batch: ``True`` pools the sums over the batch (one value per class).
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.
        ignore_index: label value whose pixels count as background for both skeletons and
            leave every sum; ``None`` for none."""}


@loss(
    formula=r"1 - \frac{2\,T_{prec} T_{sens}}{T_{prec} + T_{sens}},\ T_{prec} = \frac{|S_P \circ V_L| + s}{|S_P| + s},\ T_{sens} = \frac{|S_L \circ V_P| + s}{|S_L| + s}",
    reference=_SHIT,
    aliases=("cldice", "soft_cldice_loss"),
    fast_paths=(SKELETON_TORCH.name,),
    doc=_DOC,
)
def cldice_loss(
    input,
    target,
    *,
    activation,
    axis=1,
    include_background=True,
    iterations=3,
    smooth=1.0,
    harmonic_smooth=0.0,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Soft clDice loss: one minus the harmonic mean of topology precision and sensitivity.

    .. math::

        L_{nc} = 1 - \frac{2\, T^{prec}_{nc} T^{sens}_{nc}}{T^{prec}_{nc} + T^{sens}_{nc} + \epsilon},
        \qquad
        T^{prec} = \frac{\sum_i S(p)_i\, g_i + s}{\sum_i S(p)_i + s}, \qquad
        T^{sens} = \frac{\sum_i S(g)_i\, p_i + s}{\sum_i S(g)_i + s}

    where

    - :math:`p, g` are the predicted probabilities and the target of class :math:`c` in
      sample :math:`n` (the volumes :math:`V_P, V_L` of the paper),
    - :math:`S` is the soft skeleton (:func:`soft_skeleton`: ``iterations`` soft erosions,
      soft erosion the minimum over the axis-aligned 3-neighbourhoods, soft dilation the
      maximum over the 3-box),
    - :math:`s` is ``smooth`` and :math:`\epsilon` ``harmonic_smooth``.

    Args:
%(args)s
        reduction: ``"mean"`` (weighted mean over the entries), ``"sum"`` or ``"none"``.

    Returns:
        The loss, float32 (float64 for float64 input). Shape ``()`` for ``"mean"``/``"sum"``;
        ``(N, C')`` per sample and class for ``"none"`` (``(C',)`` with ``batch=True``).

    Notes:
        One value per class (as the Dice family), then reduced. MONAI's ``SoftclDiceLoss``
        pools the channels (one value per sample, sums over classes and pixels); the two
        agree for one class. ``harmonic_smooth=1e-4`` reproduces MONAI's guard exactly.
        The paper uses clDice together with a region loss: see :func:`dice_cldice_loss`.

    References:
        Shit, Paetzold, Sekuboyina, Ezhov, Unger, Zhylka, Pluim, Bauer, Menze, clDice - a
        Novel Topology-Preserving Loss Function for Tubular Structure Segmentation, CVPR
        2021, arXiv:2003.07311.

    Example:
        A one-pixel-wide line (its own skeleton) predicted at 0.5: T_prec = 1,
        T_sens = (1.5 + 1) / (3 + 1) = 5/8, clDice = 2 (5/8) / (13/8) = 10/13.

        >>> import numpy as np, losskit
        >>> g = np.zeros((1, 1, 3, 3)); g[0, 0, 1] = 1.0
        >>> round(float(losskit.cldice_loss(0.5 * g, g, activation=None)), 4)
        0.2308
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    iterations = _check_options(activation, iterations, smooth, harmonic_smooth, batch, include_background)
    ignore_index = check_ignore_index(ignore_index)
    loss_, w, valid = _cldice_entries(
        input, target, xp, activation=activation, axis=axis, include_background=include_background,
        iterations=iterations, smooth=smooth, harmonic_smooth=harmonic_smooth, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    return reduce_loss(loss_, reduction, xp, weight=entry_weight(w, valid))



@loss(
    formula=r"(1 - \alpha) L_{\mathrm{Dice}} + \alpha L_{\mathrm{clDice}}",
    reference=_SHIT,
    aliases=("dice_cldice", "soft_dice_cldice_loss"),
    fast_paths=(SKELETON_TORCH.name,) + FAST_PATHS,  # the skeleton's and the Dice term's
    doc=_DOC,
)
def dice_cldice_loss(
    input,
    target,
    *,
    activation,
    alpha=0.5,
    axis=1,
    include_background=True,
    iterations=3,
    smooth=1.0,
    harmonic_smooth=0.0,
    batch=False,
    weight=None,
    ignore_index=None,
    reduction="mean",
):
    r"""Soft Dice plus soft clDice (the paper's combined loss; MONAI's ``SoftDiceclDiceLoss``).

    .. math::

        L_{nc} = (1 - \alpha)\, L^{\mathrm{Dice}}_{nc} + \alpha\, L^{\mathrm{clDice}}_{nc}

    where

    - :math:`L^{\mathrm{Dice}}` is :func:`losskit.dice_loss` with ``smooth_nr = smooth_dr =
      smooth``,
    - :math:`L^{\mathrm{clDice}}` is :func:`cldice_loss`,
    - :math:`\alpha \in [0, 1]` weighs the topology term (0.5 by default, MONAI's; the
      paper tunes it per data set).

    Args:
%(args)s
        alpha: weight of the clDice term in [0, 1].
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(N, C')``, ``(C',)`` with ``batch``).

    Returns:
        As :func:`cldice_loss`.

    Notes:
        ``alpha=0`` is :func:`dice_loss` and ``alpha=1`` is :func:`cldice_loss`. MONAI pools
        the channels in the clDice term (see :func:`cldice_loss`); with one class the two
        agree (``harmonic_smooth=1e-4`` for MONAI's guard).

    References:
        Shit et al., clDice - a Novel Topology-Preserving Loss Function for Tubular
        Structure Segmentation, CVPR 2021, arXiv:2003.07311.

    Example:
        The line of :func:`cldice_loss` at 0.5: Dice 1 - (3 + 1) / (1.5 + 3 + 1) = 3/11,
        clDice 3/13; the average is 0.2517.

        >>> import numpy as np, losskit
        >>> g = np.zeros((1, 1, 3, 3)); g[0, 0, 1] = 1.0
        >>> round(float(losskit.dice_cldice_loss(0.5 * g, g, activation=None)), 4)
        0.2517
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    iterations = _check_options(activation, iterations, smooth, harmonic_smooth, batch, include_background)
    check_number("alpha", alpha, low=0.0, high=1.0)
    ignore_index = check_ignore_index(ignore_index)
    target = label_map(input, target, axis, xp)
    cl, w, valid = _cldice_entries(
        input, target, xp, activation=activation, axis=axis, include_background=include_background,
        iterations=iterations, smooth=smooth, harmonic_smooth=harmonic_smooth, batch=batch,
        ignore_index=ignore_index, weight=weight,
    )
    dice = dice_loss(
        input, target, activation=activation, axis=axis, include_background=include_background,
        smooth_nr=smooth, smooth_dr=smooth, batch=batch, ignore_index=ignore_index, reduction="none",
    )
    return reduce_loss((1.0 - alpha) * dice + alpha * cl, reduction, xp, weight=entry_weight(w, valid))

