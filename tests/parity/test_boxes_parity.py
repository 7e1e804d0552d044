"""Parity of the box losses with the code people use, on random boxes.

Peers (versions read from the installed distributions and shown in the test ids):

* torchvision (``torchvision.ops``): ``generalized_box_iou_loss``, ``distance_box_iou_loss``,
  ``complete_box_iou_loss`` -- values and gradients, float32 and float64.
* ultralytics (``ultralytics.utils.metrics.bbox_iou`` with ``GIoU`` / ``DIoU`` / ``CIoU``,
  ``xywh=False`` on xyxy boxes and ``xywh=True`` on centre-size boxes): it returns the
  *similarity* with a trailing dimension of 1, so the loss is ``1 - bbox_iou(...)[..., 0]``.

Both are loaded from their installed source files by ``tests/peers.py`` (their package
imports fail here); no peer code is copied.

Where eps enters differs a little: torchvision's CIoU has no eps in ``w / h``; ultralytics
adds eps to the heights (also in the areas). On boxes of size >= 1 these are ~1e-7 relative,
hence the tolerances below. The known differences on degenerate boxes are tested at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

from peers import load_torchvision_box_losses, load_ultralytics_bbox_iou  # noqa: E402


TV = load_torchvision_box_losses()
UL = load_ultralytics_bbox_iou()
TV_ID = f"torchvision-{TV.version}" if TV else "torchvision-missing"
UL_ID = f"ultralytics-{UL.version}" if UL else "ultralytics-missing"


def random_boxes(n, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 100.0, size=(n, 2))
    wh = rng.uniform(1.0, 60.0, size=(n, 2))
    pred = np.concatenate([xy, xy + wh], -1)
    # targets: half near the predictions (overlapping), half anywhere (mostly disjoint)
    txy = np.where(np.arange(n)[:, None] % 2 == 0, xy + rng.uniform(-15, 15, (n, 2)), rng.uniform(0, 150, (n, 2)))
    twh = rng.uniform(1.0, 60.0, size=(n, 2))
    return pred, np.concatenate([txy, txy + twh], -1)


DTYPES = {"float32": (torch.float32, 2e-5, 1e-6), "float64": (torch.float64, 1e-6, 1e-9)}
KINDS = {"giou": losskit.giou_loss, "diou": losskit.diou_loss, "ciou": losskit.ciou_loss}


@pytest.mark.skipif(TV is None, reason="torchvision is not installed")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("peer", [TV_ID])
def test_torchvision_values_and_gradients(peer, kind, dtype):
    tdt, rtol, atol = DTYPES[dtype]
    pred, target = random_boxes(64, seed=1)
    outs, grads = [], []
    for fn in (getattr(TV, kind), KINDS[kind]):
        p = torch.tensor(pred, dtype=tdt, requires_grad=True)
        t = torch.tensor(target, dtype=tdt)
        out = fn(p, t, reduction="none", eps=1e-7)
        (g,) = torch.autograd.grad(out.sum(), p)
        outs.append(out.detach())
        grads.append(g)
    msg = f"{kind} vs {peer} ({dtype})"
    torch.testing.assert_close(outs[1], outs[0], rtol=rtol, atol=atol, msg=lambda m: f"{msg}: {m}")
    torch.testing.assert_close(grads[1], grads[0], rtol=10 * rtol, atol=10 * atol, msg=lambda m: f"{msg} grad: {m}")
    # the reductions agree too
    for red in ("mean", "sum"):
        a = getattr(TV, kind)(torch.tensor(pred, dtype=tdt), torch.tensor(target, dtype=tdt), reduction=red)
        b = KINDS[kind](torch.tensor(pred, dtype=tdt), torch.tensor(target, dtype=tdt), reduction=red)
        torch.testing.assert_close(b, a, rtol=rtol, atol=atol * 64)


@pytest.mark.skipif(TV is None, reason="torchvision is not installed")
@pytest.mark.parametrize("peer", [TV_ID])
def test_torchvision_half_input_is_upcast_like_ours(peer):
    pred, target = random_boxes(16, seed=2)
    p, t = torch.tensor(pred, dtype=torch.float16), torch.tensor(target, dtype=torch.float16)
    theirs = TV.giou(p, t, reduction="none")
    ours = losskit.giou_loss(p, t, reduction="none")
    assert theirs.dtype == ours.dtype == torch.float32, peer
    torch.testing.assert_close(ours, theirs, rtol=2e-5, atol=1e-6)


@pytest.mark.skipif(UL is None, reason="ultralytics is not installed")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("peer", [UL_ID])
def test_ultralytics_bbox_iou(peer, kind, dtype):
    tdt, rtol, atol = DTYPES[dtype]
    pred, target = random_boxes(64, seed=3)
    flag = {"giou": "GIoU", "diou": "DIoU", "ciou": "CIoU"}[kind]
    msg = f"{kind} vs {peer} bbox_iou ({dtype})"
    # xyxy boxes (xywh=False)
    p = torch.tensor(pred, dtype=tdt, requires_grad=True)
    t = torch.tensor(target, dtype=tdt)
    sim = UL.bbox_iou(p, t, xywh=False, **{flag: True})
    assert sim.shape == (64, 1)  # the similarity, with a trailing dimension
    theirs = 1.0 - sim[..., 0]
    (g_theirs,) = torch.autograd.grad(theirs.sum(), p)
    q = torch.tensor(pred, dtype=tdt, requires_grad=True)
    ours = KINDS[kind](q, t, reduction="none")
    (g_ours,) = torch.autograd.grad(ours.sum(), q)
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=rtol, atol=atol, msg=lambda m: f"{msg}: {m}")
    torch.testing.assert_close(g_ours, g_theirs, rtol=10 * rtol, atol=10 * atol, msg=lambda m: f"{msg} grad: {m}")
    # centre-size boxes (ultralytics' xywh=True means centre x, centre y, w, h)
    pc = losskit.box_convert(torch.tensor(pred, dtype=tdt), "xyxy", "cxcywh")
    tc = losskit.box_convert(t, "xyxy", "cxcywh")
    theirs_c = 1.0 - UL.bbox_iou(pc, tc, xywh=True, **{flag: True})[..., 0]
    ours_c = KINDS[kind](pc, tc, fmt="cxcywh", reduction="none")
    torch.testing.assert_close(ours_c, theirs_c, rtol=rtol, atol=atol, msg=lambda m: f"{msg} cxcywh: {m}")


@pytest.mark.skipif(UL is None, reason="ultralytics is not installed")
@pytest.mark.parametrize("peer", [UL_ID])
def test_ultralytics_plain_iou_matches_box_iou(peer):
    pred, target = random_boxes(32, seed=4)
    p, t = torch.tensor(pred), torch.tensor(target)
    theirs = UL.bbox_iou(p, t, xywh=False)[..., 0]
    torch.testing.assert_close(losskit.box_iou(p, t), theirs, rtol=1e-6, atol=1e-9, msg=peer)


@pytest.mark.skipif(TV is None, reason="torchvision is not installed")
@pytest.mark.parametrize("peer", [TV_ID])
def test_known_differences_on_degenerate_boxes(peer):
    """Where the peer gives NaN we give a finite value; where it gives a convention, ours
    is the same convention (the module docstring of losskit.boxes.losses says which)."""
    # zero-height prediction: torchvision's CIoU divides by h unguarded: atan(3 / 0) =
    # atan(inf) = pi/2 is the right value, but the gradient of w / h is inf * 0 = NaN
    p = torch.tensor([[0.0, 1.0, 3.0, 1.0]], requires_grad=True)
    t = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    theirs = TV.ciou(p, t, reduction="none")
    (g_theirs,) = torch.autograd.grad(theirs.sum(), p)
    ours = losskit.ciou_loss(p, t, reduction="none")
    (g_ours,) = torch.autograd.grad(ours.sum(), p)
    torch.testing.assert_close(ours, theirs.detach(), rtol=1e-6, atol=1e-7)
    assert torch.isnan(g_theirs).any(), f"{peer} no longer gives a NaN gradient here; update this test"
    assert torch.isfinite(g_ours).all()
    # a point prediction: atan(0 / 0) -> NaN value in torchvision, finite here
    pt = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    assert torch.isnan(TV.ciou(pt, t, reduction="none")).all(), peer
    assert torch.isfinite(losskit.ciou_loss(pt, t, reduction="none")).all()
    # a degenerate [0,0,0,0] box with itself: GIoU loss 1 in torchvision (#7746) and here
    z = torch.zeros(1, 4)
    assert float(TV.giou(z, z, reduction="none")) == pytest.approx(1.0)
    assert float(losskit.giou_loss(z, z, reduction="none")) == pytest.approx(1.0)
    # identical boxes: 0 for both
    b = torch.tensor([[1.0, 2.0, 4.0, 6.0]])
    assert float(TV.ciou(b, b)) == pytest.approx(0.0, abs=1e-6)
    assert float(losskit.ciou_loss(b, b)) == pytest.approx(0.0, abs=1e-6)
