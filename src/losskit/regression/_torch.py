"""The torch fast paths of the regression family: torch's fused ATen kernels, and log-cosh
with its gradient written down.

``regression.torch_native`` is declared in :mod:`losskit.regression.elementwise` (which
replaces its ``regression.elementwise`` kernel with :func:`native` for eager torch
tensors). The generic array-API code builds several full-size temporaries (abs, compare,
both branches of a where) in the forward *and* the backward pass; torch's
``F.mse_loss`` / ``F.l1_loss`` / ``F.huber_loss`` / ``F.smooth_l1_loss`` compute the same
values and gradients (kinks included; ``tests/test_fast_paths.py`` pins them on the case
table) in one pass each (benchmarks/bench_regression.py has the measurement).

``regression.torch_log_cosh`` (:func:`log_cosh`): torch has no log-cosh kernel, and
autograd through the reference's eleven elementwise operations records and replays each
of them; a ``torch.autograd.Function`` computes the value once without a graph and the
gradient ``tanh(d)`` in one operation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

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


# log cosh(d) is computed as log1p(e^2 / (2 (1 + e))), e = expm1(|d|), the accurate form of
# losskit._xp.log_cosh (no cancellation near 0): |d| is clamped at 20 for expm1 and the
# clamped part added back, log cosh(d) = log cosh(20) + (|d| - 20) to float64's resolution
# from 20 on (the reference's where, in two in-place operations instead of four).
_CLAMP = 20.0


def _log_cosh_values(d):
    a = d.abs()
    ac = a.clamp(max=_CLAMP)
    e = torch.expm1(ac)
    return torch.log1p((e * e).div_(e.add(1.0).mul_(2.0))).add_(a.sub_(ac))


class _LogCosh(torch.autograd.Function):
    """log cosh(x - t), summed and divided by ``denom`` (``None``: elementwise)."""

    @staticmethod
    def forward(ctx, x, t, denom):
        d = x - t
        ctx.d, ctx.denom = d, denom  # an intermediate, not an input or output: kept on ctx
        v = _log_cosh_values(d)
        if denom is None:
            return v
        total = v.sum()
        return total if denom == 1 else total.div_(denom)

    @staticmethod
    @once_differentiable  # tanh(d) is computed from a saved constant: no second derivatives
    def backward(ctx, g):
        # d/dd log cosh(d) = tanh(d), saturating (never overflowing) for any residual
        gd = torch.tanh(ctx.d).mul_(g)
        if ctx.denom is not None and ctx.denom != 1:
            gd = gd.div_(ctx.denom)
        return gd, (-gd if ctx.needs_input_grad[1] else None), None


def log_cosh(x, t, w, reduction: str, xp):
    """``log_cosh_loss`` of the validated ``x``, ``t``, ``w``, reduced as
    :func:`losskit._reduce.reduce_loss` does (the sum and the mean of an unweighted call in
    the Function itself)."""
    if w is None and reduction != "none":
        return _LogCosh.apply(x, t, max(x.numel(), 1) if reduction == "mean" else 1)
    return reduce_loss(_LogCosh.apply(x, t, None), reduction, xp, weight=w)
