"""Segmentation: ``losskit.dice_loss`` vs MONAI ``DiceLoss`` (torch, CPU), forward + backward.

Inputs: float32 logits ``(2, 4, 64, 64)`` (a training-step batch, issue 19: target at most
1.0x MONAI), ``(8, 4, 128, 128)`` and ``(2, 4, 64, 64, 64)`` (target at most 0.5x) with
integer labels. Rows:

* ``dice_loss``: the public function, ``dice_loss(x, labels, activation="softmax")`` (labels
  without a class axis). With numba installed (``losskit[fast]``) this is the compiled CPU
  path: ``e = exp(x)`` by torch's vectorised ``exp2``, then one numba pass for the sums
  ``I, P, G`` (masking ``ignore_index`` and checking the label range on the way) and one for
  the hand-derived backward, written into ``e``'s memory, both on one thread
  (``losskit.segmentation._numba.THREADS``). Its ``e`` reuses the previous call's memory once nothing
  holds it (no fresh ``(N, C, ...)`` allocation per step). The note says which path ran.
* ``[fused torch path]``: the same function with only the ``segmentation.torch`` fast path
  allowed (``losskit.fast_paths(only=...)``, what runs without numba): a torch
  ``autograd.Function`` of ~25 eager ops (``exp2``, matmul reductions, a gather and a
  complex scatter-add into per-class sub-bins, in-place backward).
* ``[array-API kernel]``: the reference (``losskit.fast_paths(False)``; what NumPy / JAX /
  accelerators run).

MONAI: ``DiceLoss(softmax=True, to_onehot_y=True)`` on labels with a channel axis (it builds
the ``(N, C, ...)`` one-hot). Times are medians of interleaved repeats in one process
(``_harness.interleaved``: steps back to back, ``--cold`` for a ``gc.collect()`` before each);
the values are checked to agree first. A memory row reports the bytes of the tensors each
implementation keeps alive for backward, beyond its inputs
(``torch.autograd.graph.saved_tensors_hooks``).

What the rows showed (November 2026, 2-core machine, torch 2.13.0 CPU):

* losskit's compiled path: 0.48-0.66 ms at (8, 4, 128, 128) and 2.3-6.0 ms at
  (2, 4, 64, 64, 64) interleaved with MONAI (0.33 ms at 2D alone). MONAI's time is bimodal
  and decides the ratio: at (8, 4, 128, 128) 0.69-1.4 ms when its allocations come from a
  warm heap, 1.5-4.8 ms when its ``(N, C, ...)`` temporaries page-fault (500-10000 faults
  per step, ~1.3 us each; which one happens depends on the heap's state in that process).
  Ratios over sixteen runs at 2 threads: 2D 0.21-0.50, three times above (0.52 and 0.53
  with MONAI at 1.1 ms, 0.70 with MONAI at 0.69 ms); 3D 0.27-0.45. At 1 thread (three
  runs): 2D 0.27-0.37, 3D 0.15-0.28.
* Where the 2D time goes, alone: ``exp2`` 0.06 ms (two torch ops), the forward pass
  0.08 ms, the backward pass 0.09 ms (reading the 3 MiB of ``e`` and labels costs
  0.03 ms at this machine's bandwidth: the passes are compute-bound), ~0.1 ms of
  validation, ``autograd.Function`` machinery and the Dice head on the NumPy sums. Right
  after MONAI's step every one of these runs slower, the Python-level part two to three
  times slower (its code and data were evicted from the caches): of the 0.29 ms that
  MONAI's step adds to the next losskit step, 0.09 ms is the kernels and ``exp2``, 0.2 ms
  the rest (validation 0.012 -> 0.031 ms, the Dice head 0.010 -> 0.030 ms, ...). The
  machinery's floor, a bare ``autograd.Function`` forward + backward, is 0.034 ms alone.
* What did not help: splitting the numba passes over two threads (torch's OpenMP workers
  spin after ``exp2`` and the second thread competes with them: 0.58 vs 0.45 ms at 2D
  before the kernels were reworked); compiling exp in numba too (a vectorised Cody-Waite
  + polynomial exp measured 0.10 ms on one thread against torch's 0.06 ms ``exp2`` on two,
  and 5-15% slower overall when recomputed in the backward instead of stored);
  ``torch.softmax`` over the class axis instead of ``exp2`` (0.14 ms: its kernel over a
  non-last axis is slower).

Measurements behind choices in the code (moved here from its comments):

* The numba kernels alone at (8, 4, 128, 128) float32 on one core (November 2026): forward
  0.08 ms, backward 0.09 ms (0.13 and 0.12 ms with per-slot accumulators, int64 label
  scratch, blocks of 256 and a scratch copy of ``e`` in the backward); reading the 3 MiB of
  ``e`` and labels takes 0.03 ms at that machine's bandwidth.
* One thread for the numba passes (``losskit.segmentation._numba.THREADS``), with torch's 2 threads on 2 cores,
  fwd + bwd: (8, 4, 128, 128) 0.45 ms on one thread vs 0.58 split in two; (2, 4, 64, 64, 64)
  1.6 vs 1.9 ms; (16, 4, 256, 256) 4.1 vs 4.7 ms (with ``OMP_WAIT_POLICY=PASSIVE`` the split
  wins at the larger sizes, but every torch op slows).
* The fused torch path is CPU only: on an H100 (torch 2.11, (8, 4, 128, 128)) it took 2.1 ms
  forward + backward against the reference's 1.3 ms, whose gather/scatter kernels the GPU
  runs well. Its 16 sub-bins per class made the CPU scatter-add 4x faster than one bin.
* The compiled path's ``Head`` (the Dice formula and reduction inside the Function) saves
  ~0.1 ms per step at (8, 4, 128, 128) against a Function that returns the sums and a dozen
  small torch ops (and their autograd nodes) after it.
* The numba path over the fused torch one: 1.5-3x faster in this benchmark.

    python benchmarks/run.py --only segmentation [--quick]
    python benchmarks/bench_segmentation.py [--quick]
"""

