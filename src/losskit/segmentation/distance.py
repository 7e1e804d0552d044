r"""Distance-transform losses of the segmentation family: :func:`hausdorff_dt_loss`
(Karimi and Salcudean; MONAI's ``HausdorffDTLoss`` / ``LogHausdorffDTLoss``).

The exact Euclidean distance transforms are computed on a host copy of the masks (NumPy,
torch CPU or CUDA, JAX arrays): by the fast path ``segmentation.edt`` where numba is
installed (``pip install losskit[fast]``: a compiled separable transform,
:mod:`losskit.segmentation._numba_edt`, both transforms of a map at once, maps in
parallel, scipy's numbers), otherwise by the reference, ``scipy.ndimage.distance_transform_edt``
twice per map (``pip install losskit[distance]``), imported when a loss needs one. The maps
go back to the input's library and device and carry no gradient, as in the paper. Under ``jax.jit`` / ``torch.compile`` the
masks have no values: pass ``distance_maps=`` (computed outside, e.g. with
:func:`distance_field`) or the loss raises a ValueError saying so. :func:`boundary_loss`
(Kervadec et al.) reads signed distance maps (:func:`signed_distance_map`), which a data
loader can compute once per image.
"""

from __future__ import annotations

import math

from .._checks import check_bool, check_choice, check_number, check_reduction
from .._fastpath import fast_path, select
from .._reduce import reduce_loss
from .._xp import is_traced, namespace, one_hot, to_numpy
from ._common import class_weight, drop_background, label_map, loss, namespace_of, prepare, spatial_shape

__all__ = ["hausdorff_dt_loss", "distance_field", "boundary_loss", "signed_distance_map"]

_KS = ("Karimi, Salcudean, Reducing the Hausdorff Distance in Medical Image Segmentation with "
       "Convolutional Neural Networks, IEEE TMI 2020, arXiv:1904.10030")


# The kernel: both transforms of every (N, C) map of a boolean NumPy mask (host copy), the
# unsigned field or the signed map. Its reference is scipy's exact transform, two per map.
DISTANCE_KERNEL = "segmentation.distance_transform"

EDT_NUMBA = fast_path(
    "segmentation.edt",
    kernel=DISTANCE_KERNEL,
    impl="losskit.segmentation._numba_edt:distance_transform",
    # the transforms run on a host copy (NumPy) whatever the loss's library and device
    backend="numpy",
    devices=("cpu",),
    requires="numba",
    when="every exact transform (the masks of any library go to a host copy first): "
         "Felzenszwalb-Huttenlocher's separable lower envelope, both transforms of a map in "
         "one set of passes, maps in parallel; scipy's numbers",
)


def _distance_transform(m, spacing, signed):
    """Both transforms of every map of ``m`` (boolean NumPy ``(N, C, *spatial)``), as
    :func:`distance_field` (``signed=False``) or :func:`signed_distance_map` define them."""
    import numpy as np

    impl = select(DISTANCE_KERNEL, "numpy", m)
    if impl is not None:
        return impl(m, spacing=spacing, signed=signed)
    edt = _edt()
    out = np.zeros(m.shape, dtype=np.float64)
    for idx in np.ndindex(*m.shape[:2]):
        fg = m[idx]
        if fg.any() and not fg.all():
            if signed:
                out[idx] = np.where(fg, 1.0 - edt(fg, sampling=spacing), edt(~fg, sampling=spacing))
            else:
                out[idx] = edt(fg, sampling=spacing) + edt(~fg, sampling=spacing)
    return out


def _edt():
    try:
        from scipy.ndimage import distance_transform_edt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the exact distance transforms need numba (pip install losskit[fast]) or scipy (pip install "
            "losskit[distance]), or pass distance_maps="
        ) from e
    return distance_transform_edt


def distance_field(mask, *, spacing=None):
    r"""The unsigned distance field of binary masks, per leading ``(N, C)`` entry.

    .. math::

        d(i) = \begin{cases} \operatorname{dist}(i, \bar M) & i \in M \\
                             \operatorname{dist}(i, M) & i \notin M \end{cases}

    (``distance_transform_edt(M) + distance_transform_edt(~M)``, exact: the fast path
    ``segmentation.edt`` where numba is installed, scipy's transforms otherwise, the same
    numbers), 0 everywhere for a mask that is empty or full (no boundary), as MONAI
    defines it.

    Args:
        mask: ``(N, C, *spatial)`` boolean (or 0/1) array of any library; computed on a host
            copy.
        spacing: the voxel size along each spatial axis (a number or one per axis), or
            ``None`` for 1.

    Returns:
        A NumPy float64 array of ``mask``'s shape.
    """
    import numpy as np

    m = np.asarray(to_numpy(mask)).astype(bool)
    if m.ndim < 3:
        raise ValueError(f"mask: expected (N, C, *spatial) with a spatial axis, got shape {m.shape}")
    return _distance_transform(m, _check_spacing(spacing, m.ndim - 2), signed=False)


