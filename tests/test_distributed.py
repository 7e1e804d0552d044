"""losskit.torch.distributed on 2 real processes (gloo, CPU, 127.0.0.1): the global-batch
losses give the single-process full-batch values and, after DDP's averaging, gradients.

The test runs this file as a script (so that torch.multiprocessing's spawned children can
import the worker whatever pytest's import mode), once per test session, collects each
rank's results in .npz files and compares them here with single-process computations, in
float64, to 1e-6.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
FileLock = pytest.importorskip("filelock").FileLock  # a dependency of torch

import losskit  # noqa: E402
from losskit import metric_learning as ml  # noqa: E402
from losskit.torch.distributed import GlobalBatchLoss, all_gather_with_grad, all_reduce_with_grad  # noqa: E402

WORLD = 2
B, DIN, D = 10, 5, 4
# identities spread over both ranks (rank 0 holds rows 0..4, rank 1 rows 5..9), one identity
# with a single sample, one present on one rank only
LABELS = np.array([0, 1, 2, 0, 3, 1, 2, 4, 0, 3])
LOSSES = {
    "adasp": (losskit.adasp_loss, {"temperature": 0.1}),
    "adasp_sph": (losskit.adasp_loss, {"temperature": 0.1, "variant": "sp-h"}),
    "triplet": (losskit.batch_hard_triplet_loss, {"margin": 0.3}),
    "ntxent": (losskit.nt_xent_loss, {"temperature": 0.2}),
    "contrastive": (losskit.contrastive_loss, {"pos_margin": 0.1, "neg_margin": 0.9}),
    "circle": (losskit.circle_loss, {"m": 0.25, "gamma": 8.0}),
    "ms": (losskit.multi_similarity_loss, {}),
}
# Segmentation losses with batch=True pool the batch's sums: the model's (B, 4) output is
# read as (B, 2 classes, 2 pixels) logits, with these labels (both classes on both ranks).
PIXEL_LABELS = np.array([[0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [1, 0], [1, 1], [0, 1], [0, 0], [1, 1]])
PIXEL_LOSSES = {
    "dice_batch": (losskit.dice_loss, {"activation": "softmax", "batch": True}),
    "tversky_batch": (losskit.tversky_loss, {"activation": "softmax", "batch": True, "alpha": 0.3, "beta": 0.7}),
}


def as_pixels(t):
    return t.reshape(t.shape[0], 2, 2)


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, DIN, generator=g, dtype=torch.float64)
    emb = torch.randn(B, D, generator=g, dtype=torch.float64)
    w = torch.randn(D, DIN, generator=g, dtype=torch.float64)
    bias = torch.randn(D, generator=g, dtype=torch.float64)
    return x, emb, w, bias, torch.tensor(LABELS)


def rows(rank):
    n = B // WORLD
    return slice(rank * n, (rank + 1) * n)


def model(w, bias):
    m = torch.nn.Linear(DIN, D).double()
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(bias)
    return m


def _worker(rank, port, outdir):
    import faulthandler

    import torch.distributed as dist

    faulthandler.enable()  # a native abort in a rank names the Python line it came from
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        out = _collect(rank)
        # Tear down together: no rank shuts its gloo pairs (or rank 0 the TCP store) while
        # the other is still in a collective. The DDP models are gone with _collect's frame.
        dist.barrier()
    finally:
        dist.destroy_process_group()
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **out)


def _collect(rank):
    from torch.nn.parallel import DistributedDataParallel as DDP

    x, emb, w, bias, y = data()
    sl = rows(rank)
    out = {}
    for name, (fn, opts) in LOSSES.items():
        for mode in ("exact", "local_anchors"):
            crit = GlobalBatchLoss(fn, mode=mode)
            e = emb[sl].clone().requires_grad_(True)
            value = crit(e, y[sl], **opts)
            value.backward()
            out[f"{name}/{mode}/value"] = value.item()
            out[f"{name}/{mode}/emb_grad"] = e.grad.numpy()
            net = DDP(model(w, bias))
            crit(net(x[sl]), y[sl], **opts).backward()
            out[f"{name}/{mode}/w_grad"] = net.module.weight.grad.numpy()
            out[f"{name}/{mode}/b_grad"] = net.module.bias.grad.numpy()
    py = torch.tensor(PIXEL_LABELS)
    for name, (fn, opts) in PIXEL_LOSSES.items():
        crit = GlobalBatchLoss(fn)
        e = as_pixels(emb[sl]).clone().requires_grad_(True)
        value = crit(e, py[sl], **opts)
        value.backward()
        out[f"{name}/exact/value"] = value.item()
        out[f"{name}/exact/emb_grad"] = e.grad.reshape(e.shape[0], -1).numpy()
        net = DDP(model(w, bias))
        crit(as_pixels(net(x[sl])), py[sl], **opts).backward()
        out[f"{name}/exact/w_grad"] = net.module.weight.grad.numpy()
        out[f"{name}/exact/b_grad"] = net.module.bias.grad.numpy()
    # the module form and the general helpers
    crit = GlobalBatchLoss(losskit.torch.AdaSPLoss(temperature=0.1))
    out["module/value"] = crit(emb[sl], y[sl]).item()
    v = torch.tensor([1.0 + rank, 10.0], dtype=torch.float64, requires_grad=True)
    s = all_reduce_with_grad(v)
    (s * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    out["reduce/value"] = s.detach().numpy()
    out["reduce/grad"] = v.grad.numpy()
    # unequal sizes: rank 0 sends 3 rows, rank 1 sends 1
    u = emb[:3].clone() if rank == 0 else emb[3:4].clone()
    out["gather_uneven"] = all_gather_with_grad(u).numpy()
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    # Once per test session: under pytest-xdist the workers share the session's base
    # directory, and the first to take the lock runs the ranks for all (two concurrent
    # launches would only compete for the two cores and the ports).
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    outdir = base / "ddp"
    with FileLock(str(outdir) + ".lock"):
        if not (outdir / "done").exists():
            outdir.mkdir(exist_ok=True)
            env = dict(os.environ, OMP_NUM_THREADS="1")
            proc = subprocess.run(
                [sys.executable, __file__, str(_free_port()), str(outdir)],
                capture_output=True, text=True, timeout=120, env=env,
            )
            assert proc.returncode == 0, proc.stderr[-6000:]
            (outdir / "done").touch()
    return [dict(np.load(outdir / f"rank{r}.npz", allow_pickle=False)) for r in range(WORLD)]


def full_batch(fn, opts, view=lambda t: t, y=None):
    """Single-process reference: value, embedding gradient, linear-model gradients."""
    x, emb, w, bias, labels = data()
    y = labels if y is None else y
    e = emb.clone().requires_grad_(True)
    value = fn(view(e), y, **opts)
    value.backward()
    net = model(w, bias)
    fn(view(net(x)), y, **opts).backward()
    return value.item(), e.grad.numpy(), net.weight.grad.numpy(), net.bias.grad.numpy()


def local_anchor_objective(fn, opts):
    """Single-process reference for local_anchors: mean over ranks of each rank's loss of
    its anchors against all references (what DDP optimises in that mode)."""
    x, emb, w, bias, y = data()
    full = {p: v for p, v in _defaults(fn).items()}
    full.update(opts)

    def objective(e):
        vals = [ml.local_anchor_loss(fn, e[rows(r)], y[rows(r)], e, y, offset=rows(r).start, **full) for r in range(WORLD)]
        return vals, sum(vals) / WORLD

    e = emb.clone().requires_grad_(True)
    vals, obj = objective(e)
    obj.backward()
    net = model(w, bias)
    objective(net(x))[1].backward()
    return [v.item() for v in vals], e.grad.numpy(), net.weight.grad.numpy(), net.bias.grad.numpy()


def _defaults(fn):
    import inspect

    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


@pytest.mark.parametrize("name", list(LOSSES) + list(PIXEL_LOSSES))
def test_exact_mode_equals_single_process_full_batch(ranks, name):
    if name in PIXEL_LOSSES:
        fn, opts = PIXEL_LOSSES[name]
        value, g_emb, g_w, g_b = full_batch(fn, opts, as_pixels, torch.tensor(PIXEL_LABELS))
        # pooling matters: one rank's own batch gives another value
        _, emb, _, _, _ = data()
        local = fn(as_pixels(emb[rows(0)]), torch.tensor(PIXEL_LABELS[rows(0)]), **opts).item()
        assert not np.isclose(local, value, rtol=1e-6)
    else:
        fn, opts = LOSSES[name]
        value, g_emb, g_w, g_b = full_batch(fn, opts)
    for r in range(WORLD):
        res = ranks[r]
        np.testing.assert_allclose(res[f"{name}/exact/value"], value, rtol=1e-12)
        # each rank holds world_size x the full-batch gradient of its rows: DDP divides by it
        np.testing.assert_allclose(res[f"{name}/exact/emb_grad"] / WORLD, g_emb[rows(r)], rtol=1e-6, atol=1e-12)
        # after DDP's averaging: exactly the single-process parameter gradients
        np.testing.assert_allclose(res[f"{name}/exact/w_grad"], g_w, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(res[f"{name}/exact/b_grad"], g_b, rtol=1e-6, atol=1e-12)
    assert np.abs(g_w).max() > 1e-3  # the comparison is not vacuous


@pytest.mark.parametrize("name", ["adasp", "triplet", "ntxent", "circle"])
def test_local_anchors_mode_is_the_mean_of_per_rank_losses(ranks, name):
    fn, opts = LOSSES[name]
    vals, g_emb, g_w, g_b = local_anchor_objective(fn, opts)
    for r in range(WORLD):
        res = ranks[r]
        np.testing.assert_allclose(res[f"{name}/local_anchors/value"], vals[r], rtol=1e-12)
        np.testing.assert_allclose(res[f"{name}/local_anchors/emb_grad"] / WORLD, g_emb[rows(r)], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(res[f"{name}/local_anchors/w_grad"], g_w, rtol=1e-6, atol=1e-12)
    # documented as not identical to the full batch
    value = full_batch(fn, opts)[0]
    assert not np.isclose(np.mean(vals), value, rtol=1e-9)


def test_module_and_general_helpers(ranks):
    x, emb, w, bias, y = data()
    expected = losskit.adasp_loss(emb, y, temperature=0.1).item()
    for r in range(WORLD):
        res = ranks[r]
        np.testing.assert_allclose(res["module/value"], expected, rtol=1e-12)
        # sum over ranks of [1 + r, 10] = [3, 20]; d(sum_r (s . [1, 2]))/dv_r = 2 * [1, 2]
        np.testing.assert_allclose(res["reduce/value"], [3.0, 20.0])
        np.testing.assert_allclose(res["reduce/grad"], [2.0, 4.0])
        np.testing.assert_allclose(res["gather_uneven"], emb[:4].numpy())


def test_no_op_without_process_group():
    _, emb, _, _, y = data()
    crit = GlobalBatchLoss(losskit.nt_xent_loss, mode="local_anchors")
    assert crit(emb, y, temperature=0.3).item() == losskit.nt_xent_loss(emb, y, temperature=0.3).item()
    assert all_gather_with_grad(emb) is emb
    assert all_reduce_with_grad(emb, op="mean") is emb
    with pytest.raises(ValueError, match="mode: expected one of 'exact', 'local_anchors', got 'fast'"):
        GlobalBatchLoss(losskit.adasp_loss, mode="fast")
    with pytest.raises(ValueError, match="op: expected one of 'sum', 'mean', got 'max'"):
        all_reduce_with_grad(emb, op="max")
    assert "mode='exact'" in repr(GlobalBatchLoss(losskit.torch.NTXentLoss()))


if __name__ == "__main__":
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(int(sys.argv[1]), sys.argv[2]), nprocs=WORLD, join=True)
