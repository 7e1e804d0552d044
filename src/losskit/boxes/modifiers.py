r"""Modifiers that wrap a base IoU-family loss: Inner-IoU and Focaler-IoU.

Both take the base loss by name (``base="ciou"``), their own options as keywords, and the
base loss's options as one dict, ``base_options`` (``{"theta": 3.0}`` for SIoU,
``{"image_size": (640, 640)}`` for MPDIoU, ``{"version": 3, "iou_mean": m}`` for Wise-IoU),
validated exactly as the base loss validates them.

Until this release the base options were keywords of the modifiers themselves
(``inner_iou_loss(..., base="siou", theta=3.0)``). Those keywords keep working for one
release with a :class:`DeprecationWarning` naming the new spelling; as before, an old
keyword that the base does not take must keep its default.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from .._checks import check_choice, check_number
from .._reduce import reduce_loss
from ._common import loss
from ._geometry import Pair, guarded_ratio, prepare, relu
from .losses import FAST_PATHS, OPTIONS, _elementwise
from .wise import _kernel_options, _wiou, _wiou_options

__all__ = ["inner_iou_loss", "focaler_iou_loss", "BASES"]

_REF_INNER = (
    "Zhang, Xu and Zhang, Inner-IoU: More Effective Intersection over Union Loss with "
    "Auxiliary Bounding Box, 2023, arXiv:2311.02877"
)
_REF_FOCALER = "Zhang and Zhang, Focaler-IoU: More Focused Intersection over Union Loss, 2024, arXiv:2401.10525"

#: The base losses a modifier wraps (``base=``).
BASES = ("iou", "giou", "diou", "ciou", "eiou", "siou", "wiou", "mpdiou", "shape", "piou", "piou2")

_VALIDATORS = {**OPTIONS, "wiou": _wiou_options}

# The keywords the modifiers took before ``base_options`` (deprecated): name -> (default,
# bases that take it).
_DEPRECATED = {
    "alpha_threshold": (None, ("ciou",)),
    "theta": (4.0, ("siou",)),
    "version": (1, ("wiou",)),
    "iou_mean": (None, ("wiou",)),
    "alpha": (1.9, ("wiou",)),
    "delta": (3.0, ("wiou",)),
    "gamma": (0.5, ("wiou",)),
    "image_size": (None, ("mpdiou",)),
    "scale": (0.0, ("shape",)),
}


def _option_names(base: str) -> tuple[str, ...]:
    return tuple(inspect.signature(_VALIDATORS[base]).parameters)


def _base_options(fn: str, base: str, base_options: Any, deprecated: dict) -> dict:
    """The base's kernel options from ``base_options`` (and the deprecated keywords of
    ``fn``), validated by the base's own validator."""
    check_choice("base", base, BASES)
    if base_options is None:
        given: dict = {}
    elif isinstance(base_options, dict):
        given = dict(base_options)
    else:
        raise TypeError(f"base_options: expected a dict of base {base!r}'s options or None, "
                        f"got {type(base_options).__name__}")
    names = _option_names(base)
    unknown = sorted(set(given) - set(names))
    if unknown:
        takes = ", ".join(names) if names else "no options"
        raise ValueError(f"base_options: expected options of base={base!r} ({takes}), "
                         f"got {', '.join(repr(u) for u in unknown)}")
    for name, value in deprecated.items():
        if name not in _DEPRECATED:
            raise TypeError(f"{fn}() got an unexpected keyword argument {name!r}")
        warnings.warn(
            f"{fn}({name}=...) is deprecated and will be removed in the next release: "
            f"pass base_options={{{name!r}: ...}}",
            DeprecationWarning,
            stacklevel=3,
        )
        default, bases = _DEPRECATED[name]
        if base in bases:
            if name in given:
                raise ValueError(f"{name}: given both as a keyword and in base_options")
            given[name] = value
        elif value is default:
            continue
        elif default is None or value != default:
            raise ValueError(
                f"{name}: expected the default {default!r} with base={base!r} "
                f"(only base {' / '.join(repr(b) for b in bases)} takes it), got {value!r}"
            )
    return _VALIDATORS[base](**given)


def _base_loss(base, p, t, xp, eps, options):
    if base == "wiou":
        return _wiou(p, t, xp, eps=eps, **_kernel_options(options, xp, p))
    return _elementwise(base, p, t, xp, eps=eps, **options)


