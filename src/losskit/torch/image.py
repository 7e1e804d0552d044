r"""Perceptual losses: feature (content) loss, style loss and an LPIPS-style distance.

All three compare images through the activations of a frozen network, by default the
convolutional part of VGG16 (:mod:`losskit.torch.vgg`; weights from a local file, never
downloaded). Any ``nn.Module`` or callable mapping an image batch to a dict
``{layer name: (N, C, H, W) feature map}`` can replace it (``feature_extractor=``).

Conventions shared by the three modules:

- ``forward(input, target)``: images ``(N, 3, H, W)`` with values in ``[0, 1]`` when
  ``normalize_input=True`` (the default; checked in eager mode): they are normalised with
  ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), as the VGG weights
  expect. Pass ``normalize_input=False`` for images already normalised (then any range
  and any channel count go to a custom extractor).
- The extractor is frozen: its parameters get ``requires_grad=False`` (a user's module is
  frozen in place) and it stays in eval mode even after ``loss.train()``. Gradients reach
  the images only.
- Features are compared in float32 (float64 if the extractor is float64); under autocast
  the extractor's convolutions run in the autocast dtype, the distances and Gram matrices
  do not (autocast is turned off for them).
- ``reduction``: ``"mean"`` over the batch (default), ``"sum"``, or ``"none"`` for the
  per-image losses ``(N,)``.

These are the PyTorch members of the image family (:mod:`losskit.image`), whose
array-API losses compare images by their pixels rather than by network features:
:func:`losskit.ssim_loss`, :func:`losskit.ms_ssim_loss`, :func:`losskit.ms_ssim_l1_loss`
(structural similarity) and :func:`losskit.total_variation_loss` (a smoothness
regulariser, often added to a perceptual or style loss).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch
from torch import nn
import torch.nn.functional as F

from .._checks import check_bool, check_choice, check_number, check_reduction
from .._reduce import reduce_loss
from .._xp import is_traced, namespace
from .vgg import (
    VGG16_LAYERS,
    VGG16_WEIGHTS_HINT,
    VGG16_CONFIG,
    load_state_dict_file,
    load_vgg16_features,
    pools_before,
    vgg16_features,
)

__all__ = [
    "PerceptualLoss",
    "StyleLoss",
    "LPIPSLoss",
    "gram_matrix",
    "vgg16_features",
    "load_vgg16_features",
    "VGG16_LAYERS",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    r"""Gram matrices of feature maps, normalised by the feature count (Johnson et al. 2016).

    .. math::

        G_{c c'} = \frac{1}{C H W} \sum_{h, w} \phi_{c h w}\, \phi_{c' h w}

    where :math:`\phi` is one image's ``(C, H, W)`` feature map.

    Args:
        features: ``(N, C, H, W)`` float tensor (any number of trailing spatial dims).

    Returns:
        ``(N, C, C)`` tensor in float32 (float64 for float64 features); computed with
        autocast off (a bf16 matmul would round the sums over H x W).

    Example:
        >>> import torch
        >>> phi = torch.tensor([[[[1.0, 2.0]], [[0.0, 1.0]]]])  # N=1, C=2, H=1, W=2
        >>> gram_matrix(phi)  # [[1+4, 0+2], [2, 0+1]] / (2 * 1 * 2)
        tensor([[[1.2500, 0.5000],
                 [0.5000, 0.2500]]])
    """
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"features: expected a torch.Tensor, got {type(features).__name__}")
    if features.ndim < 3:
        raise ValueError(f"features: expected (N, C, H, W), got shape {tuple(features.shape)}")
    n, c = features.shape[:2]
    f = features.flatten(2)  # (N, C, H*W); flatten, not reshape(-1): N may be 0
    dtype = torch.float64 if f.dtype == torch.float64 else torch.float32
    with torch.autocast(device_type=f.device.type, enabled=False):
        f = f.to(dtype)
        return torch.bmm(f, f.transpose(1, 2)) / (c * f.shape[-1])


class _FeatureLoss(nn.Module):
    """Shared plumbing: the extractor, input checks and normalisation, resizing."""

    _default_layers: tuple[str, ...] = ()

    def __init__(
        self,
        layers: Sequence[str] | None,
        layer_weights: Sequence[float] | None,
        weights: str | os.PathLike | Mapping[str, torch.Tensor] | None,
        feature_extractor: nn.Module | Callable[[torch.Tensor], Mapping[str, torch.Tensor]] | None,
        normalize_input: bool,
        resize: int | tuple[int, int] | None,
        reduction: str,
    ) -> None:
        super().__init__()
        cls = type(self).__name__
        check_reduction(reduction)
        check_bool("normalize_input", normalize_input)
        if layers is None:
            layers = self._default_layers
        if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
            raise ValueError(f"layers: expected a non-empty sequence of layer names, got {layers!r}")
        layers = tuple(layers)
        if not all(isinstance(n, str) for n in layers):
            raise TypeError(f"layers: expected layer names (str), got {layers!r}")
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers: expected distinct names, got {layers!r}")
        if layer_weights is None:
            layer_weights = (1.0,) * len(layers)
        if isinstance(layer_weights, (str, bytes)) or not isinstance(layer_weights, Sequence):
            raise TypeError(f"layer_weights: expected a sequence of numbers or None, got {type(layer_weights).__name__}")
        if len(layer_weights) != len(layers):
            raise ValueError(
                f"layer_weights: expected {len(layers)} numbers (one per layer), got {len(layer_weights)}"
            )
        layer_weights = tuple(float(check_number("layer_weights", w, low=0.0)) for w in layer_weights)
        self.resize = _check_resize(resize)

        if weights is not None and feature_extractor is not None:
            raise ValueError(
                f"{cls}: expected weights= (VGG16 state dict) or feature_extractor=, got both"
            )
        if feature_extractor is None:
            if weights is None:
                raise ValueError(f"{cls}: no VGG16 weights and no feature_extractor given. {VGG16_WEIGHTS_HINT}")
            feature_extractor = load_vgg16_features(weights)
        if not callable(feature_extractor):
            raise TypeError(
                f"feature_extractor: expected an nn.Module or a callable returning a dict of features, "
                f"got {type(feature_extractor).__name__}"
            )
        self._vgg = _is_vgg16_features(feature_extractor)
        if self._vgg:
            unknown = [n for n in layers if n not in VGG16_LAYERS]
            if unknown:
                relus = ", ".join(n for n in VGG16_LAYERS if n.startswith("relu"))
                raise ValueError(f"layers: expected VGG16 layer names ({relus}, conv*/pool*), got {unknown}")
            self._indices = tuple(VGG16_LAYERS[n] for n in layers)
            # Each 2x2 max-pool halves the size (floor): the deepest layer needs 2**pools px.
            self.min_size = 2 ** pools_before(max(self._indices))
        else:
            self._indices = ()
            self.min_size = 1
        if isinstance(feature_extractor, nn.Module):
            feature_extractor.requires_grad_(False)  # frozen: gradients flow to the images only
            feature_extractor.eval()
            self.feature_extractor = feature_extractor
            self._extractor_fn = None
        else:
            self.feature_extractor = None
            self._extractor_fn = feature_extractor
        self.layers = layers
        self.layer_weights = layer_weights
        self.normalize_input = normalize_input
        self.reduction = reduction
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    # -- module behaviour ------------------------------------------------------------

    def train(self, mode: bool = True):
        """Set this module's mode; the feature extractor stays in eval mode (frozen
        batch-norm statistics and no dropout, whatever the training loop does)."""
        super().train(mode)
        if self.feature_extractor is not None:
            self.feature_extractor.eval()
        return self

    @property
    def options(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "layer_weights": self.layer_weights,
            **self._extra_options(),
            "normalize_input": self.normalize_input,
            "resize": self.resize,
            "reduction": self.reduction,
        }

    def _extra_options(self) -> dict[str, Any]:
        return {}

    def extra_repr(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.options.items()]
        if self._extractor_fn is not None:
            parts.append(f"feature_extractor={getattr(self._extractor_fn, '__name__', type(self._extractor_fn).__name__)}")
        return ", ".join(parts)

    # -- computation -----------------------------------------------------------------

    def _check_images(self, input: torch.Tensor, target: torch.Tensor) -> None:
        for name, x in (("input", input), ("target", target)):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
            if not x.is_floating_point():
                raise TypeError(f"{name}: expected a floating-point image tensor, got dtype {x.dtype}")
            if x.ndim != 4:
                raise ValueError(f"{name}: expected a 4-D (N, C, H, W) image batch, got shape {tuple(x.shape)}")
            if (self.normalize_input or self._vgg) and x.shape[1] != 3:
                raise ValueError(f"{name}: expected 3 channels (RGB), got shape {tuple(x.shape)}")
        self._check_target_shape(input, target)
        for name, x in (("input", input), ("target", target)):
            size = tuple(self.resize) if self.resize is not None else tuple(x.shape[-2:])
            if min(size) < self.min_size:
                raise ValueError(
                    f"{name}: expected images of at least {self.min_size} x {self.min_size} pixels for layer "
                    f"{self.layers[self._indices.index(max(self._indices))]!r} "
                    f"(after resize={self.resize}), got {size[0]} x {size[1]}"
                )
        if self.normalize_input:
            for name, x in (("input", input), ("target", target)):
                # Eager only: under torch.compile the values are symbolic (no Python branch).
                if is_traced(x) or x.numel() == 0:
                    continue
                lo, hi = torch.aminmax(x.detach())
                lo, hi = float(lo), float(hi)
                if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
                    raise ValueError(
                        f"{name}: expected pixel values in [0, 1] (normalize_input=True), got values in "
                        f"[{lo:.4g}, {hi:.4g}]; pass normalize_input=False for images already normalised"
                    )

    def _check_target_shape(self, input: torch.Tensor, target: torch.Tensor) -> None:
        if tuple(input.shape) != tuple(target.shape):
            raise ValueError(f"target: expected the shape of input {tuple(input.shape)}, got {tuple(target.shape)}")

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        # The extractor's parameter dtype (a float32 VGG gets float32 images, also from
        # half inputs: a conv needs matching dtypes; autocast still runs it in bf16/fp16).
        # A plain callable gets float64 images as float64, anything else as float32.
        dtype = self._param_dtype() or (torch.float64 if x.dtype == torch.float64 else torch.float32)
        x = x.to(dtype)
        if self.resize is not None:
            x = F.interpolate(x, size=self.resize, mode="bilinear", align_corners=False)
        if self.normalize_input:
            x = (x - self.mean.to(dtype)) / self.std.to(dtype)
        return x

    def _param_dtype(self) -> torch.dtype | None:
        if self.feature_extractor is not None:
            for p in self.feature_extractor.parameters():
                if p.is_floating_point():
                    return p.dtype
        return None

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature maps of ``self.layers``, in that order."""
        if self._vgg:
            wanted = {i: k for k, i in enumerate(self._indices)}
            out: list[torch.Tensor | None] = [None] * len(self._indices)
            for i, layer in enumerate(self.feature_extractor):
                x = layer(x)
                if i in wanted:
                    out[wanted[i]] = x
                if i == max(self._indices):
                    break  # nothing deeper is needed
            return out  # type: ignore[return-value]
        extractor = self.feature_extractor if self.feature_extractor is not None else self._extractor_fn
        feats = extractor(x)
        if not isinstance(feats, Mapping):
            raise TypeError(
                f"feature_extractor: expected it to return a dict {{layer name: feature map}}, "
                f"got {type(feats).__name__}"
            )
        missing = [n for n in self.layers if n not in feats]
        if missing:
            raise ValueError(f"layers: expected names among the extractor's outputs {sorted(feats)}, got {missing}")
        return [feats[n] for n in self.layers]

    def _layer_distance(self, fx: torch.Tensor, fy: torch.Tensor, k: int) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_images(input, target)
        fxs = self._features(self._prepare(input))
        fys = self._features(self._prepare(target))
        total = None
        with torch.autocast(device_type=input.device.type, enabled=False):
            for k, (fx, fy, w) in enumerate(zip(fxs, fys, self.layer_weights)):
                dtype = torch.float64 if fx.dtype == torch.float64 else torch.float32
                d = self._layer_distance(fx.to(dtype), fy.to(dtype), k)
                total = w * d if total is None else total + w * d
        return reduce_loss(total, self.reduction, namespace(total))


