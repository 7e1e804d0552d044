"""Parity with pytorch-metric-learning (PML), the library metric-learning users switch from.

Peer: ``pytorch_metric_learning`` (version read from ``__version__`` into the test ids;
written against 2.9.0). Same random batches, float64, values and gradients with respect to
the embeddings (and the class weights for ArcFace / CosFace):

- ``batch_hard_triplet_loss``  == ``TripletMarginLoss`` + ``BatchHardMiner`` (Lp / cosine)
- ``contrastive_loss``         == ``ContrastiveLoss`` (Lp / cosine)
- ``circle_loss``              == ``CircleLoss``
- ``multi_similarity_loss``    == ``MultiSimilarityLoss``
- ``nt_xent_loss``             == ``NTXentLoss`` (with labels)
- ``arcface_loss``             == ``ArcFaceLoss`` (margin in degrees there, radians here;
  weight (D, C) there, (C, D) here)
- ``cosface_loss``             == ``CosFaceLoss``
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pml = pytest.importorskip("pytorch_metric_learning")
from pytorch_metric_learning import distances, losses, miners  # noqa: E402

import losskit  # noqa: E402

PEER = f"pml-{pml.__version__}"


def triplet_case(distance, soft):
    d = distances.LpDistance() if distance == "euclidean" else distances.CosineSimilarity()
    loss = losses.TripletMarginLoss(margin=0.2, distance=d, smooth_loss=soft)
    miner = miners.BatchHardMiner(distance=d)
    return (
        lambda e, y: loss(e, y, miner(e, y)),
        lambda e, y: losskit.batch_hard_triplet_loss(e, y, margin=0.2, distance=distance, soft=soft),
    )


def contrastive_case(distance):
    d = distances.LpDistance() if distance == "euclidean" else distances.CosineSimilarity()
    pm, nm = (0.2, 1.1) if distance == "euclidean" else (0.8, 0.1)
    loss = losses.ContrastiveLoss(pos_margin=pm, neg_margin=nm, distance=d)
    return loss, lambda e, y: losskit.contrastive_loss(e, y, pos_margin=pm, neg_margin=nm, distance=distance)


CASES = {
    "triplet-euclidean": lambda: triplet_case("euclidean", False),
    "triplet-cosine": lambda: triplet_case("cosine", False),
    "triplet-euclidean-soft": lambda: triplet_case("euclidean", True),
    "contrastive-euclidean": lambda: contrastive_case("euclidean"),
    "contrastive-cosine": lambda: contrastive_case("cosine"),
    "circle-pml-defaults": lambda: (losses.CircleLoss(m=0.4, gamma=80), lambda e, y: losskit.circle_loss(e, y, m=0.4, gamma=80.0)),
    "circle-paper-defaults": lambda: (losses.CircleLoss(m=0.25, gamma=256), losskit.circle_loss),
    "multi-similarity": lambda: (losses.MultiSimilarityLoss(), losskit.multi_similarity_loss),
    "multi-similarity-opts": lambda: (
        losses.MultiSimilarityLoss(alpha=4, beta=20, base=0.3),
        lambda e, y: losskit.multi_similarity_loss(e, y, alpha=4.0, beta=20.0, base=0.3),
    ),
    "nt-xent": lambda: (losses.NTXentLoss(), losskit.nt_xent_loss),
    "nt-xent-t0.5": lambda: (losses.NTXentLoss(temperature=0.5), lambda e, y: losskit.nt_xent_loss(e, y, temperature=0.5)),
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", list(CASES), ids=lambda c: f"{c}-vs-{PEER}")
def test_pair_losses_match_pml(case, seed):
    theirs, ours = CASES[case]()
    g = torch.Generator().manual_seed(seed)
    b, d = (32, 16) if seed < 2 else (7, 3)
    e = torch.randn(b, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, 6 if seed < 2 else 3, (b,), generator=g)
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1, v2 = theirs(e1, y), ours(e2, y)
    v1.backward()
    v2.backward()
    assert float(v1.detach()) > 0, "a vacuous comparison"
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")


@pytest.mark.parametrize("kind", ["arcface", "cosface"], ids=lambda k: f"{k}-vs-{PEER}")
def test_margin_softmax_losses_match_pml(kind):
    g = torch.Generator().manual_seed(3)
    b, d, c = 16, 8, 5
    e = torch.randn(b, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (b,), generator=g)
    if kind == "arcface":
        peer = losses.ArcFaceLoss(c, d, margin=28.6, scale=16).double()
        ours = lambda e_, w_: losskit.arcface_loss(e_, y, w_, margin=float(np.radians(28.6)), scale=16.0)  # noqa: E731
    else:
        peer = losses.CosFaceLoss(c, d, margin=0.35, scale=16).double()
        ours = lambda e_, w_: losskit.cosface_loss(e_, y, w_, margin=0.35, scale=16.0)  # noqa: E731
    w = peer.W.detach().T.contiguous().requires_grad_(True)
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1, v2 = peer(e1, y), ours(e2, w)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")
    torch.testing.assert_close(w.grad, peer.W.grad.T, rtol=1e-7, atol=1e-10, msg=f"weight gradient differs from {PEER}")


def test_degenerate_batches_match_pml():
    # one identity (no negatives) and all-distinct labels (no positives): PML returns 0
    e = torch.randn(5, 4, dtype=torch.float64)
    for y in (torch.zeros(5, dtype=torch.int64), torch.arange(5)):
        for case in ("triplet-euclidean", "circle-pml-defaults", "nt-xent"):
            theirs, ours = CASES[case]()
            torch.testing.assert_close(ours(e, y), theirs(e, y).to(torch.float64), msg=f"{case} vs {PEER}")
