"""Gradient descent on a linear regression: how the learning rate decides convergence.

The model ``y = w x + b`` is fitted to one seeded synthetic data set by full-batch gradient
descent on ``losskit.mse_loss``; the loss's gradient with respect to the predictions comes
from ``losskit.value_and_grad`` and the chain rule gives the gradients of ``w`` and ``b``.

The loss is a quadratic in (w, b) with Hessian ``2 [[mean x^2, mean x], [mean x, 1]]``.
Gradient descent converges exactly when the learning rate is below ``2 / lambda_max``
(lambda_max the Hessian's largest eigenvalue); the fastest fixed rate is
``2 / (lambda_max + lambda_min)``. The three runs use a tenth of that (too small), that
(right) and ``1.08 * 2 / lambda_max`` (too large: the error grows by ``|1 - lr lambda_max|``
per iteration along the steep direction).
"""

from __future__ import annotations

import dataclasses

import numpy as np

import losskit

TRUE_W, TRUE_B, NOISE = 2.0, 1.0, 0.4
START = (-1.0, 4.0)


@dataclasses.dataclass
class Run:
    label: str
    lr: float
    path: np.ndarray  # (iterations + 1, 2): (w, b) per iteration
    losses: np.ndarray  # (iterations + 1,)

    @property
    def diverged(self) -> bool:
        return bool(self.losses[-1] > self.losses[0])


@dataclasses.dataclass
class Study:
    x: np.ndarray
    y: np.ndarray
    optimum: tuple[float, float]
    optimum_loss: float
    lambda_max: float
    lambda_min: float
    runs: list[Run]

    def summary(self) -> dict:
        return {
            "data": {"n": int(self.x.size), "true_w": TRUE_W, "true_b": TRUE_B, "noise": NOISE},
            "optimum": {"w": self.optimum[0], "b": self.optimum[1], "loss": self.optimum_loss},
            "lambda_max": self.lambda_max,
            "lambda_min": self.lambda_min,
            "divergence_threshold_lr": 2.0 / self.lambda_max,
            "runs": [
                {
                    "label": r.label,
                    "lr": r.lr,
                    "iterations": int(r.losses.size - 1),
                    "initial_loss": float(r.losses[0]),
                    "final_loss": float(r.losses[-1]),
                    "final_w": float(r.path[-1, 0]),
                    "final_b": float(r.path[-1, 1]),
                    "diverged": r.diverged,
                }
                for r in self.runs
            ],
        }


def make_data(seed: int = 0, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 2)
    x = rng.uniform(0.0, 3.0, size=n)
    y = TRUE_W * x + TRUE_B + NOISE * rng.standard_normal(n)
    return x, y


def loss_surface(x, y, w, b) -> np.ndarray:
    """Mean squared error at every (w, b) of broadcastable grids (for the contours)."""
    w = np.asarray(w)[..., None]
    b = np.asarray(b)[..., None]
    return np.mean((w * x + b - y) ** 2, axis=-1)


def descend(x, y, lr: float, iterations: int, start=START) -> tuple[np.ndarray, np.ndarray]:
    value_and_grad = losskit.value_and_grad(losskit.mse_loss)
    w, b = start
    path = [(w, b)]
    losses = []
    for _ in range(iterations):
        value, dpred = value_and_grad(w * x + b, y)
        dpred = np.asarray(dpred)
        losses.append(float(value))
        # Chain rule through pred = w x + b.
        w, b = w - lr * float(np.sum(dpred * x)), b - lr * float(np.sum(dpred))
        path.append((w, b))
    losses.append(float(losskit.mse_loss(w * x + b, y)))
    return np.asarray(path), np.asarray(losses)


def run(seed: int = 0, iterations: int = 40) -> Study:
    x, y = make_data(seed)
    design = np.stack([x, np.ones_like(x)], axis=1)
    optimum, *_ = np.linalg.lstsq(design, y, rcond=None)
    hessian = 2.0 * design.T @ design / x.size
    lam = np.linalg.eigvalsh(hessian)
    lam_min, lam_max = float(lam[0]), float(lam[-1])
    best = 2.0 / (lam_max + lam_min)
    rates = [
        ("too small", best / 10),
        ("right", best),
        ("too large", 1.08 * 2.0 / lam_max),
    ]
    runs = []
    for label, lr in rates:
        path, losses = descend(x, y, lr, iterations)
        runs.append(Run(label, lr, path, losses))
    opt = (float(optimum[0]), float(optimum[1]))
    return Study(x, y, opt, float(loss_surface(x, y, *opt)), lam_max, lam_min, runs)


COLORS = {"too small": "tab:orange", "right": "tab:green", "too large": "tab:red"}


def plot(study: Study, path) -> None:
    from ._figures import new_figure, save

    fig = new_figure(figsize=(11, 4.6))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
    for r in study.runs:
        ax1.semilogy(np.arange(r.losses.size), r.losses, color=COLORS[r.label],
                     label=f"lr = {r.lr:.3g} ({r.label})")
    ax1.axhline(study.optimum_loss, color="0.4", ls=":", lw=1, label="least-squares minimum")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("mean squared error (log scale)")
    ax1.set_title(f"Loss per iteration (diverges above lr = {2 / study.lambda_max:.3g})")
    ax1.legend(fontsize=8)

    wo, bo = study.optimum
    ws = np.linspace(wo - 3.6, wo + 3.6, 241)
    bs = np.linspace(bo - 4.5, bo + 4.5, 241)
    W, B = np.meshgrid(ws, bs)
    Z = loss_surface(study.x, study.y, W, B)
    levels = study.optimum_loss + np.geomspace(0.02, Z.max() - study.optimum_loss, 14)
    ax2.contour(W, B, Z, levels=levels, colors="0.6", linewidths=0.7)
    for r in study.runs:
        path_ = _until_outside(r.path, (ws[0], ws[-1]), (bs[0], bs[-1]))
        label = r.label + (f" (first {len(path_) - 1} steps)" if len(path_) < len(r.path) else "")
        ax2.plot(path_[:, 0], path_[:, 1], "-o", ms=2.5, lw=1, color=COLORS[r.label], label=label)
    ax2.plot(*study.optimum, "k*", ms=10, label="minimum")
    ax2.set_xlim(ws[0], ws[-1])
    ax2.set_ylim(bs[0], bs[-1])
    ax2.set_xlabel("w (slope)")
    ax2.set_ylabel("b (intercept)")
    ax2.set_title("Parameter path over the loss contours")
    ax2.legend(fontsize=8, loc="lower left")
    save(fig, path)


def _until_outside(path: np.ndarray, xlim, ylim) -> np.ndarray:
    """The path up to and including its first point outside the view (a diverging run
    would otherwise fill the plot with lines to far-away points)."""
    inside = (path[:, 0] >= xlim[0]) & (path[:, 0] <= xlim[1]) & (path[:, 1] >= ylim[0]) & (path[:, 1] <= ylim[1])
    outside = np.flatnonzero(~inside)
    return path if outside.size == 0 else path[: outside[0] + 1]