from __future__ import annotations

import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, interleaved  # noqa: E402

FULL = dict(shapes=[(2, 4, 64, 64), (8, 4, 128, 128), (2, 4, 64, 64, 64)], repeat=15)
QUICK = dict(shapes=[(2, 4, 16, 16), (1, 4, 8, 8, 8)], repeat=3)
TARGET = 0.5  # the large-size target: at most half of MONAI's time
# issue 19's training-step size (the small 2D batch): at most MONAI's time
TARGETS = {(2, 4, 64, 64): 1.0}


def _step(fn, x, lab):
    def step():
        x.grad = None
        fn(x, lab).backward()

    return step


def _saved_bytes(fn, x, lab):
    """Bytes of the tensors autograd saves for backward (distinct storages), not counting
    the inputs themselves (both sides keep those alive anyway)."""
    import torch

    seen = {}
    inputs = {x.untyped_storage().data_ptr(), lab.untyped_storage().data_ptr()}

    def pack(t):
        try:
            key = t.untyped_storage().data_ptr()
            if key in inputs:
                return t
            seen[key] = max(seen.get(key, 0), t.untyped_storage().nbytes())
        except (RuntimeError, NotImplementedError):  # pragma: no cover - exotic tensors
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x, lab)
    return float(sum(seen.values()))