def _as_maps(d, like, xp):
    """A distance map in ``like``'s library, dtype and device (maps computed on the host,
    e.g. NumPy arrays from :func:`distance_field`, are moved there)."""
    try:
        namespace(d, like)
    except (TypeError, ValueError):
        return xp.asarray(to_numpy(d), dtype=like.dtype, device=getattr(like, "device", None))
    return xp.astype(d, like.dtype) if d.dtype != like.dtype else d


def _flatten(input, target, xp, *, activation, axis, batch, include_background):
    """The checks and the flattening both distance losses start with: ``(p, labels, g,
    spatial)`` as :func:`~losskit.segmentation._common.prepare` gives them (no
    ``ignore_index``) and the spatial shape."""
    check_choice("activation", activation, (None, "sigmoid", "softmax"))
    check_bool("batch", batch)
    check_bool("include_background", include_background)
    target = label_map(input, target, axis, xp)
    p, labels, g, _ = prepare(input, target, xp, activation=activation, axis=axis, ignore_index=None)
    return p, labels, g, spatial_shape(input, axis)


def _pixel_mean_loss(v, w, batch, reduction, xp):
    """The loss from per-pixel values ``v`` ``(N, C', S)``: their mean per (sample, class),
    or per class over the whole batch with ``batch`` (0 where there is no pixel), reduced
    with the class weights ``w``."""
    if batch:
        v = xp.moveaxis(v, 0, -1)  # (C', S, N)
        axes, count = (-2, -1), v.shape[-2] * v.shape[-1]
    else:
        axes, count = -1, v.shape[-1]
    entries = xp.mean(v, axis=axes) if count > 0 else xp.sum(v, axis=axes)
    return reduce_loss(entries, reduction, xp, weight=w)


def _check_spacing(spacing, ndim):
    if spacing is None:
        return None
    if isinstance(spacing, (int, float)) and not isinstance(spacing, bool):
        spacing = (float(spacing),) * ndim
    try:
        spacing = tuple(float(s) for s in spacing)
    except TypeError:
        raise TypeError(f"spacing: expected a number or one number per spatial axis, got {spacing!r}") from None
    if len(spacing) != ndim or not all(s > 0 and math.isfinite(s) for s in spacing):
        raise ValueError(f"spacing: expected {ndim} positive numbers (one per spatial axis), got {spacing}")
    return spacing


