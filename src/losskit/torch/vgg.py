"""The VGG16 ``features`` network (architecture only) and a safe loader for its weights.

losskit ships no weights and downloads nothing. :func:`vgg16_features` builds the
convolutional part of VGG16 (configuration "D" of Simonyan & Zisserman, 2015) as a plain
``nn.Sequential`` with torchvision's indices, so torchvision's ImageNet state dict
``vgg16-397923af.pth`` loads into it key for key (``features.N.weight`` / ``features.N.bias``
of the full model, or ``N.weight`` / ``N.bias`` of a features-only dict).
:func:`load_state_dict_file` reads such a file with ``torch.load(weights_only=True)``, so a
file that holds anything but tensors and plain containers is refused, never executed.

Layer names follow the paper's blocks: ``conv{b}_{i}``, ``relu{b}_{i}`` and ``pool{b}``.
The feature losses use the ReLU outputs; the slices ``[0:4]``, ``[4:9]``, ``[9:16]``,
``[16:23]``, ``[23:30]`` end at ``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_3``,
``relu5_3`` (indices 3, 8, 15, 22, 29).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = [
    "VGG16_CONFIG",
    "VGG16_LAYERS",
    "VGG16_WEIGHTS_HINT",
    "vgg16_features",
    "load_state_dict_file",
    "load_vgg16_features",
    "pools_before",
]

# Channels per conv layer, "M" for a 2x2 max-pool (VGG16, configuration "D").
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _layer_names() -> dict[str, int]:
    names: dict[str, int] = {}
    idx, block, conv = 0, 1, 1
    for v in VGG16_CONFIG:
        if v == "M":
            names[f"pool{block}"] = idx
            idx += 1
            block, conv = block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = idx
            names[f"relu{block}_{conv}"] = idx + 1
            idx += 2
            conv += 1
    return names


#: Layer name -> index in ``vgg16_features()`` (``relu3_3`` -> 15, ...).
VGG16_LAYERS: dict[str, int] = _layer_names()

VGG16_WEIGHTS_HINT = (
    "losskit downloads nothing. Pass weights='path/to/vgg16-397923af.pth', torchvision's "
    "ImageNet VGG16 state dict: after any torchvision download it is in the torch hub cache "
    "(~/.cache/torch/hub/checkpoints/vgg16-397923af.pth, or $TORCH_HOME/hub/checkpoints/), "
    "and torchvision publishes it at https://download.pytorch.org/models/vgg16-397923af.pth. "
    "Or pass feature_extractor=: any nn.Module or callable that maps an image batch to a "
    "dict {layer name: feature map (N, C, H, W)}."
)


def vgg16_features() -> nn.Sequential:
    """VGG16's ``features``: 13 conv 3x3 (padding 1) + ReLU, 5 max-pools; 31 modules.

    Parameters are randomly initialised (PyTorch's defaults): load real weights with
    :func:`load_vgg16_features`. The ReLUs are not in place (torchvision's are), so
    the intermediate activations that the feature losses read stay intact; the state
    dict is the same.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for v in VGG16_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1))
            layers.append(nn.ReLU(inplace=False))
            in_ch = int(v)
    return nn.Sequential(*layers)


def pools_before(index: int) -> int:
    """Number of 2x2 max-pools in ``vgg16_features()[:index + 1]`` (each halves the size)."""
    return sum(1 for name, i in VGG16_LAYERS.items() if name.startswith("pool") and i <= index)


def load_state_dict_file(path: str | os.PathLike, *, what: str = "weights") -> dict[str, torch.Tensor]:
    """A state dict read from ``path`` with ``torch.load(weights_only=True, map_location="cpu")``.

    Raises ``ValueError`` when the file holds anything but a mapping of tensors (the
    restricted unpickler refuses arbitrary objects: a file is data, never code) and
    ``FileNotFoundError`` naming the path when there is no such file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a file path (str or os.PathLike), got {type(path).__name__}")
    path = os.path.expanduser(os.fspath(path))  # "~/.cache/torch/hub/checkpoints/..." works
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: expected a state dict file, got {path!r} (no such file)")
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError) as exc:
        raise ValueError(
            f"{what}: expected a file of tensors loadable with torch.load(weights_only=True), "
            f"got {path!r}, which was refused ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc
    return _as_state_dict(obj, what)


def _as_state_dict(obj: Any, what: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]  # checkpoints saved as {"state_dict": ..., "epoch": ...}
    if not isinstance(obj, Mapping):
        raise ValueError(f"{what}: expected a state dict (a mapping of names to tensors), got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{what}: expected a mapping of names to tensors, got non-tensor entries {bad[:3]}")
    return dict(obj)


def load_vgg16_features(weights: str | os.PathLike | Mapping[str, torch.Tensor]) -> nn.Sequential:
    """:func:`vgg16_features` with ``weights`` loaded: a file path or a state dict.

    Accepts torchvision's full VGG16 state dict (the ``features.`` entries are used, the
    classifier's ignored) or a features-only one (``0.weight`` ... ``28.bias``). Missing
    or misshapen entries raise ``ValueError`` naming them.
    """
    if isinstance(weights, Mapping):
        sd = _as_state_dict(weights, "weights")
    else:
        sd = load_state_dict_file(weights, what="weights")
    if any(k.startswith("features.") for k in sd):
        sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    net = vgg16_features()
    expected = net.state_dict()
    missing = sorted(set(expected) - set(sd), key=lambda k: (int(k.split(".")[0]), k))
    unexpected = sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise ValueError(
            "weights: expected a VGG16 state dict (torchvision's vgg16-397923af.pth keys "
            "'features.N.weight/bias', or features-only 'N.weight/bias'), got "
            + (f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}" if missing else "")
            + (", " if missing and unexpected else "")
            + (f"unexpected {unexpected[:4]}{' ...' if len(unexpected) > 4 else ''}" if unexpected else "")
        )
    wrong = [k for k in expected if tuple(sd[k].shape) != tuple(expected[k].shape)]
    if wrong:
        k = wrong[0]
        raise ValueError(
            f"weights: expected {k} of shape {tuple(expected[k].shape)} (VGG16), got {tuple(sd[k].shape)}"
        )
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in sd.items()})
    return net
