"""1-D curves of any registered loss and its derivative (``losskit plot`` and the gallery).

How a loss is drawn follows its ``LossInfo.plot`` kind:

* ``"residual"``: regression, against the residual ``r = input - target`` (target 0);
* ``"margin"``: binary classification, against the margin ``m = y f(x)``: logits ``m``
  with label ``y = 1``. A loss that takes probabilities instead of logits is evaluated at
  ``sigmoid(m)`` and its derivative carried back to ``m`` by the chain rule;
* ``"box"``: box regression, a unit box ``[0, 0, 1, 1]`` (xyxy) as target and the same box
  shifted horizontally by an offset, then scaled about its centre by a factor;
* ``"dice"``: segmentation, one foreground pixel predicted with probability ``p``.

Every point is its own sample (``reduction="none"``), so the derivative of the summed
loss with respect to the input is the pointwise derivative. Derivatives come from
``losskit.value_and_grad`` (hand-derived where registered, torch/jax autograd otherwise),
or, when neither framework is installed, from a float64 central difference (noted on the
curve).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np

import losskit
from losskit._xp import to_numpy

KINDS = ("residual", "margin", "box", "dice")


@dataclasses.dataclass
class Curve:
    name: str
    kind: str  # residual | margin | box-offset | box-scale | dice
    xlabel: str
    x: np.ndarray
    value: np.ndarray
    grad: np.ndarray | None
    note: str = ""


class CurveError(ValueError):
    """A loss that cannot be drawn as asked (the CLI shows it as one line)."""


def _positional_fill(info, n_given: int, like: np.ndarray) -> list[np.ndarray]:
    """Ones for extra required array arguments (e.g. gaussian_nll_loss's ``var``)."""
    sig = inspect.signature(info.fn)
    extra = []
    for name in info.arguments[n_given:]:
        if sig.parameters[name].default is inspect.Parameter.empty:
            extra.append(np.ones_like(like))
    return extra


def _missing_required(info, options: dict) -> list[str]:
    sig = inspect.signature(info.fn)
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty and p.name not in options
    ]


def _evaluate(info, inputs: np.ndarray, target: np.ndarray, options: dict, grad: bool):
    """(per-sample values, d sum / d inputs or None, note). The note is "numerical
    derivative" when neither a hand-derived gradient nor an autodiff framework was there."""
    args = [inputs, target, *_positional_fill(info, 2, inputs)]
    kwargs = dict(options, reduction="none")
    n = inputs.shape[0]
    if not grad:
        return _per_sample(info.fn(*args, **kwargs), n), None, ""
    try:
        value, g = losskit.value_and_grad(info.fn)(*args, **kwargs)
    except ImportError:
        # No hand-derived gradient and no torch/jax (the `demo` extra alone): a float64
        # central difference, within ~1e-8 of the exact derivative on these curves.
        return _per_sample(info.fn(*args, **kwargs), n), _numerical_grad(info.fn, args, kwargs), "numerical derivative"
    return _per_sample(value, n), np.asarray(to_numpy(g), dtype=np.float64), ""


NUMERICAL_H = 1e-6


def _per_sample(value, n: int) -> np.ndarray:
    """Per-sample values: ``reduction="none"`` output summed over all but the first axis
    (e.g. Dice's (samples, classes))."""
    v = np.asarray(to_numpy(value), dtype=np.float64)
    return v.reshape(n, -1).sum(axis=1) if v.ndim > 1 else v.reshape(-1)


def _numerical_grad(fn, args, kwargs) -> np.ndarray:
    """d per-sample loss / d input by central differences. Every sample is independent, so
    one coordinate is perturbed in all samples at once: one pair of calls per coordinate
    of a sample (1 for scalars, 4 for boxes), not per element."""
    x = np.asarray(args[0], dtype=np.float64)
    n = x.shape[0]
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape[1:]):
        step = np.zeros_like(x)
        step[(slice(None), *idx)] = NUMERICAL_H
        plus = _per_sample(fn(x + step, *args[1:], **kwargs), n)
        minus = _per_sample(fn(x - step, *args[1:], **kwargs), n)
        g[(slice(None), *idx)] = (plus - minus) / (2 * NUMERICAL_H)
    return g


