"""The torch fast path of the regression family: torch's fused ATen kernels.

Declared as ``regression.torch_native`` in :mod:`losskit.regression.elementwise` (which
replaces its ``regression.elementwise`` kernel with :func:`native` for eager torch
tensors). The generic array-API code builds several full-size temporaries (abs, compare,
both branches of a where) in the forward *and* the backward pass; torch's
``F.mse_loss`` / ``F.l1_loss`` / ``F.huber_loss`` / ``F.smooth_l1_loss`` compute the same
values and gradients (kinks included; ``tests/test_fast_paths.py`` pins them on the case
table) in one pass each (benchmarks/bench_regression.py has the measurement).
"""

from __future__ import annotations

import torch.nn.functional as F

from .._reduce import reduce_loss


def native(name: str, x, t, w, reduction: str, xp, **options):
    """``F.<name>`` (``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``) of the
    already validated ``x``, ``t``, ``w``, reduced as :func:`losskit._reduce.reduce_loss`
    does. torch's own reduction is used only where it agrees with ours: no weight and a
    non-empty batch (torch's mean of nothing is NaN)."""
    fn = getattr(F, name)
    if w is None and reduction != "none" and x.numel() > 0:
        return fn(x, t, reduction=reduction, **options)
    return reduce_loss(fn(x, t, reduction="none", **options), reduction, xp, weight=w)
