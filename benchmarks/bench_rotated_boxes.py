"""Rotated boxes: ``probiou_loss`` and ``kld_loss`` against ultralytics' ``probiou`` (torch
float32, CPU), forward + backward at N = 256, 4,096 and 10^6 box pairs, and the time of
``rotated_box_iou_matrix`` at 1,000 x 1,000 (no peer runs it on CPU without compiled ops).

ultralytics 8.4.190's ``probiou`` is loaded from its installed file (``tests/peers.py``);
its loss is ``1 - probiou(target, pred)`` (mean). ``kld_loss`` is a different loss, timed
against the same peer as the one Gaussian loss users already run. Targets (issue 14):
at most 0.5x at 10^6 and at most 1.0x at 256.

    python benchmarks/run.py --only rotated_boxes [--quick]
    python benchmarks/bench_rotated_boxes.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
TESTS = os.path.join(os.path.dirname(HERE), "tests")
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from _harness import Row, format_table, fwd_bwd, interleaved  # noqa: E402

FULL = dict(sizes=(256, 4096, 1_000_000), repeat=11, matrix=1000)
QUICK = dict(sizes=(256, 4096), repeat=3, matrix=200)
TARGETS = {256: 1.0, 1_000_000: 0.5}


def _boxes(torch, n, g):
    t = torch.cat([torch.rand(n, 2, generator=g) * 600, torch.rand(n, 2, generator=g) * 60 + 2,
                   (torch.rand(n, 1, generator=g) - 0.5) * 6.2], dim=1)
    p = t + torch.randn(n, 5, generator=g) * torch.tensor([3.0, 3.0, 2.0, 2.0, 0.1])
    p[:, 2:4] = p[:, 2:4].abs() + 0.5
    return p, t


def run(quick: bool = False) -> list[Row]:
    import torch

    import losskit
    from peers import load_ultralytics_bbox_iou

    cfg = QUICK if quick else FULL
    rows: list[Row] = []
    peer = load_ultralytics_bbox_iou()
    g = torch.Generator().manual_seed(0)
    threads = torch.get_num_threads()
    if peer is not None:
        probiou = sys.modules["_lk_ultralytics_metrics"].probiou
        theirs = lambda p, t: (1.0 - probiou(t, p)).mean()  # noqa: E731
        for n in cfg["sizes"]:
            p, t = _boxes(torch, n, g)
            p.requires_grad_(True)
            with torch.no_grad():
                torch.testing.assert_close(losskit.probiou_loss(p, t), theirs(p, t), rtol=1e-4, atol=1e-5)
            fns = {"probiou": fwd_bwd(lambda a, b: losskit.probiou_loss(a, b), p, t),
                   "kld": fwd_bwd(lambda a, b: losskit.kld_loss(a, b), p, t),
                   "theirs": fwd_bwd(theirs, p, t)}
            times = interleaved(fns, repeat=cfg["repeat"])
            case = f"fwd+bwd, N={n}, float32, CPU, {threads} thread(s)"
            peer_name = f"ultralytics {peer.version} 1 - probiou"
            for name in ("probiou", "kld"):
                rows.append(Row(family="rotated_boxes", loss=f"{name}_loss", case=case, peer=peer_name,
                                ours=times[name], theirs=times["theirs"], target=TARGETS.get(n)))
    m = cfg["matrix"]
    a, _ = _boxes(torch, m, g)
    b, _ = _boxes(torch, m, g)
    losskit.rotated_box_iou_matrix(a[:10], b[:10])
    start = time.perf_counter()
    losskit.rotated_box_iou_matrix(a, b)
    elapsed = time.perf_counter() - start
    rows.append(Row(family="rotated_boxes", loss="rotated_box_iou_matrix", case=f"{m} x {m}, float32, CPU",
                    peer="(none on CPU)", ours=elapsed, theirs=float("nan"), note="time only"))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
