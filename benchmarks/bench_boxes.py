"""Box losses: forward + backward of GIoU, DIoU, CIoU, EIoU, SIoU on PyTorch (CPU, float32).

    python benchmarks/run.py --only boxes            # 256, 4,096, 32,768 and 10^6 box pairs
    python benchmarks/run.py --only boxes --quick    # 10^4 box pairs

For each loss: the time of ``loss(pred, target, reduction="mean").backward()`` (gradient
with respect to ``pred``) of the public ``losskit.<kind>_loss`` against

* torchvision's ``generalized_box_iou_loss`` / ``distance_box_iou_loss`` /
  ``complete_box_iou_loss`` (``reduction="mean"``), and
* ultralytics' ``bbox_iou(pred, target, xywh=False, GIoU/DIoU/CIoU=True)``, as
  ``(1 - iou).mean()`` (how its detection loss uses it),

timed round-robin in the same run; the row's ratio is against the faster of the two
(targets: at most 0.5 at 10^6 pairs, the original large-size target; at most 1.0 at the
training-step sizes 256, 4,096 and 32,768, issue 19). Neither peer has EIoU or SIoU: those rows compare the fast
path with losskit's own generic array-API path (``losskit.fast_paths(False)``) and say so.

The ``losskit`` row is the public function as users call it: on CPU float tensors the
``boxes.numba`` fast path (``losskit.boxes._numba``) when numba is installed
(``pip install losskit[fast]``), else ``boxes.torch``. A second row per loss,
``<kind> (torch kernel)``, times ``boxes.torch`` alone (``losskit.fast_paths(only=
"boxes.torch")``: what runs without numba and on accelerators; under ``torch.compile`` the
reference runs) against the same peer, in the same round-robin; it has no target of its
own. Without numba the two rows time the same code.

Timings behind the kernels' design (moved here from the code's comments):

* ``boxes.torch`` processes CPU batches in chunks of ``CHUNK = 2**16`` boxes per intra-op
  thread: smaller chunks were slower on 10^6 boxes (Python overhead of ~80 operator calls
  per chunk), larger ones too (memory traffic once a chunk's temporaries leave the cache).
* ``boxes.numba`` on 10^6 float32 pairs (2-core CPU): loss and gradient take about 4 ms for
  GIoU on one thread and half that on two; CIoU's ``atan`` and SIoU's four ``exp`` per box
  are scalar library calls, which makes them 2-3x slower. Its kernel compiles on first use
  in about 2 s, then loads from numba's on-disk cache.

Both peers are pure PyTorch, but their packages do not import here (torchvision's binary
extension, ultralytics' dependencies): ``tests/peers.py`` (shared with the parity tests)
loads just the modules needed from the installed files.
Before timing, it checks that losskit and each peer give the same per-box values (max
absolute difference <= 1e-5, printed) on the benchmark's boxes.
"""

from __future__ import annotations

import pathlib
import sys

from _harness import Row, fwd_bwd, interleaved

KINDS = ("giou", "diou", "ciou", "eiou", "siou")
# training-step batches (issue 19: a detector's matched boxes per step) and the 10^6 pairs of
# the original large-size target
SIZES = (256, 4096, 32768, 10**6)
SIZES_QUICK = (10**4,)
TOLERANCE = 1e-5


# the peers, loaded from their installed files by the tests' loader (one loader serves both)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from peers import load_torchvision_box_losses, load_ultralytics_bbox_iou  # noqa: E402


def _boxes(n: int, seed: int):
    """n (pred, target) xyxy pairs like a detector's: overlapping, sizes 1..300 px."""
    import torch

    g = torch.Generator().manual_seed(seed)
    c = torch.rand(n, 2, generator=g) * 600
    wh = torch.rand(n, 2, generator=g) * 299 + 1
    t = torch.cat([c - wh / 2, c + wh / 2], 1)
    cp = c + torch.randn(n, 2, generator=g) * wh / 4
    whp = wh * (0.5 + torch.rand(n, 2, generator=g))
    p = torch.cat([cp - whp / 2, cp + whp / 2], 1)
    return p.contiguous(), t.contiguous()


