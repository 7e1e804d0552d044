"""Image losses beyond the case table (``tests/cases/image.py``): 3-D volumes, the NaN
reports of pytorch-msssim (#7, #11) as finite cases, images too small for the window or the
scales, the ``data_range`` checks (eager only), the filtering helpers against a direct
sliding-window sum, and ``torch.compile(fullgraph=True)``."""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.image import MS_SSIM_WEIGHTS

_rng = np.random.default_rng(2026)

# array_api_compat's lru_cache'd helpers are traced through by dynamo (pure functions of
# types); the warning says so for every compiled loss.
pytestmark = pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")

SIM = [losskit.ssim_loss, losskit.ms_ssim_loss, losskit.ms_ssim_l1_loss]
SIM_IDS = [f.__name__ for f in SIM]
# Small options every similarity loss accepts on 16 x 16 images.
SMALL = {"data_range": 1.0, "kernel_size": 5}
SMALL_MS = {**SMALL, "weights": (0.3, 0.7)}


def _opts(fn):
    return SMALL if fn is losskit.ssim_loss else SMALL_MS


def _pair(shape, noise=0.1, rng=_rng):
    x = rng.uniform(0.0, 1.0, shape)
    return x, np.clip(x + rng.normal(0.0, noise, shape), 0.0, 1.0)


# --------------------------------------------------------------------------- 3-D


@pytest.mark.parametrize("fn", SIM, ids=SIM_IDS)
def test_3d_volume_constant_in_depth_is_the_2d_value(xp, fn):
    """A volume constant along D gives every depth window the 2-D statistics of its slice
    (the window's weights sum to 1), so the 3-D loss is the 2-D loss of the slice."""
    x, y = _pair((2, 2, 16, 16))
    vx, vy = (np.repeat(a[:, :, None], 10, axis=2) for a in (x, y))
    opts = _opts(fn)
    two = xp.call(lambda a, b: fn(a, b, reduction="none", **opts), xp.asarray(x), xp.asarray(y))
    three = xp.call(lambda a, b: fn(a, b, reduction="none", **opts), xp.asarray(vx), xp.asarray(vy))
    xp.assert_close(three, xp.np(two), rtol=1e-4 if xp.float_dtype == "float32" else 1e-10)


def test_3d_filter_is_a_sliding_window_sum():
    """The separable band-matrix filter equals the direct sum over every window position
    (float64, a 3-D window of the outer product of the 1-D taps)."""
    from array_api_compat import numpy as anp

    from losskit.image._filter import filter_maps, window_weights

    w = np.asarray(window_weights(3, 0.8, True))
    x = _rng.standard_normal((2, 5, 6, 7))
    with losskit.fast_paths(False):
        out = np.asarray(filter_maps(x, tuple(w), 3, anp))
    full = np.einsum("i,j,k->ijk", w, w, w)
    direct = np.zeros((2, 3, 4, 5))
    for a in range(3):
        for b in range(4):
            for c in range(5):
                direct[:, a, b, c] = np.einsum("nijk,ijk->n", x[:, a:a + 3, b:b + 3, c:c + 3], full)
    np.testing.assert_allclose(out, direct, rtol=1e-12, atol=1e-12)


def test_avg_pool_odd_sizes_keep_the_last_row_as_its_own_cell():
    from array_api_compat import numpy as anp

    from losskit.image._filter import avg_pool2

    x = np.arange(3 * 5, dtype=float).reshape(1, 1, 3, 5)
    expected = np.array([[(0 + 1 + 5 + 6) / 4, (2 + 3 + 7 + 8) / 4, (4 + 9) / 2],
                         [(10 + 11) / 2, (12 + 13) / 2, 14.0]])
    np.testing.assert_allclose(np.asarray(avg_pool2(x, 2, anp))[0, 0], expected)


# --------------------------------------------------------------------------- NaN reports


def _anti(shape, rng):
    x = rng.uniform(0.0, 1.0, shape)
    return x, 1.0 - x


@pytest.mark.parametrize("fn", [losskit.ms_ssim_loss, losskit.ms_ssim_l1_loss], ids=["ms_ssim_loss", "ms_ssim_l1_loss"])
def test_anticorrelated_images_give_finite_loss_and_gradient(autodiff_xp, fn):
    """pytorch-msssim #7 / #11: a negative contrast-structure term to a fractional power gave
    NaN. Here it is clamped (loss and gradient finite); the partially anti-correlated case
    (negative cs at some scales only) is finite too."""
    xp = autodiff_xp
    rng = np.random.default_rng(7)
    x, y = _anti((2, 1, 32, 32), rng)
    # half of each image anti-correlated, half equal: some scales positive, some not
    mixed = y.copy()
    mixed[..., :16] = x[..., :16]
    opts = {"data_range": 1.0, "kernel_size": 3, "weights": (0.2, 0.3, 0.5)}
    for target in (y, mixed):
        value, grad = xp.grad(lambda a, b: fn(a, b, **opts), xp.asarray(x), xp.asarray(target))
        assert np.isfinite(value).all() and np.isfinite(grad).all()
        assert 0.0 <= float(value) <= 1.0 + 1e-12


