"""Numerical versus analytic (backpropagation) gradients of the two-layer network.

The numerical gradient is ``losskit.textbook.numerical_gradient`` (central difference,
``h = 1e-4``, as in the seed article's sequel); the analytic one is backpropagation
through the layers, starting from losskit's hand-derived loss gradients. Everything is in
float64 so that the differences measure the method (O(h^2) truncation plus rounding of
order eps/h, about 1e-10 here), not float32 rounding.
"""

from __future__ import annotations

import numpy as np

from . import network


def run(data, *, hidden: int = 64, samples: int = 10, seed: int = 0, progress=None) -> list[dict]:
    """One row per (head, parameter): shapes, max and mean absolute difference."""
    rng = np.random.default_rng(seed + 1)
    params = network.init_params(data.n_features, hidden, 10, rng, dtype=np.float64)
    idx = rng.choice(data.x_train.shape[0], size=samples, replace=False)
    x, y = data.x_train[idx], data.y_train[idx]
    rows = []
    bar = progress(total=len(network.HEADS), desc="gradient check") if progress else None
    for head in network.HEADS:
        _, analytic = network.loss_and_grads(params, x, y, head)
        numerical = network.numerical_grads(params, x, y, head)
        for name in network.PARAM_NAMES:
            diff = np.abs(analytic[name] - numerical[name])
            rows.append({
                "head": head,
                "parameter": name,
                "shape": list(params[name].shape),
                "max_abs_diff": float(diff.max()),
                "mean_abs_diff": float(diff.mean()),
                "max_abs_grad": float(np.abs(analytic[name]).max()),
            })
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows
