r"""Losses over the global batch under ``torch.distributed`` (DDP), with exact gradients.

Pair-based losses (AdaSP, triplet, NT-Xent, ...) compare every sample with every other,
and the segmentation losses with ``batch=True`` pool their sums over the batch:
under data parallelism each rank only sees its own slice, so the loss, and its gradient,
change with the number of processes. This module gathers the batch *with* its gradient.

**The world-size factor.** DDP averages parameter gradients over ranks. If every rank
computes the same global loss :math:`L` on the gathered batch, the gather's backward pass
must *sum* the gradients that all ranks send to each slice: rank :math:`r` then holds
:math:`W \partial L / \partial x_r` (:math:`W` the world size), and DDP's average
:math:`\frac1W \sum_r J_r^\top W \partial L/\partial x_r = \sum_r J_r^\top \partial L/\partial x_r`
is exactly the single-process full-batch gradient. In other words, the objective DDP
optimises is the mean over ranks of the per-rank losses, and here every per-rank loss is
the global loss. (A gather *without* gradient, with the local tensor put back, gives
:math:`1/W` of it; pytorch-metric-learning rescales the loss by :math:`W` to compensate.)
The gradient a rank sees on its own embeddings is therefore :math:`W` times the
single-process gradient of those rows; that is what DDP's averaging expects.

Everything is a no-op when ``torch.distributed`` is not initialised (or has one process),
so the same training script runs on one device.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
import torch.distributed as dist

from ..metric_learning import LOCAL_ANCHOR_LOSSES, local_anchor_loss

__all__ = ["is_distributed", "all_gather_with_grad", "all_reduce_with_grad", "GlobalBatchLoss"]

MODES = ("exact", "local_anchors")


def is_distributed(group=None) -> bool:
    """True when ``torch.distributed`` is initialised with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def _gather_sizes(n: int, device, group) -> list[int]:
    t = torch.tensor([n], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(t) for _ in range(dist.get_world_size(group))]
    dist.all_gather(sizes, t, group=group)
    return [int(s.item()) for s in sizes]


def _gather(x: torch.Tensor, sizes: list[int], group) -> torch.Tensor:
    """Concatenate every rank's ``x`` along dim 0 (ranks in order); sizes may differ."""
    x = x.contiguous()
    most = max(sizes)
    if x.shape[0] < most:  # all_gather needs equal shapes: pad, then strip
        pad = x.new_zeros((most - x.shape[0],) + tuple(x.shape[1:]))
        x = torch.cat([x, pad], dim=0)
    parts = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(parts, x, group=group)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)], dim=0)


class _AllGatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, sizes, group):
        ctx.sizes, ctx.group = sizes, group
        ctx.rank = dist.get_rank(group)
        return _gather(x, sizes, group)

    @staticmethod
    def backward(ctx, grad):
        # Every rank's loss may depend on every slice: the slice's gradient is the sum of
        # what all ranks send to it (a reduce-scatter; all_reduce works on every backend).
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None, None


def all_gather_with_grad(x: torch.Tensor, group=None) -> torch.Tensor:
    """Every rank's ``x`` concatenated along dim 0, in rank order, keeping the gradient.

    The backward pass sums over ranks the gradients that reach each rank's slice, so the
    gradient is that of the *sum* of the per-rank losses (see the module docstring for why
    that is exactly what DDP's averaging needs). Ranks may hold different numbers of rows
    (the sizes are exchanged first). Returns ``x`` itself when not distributed.

    Example:
        >>> import torch
        >>> x = torch.ones(2, 3, requires_grad=True)
        >>> all_gather_with_grad(x) is x  # no process group: a no-op
        True
    """
    if not is_distributed(group):
        return x
    sizes = _gather_sizes(x.shape[0], x.device, group)
    if not x.requires_grad:
        return _gather(x, sizes, group)
    return _AllGatherWithGrad.apply(x, sizes, group)


class _AllReduceWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, mean, group):
        ctx.mean, ctx.group = mean, group
        out = x.contiguous().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
        return out / dist.get_world_size(group) if mean else out

    @staticmethod
    def backward(ctx, grad):
        # y = sum_r x_r is seen by every rank; d(sum_r' L_r')/dx_r = sum_r' dL_r'/dy.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        if ctx.mean:
            grad = grad / dist.get_world_size(ctx.group)
        return grad, None, None


def all_reduce_with_grad(x: torch.Tensor, op: str = "sum", group=None) -> torch.Tensor:
    """Sum (``op="sum"``) or mean (``op="mean"``) of ``x`` over ranks, keeping the gradient.

    For losses built from batch statistics (Dice's intersections and cardinalities, ...):
    reduce the per-rank sums, then compute the loss from the global sums on every rank. As
    with :func:`all_gather_with_grad`, the backward pass sums the gradients of all ranks, so
    after DDP's averaging the parameters get the single-process full-batch gradient.
    Returns ``x`` when not distributed.

    Example:
        >>> import torch
        >>> x = torch.tensor([1.0, 2.0])
        >>> all_reduce_with_grad(x).tolist()  # one process: unchanged
        [1.0, 2.0]
    """
    if op not in ("sum", "mean"):
        raise ValueError(f"op: expected one of 'sum', 'mean', got {op!r}")
    if not is_distributed(group):
        return x
    return _AllReduceWithGrad.apply(x, op == "mean", group)


