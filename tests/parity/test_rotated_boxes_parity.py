"""Parity of the rotated-box losses.

* ProbIoU against ultralytics 8.4.190 ``probiou`` (``ultralytics/utils/metrics.py``, loaded
  from its installed file by ``tests/peers.py``; no peer code is copied): values and
  gradients of ``1 - probiou`` equal ``probiou_loss`` (``mode="l1"``), with and without the
  ``floor`` of its OBB loss.
* GWD, KLD and KFIoU against independent float64 derivations from the papers, written below
  with plain NumPy / SciPy matrices (``scipy.linalg.sqrtm``, ``numpy.linalg.inv``): mmrotate
  cannot be installed here (mmcv's compiled ops). The mmrotate option each default
  corresponds to:

  - ``gwd_loss()`` is the paper's f(d^2); mmrotate's ``GDLoss(loss_type="gwd")`` is
    ``gwd_loss(sqrt=True, normalize=True)``;
  - ``kld_loss()`` is the paper's f(D_KL(N_p || N_t)); mmrotate's ``GDLoss(loss_type="kld")``
    is ``kld_loss(sqrt=True, direction="target_pred")``, ``"jd"`` is ``direction="symmetric"``,
    ``"kld_symmax"`` / ``"kld_symmin"`` are ``direction="max"`` / ``"min"``;
  - ``kfiou_loss()`` is the normalised 1 - 3 KFIoU; mmrotate's ``KFLoss(fun=None)`` is
    ``form="linear"`` (plus its own centre term: ``center_beta``), ``fun="exp"`` / ``"ln"`` are
    ``form="exp"`` / ``"ln"``.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

from peers import load_ultralytics_bbox_iou  # noqa: E402


def _pairs(n=500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.c_[rng.uniform(0, 100, (n, 2)), rng.uniform(2, 40, (n, 2)), rng.uniform(-3.2, 3.2, n)]
    p = t + np.c_[rng.normal(0, 4, (n, 2)), rng.normal(0, 3, (n, 2)), rng.normal(0, 0.3, n)]
    p[:, 2:4] = np.abs(p[:, 2:4]) + 0.5
    return p, t


@pytest.fixture(scope="module")
def ultralytics_probiou():
    peer = load_ultralytics_bbox_iou()
    if peer is None:
        pytest.skip("ultralytics is not installed")
    return sys.modules["_lk_ultralytics_metrics"].probiou, peer.version


@pytest.mark.parametrize("floor", [0.0, 0.01])
def test_probiou_equals_ultralytics(ultralytics_probiou, floor):
    probiou, version = ultralytics_probiou
    assert version == "8.4.190"
    p, t = _pairs()
    xp_ = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    xu = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    ours = losskit.probiou_loss(xp_, tt, floor=floor, reduction="none")
    theirs = (1.0 - probiou(tt, xu, floor=floor)).squeeze(-1)
    # ultralytics adds eps = 1e-7 under the square root and clamps B_D at eps: a difference
    # of about eps / (2 H_D) in value
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(xp_.grad, xu.grad, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- paper formulas


def _gauss(box):
    cx, cy, w, h, a = box
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.array([cx, cy]), r @ np.diag([w * w / 4, h * h / 4]) @ r.T


def _gwd2(p, t):
    from scipy.linalg import sqrtm

    mp, sp = _gauss(p)
    mt, st = _gauss(t)
    rp = sqrtm(sp).real
    return float(np.sum((mp - mt) ** 2) + np.trace(sp + st - 2 * sqrtm(rp @ st @ rp).real))


def _kl(p, t):
    mp, sp = _gauss(p)
    mt, st = _gauss(t)
    it = np.linalg.inv(st)
    d = mp - mt
    return float(0.5 * (d @ it @ d + np.trace(it @ sp) - 2 + math.log(np.linalg.det(st) / np.linalg.det(sp))))


def _kfiou(p, t):
    _, sp = _gauss(p)
    _, st = _gauss(t)
    s = sp - sp @ np.linalg.inv(sp + st) @ sp
    v = lambda m: 4 * math.sqrt(np.linalg.det(m))  # noqa: E731
    return v(s) / (v(sp) + v(st) - v(s))


def _post(x, fun="log1p", tau=1.0):
    x = {"log1p": math.log1p, "sqrt": math.sqrt, "none": lambda y: y}[fun](x)
    return x if tau is None else 1 - 1 / (tau + x)


def _run(fn, p, t, **options):
    return fn(torch.tensor(p), torch.tensor(t), reduction="none", **options).numpy()


@pytest.mark.parametrize("options", [{}, {"fun": "sqrt", "tau": 2.0}, {"sqrt": True, "normalize": True}],
                         ids=["paper", "sqrt-tau2", "mmrotate"])
def test_gwd_equals_paper_formula(options):
    p, t = _pairs(200, 1)
    ref = []
    for a, b in zip(p, t):
        d2 = _gwd2(a, b)
        if options.get("normalize"):
            _, sa = _gauss(a)
            _, sb = _gauss(b)
            d2 = d2 / (2 * (np.linalg.det(sa) * np.linalg.det(sb)) ** 0.125) ** 2
        d = math.sqrt(d2) if options.get("sqrt") else d2
        ref.append(_post(d, options.get("fun", "log1p"), options.get("tau", 1.0)))
    np.testing.assert_allclose(_run(losskit.gwd_loss, p, t, **options), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("direction", ["pred_target", "target_pred", "symmetric", "max", "min"])
@pytest.mark.parametrize("sqrt", [False, True])
def test_kld_equals_paper_formula(direction, sqrt):
    p, t = _pairs(200, 2)
    ref = []
    for a, b in zip(p, t):
        f, r = _kl(a, b), _kl(b, a)
        d = {"pred_target": f, "target_pred": r, "symmetric": (f + r) / 2, "max": max(f, r), "min": min(f, r)}[direction]
        ref.append(_post(math.sqrt(d) if sqrt else d))
    np.testing.assert_allclose(_run(losskit.kld_loss, p, t, direction=direction, sqrt=sqrt), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("form", ["normalized", "linear", "exp", "ln"])
def test_kfiou_equals_paper_formula(form):
    p, t = _pairs(200, 3)
    k = np.array([_kfiou(a, b) for a, b in zip(p, t)])
    ref = {"normalized": 1 - 3 * k, "linear": 1 - k, "exp": np.exp(1 - k) - 1, "ln": -np.log(k)}[form]
    np.testing.assert_allclose(_run(losskit.kfiou_loss, p, t, form=form, eps=1e-300), ref, rtol=1e-9, atol=1e-12)
