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
- ``supcon_loss``              == ``SupConLoss`` ((B, V, D) views: PML on the (B V, D) rows)
- ``proxy_anchor_loss``        == ``ProxyAnchorLoss`` (``margin`` there is ``delta``; gradients
  of the proxies too)
- ``subcenter_arcface_loss``   == ``SubCenterArcFaceLoss`` (margin in degrees there; its
  (D, C K) ``W`` is the (C K, D) weight here, transposed)

PML has no center loss (its issue #108): ``center_loss`` has no peer here.
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


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("temperature", [0.1, 0.5], ids=lambda t: f"t{t}-vs-{PEER}")
def test_supcon_matches_pml(temperature, seed):
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(24, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (24,), generator=g)
    y[0] = 5  # an anchor without positives: 0 in both, not counted in either mean
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1 = losses.SupConLoss(temperature=temperature)(e1, y)
    v2 = losskit.supcon_loss(e2, y, temperature=temperature)
    v1.backward()
    v2.backward()
    assert float(v1.detach()) > 0, "a vacuous comparison"
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")


def test_supcon_views_match_pml_on_the_flattened_rows():
    g = torch.Generator().manual_seed(4)
    b, v, d = 6, 3, 5
    e = torch.randn(b, v, d, generator=g, dtype=torch.float64)
    y = torch.arange(b)  # SimCLR-style: the views of a sample are its only positives
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1 = losses.SupConLoss(temperature=0.2)(e1.reshape(b * v, d), y.repeat_interleave(v))
    v2 = losskit.supcon_loss(e2, y, temperature=0.2)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")


@pytest.mark.parametrize("absent", [False, True], ids=lambda a: f"absent-class-{a}-vs-{PEER}")
@pytest.mark.parametrize("alpha, delta", [(32.0, 0.1), (8.0, 0.3)])
def test_proxy_anchor_matches_pml(alpha, delta, absent):
    g = torch.Generator().manual_seed(5)
    b, d, c = 20, 8, 6
    e = torch.randn(b, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c - 1 if absent else c, (b,), generator=g)  # class c - 1 absent: |P+| < |P|
    peer = losses.ProxyAnchorLoss(c, d, margin=delta, alpha=alpha).double()
    p = peer.proxies.detach().clone().requires_grad_(True)
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1 = peer(e1, y)
    v2 = losskit.proxy_anchor_loss(e2, y, p, alpha=alpha, delta=delta)
    v1.backward()
    v2.backward()
    assert float(v1.detach()) > 0, "a vacuous comparison"
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")
    torch.testing.assert_close(p.grad, peer.proxies.grad, rtol=1e-7, atol=1e-10, msg=f"proxy gradient differs from {PEER}")


@pytest.mark.parametrize("layout", ["3d", "flat"], ids=lambda l: f"{l}-vs-{PEER}")
@pytest.mark.parametrize("k", [1, 3])
def test_subcenter_arcface_matches_pml(k, layout):
    g = torch.Generator().manual_seed(6)
    b, d, c = 16, 8, 5
    e = torch.randn(b, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (b,), generator=g)
    peer = losses.SubCenterArcFaceLoss(num_classes=c, embedding_size=d, margin=28.6, scale=16, sub_centers=k).double()
    flat = peer.W.detach().T.contiguous()  # (C K, D), row j * K + i: sub-centre i of class j
    w = (flat if layout == "flat" else flat.reshape(c, k, d)).clone().requires_grad_(True)
    e1, e2 = e.clone().requires_grad_(True), e.clone().requires_grad_(True)
    v1 = peer(e1, y)
    v2 = losskit.subcenter_arcface_loss(e2, y, w, k=k, margin=float(np.radians(28.6)), scale=16.0)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v2, v1, rtol=1e-10, atol=1e-12, msg=f"value differs from {PEER}")
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-7, atol=1e-10, msg=f"gradient differs from {PEER}")
    torch.testing.assert_close(w.grad.reshape(c * k, d), peer.W.grad.T, rtol=1e-7, atol=1e-10,
                               msg=f"weight gradient differs from {PEER}")
