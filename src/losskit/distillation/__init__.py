"""Knowledge distillation: :func:`distillation_loss` (Hinton et al.'s temperature-scaled KL
with its T^2 factor and an optional hard-label term) and :func:`jsd_loss` (GKD's
generalized Jensen-Shannon divergence, per token). See :mod:`losskit.distillation.kl` for
the conventions (argument order, temperature, masking, reductions)."""

from .kl import distillation_loss, jsd_loss

__all__ = ["distillation_loss", "jsd_loss"]