def _inner_iou(p, t, xp, *, eps, ratio):
    """IoU of the auxiliary boxes: same centres, sides scaled by ``ratio``."""
    g = Pair(p, t, xp, eps)
    pcx, pcy = (g.px1 + g.px2) / 2, (g.py1 + g.py2) / 2
    tcx, tcy = (g.tx1 + g.tx2) / 2, (g.ty1 + g.ty2) / 2
    hpw, hph = g.pw * (ratio / 2), g.ph * (ratio / 2)
    htw, hth = g.tw * (ratio / 2), g.th * (ratio / 2)
    iw = relu(xp.minimum(pcx + hpw, tcx + htw) - xp.maximum(pcx - hpw, tcx - htw), xp)
    ih = relu(xp.minimum(pcy + hph, tcy + hth) - xp.maximum(pcy - hph, tcy - hth), xp)
    inter = iw * ih
    union = (ratio * ratio) * (g.pw * g.ph + g.tw * g.th) - inter
    return guarded_ratio(inter, union, eps, xp), g.iou  # eps: see Pair.iou


@loss(
    formula=r"\mathcal{L}_{Inner\text{-}X} = \mathcal{L}_X + IoU - IoU^{inner}",
    reference=_REF_INNER,
    aliases=("inner_iou",),
    plot="box",
    fast_paths=FAST_PATHS,
)
def inner_iou_loss(
    pred,
    target,
    *,
    base: str = "ciou",
    ratio: float = 0.7,
    base_options: dict | None = None,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
    **deprecated_base_options: Any,
):
    r"""Inner-IoU: any IoU-based loss with its IoU replaced by that of scaled auxiliary boxes.

    .. math::

        \mathcal{L}_{Inner\text{-}X} = \mathcal{L}_X + IoU - IoU^{inner}, \qquad
        IoU^{inner} = \frac{|b \cap b^{gt}|_{r}}{r^2 (w h + w^{gt} h^{gt}) - |b \cap b^{gt}|_{r}}

    where :math:`\mathcal{L}_X` is the base loss (``base``), :math:`r` the ``ratio`` and
    :math:`|b \cap b^{gt}|_r` the intersection of the auxiliary boxes, which keep the centres
    of the real boxes and scale their width and height by :math:`r`.

    Args:
%(boxes)s
        base: the wrapped loss, one of ``"iou"``, ``"giou"``, ``"diou"``, ``"ciou"``
            (default), ``"eiou"``, ``"siou"``, ``"wiou"``, ``"mpdiou"``, ``"shape"``,
            ``"piou"``, ``"piou2"`` (Powerful-IoU v1 / v2; ``base_options={"lam": ...}``).
        ratio: auxiliary-box scale :math:`r > 0` (paper: 0.5 to 1.5; below 1 helps
            high-IoU samples converge, above 1 low-IoU ones). ``ratio=1`` is the base loss.
        base_options: the base loss's own options as a dict (``None``: its defaults), e.g.
            ``{"alpha_threshold": 0.5}`` for :func:`losskit.ciou_loss`, ``{"theta": 3.0}``
            for :func:`losskit.siou_loss`, ``{"version": 3, "iou_mean": m}`` for
            :func:`losskit.wiou_loss`, ``{"image_size": (W, H)}`` (required) for
            :func:`losskit.mpdiou_loss`, ``{"scale": s}`` for :func:`losskit.shape_iou_loss`,
            ``{"mode": "log"}`` for :func:`losskit.iou_loss`; validated as the base does.
%(fmt_eps_reduction)s
        **deprecated_base_options: the base options as keywords (``alpha_threshold``,
            ``theta``, ``version``, ``iou_mean``, ``alpha``, ``delta``, ``gamma``,
            ``image_size``, ``scale``): deprecated, with a ``DeprecationWarning``; use
            ``base_options``.

    Returns:
%(returns)s

    Notes:
        The rule :math:`\mathcal{L}_X + IoU - IoU^{inner}` is the paper's for every base,
        Wise-IoU included (the Wise-IoU factor then multiplies :math:`1 - IoU` only). The
        base GIoU / DIoU / CIoU / EIoU / SIoU takes that loss's fast paths.

    References:
        Zhang, Xu and Zhang, Inner-IoU: More Effective Intersection over Union Loss with
        Auxiliary Bounding Box, 2023, arXiv:2311.02877.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([1.0, 0.0, 3.0, 2.0])
        >>> # inner boxes: [0.5, 0.5, 1.5, 1.5] and [1.5, 0.5, 2.5, 1.5] touch: IoU_inner = 0
        >>> round(float(losskit.inner_iou_loss(p, t, base="iou", ratio=0.5)), 4)
        1.0
    """
    opts = _base_options("inner_iou_loss", base, base_options, deprecated_base_options)
    check_number("ratio", ratio, low=0.0, low_open=True)
    xp, p, t = prepare(pred, target, fmt, eps, reduction)
    base_loss = _base_loss(base, p, t, xp, eps, opts)
    iou_inner, iou = _inner_iou(p, t, xp, eps=eps, ratio=float(ratio))
    return reduce_loss(base_loss + iou - iou_inner, reduction, xp)


