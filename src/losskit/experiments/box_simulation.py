"""The bounding-box regression simulation of the DIoU paper, for any box loss.

Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression",
AAAI 2020 (arXiv:1911.08287), section "Simulation Experiment":

* anchor centres: ``points`` (paper: 5,000) uniform in a disc of radius 3 around (10, 10);
* targets: 7 boxes centred at (10, 10) with area 1 and aspect ratios 1:4 ... 4:1;
* anchors: at each centre, 7 scales (area 0.5 ... 2 times the target's) x 7 aspect ratios,
  each regressed to each target: ``points x 7 x 7 x 7`` cases (1,715,000 for the paper);
* update ``B <- B - eta * (2 - IoU) * dL/dB`` on the (x, y, w, h) parameters, with
  ``eta = 0.1`` up to iteration 160, ``0.01`` up to 180 and ``0.001`` up to 200;
* error: the l1 distance between regressed and target (x, y, w, h), summed over all cases.

Deviation, stated: the authors' MATLAB code hand-codes each loss's derivative (with a few
simplifications); here every loss's exact gradient comes from autodiff through the very
losskit function a user would train with, so any registered box loss can take part.
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib
from typing import Callable, Sequence

import numpy as np

ASPECT_RATIOS = (1 / 4, 1 / 3, 1 / 2, 1.0, 2.0, 3.0, 4.0)  # width / height
SCALES = (0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0)  # anchor area / target area
CENTRE = (10.0, 10.0)
RADIUS = 3.0
PAPER_POINTS = 5000
PAPER_ITERATIONS = 200
REPORT_AT = (1, 40, 160, 200)


def learning_rate(iteration: int) -> float:
    """The paper's step schedule (iterations count from 1)."""
    if iteration <= 160:
        return 0.1
    if iteration <= 180:
        return 0.01
    return 0.001


