"""PyTorch fast path of the metric-learning family: the symmetric Gram matrix.

Declared as ``metric_learning.torch_self_gram`` in :mod:`losskit.metric_learning._pairs`
(next to the reference ``a @ b.T`` it replaces) and loaded by :mod:`losskit._fastpath` on
first use; ``tests/test_fast_paths.py`` pins it to the reference (values and gradients).
"""

from __future__ import annotations

import torch


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