def _function_and_options(loss: Any, kwargs: dict) -> tuple[Callable, dict]:
    from ._module import LossModule

    if isinstance(loss, LossModule):
        fn, opts = loss.function, dict(loss.options)
    else:
        fn, opts = loss, {}
    params = inspect.signature(fn).parameters.values()
    full = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    full.update(opts)
    full.update(kwargs)
    return fn, full


class GlobalBatchLoss(torch.nn.Module):
    """Make a loss that looks across the batch see the global batch under DDP.

    ``GlobalBatchLoss(loss, mode="exact")`` wraps a losskit loss function or module
    (``losskit.adasp_loss``, ``losskit.torch.NTXentLoss(...)``, ...; also the Dice family
    with ``batch=True``, e.g. ``GlobalBatchLoss(losskit.torch.DiceLoss(activation="softmax",
    batch=True))``, whose input is gathered like embeddings). ``forward(embeddings,
    labels, *args, **options)`` with the rank's local (B_r, D) embeddings and (B_r,) labels
    (or (B_r, C, ...) logits and their labels):

    * ``mode="exact"``: gathers embeddings (with gradient) and labels from every rank and
      evaluates the loss on the global batch (rank order) on every rank. The value is the
      single-process full-batch value, and after DDP's gradient averaging the parameter
      gradients equal the single-process full-batch gradients (the embeddings' own gradient
      on each rank is ``world_size`` times the full-batch one of its rows; see the module
      docstring). Memory: a (B, B) matrix on every rank, B the global batch.
    * ``mode="local_anchors"``: each rank computes the loss of its own anchors (rows)
      against all references (the gathered batch): a (B_r, B) matrix, ``world_size`` times
      less memory and compute. DDP then optimises the mean over ranks of these per-rank
      losses, which is **not** identical to the full-batch loss: reductions are per rank
      (e.g. AdaSP's per-identity terms use only the local samples of an identity as
      anchors, the non-zero mean of triplet loss counts per rank). Supported by the pair
      losses (AdaSP, triplet, contrastive, circle, multi-similarity, NT-Xent); ArcFace and
      CosFace need no references and are evaluated on the local batch.

    Parameters of the loss itself (``ArcFaceLoss``'s class centres) are not gathered: in
    ``"exact"`` mode every rank computes the same global loss, so their gradient is already
    the full-batch gradient on every rank (and DDP's average of identical values keeps it).
    ``reduction="none"`` returns the global batch's per-sample values on every rank.

    With ``torch.distributed`` not initialised it calls the loss unchanged.

    Example:
        >>> import torch, losskit
        >>> from losskit.torch.distributed import GlobalBatchLoss
        >>> crit = GlobalBatchLoss(losskit.torch.AdaSPLoss(temperature=0.04))
        >>> e, y = torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> bool(crit(e, y) == losskit.adasp_loss(e, y))  # not distributed: the plain loss
        True
    """

    def __init__(self, loss: Callable[..., Any], mode: str = "exact", group=None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode: expected one of 'exact', 'local_anchors', got {mode!r}")
        if not callable(loss):
            raise TypeError(f"loss: expected a losskit loss function or module, got {type(loss).__name__}")
        self.loss = loss  # a Module is registered as a submodule (its parameters train)
        self.mode = mode
        self.group = group

    def extra_repr(self) -> str:
        name = getattr(self.loss, "__name__", None)
        return f"mode={self.mode!r}" + (f", loss={name}" if name else "")

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor, *args: Any, **options: Any):
        if not is_distributed(self.group):
            return self.loss(embeddings, labels, *args, **options)
        sizes = _gather_sizes(embeddings.shape[0], embeddings.device, self.group)
        if self.mode == "exact":
            all_e = _AllGatherWithGrad.apply(embeddings, sizes, self.group) if embeddings.requires_grad else _gather(embeddings, sizes, self.group)
            all_y = _gather(labels, sizes, self.group)
            return self.loss(all_e, all_y, *args, **options)
        return self._local_anchors(embeddings, labels, sizes, args, options)

    def _local_anchors(self, embeddings, labels, sizes, args, options):
        fn, opts = _function_and_options(self.loss, options)
        name = getattr(fn, "__name__", "")
        if name not in LOCAL_ANCHOR_LOSSES:
            if name in ("arcface_loss", "cosface_loss"):
                return self.loss(embeddings, labels, *args, **options)
            raise ValueError(
                "mode: 'local_anchors' supports the losskit pair losses "
                f"({', '.join(LOCAL_ANCHOR_LOSSES)}), got {getattr(fn, '__name__', fn)!r}"
            )
        # Validate exactly as the full-batch call would (shapes, dtypes, options), on an
        # empty slice so that it costs nothing, before any collective.
        fn(embeddings[:0], labels[:0], **opts)
        all_e = _AllGatherWithGrad.apply(embeddings, sizes, self.group) if embeddings.requires_grad else _gather(embeddings, sizes, self.group)
        all_y = _gather(labels, sizes, self.group)
        offset = sum(sizes[: dist.get_rank(self.group)])
        return local_anchor_loss(fn, embeddings, labels, all_e, all_y, offset=offset, **opts)
