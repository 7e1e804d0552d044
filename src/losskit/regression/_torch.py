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

import torch
import torch.nn.functional as F

from .._reduce import reduce_loss

# torch's own enum of the reductions (torch.nn._reduction.get_enum)
_REDUCTION = {"none": 0, "mean": 1, "sum": 2}
_has_torch_function = torch._C._has_torch_function_variadic
_nn = torch._C._nn


def _mse(x, t, red):
    return _nn.mse_loss(x, t, red)


def _l1(x, t, red):
    return _nn.l1_loss(x, t, red)


def _huber(x, t, red, delta):
    return _nn.huber_loss(x, t, red, delta)


def _smooth_l1(x, t, red, beta):
    # F.smooth_l1_loss's own rule: beta = 0 is exactly L1
    return _nn.l1_loss(x, t, red) if beta == 0.0 else _nn.smooth_l1_loss(x, t, red, beta)


# The bindings F.<name> ends with. With the shapes checked equal (losskit broadcasts
# nothing) and the options validated, F's Python layer (the size warning,
# broadcast_tensors of two equal shapes, the reduction's enum) computes nothing more, and at
# a training step's 1,024 values it is a third of the call.
_BINDINGS = {"mse_loss": _mse, "l1_loss": _l1, "huber_loss": _huber, "smooth_l1_loss": _smooth_l1}


def native(name: str, x, t, w, reduction: str, xp, **options):
    """``F.<name>`` (``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``) of the
    already validated ``x``, ``t``, ``w``, reduced as :func:`losskit._reduce.reduce_loss`
    does. torch's own reduction is used only where it agrees with ours: no weight and a
    non-empty batch (torch's mean of nothing is NaN). ``F.<name>``'s binding is called
    directly unless a ``__torch_function__`` override or mode is involved (F's own test
    before it makes the same call)."""
    own = w is None and reduction != "none" and x.numel() > 0
    red = reduction if own else "none"
    if _has_torch_function(x, t):
        out = getattr(F, name)(x, t, reduction=red, **options)
    else:
        out = _BINDINGS[name](x, t, _REDUCTION[red], *options.values())
    return out if own else reduce_loss(out, reduction, xp, weight=w)
