"""NWD, PIoU and the detection family beyond the case table (``tests/cases/detection.py``):
robustness (degenerate, identical, coincident, far-apart and huge boxes; half precision;
very negative logits), finite values and gradients; ``torch.compile(fullgraph=True)``;
NWD / PIoU as bases of the Inner-IoU / Focaler-IoU modifiers; COCO's sigmas; the
simulation's NWD / PIoU entries."""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

BOX_LOSSES = {
    "nwd": (losskit.nwd_loss, {"constant": 12.8}),
    "piou": (losskit.piou_loss, {}),
    "piou2": (losskit.piou_loss, {"version": 2}),
}

# xyxy (pred, target) pairs, each a case the IoU family's users report NaN for
SCENARIOS = {
    "zero-width": ([[1.0, 1.0, 1.0, 3.0]], [[0.0, 0.0, 2.0, 2.0]]),
    "zero-height-target": ([[0.0, 0.0, 2.0, 2.0]], [[0.5, 1.0, 2.5, 1.0]]),
    "zero-area-both": ([[1.0, 1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0, 1.0]]),
    "identical": ([[3.0, 4.0, 9.0, 7.0]], [[3.0, 4.0, 9.0, 7.0]]),
    "coincident-centres": ([[0.0, 0.0, 4.0, 2.0]], [[1.0, -1.0, 3.0, 3.0]]),
    "far-apart": ([[1000.0, 1000.0, 1001.0, 1002.0]], [[0.0, 0.0, 1.0, 1.0]]),
    "huge": ([[100.0, 200.0, 9000.0, 9500.0]], [[150.0, 100.0, 9900.0, 9800.0]]),
    "huge-far": ([[1e6, 1e6, 1.00001e6, 1.00002e6]], [[-1e6, -1e6, -0.99999e6, -0.99998e6]]),
    "inverted": ([[3.0, 3.0, 1.0, 1.0]], [[0.0, 0.0, 2.0, 2.0]]),
    "tiny": ([[0.0, 0.0, 1e-3, 1e-3]], [[2e-4, 1e-4, 1.1e-3, 9e-4]]),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16],
                         ids=["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("name", sorted(BOX_LOSSES))
def test_box_losses_finite_values_and_gradients(name, scenario, dtype):
    fn, opts = BOX_LOSSES[name]
    p_np, t_np = SCENARIOS[scenario]
    if dtype in (torch.float16, torch.bfloat16) and scenario.startswith("huge-far"):
        pytest.skip("1e6 is not representable to a pixel in half precision")
    p = torch.tensor(p_np, dtype=dtype, requires_grad=True)
    t = torch.tensor(t_np, dtype=dtype)
    out = fn(p, t, reduction="none", **opts)
    assert out.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    assert torch.isfinite(out).all(), out
    (g,) = torch.autograd.grad(out.sum(), p)
    assert torch.isfinite(g).all(), g


def _t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_identical_boxes():
    p = _t([[3.0, 4.0, 9.0, 7.0]]).requires_grad_(True)
    # NWD: only eps is left under the root, 1 - exp(-sqrt(eps) / C), with a zero gradient
    out = losskit.nwd_loss(p, p.detach(), constant=12.8, reduction="sum")
    assert float(out) == pytest.approx(-math.expm1(-math.sqrt(1e-7) / 12.8), rel=1e-12)
    (g,) = torch.autograd.grad(out, p)
    assert torch.all(g == 0)
    for version in (1, 2):
        out = losskit.piou_loss(p, p.detach(), version=version, reduction="sum")
        assert 0.0 <= float(out) < 1e-7
        (g,) = torch.autograd.grad(out, p)
        assert torch.isfinite(g).all()


def test_nwd_coincident_centres_depends_on_size_only():
    p = _t([[0.0, 0.0, 4.0, 2.0]])
    t = _t([[1.0, -1.0, 3.0, 3.0]])  # same centre (2, 1); widths 4 vs 2, heights 2 vs 4
    # W2^2 = (2^2 + 2^2) / 4 = 2
    assert float(losskit.nwd_loss(p, t, constant=1.0)) == pytest.approx(-math.expm1(-math.sqrt(2 + 1e-7)), rel=1e-12)


def test_nwd_has_a_gradient_without_overlap_where_iou_has_none():
    p = _t([[10.0, 0.0, 11.0, 1.0]]).requires_grad_(True)
    t = _t([[0.0, 0.0, 1.0, 1.0]])
    (g,) = torch.autograd.grad(losskit.nwd_loss(p, t, constant=12.8), p)
    assert g[0, 0] > 0 and g[0, 2] > 0  # moving left, toward the target, lowers the loss
    (gi,) = torch.autograd.grad(losskit.iou_loss(p, t), p)
    assert torch.all(gi == 0)


def test_nwd_far_apart_saturates_at_one():
    p, t = SCENARIOS["huge-far"]
    out = losskit.nwd_loss(_t(p), _t(t), constant=12.8)
    assert float(out) == 1.0


def test_piou_v2_vanishes_for_far_apart_boxes_and_peaks_at_medium_quality():
    t = _t([[0.0, 0.0, 1.0, 1.0]])
    shifts = torch.linspace(0.0, 30.0, 301, dtype=torch.float64)[:, None]
    p = t + torch.cat([shifts, torch.zeros_like(shifts), shifts, torch.zeros_like(shifts)], dim=1)
    v2 = losskit.piou_loss(p, t, version=2, reduction="none")
    assert float(v2[-1]) < 1e-5  # q = exp(-P) -> 0: the attention switches the loss off
    peak = int(torch.argmax(v2))
    assert 0 < peak < 300
    # the attention 3 x exp(-x^2) is largest at x = lam q = 1 / sqrt 2 (for fixed L_PIoU)
    x = 1.3 * torch.exp(-torch.tensor(0.5))
    assert float(3 * x * torch.exp(-x * x)) < 3 / math.sqrt(2 * math.e)


def test_piou_inverted_pred_is_pulled_toward_the_target():
    p = _t([[3.0, 3.0, 1.0, 1.0]]).requires_grad_(True)  # x2 < x1, y2 < y1
    t = _t([[0.0, 0.0, 2.0, 2.0]])
    (g,) = torch.autograd.grad(losskit.piou_loss(p, t), p)
    # corners move toward the target's: x1 3 -> 0 and x2 1 -> 2 (gradient signs)
    assert g[0, 0] > 0 and g[0, 2] < 0


# --------------------------------------------------------------------------- dense heads


@pytest.mark.parametrize("name", ["quality_focal_loss", "varifocal_loss"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["float32", "float16", "bfloat16"])
def test_score_losses_very_negative_and_huge_logits(name, dtype):
    """VarifocalNet #26: Inf for very negative logits. Finite everywhere here."""
    fn = getattr(losskit, name)
    x = torch.tensor([-1e4, -1e4, -200.0, -60000.0, 200.0, 6e4, 0.0], dtype=dtype, requires_grad=True)
    q = torch.tensor([0.0, 0.8, 1.0, 0.3, 0.0, 0.0, 0.5], dtype=dtype)
    out = fn(x, q, reduction="none")
    assert out.dtype == torch.float32 and torch.isfinite(out).all(), out
    (g,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(g).all(), g
    assert float(out[0]) == 0.0  # a confident, right negative costs nothing


def test_varifocal_positive_gradient_at_very_negative_logits_is_minus_q_squared():
    x = torch.tensor([-1e4], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.8], dtype=torch.float64)
    (g,) = torch.autograd.grad(losskit.varifocal_loss(x, q, reduction="sum"), x)
    # d/dx q (softplus(x) - q x) = q (sigmoid(x) - q) -> -q^2
    assert float(g) == pytest.approx(-0.64, rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["float32", "float16", "bfloat16"])
def test_dfl_huge_logits_and_half_precision(dtype):
    z = torch.tensor([[-6e4, 0.0, 6e4, 1.0], [3e4, 3e4, -3e4, 0.0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([1.5, 0.25], dtype=dtype)
    out = losskit.distribution_focal_loss(z, y, reg_max=4, reduction="none")
    assert out.dtype == torch.float32 and torch.isfinite(out).all(), out
    (g,) = torch.autograd.grad(out.sum(), z)
    assert torch.isfinite(g).all()


def test_dfl_minimum_is_the_two_bin_distribution_with_expectation_y():
    """The gradient vanishes where softmax(z) puts y_{i+1} - y on bin i and y - y_i on bin
    i + 1: the distribution whose expectation is y (GFL Sec. 3.3)."""
    y = 2.3
    s = np.full(6, 1e-12)
    s[2], s[3] = 0.7, 0.3
    z = torch.tensor(np.log(s / s.sum())[None], requires_grad=True)
    out = losskit.distribution_focal_loss(z, torch.tensor([y], dtype=torch.float64), reg_max=6)
    (g,) = torch.autograd.grad(out, z)
    assert float(g.abs().max()) < 1e-10
    assert float((torch.softmax(z, -1) * torch.arange(6)).sum()) == pytest.approx(y, rel=1e-9)


def test_dfl_does_not_modify_its_target():
    """ultralytics' DFLoss clamps its target in place (``clamp_``); this one does not."""
    y = torch.tensor([3.0, 5.0])
    losskit.distribution_focal_loss(torch.zeros(2, 4), y, reg_max=4, clamp=0.01)
    assert y.tolist() == [3.0, 5.0]


# --------------------------------------------------------------------------- pose


def test_coco_keypoint_sigmas():
    s = losskit.COCO_KEYPOINT_SIGMAS
    assert isinstance(s, tuple) and len(s) == 17
    tenths = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
    assert s == pytest.approx([v / 10 for v in tenths], abs=1e-15)
    assert losskit.detection.COCO_KEYPOINT_SIGMAS is s


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["float32", "float16", "bfloat16"])
def test_oks_robust(dtype):
    p = torch.tensor([[[0.0, 0.0], [1e4, -1e4], [5.0, 5.0]], [[2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]], dtype=dtype,
                     requires_grad=True)
    t = torch.tensor([[[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]], [[2.5, 2.0], [3.0, 3.0], [4.0, 4.0]]], dtype=dtype)
    vis = torch.tensor([[1, 2, 1], [0, 0, 0]])  # object 1: nothing visible
    area = torch.tensor([0.0, 100.0], dtype=dtype)  # object 0: zero area
    for scale in (False, True):
        out = losskit.keypoint_oks_loss(p, t, vis, area, sigmas=(0.025, 0.079, 0.107), scale_by_visible=scale,
                                        reduction="none")
        assert out.dtype == torch.float32 and torch.isfinite(out).all(), out
        assert float(out[0, 0]) == 0.0 and float(out[0, 1]) == 1.0  # zero area: 0 at d = 0, 1 elsewhere
        assert torch.all(out[1] == 0)
        (g,) = torch.autograd.grad(out.sum(), p)
        assert torch.isfinite(g).all()


# --------------------------------------------------------------------------- torch.compile

COMPILE = {
    "nwd_loss": lambda: ((torch.rand(8, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.rand(8, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0])), {"constant": 2.0}),
    "piou_loss": lambda: ((torch.rand(8, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.rand(8, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0])), {"version": 2}),
    "distribution_focal_loss": lambda: ((torch.randn(6, 4, 16), torch.rand(6, 4) * 15), {"reg_max": 16, "clamp": 0.01}),
    "quality_focal_loss": lambda: ((torch.randn(6, 5), torch.rand(6, 5)), {}),
    "varifocal_loss": lambda: ((torch.randn(6, 5), torch.rand(6, 5) * (torch.rand(6, 5) > 0.5)), {}),
    "keypoint_oks_loss": lambda: ((torch.randn(3, 17, 2) * 5, torch.randn(3, 17, 2) * 5, (torch.rand(3, 17) > 0.3).float(),
                                   torch.rand(3) * 100 + 10), {"sigmas": losskit.COCO_KEYPOINT_SIGMAS, "scale_by_visible": True}),
}


@pytest.mark.parametrize("name", sorted(COMPILE))
def test_torch_compile_fullgraph(name):
    torch.manual_seed(0)
    torch._dynamo.reset()
    fn = losskit.get(name).fn
    args, opts = COMPILE[name]()
    compiled = torch.compile(lambda *a: fn(*a, **opts), backend="aot_eager", fullgraph=True)
    x = args[0].clone().requires_grad_(True)
    out = compiled(x, *args[1:])
    (g,) = torch.autograd.grad(out, x)
    xe = args[0].clone().requires_grad_(True)
    ref = fn(xe, *args[1:], **opts)
    (ge,) = torch.autograd.grad(ref, xe)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g, ge, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- modifiers


MODIFIERS = {"inner": losskit.inner_iou_loss, "focaler": losskit.focaler_iou_loss}
P_MOD = np.array([[0.3, 0.1, 2.2, 1.7], [1.0, 2.0, 4.5, 3.1], [0.0, 0.0, 1.0, 1.0]])
T_MOD = np.array([[0.0, 0.5, 2.9, 2.4], [1.4, 1.6, 3.8, 3.9], [3.0, 3.0, 4.0, 4.0]])


def _piou_base(base):
    return {"piou": {}, "piou2": {"version": 2}}[base]


@pytest.mark.parametrize("base", ["piou", "piou2"])
@pytest.mark.parametrize("modifier", sorted(MODIFIERS))
def test_piou_as_modifier_base(modifier, base):
    fn = MODIFIERS[modifier]
    p, t = torch.tensor(P_MOD), torch.tensor(T_MOD)
    base_loss = losskit.piou_loss(p, t, reduction="none", **_piou_base(base))
    iou = losskit.box_iou(p, t)
    if modifier == "inner":
        # ratio = 1 is the base loss; ratio = 0.5: L_X + IoU - IoU of the half-size boxes
        torch.testing.assert_close(fn(p, t, base=base, ratio=1.0, reduction="none"), base_loss)
        c = (p[:, :2] + p[:, 2:]) / 2, (t[:, :2] + t[:, 2:]) / 2
        half_p = torch.cat([c[0] - (p[:, 2:] - p[:, :2]) / 4, c[0] + (p[:, 2:] - p[:, :2]) / 4], dim=1)
        half_t = torch.cat([c[1] - (t[:, 2:] - t[:, :2]) / 4, c[1] + (t[:, 2:] - t[:, :2]) / 4], dim=1)
        expected = base_loss + iou - losskit.box_iou(half_p, half_t)
        torch.testing.assert_close(fn(p, t, base=base, ratio=0.5, reduction="none"), expected)
    else:
        torch.testing.assert_close(fn(p, t, base=base, d=0.0, u=1.0, reduction="none"), base_loss)
        expected = base_loss + iou - torch.clamp((iou - 0.1) / 0.6, 0.0, 1.0)
        torch.testing.assert_close(fn(p, t, base=base, d=0.1, u=0.7, reduction="none"), expected)


@pytest.mark.parametrize("modifier", sorted(MODIFIERS))
def test_nwd_is_not_a_modifier_base(modifier):
    """Inner-IoU and Focaler-IoU re-map a loss's IoU term (L_X + IoU - IoU'); NWD has none,
    so the modifiers are not defined on it and ``base="nwd"`` stays an error."""
    fn = MODIFIERS[modifier]
    with pytest.raises(ValueError, match="base: expected one of"):
        fn(P_MOD, T_MOD, base="nwd")


# --------------------------------------------------------------------------- simulation


def test_simulation_runs_nwd_and_both_piou_versions():
    from losskit.experiments import box_simulation as sim

    runs = {name: sim.simulate(name, points=2, iterations=100, seed=0) for name in ("nwd", "piou", "piou2")}
    assert [r.loss for r in runs.values()] == ["nwd_loss", "piou_loss", "piou_loss(version=2)"]
    for name, r in runs.items():
        assert np.all(np.isfinite(r.errors)) and r.nan_cases == 0, name
    for name in ("nwd", "piou"):
        assert runs[name].errors[-1] < 0.2 * runs[name].errors[0], name
    # PIoU v2's attention is differentiated (the authors' code): for poor anchors (P large)
    # the loss falls as the boxes move apart, and most of the simulation's anchors start
    # there, so its total error grows (see piou_loss's Notes).
    assert runs["piou2"].errors[-1] > runs["piou2"].errors[0]
    assert not np.array_equal(runs["piou"].errors, runs["piou2"].errors)


def test_simulation_nwd_constant_can_be_set():
    from losskit.experiments import box_simulation as sim

    a = sim.simulate("nwd", points=1, iterations=5, seed=0)
    b = sim.simulate("nwd", points=1, iterations=5, seed=0, options={"constant": 4.0})
    assert not np.array_equal(a.errors, b.errors)
