"""Metadata attached to each public loss, read by :mod:`losskit.registry` and the CLI.

A family module decorates its public losses with :func:`loss` (family, LaTeX formula,
reference, aliases, how to plot it, the backends it runs on, the fast paths it may take)
and may attach a hand-derived gradient with :func:`analytic_grad`. The decorators only set attributes: they do not wrap the function,
so the loss keeps its signature, docstring and speed.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any, Callable

FAMILIES = ("textbook", "regression", "classification", "segmentation", "boxes", "metric_learning",
            "rotated_boxes", "detection", "distillation", "preference", "image")

# The array libraries a loss runs on: "array-api" is any other library that follows the
# array API standard (the tests run it as array_api_strict).
BACKENDS = ("numpy", "torch", "jax", "array-api")

# How `losskit plot` draws a loss (see losskit.cli.plot):
#   "residual": elementwise regression, plotted against input - target
#   "margin":   binary classification, plotted against the margin y * f(x)
#   "box":      box regression, plotted against the offset / scale of a unit box
#   "dice":     segmentation, plotted against the predicted probability of the true class
#   None:       not plottable as a 1-D curve
PLOT_KINDS = ("residual", "margin", "box", "dice", None)


@dataclasses.dataclass(frozen=True)
class LossInfo:
    name: str
    fn: Callable[..., Any]
    family: str
    formula: str
    reference: str | None = None
    aliases: tuple[str, ...] = ()
    differentiable: bool = True
    plot: str | None = None
    backends: tuple[str, ...] = BACKENDS
    fast_paths: tuple[str, ...] = ()

    @property
    def shell_name(self) -> str:
        """The class name of the loss's module form (``losskit.torch``, ``losskit.keras``):
        ``"ciou_loss"`` -> ``"CIoULoss"``, ``"mse_loss"`` -> ``"MSELoss"``."""
        return shell_name(self.name)

    @property
    def path(self) -> str:
        """The public import path users call (``losskit.dice_loss``,
        ``losskit.textbook.mean_squared_error``): the flat name when ``losskit`` exports it,
        else the name in its public family module."""
        import losskit

        if getattr(losskit, self.name, None) is self.fn:
            return f"losskit.{self.name}"
        return f"losskit.{self.family}.{self.name}"

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.fn) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def options(self) -> dict[str, Any]:
        """Keyword-only hyperparameters and their defaults (``reduction`` included)."""
        sig = inspect.signature(self.fn)
        return {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    @property
    def arguments(self) -> tuple[str, ...]:
        """The positional array arguments (``input``, ``target``, ...)."""
        sig = inspect.signature(self.fn)
        return tuple(
            p.name
            for p in sig.parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )

    @property
    def grad(self) -> Callable[..., Any] | None:
        return getattr(self.fn, "__losskit_grad__", None)


# Name parts written as in the class names (acronyms, the papers' own spelling); whole
# names that follow no rule are in _SHELL_NAMES.
_NAME_PARTS = {
    "iou": "IoU", "ciou": "CIoU", "diou": "DIoU", "giou": "GIoU", "eiou": "EIoU",
    "siou": "SIoU", "wiou": "WIoU", "piou": "PIoU", "mpdiou": "MPDIoU", "kfiou": "KFIoU",
    "probiou": "ProbIoU", "nwd": "NWD", "gwd": "GWD", "kld": "KLD", "oks": "OKS",
    "dpo": "DPO", "orpo": "ORPO", "simpo": "SimPO", "jsd": "JSD", "adasp": "AdaSP",
    "arcface": "ArcFace", "cosface": "CosFace", "nll": "NLL", "mse": "MSE", "msle": "MSLE",
    "l1": "L1", "ce": "CE", "nt": "NT", "kl": "KL", "ssim": "SSIM", "ms": "MS",
    "cldice": "ClDice", "dt": "DT", "supcon": "SupCon", "subcenter": "SubCenter",
}
_SHELL_NAMES = {
    "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "kl_div": "KLDivLoss",
}


def shell_name(loss_name: str) -> str:
    """The module class name for a loss name (see :attr:`LossInfo.shell_name`)."""
    if loss_name in _SHELL_NAMES:
        return _SHELL_NAMES[loss_name]
    parts = loss_name.split("_")
    if parts[-1] == "loss":
        parts = parts[:-1]
    return "".join(_NAME_PARTS.get(p, p[:1].upper() + p[1:]) for p in parts) + "Loss"


def fill_doc(doc: str, parts: dict[str, str]) -> str:
    """``doc`` with each ``%(key)s`` marker replaced by ``parts[key]``.

    Losses of one family share whole argument descriptions; the family keeps each text
    once and its docstrings name it by marker. A marker left unfilled is a bug that would
    print in the help and the docs site, so it raises.
    """
    for key, text in parts.items():
        doc = doc.replace(f"%({key})s", text)
    left = re.findall(r"%\((\w+)\)s", doc)
    if left:
        raise ValueError(f"doc: no text for the marker(s) {', '.join(sorted(set(left)))}")
    return doc


def loss(
    *,
    formula: str,
    family: str | None = None,
    reference: str | None = None,
    aliases: tuple[str, ...] = (),
    differentiable: bool = True,
    plot: str | None = None,
    backends: tuple[str, ...] = BACKENDS,
    fast_paths: tuple[str, ...] = (),
    name: str | None = None,
    doc: dict[str, str] | None = None,
):
    """Mark ``fn`` as a public loss with its registry metadata.

    ``family`` defaults to the family package the loss is defined in
    (``losskit.boxes.losses`` is ``"boxes"``), so it cannot disagree with where the loss
    lives. ``doc`` fills the docstring's ``%(key)s`` markers (``losskit._meta.fill_doc``).
    ``backends`` are the array libraries the loss runs on (the tests run it on exactly
    these); ``fast_paths`` name the :func:`losskit._fastpath.fast_path` declarations its
    call may take (``losskit info`` lists them, the tests pin each to the reference).
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family: expected one of {FAMILIES}, got {family!r}")
    if plot not in PLOT_KINDS:
        raise ValueError(f"plot: expected one of {PLOT_KINDS}, got {plot!r}")
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        raise ValueError(f"backends: expected a non-empty subset of {BACKENDS}, got {backends!r}")

    def deco(fn):
        fam = family or _module_family(fn)
        if doc:
            fn.__doc__ = fill_doc(fn.__doc__, doc)
        fn.__losskit__ = LossInfo(
            name=name or fn.__name__,
            fn=fn,
            family=fam,
            formula=formula,
            reference=reference,
            aliases=tuple(aliases),
            differentiable=differentiable,
            plot=plot,
            backends=tuple(backends),
            fast_paths=tuple(fast_paths),
        )
        return fn

    return deco


def _module_family(fn) -> str:
    parts = fn.__module__.split(".")
    fam = parts[1] if len(parts) > 1 and parts[0] == "losskit" else None
    if fam not in FAMILIES:
        raise ValueError(f"family: {fn.__module__} is not a family module; pass family=")
    return fam


def analytic_grad(loss_fn: Callable[..., Any]):
    """Register ``grad_fn`` as the hand-derived gradient of ``loss_fn``.

    ``grad_fn`` takes the loss's arguments and options and returns ``(value, grad)``, where
    ``grad`` is the gradient of ``value`` with respect to ``input`` (for
    ``reduction="none"``: the gradient of ``sum(value)``). It is used by
    :func:`losskit.value_and_grad` for NumPy arrays; tests pin it to autograd and to the
    numerical gradient on every backend.
    """

    def deco(grad_fn):
        loss_fn.__losskit_grad__ = grad_fn
        return grad_fn

    return deco
