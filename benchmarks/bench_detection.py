"""Detection heads: ``distribution_focal_loss`` vs ultralytics' ``DFLoss`` at YOLOv8 shapes.

YOLOv8 at 640 x 640 has 8,400 anchors (80^2 + 40^2 + 20^2), 4 box sides each and
``reg_max = 16`` bins; a batch of 16 gives 537,600 distributions of 16 logits. Both sides
run forward + backward (the gradient of the mean with respect to the logits) on float32
CPU tensors, with ultralytics' clamp (``clamp=0.01`` here), on every anchor (the
detector's own call keeps only the foreground ones: fewer rows, the same per-row work).
ultralytics' ``DFLoss`` is loaded from its installed file by ``tests/peers.py``; it
clamps its target in place, so it gets a fresh copy each step (the copy is timed with it:
about 2 MB, negligible next to the loss).

    python benchmarks/run.py --only detection [--quick]
    python benchmarks/bench_detection.py [--quick]
"""

from __future__ import annotations

import os
import pathlib
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, interleaved  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from peers import load_ultralytics_losses  # noqa: E402

FULL = dict(batch=16, anchors=8400, repeat=11)
QUICK = dict(batch=2, anchors=400, repeat=3)
REG_MAX = 16


def run(quick: bool = False) -> list[Row]:
    import torch

    import losskit

    peer = load_ultralytics_losses()
    if peer is None:
        return []
    cfg = QUICK if quick else FULL
    rows_n = cfg["batch"] * cfg["anchors"]
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(rows_n * 4, REG_MAX, generator=g) * 2).requires_grad_(True)
    y = torch.rand(rows_n, 4, generator=g) * (REG_MAX - 1)
    dfl = peer.DFLoss(REG_MAX)

    def ours():
        return losskit.distribution_focal_loss(z.view(rows_n, 4, REG_MAX), y, reg_max=REG_MAX, clamp=0.01)

    def theirs():
        return dfl(z, y.clone()).mean()

    # same value first: a benchmark of two different computations is meaningless
    with torch.no_grad():
        torch.testing.assert_close(ours(), theirs(), rtol=1e-5, atol=1e-6)

    def step(fn):
        def go():
            z.grad = None
            fn().backward()

        return go

    times = interleaved({"ours": step(ours), "theirs": step(theirs)}, repeat=cfg["repeat"])
    case = (f"fwd+bwd, {cfg['batch']} x {cfg['anchors']:,} anchors x 4 sides x {REG_MAX} bins, float32, CPU, "
            f"{torch.get_num_threads()} thread(s)")
    return [Row(family="detection", loss="distribution_focal_loss", case=case, peer=f"ultralytics {peer.version} DFLoss",
                ours=times["ours"], theirs=times["theirs"], target=1.0)]


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
