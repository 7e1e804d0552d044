"""Parity of the segmentation losses with MONAI and segmentation_models_pytorch (SMP).

Peers (versions read at import time and shown in the test ids and assertion messages):

* MONAI (monai.losses): ``DiceLoss`` over its option grid (include_background, sigmoid /
  softmax, squared_pred, jaccard, batch, smooth_nr / smooth_dr, weight, reduction,
  to_onehot_y, ignore_index), ``GeneralizedDiceLoss`` (w_type, batch, include_background),
  ``TverskyLoss`` (alpha, beta, batch, include_background, reduction).
* segmentation_models_pytorch (SMP): ``DiceLoss``, ``JaccardLoss``, ``TverskyLoss`` (with
  ``gamma``) and ``LovaszLoss`` (binary and multiclass, ``per_image``, ``ignore_index``).
  SMP's package import needs timm / torchvision; its ``losses`` sub-package only imports
  torch, so it is loaded from the installed files under another package name.

The documented mappings between conventions are what these tests pin:

* MONAI ``jaccard=True`` with smoothing s is our ``jaccard_loss`` with ``s / 2``.
* MONAI's class ``weight`` has ``C - 1`` entries without background (ours always ``C``),
  and its ``"mean"`` is ``mean(w * L)`` where ours is ``sum(w * L) / sum(w)``.
* SMP pools the batch (our ``batch=True``); its Dice ``smooth=s`` is our ``2 s``; its
  ``TverskyLoss(gamma=g)`` on one class is our ``focal_tversky_loss(gamma=1 / g)``.
"""

from __future__ import annotations

import importlib.util
import itertools
import pathlib

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")
monai = pytest.importorskip("monai")
from monai import losses as ml  # noqa: E402

MONAI = f"monai {monai.__version__}"


