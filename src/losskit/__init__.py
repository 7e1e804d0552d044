"""losskit: loss functions written once for NumPy, PyTorch and JAX.

Every loss takes arrays of any array-API library (NumPy, PyTorch, JAX, ...) and returns
an array of the same library, on the same device. ``losskit.get(name)`` and
``losskit.names()`` describe them; ``losskit.torch`` has ``nn.Module`` shells.
"""

__version__ = "0.1.0"

from ._fastpath import fast_paths
from ._grad import value_and_grad
from .registry import get, names

# --- textbook: see losskit.textbook (imported as a module, not flattened) ---
from . import textbook

# --- regression (losskit/regression/) ---
from .regression import mse_loss
from .regression import l1_loss
from .regression import huber_loss
from .regression import smooth_l1_loss
from .regression import log_cosh_loss
from .regression import quantile_loss
from .regression import charbonnier_loss
from .regression import msle_loss
from .regression import poisson_nll_loss
from .regression import gaussian_nll_loss

# --- classification (losskit/classification/) ---
from .classification import cross_entropy
from .classification import nll_loss
from .classification import binary_cross_entropy
from .classification import binary_cross_entropy_with_logits
from .classification import log_loss
from .classification import kl_div
from .classification import hinge_loss
from .classification import squared_hinge_loss
from .classification import multi_margin_loss
from .classification import multiclass_hinge_loss
from .classification import sigmoid_focal_loss
from .classification import focal_loss
from .classification import poly1_cross_entropy
from .classification import zero_one_loss
from .classification import linear_cross_entropy
from .classification import asymmetric_loss
from .classification import asymmetric_single_label_loss

# --- segmentation (losskit/segmentation/) ---
from .segmentation import cldice_loss
from .segmentation import boundary_loss
from .segmentation import dice_ce_loss
from .segmentation import dice_cldice_loss
from .segmentation import dice_focal_loss
from .segmentation import generalized_dice_focal_loss
from .segmentation import hausdorff_dt_loss
from .segmentation import dice_loss
from .segmentation import focal_tversky_loss
from .segmentation import generalized_dice_loss
from .segmentation import jaccard_loss
from .segmentation import log_cosh_dice_loss
from .segmentation import lovasz_hinge_loss
from .segmentation import lovasz_softmax_loss
from .segmentation import tversky_loss

# --- boxes (losskit/boxes/) ---
from .boxes import alpha_iou_loss
from .boxes import box_convert
from .boxes import box_iou
from .boxes import box_iou_matrix
from .boxes import ciou_loss
from .boxes import diou_loss
from .boxes import eiou_loss
from .boxes import focal_eiou_loss
from .boxes import focaler_iou_loss
from .boxes import giou_loss
from .boxes import inner_iou_loss
from .boxes import iou_loss
from .boxes import mpdiou_loss
from .boxes import shape_iou_loss
from .boxes import siou_loss
from .boxes import wiou_loss
from .boxes import wiou_update_mean
from .boxes import nwd_loss
from .boxes import piou_loss

# --- metric learning (losskit/metric_learning/) ---
from .metric_learning import adasp_loss
from .metric_learning import arcface_loss
from .metric_learning import batch_hard_triplet_loss
from .metric_learning import center_loss
from .metric_learning import center_update
from .metric_learning import circle_loss
from .metric_learning import contrastive_loss
from .metric_learning import cosface_loss
from .metric_learning import multi_similarity_loss
from .metric_learning import nt_xent_loss
from .metric_learning import pairwise_cosine_similarity
from .metric_learning import pairwise_distance
from .metric_learning import proxy_anchor_loss
from .metric_learning import subcenter_arcface_loss
from .metric_learning import supcon_loss
from .metric_learning import triplet_margin_loss

# --- rotated boxes (losskit/rotated_boxes/) ---
from .rotated_boxes import gwd_loss
from .rotated_boxes import kfiou_loss
from .rotated_boxes import kld_loss
from .rotated_boxes import probiou_loss
from .rotated_boxes import rotated_box_iou
from .rotated_boxes import rotated_box_iou_matrix
from .rotated_boxes import rotated_box_to_gaussian
from .rotated_boxes import rotated_iou_loss

# --- detection (losskit/detection/) ---
from .detection import COCO_KEYPOINT_SIGMAS
from .detection import distribution_focal_loss
from .detection import keypoint_oks_loss
from .detection import quality_focal_loss
from .detection import varifocal_loss

# --- distillation (losskit/distillation/) ---
from .distillation import distillation_loss
from .distillation import jsd_loss

# --- preference (losskit/preference/) ---
from .preference import dpo_loss
from .preference import orpo_loss
from .preference import sequence_logprobs
from .preference import simpo_loss

# --- image (losskit/image/) ---
from .image import ms_ssim_l1_loss
from .image import ms_ssim_loss
from .image import ssim_loss
from .image import total_variation_loss

__all__ = sorted(
    name for name, value in globals().items()
    if not name.startswith("_") and callable(value) and not isinstance(value, type)
) + ["textbook", "__version__", "COCO_KEYPOINT_SIGMAS"]