def test_default_weights_on_161_pixels_anticorrelated_finite():
    """The smallest image the default five scales accept, anti-correlated: finite."""
    torch = pytest.importorskip("torch")
    x, y = _anti((1, 1, 161, 161), np.random.default_rng(11))
    t = torch.tensor(x, requires_grad=True)
    loss = losskit.ms_ssim_loss(t, torch.tensor(y), data_range=1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(t.grad).all()
    assert len(MS_SSIM_WEIGHTS) == 5


def test_noise_against_image_is_finite_with_default_weights():
    """pytorch-msssim #11's setting: a prediction of pure noise against an image."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:176, 0:176] / 176.0
    target = np.broadcast_to(0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy), (2, 1, 176, 176)).copy()
    noise = torch.tensor(rng.uniform(0, 1, target.shape), requires_grad=True)
    for fn in (losskit.ms_ssim_loss, losskit.ms_ssim_l1_loss):
        noise.grad = None
        loss = fn(noise, torch.tensor(target), data_range=1.0)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(noise.grad).all()


def test_tv_isotropic_gradient_is_finite_on_flat_images(autodiff_xp):
    xp = autodiff_xp
    x = np.full((1, 2, 4, 5), 0.3)
    x[0, 0, 1, 1] = 0.9  # one bump: differences 0 everywhere else
    value, grad = xp.grad(lambda a: losskit.total_variation_loss(a, mode="isotropic"), xp.asarray(x))
    assert np.isfinite(grad).all() and np.isfinite(value).all()
    _, flat = xp.grad(lambda a: losskit.total_variation_loss(a, mode="isotropic"), xp.asarray(np.zeros((1, 1, 3, 3))))
    assert np.all(flat == 0)


def test_tv_one_pixel_images_are_zero(xp):
    out = losskit.total_variation_loss(xp.asarray(np.ones((2, 3, 1, 1))), reduction="none")
    xp.assert_close(out, np.zeros(2))


# --------------------------------------------------------------------------- sizes, ranges


@pytest.mark.parametrize("shape", [(1, 1, 160, 200), (1, 1, 200, 160), (1, 1, 4, 170, 170)])
def test_too_small_for_five_scales(shape):
    x = np.zeros(shape)
    with pytest.raises(ValueError, match=r"input: expected spatial sizes of at least 161 \(5 scales with kernel_size 11"):
        losskit.ms_ssim_loss(x, x, data_range=1.0)


def test_161_is_enough_for_five_scales():
    x = np.full((1, 1, 161, 161), 0.5)
    assert float(losskit.ms_ssim_loss(x, x, data_range=1.0)) == pytest.approx(0.0, abs=1e-12)


def test_integer_images_compute_in_float32(xp):
    x = (_rng.uniform(0, 255, (1, 3, 16, 16))).astype(np.uint8)
    y = np.clip(x.astype(int) + _rng.integers(-20, 20, x.shape), 0, 255).astype(np.uint8)
    for fn in SIM:
        opts = {**_opts(fn), "data_range": 255.0}
        out = fn(xp.asarray(x, dtype="uint8"), xp.asarray(y, dtype="uint8"), **opts)
        assert str(out.dtype).endswith("float32")
        ref = fn(x.astype(np.float64), y.astype(np.float64), **opts)
        # float32 against float64: SSIM's variances cancel (E[x^2] - mu^2) to ~1e-5 of cs
        np.testing.assert_allclose(xp.np(out), float(ref), rtol=1e-4)


def test_value_checks_are_skipped_when_traced():
    """Out-of-range values raise in eager mode; under jax.jit the check is skipped (the loss
    stays compilable) and the value is computed as given."""
    jax = pytest.importorskip("jax")
    x, y = _pair((1, 1, 16, 16))
    with pytest.raises(ValueError, match="input: expected values in"):
        losskit.ssim_loss(jax.numpy.asarray(x * 2), jax.numpy.asarray(y), **SMALL)
    out = jax.jit(lambda a, b: losskit.ssim_loss(a, b, **SMALL))(jax.numpy.asarray(x * 2), jax.numpy.asarray(y))
    assert np.isfinite(float(out))


def test_nan_input_is_out_of_range():
    x, y = _pair((1, 1, 16, 16))
    x[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="input: expected values in"):
        losskit.ssim_loss(x, y, **SMALL)


# --------------------------------------------------------------------------- torch.compile


@pytest.mark.parametrize("fn", SIM + [losskit.total_variation_loss], ids=SIM_IDS + ["total_variation_loss"])
def test_torch_compile_fullgraph(fn):
    torch = pytest.importorskip("torch")
    torch._dynamo.reset()
    x, y = (torch.tensor(a, dtype=torch.float32) for a in _pair((2, 2, 16, 16)))
    if fn is losskit.total_variation_loss:
        call = lambda a: fn(a, mode="isotropic")  # noqa: E731
        args = (x,)
    else:
        opts = _opts(fn)
        call = lambda a, b: fn(a, b, **opts)  # noqa: E731
        args = (x, y)
    compiled = torch.compile(call, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(*args), call(*args), rtol=2e-5, atol=1e-6)