def _load_smp_losses():
    spec = importlib.util.find_spec("segmentation_models_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None, None
    root = pathlib.Path(list(spec.submodule_search_locations)[0]) / "losses"
    pkg = importlib.util.spec_from_file_location(
        "_smp_losses", root / "__init__.py", submodule_search_locations=[str(root)]
    )
    module = importlib.util.module_from_spec(pkg)
    import sys

    sys.modules["_smp_losses"] = module
    pkg.loader.exec_module(module)
    from importlib.metadata import version

    return module, version("segmentation_models_pytorch")


smp, _smp_version = _load_smp_losses()
SMP = f"segmentation_models_pytorch {_smp_version}"
needs_smp = pytest.mark.skipif(smp is None, reason="segmentation_models_pytorch is not installed")

RNG = np.random.default_rng(20231124)
X = RNG.standard_normal((3, 4, 5, 4))
LAB = RNG.integers(0, 4, size=(3, 5, 4))
LAB[:, 0, :] = np.arange(4)  # every class in every image (SMP zeroes absent classes)
ONEHOT = np.moveaxis(np.eye(4)[LAB], -1, 1)
MULTI = (RNG.random((3, 4, 5, 4)) > 0.6).astype(np.float64)  # multi-label masks
MULTI[:, :, 0, 0] = 1.0
W = np.array([0.5, 1.0, 2.0, 0.25])


def t64(a):
    return torch.as_tensor(a).double() if np.asarray(a).dtype.kind == "f" else torch.as_tensor(a)


def _monai_dice_case(act, ib, sq, jac, batch, smooth, weighted, reduction, labels):
    target = LAB if labels else (ONEHOT if act == "softmax" else MULTI)
    mt = t64(LAB[:, None]) if labels else t64(target)
    peer = ml.DiceLoss(
        include_background=ib, to_onehot_y=labels, sigmoid=act == "sigmoid", softmax=act == "softmax",
        squared_pred=sq, jaccard=jac, smooth_nr=smooth, smooth_dr=smooth, batch=batch,
        weight=None if not weighted else torch.tensor(W if ib else W[1:]), reduction=reduction,
    )(t64(X), mt)
    fn = losskit.jaccard_loss if jac else losskit.dice_loss
    s = smooth / 2 if jac else smooth  # MONAI's (2I + s) / (2U + s) = (I + s/2) / (U + s/2)
    kw = dict(activation=act, include_background=ib, squared=sq, smooth_nr=s, smooth_dr=s, batch=batch,
              weight=W if weighted else None, reduction=reduction)
    expected = peer.detach().numpy()
    if reduction == "none":
        expected = expected.reshape(expected.shape[:1] if batch else expected.shape[:2])
    if reduction == "mean" and weighted:
        # MONAI: mean(w * L) over N * C' entries; ours: sum(w * L) / (N' * sum(w))
        w = W if ib else W[1:]
        expected = expected * w.size / w.sum()
    return target, kw, fn, expected


GRID = list(itertools.product(
    ["sigmoid", "softmax"], [True, False], [False, True], [False, True], [False, True],
    [1e-5, 1.0], [False, True], ["mean", "sum", "none"],
))


def test_monai_dice_loss_full_option_grid_torch64():
    for act, ib, sq, jac, batch, smooth, weighted, reduction in GRID:
        labels = act == "softmax" and not sq  # to_onehot_y path on part of the grid
        target, kw, fn, expected = _monai_dice_case(act, ib, sq, jac, batch, smooth, weighted, reduction, labels)
        ours = fn(t64(X), t64(target), **{**kw, "weight": None if kw["weight"] is None else t64(W)})
        np.testing.assert_allclose(
            ours.numpy(), expected, rtol=1e-10, atol=1e-12,
            err_msg=f"{MONAI} DiceLoss {act=} {ib=} {sq=} {jac=} {batch=} {smooth=} {weighted=} {reduction=}",
        )


@pytest.mark.parametrize(
    "case",
    [("softmax", True, False, False, False, 1e-5, False, "mean", True),
     ("sigmoid", False, True, True, True, 1.0, True, "none", False),
     ("softmax", False, False, False, True, 1e-5, True, "sum", False)],
    ids=lambda c: f"{MONAI}-{'-'.join(map(str, c))}",
)
def test_monai_dice_loss_every_backend(xp, case):
    target, kw, fn, expected = _monai_dice_case(*case)
    kw = dict(kw)
    w = kw.pop("weight")
    if w is None:
        out = xp.call(lambda a, b: fn(a, b, **kw), xp.asarray(X), xp.asarray(target))
    else:
        out = xp.call(lambda a, b, c: fn(a, b, weight=c, **kw), xp.asarray(X), xp.asarray(target), xp.asarray(w))
    xp.assert_close(out, expected, rtol=1e-5 if xp.float_dtype == "float32" else 1e-10)


def test_monai_dice_ignore_index_and_gradients_torch64():
    lab = LAB.copy()
    lab[:, -1, 1:] = 255
    for batch in (False, True):
        x = t64(X).requires_grad_(True)
        peer = ml.DiceLoss(softmax=True, to_onehot_y=True, ignore_index=255, batch=batch)(x, t64(lab[:, None]))
        (gp,) = torch.autograd.grad(peer, x)
        x2 = t64(X).requires_grad_(True)
        ours = losskit.dice_loss(x2, t64(lab), activation="softmax", ignore_index=255, batch=batch)
        (go,) = torch.autograd.grad(ours, x2)
        msg = f"{MONAI} DiceLoss(ignore_index=255, {batch=})"
        np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-10, err_msg=msg)
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-14, err_msg=msg)


