"""Per-row losses computed together with their local gradients: the box families' fast
paths (the pure-torch and the compiled ones, axis-aligned and rotated) share this entry.

``compute(p, t, need_p, need_t, *args)`` returns, for contiguous ``(n, width)`` rows, the
loss ``(n,)`` and the local gradients ``(n, width)`` (``None`` where not needed). The
backward scales the local gradients by ``grad_output`` in place and returns them: no fresh
``(n, width)`` tensor (on the CPU, the page faults of a fresh multi-MB tensor cost as much
as the multiply). They are then spent, so a second backward through the same graph
(``retain_graph=True``) recomputes them from the saved rows. torch is imported on first use
only (this is the bottom layer).
"""

from __future__ import annotations

import functools

__all__ = ["per_row_loss"]


def per_row_loss(compute, pred, target, width, *args):
    """``compute``'s loss of ``pred``, ``target`` (torch tensors of one shape ``(..., width)``)
    with shape ``(...)``; differentiable in both through the local gradients."""
    import torch

    shape = pred.shape[:-1]
    p = pred.reshape(-1, width).contiguous()
    t = target.reshape(-1, width).contiguous()
    if torch.is_grad_enabled() and (p.requires_grad or t.requires_grad):
        loss = _local_gradient().apply(compute, p, t, *args)
    else:  # no gradient buffers at all
        loss = compute(p, t, False, False, *args)[0]
    return loss.reshape(shape)


@functools.cache
def _local_gradient():
    import torch
    from torch.autograd.function import once_differentiable

    class LocalGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, compute, p, t, *args):
            need_p, need_t = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
            loss, gp, gt = compute(p, t, need_p, need_t, *args)
            # The rows are saved for a second backward only (save_for_backward: a version
            # check catches rows modified in place since); the local gradients are kept as
            # plain attributes, dropped by the first backward (which writes over them).
            ctx.save_for_backward(p, t)
            ctx.grads = (gp, gt)
            ctx.call = (compute, need_p, need_t, args)
            return loss

        @staticmethod
        @once_differentiable  # the local gradient is a constant: no second derivatives
        def backward(ctx, grad):
            compute, need_p, need_t, args = ctx.call
            if ctx.grads is not None:
                gp, gt = ctx.grads
                ctx.grads = None  # spent: overwritten below
            else:  # a second backward (retain_graph=True): recompute the local gradients
                p, t = ctx.saved_tensors
                _, gp, gt = compute(p, t, need_p, need_t, *args)
            g = grad.unsqueeze(-1)
            return (None, gp.mul_(g) if gp is not None else None, gt.mul_(g) if gt is not None else None,
                    *(None,) * len(args))

    return LocalGradient
