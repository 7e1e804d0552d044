"""Parity of the image losses with the code people use, on random images (torch, CPU).

Peers (versions read from the installed distributions and shown in the test ids):

* MONAI 1.6.1 ``monai.losses.SSIMLoss`` (2-D and 3-D): ``1 - SSIM``, valid borders. MONAI
  casts to float32, so it is compared in float32.
* pytorch-msssim 1.0.0 ``ssim`` / ``ms_ssim`` (values and gradients, float32 and float64):
  ``1 - ssim(...)`` is ``ssim_loss``; ``ms_ssim`` clamps cs at 0 (ReLU) as losskit does.
* piq 0.8.0 ``SSIMLoss(downsample=False)`` and ``MultiScaleSSIMLoss``. piq's package import
  needs torchvision (its perceptual metrics), whose binary extension does not load against
  this CPU torch: ``piq/ssim.py`` and ``piq/ms_ssim.py`` are executed from the installed
  files with stand-ins for the ``piq`` package (its ``utils`` and ``functional.filters``
  modules, also executed from the installed files). No peer code is copied.
* torchmetrics 1.9 ``structural_similarity_index_measure``: reflect-padded borders, reproduced
  by reflect-padding the images before ``ssim_loss`` (the docstring's recipe). Loaded the
  same way (its package import reaches torchvision through other metrics).
* scikit-image 0.26 ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=..., channel_axis=0)``, float64, per image.

Image sizes for MS-SSIM are multiples of 16 (even at every pooling step), where the peers'
odd-size paddings do not apply (see ``ms_ssim_loss``'s conventions).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
import types

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

# array_api_compat's lru_cache'd helpers under dynamo: not used here, but peers may compile.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _site(dist) -> str | None:
    try:
        return str(importlib.metadata.distribution(dist).locate_file(""))
    except importlib.metadata.PackageNotFoundError:
        return None


def _with_stub_packages(stubs: dict, load):
    """Run ``load()`` with stand-in package modules in ``sys.modules``, then restore them
    (the peer's real package import stays untouched and unimported)."""
    saved = {n: sys.modules.get(n) for n in stubs}
    loaded_before = set(sys.modules)
    sys.modules.update(stubs)
    try:
        return load()
    finally:
        prefixes = tuple(stubs)
        for name in set(sys.modules) - loaded_before:
            if name.startswith(prefixes):
                sys.modules.pop(name, None)
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def _package(name, path):
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    return mod


def _load_piq():
    site = _site("piq")
    root = os.path.join(site or "", "piq")
    if site is None or not os.path.exists(os.path.join(root, "ms_ssim.py")):
        return None

    def load():
        fn = sys.modules["piq.functional"]
        fn.gaussian_filter = importlib.import_module("piq.functional.filters").gaussian_filter
        ssim = importlib.import_module("piq.ssim")
        ms = importlib.import_module("piq.ms_ssim")
        return types.SimpleNamespace(SSIMLoss=ssim.SSIMLoss, MultiScaleSSIMLoss=ms.MultiScaleSSIMLoss,
                                     multi_scale_ssim=ms.multi_scale_ssim, version=_version("piq"))

    return _with_stub_packages({"piq": _package("piq", root),
                                "piq.functional": _package("piq.functional", os.path.join(root, "functional"))}, load)


def _load_torchmetrics():
    site = _site("torchmetrics")
    root = os.path.join(site or "", "torchmetrics")
    if site is None or not os.path.exists(os.path.join(root, "functional", "image", "ssim.py")):
        return None
    top = _package("torchmetrics", root)
    top._logger = logging.getLogger("torchmetrics-stub")  # what torchmetrics.utilities.prints reads

    def load():
        mod = importlib.import_module("torchmetrics.functional.image.ssim")
        return types.SimpleNamespace(ssim=mod.structural_similarity_index_measure, version=_version("torchmetrics"))

    try:
        return _with_stub_packages({
            "torchmetrics": top,
            "torchmetrics.functional": _package("torchmetrics.functional", os.path.join(root, "functional")),
            "torchmetrics.functional.image": _package("torchmetrics.functional.image", os.path.join(root, "functional", "image")),
        }, load)
    except ImportError:  # lightning-utilities missing
        return None


try:
    import pytorch_msssim as PM
except ImportError:  # pragma: no cover
    PM = None
PIQ = _load_piq()
TM = _load_torchmetrics()
try:
    from skimage.metrics import structural_similarity as SK_SSIM
except ImportError:  # pragma: no cover
    SK_SSIM = None

PM_ID = f"pytorch-msssim-{_version('pytorch-msssim')}" if PM else "pytorch-msssim-missing"
PIQ_ID = f"piq-{PIQ.version}" if PIQ else "piq-missing"
TM_ID = f"torchmetrics-{TM.version}" if TM else "torchmetrics-missing"
SK_ID = f"scikit-image-{_version('scikit-image')}" if SK_SSIM else "scikit-image-missing"
MONAI_ID = f"monai-{_version('monai')}" if _version("monai") else "monai-missing"

DTYPES = {"float32": (torch.float32, 2e-5, 2e-6), "float64": (torch.float64, 1e-9, 1e-11)}


def _pair(shape, seed, noise=0.15, data_range=1.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, shape)
    y = np.clip(x + rng.normal(0.0, noise, shape), 0.0, 1.0)
    return x * data_range, y * data_range


def _pm_window(channels, spatial, dtype, size=11, sigma=1.5):
    """pytorch-msssim's 1-D Gaussian window, shaped as its ``win=`` argument, in ``dtype``:
    its own is built in float32 whatever the images' dtype, which alone makes float64
    values differ by ~2e-7."""
    i = torch.arange(size, dtype=dtype) - size // 2
    g = torch.exp(-(i ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).reshape((1,) * (spatial + 1) + (size,)).repeat([channels] + [1] * (spatial + 1))


def _value_and_grad(fn, x, y, dtype):
    a = torch.tensor(x, dtype=dtype, requires_grad=True)
    out = fn(a, torch.tensor(y, dtype=dtype))
    (g,) = torch.autograd.grad(out.sum(), a)
    return out.detach().double().numpy(), g.double().numpy()


def _close(ours, theirs, rtol, atol):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=atol, err_msg="value")
    scale = np.abs(theirs[1]).max()
    np.testing.assert_allclose(ours[1], theirs[1], rtol=rtol, atol=atol + rtol * scale, err_msg="gradient")


# --------------------------------------------------------------------------- pytorch-msssim


@pytest.mark.skipif(PM is None, reason="pytorch-msssim is not installed (requirements/peers-nodeps.txt)")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("fast", [True, False], ids=["fast-paths", "reference"])
@pytest.mark.parametrize("shape, data_range", [((2, 3, 32, 40), 1.0), ((2, 3, 24, 24), 255.0), ((1, 2, 14, 15, 16), 1.0)],
                         ids=["2d", "2d-255", "3d"])
def test_ssim_vs_pytorch_msssim(shape, data_range, fast, dtype):
    td, rtol, atol = DTYPES[dtype]
    x, y = _pair(shape, 1, data_range=data_range)
    with losskit.fast_paths(fast):
        ours = _value_and_grad(lambda a, b: losskit.ssim_loss(a, b, data_range=data_range, reduction="none"), x, y, td)
    win = _pm_window(shape[1], len(shape) - 2, td)
    theirs = _value_and_grad(lambda a, b: 1 - PM.ssim(a, b, data_range=data_range, size_average=False, win=win), x, y, td)
    _close(ours, theirs, rtol * (10 if data_range > 1 else 1), atol)


@pytest.mark.skipif(PM is None, reason="pytorch-msssim is not installed (requirements/peers-nodeps.txt)")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("case", ["correlated", "anticorrelated-half"])
def test_ms_ssim_vs_pytorch_msssim(case, dtype):
    td, rtol, atol = DTYPES[dtype]
    x, y = _pair((2, 2, 176, 176), 2, noise=0.3)
    if case == "anticorrelated-half":
        y[0] = 1.0 - x[0]  # negative cs at every scale: both clamp at 0
    ours = _value_and_grad(lambda a, b: losskit.ms_ssim_loss(a, b, data_range=1.0, reduction="none"), x, y, td)
    win = _pm_window(2, 2, td)
    theirs = _value_and_grad(lambda a, b: 1 - PM.ms_ssim(a, b, data_range=1.0, size_average=False, win=win), x, y, td)
    # the anti-correlated image clamps every cs at 0: both give 1 with a zero gradient
    # (recent torch masks relu's backward, so pytorch-msssim's NaN of #7 / #11 is gone)
    assert np.isfinite(ours[1]).all()
    _close(ours, theirs, rtol * 10, atol)


# --------------------------------------------------------------------------- piq


@pytest.mark.skipif(PIQ is None, reason="piq is not installed")
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_ssim_and_ms_ssim_vs_piq(dtype):
    td, rtol, atol = DTYPES[dtype]
    x, y = _pair((2, 3, 176, 176), 3, noise=0.3)
    ours = _value_and_grad(lambda a, b: losskit.ssim_loss(a, b, data_range=1.0, reduction="none"), x, y, td)
    theirs = _value_and_grad(PIQ.SSIMLoss(downsample=False, reduction="none", data_range=1.0), x, y, td)
    _close(ours, theirs, rtol * 10, atol)
    ours = _value_and_grad(lambda a, b: losskit.ms_ssim_loss(a, b, data_range=1.0, reduction="none"), x, y, td)
    theirs = _value_and_grad(lambda a, b: 1 - PIQ.multi_scale_ssim(a, b, data_range=1.0, reduction="none"), x, y, td)
    _close(ours, theirs, rtol * 10, atol)
    # piq's MultiScaleSSIMLoss passes its default weights explicitly, and explicit weights are
    # rescaled to sum 1 (the paper's five sum to 1.0001): rescaled weights reproduce it
    w = torch.tensor(losskit.image.MS_SSIM_WEIGHTS, dtype=td)
    unit = tuple(float(v) for v in np.asarray(losskit.image.MS_SSIM_WEIGHTS) / sum(losskit.image.MS_SSIM_WEIGHTS))
    ours = _value_and_grad(lambda a, b: losskit.ms_ssim_loss(a, b, data_range=1.0, weights=unit, reduction="none"), x, y, td)
    theirs = _value_and_grad(PIQ.MultiScaleSSIMLoss(reduction="none", data_range=1.0, scale_weights=w), x, y, td)
    _close(ours, theirs, rtol * 10, atol)


@pytest.mark.skipif(PIQ is None, reason="piq is not installed")
def test_piq_downsampling_is_reproduced_by_pooling_first():
    """piq's default ``downsample=True`` pools by f = round(min(H, W) / 256) (f = 2 at 384
    pixels) before filtering; pooling the images by 2 first gives its value."""
    x, y = _pair((1, 1, 384, 400), 4)
    tx, ty = torch.tensor(x), torch.tensor(y)
    theirs = PIQ.SSIMLoss(data_range=1.0)(tx, ty)
    pool = torch.nn.functional.avg_pool2d
    ours = losskit.ssim_loss(pool(tx, 2), pool(ty, 2), data_range=1.0)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- MONAI


@pytest.mark.parametrize("shape", [(2, 3, 32, 40), (1, 2, 14, 15, 16)], ids=["2d", "3d"])
def test_ssim_vs_monai(shape):
    monai = pytest.importorskip("monai.losses")
    x, y = _pair(shape, 5)
    peer = monai.SSIMLoss(spatial_dims=len(shape) - 2, data_range=1.0)
    ours = _value_and_grad(lambda a, b: losskit.ssim_loss(a, b, data_range=1.0), x, y, torch.float32)
    theirs = _value_and_grad(peer, x, y, torch.float32)
    _close(ours, theirs, 2e-5, 2e-6)


# --------------------------------------------------------------------------- torchmetrics


@pytest.mark.skipif(TM is None, reason="torchmetrics (and lightning-utilities) are not installed")
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_torchmetrics_reflect_padding_is_reproduced_by_padding_first(dtype):
    td, rtol, atol = DTYPES[dtype]
    x, y = _pair((2, 3, 32, 36), 6)
    pad = lambda a: torch.nn.functional.pad(a, (5, 5, 5, 5), mode="reflect")  # noqa: E731
    ours = _value_and_grad(lambda a, b: losskit.ssim_loss(pad(a), pad(b), data_range=1.0, reduction="none"), x, y, td)
    theirs = _value_and_grad(lambda a, b: 1 - TM.ssim(a, b, data_range=1.0, reduction="none"), x, y, td)
    _close(ours, theirs, rtol * 10, atol)
    # and the default valid borders differ from it at the borders
    plain = losskit.ssim_loss(torch.tensor(x, dtype=td), torch.tensor(y, dtype=td), data_range=1.0, reduction="none")
    assert np.abs(plain.double().numpy() - theirs[0]).max() > 1e-3


# --------------------------------------------------------------------------- scikit-image


@pytest.mark.skipif(SK_SSIM is None, reason="scikit-image is not installed (requirements/peers-nodeps.txt)")
@pytest.mark.parametrize("shape, data_range", [((3, 32, 40), 1.0), ((1, 24, 24), 255.0), ((2, 13, 14, 15), 1.0)],
                         ids=["rgb", "gray-255", "3d"])
def test_ssim_vs_scikit_image(shape, data_range):
    x, y = _pair(shape, 7, data_range=data_range)
    theirs = SK_SSIM(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                     data_range=data_range, channel_axis=0)
    ours = losskit.ssim_loss(x[None], y[None], data_range=data_range)
    np.testing.assert_allclose(1.0 - float(ours), theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(SK_SSIM is None, reason="scikit-image is not installed (requirements/peers-nodeps.txt)")
def test_scikit_image_uniform_window_population_covariance():
    """scikit-image's uniform window with population covariance is ``gaussian=False``."""
    x, y = _pair((1, 20, 21), 8)
    theirs = SK_SSIM(x, y, win_size=7, use_sample_covariance=False, data_range=1.0, channel_axis=0)
    ours = losskit.ssim_loss(x[None], y[None], data_range=1.0, kernel_size=7, gaussian=False)
    np.testing.assert_allclose(1.0 - float(ours), theirs, rtol=1e-10, atol=1e-12)


def test_peer_versions_named():
    """The ids above name the versions the issue pins when the peers are installed."""
    expected = {"pytorch-msssim": "1.0.0", "piq": "0.8.0", "scikit-image": "0.26", "monai": "1.6.1",
                "torchmetrics": "1.9"}
    for dist, ver in expected.items():
        got = _version(dist)
        if got is not None:
            assert got.startswith(ver), f"{dist} {got}: the parity tests were written against {ver}"
    assert all(i for i in (PM_ID, PIQ_ID, TM_ID, SK_ID, MONAI_ID))