def test_monai_generalized_dice_grid_torch64():
    for w_type, batch, ib, act, reduction in itertools.product(
        ["square", "simple", "uniform"], [False, True], [True, False], ["softmax", "sigmoid"], ["mean", "sum", "none"]
    ):
        target = ONEHOT if act == "softmax" else MULTI
        # a class absent from one image exercises the infinite-weight replacement
        target = target.copy()
        target[0, 2] = 0.0
        peer = ml.GeneralizedDiceLoss(
            include_background=ib, sigmoid=act == "sigmoid", softmax=act == "softmax", w_type=w_type,
            batch=batch, reduction=reduction,
        )(t64(X), t64(target)).numpy()
        ours = losskit.generalized_dice_loss(
            t64(X), t64(target), activation=act, include_background=ib, weight_type=w_type, batch=batch,
            reduction=reduction,
        ).numpy()
        # MONAI computes the class weights from ``ground_o.float()``: float32 reciprocals,
        # hence float32-level agreement on float64 data.
        np.testing.assert_allclose(
            ours, peer.reshape(ours.shape), rtol=1e-6, atol=1e-9,
            err_msg=f"{MONAI} GeneralizedDiceLoss {w_type=} {batch=} {ib=} {act=} {reduction=}",
        )


def test_monai_tversky_grid_torch64():
    for (alpha, beta), batch, ib, act, reduction, smooth in itertools.product(
        [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)], [False, True], [True, False], ["softmax", "sigmoid"],
        ["mean", "sum", "none"], [1e-5, 1.0],
    ):
        target = ONEHOT if act == "softmax" else MULTI
        peer = ml.TverskyLoss(
            include_background=ib, sigmoid=act == "sigmoid", softmax=act == "softmax", alpha=alpha, beta=beta,
            batch=batch, reduction=reduction, smooth_nr=smooth, smooth_dr=smooth,
        )(t64(X), t64(target)).numpy()
        ours = losskit.tversky_loss(
            t64(X), t64(target), alpha=alpha, beta=beta, activation=act, include_background=ib, batch=batch,
            reduction=reduction, smooth_nr=smooth, smooth_dr=smooth,
        ).numpy()
        np.testing.assert_allclose(
            ours, peer.reshape(ours.shape), rtol=1e-10, atol=1e-12,
            err_msg=f"{MONAI} TverskyLoss {alpha=} {beta=} {batch=} {ib=} {act=} {reduction=} {smooth=}",
        )


# ----------------------------------------------------------------- SMP


@needs_smp
@pytest.mark.parametrize("ignore", [None, 255], ids=lambda i: f"{SMP}-ignore={i}")
def test_smp_multiclass_dice_jaccard_tversky(ignore):
    lab = LAB.copy()
    if ignore is not None:
        lab[:, -1, :2] = ignore
    x, t = t64(X), t64(lab)
    s = 0.5
    pairs = [
        # SMP Dice = (I + s) / (I + (FP + FN) / 2 + s) = (2I + 2s) / (P + G + 2s)
        (smp.DiceLoss("multiclass", smooth=s, ignore_index=ignore),
         losskit.dice_loss(x, t, activation="softmax", batch=True, smooth_nr=2 * s, smooth_dr=2 * s, ignore_index=ignore)),
        (smp.JaccardLoss("multiclass", smooth=s, ignore_index=ignore),
         losskit.jaccard_loss(x, t, activation="softmax", batch=True, smooth_nr=s, smooth_dr=s, ignore_index=ignore)),
        (smp.TverskyLoss("multiclass", smooth=s, alpha=0.3, beta=0.7, ignore_index=ignore),
         losskit.tversky_loss(x, t, activation="softmax", batch=True, alpha=0.3, beta=0.7, smooth_nr=s, smooth_dr=s,
                              ignore_index=ignore)),
    ]
    for peer, ours in pairs:
        np.testing.assert_allclose(ours.item(), peer(x, t).item(), rtol=1e-10, err_msg=f"{SMP} {type(peer).__name__}")


@needs_smp
def test_smp_multilabel_and_binary_focal_tversky():
    x, t = t64(X), t64(MULTI)
    peer = smp.DiceLoss("multilabel", smooth=0.0)(x, t)
    ours = losskit.dice_loss(x, t, activation="sigmoid", batch=True, smooth_nr=0.0, smooth_dr=0.0)
    np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-10, err_msg=f"{SMP} DiceLoss multilabel")
    # binary mode: one channel; SMP's gamma raises the (single-class) loss to gamma
    xb, tb = t64(X[:, :1]), t64(MULTI[:, :1])
    for g in (0.75, 1.0, 2.0):
        peer = smp.TverskyLoss("binary", alpha=0.3, beta=0.7, gamma=g, smooth=1.0)(xb, tb)
        ours = losskit.focal_tversky_loss(
            xb, tb, activation="sigmoid", alpha=0.3, beta=0.7, gamma=1 / g, batch=True, smooth_nr=1.0, smooth_dr=1.0
        )
        np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-10, err_msg=f"{SMP} TverskyLoss binary {g=}")


