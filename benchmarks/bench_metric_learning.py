"""Metric learning: losskit vs pytorch-metric-learning (PML), and AdaSP vs a P x K-only kernel.

Forward + backward (gradient of the loss with respect to the embeddings) at B = 256,
D = 2048, float32, torch on the CPU, P = 64 identities x K = 4 samples. Every pair is timed
round-robin in one process (``_harness.interleaved``) after checking that both compute the
same value:

- batch-hard triplet, contrastive, circle, multi-similarity, NT-Xent, ArcFace, CosFace
  against their PML equivalents (``TripletMarginLoss`` + ``BatchHardMiner``, ...);
- ``adasp_loss`` (any batch layout, label masks) against ``_adasp_pk`` below: the same
  formula vectorised for contiguous P x K batches only (reshape to (P, K, P, K), no masks),
  i.e. what the layout restriction of the authors' code buys at best;
- ``triplet_margin_loss`` (explicit triplets) against ``F.triplet_margin_loss`` at the
  training sizes of issue 19, B x D = 256 x 128 and 4096 x 512, with and without ``swap``,
  the gradient of all three inputs (one (3, B, D) tensor). On torch losskit calls torch's
  own ``torch.triplet_margin_loss`` (the fast path ``metric_learning.torch_triplet_margin``):
  the array-API reference, timed too (``reference`` rows), was 1.09-1.16x at 256 x 128 (its
  array-API wrappers and eleven operations against torch's norm kernel) and 0.8-1.3x at
  4096 x 512 from run to run. Its distance is ``sqrt(sum((v + eps)^2) + tiny)``: ``tiny``,
  the dtype's smallest normal number, keeps the gradient at ``v + eps = 0`` finite in one
  operation, where a ``where`` guard cost six small kernels (1.34x at 256 x 128).

The (B, B, D) products of the Gram matrix dominate every pair loss: about 2/3 of the time at
B = 256, D = 2048 on a CPU, hence the fast path ``metric_learning.torch_self_gram``
(``losskit/metric_learning/_torch.py``: one matmul, (G + G^T) @ x, in the backward instead
of autograd's two).

    python benchmarks/run.py --only metric_learning [--quick]
    python benchmarks/bench_metric_learning.py [--quick]
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, fwd_bwd, interleaved  # noqa: E402

FULL = dict(p=64, k=4, d=2048, triplets=[(256, 128), (4096, 512)], repeat=int(os.environ.get("BENCH_REPEAT", 15)))
QUICK = dict(p=8, k=4, d=64, triplets=[(16, 8)], repeat=3)


def _adasp_pk(emb, p: int, k: int, temperature: float = 0.04, variant: str = "adasp"):
    """AdaSP for a batch of p identities x k samples, each identity's samples contiguous."""
    import torch
    import torch.nn.functional as F

    x = F.normalize(emb, dim=1)
    z = (x @ x.T / temperature).view(p, k, p, k)
    idx = torch.arange(p, device=emb.device)
    pos = z[idx, :, idx, :]  # (p, k, k): s_ij / tau within each identity
    row = torch.logsumexp(-pos, dim=2)  # (p, k): -m_i / tau
    s_h = -torch.logsumexp(row, dim=1)  # s_H / tau
    s_lh = torch.logsumexp(-row, dim=1)  # s_LH / tau
    n = torch.logsumexp(z.permute(0, 2, 1, 3).reshape(p, p, k * k), dim=2)  # N^{c,k}
    n = n.masked_fill(torch.eye(p, dtype=torch.bool, device=emb.device), float("-inf"))
    if variant == "sp-h":
        sp = s_h
    elif variant == "sp-lh":
        sp = s_lh
    else:
        with torch.no_grad():
            h, lh = s_h * temperature, s_lh * temperature
            a = torch.where(h < 0, torch.zeros_like(h), 2 * h * lh / (h + lh))
        sp = a * s_h + (1 - a) * s_lh
    return F.softplus(torch.logsumexp(n, dim=1) - sp).mean()


