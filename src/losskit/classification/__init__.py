r"""Classification losses: cross-entropy family, binary cross-entropy / log loss, KL
divergence, the hinge family, focal losses, PolyLoss, the 0-1 loss, the asymmetric loss (ASL), and the PyTorch-only
``linear_cross_entropy`` of a large-vocabulary linear head.

The package: array-API reference code in topical modules (:mod:`.cross_entropy`: CE, NLL,
focal, Poly-1; :mod:`.binary`: the two BCEs, sigmoid focal, log loss; :mod:`.margin`: the
hinges and the 0-1 loss; :mod:`.divergence`: KL; :mod:`.asymmetric`: ASL; :mod:`.linear`: the fused linear head),
shared helpers in :mod:`._common`, and the torch code beside them (:mod:`._torch`: the
``F.cross_entropy`` fast path; :mod:`._torch_linear`: the chunked linear head), each
imported on first use.

Conventions shared by every loss here:

* **Class axis.** Multiclass losses take scores of shape ``(N, C, d1, ...)`` with the
  classes on ``axis=1`` (PyTorch's layout); ``axis=-1`` gives the ``(..., C)`` layout of
  JAX/optax. A 1-D input ``(C,)`` is one sample (its class axis is 0, as in torch).
* **Class targets** are *integer* class indices with the input's shape without the class
  axis. Floating targets of that shape raise ``TypeError`` (a float label is a bug more
  often than a feature); ``cross_entropy`` and ``poly1_cross_entropy`` also accept class
  *probabilities* of the input's own shape.
* **Binary targets** (BCE, focal) are floats (or ints/bools) in [0, 1]; the hinge losses
  take labels in {-1, 1} or in {0, 1}.
* **Value checks** (labels in range, probabilities in [0, 1]) run in eager mode and are
  skipped for traced arrays (``jax.jit``, ``torch.compile``), so every loss compiles.
* **Dtypes.** The prediction decides library, device and dtype: float64 stays float64,
  float32/float16/bfloat16 are computed and returned in float32.
* **Weights.** Each loss follows its peer library: ``weight`` is a per-*class* weight in
  ``cross_entropy``/``nll_loss``/``multi_margin_loss`` (torch: the mean divides by the sum of
  the targets' weights), an *elementwise* rescaling in the two BCEs (torch: the mean still
  divides by the number of elements), and a per-*sample* weight in ``log_loss``, the hinge
  losses and ``zero_one_loss`` (scikit-learn's ``sample_weight``: a weighted mean).
* **Empty batches** and batches whose targets are all ignored give 0, never ``0/0 = NaN``,
  and keep the autograd graph.
* **NaN** in the scores a loss reads gives a NaN loss, never a finite number that hides it
  (probability inputs are checked to lie in [0, 1] in eager mode, so a NaN probability
  raises there).
"""

from .asymmetric import asymmetric_loss, asymmetric_single_label_loss
from .binary import binary_cross_entropy, binary_cross_entropy_with_logits, log_loss, sigmoid_focal_loss
from .cross_entropy import cross_entropy, focal_loss, nll_loss, poly1_cross_entropy
from .divergence import kl_div
from .linear import linear_cross_entropy
from .margin import hinge_loss, multi_margin_loss, multiclass_hinge_loss, squared_hinge_loss, zero_one_loss

__all__ = [
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "log_loss",
    "kl_div",
    "hinge_loss",
    "squared_hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "sigmoid_focal_loss",
    "focal_loss",
    "poly1_cross_entropy",
    "zero_one_loss",
    "linear_cross_entropy",
    "asymmetric_loss",
    "asymmetric_single_label_loss",
]
