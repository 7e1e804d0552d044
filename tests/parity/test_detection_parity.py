"""Parity of the detection round-two losses with the code people use, and with independent
float64 formulas.

* ultralytics (``ultralytics/utils/loss.py``): ``DFLoss``, ``VarifocalLoss`` and
  ``KeypointLoss`` -- values and gradients, float32 and float64; ``OKS_SIGMA`` from
  ``ultralytics/utils/metrics.py``. The file is executed from the installed distribution by
  ``tests/peers.py`` (``load_ultralytics_losses``, shared with ``benchmarks/bench_detection.py``).
  No peer code is copied.
* NWD and PIoU have no installable peer: they are checked against the plain float64 NumPy
  formulas written below from the papers, box by box.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

from peers import load_ultralytics_losses  # noqa: E402


UL = load_ultralytics_losses()
UL_ID = f"ultralytics-{UL.version}" if UL else "ultralytics-missing"
needs_ul = pytest.mark.skipif(UL is None, reason="ultralytics is not installed")
DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-12)


def _value_and_grad(fn, x, *args):
    x = x.detach().clone().requires_grad_(True)
    out = fn(x, *args)
    (g,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), g


# --------------------------------------------------------------------------- DFL


@needs_ul
@DTYPES
@pytest.mark.parametrize("peer", [UL_ID])
def test_dfl_equals_ultralytics_dfloss(peer, dtype):
    """ultralytics' DFLoss on (n * 4, 16) logits and (n, 4) targets returns the mean over the
    four sides, (n, 1); it clamps the target to [0, 15 - 0.01] (clamp=0.01 here)."""
    g = torch.Generator().manual_seed(0)
    n, reg_max = 64, 16
    z = torch.randn(n * 4, reg_max, generator=g, dtype=dtype) * 3
    y = torch.rand(n, 4, generator=g, dtype=dtype) * 15
    y[0] = torch.tensor([0.0, 15.0, 14.995, 16.3], dtype=dtype)  # the edges, and one past the last bin
    peer_fn = UL.DFLoss(reg_max)
    pv, pg = _value_and_grad(lambda a, t: peer_fn(a, t.clone()), z, y)

    def ours(a, t):
        per_side = losskit.distribution_focal_loss(a.view(n, 4, reg_max), t, reg_max=reg_max, clamp=0.01,
                                                   reduction="none")
        return per_side.mean(-1, keepdim=True)

    ov, og = _value_and_grad(ours, z, y)
    assert pv.shape == ov.shape == (n, 1)
    torch.testing.assert_close(ov, pv, **_tol(dtype))
    torch.testing.assert_close(og, pg, **_tol(dtype))
    # BboxLoss's weighting: sum(dfl * score) / score_sum is the weighted mean's numerator
    score = torch.rand(n, 1, generator=g, dtype=dtype)
    ours_w = losskit.distribution_focal_loss(z.view(n, 4, reg_max), y, reg_max=reg_max, clamp=0.01,
                                             weight=score.expand(n, 4) / 4, reduction="sum")
    torch.testing.assert_close(ours_w, (peer_fn(z, y.clone()) * score).sum(), **_tol(dtype))


@needs_ul
@pytest.mark.parametrize("peer", [UL_ID])
def test_dfl_without_clamp_equals_ultralytics_inside_the_clamp(peer):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(40, 16, generator=g, dtype=torch.float64)
    y = torch.rand(10, 4, generator=g, dtype=torch.float64) * 14.99
    ours = losskit.distribution_focal_loss(z.view(10, 4, 16), y, reg_max=16, reduction="none").mean(-1, keepdim=True)
    torch.testing.assert_close(ours, UL.DFLoss(16)(z, y.clone()), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- Varifocal


@needs_ul
@DTYPES
@pytest.mark.parametrize("peer", [UL_ID])
def test_varifocal_equals_ultralytics(peer, dtype):
    """ultralytics' VarifocalLoss(pred_score, gt_score, label) with gt_score = label * q is
    ``(bce * weight).mean(1).sum()`` over (B, anchors, C): reduction="none", then the same."""
    g = torch.Generator().manual_seed(2)
    b, a, c = 2, 50, 6
    x = torch.randn(b, a, c, generator=g, dtype=dtype) * 4
    x[0, 0, :3] = torch.tensor([-60.0, 40.0, -15.0], dtype=dtype)
    label = (torch.rand(b, a, c, generator=g) < 0.2).to(dtype)
    q = label * (0.05 + 0.95 * torch.rand(b, a, c, generator=g, dtype=dtype))
    peer_fn = UL.VarifocalLoss(gamma=2.0, alpha=0.75)
    pv, pg = _value_and_grad(lambda s: peer_fn(s, q, label), x)
    ov, og = _value_and_grad(lambda s: losskit.varifocal_loss(s, q, reduction="none").mean(1).sum(), x)
    # ultralytics computes the cross-entropy in float32 whatever the input (`.float()`):
    # float64 agrees to float32 precision only.
    torch.testing.assert_close(ov, pv.to(ov.dtype), **_tol(torch.float32))
    torch.testing.assert_close(og, pg.to(og.dtype), **_tol(torch.float32))


# --------------------------------------------------------------------------- keypoints


@needs_ul
@pytest.mark.parametrize("peer", [UL_ID])
def test_coco_sigmas_equal_ultralytics_oks_sigma(peer):
    np.testing.assert_allclose(losskit.COCO_KEYPOINT_SIGMAS, UL.OKS_SIGMA, rtol=1e-7)


@needs_ul
@DTYPES
@pytest.mark.parametrize("peer", [UL_ID])
def test_keypoint_oks_equals_ultralytics_keypoint_loss(peer, dtype):
    """ultralytics' KeypointLoss(pred_kpts, gt_kpts, kpt_mask, area) with the (n, K, 3)
    keypoints, a boolean mask and (n, 1) areas is ``scale_by_visible=True`` with
    ``reduction="mean"`` on the (x, y) channels."""
    g = torch.Generator().manual_seed(3)
    n, k = 12, 17
    gt = torch.rand(n, k, 3, generator=g, dtype=dtype) * 100
    pred = gt + torch.randn(n, k, 3, generator=g, dtype=dtype) * 6
    mask = torch.rand(n, k, generator=g) > 0.35
    mask[0] = False  # an object with no visible keypoint
    area = torch.rand(n, 1, generator=g, dtype=dtype) * 2000 + 50
    # the same sigmas, in the keypoints' dtype (a float32 (2 sigma)^2 would round the peer's
    # float64 result to float32 precision)
    sig = torch.from_numpy(UL.OKS_SIGMA).to(dtype)
    peer_fn = UL.KeypointLoss(sigmas=sig)
    pv, pg = _value_and_grad(lambda p: peer_fn(p, gt, mask, area), pred)
    ov, og = _value_and_grad(
        lambda p: losskit.keypoint_oks_loss(p[..., :2], gt[..., :2], mask, area[:, 0], sigmas=sig,
                                            scale_by_visible=True), pred)
    # ultralytics' factor K / (count + 1e-9) is float32 whatever the input (an integer count
    # plus a Python float): float64 agrees to float32 precision only.
    torch.testing.assert_close(ov, pv.to(ov.dtype), **_tol(torch.float32))
    torch.testing.assert_close(og, pg, **_tol(torch.float32))


# --------------------------------------------------------------------------- independent formulas


def _random_pairs(n, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 50.0, size=(2, n, 2))
    wh = rng.uniform(0.5, 30.0, size=(2, n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=-1)
    # a few overlapping, contained and identical pairs among the random ones
    boxes[1, :5] = boxes[0, :5] + rng.uniform(-2.0, 2.0, size=(5, 4))
    boxes[1, 5] = boxes[0, 5]
    boxes[1, 6] = boxes[0, 6] * 0.5 + 10.0
    boxes[1, 6, 2:] = np.maximum(boxes[1, 6, 2:], boxes[1, 6, :2] + 0.5)
    boxes[1, :5, 2:] = np.maximum(boxes[1, :5, 2:], boxes[1, :5, :2] + 0.1)
    return boxes[0], boxes[1]


def nwd_reference(p, t, constant, eps=1e-7):
    """NWD straight from Wang et al. (2021), Sec. 3: a box is N((cx, cy), diag(w^2/4, h^2/4));
    W2^2 = ||(cx_a, cy_a, w_a/2, h_a/2) - (cx_b, cy_b, w_b/2, h_b/2)||^2; loss 1 - exp(-W2 / C)
    (eps under the root, as the authors' code)."""
    out = []
    for (x1, y1, x2, y2), (u1, v1, u2, v2) in zip(p, t):
        a = np.array([(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2])
        b = np.array([(u1 + u2) / 2, (v1 + v2) / 2, (u2 - u1) / 2, (v2 - v1) / 2])
        w2 = float(np.sum((a - b) ** 2))
        out.append(1.0 - math.exp(-math.sqrt(w2 + eps) / constant))
    return np.array(out)


def piou_reference(p, t, version=1, lam=1.3, eps=1e-7):
    """PIoU straight from Liu et al. (2024): P = ((|dx1| + |dx2|) / w_gt + (|dy1| + |dy2|) / h_gt) / 4,
    L = 1 - IoU + 1 - exp(-P^2); v2: q = exp(-P), L_v2 = 3 (lam q) exp(-(lam q)^2) L."""
    out = []
    for (x1, y1, x2, y2), (u1, v1, u2, v2) in zip(p, t):
        iw = max(0.0, min(x2, u2) - max(x1, u1))
        ih = max(0.0, min(y2, v2) - max(y1, v1))
        inter = iw * ih
        union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
        iou = inter / (union + eps)
        wg, hg = u2 - u1, v2 - v1
        pf = ((abs(x1 - u1) + abs(x2 - u2)) / (wg + eps) + (abs(y1 - v1) + abs(y2 - v2)) / (hg + eps)) / 4
        loss = 1.0 - iou + 1.0 - math.exp(-pf * pf)
        if version == 2:
            x = lam * math.exp(-pf)
            loss = 3.0 * x * math.exp(-x * x) * loss
        out.append(loss)
    return np.array(out)


@pytest.mark.parametrize("fmt", ["xyxy", "cxcywh"])
@pytest.mark.parametrize("constant", [1.0, 12.8])
def test_nwd_equals_independent_formula(fmt, constant):
    p, t = _random_pairs(300, seed=4)
    expected = nwd_reference(p, t, constant)
    args = (losskit.box_convert(p, "xyxy", fmt), losskit.box_convert(t, "xyxy", fmt))
    np.testing.assert_allclose(losskit.nwd_loss(*args, constant=constant, fmt=fmt, reduction="none"), expected,
                               rtol=1e-12, atol=1e-14)
    out32 = losskit.nwd_loss(torch.tensor(args[0], dtype=torch.float32), torch.tensor(args[1], dtype=torch.float32),
                             constant=constant, fmt=fmt, reduction="none")
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("version, lam", [(1, 1.3), (2, 1.3), (2, 0.7)])
def test_piou_equals_independent_formula(version, lam):
    p, t = _random_pairs(300, seed=5)
    expected = piou_reference(p, t, version, lam)
    np.testing.assert_allclose(losskit.piou_loss(p, t, version=version, lam=lam, reduction="none"), expected,
                               rtol=1e-12, atol=1e-14)
    out32 = losskit.piou_loss(torch.tensor(p, dtype=torch.float32), torch.tensor(t, dtype=torch.float32),
                              version=version, lam=lam, reduction="none")
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-4, atol=1e-5)