def run(quick: bool = False) -> list[Row]:
    import torch

    import losskit

    tv_peer = load_torchvision_box_losses()
    ul_peer = load_ultralytics_bbox_iou()
    tv = {k: getattr(tv_peer, k) for k in ("giou", "diou", "ciou")}
    bbox_iou = ul_peer.bbox_iou
    tv_name = f"torchvision {tv_peer.version}"
    ul_name = f"ultralytics {ul_peer.version}"
    flag = {"giou": "GIoU", "diou": "DIoU", "ciou": "CIoU"}

    rows = []
    for n in SIZES_QUICK if quick else SIZES:
        rows += _rows_at(n, quick, tv, bbox_iou, tv_name, ul_name, flag)
    return rows


def _rows_at(n, quick, tv, bbox_iou, tv_name, ul_name, flag) -> list[Row]:
    import torch

    import losskit

    # small batches take microseconds: more repeats for a stable median
    repeat, warmup = (5, 1) if quick else ((9, 2) if n >= 10**5 else (41, 5))
    p, t = _boxes(n, seed=0)
    x = p.clone().requires_grad_(True)
    shown = f"{n:.0e}".replace("e+0", "e") if n >= 10**5 else f"{n:,}"
    case = f"{shown} pairs, fwd+bwd, float32 CPU, {torch.get_num_threads()} threads"
    rows = []
    for kind in KINDS:
        ours = getattr(losskit, f"{kind}_loss")

        def generic(a, b, reduction="mean", _fn=ours):
            with losskit.fast_paths(False):
                return _fn(a, b, reduction=reduction)

        def torch_kernel(a, b, reduction="mean", _fn=ours):
            with losskit.fast_paths(only="boxes.torch"):
                return _fn(a, b, reduction=reduction)

        with losskit.fast_paths() as used:
            ours(p[:1], t[:1])

        fns = {"losskit": fwd_bwd(ours, x, t), "losskit torch kernel": fwd_bwd(torch_kernel, x, t)}
        if kind in tv:
            tv_fn = tv[kind]
            ul_flag = flag[kind]
            fns[tv_name] = fwd_bwd(lambda a, b, _f=tv_fn: _f(a, b, reduction="mean"), x, t)
            fns[ul_name] = fwd_bwd(
                lambda a, b, _k=ul_flag: (1.0 - bbox_iou(a, b, xywh=False, **{_k: True})).mean(), x, t
            )
            # Same numbers: per-box values of losskit and each peer on these boxes.
            with torch.no_grad():
                mine = ours(p, t, reduction="none")
                ul_loss = 1.0 - bbox_iou(p, t, xywh=False, **{ul_flag: True}).squeeze(-1)
                diffs = {
                    tv_name: float((mine - tv_fn(p, t, reduction="none")).abs().max()),
                    ul_name: float((mine - ul_loss).abs().max()),
                }
            for peer, diff in diffs.items():
                print(f"boxes {kind}: max |losskit - {peer}| = {diff:.2e} (<= {TOLERANCE:g})", flush=True)
                assert diff <= TOLERANCE, f"{kind}: losskit and {peer} differ by {diff:.3g} > {TOLERANCE:g}"
        else:
            fns["losskit generic"] = fwd_bwd(generic, x, t)
            with torch.no_grad():
                fast = ours(p, t, reduction="none")
                diff = float((fast - generic(p, t, reduction="none")).abs().max())
            print(f"boxes {kind}: no peer; max |fast - generic| = {diff:.2e}", flush=True)
        times = interleaved(fns, repeat=repeat, warmup=warmup)
        ours_t = times.pop("losskit")
        torch_t = times.pop("losskit torch kernel")
        peer, theirs = min(times.items(), key=lambda kv: kv[1])
        path = "compiled kernel (numba)" if "boxes.numba" in used else "torch kernel (numba not installed)"
        if kind in tv:
            note = f"{path}, vs the faster peer; " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items())
            # The large-size target is set for 10^6 pairs (0.5x), issue 19's for training-step
            # batches (1.0x); --quick is a smoke test.
            target = None if quick else (0.5 if n >= 10**6 else 1.0)
        else:
            note = f"{path}; no peer implements it: vs losskit's generic array-API path on torch"
            target = None
        rows.append(Row("boxes", kind, case, peer, ours_t, theirs, target=target, note=note))
        rows.append(Row(
            "boxes", f"{kind} (torch kernel)", case, peer, torch_t, theirs,
            note="the boxes.torch fast path (without numba, and on accelerators)",
        ))
    return rows


if __name__ == "__main__":
    from _harness import format_table

    print(format_table(run(quick="--quick" in sys.argv)))