def run(quick: bool = False) -> list[Row]:
    import torch
    from monai.losses import DiceLoss
    import monai

    import losskit

    cfg = QUICK if quick else FULL
    peer_name = f"monai {monai.__version__} DiceLoss(softmax, to_onehot_y)"
    monai_dice = DiceLoss(softmax=True, to_onehot_y=True)

    def ours(a, lab):
        return losskit.dice_loss(a, lab, activation="softmax")

    def fused(a, lab):  # the torch-only fast path (what runs without numba)
        with losskit.fast_paths(only="segmentation.torch"):
            return losskit.dice_loss(a, lab, activation="softmax")

    def generic(a, lab):
        with losskit.fast_paths(False):
            return losskit.dice_loss(a, lab, activation="softmax")

    with losskit.fast_paths() as used:  # which path the public call takes here
        ours(torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype=torch.int64))
    compiled = "segmentation.numba" in used

    def theirs(a, lab):
        return monai_dice(a, lab.unsqueeze(1))

    fns = {"ours": ours, "generic": generic, "peer": theirs}
    if compiled:
        fns["fused"] = fused
    rows = []
    g = torch.Generator().manual_seed(0)
    for shape in cfg["shapes"]:
        x = torch.randn(shape, generator=g).requires_grad_(True)
        lab = torch.randint(0, shape[1], (shape[0],) + tuple(shape[2:]), generator=g)
        # labels that are 50% class 0 ("target ratio 0.5"), the rest spread over the others
        lab = torch.where(torch.rand(lab.shape, generator=g) < 0.5, torch.zeros_like(lab), lab)
        # values agree before timing (this also compiles the numba kernels, once per machine)
        vals = {k: float(f(x, lab).detach()) for k, f in fns.items()}
        v_peer = vals["peer"]
        if any(abs(v - v_peer) > 1e-5 * max(1.0, abs(v_peer)) for v in vals.values()):
            raise AssertionError(f"values differ on {shape}: {vals}")
        # the small batch steps in a fraction of a millisecond: more repeats for a stable median
        reps = cfg["repeat"] * (3 if math.prod(shape) <= 2**16 and cfg is FULL else 1)
        t = interleaved({k: _step(f, x, lab) for k, f in fns.items()}, repeat=reps)
        case = f"fwd+bwd {tuple(shape)} f32, CPU, {torch.get_num_threads()} thr"
        path = "compiled (numba)" if compiled else "fused torch; numba not installed"
        goal = TARGETS.get(tuple(shape), TARGET)
        rows.append(Row("segmentation", "dice_loss", case, peer_name, t["ours"], t["peer"], target=goal, note=path))
        if compiled:
            rows.append(Row("segmentation", "dice_loss [fused torch path]", case, peer_name, t["fused"], t["peer"]))
        rows.append(Row("segmentation", "dice_loss [array-API kernel]", case, peer_name, t["generic"], t["peer"]))
        mib = 1024.0**2
        rows.append(
            Row(
                "segmentation", "dice_loss", f"saved for backward {tuple(shape)}", peer_name,
                _saved_bytes(ours, x, lab) / mib, _saved_bytes(theirs, x, lab) / mib, unit="MiB",
            )
        )
    rows.extend(_cldice_rows(cfg))
    rows.extend(_hausdorff_rows(quick))
    return rows


