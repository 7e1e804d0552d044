"""Regression losses: losskit vs ``torch.nn.functional`` on 10^6 float32 values (CPU).

For ``mse_loss``, ``huber_loss`` and ``smooth_l1_loss``: forward + backward (gradient of
the mean with respect to the prediction), median of interleaved repeats in one process
(``_harness.interleaved``), so that machine noise hits both contenders alike. torch's
functions are fused ATen kernels, and losskit calls them for torch tensors (its torch fast
path), so the ratio measures losskit's overhead (validation, namespace resolution). Two
more rows time losskit's generic array-API kernels for Huber and smooth L1 on the same
tensors (what NumPy/JAX/other backends run), the measurement behind that fast path.

Also ``log_cosh_loss`` against the same expression written directly in torch
(``torch.logaddexp(d, -d) - log 2``, optax's form): torch has no log-cosh loss. (In torch
2.13 on CPU the *backward* of ``logaddexp`` is very slow, ~70 ms for 10^4 values, so this
row mostly measures that; losskit's ``|d| + softplus(-2|d|) - log 2`` avoids it.)

    python benchmarks/run.py --only regression [--quick]
    python benchmarks/bench_regression.py [--quick]
"""

from __future__ import annotations

import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, fwd_bwd, interleaved  # noqa: E402

FULL = dict(n=1_000_000, repeat=21)
QUICK = dict(n=10_000, repeat=3)


def run(quick: bool = False) -> list[Row]:
    import torch
    import torch.nn.functional as F

    import losskit

    cfg = QUICK if quick else FULL
    n = cfg["n"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=g).requires_grad_(True)
    t = torch.randn(n, generator=g)
    case = f"fwd+bwd, {n:.0e} float32, CPU, {torch.get_num_threads()} thread(s)"
    log2 = math.log(2.0)
    pairs = [
        ("mse_loss", lambda a, b: losskit.mse_loss(a, b), F.mse_loss, "torch.nn.functional.mse_loss"),
        ("huber_loss", lambda a, b: losskit.huber_loss(a, b), F.huber_loss, "torch.nn.functional.huber_loss"),
        ("smooth_l1_loss", lambda a, b: losskit.smooth_l1_loss(a, b), F.smooth_l1_loss,
         "torch.nn.functional.smooth_l1_loss"),
        ("log_cosh_loss", lambda a, b: losskit.log_cosh_loss(a, b),
         lambda a, b: (torch.logaddexp(a - b, b - a) - log2).mean(), "torch logaddexp(d, -d) - log 2"),
    ]
    # The reference code on the same tensors: the declared fast path switched off.
    def reference(fn):
        def call(a, b):
            with losskit.fast_paths(False):
                return fn(a, b)
        return call

    pairs += [
        ("huber_loss [array-API kernel]", reference(losskit.huber_loss), F.huber_loss,
         "torch.nn.functional.huber_loss"),
        ("smooth_l1_loss [array-API kernel]", reference(losskit.smooth_l1_loss), F.smooth_l1_loss,
         "torch.nn.functional.smooth_l1_loss"),
    ]
    rows = []
    for name, ours, theirs, peer in pairs:
        # same value first: a benchmark of two different computations is meaningless
        with torch.no_grad():
            torch.testing.assert_close(ours(x, t), theirs(x, t), rtol=1e-5, atol=1e-6)
        times = interleaved(
            {"ours": fwd_bwd(ours, x, t), "theirs": fwd_bwd(theirs, x, t)},
            repeat=cfg["repeat"],
        )
        rows.append(Row(family="regression", loss=name, case=case, peer=peer,
                        ours=times["ours"], theirs=times["theirs"]))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