def run(quick: bool = False) -> list[Row]:
    import torch
    from pytorch_metric_learning import __version__ as pml_version
    from pytorch_metric_learning import distances, losses, miners

    import losskit

    cfg = QUICK if quick else FULL
    p, k, d = cfg["p"], cfg["k"], cfg["d"]
    b = p * k
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(p, d, generator=g)
    emb = (centres.repeat_interleave(k, 0) + 2.0 * torch.randn(b, d, generator=g)).requires_grad_(True)
    labels = torch.arange(p).repeat_interleave(k)
    num_classes = p
    case = f"fwd+bwd, B={b} ({p}x{k}), D={d}, float32 CPU, {torch.get_num_threads()} thread(s)"
    pml = f"pytorch-metric-learning {pml_version}"

    lp = distances.LpDistance()
    miner = miners.BatchHardMiner(distance=lp)
    triplet = losses.TripletMarginLoss(margin=0.05, distance=lp)
    arc = losses.ArcFaceLoss(num_classes, d, margin=28.6, scale=64)
    cos = losses.CosFaceLoss(num_classes, d, margin=0.35, scale=64)
    w_arc = arc.W.detach().T.contiguous()
    w_cos = cos.W.detach().T.contiguous()
    import math

    pairs = [
        ("batch_hard_triplet_loss", lambda e, y: losskit.batch_hard_triplet_loss(e, y),
         lambda e, y: triplet(e, y, miner(e, y)), "TripletMarginLoss + BatchHardMiner"),
        ("contrastive_loss", lambda e, y: losskit.contrastive_loss(e, y), losses.ContrastiveLoss(), "ContrastiveLoss"),
        ("circle_loss", lambda e, y: losskit.circle_loss(e, y, m=0.4, gamma=80.0), losses.CircleLoss(), "CircleLoss"),
        ("multi_similarity_loss", lambda e, y: losskit.multi_similarity_loss(e, y), losses.MultiSimilarityLoss(),
         "MultiSimilarityLoss"),
        ("nt_xent_loss", lambda e, y: losskit.nt_xent_loss(e, y), losses.NTXentLoss(), "NTXentLoss"),
        ("arcface_loss", lambda e, y: losskit.arcface_loss(e, y, w_arc, margin=math.radians(28.6)), arc,
         "ArcFaceLoss"),
        ("cosface_loss", lambda e, y: losskit.cosface_loss(e, y, w_cos), cos, "CosFaceLoss"),
    ]
    rows = []
    for name, ours, theirs, peer in pairs:
        # same value first: a benchmark of two different computations is meaningless
        vo, vt = float(ours(emb, labels).detach()), float(theirs(emb, labels).detach())
        assert abs(vo - vt) <= 1e-4 * max(1.0, abs(vt)), (name, vo, vt)
        t = interleaved({"ours": fwd_bwd(ours, emb, labels), "theirs": fwd_bwd(theirs, emb, labels)},
                        repeat=cfg["repeat"])
        rows.append(Row("metric_learning", name, case, f"{pml} {peer}", t["ours"], t["theirs"], target=1.0))

    for variant in ("adasp", "sp-lh"):
        vo = float(losskit.adasp_loss(emb, labels, variant=variant).detach())
        vt = float(_adasp_pk(emb, p, k, variant=variant).detach())
        assert abs(vo - vt) <= 1e-4 * max(1.0, abs(vt)), (variant, vo, vt)
        t = interleaved(
            {
                "ours": fwd_bwd(lambda e, y: losskit.adasp_loss(e, y, variant=variant), emb, labels),
                "theirs": fwd_bwd(lambda e: _adasp_pk(e, p, k, variant=variant), emb),
            },
            repeat=cfg["repeat"],
        )
        rows.append(Row("metric_learning", f"adasp_loss ({variant})", case,
                        "P x K-only vectorised AdaSP (this file)", t["ours"], t["theirs"], target=1.0))
    rows += _triplet_rows(cfg, g)
    return rows


def _triplet_rows(cfg, g) -> list[Row]:
    """``triplet_margin_loss`` against torch's own triplet loss (see the module docstring)."""
    import torch
    import torch.nn.functional as F

    import losskit

    rows = []
    for b, d in cfg["triplets"]:
        t = torch.randn(3, b, d, generator=g).requires_grad_(True)
        case = f"fwd+bwd of all three, B={b}, D={d}, float32 CPU, {torch.get_num_threads()} thread(s)"
        for swap in (False, True):
            ours = lambda t, swap=swap: losskit.triplet_margin_loss(t[0], t[1], t[2], swap=swap)  # noqa: E731
            theirs = lambda t, swap=swap: F.triplet_margin_loss(t[0], t[1], t[2], swap=swap)  # noqa: E731

            def reference(t, ours=ours):
                with losskit.fast_paths(False):
                    return ours(t)

            vo, vr, vt = float(ours(t).detach()), float(reference(t).detach()), float(theirs(t).detach())
            assert max(abs(vo - vt), abs(vr - vt)) <= 1e-5 * max(1.0, abs(vt)), ("triplet_margin_loss", vo, vr, vt)
            times = interleaved({"ours": fwd_bwd(ours, t), "reference": fwd_bwd(reference, t), "theirs": fwd_bwd(theirs, t)},
                                repeat=cfg["repeat"])
            name = "triplet_margin_loss" + (" (swap)" if swap else "")
            peer = f"torch {torch.__version__.split('+')[0]} F.triplet_margin_loss"
            rows.append(Row("metric_learning", name, case, peer, times["ours"], times["theirs"], target=1.1))
            rows.append(Row("metric_learning", name + " reference", case, peer, times["reference"], times["theirs"],
                            target=None))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
