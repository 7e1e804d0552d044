# The public names of ``losskit``, one line per name: type checkers and IDEs read this
# file, and ``losskit/__init__.py`` reads it at import to load each name from its module
# the first time it is used (so that ``import losskit`` loads no family, and no NumPy).
# Keep every line in the form ``from MODULE import NAME as NAME``.

__version__: str

from ._fastpath import fast_paths as fast_paths
from ._grad import value_and_grad as value_and_grad
from .registry import get as get
from .registry import names as names

# --- textbook: see losskit.textbook (imported as a module, not flattened) ---
from . import textbook as textbook

# --- regression (losskit/regression/) ---
from .regression import mse_loss as mse_loss
from .regression import l1_loss as l1_loss
from .regression import huber_loss as huber_loss
from .regression import smooth_l1_loss as smooth_l1_loss
from .regression import log_cosh_loss as log_cosh_loss
from .regression import quantile_loss as quantile_loss
from .regression import charbonnier_loss as charbonnier_loss
from .regression import msle_loss as msle_loss
from .regression import poisson_nll_loss as poisson_nll_loss
from .regression import gaussian_nll_loss as gaussian_nll_loss

# --- classification (losskit/classification/) ---
from .classification import cross_entropy as cross_entropy
from .classification import nll_loss as nll_loss
from .classification import binary_cross_entropy as binary_cross_entropy
from .classification import binary_cross_entropy_with_logits as binary_cross_entropy_with_logits
from .classification import log_loss as log_loss
from .classification import kl_div as kl_div
from .classification import hinge_loss as hinge_loss
from .classification import squared_hinge_loss as squared_hinge_loss
from .classification import multi_margin_loss as multi_margin_loss
from .classification import multiclass_hinge_loss as multiclass_hinge_loss
from .classification import sigmoid_focal_loss as sigmoid_focal_loss
from .classification import focal_loss as focal_loss
from .classification import poly1_cross_entropy as poly1_cross_entropy
from .classification import zero_one_loss as zero_one_loss
from .classification import linear_cross_entropy as linear_cross_entropy
from .classification import asymmetric_loss as asymmetric_loss
from .classification import asymmetric_single_label_loss as asymmetric_single_label_loss

# --- segmentation (losskit/segmentation/) ---
from .segmentation import cldice_loss as cldice_loss
from .segmentation import boundary_loss as boundary_loss
from .segmentation import dice_ce_loss as dice_ce_loss
from .segmentation import dice_cldice_loss as dice_cldice_loss
from .segmentation import dice_focal_loss as dice_focal_loss
from .segmentation import generalized_dice_focal_loss as generalized_dice_focal_loss
from .segmentation import hausdorff_dt_loss as hausdorff_dt_loss
from .segmentation import dice_loss as dice_loss
from .segmentation import focal_tversky_loss as focal_tversky_loss
from .segmentation import generalized_dice_loss as generalized_dice_loss
from .segmentation import jaccard_loss as jaccard_loss
from .segmentation import log_cosh_dice_loss as log_cosh_dice_loss
from .segmentation import lovasz_hinge_loss as lovasz_hinge_loss
from .segmentation import lovasz_softmax_loss as lovasz_softmax_loss
from .segmentation import tversky_loss as tversky_loss

# --- boxes (losskit/boxes/) ---
from .boxes import alpha_iou_loss as alpha_iou_loss
from .boxes import box_convert as box_convert
from .boxes import box_iou as box_iou
from .boxes import box_iou_matrix as box_iou_matrix
from .boxes import ciou_loss as ciou_loss
from .boxes import diou_loss as diou_loss
from .boxes import eiou_loss as eiou_loss
from .boxes import focal_eiou_loss as focal_eiou_loss
from .boxes import focaler_iou_loss as focaler_iou_loss
from .boxes import giou_loss as giou_loss
from .boxes import inner_iou_loss as inner_iou_loss
from .boxes import iou_loss as iou_loss
from .boxes import mpdiou_loss as mpdiou_loss
from .boxes import shape_iou_loss as shape_iou_loss
from .boxes import siou_loss as siou_loss
from .boxes import wiou_loss as wiou_loss
from .boxes import wiou_update_mean as wiou_update_mean
from .boxes import nwd_loss as nwd_loss
from .boxes import piou_loss as piou_loss

# --- metric learning (losskit/metric_learning/) ---
from .metric_learning import adasp_loss as adasp_loss
from .metric_learning import arcface_loss as arcface_loss
from .metric_learning import batch_hard_triplet_loss as batch_hard_triplet_loss
from .metric_learning import center_loss as center_loss
from .metric_learning import center_update as center_update
from .metric_learning import circle_loss as circle_loss
from .metric_learning import contrastive_loss as contrastive_loss
from .metric_learning import cosface_loss as cosface_loss
from .metric_learning import multi_similarity_loss as multi_similarity_loss
from .metric_learning import nt_xent_loss as nt_xent_loss
from .metric_learning import pairwise_cosine_similarity as pairwise_cosine_similarity
from .metric_learning import pairwise_distance as pairwise_distance
from .metric_learning import proxy_anchor_loss as proxy_anchor_loss
from .metric_learning import subcenter_arcface_loss as subcenter_arcface_loss
from .metric_learning import supcon_loss as supcon_loss
from .metric_learning import triplet_margin_loss as triplet_margin_loss

# --- rotated boxes (losskit/rotated_boxes/) ---
from .rotated_boxes import gwd_loss as gwd_loss
from .rotated_boxes import kfiou_loss as kfiou_loss
from .rotated_boxes import kld_loss as kld_loss
from .rotated_boxes import probiou_loss as probiou_loss
from .rotated_boxes import rotated_box_iou as rotated_box_iou
from .rotated_boxes import rotated_box_iou_matrix as rotated_box_iou_matrix
from .rotated_boxes import rotated_box_to_gaussian as rotated_box_to_gaussian
from .rotated_boxes import rotated_iou_loss as rotated_iou_loss

# --- detection (losskit/detection/) ---
from .detection import COCO_KEYPOINT_SIGMAS as COCO_KEYPOINT_SIGMAS
from .detection import distribution_focal_loss as distribution_focal_loss
from .detection import keypoint_oks_loss as keypoint_oks_loss
from .detection import quality_focal_loss as quality_focal_loss
from .detection import varifocal_loss as varifocal_loss

# --- distillation (losskit/distillation/) ---
from .distillation import distillation_loss as distillation_loss
from .distillation import jsd_loss as jsd_loss

# --- preference (losskit/preference/) ---
from .preference import dpo_loss as dpo_loss
from .preference import orpo_loss as orpo_loss
from .preference import sequence_logprobs as sequence_logprobs
from .preference import simpo_loss as simpo_loss

# --- image (losskit/image/) ---
from .image import ms_ssim_l1_loss as ms_ssim_l1_loss
from .image import ms_ssim_loss as ms_ssim_loss
from .image import ssim_loss as ssim_loss
from .image import total_variation_loss as total_variation_loss
