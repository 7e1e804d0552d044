"""PyTorch fast paths of the metric-learning family: the symmetric Gram matrix and torch's
own triplet margin loss.

Declared as ``metric_learning.torch_self_gram`` in :mod:`losskit.metric_learning._pairs`
(next to the reference ``a @ b.T`` it replaces) and ``metric_learning.torch_triplet_margin``
in :mod:`losskit.metric_learning.triplet`, and loaded by :mod:`losskit._fastpath` on first
use; ``tests/test_fast_paths.py`` pins each to the reference (values and gradients).
"""

from __future__ import annotations

import torch

from .._reduce import TORCH_REDUCTION_ENUM


class _SelfGram(torch.autograd.Function):
    """x @ x.T with a one-matmul backward, (G + G^T) @ x, instead of autograd's two.

    The (B, B, D) products dominate every pair loss of the family (see
    ``benchmarks/bench_metric_learning.py``): generic autograd computes G @ x and G^T @ x
    and adds them.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x @ x.T

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # under autocast the forward product (and so grad) may be bfloat16/float16 while x
        # is float32: the gradient of x is computed and returned in x's dtype
        return (grad + grad.T).to(x.dtype) @ x


def self_gram(x: torch.Tensor) -> torch.Tensor:
    """``x @ x.T`` through :class:`_SelfGram`."""
    return _SelfGram.apply(x)


# --------------------------------------------------------------------------- triplet margin



def triplet_margin(anchor, positive, negative, margin, p, eps, swap, reduction):
    """``torch.triplet_margin_loss``, the kernel ``F.triplet_margin_loss`` calls once its
    Python layer has checked what losskit has checked; the mean of an empty batch is 0
    (torch's is 0/0 = NaN): the sum of nothing."""
    if reduction == "mean" and 0 in (anchor.numel(), positive.numel(), negative.numel()):
        if 0 in torch.broadcast_shapes(anchor.shape, positive.shape, negative.shape)[:-1]:
            reduction = "sum"
    return torch.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, TORCH_REDUCTION_ENUM[reduction])
