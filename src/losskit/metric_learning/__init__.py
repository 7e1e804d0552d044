"""Metric learning: the Adaptive Sparse Pairwise loss (AdaSP) and its peers.

Every loss here takes a batch of ``embeddings`` (B, D) and integer identity ``labels`` (B,)
in **any order and any layout** (no P x K requirement, any number of samples per identity)
and works on a (B, B) similarity or distance matrix with boolean masks: no Python loop over
identities, no data-dependent shapes, so every loss runs under ``jax.jit`` and
``torch.compile``. The (B, B, D) difference tensor is never built: distances come from
``||a||^2 + ||b||^2 - 2 a.b`` (see :func:`pairwise_distance`).

The peers keep pytorch-metric-learning's (PML) meanings, so that a user can switch:

===================================  ===============================================
losskit                              pytorch-metric-learning 2.x
===================================  ===============================================
``batch_hard_triplet_loss``          ``TripletMarginLoss`` + ``BatchHardMiner``
``contrastive_loss``                 ``ContrastiveLoss``
``circle_loss``                      ``CircleLoss``
``multi_similarity_loss``            ``MultiSimilarityLoss`` (no miner)
``nt_xent_loss``                     ``NTXentLoss`` with labels
``arcface_loss`` / ``cosface_loss``  ``ArcFaceLoss`` / ``CosFaceLoss``
``subcenter_arcface_loss``           ``SubCenterArcFaceLoss`` (margin in degrees there)
``supcon_loss``                      ``SupConLoss``
``proxy_anchor_loss``                ``ProxyAnchorLoss`` (``margin`` there is ``delta``)
``center_loss``                      none (PML has no center loss, its issue #108)
===================================  ===============================================

including PML's reducers (``reduction="mean"`` returns the value PML returns).
``triplet_margin_loss`` is the exception to the batch-and-labels form: explicit
``(anchor, positive, negative)`` triplets with ``torch.nn.functional.triplet_margin_loss``'s
meaning (torch's ``TripletMarginLoss``, optax's ``triplet_margin_loss`` up to its ``eps``).

**Rounding ties.** A squared distance within the rounding error of the norm trick,
``(sqrt(D) + 8) eps (||a||^2 + ||b||^2)``, is exactly 0, and a hinge term (contrastive,
batch-hard triplet) within the rounding error of the quantities it compares is exactly 0
and is left out of the "mean over non-zero terms": a quantity that is mathematically 0 or
on its margin (duplicate, collinear or zero embeddings) gives the same value on every
library, whatever its summation order. **NaN**: a NaN in the input gives a NaN loss.

Layout: ``distances`` (the public pairwise helpers), ``pairs`` (batch-hard triplet,
contrastive, circle, multi-similarity), ``triplet`` (explicit triplets), ``adasp``,
``nt_xent``, ``supcon``, ``margin_softmax`` (ArcFace, sub-center ArcFace, CosFace),
``proxy_anchor``, ``center`` (the center loss and its centre update), ``anchors`` (the
local-anchor form used by ``losskit.torch.distributed``); ``_pairs`` holds the shared
helpers and declares the self-Gram torch fast path of ``_torch`` (``triplet`` declares the
other, torch's own triplet kernel).
"""

from .adasp import adasp_loss
from .anchors import LOCAL_ANCHOR_LOSSES
from .anchors import local_anchor_loss
from .center import center_loss
from .center import center_update
from .distances import pairwise_cosine_similarity
from .distances import pairwise_distance
from .margin_softmax import arcface_loss
from .margin_softmax import cosface_loss
from .margin_softmax import subcenter_arcface_loss
from .nt_xent import nt_xent_loss
from .pairs import batch_hard_triplet_loss
from .pairs import circle_loss
from .pairs import contrastive_loss
from .pairs import multi_similarity_loss
from .proxy_anchor import proxy_anchor_loss
from .supcon import supcon_loss
from .triplet import triplet_margin_loss

__all__ = [
    "pairwise_cosine_similarity",
    "pairwise_distance",
    "adasp_loss",
    "batch_hard_triplet_loss",
    "triplet_margin_loss",
    "contrastive_loss",
    "circle_loss",
    "multi_similarity_loss",
    "nt_xent_loss",
    "arcface_loss",
    "cosface_loss",
    "subcenter_arcface_loss",
    "supcon_loss",
    "proxy_anchor_loss",
    "center_loss",
    "center_update",
    "local_anchor_loss",
    "LOCAL_ANCHOR_LOSSES",
]
