"""Perceptual, style and LPIPS-style losses, and the VGG16 features loader.

VGG16 weights are never downloaded: the tests save *randomly initialised* VGG16 weights
to a temporary file in torchvision's key layout and load them back.
"""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losskit.torch import LPIPSLoss, PerceptualLoss, StyleLoss, gram_matrix, load_vgg16_features, vgg16_features
from losskit.torch.vgg import VGG16_LAYERS, pools_before

MEAN = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)


class NotATensor:
    """A picklable object that a weights-only load must refuse."""

    def __init__(self):
        self.payload = "not data"


@pytest.fixture(scope="module")
def vgg():
    torch.manual_seed(0)
    return vgg16_features()


@pytest.fixture(scope="module")
def weight_files(vgg, tmp_path_factory):
    """torchvision-style full VGG16 state dict and a features-only one, on disk."""
    d = tmp_path_factory.mktemp("vgg")
    full = {f"features.{k}": v.clone() for k, v in vgg.state_dict().items()}
    full["classifier.0.weight"] = torch.randn(7, 5)  # the classifier is ignored
    full["classifier.0.bias"] = torch.randn(7)
    torch.save(full, d / "vgg16-full.pth")
    torch.save({k: v.clone() for k, v in vgg.state_dict().items()}, d / "vgg16-features.pth")
    return d / "vgg16-full.pth", d / "vgg16-features.pth"


def _images(n=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g), torch.rand(n, 3, size, size, generator=g)


def _feats(x):
    """A toy extractor with known outputs (module level: picklable)."""
    return {"a": x, "b": 2.0 * x, "pooled": F.avg_pool2d(x, 2)}


# --------------------------------------------------------------------------- architecture, loading


def test_vgg16_layout_matches_torchvision_indices():
    net = vgg16_features()
    assert len(net) == 31
    assert {n: VGG16_LAYERS[n] for n in ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")} == {
        "relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29,
    }
    # The slices [0:4], [4:9], [9:16], [16:23], [23:30] end at those ReLUs, then a pool.
    for end in (3, 8, 15, 22, 29):
        assert isinstance(net[end], nn.ReLU) and isinstance(net[end + 1], nn.MaxPool2d)
    keys = list(net.state_dict())
    convs = [i for i, m in enumerate(net) if isinstance(m, nn.Conv2d)]
    assert len(convs) == 13 and keys == [f"{i}.{p}" for i in convs for p in ("weight", "bias")]
    assert tuple(net[28].weight.shape) == (512, 512, 3, 3) and tuple(net[0].weight.shape) == (64, 3, 3, 3)
    assert pools_before(VGG16_LAYERS["relu3_3"]) == 2 and pools_before(VGG16_LAYERS["relu5_3"]) == 4


@pytest.mark.parametrize("which", [0, 1], ids=["full_state_dict", "features_only"])
def test_weights_round_trip_from_file(vgg, weight_files, which):
    loss = PerceptualLoss(weights=weight_files[which])
    loaded = loss.feature_extractor.state_dict()
    expected = vgg.state_dict()
    assert loaded.keys() == expected.keys()
    for k in expected:
        torch.testing.assert_close(loaded[k], expected[k], rtol=0, atol=0)
    # The same network as a mapping (already loaded state dict) too.
    net = load_vgg16_features({f"features.{k}": v for k, v in expected.items()})
    torch.testing.assert_close(net[0].weight, vgg[0].weight, rtol=0, atol=0)


def test_file_with_non_tensor_objects_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": NotATensor()}, path)
    with pytest.raises(ValueError, match=r"weights: expected a file of tensors loadable with torch.load\(weights_only=True\)"):
        PerceptualLoss(weights=path)
    path2 = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path2)
    with pytest.raises(ValueError, match="weights: expected a state dict"):
        PerceptualLoss(weights=path2)