@loss(
    formula=r"\frac{1}{|\Omega|}\sum_{i \in \Omega} (p_i - g_i)^2 (d_{p,i}^{\alpha} + d_{g,i}^{\alpha})",
    reference=_KS,
    aliases=("hausdorff_loss", "hd_loss"),
    fast_paths=(EDT_NUMBA.name,),
)
def hausdorff_dt_loss(
    input,
    target,
    *,
    activation=None,
    alpha=2.0,
    log=False,
    spacing=None,
    distance_maps=None,
    axis=1,
    include_background=True,
    batch=False,
    weight=None,
    reduction="mean",
):
    r"""Hausdorff distance loss from distance transforms (one value per sample and class).

    .. math::

        L_{nc} = \frac{1}{|\Omega|} \sum_{i \in \Omega} (p_{nci} - g_{nci})^2
                 \left(d^{P}_{nci}{}^{\alpha} + d^{G}_{nci}{}^{\alpha}\right)

    where

    - :math:`p` are the probabilities (after ``activation``), :math:`g` the target,
    - :math:`d^G` the distance field of the target mask and :math:`d^P` that of the
      thresholded prediction (:func:`distance_field`: the distance to the mask's boundary,
      inside and outside; 0 for an empty or full mask), exact Euclidean transforms,
      without gradient,
    - the threshold is the argmax over classes for ``"softmax"`` and ``p > 0.5`` otherwise,
    - :math:`\alpha` weighs large errors far from the boundary (2 in the paper).

    With ``log=True`` the loss is :math:`\log(1 + L)` of the reduced value (MONAI's
    ``LogHausdorffDTLoss``; per entry with ``reduction="none"``).

    Args:
        input: ``(N, C, *spatial)`` probabilities, or logits with ``activation``; class axis
            ``axis``; at least one spatial axis (2D and 3D in the paper).
        target: integer labels ``(N, *spatial)`` (with ``C == 1`` a 0/1 mask), MONAI's
            ``(N, 1, *spatial)`` label map, or masks of the input's shape.
        activation: ``None``, ``"softmax"`` or ``"sigmoid"``.
        alpha: the distance exponent (>= 0).
        log: ``True`` returns ``log(1 + L)``.
        spacing: voxel size per spatial axis (a number or one per axis) for anisotropic
            data, or ``None``.
        distance_maps: precomputed ``(d^P, d^G)``: a pair of arrays, or one array of shape
            ``(2, N, C, *spatial)`` (the input's layout with the class axis at 1, before the
            background is dropped), e.g. from :func:`distance_field` (NumPy maps are moved
            to the input's library and device). Needed under
            ``jax.jit`` / ``torch.compile``; then no transform is computed.
        axis: the class axis (not 0).
        include_background: ``False`` drops class 0 (after the activation and threshold).
        batch: ``True`` averages over the batch too (one value per class).
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.
        reduction: ``"mean"`` (weighted mean of the entries), ``"sum"`` or ``"none"``.

    Returns:
        The loss, float32 (float64 for float64 input): ``()`` for ``"mean"``/``"sum"``,
        ``(N, C')`` (``(C',)`` with ``batch``) for ``"none"``.

    Notes:
        mmseg's version compares each class probability with the raw label map, right only
        for two classes; here every class has its own mask and maps. MONAI thresholds every
        activation at 0.5 (the same as the argmax for two softmax classes), drops class 0
        by default (``include_background=False``; here ``True`` as in the Dice family) and,
        for ``reduction="none"``, returns ``(N, C, 1, ...)``. ``ignore_index`` is not
        supported (an ignored region has no distance to a boundary that means anything). The paper anneals nothing but
        trains with :math:`\alpha = 2` and adds the Dice loss; the distance maps of the
        prediction change as it trains, so they are recomputed each step.

    References:
        Karimi, Salcudean, Reducing the Hausdorff Distance in Medical Image Segmentation
        with Convolutional Neural Networks, IEEE TMI 2020, arXiv:1904.10030.

    Example:
        Four pixels in a row, target [1, 1, 0, 0], prediction [1, 0.6, 0.4, 0]: both masks
        have the boundary between pixels 1 and 2, distances [2, 1, 1, 2]; the errors
        0.16 at pixels 1 and 2 weigh 1 + 1: L = (0.32 + 0.32) / 4 = 0.16.

        >>> import numpy as np, losskit
        >>> p = np.array([[[[1.0, 0.6, 0.4, 0.0]]]])
        >>> g = np.array([[[[1.0, 1.0, 0.0, 0.0]]]])
        >>> round(float(losskit.hausdorff_dt_loss(p, g)), 4)
        0.16
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    check_number("alpha", alpha, low=0.0)
    check_bool("log", log)
    p, labels, g, spatial = _flatten(input, target, xp, activation=activation, axis=axis, batch=batch,
                                     include_background=include_background)
    N, C, S = p.shape
    spacing = _check_spacing(spacing, len(spatial))
    if labels is not None:
        g = one_hot(labels, C, xp, axis=1, dtype=p.dtype)
    full = (N, C) + spatial
    if distance_maps is None:
        if activation == "softmax":
            hard = one_hot(xp.argmax(p, axis=1), C, xp, axis=1, dtype=p.dtype) > 0.5
        else:
            hard = p > 0.5
        gm = g > 0.5
        # The masks, not the probabilities, must have values: under an eager jax.grad the
        # thresholded masks are concrete (no tangent) though p is a tracer, so the maps can
        # be computed there; under jax.jit / torch.compile they are symbolic.
        if is_traced(hard) or is_traced(gm):
            raise ValueError(
                "distance_maps: expected precomputed distance maps under jax.jit / torch.compile (the exact "
                "distance transforms need concrete values; compute them outside, e.g. with "
                "losskit.segmentation.distance_field), got None"
            )
        device = getattr(p, "device", None)
        dp = xp.asarray(distance_field(xp.reshape(hard, full), spacing=spacing), dtype=p.dtype, device=device)
        dg = xp.asarray(distance_field(xp.reshape(gm, full), spacing=spacing), dtype=p.dtype, device=device)
    else:
        if hasattr(distance_maps, "shape"):
            if tuple(distance_maps.shape) != (2,) + full:
                raise ValueError(
                    f"distance_maps: expected a pair of arrays of shape {full} or one array of shape "
                    f"{(2,) + full}, got shape {tuple(distance_maps.shape)}"
                )
            dp, dg = distance_maps[0, ...], distance_maps[1, ...]
        elif isinstance(distance_maps, (tuple, list)) and len(distance_maps) == 2:
            dp, dg = distance_maps
            for name, d in (("distance_maps[0]", dp), ("distance_maps[1]", dg)):
                if not hasattr(d, "shape") or tuple(d.shape) != full:
                    raise ValueError(f"{name}: expected an array of shape {full}, got {getattr(d, 'shape', type(d).__name__)}")
        else:
            raise TypeError(f"distance_maps: expected a pair of arrays or None, got {type(distance_maps).__name__}")
        dp, dg = (_as_maps(d, p, xp) for d in (dp, dg))
    dp, dg = xp.reshape(dp, (N, C, S)), xp.reshape(dg, (N, C, S))
    w = class_weight(weight, C, xp, p)
    p, g, dp, dg = drop_background(include_background, C, p, g, dp, dg, axis=1)
    (w,) = drop_background(include_background, C, w)
    if alpha == 2.0:
        dist = dp * dp + dg * dg
    else:
        dist = dp**alpha + dg**alpha
    out = _pixel_mean_loss((p - g) * (p - g) * dist, w, batch, reduction, xp)
    return xp.log1p(out) if log else out


def signed_distance_map(labels, *, num_classes=None, spacing=None):
    r"""Signed distance maps of the target boundary, negative inside (for :func:`boundary_loss`).

    .. math::

        \phi(i) = \begin{cases} \operatorname{dist}(i, M) & i \notin M \\
                                -(\operatorname{dist}(i, \bar M) - 1) & i \in M \end{cases}

    per sample and class (the convention of the paper's released maps: foreground pixels on
    the boundary get 0, the ones deeper inside negative values), Euclidean distances
    (exact: the fast path ``segmentation.edt``, or ``scipy.ndimage.distance_transform_edt``)
    in units of ``spacing``.

    Args:
        labels: integer labels ``(N, *spatial)`` with ``num_classes``, or masks
            ``(N, C, *spatial)`` (boolean or 0/1) of any library; computed on a host copy.
        num_classes: the number of classes of integer labels (``None`` for masks).
        spacing: voxel size per spatial axis (a number or one per axis), or ``None``.

    Returns:
        A NumPy float64 array ``(N, C, *spatial)``. A mask with no boundary (empty or full)
        gets 0 everywhere: a finite value, so its class adds nothing to the boundary loss
        (LIVIAETS/boundary-loss issue 18; the region loss it is paired with handles it).
    """
    import numpy as np

    a = np.asarray(to_numpy(labels))
    if num_classes is not None:
        num_classes = int(num_classes)
        if a.dtype.kind not in "iu":
            raise TypeError(f"labels: expected integer labels with num_classes, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"labels: expected class indices in [0, {num_classes - 1}], got [{a.min()}, {a.max()}]")
        m = np.moveaxis(np.eye(num_classes, dtype=bool)[a], -1, 1)
    else:
        m = a.astype(bool)
    if m.ndim < 3:
        raise ValueError(f"labels: expected masks (N, C, *spatial) or labels with num_classes, got shape {a.shape}")
    return _distance_transform(m, _check_spacing(spacing, m.ndim - 2), signed=True)


@loss(
    formula=r"\frac{1}{|\Omega|}\sum_{i \in \Omega} \phi_G(i)\, p_i",
    reference="Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed, Boundary loss for highly unbalanced segmentation, MIDL 2019, arXiv:1812.07032",
    aliases=("surface_loss",),
    fast_paths=(EDT_NUMBA.name,),
)
def boundary_loss(
    input,
    target,
    *,
    activation=None,
    distance_maps=None,
    spacing=None,
    axis=1,
    include_background=True,
    batch=False,
    weight=None,
    reduction="mean",
):
    r"""Boundary loss: the probabilities weighted by the target's signed distance map.

    .. math::

        L_{nc} = \frac{1}{|\Omega|} \sum_{i \in \Omega} \phi^G_{nci}\, p_{nci}

    where

    - :math:`p` are the probabilities (after ``activation``),
    - :math:`\phi^G` the signed distance map of the target (:func:`signed_distance_map`:
      negative inside, positive outside, 0 for a class with no boundary).

    The loss is minimal (negative) when the prediction covers exactly the target. The
    paper uses it *with* a region loss, e.g. :func:`generalized_dice_loss`:
    :math:`\alpha L_{GDL} + (1 - \alpha) L_B`, :math:`\alpha` starting at 1 and lowered by
    0.01 per epoch (down to 0.01), so that the boundary term takes over once the region
    term has located the structure.

    Args:
        input: ``(N, C, *spatial)`` probabilities, or logits with ``activation``.
        target: integer labels ``(N, *spatial)``, MONAI's ``(N, 1, *spatial)`` label map, or
            masks of the input's shape; the maps are computed from it unless
            ``distance_maps`` is given (then it is only validated).
        activation: ``None``, ``"softmax"`` or ``"sigmoid"``.
        distance_maps: precomputed ``(N, C, *spatial)`` signed maps (e.g. from
            :func:`signed_distance_map` in a data loader); needed under ``jax.jit`` /
            ``torch.compile``. NumPy maps are moved to the input's library and device.
        spacing: voxel size per spatial axis, for computed maps.
        axis: the class axis (not 0).
        include_background: ``False`` drops class 0 (the paper's ``idc=[1]`` for one
            foreground class).
        batch: ``True`` averages over the batch too (one value per class).
        weight: ``(C,)`` non-negative class weights (background included), or ``None``.
        reduction: ``"mean"`` (weighted mean of the entries), ``"sum"`` or ``"none"``.

    Returns:
        The loss, float32 (float64 for float64 input): ``()`` or ``(N, C')`` / ``(C',)``.

    References:
        Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed, Boundary loss for highly
        unbalanced segmentation, MIDL 2019, arXiv:1812.07032.

    Example:
        Target [1, 1, 0, 0]: map [-1, 0, 1, 2]; prediction [1, 0.6, 0.4, 0]:
        (-1 + 0 + 0.4 + 0) / 4 = -0.15.

        >>> import numpy as np, losskit
        >>> p = np.array([[[[1.0, 0.6, 0.4, 0.0]]]])
        >>> g = np.array([[[[1.0, 1.0, 0.0, 0.0]]]])
        >>> round(float(losskit.boundary_loss(p, g)), 4)
        -0.15
    """
    check_reduction(reduction)
    xp = namespace_of(input, target)
    p, labels, g, spatial = _flatten(input, target, xp, activation=activation, axis=axis, batch=batch,
                                     include_background=include_background)
    N, C, S = p.shape
    full = (N, C) + spatial
    if distance_maps is None:
        spacing = _check_spacing(spacing, len(spatial))
        if labels is not None:
            m = xp.reshape(one_hot(labels, C, xp, axis=1, dtype=p.dtype) > 0.5, full)
        else:
            m = xp.reshape(g > 0.5, full)
        # The target's masks must have values (the prediction need not: the maps are the
        # target's), so an eager jax.grad computes them; jax.jit / torch.compile cannot.
        if is_traced(m):
            raise ValueError(
                "distance_maps: expected precomputed signed distance maps under jax.jit / torch.compile (the "
                "exact distance transforms need concrete values; compute them in the data loader with "
                "losskit.segmentation.signed_distance_map), got None"
            )
        phi = xp.asarray(signed_distance_map(m, spacing=spacing), dtype=p.dtype, device=getattr(p, "device", None))
    else:
        if not hasattr(distance_maps, "shape") or tuple(distance_maps.shape) != full:
            raise ValueError(
                f"distance_maps: expected an array of shape {full}, got {getattr(distance_maps, 'shape', type(distance_maps).__name__)}"
            )
        phi = _as_maps(distance_maps, p, xp)
    phi = xp.reshape(phi, (N, C, S))
    w = class_weight(weight, C, xp, p)
    p, phi = drop_background(include_background, C, p, phi, axis=1)
    (w,) = drop_background(include_background, C, w)
    return _pixel_mean_loss(phi * p, w, batch, reduction, xp)
