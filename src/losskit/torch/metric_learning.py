"""``nn.Module`` shells of the metric-learning losses (:mod:`losskit.metric_learning`).

``forward(embeddings, labels)`` is one call to the function with the stored options.
:class:`ArcFaceLoss` and :class:`CosFaceLoss` also own their (num_classes, embedding_dim)
class-centre weight as an ``nn.Parameter`` (train it with the model's optimizer).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..metric_learning import (
    adasp_loss,
    arcface_loss,
    batch_hard_triplet_loss,
    circle_loss,
    contrastive_loss,
    cosface_loss,
    multi_similarity_loss,
    nt_xent_loss,
)
from ._module import LossModule

__all__ = [
    "AdaSPLoss",
    "BatchHardTripletLoss",
    "ContrastiveLoss",
    "CircleLoss",
    "MultiSimilarityLoss",
    "NTXentLoss",
    "ArcFaceLoss",
    "CosFaceLoss",
]


class AdaSPLoss(LossModule):
    function = adasp_loss


class BatchHardTripletLoss(LossModule):
    function = batch_hard_triplet_loss


class ContrastiveLoss(LossModule):
    function = contrastive_loss


class CircleLoss(LossModule):
    function = circle_loss


class MultiSimilarityLoss(LossModule):
    function = multi_similarity_loss


class NTXentLoss(LossModule):
    function = nt_xent_loss


class _MarginSoftmaxLoss(LossModule):
    """A margin-softmax shell that owns its (num_classes, embedding_dim) weight."""

    def __init__(
        self,
        num_classes: int,
        embedding_dim: int,
        *,
        init: Callable[[torch.Tensor], Any] | None = None,
        device=None,
        dtype=None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        for name, value in (("num_classes", num_classes), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.weight = torch.nn.Parameter(torch.empty(num_classes, embedding_dim, device=device, dtype=dtype))
        # Default init: normal(0, 1), as pytorch-metric-learning; only directions matter
        # (rows are normalised inside the loss).
        (init or torch.nn.init.normal_)(self.weight)

    def forward(self, embeddings, labels, **extra: Any):
        return self.function(embeddings, labels, self.weight, **self.options, **extra)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, embedding_dim={self.embedding_dim}, " + super().extra_repr()


class ArcFaceLoss(_MarginSoftmaxLoss):
    """Module form of :func:`losskit.arcface_loss` with its own class-centre weight.

    ``ArcFaceLoss(num_classes, embedding_dim, *, init=None, margin=0.5, scale=64.0,
    reduction="mean")``; ``weight`` is an (num_classes, embedding_dim) ``nn.Parameter``
    initialised by ``init`` (default ``torch.nn.init.normal_``). ``forward(embeddings,
    labels)`` is ``arcface_loss(embeddings, labels, self.weight, **options)``.
    """

    function = arcface_loss


class CosFaceLoss(_MarginSoftmaxLoss):
    """Module form of :func:`losskit.cosface_loss` with its own class-centre weight.

    ``CosFaceLoss(num_classes, embedding_dim, *, init=None, margin=0.35, scale=64.0,
    reduction="mean")``; see :class:`ArcFaceLoss`.
    """

    function = cosface_loss