@loss(
    formula=(
        r"\mathcal{L}_{Focaler\text{-}X} = \mathcal{L}_X + IoU - IoU^{focaler},\ "
        r"IoU^{focaler} = \mathrm{clip}\left(\frac{IoU - d}{u - d}, 0, 1\right)"
    ),
    reference=_REF_FOCALER,
    aliases=("focaler_iou",),
    plot="box",
    fast_paths=FAST_PATHS,
)
def focaler_iou_loss(
    pred,
    target,
    *,
    base: str = "ciou",
    d: float = 0.0,
    u: float = 0.95,
    base_options: dict | None = None,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
    **deprecated_base_options: Any,
):
    r"""Focaler-IoU: any IoU-based loss refocused on an IoU interval by a linear remapping.

    .. math::

        \mathcal{L}_{Focaler\text{-}X} = \mathcal{L}_X + IoU - IoU^{focaler}, \qquad
        IoU^{focaler} = \mathrm{clip}\left(\frac{IoU - d}{u - d}, 0, 1\right)

    where :math:`\mathcal{L}_X` is the base loss (``base``) and :math:`[d, u]` the IoU
    interval the loss focuses on (IoU below :math:`d` counts as 0, above :math:`u` as 1).

    Args:
%(boxes)s
        base: the wrapped loss, one of ``"iou"``, ``"giou"``, ``"diou"``, ``"ciou"``
            (default), ``"eiou"``, ``"siou"``, ``"wiou"``, ``"mpdiou"``, ``"shape"``,
            ``"piou"``, ``"piou2"`` (Powerful-IoU v1 / v2; ``base_options={"lam": ...}``).
        d: lower end of the interval, ``0 <= d < u`` (paper default 0.0).
        u: upper end of the interval, ``d < u <= 1`` (paper default 0.95).
        base_options: the base loss's own options as a dict (``None``: its defaults), as
            in :func:`inner_iou_loss`.
%(fmt_eps_reduction)s
        **deprecated_base_options: the base options as keywords, deprecated (see
            :func:`inner_iou_loss`).

    Returns:
%(returns)s

    Notes:
        With ``d=0, u=1`` the loss is the base loss. Focaler-X of a perfect box is
        :math:`\mathcal{L}_X + 1 - 1 = 0`; boxes with IoU above ``u`` get no IoU gradient.
        At the ends of the interval (IoU exactly ``d`` or ``u``) the clip passes the
        gradient, on every backend.

    References:
        Zhang and Zhang, Focaler-IoU: More Focused Intersection over Union Loss, 2024,
        arXiv:2401.10525.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([0.0, 0.0, 2.0, 2.0]); t = np.array([0.0, 0.0, 1.0, 1.0])
        >>> # IoU 0.25 -> (0.25 - 0) / 0.5 = 0.5; 0.75 + 0.25 - 0.5
        >>> round(float(losskit.focaler_iou_loss(p, t, base="iou", u=0.5)), 4)
        0.5
    """
    opts = _base_options("focaler_iou_loss", base, base_options, deprecated_base_options)
    check_number("d", d, low=0.0, high=1.0, high_open=True)
    check_number("u", u, low=0.0, high=1.0, low_open=True)
    if not d < u:
        raise ValueError(f"u: expected a number > d = {d}, got {u!r}")
    d, u = float(d), float(u)
    xp, p, t = prepare(pred, target, fmt, eps, reduction)
    base_loss = _base_loss(base, p, t, xp, eps, opts)
    iou = Pair(p, t, xp, eps).iou
    x = (iou - d) / (u - d)
    # clip(x, 0, 1) passing the gradient on [0, 1], ends included, on every backend (JAX's
    # clip gives 1/2 at the ends, torch's clamp 1).
    iou_f = xp.where(x < 0, xp.zeros_like(x), xp.where(x > 1, xp.ones_like(x), x))
    return reduce_loss(base_loss + iou - iou_f, reduction, xp)
