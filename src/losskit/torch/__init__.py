"""PyTorch front end: ``nn.Module`` shells over the functional losses, and the losses that
only make sense in PyTorch (perceptual losses, fused large-vocabulary cross-entropy,
distributed helpers).

A shell stores its options, shows them in ``repr`` and its ``forward`` is one call to the
function it names; no logic lives in the shell.
"""

from ._module import LossModule

# --- regression shells ---
from .regression import MSELoss
from .regression import L1Loss
from .regression import HuberLoss
from .regression import SmoothL1Loss
from .regression import LogCoshLoss
from .regression import QuantileLoss
from .regression import CharbonnierLoss
from .regression import MSLELoss
from .regression import PoissonNLLLoss
from .regression import GaussianNLLLoss

# --- classification shells ---
from .classification import BCELoss
from .classification import BCEWithLogitsLoss
from .classification import CrossEntropyLoss
from .classification import FocalLoss
from .classification import HingeLoss
from .classification import KLDivLoss
from .classification import LogLoss
from .classification import MultiMarginLoss
from .classification import MulticlassHingeLoss
from .classification import NLLLoss
from .classification import Poly1CrossEntropyLoss
from .classification import SigmoidFocalLoss
from .classification import SquaredHingeLoss
from .classification import ZeroOneLoss

# --- segmentation shells ---
from .segmentation import BoundaryLoss
from .segmentation import ClDiceLoss
from .segmentation import DiceCELoss
from .segmentation import DiceClDiceLoss
from .segmentation import DiceFocalLoss
from .segmentation import GeneralizedDiceFocalLoss
from .segmentation import DiceLoss
from .segmentation import FocalTverskyLoss
from .segmentation import GeneralizedDiceLoss
from .segmentation import HausdorffDTLoss
from .segmentation import JaccardLoss
from .segmentation import LogCoshDiceLoss
from .segmentation import LovaszHingeLoss
from .segmentation import LovaszSoftmaxLoss
from .segmentation import TverskyLoss

# --- box shells ---
from .boxes import AlphaIoULoss
from .boxes import CIoULoss
from .boxes import DIoULoss
from .boxes import EIoULoss
from .boxes import FocalEIoULoss
from .boxes import FocalerIoULoss
from .boxes import GIoULoss
from .boxes import InnerIoULoss
from .boxes import IoULoss
from .boxes import MPDIoULoss
from .boxes import ShapeIoULoss
from .boxes import SIoULoss
from .boxes import WIoULoss

# --- rotated box shells ---
from .rotated_boxes import GWDLoss
from .rotated_boxes import KFIoULoss
from .rotated_boxes import KLDLoss
from .rotated_boxes import ProbIoULoss
from .rotated_boxes import RotatedIoULoss

# --- metric learning shells ---
from .metric_learning import AdaSPLoss
from .metric_learning import ArcFaceLoss
from .metric_learning import BatchHardTripletLoss
from .metric_learning import CircleLoss
from .metric_learning import ContrastiveLoss
from .metric_learning import CosFaceLoss
from .metric_learning import MultiSimilarityLoss
from .metric_learning import NTXentLoss

# --- detection shells (and the NWD / PIoU box losses) ---
from .detection import DistributionFocalLoss
from .detection import KeypointOKSLoss
from .detection import NWDLoss
from .detection import PIoULoss
from .detection import QualityFocalLoss
from .detection import VarifocalLoss

# --- distillation shells ---
from .distillation import DistillationLoss
from .distillation import JSDLoss

# --- preference shells ---
from .preference import DPOLoss
from .preference import ORPOLoss
from .preference import SimPOLoss

# --- perceptual / large-vocabulary (torch only) ---
from .linear_ce import LinearCrossEntropyLoss
from .linear_ce import linear_cross_entropy
from .perceptual import LPIPSLoss
from .perceptual import PerceptualLoss
from .perceptual import StyleLoss
from .perceptual import gram_matrix
from .vgg import load_vgg16_features
from .vgg import vgg16_features

import types as _types

__all__ = sorted(
    name for name, value in globals().items()
    if not name.startswith("_") and not isinstance(value, _types.ModuleType)
)
