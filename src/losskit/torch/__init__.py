"""PyTorch front end: ``nn.Module`` shells over the functional losses, and the losses that
only make sense in PyTorch (perceptual losses, fused large-vocabulary cross-entropy,
distributed helpers).

A shell stores its options, shows them in ``repr`` and its ``forward`` is one call to the
function it names; no logic lives in the shell. The shells are generated from the registry
(:func:`losskit.torch._module.generate_shells`): a loss added to a family gets its module
here, named by :attr:`losskit.LossInfo.shell_name`, with no hand edit.
"""

from ._module import LossModule, generate_shells

# --- modules written by hand: state, parameters, deprecated keywords ---
from .boxes import FocalerIoULoss
from .boxes import InnerIoULoss
from .boxes import WIoULoss
from .metric_learning import ArcFaceLoss
from .metric_learning import CenterLoss
from .metric_learning import CosFaceLoss
from .metric_learning import ProxyAnchorLoss
from .metric_learning import SubCenterArcFaceLoss
# the image family's perceptual losses: they compare network features, so PyTorch only
from .image import LPIPSLoss
from .image import PerceptualLoss
from .image import StyleLoss
from .image import gram_matrix
from .vgg import load_vgg16_features
from .vgg import vgg16_features

# --- PyTorch only: the fused large-vocabulary cross-entropy ---
from .linear_ce import linear_cross_entropy

# --- every other registered loss that runs on torch: a generated LossModule shell whose
# forward is one call to the function (MSELoss, CrossEntropyLoss, DiceLoss, CIoULoss, ...) ---
globals().update(generate_shells(globals(), __name__))

import types as _types

__all__ = sorted(
    name for name, value in globals().items()
    if not name.startswith("_") and not isinstance(value, _types.ModuleType)
)