def loss_curves(info, options: dict | None = None, *, grad: bool = False, points: int = 401) -> list[Curve]:
    """The curves of one loss (one per panel: two for box losses)."""
    options = dict(options or {})
    if "reduction" in options:
        raise CurveError("reduction: curves are pointwise; do not pass --option reduction")
    missing = _missing_required(info, options)
    if missing:
        raise CurveError(f"{info.name}: needs --option {missing[0]}=VALUE to be drawn")
    kind = info.plot
    if kind is None:
        raise CurveError(f"{info.name}: has no 1-D curve (its plot kind is None); plottable kinds: {', '.join(KINDS)}")
    try:
        if kind == "residual":
            return [_residual(info, options, grad, points)]
        if kind == "margin":
            return [_margin(info, options, grad, points)]
        if kind == "box":
            return _box(info, options, grad, points)
        if kind == "dice":
            return [_dice(info, options, grad, points)]
    except CurveError:
        raise
    except (ValueError, TypeError) as exc:
        raise CurveError(f"{info.name}: cannot be drawn with these options: {exc}") from None
    except (NotImplementedError, RuntimeError, ArithmeticError) as exc:
        # A failure inside the loss or its gradient path: still one line for the CLI.
        raise CurveError(f"{info.name}: failed while drawing: {type(exc).__name__}: {exc}") from None
    raise CurveError(f"{info.name}: unknown plot kind {kind!r}")


def _residual(info, options, grad, points) -> Curve:
    r = np.linspace(-3.0, 3.0, points)
    # Target 0 first; a loss defined only for non-negative values (msle_loss: log1p of
    # counts) is drawn around target 3 instead, so that every input is >= 0.
    try:
        value, g, note = _evaluate(info, r.copy(), np.zeros_like(r), options, grad)
    except ValueError as first:
        try:
            value, g, note = _evaluate(info, r + 3.0, np.full_like(r, 3.0), options, grad)
            note = ", ".join(filter(None, ["target 3", note]))
        except (ValueError, TypeError):
            raise first from None
    return Curve(info.name, "residual", "residual  input - target", r, value,
                 None if g is None else g.reshape(-1), note=note)


def _margin(info, options, grad, points) -> Curve:
    m = np.linspace(-3.0, 3.0, points)
    errors = []
    # Logits first, with float labels and then integer labels; then probabilities.
    for target in (np.ones_like(m), np.ones(m.shape, dtype=np.int64)):
        try:
            value, g, note = _evaluate(info, m.copy(), target, options, grad)
            return Curve(info.name, "margin", "margin  y f(x)", m, value, None if g is None else g.reshape(-1),
                         note=note)
        except (ValueError, TypeError) as exc:
            errors.append(exc)
    p = 1.0 / (1.0 + np.exp(-m))
    for target in (np.ones_like(m), np.ones(m.shape, dtype=np.int64)):
        try:
            value, g, note = _evaluate(info, p.copy(), target, options, grad)
            if g is not None:
                g = g.reshape(-1) * p * (1.0 - p)  # chain rule: dp/dm = p (1 - p)
            return Curve(info.name, "margin", "margin  y f(x)", m, value, g,
                         note=", ".join(filter(None, ["probabilities sigmoid(m)", note])))
        except (ValueError, TypeError) as exc:
            errors.append(exc)
    raise errors[0]


def _box_format(options) -> str:
    """The boxes' format: the box losses' ``fmt`` option (their only name for it)."""
    return str(options.get("fmt", "xyxy"))


