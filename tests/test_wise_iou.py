"""Wise-IoU's state: the functional running-mean helper (NumPy / torch / JAX, under jit),
the paper's momentum rule, and ``losskit.torch.WIoULoss`` with its ``iou_mean`` buffer
(updated before use, in training mode only, saved in ``state_dict``), which valid use can
never make invalid (issue 20, class 10).

Expected values are derived by hand from the update rule
``mean <- (1 - m) mean + m batch_mean`` (Tong et al. 2023, arXiv:2301.10051).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from losskit.boxes import WIOU_DEFAULT_MOMENTUM, wiou_momentum

# Box pair S: pred [1,0,3,2], target [0,0,2,2]: IoU 1/3 (L_IoU 2/3); rho^2 = 1, c^2 = 13.
# Box pair Q: pred [0,0,2,2], target [0,0,1,1]: IoU 1/4 (L_IoU 3/4); rho^2 = .5, c^2 = 8.
PRED = np.array([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
TARGET = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
L_IOU = np.array([2 / 3, 3 / 4])
V1 = L_IOU * np.exp([1 / 13, 0.5 / 8])


def test_update_mean_numbers_and_arrays(xp):
    # numbers: 0.9 * 1 + 0.1 * 0.5
    assert losskit.wiou_update_mean(1.0, 0.5, momentum=0.1) == pytest.approx(0.95)
    # array batch: mean(0.2, 0.4) = 0.3 -> 0.5 * 1 + 0.5 * 0.3
    out = xp.call(lambda b: losskit.wiou_update_mean(1.0, b, momentum=0.5), xp.asarray(np.array([0.2, 0.4])))
    assert tuple(out.shape) == ()
    xp.assert_close(out, 0.65)
    # array mean and array batch: 0.75 * 0.8 + 0.25 * 0.3
    out = xp.call(
        lambda m, b: losskit.wiou_update_mean(m, b, momentum=0.25),
        xp.asarray(np.array(0.8)),
        xp.asarray(np.array([[0.2], [0.4]])),
    )
    xp.assert_close(out, 0.675)
    # an empty batch carries no information: the mean is unchanged
    out = xp.call(lambda b: losskit.wiou_update_mean(0.7, b, momentum=0.5), xp.asarray(np.zeros((0,))))
    xp.assert_close(out, 0.7)


def test_update_mean_validation():
    with pytest.raises(ValueError, match="momentum: expected a number <= 1.0, got 1.5"):
        losskit.wiou_update_mean(1.0, np.ones(2), momentum=1.5)
    with pytest.raises(TypeError, match="iou_mean: expected a real number, got str"):
        losskit.wiou_update_mean("1", np.ones(2))


def test_update_mean_is_detached():
    torch = pytest.importorskip("torch")
    batch = torch.tensor([0.2, 0.4], requires_grad=True)
    out = losskit.wiou_update_mean(torch.tensor(1.0), batch, momentum=0.5)
    assert not out.requires_grad
    assert out.item() == pytest.approx(0.65)


def test_momentum_rule():
    # m = 1 - 0.05^(1/(n t)): after n t updates the initial value weighs (1 - m)^(n t) = 0.05
    m = wiou_momentum(100, 3)
    assert (1 - m) ** 300 == pytest.approx(0.05)
    assert WIOU_DEFAULT_MOMENTUM == pytest.approx(1 - 0.05 ** (1 / (890 * 34)))
    assert 9.8e-5 < WIOU_DEFAULT_MOMENTUM < 1.0e-4
    with pytest.raises(ValueError, match="batches_per_epoch: expected a number > 0.0, got 0"):
        wiou_momentum(0, 3)


def test_iou_mean_as_array_equals_number(xp):
    p, t = xp.asarray(PRED), xp.asarray(TARGET)
    a = xp.call(lambda p, t: losskit.wiou_loss(p, t, version=3, iou_mean=0.6, reduction="none"), p, t)
    m = xp.asarray(np.array(0.6))
    b = xp.call(lambda p, t, m: losskit.wiou_loss(p, t, version=3, iou_mean=m, reduction="none"), p, t, m)
    xp.assert_close(b, xp.np(a))
    # and the value from the formula: r = beta / (delta alpha^(beta - delta)), beta = L_IoU / 0.6
    beta = L_IOU / 0.6
    xp.assert_close(a, beta / (3.0 * 1.9 ** (beta - 3.0)) * V1, rtol=1e-5, atol=1e-6)


def test_v2_value_and_default_batch_mean():
    # v2: (L_IoU / mean)^0.5 * v1
    out = losskit.wiou_loss(PRED, TARGET, version=2, iou_mean=0.5, reduction="none")
    np.testing.assert_allclose(out, np.sqrt(L_IOU / 0.5) * V1, rtol=1e-6)
    # no iou_mean: the batch's own mean L_IoU (17/24) normalises
    out = losskit.wiou_loss(PRED, TARGET, version=2, reduction="none")
    np.testing.assert_allclose(out, np.sqrt(L_IOU / (17 / 24)) * V1, rtol=1e-6)
    # v1 ignores iou_mean
    np.testing.assert_allclose(
        losskit.wiou_loss(PRED, TARGET, iou_mean=0.1, reduction="none"), V1, rtol=1e-6
    )


def test_v1_ignores_iou_mean_as_a_modifier_base_too():
    # wiou_loss v1 ignores iou_mean (even a zero array, which v2/v3 reject); Inner-IoU with
    # ratio 1 and Focaler-IoU on [0, 1] are their base loss, so they must ignore it as well.
    zero = np.array(0.0)
    np.testing.assert_allclose(losskit.wiou_loss(PRED, TARGET, iou_mean=zero, reduction="none"), V1, rtol=1e-6)
    for out in (
        losskit.inner_iou_loss(PRED, TARGET, base="wiou", ratio=1.0, base_options={"iou_mean": zero}, reduction="none"),
        losskit.focaler_iou_loss(PRED, TARGET, base="wiou", d=0.0, u=1.0, base_options={"iou_mean": zero}, reduction="none"),
    ):
        np.testing.assert_allclose(out, V1, rtol=1e-6)
    with pytest.raises(ValueError, match="iou_mean: expected a positive running mean"):
        losskit.inner_iou_loss(PRED, TARGET, base="wiou", base_options={"version": 3, "iou_mean": zero})


def test_jax_training_state_under_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def step(p, t, mean):
        mean = losskit.wiou_update_mean(mean, 1.0 - losskit.box_iou(p, t), momentum=0.5)
        value, grad = jax.value_and_grad(lambda q: losskit.wiou_loss(q, t, version=3, iou_mean=mean))(p)
        return value, grad, mean

    p, t = jnp.asarray(PRED), jnp.asarray(TARGET)
    mean = jnp.asarray(1.0, dtype=jnp.float64)
    expected = 1.0
    for _ in range(3):
        value, grad, mean = step(p, t, mean)
        expected = 0.5 * expected + 0.5 * L_IOU.mean()  # updated before use
        beta = L_IOU / expected
        ref = np.mean(beta / (3.0 * 1.9 ** (beta - 3.0)) * V1)
        assert float(mean) == pytest.approx(expected, rel=1e-6)
        assert float(value) == pytest.approx(ref, rel=1e-6)
        assert np.all(np.isfinite(np.asarray(grad)))


# ---------------------------------------------------------------------------------------
# losskit.torch.WIoULoss
# ---------------------------------------------------------------------------------------


def test_module_updates_before_use_in_training_only():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    crit = lt.WIoULoss(momentum=0.5, reduction="none")
    assert crit.iou_mean.item() == 1.0 and "iou_mean" in crit.state_dict()
    p = torch.tensor(PRED, requires_grad=True)
    t = torch.tensor(TARGET)
    expected = 1.0
    for _ in range(2):
        out = crit(p, t)
        expected = 0.5 * expected + 0.5 * L_IOU.mean()
        assert crit.iou_mean.item() == pytest.approx(expected, rel=1e-6)
        beta = L_IOU / expected
        np.testing.assert_allclose(out.detach().numpy(), beta / (3.0 * 1.9 ** (beta - 3.0)) * V1, rtol=1e-6)
        out.sum().backward()
        assert torch.isfinite(p.grad).all()
        assert not crit.iou_mean.requires_grad
    # eval: read, never written
    crit.eval()
    before = crit.iou_mean.clone()
    out_eval = crit(p, t)
    assert torch.equal(crit.iou_mean, before)
    ref = losskit.wiou_loss(p, t, version=3, iou_mean=float(before), reduction="none")
    torch.testing.assert_close(out_eval, ref)


def test_module_state_dict_round_trip_and_v1_keeps_no_state():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    a = lt.WIoULoss(momentum=0.3)
    p, t = torch.tensor(PRED), torch.tensor(TARGET)
    a(p, t)
    b = lt.WIoULoss(momentum=0.3)
    b.load_state_dict(a.state_dict())
    assert b.iou_mean.item() == pytest.approx(0.7 + 0.3 * L_IOU.mean())
    torch.testing.assert_close(b(p, t), a(p, t))  # same state -> same update -> same loss
    v1 = lt.WIoULoss(version=1, momentum=0.3)
    v1(p, t)
    assert v1.iou_mean.item() == 1.0  # v1 does not normalise, nothing to track
    torch.testing.assert_close(v1(p, t), losskit.wiou_loss(p, t))
    r = repr(lt.WIoULoss(version=2, gamma=0.7))
    for text in ("version=2", "gamma=0.7", "alpha=1.9", "delta=3.0", "momentum=", "reduction='mean'"):
        assert text in r
    with pytest.raises(ValueError, match="version: expected one of 1, 2, 3, got 0"):
        lt.WIoULoss(version=0)
    with pytest.raises(ValueError, match="momentum: expected a number <= 1.0, got 2"):
        lt.WIoULoss(momentum=2)


def test_module_float64_and_half_inputs():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    crit = lt.WIoULoss()
    for dtype in (torch.float64, torch.float16, torch.bfloat16):
        p = torch.tensor(PRED, dtype=dtype, requires_grad=True)
        out = crit(p, torch.tensor(TARGET, dtype=dtype))
        out.backward()
        assert out.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
        assert torch.isfinite(p.grad).all()
    assert crit.iou_mean.dtype == torch.float32 and math.isfinite(crit.iou_mean.item())


# ---------------------------------------------------------------------------------------
# issue 20, class 10: valid use never makes the state invalid
# ---------------------------------------------------------------------------------------


def test_momentum_one_with_perfect_batches_keeps_a_valid_state():
    """momentum=1 and a perfect batch (IoU loss 0) used to set the running mean to 0, and
    the module then raised on its own state. The update keeps the mean at least
    WIOU_MEAN_FLOOR (2^-126), and the loss (which floors the mean at eps anyway) is 0 with a
    finite gradient, on every later call."""
    torch = pytest.importorskip("torch")
    import losskit.torch as lt
    from losskit.boxes.wise import WIOU_MEAN_FLOOR

    crit = lt.WIoULoss(momentum=1.0)
    # boxes of 1e6 px^2, predicted exactly: 1 - IoU = eps / area rounds to exactly 0 in float32
    big = TARGET * 1000.0
    assert float(losskit.iou_loss(torch.tensor(big, dtype=torch.float32), torch.tensor(big, dtype=torch.float32))) == 0.0
    p = torch.tensor(big, dtype=torch.float32, requires_grad=True)
    for _ in range(3):
        out = crit(p, torch.tensor(big, dtype=torch.float32))
        out.backward()
        assert crit.iou_mean.item() == pytest.approx(WIOU_MEAN_FLOOR) and crit.iou_mean.item() > 0
        assert out.item() == 0.0 and torch.isfinite(p.grad).all()
    # and a later imperfect batch is normalised by it without error (momentum 1: its own mean)
    out = crit(torch.tensor(PRED), torch.tensor(TARGET))
    assert crit.iou_mean.item() == pytest.approx(L_IOU.mean(), rel=1e-6) and torch.isfinite(out)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_long_runs_of_perfect_batches_cannot_underflow_the_mean(xp, dtype):
    """(1 - m)^k underflows to exactly 0 after a few hundred perfect batches at m = 0.5;
    the floor keeps the mean a valid input of the loss."""
    mean = xp.asarray(np.array(1.0), dtype=dtype)
    perfect = xp.asarray(np.zeros(4), dtype=dtype)
    for _ in range(1200):
        mean = losskit.wiou_update_mean(mean, perfect, momentum=0.5)
    assert float(xp.np(mean)) > 0
    out = xp.call(lambda p, t, m: losskit.wiou_loss(p, t, version=3, iou_mean=m), xp.asarray(PRED), xp.asarray(TARGET), mean)
    assert np.isfinite(float(xp.np(out)))
    # the plain-number form floors too
    m = 1.0
    for _ in range(1200):
        m = losskit.wiou_update_mean(m, 0.0, momentum=0.5)
    assert m > 0
