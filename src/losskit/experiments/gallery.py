"""A gallery of every differentiable regression and classification loss and its derivative,
built from the registry (a loss registered tomorrow appears without touching this file)."""

from __future__ import annotations

import math

import numpy as np

import losskit

from .curves import Curve, CurveError, loss_curves

FAMILIES = ("regression", "classification")
KINDS = ("residual", "margin")


def selected_infos():
    return [
        info
        for info in losskit.registry.infos()
        if info.family in FAMILIES and info.differentiable and info.plot in KINDS
    ]


def run(progress=None) -> tuple[list[Curve], list[tuple[str, str]]]:
    """(curves with derivatives, [(name, why skipped)])."""
    infos = selected_infos()
    curves, skipped = [], []
    bar = progress(total=len(infos), desc="gallery") if progress and infos else None
    for info in infos:
        try:
            curves.extend(loss_curves(info, grad=True))
        except (CurveError, ImportError) as exc:
            skipped.append((info.name, str(exc)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return curves, skipped


def plot(curves: list[Curve], path) -> None:
    from ._figures import new_figure, save

    n = max(len(curves), 1)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig = new_figure(figsize=(3.3 * cols, 2.6 * rows))
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for ax, c in zip(axes, curves):
        ax.plot(c.x, c.value, color="tab:blue", label="loss")
        ax.plot(c.x, c.grad, color="tab:red", ls="--", label="derivative")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        lo, hi = np.nanmin(np.r_[c.value, c.grad]), np.nanmax(np.r_[c.value, c.grad])
        ax.set_ylim(max(lo, -4.0) - 0.2, min(hi, 6.0) + 0.2)
        ax.set_title(c.name + (f" ({c.note})" if c.note else ""), fontsize=9)
        ax.set_xlabel("residual" if c.kind == "residual" else "margin", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(curves):]:
        ax.set_visible(False)
    if curves:
        axes[0].legend(fontsize=7)
    save(fig, path)