def _hausdorff_rows(quick: bool) -> list[Row]:
    """``hausdorff_dt_loss`` vs MONAI ``HausdorffDTLoss``, sigmoid, forward + backward on
    (4, 3, 128, 128) and (2, 3, 64, 64, 64); target at most 0.5x (issue 15). Both compute
    exact transforms on the host for every sample and class of the prediction and the
    target: MONAI scipy's ``distance_transform_edt``, two per map; losskit the compiled
    transform of fast path ``segmentation.edt`` (both transforms of a map at once), scipy
    without numba. Then ``distance_field`` alone (one (N, C) mask) against the two scipy
    calls per map that it replaces."""
    import numpy as np
    import scipy
    import torch
    import monai
    from monai.losses import HausdorffDTLoss
    from scipy.ndimage import distance_transform_edt

    import losskit
    from losskit.segmentation import distance_field

    peer_name = f"monai {monai.__version__} HausdorffDTLoss(sigmoid)"
    peer = HausdorffDTLoss(sigmoid=True, include_background=True)  # MONAI drops class 0 by default

    def ours(a, t):
        return losskit.hausdorff_dt_loss(a, t, activation="sigmoid")

    shapes = [(2, 3, 16, 16), (1, 3, 8, 8, 8)] if quick else [(4, 3, 128, 128), (2, 3, 64, 64, 64)]
    rows = []
    g = torch.Generator().manual_seed(2)
    for shape in shapes:
        x = torch.randn(shape, generator=g).requires_grad_(True)
        t = (torch.rand(shape, generator=g) > 0.6).float()
        v_ours, v_peer = float(ours(x, t).detach()), float(peer(x, t).detach())
        if abs(v_ours - v_peer) > 1e-5 * max(1.0, abs(v_peer)):
            raise AssertionError(f"hausdorff values differ on {shape}: {v_ours} vs {v_peer}")
        with losskit.fast_paths(False):
            ref = float(ours(x, t).detach())  # scipy's transforms: the same maps, the same loss
        if abs(v_ours - ref) > 1e-6 * max(1.0, abs(ref)):
            raise AssertionError(f"hausdorff with scipy's transforms differs on {shape}: {v_ours} vs {ref}")
        tm = interleaved({"ours": _step(ours, x, t), "peer": _step(peer, x, t)}, repeat=3 if quick else 5)
        case = f"fwd+bwd {tuple(shape)} f32, CPU, {torch.get_num_threads()} thr"
        rows.append(Row("segmentation", "hausdorff_dt_loss", case, peer_name, tm["ours"], tm["peer"], target=0.5,
                        note="exact transforms on the host: compiled (segmentation.edt) vs scipy's"))
    for shape in shapes:
        m = (torch.rand(shape, generator=g) > 0.6).numpy()

        def two_scipy(m=m):
            out = np.zeros(m.shape)
            for idx in np.ndindex(*m.shape[:2]):
                out[idx] = distance_transform_edt(m[idx]) + distance_transform_edt(~m[idx])
            return out

        if not np.array_equal(distance_field(m), two_scipy()):
            raise AssertionError(f"distance_field differs from scipy's transforms on {shape}")
        tm = interleaved({"ours": lambda m=m: distance_field(m), "peer": two_scipy}, repeat=3 if quick else 5)
        rows.append(Row("segmentation", "distance_field", f"{tuple(shape)} mask, {torch.get_num_threads()} thr",
                        f"scipy {scipy.__version__} distance_transform_edt x 2 per map", tm["ours"], tm["peer"],
                        note="the transforms alone (what the Hausdorff step spends on them)"))
    return rows


def _cldice_rows(cfg) -> list[Row]:
    """``cldice_loss`` (its soft skeleton by torch max pooling, fast path
    ``segmentation.torch_pool``, each erosion computed once) vs MONAI ``SoftclDiceLoss``
    (``max_pool2d/3d``, each erosion but the last computed twice), one foreground channel
    with sigmoid, forward + backward; target at most 1.0x (issue 15)."""
    import torch
    import monai
    from monai.losses import SoftclDiceLoss

    import losskit

    peer_name = f"monai {monai.__version__} SoftclDiceLoss(sigmoid)"
    peer = SoftclDiceLoss(sigmoid=True)

    def ours(a, t):
        return losskit.cldice_loss(a, t, activation="sigmoid", harmonic_smooth=1e-4)

    rows = []
    g = torch.Generator().manual_seed(1)
    for shape in cfg["shapes"]:
        shape = (shape[0], 1) + tuple(shape[2:])
        x = torch.randn(shape, generator=g).requires_grad_(True)
        t = (torch.rand(shape, generator=g) > 0.7).float()
        v_ours, v_peer = float(ours(x, t).detach()), float(peer(x, t).detach())
        if abs(v_ours - v_peer) > 1e-5 * max(1.0, abs(v_peer)):
            raise AssertionError(f"cldice values differ on {shape}: {v_ours} vs {v_peer}")
        tm = interleaved({"ours": _step(ours, x, t), "peer": _step(peer, x, t)}, repeat=cfg["repeat"])
        case = f"fwd+bwd {tuple(shape)} f32, CPU, {torch.get_num_threads()} thr"
        rows.append(Row("segmentation", "cldice_loss", case, peer_name, tm["ours"], tm["peer"], target=1.0,
                        note="max pooling, erosions reused"))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
