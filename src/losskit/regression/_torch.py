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

from .._reduce import TORCH_REDUCTION_ENUM, reduce_loss

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
        out = _BINDINGS[name](x, t, TORCH_REDUCTION_ENUM[red], *options.values())
    return out if own else reduce_loss(out, reduction, xp, weight=w)


# log cosh(d) = log1p(cosh(d) - 1) = log1p(2 sinh(d/2)^2): as accurate as the expm1 form of
# losskit._xp.log_cosh (a product of small numbers near 0, no cancellation) in fewer torch
# operations. d/2 is clamped at +-10 for sinh (no overflow) and the clamped part added back,
# log cosh(d) = log cosh(20) + (|d| - 20) to float64's resolution from |d| = 20 on (the
# reference's where): |d| - 20 = 2 |softshrink(d/2, 10)|, exactly 0 inside the clamp.
# A Python float in a torch operation is wrapped into a tensor on every call (about 1 us on
# the CPU, a tenth of this loss at 1,024 values): 1/2 is a 0-d tensor made once (a CPU
# scalar tensor works with tensors on any device and takes their dtype), 2 s^2 is s (s + s).
_HALF_CLAMP = 10.0
_HALF = torch.tensor(0.5)


def _log_cosh_values(d):
    h = d.mul(_HALF)
    # in place where the operand is this function's own temporary: fewer allocations
    s = h.clamp(-_HALF_CLAMP, _HALF_CLAMP).sinh_()
    return s.add(s).mul_(s).log1p_().add_(F.softshrink(h, _HALF_CLAMP).abs_(), alpha=2.0)


class _LogCosh(torch.autograd.Function):
    """log cosh(x - t), summed and divided by ``denom`` (``None``: elementwise)."""

    @staticmethod
    def forward(ctx, x, t, denom):
        ctx.save_for_backward(x, t)
        d = x - t
        ctx.d, ctx.denom = d, denom  # d: a constant for the first derivative (see backward)
        v = _log_cosh_values(d)
        if denom is None:
            return v
        # the mean in one operation (an empty batch is summed: 0, not torch's NaN)
        return v.sum() if denom == 1 else v.mean()

    @staticmethod
    def backward(ctx, g):
        # d/dd log cosh(d) = tanh(d), saturating (never overflowing) for any residual. Under
        # create_graph=True (grad mode on in backward) the residual is recomputed from the
        # saved inputs, so that these operations are recorded and second derivatives are
        # right (sech^2); otherwise the forward's residual serves (no once_differentiable
        # wrapper, a no_grad block per call, in the common case).
        if torch.is_grad_enabled():
            x, t = ctx.saved_tensors
            d = x - t
        else:
            d = ctx.d
        if ctx.denom is not None and ctx.denom != 1:
            g = g / ctx.denom  # a 0-d tensor: cheaper than dividing the gradient
        # (tanh saves its output for a second derivative: in place only without a graph)
        gd = torch.tanh(d) * g if torch.is_grad_enabled() else torch.tanh(d).mul_(g)
        return gd, (-gd if ctx.needs_input_grad[1] else None), None


def log_cosh(x, t, w, reduction: str, xp):
    """``log_cosh_loss`` of the validated ``x``, ``t``, ``w``, reduced as
    :func:`losskit._reduce.reduce_loss` does (the sum and the mean of an unweighted call in
    the Function itself)."""
    if w is None and reduction != "none":
        return _LogCosh.apply(x, t, max(x.numel(), 1) if reduction == "mean" else 1)
    return reduce_loss(_LogCosh.apply(x, t, None), reduction, xp, weight=w)
