"""Accuracy is a staircase, the loss is a slope: the seed article's closing argument, measured.

A two-layer network that recognises about a third of a batch of 100 training digits (the
article's "32 of 100") has one weight swept over a range. At every point the accuracy and
the cross-entropy loss on the batch are evaluated, with their numerical derivatives
(central difference, ``h = 1e-4`` as in the article). Accuracy moves in steps of 1/100:
between steps its derivative is exactly zero, so it gives gradient descent no direction.
The loss moves at every point.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import network

H = 1e-4  # the article's step for numerical differentiation


@dataclasses.dataclass
class Staircase:
    weight: str  # e.g. "W2[12, 3]"
    w0: float
    values: np.ndarray  # the swept weight values
    accuracy: np.ndarray
    loss: np.ndarray
    d_accuracy: np.ndarray  # numerical derivatives at each value
    d_loss: np.ndarray
    batch_size: int
    start_accuracy: float
    start_loss: float
    nudged_accuracy: float  # at w0 + h
    nudged_loss: float

    @property
    def accuracy_zero_share(self) -> float:
        """Share of sweep points where the numerical derivative of accuracy is exactly 0."""
        return float(np.mean(self.d_accuracy == 0.0))

    @property
    def loss_zero_share(self) -> float:
        return float(np.mean(self.d_loss == 0.0))

    @property
    def accuracy_levels(self) -> int:
        return int(np.unique(self.accuracy).size)

    def summary(self) -> dict:
        return {
            "weight": self.weight,
            "w0": self.w0,
            "points": int(self.values.size),
            "range": [float(self.values[0]), float(self.values[-1])],
            "h": H,
            "batch_size": self.batch_size,
            "accuracy_zero_derivative_share": self.accuracy_zero_share,
            "loss_zero_derivative_share": self.loss_zero_share,
            "accuracy_levels": self.accuracy_levels,
            "start_accuracy": self.start_accuracy,
            "start_loss": self.start_loss,
            "nudged_accuracy": self.nudged_accuracy,
            "nudged_loss": self.nudged_loss,
        }


def partially_trained(data, *, hidden: int, seed: int, batch: int = 100, target: float = 0.3,
                      lr: float = 0.5, max_steps: int = 500):
    """A float64 network trained by SGD just until it recognises ``target`` of the first
    ``batch`` training digits (like the article's "32 of 100"); returns (params, x, y)."""
    rng = np.random.default_rng(seed)
    params = network.init_params(data.n_features, hidden, 10, rng, dtype=np.float64)
    x, y = data.x_train[:batch], data.y_train[:batch]
    n = data.x_train.shape[0]
    for _ in range(max_steps):
        if network.accuracy(params, x, y) >= target:
            break
        idx = rng.choice(n, size=32, replace=False)
        _, grads = network.loss_and_grads(params, data.x_train[idx], data.y_train[idx], "cross_entropy")
        for k in params:
            params[k] -= lr * grads[k]
    return params, x, y


def run(data, *, hidden: int = 64, seed: int = 0, span: float = 3.0, points: int = 601,
        progress=None) -> Staircase:
    params, x, y = partially_trained(data, hidden=hidden, seed=seed)
    # Sweep the output-layer weight the loss is most sensitive to: a weight that matters.
    _, grads = network.loss_and_grads(params, x, y, "cross_entropy")
    j, k = np.unravel_index(int(np.argmax(np.abs(grads["W2"]))), grads["W2"].shape)
    w0 = float(params["W2"][j, k])
    values = w0 + np.linspace(-span, span, points)

    def at(w):
        p = dict(params)
        p["W2"] = params["W2"].copy()
        p["W2"][j, k] = w
        return network.accuracy(p, x, y), network.loss(p, x, y, "cross_entropy")

    acc = np.empty(points)
    lss = np.empty(points)
    dacc = np.empty(points)
    dlss = np.empty(points)
    bar = progress(total=points, desc="sweep one weight") if progress else None
    for i, w in enumerate(values):
        acc[i], lss[i] = at(w)
        ap, lp = at(w + H)
        am, lm = at(w - H)
        dacc[i] = (ap - am) / (2 * H)
        dlss[i] = (lp - lm) / (2 * H)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    a0, l0 = at(w0)
    a1, l1 = at(w0 + H)
    return Staircase(f"W2[{j}, {k}]", w0, values, acc, lss, dacc, dlss, x.shape[0], a0, l0, a1, l1)


def plot(result: Staircase, path) -> None:
    from ._figures import new_figure, save

    fig = new_figure(figsize=(9, 5.2))
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax1.step(result.values, 100 * result.accuracy, where="mid", color="tab:red", label="accuracy (%)")
    ax1.set_ylabel("accuracy on 100 digits (%)", color="tab:red")
    ax1.tick_params(axis="y", labelcolor="tab:red")
    twin = ax1.twinx()
    twin.plot(result.values, result.loss, color="tab:blue", label="cross-entropy loss")
    twin.set_ylabel("cross-entropy loss", color="tab:blue")
    twin.tick_params(axis="y", labelcolor="tab:blue")
    for ax in (ax1, twin):
        ax.axvline(result.w0, color="0.5", lw=0.8, ls=":")
    ax1.set_title(f"Sweeping one weight ({result.weight}): accuracy is a staircase, the loss is a slope")
    ax2.plot(result.values, result.d_loss, color="tab:blue",
             label=f"d loss / dw  (zero at {100 * result.loss_zero_share:.0f}% of points)")
    ax2.plot(result.values, result.d_accuracy, color="tab:red", lw=0.8,
             label=f"d accuracy / dw  (zero at {100 * result.accuracy_zero_share:.0f}% of points)")
    ax2.set_ylim(*_robust_limits(result.d_loss))
    ax2.axhline(0, color="0.5", lw=0.5)
    ax2.set_xlabel("value of the swept weight")
    ax2.set_ylabel(f"numerical derivative\n(h = {H:g})")
    ax2.legend(loc="upper left", fontsize=8)
    save(fig, path)


def _robust_limits(v):
    lo, hi = float(np.min(v)), float(np.max(v))
    pad = 0.15 * (hi - lo or 1.0)
    return min(lo - pad, -pad), max(hi + pad, pad)