def make_cases(points: int = PAPER_POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Anchors and targets, both ``(points * 343, 4)`` in (cx, cy, w, h), float64.

    Case order: point, target aspect ratio, anchor scale, anchor aspect ratio.
    """
    if points < 1:
        raise ValueError(f"points: expected a positive number of anchor centres, got {points}")
    rng = np.random.default_rng(seed)
    # sqrt of a uniform variable: uniform in area, not crowded at the centre.
    r = RADIUS * np.sqrt(rng.random(points))
    theta = 2 * np.pi * rng.random(points)
    cx = CENTRE[0] + r * np.cos(theta)
    cy = CENTRE[1] + r * np.sin(theta)
    ar = np.asarray(ASPECT_RATIOS)
    sc = np.asarray(SCALES)
    tw, th = np.sqrt(ar), 1 / np.sqrt(ar)  # area 1, w / h = ar
    # grid axes: (point, target ar, scale, anchor ar)
    shape = (points, len(ar), len(sc), len(ar))
    area = sc[None, None, :, None] * np.ones(shape)  # target area is 1
    aw = np.sqrt(area * ar[None, None, None, :])
    ah = np.sqrt(area / ar[None, None, None, :])
    anchors = np.stack(
        [np.broadcast_to(cx[:, None, None, None], shape), np.broadcast_to(cy[:, None, None, None], shape), aw, ah],
        axis=-1,
    ).reshape(-1, 4)
    targets = np.stack(
        [
            np.full(shape, CENTRE[0]),
            np.full(shape, CENTRE[1]),
            np.broadcast_to(tw[None, :, None, None], shape),
            np.broadcast_to(th[None, :, None, None], shape),
        ],
        axis=-1,
    ).reshape(-1, 4)
    return anchors, targets


@dataclasses.dataclass
class SimulationResult:
    loss: str
    errors: np.ndarray  # (iterations + 1,): total l1 error before the first step and after each
    nan_cases: int  # cases whose box became NaN/inf (frozen from then on)

    def iterations_to(self, threshold: float) -> int | None:
        """First iteration at which the total error is at most ``threshold`` times the initial."""
        hit = np.nonzero(self.errors <= threshold * self.errors[0])[0]
        return int(hit[0]) if hit.size else None


# Simulation names that are a registered loss with options: name -> (loss, options).
VARIANTS = {"piou2": ("piou_loss", {"version": 2})}
# NWD's constant C is dataset-dependent (the paper: the objects' average absolute size);
# every target here has size sqrt(w h) = 1. ``options={"constant": ...}`` overrides it.
NWD_CONSTANT = 1.0


def _resolve(name: str):
    import losskit

    base = VARIANTS.get(name, (name, {}))[0]
    for candidate in (base, f"{base}_loss"):
        try:
            info = losskit.get(candidate)
        except ValueError:
            continue
        if info.family == "boxes":
            return info
    raise ValueError(f"losses: expected box losses such as iou, giou, diou, ciou, eiou, siou; got {name!r}")


def simulate(
    loss: str,
    *,
    points: int = PAPER_POINTS,
    iterations: int = PAPER_ITERATIONS,
    seed: int = 0,
    backend: str = "torch",
    options: dict | None = None,
    progress: Callable[[int], None] | None = None,
    dtype: str = "float32",
) -> SimulationResult:
    """Run the simulation for one box loss and return the total error per iteration."""
    info = _resolve(loss)
    anchors, targets = make_cases(points, seed)
    preset, label = _preset(loss, info)
    options = {**preset, **dict(options or {})}
    if backend == "torch":
        step_fn, to_np, B, T = _torch_setup(info.fn, anchors, targets, options, dtype)
    elif backend == "jax":
        step_fn, to_np, B, T = _jax_setup(info.fn, anchors, targets, options, dtype)
    else:
        raise ValueError(f"backend: expected 'torch' or 'jax', got {backend!r}")
    errors = np.empty(iterations + 1)
    errors[0] = np.abs(anchors - targets).sum()
    frozen = None
    for it in range(1, iterations + 1):
        B, err, frozen = step_fn(B, T, learning_rate(it))
        errors[it] = err
        if progress is not None:
            progress(1)
    return SimulationResult(loss=label, errors=errors, nan_cases=int(to_np(frozen)))


def _preset(name: str, info) -> tuple[dict, str]:
    """The options a simulation name implies, and the label of its results."""
    if name in VARIANTS:
        opts = dict(VARIANTS[name][1])
        return opts, f"{info.name}({', '.join(f'{k}={v!r}' for k, v in opts.items())})"
    if info.name == "nwd_loss":
        return {"constant": NWD_CONSTANT}, info.name
    return {}, info.name


def _torch_setup(fn, anchors, targets, options, dtype):
    import torch

    import losskit

    dt = getattr(torch, dtype)
    B = torch.from_numpy(anchors).to(dt)
    T = torch.from_numpy(targets).to(dt)

    def step(B, T, eta):
        x = B.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = fn(x, T, fmt="cxcywh", reduction="sum", **options)
            (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            iou = losskit.box_iou(B, T, fmt="cxcywh")
            new = B - eta * (2 - iou)[:, None] * grad
            # A case that diverged to NaN/inf keeps its last finite box (counted, reported).
            bad = ~torch.isfinite(new).all(dim=1)
            new = torch.where(bad[:, None], B, new)
            err = (new.double() - T.double()).abs().sum().item()
        return new, err, bad.sum()

    return step, lambda t: t.item(), B, T


def _jax_setup(fn, anchors, targets, options, dtype):
    import jax
    import jax.numpy as jnp

    import losskit

    dt = getattr(jnp, dtype)
    B = jnp.asarray(anchors, dtype=dt)
    T = jnp.asarray(targets, dtype=dt)
    grad_fn = jax.grad(lambda b, t: fn(b, t, fmt="cxcywh", reduction="sum", **options))

    @jax.jit
    def step_arrays(B, T, eta):
        grad = grad_fn(B, T)
        iou = losskit.box_iou(B, T, fmt="cxcywh")
        new = B - eta * (2 - iou)[:, None] * grad
        bad = ~jnp.all(jnp.isfinite(new), axis=1)
        new = jnp.where(bad[:, None], B, new)
        err = jnp.sum(jnp.abs(new.astype(jnp.float64 if jax.config.jax_enable_x64 else dt) - T))
        return new, err, jnp.sum(bad)

    def step(B, T, eta):
        new, err, bad = step_arrays(B, T, jnp.asarray(eta, dtype=dt))
        return new, float(err), bad

    return step, lambda a: int(a), B, T


def run(
    losses: Sequence[str],
    *,
    points: int = PAPER_POINTS,
    iterations: int = PAPER_ITERATIONS,
    seed: int = 0,
    backend: str = "torch",
    options: dict | None = None,
    progress_factory=None,
) -> list[SimulationResult]:
    """:func:`simulate` for several losses on the same cases."""
    results = []
    for name in losses:
        bar = progress_factory(name, iterations) if progress_factory else None
        results.append(
            simulate(
                name, points=points, iterations=iterations, seed=seed, backend=backend,
                options=options, progress=bar.update if bar else None,
            )
        )
        if bar:
            bar.close()
    return results


def write_csv(results: Sequence[SimulationResult], path: str | pathlib.Path) -> None:
    """``iteration, <loss 1>, <loss 2>, ...``: total l1 error, iteration 0 = the anchors."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["iteration"] + [r.loss for r in results])
        for i in range(len(results[0].errors)):
            w.writerow([i] + [f"{r.errors[i]:.6g}" for r in results])


def summary_rows(results: Sequence[SimulationResult], threshold: float) -> list[list[str]]:
    """Per loss: error at iterations 1, 40, 160, 200 (those that exist), iterations to reach
    ``threshold`` x the initial error, NaN cases."""
    at = [i for i in REPORT_AT if i < len(results[0].errors)]
    head = ["loss"] + [f"error@{i}" for i in at] + [f"iters to {threshold:g}x", "NaN cases"]
    rows = [head]
    for r in results:
        reach = r.iterations_to(threshold)
        rows.append(
            [r.loss] + [f"{r.errors[i]:.4g}" for i in at] + ["never" if reach is None else str(reach), str(r.nan_cases)]
        )
    return rows


def plot(results: Sequence[SimulationResult], path: str | pathlib.Path, *, cases: int) -> None:
    """Total error per iteration, one curve per loss (the paper's Fig. 3(b) style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for r in results:
        ax.plot(np.arange(len(r.errors)), r.errors, label=r.loss.replace("_loss", "").upper(), lw=1.8)
    for boundary in (160, 180):
        if boundary < len(results[0].errors):
            ax.axvline(boundary, color="0.8", lw=0.8, ls="--")
    ax.set_xlabel("iteration")
    ax.set_ylabel("total error (sum of l1 over cases, log scale)")
    ax.set_title(f"Box regression simulation, {cases:,} cases (DIoU paper, Fig. 3b)")
    # Log scale: the curves span three decades, and the final errors are what differ.
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def read_csv(path: str | pathlib.Path) -> list[SimulationResult]:
    """The results written by :func:`write_csv` (NaN counts are not stored: 0)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    data = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    return [SimulationResult(loss=name, errors=data[:, k], nan_cases=0) for k, name in enumerate(rows[0][1:])]


def cases_count(points: int) -> int:
    return points * len(ASPECT_RATIOS) * len(SCALES) * len(ASPECT_RATIOS)


__all__ = ["make_cases", "simulate", "run", "write_csv", "summary_rows", "plot", "learning_rate", "cases_count", "read_csv"]