@needs_smp
@pytest.mark.parametrize("per_image", [False, True], ids=lambda p: f"{SMP}-per_image={p}")
def test_smp_lovasz_softmax_and_hinge(per_image):
    # SMP's Lovász casts the sorted labels with ``.float()`` (float64 input fails in its
    # ``torch.dot``), so this comparison runs in float32 with float32 tolerances.
    lab = LAB.copy()
    lab[:, -1, :2] = 255
    x32 = torch.tensor(X, dtype=torch.float32)
    x = x32.clone().requires_grad_(True)
    peer = smp.LovaszLoss("multiclass", per_image=per_image, ignore_index=255)(x, torch.as_tensor(lab))
    (gp,) = torch.autograd.grad(peer, x)
    x2 = x32.clone().requires_grad_(True)
    ours = losskit.lovasz_softmax_loss(x2, torch.as_tensor(lab), per_image=per_image, ignore_index=255)
    (go,) = torch.autograd.grad(ours, x2)
    np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-5, err_msg=f"{SMP} LovaszLoss multiclass")
    np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-4, atol=1e-7, err_msg=f"{SMP} LovaszLoss multiclass grad")
    # binary: logits (N, H, W), labels 0/1 (SMP's binary mode is the Lovász hinge)
    xb, gb = torch.tensor(X[:, 0], dtype=torch.float32), torch.as_tensor((LAB > 1).astype(np.int64))
    peer = smp.LovaszLoss("binary", per_image=per_image)(xb, gb)
    ours = losskit.lovasz_hinge_loss(xb, gb, per_image=per_image)
    np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-5, err_msg=f"{SMP} LovaszLoss binary")


def test_monai_dice_ce_grid_torch64():

    for ib, sq, batch, smooth, weighted, reduction, (ld, lc), ls in itertools.product(
        [True, False], [False, True], [False, True], [1e-5, 1.0], [False, True], ["mean", "sum"],
        [(1.0, 1.0), (0.3, 2.0)], [0.0, 0.1],
    ):
        if weighted and reduction == "mean":
            continue  # MONAI's weighted Dice mean is mean(w * L), ours sum(w * L) / sum(w)
        w = torch.tensor(W) if weighted else None
        # MONAI's to_onehot_y builds a float32 one-hot, whose squared norms round in float32;
        # the squared_pred half of the grid therefore passes the float64 one-hot instead
        # (and exercises the class-probability cross-entropy).
        peer_t, ours_t = (t64(ONEHOT), t64(ONEHOT)) if sq else (t64(LAB[:, None]), t64(LAB))
        peer = ml.DiceCELoss(
            include_background=ib, to_onehot_y=not sq, softmax=True, squared_pred=sq, batch=batch,
            smooth_nr=smooth, smooth_dr=smooth, weight=w, reduction=reduction, lambda_dice=ld, lambda_ce=lc,
            label_smoothing=ls,
        )(t64(X), peer_t)
        ours = losskit.dice_ce_loss(
            t64(X), ours_t, include_background=ib, squared=sq, batch=batch, smooth_nr=smooth, smooth_dr=smooth,
            weight=w, reduction=reduction, lambda_dice=ld, lambda_ce=lc, label_smoothing=ls,
        )
        np.testing.assert_allclose(
            ours.item(), peer.item(), rtol=1e-10,
            err_msg=f"{MONAI} DiceCELoss {ib=} {sq=} {batch=} {smooth=} {weighted=} {reduction=} {ld=} {lc=} {ls=}",
        )
    # one channel with sigmoid: MONAI switches to BCE-with-logits, as we do
    xb, tb = t64(X[:, :1]), t64(MULTI[:, :1])
    for reduction in ("mean", "sum"):
        peer = ml.DiceCELoss(sigmoid=True, reduction=reduction)(xb, tb)
        ours = losskit.dice_ce_loss(xb, tb, activation="sigmoid", reduction=reduction)
        np.testing.assert_allclose(ours.item(), peer.item(), rtol=1e-10, err_msg=f"{MONAI} DiceCELoss(sigmoid) {reduction=}")


# ----------------------------------------------------------------- MONAI's label layout (issue 15)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8"], ids=lambda d: f"{MONAI}-labels-{d}")
def test_monai_label_map_layout_same_target_torch64(dtype):
    """The very ``(N, 1, ...)`` tensor a MONAI pipeline feeds ``to_onehot_y=True`` goes to
    losskit unchanged: values and gradients agree for every Dice-family loss MONAI has."""
    lab = torch.as_tensor(LAB[:, None].astype(dtype))
    ignore = torch.as_tensor(np.where(LAB == 3, 255, LAB)[:, None].astype(dtype if dtype != "uint8" else "int64"))
    pairs = []
    for act, ib, batch in itertools.product(["softmax", "sigmoid"], [True, False], [False, True]):
        kw = dict(include_background=ib, batch=batch)
        mk = dict(softmax=act == "softmax", sigmoid=act == "sigmoid", to_onehot_y=True, **kw)
        pairs += [
            (f"DiceLoss {act} {kw}", ml.DiceLoss(**mk), lambda x, t, kw=kw, a=act: losskit.dice_loss(x, t, activation=a, **kw)),
            (f"TverskyLoss {act} {kw}", ml.TverskyLoss(alpha=0.3, beta=0.7, **mk),
             lambda x, t, kw=kw, a=act: losskit.tversky_loss(x, t, activation=a, alpha=0.3, beta=0.7, **kw)),
            (f"GeneralizedDiceLoss {act} {kw}", ml.GeneralizedDiceLoss(**mk),
             lambda x, t, kw=kw, a=act: losskit.generalized_dice_loss(x, t, activation=a, **kw)),
        ]
        if act == "softmax":
            pairs.append((f"DiceCELoss {kw}", ml.DiceCELoss(softmax=True, to_onehot_y=True, **kw),
                          lambda x, t, kw=kw: losskit.dice_ce_loss(x, t, **kw)))
    for name, peer, ours in pairs:
        x1, x2 = t64(X).requires_grad_(True), t64(X).requires_grad_(True)
        vp, vo = peer(x1, lab), ours(x2, lab)
        (gp,), (go,) = torch.autograd.grad(vp, x1), torch.autograd.grad(vo, x2)
        # GeneralizedDiceLoss computes its weights in float32 (see the grid test above):
        # float32-level agreement there, float64-level elsewhere.
        f32 = "Generalized" in name
        np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-6 if f32 else 1e-10,
                                   err_msg=f"{MONAI} {name} labels {dtype}")
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-5 if f32 else 1e-8, atol=1e-9 if f32 else 1e-12,
                                   err_msg=f"{MONAI} {name} labels {dtype} gradient")
    # ignore_index on the same layout (MONAI's DiceLoss masks it after to_onehot_y)
    for batch in (False, True):
        x1, x2 = t64(X).requires_grad_(True), t64(X).requires_grad_(True)
        vp = ml.DiceLoss(softmax=True, to_onehot_y=True, ignore_index=255, batch=batch)(x1, ignore)
        vo = losskit.dice_loss(x2, ignore, activation="softmax", ignore_index=255, batch=batch)
        (gp,), (go,) = torch.autograd.grad(vp, x1), torch.autograd.grad(vo, x2)
        np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-10, err_msg=f"{MONAI} DiceLoss ignore_index labels {dtype}")
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-14,
                                   err_msg=f"{MONAI} DiceLoss ignore_index labels {dtype} gradient")


def test_monai_label_map_layout_fast_path_taken():
    """The label map takes the family's CPU fast path like the ``(N, ...)`` labels do."""
    lab = torch.as_tensor(LAB[:, None].astype(np.float32))
    with losskit.fast_paths(True) as ran:
        losskit.dice_loss(t64(X), lab, activation="softmax")
    assert ran & {"segmentation.numba", "segmentation.torch"}, ran


# ----------------------------------------------------------------- Dice + focal (issue 15)


def test_monai_dice_focal_and_generalized_dice_focal_grid_torch64():
    """MONAI's ``DiceFocalLoss`` / ``GeneralizedDiceFocalLoss`` keep a sigmoid focal term
    whatever the Dice activation: ``focal_activation="sigmoid"``. MONAI's focal term casts
    to float32 (``input.float()``), hence float32-level agreement on float64 data."""
    lab = t64(LAB[:, None].astype(np.float64))
    for act, ib, batch, gamma, (ld, lf), labels in itertools.product(
        ["softmax", "sigmoid"], [True, False], [False, True], [2.0, 0.5], [(1.0, 1.0), (0.3, 2.0)], [True, False],
    ):
        target = lab if labels else t64(ONEHOT if act == "softmax" else MULTI)
        mk = dict(softmax=act == "softmax", sigmoid=act == "sigmoid", to_onehot_y=labels, include_background=ib,
                  batch=batch, gamma=gamma, lambda_focal=lf)
        ok = dict(activation=act, focal_activation="sigmoid", include_background=ib, batch=batch, gamma=gamma,
                  lambda_focal=lf, lambda_dice=ld)
        for peer, fn in ((ml.DiceFocalLoss(lambda_dice=ld, **mk), losskit.dice_focal_loss),
                         (ml.GeneralizedDiceFocalLoss(lambda_gdl=ld, **mk), losskit.generalized_dice_focal_loss)):
            x1, x2 = t64(X).requires_grad_(True), t64(X).requires_grad_(True)
            vp, vo = peer(x1, target), fn(x2, target, **ok)
            (gp,), (go,) = torch.autograd.grad(vp, x1), torch.autograd.grad(vo, x2)
            msg = f"{MONAI} {type(peer).__name__} {act=} {ib=} {batch=} {gamma=} {ld=} {lf=} {labels=}"
            np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-6, err_msg=msg)
            np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-5, atol=1e-9, err_msg=msg + " gradient")


def test_monai_dice_focal_class_weights_sum_torch64():
    """With class weights MONAI's Dice ``"sum"`` is ``sum(w * L)`` as ours and its focal term
    multiplies each channel by its weight as ours; its focal ``"sum"`` averages the spatial
    axes first, so the sum is compared through the focal ``"mean"`` (times N * C)."""
    w = torch.tensor(W)
    x = t64(X)
    lab = t64(LAB[:, None])
    peer_dice = ml.DiceLoss(softmax=True, to_onehot_y=True, weight=w, reduction="sum")(x, lab)
    peer_focal = ml.FocalLoss(to_onehot_y=True, weight=w, gamma=2.0, reduction="mean")(x, lab)
    ours = losskit.dice_focal_loss(x, lab, focal_activation="sigmoid", weight=w, reduction="sum")
    n_elem = X.size
    np.testing.assert_allclose(ours.item(), (peer_dice + peer_focal * n_elem).item(), rtol=1e-6,
                               err_msg=f"{MONAI} DiceFocalLoss(weight) sum")


# ----------------------------------------------------------------- soft labels (issue 15)


def test_monai_soft_label_dice_jaccard_tversky_torch64():
    """MONAI's ``soft_label=True`` (the L1-form intersection of Wang and Blaschko) on soft
    targets, values and gradients; MONAI's ``jaccard=True`` with smoothing s is ours with s / 2."""
    soft = t64(np.random.default_rng(5).random((3, 4, 5, 4)))
    for act, ib, batch, reduction in itertools.product(["sigmoid", "softmax"], [True, False], [False, True],
                                                       ["mean", "sum"]):
        target = soft if act == "sigmoid" else soft / soft.sum(1, keepdim=True)
        mk = dict(sigmoid=act == "sigmoid", softmax=act == "softmax", include_background=ib, batch=batch,
                  reduction=reduction, soft_label=True)
        ok = dict(activation=act, include_background=ib, batch=batch, reduction=reduction, soft_label=True)
        pairs = [
            (ml.DiceLoss(**mk), lambda x, t: losskit.dice_loss(x, t, **ok)),
            (ml.DiceLoss(jaccard=True, **mk),
             lambda x, t: losskit.jaccard_loss(x, t, smooth_nr=5e-6, smooth_dr=5e-6, **ok)),
            (ml.TverskyLoss(alpha=0.3, beta=0.7, **mk), lambda x, t: losskit.tversky_loss(x, t, alpha=0.3, beta=0.7, **ok)),
        ]
        for peer, ours in pairs:
            x1, x2 = t64(X).requires_grad_(True), t64(X).requires_grad_(True)
            vp, vo = peer(x1, target), ours(x2, target)
            (gp,), (go,) = torch.autograd.grad(vp, x1), torch.autograd.grad(vo, x2)
            msg = f"{MONAI} {type(peer).__name__}(soft_label=True) {act=} {ib=} {batch=} {reduction=}"
            np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-10, err_msg=msg)
            np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-13, err_msg=msg + " gradient")


# ----------------------------------------------------------------- clDice (issue 15)


@pytest.mark.parametrize("spatial", [(9, 11), (6, 7, 8)], ids=lambda s: f"{MONAI}-{len(s)}d")
def test_monai_soft_cldice_and_dice_cldice_torch64(spatial):
    """MONAI's ``SoftclDiceLoss`` / ``SoftDiceclDiceLoss`` pool the channels; on one channel
    they are ours with ``harmonic_smooth=1e-4`` (values and gradients). With several
    classes ours is one value per class: each class against MONAI on that channel alone."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3) + spatial)
    lab = rng.integers(0, 3, size=(2,) + spatial)
    onehot = np.moveaxis(np.eye(3)[lab], -1, 1)
    for it, act in itertools.product([0, 1, 3, 5], ["sigmoid", "softmax"]):
        peer_cl = ml.SoftclDiceLoss(iter_=it, sigmoid=act == "sigmoid", reduction="none")
        peer_dcl = ml.SoftDiceclDiceLoss(iter_=it, alpha=0.3, sigmoid=act == "sigmoid", reduction="none")
        x1, x2 = t64(x).requires_grad_(True), t64(x).requires_grad_(True)
        p1 = torch.softmax(x1, 1) if act == "softmax" else x1
        ours = losskit.cldice_loss(x2, t64(lab[:, None]), activation=act, iterations=it, harmonic_smooth=1e-4,
                                   reduction="none")
        per_class = torch.stack([peer_cl(p1[:, c:c + 1], t64(onehot[:, c:c + 1])) for c in range(3)], 1)
        msg = f"{MONAI} SoftclDiceLoss per channel {spatial=} {it=} {act=}"
        np.testing.assert_allclose(ours.detach().numpy(), per_class.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=msg)
        (gp,), (go,) = torch.autograd.grad(per_class.sum(), x1), torch.autograd.grad(ours.sum(), x2)
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-12, err_msg=msg + " gradient")
        # one channel: SoftDiceclDiceLoss (Dice with smooth 1 and clDice, alpha-weighted), reduced as MONAI does
        x1c = t64(x[:, :1]).requires_grad_(True)
        x2c = t64(x[:, :1]).requires_grad_(True)
        a = "sigmoid" if act == "sigmoid" else None
        inp1 = x1c if a else torch.sigmoid(x1c)
        inp2 = x2c if a else torch.sigmoid(x2c)
        vp = peer_dcl(inp1, t64(onehot[:, 1:2])).mean()
        vo = losskit.dice_cldice_loss(inp2, t64(onehot[:, 1:2]), activation=a, alpha=0.3, iterations=it,
                                      harmonic_smooth=1e-4)
        (gp,), (go,) = torch.autograd.grad(vp, x1c), torch.autograd.grad(vo, x2c)
        msg = f"{MONAI} SoftDiceclDiceLoss one channel {spatial=} {it=}"
        np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-10, err_msg=msg)
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-12, err_msg=msg + " gradient")


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "torch_pool"])
@pytest.mark.parametrize("spatial", [(9, 11), (6, 7, 8)], ids=lambda s: f"{MONAI}-{len(s)}d")
def test_monai_soft_cldice_gradients_at_ties(spatial, fast):
    """Binary and quantised probabilities put ties in every pooling window, between distinct
    pixels: the reference's tie rule (the window's first pixel) and the pooling path both
    give MONAI's max-pooling gradients there, not just on tie-free random inputs."""
    rng = np.random.default_rng(5)
    target = t64((rng.random((2, 1) + spatial) > 0.6) * 1.0)
    for kind, p in [("binary", (rng.random((2, 1) + spatial) > 0.5) * 1.0),
                    ("quarters", np.round(rng.random((2, 1) + spatial) * 4) / 4)]:
        x1, x2 = t64(p).requires_grad_(True), t64(p).requires_grad_(True)
        vp = ml.SoftclDiceLoss(iter_=3, reduction="none")(x1, target)
        with losskit.fast_paths(only="segmentation.torch_pool" if fast else ()) as used:
            vo = losskit.cldice_loss(x2, target, activation=None, harmonic_smooth=1e-4, reduction="none")
        assert used == ({"segmentation.torch_pool"} if fast else set())
        (gp,), (go,) = torch.autograd.grad(vp.sum(), x1), torch.autograd.grad(vo.sum(), x2)
        msg = f"{MONAI} SoftclDiceLoss {kind} {spatial=}"
        np.testing.assert_allclose(vo.detach().numpy()[:, 0], vp.detach().numpy(), rtol=1e-10, err_msg=msg)
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-8, atol=1e-12, err_msg=msg + " gradient")


# ----------------------------------------------------------------- Hausdorff DT loss (issue 15)


@pytest.mark.parametrize("spatial", [(16, 17), (8, 9, 10)], ids=lambda s: f"{MONAI}-scipy-{len(s)}d")
def test_monai_hausdorff_dt_and_log_hausdorff_dt_torch64(spatial):
    """MONAI's ``HausdorffDTLoss`` / ``LogHausdorffDTLoss`` (sigmoid, the 0.5 threshold; the
    distance maps from scipy.ndimage ``distance_transform_edt``): values and gradients.
    MONAI casts the maps to float32 (``.float()``), hence float32-level agreement."""
    pytest.importorskip("scipy")
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3) + spatial)
    lab = rng.integers(0, 3, size=(2,) + spatial)
    onehot = np.moveaxis(np.eye(3)[lab], -1, 1)
    for ib, batch, lg, reduction, alpha in itertools.product(
        [True, False], [False, True], [False, True], ["mean", "sum"], [2.0, 1.0]
    ):
        cls = ml.LogHausdorffDTLoss if lg else ml.HausdorffDTLoss
        peer = cls(sigmoid=True, include_background=ib, batch=batch, reduction=reduction, alpha=alpha)
        x1, x2 = t64(x).requires_grad_(True), t64(x).requires_grad_(True)
        vp = peer(x1, t64(onehot))
        vo = losskit.hausdorff_dt_loss(x2, t64(lab[:, None]), activation="sigmoid", include_background=ib,
                                       batch=batch, reduction=reduction, alpha=alpha, log=lg)
        (gp,), (go,) = torch.autograd.grad(vp, x1), torch.autograd.grad(vo, x2)
        msg = f"{MONAI} {cls.__name__} {spatial=} {ib=} {batch=} {reduction=} {alpha=}"
        np.testing.assert_allclose(vo.item(), vp.item(), rtol=1e-6, err_msg=msg)
        np.testing.assert_allclose(go.numpy(), gp.numpy(), rtol=1e-5, atol=1e-9, err_msg=msg + " gradient")