def _to_format(xyxy: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Boxes in ``fmt`` and the Jacobian d(fmt coords)/d(xyxy coords) (4 x 4)."""
    if fmt == "xyxy":
        jac = np.eye(4)
    elif fmt == "xywh":
        jac = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [-1, 0, 1, 0], [0, -1, 0, 1]], dtype=float)
    elif fmt == "cxcywh":
        jac = np.array([[0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5], [-1, 0, 1, 0], [0, -1, 0, 1]], dtype=float)
    else:
        raise CurveError(f"format: expected one of 'xyxy', 'xywh', 'cxcywh', got {fmt!r}")
    return xyxy @ jac.T, jac


def _box(info, options, grad, points) -> list[Curve]:
    fmt = _box_format(options)
    target_xyxy = np.array([0.0, 0.0, 1.0, 1.0])
    offset = np.linspace(-2.0, 2.0, points)
    scale = np.geomspace(0.2, 5.0, points)
    # d xyxy / d offset and d xyxy / d scale (scaling about the centre (0.5, 0.5)).
    shifted = target_xyxy + offset[:, None] * np.array([1.0, 0.0, 1.0, 0.0])
    d_shift = np.array([1.0, 0.0, 1.0, 0.0])
    scaled = 0.5 + (target_xyxy - 0.5) * scale[:, None]
    d_scale = target_xyxy - 0.5
    curves = []
    for kind, xlabel, x, pred_xyxy, dxyxy in (
        ("box-offset", "horizontal offset of a unit box", offset, shifted, d_shift),
        ("box-scale", "scale of a unit box (log axis)", scale, scaled, d_scale),
    ):
        pred, jac = _to_format(pred_xyxy, fmt)
        target, _ = _to_format(np.broadcast_to(target_xyxy, pred_xyxy.shape).copy(), fmt)
        value, g, note = _evaluate(info, pred, target, options, grad)
        if g is not None:
            # d loss / d t = sum_i d loss / d box_i * d box_i / d t, box = jac @ xyxy(t).
            g = g.reshape(-1, 4) @ (jac @ dxyxy)
        curves.append(Curve(info.name, kind, xlabel, x, value, g, note=note))
    return curves


def _dice(info, options, grad, points) -> Curve:
    p = np.linspace(0.0, 1.0, points)
    pred = p.reshape(-1, 1, 1)  # (samples, classes, pixels): one foreground pixel each
    value, g, note = _evaluate(info, pred.copy(), np.ones_like(pred), options, grad)
    if value.size != p.size:
        raise CurveError(f"{info.name}: expected one value per sample with reduction='none', got {value.size}")
    return Curve(info.name, "dice", "predicted probability of the true class", p, value,
                 None if g is None else g.reshape(-1), note=note)


def split_options(infos, options: dict[str, Any]) -> dict[str, dict]:
    """Each option goes to the losses that have it; one that no loss has is an error."""
    per = {info.name: {} for info in infos}
    for key, value in options.items():
        takers = [info for info in infos if key in info.options]
        if not takers or key == "reduction":
            valid = sorted({k for info in infos for k in info.options if k != "reduction"})
            raise CurveError(
                f"unknown option {key!r} for {', '.join(i.name for i in infos)}; "
                f"valid options: {', '.join(valid) or 'none'}"
            )
        for info in takers:
            per[info.name][key] = value
    return per


_PANEL_ORDER = ("residual", "margin", "box-offset", "box-scale", "dice")


def draw(curves: list[Curve], path, *, grad: bool = False, title: str | None = None) -> str:
    """All curves on one figure: a column per panel kind, a second row for derivatives."""
    from ._figures import new_figure, save

    kinds = [k for k in _PANEL_ORDER if any(c.kind == k for c in curves)]
    rows = 2 if grad else 1
    fig = new_figure(figsize=(max(4.8 * len(kinds), 6.0), 3.8 * rows))
    axes = np.atleast_2d(np.asarray(fig.subplots(rows, len(kinds), squeeze=False)))
    for col, kind in enumerate(kinds):
        group = [c for c in curves if c.kind == kind]
        for row in range(rows):
            ax = axes[row, col]
            for c in group:
                label = c.name + (f" ({c.note})" if c.note else "")
                y = c.value if row == 0 else c.grad
                ax.plot(c.x, y, label=label)
            if kind == "box-scale":
                ax.set_xscale("log")
                ticks = [0.2, 0.5, 1.0, 2.0, 5.0]
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.minorticks_off()
            ax.axhline(0, color="0.6", lw=0.5)
            ax.axvline(1.0 if kind == "box-scale" else 0.0, color="0.6", lw=0.5)
            ax.grid(alpha=0.3)
            ax.set_ylabel("loss" if row == 0 else "derivative")
            if row == rows - 1:
                ax.set_xlabel(group[0].xlabel)
            if row == 0:
                ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save(fig, path)