def _check_resize(resize):
    if resize is None:
        return None
    if isinstance(resize, numbers.Integral) and not isinstance(resize, bool):
        resize = (int(resize), int(resize))
    if (
        not isinstance(resize, Sequence)
        or len(resize) != 2
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in resize)
    ):
        raise ValueError(f"resize: expected None, a positive int or (H, W), got {resize!r}")
    return (int(resize[0]), int(resize[1]))


def _is_vgg16_features(m: Any) -> bool:
    """A 31-module Sequential laid out like :func:`vgg16_features` (then layer names map
    to indices): conv/ReLU pairs and max-pools where VGG16's configuration has them."""
    if not isinstance(m, nn.Sequential) or len(m) != 31:
        return False
    kinds = []
    for v in VGG16_CONFIG:
        kinds += [nn.MaxPool2d] if v == "M" else [nn.Conv2d, nn.ReLU]
    return all(isinstance(layer, kind) for layer, kind in zip(m, kinds))


def _per_image(x: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Mean (or sum) over every axis but the batch axis; (N,) (also for N = 0)."""
    dims = tuple(range(1, x.ndim))
    return x.mean(dim=dims) if how == "mean" else x.sum(dim=dims)


class PerceptualLoss(_FeatureLoss):
    r"""Feature reconstruction (perceptual) loss of Johnson et al. (2016).

    .. math::

        \ell(\hat y, y) = \sum_j w_j \, \frac{1}{C_j H_j W_j}
            \big\lVert \phi_j(\hat y) - \phi_j(y) \big\rVert_2^2

    where

    - :math:`\phi_j` is the feature map (``C_j x H_j x W_j``) of layer ``layers[j]``,
    - :math:`w_j` is ``layer_weights[j]`` (default 1),
    - the squared L2 norm becomes the L1 norm with ``distance="l1"``.

    Args:
        layers: layer names (VGG16: ``relu1_2`` ... ``relu5_3``; a custom extractor's
            dict keys). Default ``("relu3_3",)`` (the paper's choice; ``relu2_2`` is its
            other one).
        layer_weights: one non-negative weight per layer, default all 1.
        weights: path to a VGG16 state dict file (torchvision's ``vgg16-397923af.pth``,
            full or features-only), or such a dict; loaded with ``weights_only=True``.
        feature_extractor: instead of ``weights``, any ``nn.Module`` or callable mapping
            ``(N, C, H, W)`` images to a dict of feature maps (an ``nn.Sequential`` shaped
            like :func:`vgg16_features` is read by VGG16 layer names).
        distance: ``"mse"`` (mean squared difference, the paper) or ``"l1"`` (mean
            absolute difference).
        normalize_input: inputs in ``[0, 1]``, normalised with ImageNet statistics.
        resize: ``None`` or the ``(H, W)`` (or one int) to resize to, bilinearly, first.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the batch.

    Shapes:
        ``input``, ``target``: ``(N, 3, H, W)``; result ``()`` or ``(N,)`` (``"none"``), float32.

    Notes:
        The paper's loss is the squared Euclidean distance divided by :math:`C H W`, i.e.
        the mean squared difference (``distance="mse"``). Implementations differ on the
        layer (relu2_2 vs relu3_3) and on pre- vs post-ReLU features; losskit uses the
        ReLU outputs as the paper does.

    References:
        Johnson, Alahi, Fei-Fei, Perceptual Losses for Real-Time Style Transfer and
        Super-Resolution, 2016, arXiv:1603.08155.

    Example:
        >>> import torch
        >>> from losskit.torch import PerceptualLoss
        >>> feats = lambda x: {"pix": x, "half": x[..., ::2, ::2]}  # a toy extractor
        >>> loss = PerceptualLoss(layers=("pix",), feature_extractor=feats, normalize_input=False)
        >>> a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
        >>> round(loss(a, b).item(), 4)  # mean of 0.5 ** 2
        0.25
    """

    _default_layers = ("relu3_3",)

    def __init__(
        self,
        layers: Sequence[str] = ("relu3_3",),
        layer_weights: Sequence[float] | None = None,
        weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        feature_extractor: Any = None,
        distance: str = "mse",
        normalize_input: bool = True,
        resize: int | tuple[int, int] | None = None,
        reduction: str = "mean",
    ) -> None:
        check_choice("distance", distance, ("mse", "l1"))
        super().__init__(layers, layer_weights, weights, feature_extractor, normalize_input, resize, reduction)
        self.distance = distance

    def _extra_options(self):
        return {"distance": self.distance}

    def _layer_distance(self, fx, fy, k):
        d = fx - fy
        return _per_image(d * d if self.distance == "mse" else d.abs())


class StyleLoss(_FeatureLoss):
    r"""Style reconstruction loss of Johnson et al. (2016): distances of Gram matrices.

    .. math::

        \ell(\hat y, y) = \sum_j w_j \big\lVert G_j(\hat y) - G_j(y) \big\rVert_F^2,
        \qquad G_j(x)_{c c'} = \frac{1}{C_j H_j W_j} \sum_{h, w} \phi_j(x)_{c h w}\, \phi_j(x)_{c' h w}

    where :math:`\phi_j` is the ``C_j x H_j x W_j`` feature map of layer ``layers[j]``
    (:func:`gram_matrix`) and :math:`w_j` is ``layer_weights[j]``.

    Args:
        layers: default ``("relu1_2", "relu2_2", "relu3_3", "relu4_3")`` (the paper's).
        distance: ``"fro"`` (squared Frobenius norm, the paper; default), ``"mse"``
            (its mean over the :math:`C^2` entries, the common code's
            ``mse_loss(gram(x), gram(y))``) or ``"l1"`` (mean absolute difference).
        layer_weights, weights, feature_extractor, normalize_input, resize, reduction:
            as in :class:`PerceptualLoss`.

    Shapes:
        ``input``: ``(N, 3, H, W)``; ``target``: ``(N, 3, H', W')`` or one style image
        ``(1, 3, H', W')`` for the whole batch (Gram matrices are ``C x C`` whatever the
        image size, so the sizes may differ, as in the paper); result ``()`` or ``(N,)``,
        float32.

    References:
        Johnson, Alahi, Fei-Fei, Perceptual Losses for Real-Time Style Transfer and
        Super-Resolution, 2016, arXiv:1603.08155; Gatys, Ecker, Bethge, A Neural Algorithm
        of Artistic Style, 2015, arXiv:1508.06576.

    Example:
        >>> import torch
        >>> from losskit.torch import StyleLoss
        >>> loss = StyleLoss(layers=("pix",), feature_extractor=lambda x: {"pix": x}, normalize_input=False)
        >>> a, b = torch.zeros(1, 1, 1, 2), torch.ones(1, 1, 1, 2)
        >>> loss(a, b).item()  # G(a) = 0, G(b) = (1 + 1) / (1 * 1 * 2) = 1
        1.0
    """

    _default_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
        layer_weights: Sequence[float] | None = None,
        weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        feature_extractor: Any = None,
        distance: str = "fro",
        normalize_input: bool = True,
        resize: int | tuple[int, int] | None = None,
        reduction: str = "mean",
    ) -> None:
        check_choice("distance", distance, ("fro", "mse", "l1"))
        super().__init__(layers, layer_weights, weights, feature_extractor, normalize_input, resize, reduction)
        self.distance = distance

    def _extra_options(self):
        return {"distance": self.distance}

    def _check_target_shape(self, input, target):
        if target.shape[0] not in (1, input.shape[0]) or target.shape[1] != input.shape[1]:
            raise ValueError(
                f"target: expected (N, C, H', W') or (1, C, H', W') with N, C of input {tuple(input.shape)}, "
                f"got {tuple(target.shape)}"
            )

    def _layer_distance(self, fx, fy, k):
        # A (1, C, C) style Gram matrix broadcasts over the batch.
        d = gram_matrix(fx) - gram_matrix(fy)
        d = d.abs() if self.distance == "l1" else d * d
        return _per_image(d, "sum" if self.distance == "fro" else "mean")


class LPIPSLoss(_FeatureLoss):
    r"""LPIPS-style learned perceptual distance (Zhang et al. 2018) on any extractor.

    .. math::

        d(\hat y, y) = \sum_l \frac{1}{H_l W_l} \sum_{h, w}
            \big\lVert a_l \odot \big(\tilde\phi_l(\hat y)_{hw} - \tilde\phi_l(y)_{hw}\big) \big\rVert_2^2,
        \qquad \tilde\phi_l = \frac{\phi_l}{\lVert \phi_l \rVert_{\text{channels}} + \epsilon}

    where

    - :math:`\phi_l` is the ``C_l x H_l x W_l`` feature map of layer ``layers[l]``,
      unit-normalised over channels at each pixel (:math:`\tilde\phi_l`),
    - :math:`a_l \ge 0` are the per-channel weights of the learned 1x1 linear head of
      layer :math:`l` (``heads``; all 1 without heads: the plain "unlearned" distance),
    - :math:`\epsilon` = ``eps`` keeps a zero feature vector finite.

    Args:
        layers: default the five VGG16 blocks ``relu1_2`` ... ``relu5_3`` (LPIPS-VGG's).
        heads: ``None`` or a path to a file of per-layer 1x1 linear weights (loaded with
            ``weights_only=True``): a state dict with one ``(1, C_l, 1, 1)`` or ``(C_l,)``
            tensor per layer, keyed ``lin{l}.model.1.weight`` (the official LPIPS release's
            ``vgg.pth`` layout; ``lin{l}.model.0.weight`` without dropout),
            ``lin{l}.weight``, or the layer name. Or such a dict.
        eps: added to the channel norm (default 1e-10, as LPIPS).
        layer_weights: extra weight per layer (default 1; LPIPS has none).
        weights, feature_extractor, normalize_input, resize, reduction: as in
            :class:`PerceptualLoss`.

    Notes:
        LPIPS feeds ``[-1, 1]`` images through a scaling layer (shift (-.030, -.088,
        -.188), scale (.458, .448, .450)); on ``[0, 1]`` images that is exactly the
        ImageNet normalisation of ``normalize_input=True`` (e.g. (x - .485) / .229 =
        (2x - 1 + .030) / .458). Pass ``[0, 1]`` images. The heads are *not* trained
        here: a heads file from the LPIPS release reproduces LPIPS-VGG only with the
        matching VGG16 weights. Dropout in LPIPS's heads is inactive at evaluation and
        absent here.

    References:
        Zhang, Isola, Efros, Shechtman, Wang, The Unreasonable Effectiveness of Deep
        Features as a Perceptual Metric, 2018, arXiv:1801.03924.

    Example:
        >>> import torch
        >>> from losskit.torch import LPIPSLoss
        >>> loss = LPIPSLoss(layers=("pix",), feature_extractor=lambda x: {"pix": x}, normalize_input=False)
        >>> a = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)  # unit vectors at 90 degrees
        >>> b = torch.tensor([0.0, 1.0]).reshape(1, 2, 1, 1)
        >>> round(loss(a, b).item(), 4)  # |(1, 0) - (0, 1)|^2
        2.0
    """

    _default_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
        heads: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        eps: float = 1e-10,
        layer_weights: Sequence[float] | None = None,
        weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        feature_extractor: Any = None,
        normalize_input: bool = True,
        resize: int | tuple[int, int] | None = None,
        reduction: str = "mean",
    ) -> None:
        self.eps = float(check_number("eps", eps, low=0.0))
        super().__init__(layers, layer_weights, weights, feature_extractor, normalize_input, resize, reduction)
        self.heads = None
        self._heads_source = None
        if heads is not None:
            self._heads_source = os.fspath(heads) if isinstance(heads, (str, os.PathLike)) else "dict"
            self.heads = nn.ParameterList(
                [nn.Parameter(w, requires_grad=False) for w in _load_heads(heads, self.layers)]
            )

    def _extra_options(self):
        return {"heads": self._heads_source, "eps": self.eps}

    def _layer_distance(self, fx, fy, k):
        # Unit-normalise over channels; eps keeps an all-zero feature vector (a dead ReLU
        # region) at 0 instead of 0 / 0.
        nx = fx / (torch.sqrt((fx * fx).sum(dim=1, keepdim=True)) + self.eps)
        ny = fy / (torch.sqrt((fy * fy).sum(dim=1, keepdim=True)) + self.eps)
        d = (nx - ny) ** 2
        if self.heads is not None:
            a = self.heads[k].to(d.dtype)
            if a.shape[0] != d.shape[1]:
                raise ValueError(
                    f"heads: expected {d.shape[1]} channels for layer {self.layers[k]!r}, got {a.shape[0]}"
                )
            d = d * a.reshape(1, -1, *([1] * (d.ndim - 2)))
        return _per_image(d.sum(dim=1))


def _load_heads(heads, layers) -> list[torch.Tensor]:
    from .vgg import _as_state_dict

    sd = _as_state_dict(heads, "heads") if isinstance(heads, Mapping) else load_state_dict_file(heads, what="heads")
    out = []
    for i, name in enumerate(layers):
        for key in (
            f"lin{i}.model.1.weight",  # LPIPS release (dropout, then the 1x1 conv)
            f"lin{i}.model.0.weight",  # LPIPS heads built without dropout
            f"lins.{i}.model.1.weight",
            f"lin{i}.weight",
            name,
        ):
            if key in sd:
                w = sd[key].detach().to(torch.float32).reshape(-1)
                break
        else:
            raise ValueError(
                f"heads: expected a weight for layer {i} ({name!r}) under 'lin{i}.model.1.weight', "
                f"'lin{i}.weight' or {name!r}, got keys {sorted(sd)[:6]}"
            )
        out.append(w)
    return out