def test_wrong_state_dicts_are_refused(vgg, tmp_path):
    sd = dict(vgg.state_dict())
    del sd["28.bias"]
    with pytest.raises(ValueError, match=r"weights: expected a VGG16 state dict .* missing \['28.bias'\]"):
        load_vgg16_features(sd)
    sd = dict(vgg.state_dict())
    sd["0.weight"] = torch.zeros(64, 1, 3, 3)
    with pytest.raises(ValueError, match=r"weights: expected 0.weight of shape \(64, 3, 3, 3\)"):
        load_vgg16_features(sd)
    with pytest.raises(FileNotFoundError, match="no such file"):
        PerceptualLoss(weights=tmp_path / "nope.pth")


def test_no_weights_and_no_extractor_says_where_to_get_them():
    with pytest.raises(ValueError, match=r"no VGG16 weights and no feature_extractor.*vgg16-397923af\.pth.*hub/checkpoints.*feature_extractor="):
        PerceptualLoss()
    with pytest.raises(ValueError, match="got both"):
        PerceptualLoss(weights="x.pth", feature_extractor=_feats)


# --------------------------------------------------------------------------- values


def _vgg_feature(vgg, x, layer):
    return vgg[: VGG16_LAYERS[layer] + 1]((x - MEAN) / STD)


@pytest.mark.parametrize("distance", ["mse", "l1"])
def test_perceptual_uses_the_selected_vgg_layers(vgg, distance):
    x, y = _images()
    loss = PerceptualLoss(layers=("relu1_2", "relu2_2"), layer_weights=(0.5, 2.0), feature_extractor=vgg, distance=distance)
    with torch.no_grad():
        d1 = _vgg_feature(vgg, x, "relu1_2") - _vgg_feature(vgg, y, "relu1_2")
        d2 = _vgg_feature(vgg, x, "relu2_2") - _vgg_feature(vgg, y, "relu2_2")
        f = (lambda d: d.pow(2)) if distance == "mse" else (lambda d: d.abs())
        # (1 / CHW) ||phi(x) - phi(y)||^2 per image, weighted sum over layers, batch mean.
        per_image = 0.5 * f(d1).mean(dim=(1, 2, 3)) + 2.0 * f(d2).mean(dim=(1, 2, 3))
    torch.testing.assert_close(loss(x, y), per_image.mean(), rtol=1e-5, atol=1e-7)
    none = PerceptualLoss(layers=("relu1_2", "relu2_2"), layer_weights=(0.5, 2.0), feature_extractor=vgg,
                          distance=distance, reduction="none")
    torch.testing.assert_close(none(x, y), per_image, rtol=1e-5, atol=1e-7)
    total = PerceptualLoss(layers=("relu1_2", "relu2_2"), layer_weights=(0.5, 2.0), feature_extractor=vgg,
                           distance=distance, reduction="sum")
    torch.testing.assert_close(total(x, y), per_image.sum(), rtol=1e-5, atol=1e-7)


def test_layer_selection_with_a_custom_extractor():
    x, y = _images(size=4)
    # Only "b" is used: mean((2x - 2y)^2) = 4 mean((x - y)^2); "a" would give a quarter.
    loss = PerceptualLoss(layers=("b",), feature_extractor=_feats, normalize_input=False)
    torch.testing.assert_close(loss(x, y), 4 * ((x - y) ** 2).mean(), rtol=1e-6, atol=1e-7)
    both = PerceptualLoss(layers=("a", "pooled"), layer_weights=(1.0, 3.0), feature_extractor=_feats, normalize_input=False)
    expect = ((x - y) ** 2).mean() + 3 * ((F.avg_pool2d(x, 2) - F.avg_pool2d(y, 2)) ** 2).mean()
    torch.testing.assert_close(both(x, y), expect, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"layers: expected names among the extractor's outputs \['a', 'b', 'pooled'\], got \['c'\]"):
        PerceptualLoss(layers=("c",), feature_extractor=_feats)(x, y)
    with pytest.raises(TypeError, match="feature_extractor: expected it to return a dict"):
        PerceptualLoss(layers=("a",), feature_extractor=lambda t: t)(x, y)


def test_gram_matrix_equals_einsum():
    g = torch.Generator().manual_seed(3)
    phi = torch.randn(2, 5, 4, 3, generator=g, dtype=torch.float64)
    direct = torch.einsum("nchw,ndhw->ncd", phi, phi) / (5 * 4 * 3)
    torch.testing.assert_close(gram_matrix(phi), direct, rtol=1e-12, atol=1e-12)
    assert gram_matrix(phi.float()).dtype == torch.float32
    with pytest.raises(ValueError, match="features: expected"):
        gram_matrix(phi[0, 0])


@pytest.mark.parametrize("distance", ["fro", "mse", "l1"])
def test_style_loss_equals_direct_gram_distance(vgg, distance):
    x, y = _images()
    layers = ("relu1_2", "relu2_2")
    loss = StyleLoss(layers=layers, feature_extractor=vgg, distance=distance, reduction="none")
    with torch.no_grad():
        expect = 0
        for layer in layers:
            fx, fy = _vgg_feature(vgg, x, layer), _vgg_feature(vgg, y, layer)
            c, hw = fx.shape[1], fx.shape[2] * fx.shape[3]
            gx = torch.einsum("nchw,ndhw->ncd", fx, fx) / (c * hw)
            gy = torch.einsum("nchw,ndhw->ncd", fy, fy) / (c * hw)
            d = gx - gy
            d = {"fro": (d**2).sum(dim=(1, 2)), "mse": (d**2).mean(dim=(1, 2)), "l1": d.abs().mean(dim=(1, 2))}[distance]
            expect = expect + d
    torch.testing.assert_close(loss(x, y), expect, rtol=1e-4, atol=1e-9)


def test_lpips_equals_direct_formula_with_heads_file(tmp_path):
    x, y = _images(size=4)
    g = torch.Generator().manual_seed(5)
    a0, a1 = torch.rand(1, 3, 1, 1, generator=g), torch.rand(3, generator=g)
    torch.save({"lin0.model.1.weight": a0, "lin1.model.1.weight": a1}, tmp_path / "heads.pth")
    loss = LPIPSLoss(layers=("a", "pooled"), heads=tmp_path / "heads.pth", feature_extractor=_feats,
                     normalize_input=False, reduction="none")

    def unit(f):
        return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)

    expect = 0
    for layer, a in (("a", a0), ("pooled", a1)):
        d = (unit(_feats(x)[layer]) - unit(_feats(y)[layer])) ** 2  # (N, C, H, W)
        expect = expect + (d * a.reshape(1, 3, 1, 1)).sum(dim=1).mean(dim=(1, 2))
    torch.testing.assert_close(loss(x, y), expect, rtol=1e-6, atol=1e-8)
    # Without heads: the channel sum (all weights 1); keys by layer name work too.
    plain = LPIPSLoss(layers=("a",), feature_extractor=_feats, normalize_input=False, reduction="none")
    ones = LPIPSLoss(layers=("a",), heads={"a": torch.ones(3)}, feature_extractor=_feats, normalize_input=False,
                     reduction="none")
    torch.testing.assert_close(plain(x, y), ones(x, y), rtol=0, atol=0)
    with pytest.raises(ValueError, match="heads: expected a weight for layer 1"):
        LPIPSLoss(layers=("a", "b"), heads={"lin0.model.0.weight": torch.ones(1, 3, 1, 1)}, feature_extractor=_feats)


def test_lpips_unit_normalisation_makes_it_scale_invariant():
    x, y = _images(size=4)
    loss = LPIPSLoss(layers=("a",), feature_extractor=_feats, normalize_input=False)
    torch.testing.assert_close(loss(x, y), loss(3.0 * x, 3.0 * y), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cls", [PerceptualLoss, StyleLoss, LPIPSLoss])
def test_identical_images_give_zero(vgg, cls):
    x, _ = _images()
    assert cls(feature_extractor=vgg)(x, x.clone()).item() == 0.0


def test_resize_equals_resizing_first(vgg):
    x, y = _images(size=20)
    loss = PerceptualLoss(layers=("relu2_2",), feature_extractor=vgg, resize=8)
    small = PerceptualLoss(layers=("relu2_2",), feature_extractor=vgg)
    rx = F.interpolate(x, size=(8, 8), mode="bilinear", align_corners=False)
    ry = F.interpolate(y, size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(loss(x, y), small(rx, ry), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- gradients, modes, precision


@pytest.mark.parametrize("cls", [PerceptualLoss, StyleLoss, LPIPSLoss])
def test_gradients_flow_to_the_input_only(vgg, cls):
    x, y = _images()
    x.requires_grad_(True)
    loss = cls(feature_extractor=vgg)
    assert all(not p.requires_grad for p in loss.parameters())
    loss(x, y).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())
    assert y.grad is None


def test_gradient_matches_numerical_float64():
    # A small float64 extractor keeps the central differences exact enough.
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()).double()

    def feats(x):
        h = net(x)
        return {"h": h, "p": F.max_pool2d(h, 2)}

    x, y = (t.double() for t in _images(n=1, size=4))
    for cls in (PerceptualLoss, StyleLoss, LPIPSLoss):
        loss = cls(layers=("h", "p"), feature_extractor=feats)
        assert torch.autograd.gradcheck(lambda a: loss(a, y), (x.clone().requires_grad_(True),))


def test_extractor_stays_in_eval_mode_after_train():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Dropout(0.5))
    loss = PerceptualLoss(layers=("out",), feature_extractor=_DictWrapper(net))
    loss.train()
    assert loss.training and not loss.feature_extractor.training and not net[2].training
    x, y = _images()
    first, second = loss(x, y), loss(x, y)
    assert first.item() == second.item()  # no dropout, frozen batch-norm statistics
    assert torch.equal(net[1].running_mean, torch.zeros(4))  # statistics not updated


class _DictWrapper(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return {"out": self.net(x)}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("cls", [PerceptualLoss, StyleLoss, LPIPSLoss])
def test_autocast_and_half_inputs_are_finite(vgg, cls, dtype):
    x, y = _images()
    loss = cls(layers=("relu1_2", "relu2_2"), feature_extractor=vgg)
    ref = loss(x, y)
    xa = x.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=dtype):
        out = loss(xa, y)
    out.backward()
    assert out.dtype == torch.float32 and torch.isfinite(out)
    assert torch.isfinite(xa.grad).all()
    # Convolutions in 8 (bf16) or 11 (fp16) significant bits: a few percent at most.
    assert abs(out.item() - ref.item()) <= 0.05 * abs(ref.item())
    xh = x.to(dtype).requires_grad_(True)
    out = loss(xh, y.to(dtype))
    out.backward()
    assert torch.isfinite(out) and xh.grad.dtype == dtype and torch.isfinite(xh.grad.float()).all()


# --------------------------------------------------------------------------- validation, module behaviour


def test_invalid_images_raise(vgg):
    loss = PerceptualLoss(feature_extractor=vgg)  # relu3_3: two pools, needs >= 4 px
    x, y = _images(size=8)
    with pytest.raises(ValueError, match=r"input: expected a 4-D \(N, C, H, W\) image batch"):
        loss(x[0], y[0])
    with pytest.raises(ValueError, match="input: expected 3 channels"):
        loss(x[:, :1], y[:, :1])
    with pytest.raises(ValueError, match=r"input: expected pixel values in \[0, 1\]"):
        loss(x * 2 - 1, y)
    with pytest.raises(ValueError, match=r"target: expected pixel values in \[0, 1\]"):
        loss(x, y + 1)
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        loss(x, y[:1])
    with pytest.raises(TypeError, match="input: expected a floating-point image tensor"):
        loss((x * 255).to(torch.uint8), y)
    with pytest.raises(ValueError, match=r"input: expected images of at least 4 x 4 pixels for layer 'relu3_3'"):
        loss(x[..., :3, :3], y[..., :3, :3])
    # normalize_input=False: no range check (already normalised images).
    free = PerceptualLoss(feature_extractor=vgg, normalize_input=False)
    assert torch.isfinite(free(x * 2 - 1, y))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(distance="l2"), ValueError, "distance: expected one of 'mse', 'l1'"),
        (dict(layers=("relu9_9",)), ValueError, r"layers: expected VGG16 layer names"),
        (dict(layers="relu3_3"), ValueError, "layers: expected a non-empty sequence"),
        (dict(layers=()), ValueError, "layers: expected a non-empty sequence"),
        (dict(layers=("relu1_2", "relu1_2")), ValueError, "layers: expected distinct names"),
        (dict(layer_weights=(1.0, 2.0)), ValueError, "layer_weights: expected 1 numbers"),
        (dict(layer_weights=(-1.0,)), ValueError, "layer_weights: expected a number >= 0"),
        (dict(resize=0), ValueError, "resize: expected None, a positive int"),
        (dict(resize=(8, 8, 8)), ValueError, "resize: expected None, a positive int"),
        (dict(reduction="avg"), ValueError, "reduction: expected one of"),
        (dict(normalize_input=1), TypeError, "normalize_input: expected a bool"),
    ],
)
def test_invalid_options_raise(vgg, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PerceptualLoss(feature_extractor=vgg, **kwargs)


def test_feature_extractor_must_be_callable():
    with pytest.raises(TypeError, match="feature_extractor: expected an nn.Module or a callable"):
        PerceptualLoss(feature_extractor=42)


def test_repr_shows_options_and_pickles(vgg):
    loss = StyleLoss(layers=("relu1_2",), feature_extractor=vgg, distance="mse", resize=(8, 8))
    text = repr(loss)
    for part in ("layers=('relu1_2',)", "distance='mse'", "resize=(8, 8)", "normalize_input=True", "reduction='mean'"):
        assert part in text
    clone = pickle.loads(pickle.dumps(loss))
    x, y = _images()
    torch.testing.assert_close(clone(x, y), loss(x, y), rtol=0, atol=0)
    fn_loss = PerceptualLoss(layers=("a",), feature_extractor=_feats, normalize_input=False)
    assert "feature_extractor=_feats" in repr(fn_loss)
    clone = pickle.loads(pickle.dumps(fn_loss))
    torch.testing.assert_close(clone(x, y), fn_loss(x, y), rtol=0, atol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("cls", [PerceptualLoss, StyleLoss, LPIPSLoss])
def test_empty_batch_gives_zero_with_graph(vgg, cls, reduction):
    x = torch.rand(0, 3, 8, 8, requires_grad=True)
    out = cls(layers=("relu1_2",), feature_extractor=vgg, reduction=reduction)(x, torch.rand(0, 3, 8, 8))
    assert out.shape == ((0,) if reduction == "none" else ())
    assert torch.all(out == 0)
    out.sum().backward()
    assert x.grad.shape == x.shape


def test_style_target_may_be_one_image_of_another_size(vgg):
    x, _ = _images(n=2, size=16)
    style = torch.rand(1, 3, 12, 20, generator=torch.Generator().manual_seed(9))
    loss = StyleLoss(layers=("relu1_2", "relu2_2"), feature_extractor=vgg, reduction="none")
    out = loss(x, style)
    # The same as comparing each image with the style image separately.
    for i in range(2):
        torch.testing.assert_close(out[i], loss(x[i : i + 1], style)[0], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match=r"target: expected \(N, C, H', W'\) or \(1, C, H', W'\)"):
        loss(x, torch.rand(3, 3, 16, 16))
    with pytest.raises(ValueError, match="target: expected images of at least 2 x 2 pixels"):
        loss(x, torch.rand(1, 3, 1, 8))
    with pytest.raises(ValueError, match="target: expected the shape of input"):
        PerceptualLoss(feature_extractor=vgg)(x, style)


def test_weights_path_may_start_with_home(vgg, weight_files, monkeypatch):
    monkeypatch.setenv("HOME", str(weight_files[1].parent))
    loss = PerceptualLoss(weights="~/" + weight_files[1].name)
    torch.testing.assert_close(loss.feature_extractor[0].weight, vgg[0].weight, rtol=0, atol=0)
