"""Preference optimisation on sequence log-probabilities: :func:`sequence_logprobs` (from
logits and labels), :func:`dpo_loss` (sigmoid, IPO, hinge), :func:`simpo_loss` and
:func:`orpo_loss`, each returning the chosen and rejected rewards on request. See
:mod:`losskit.preference.pairwise` for the conventions."""

from .logprobs import sequence_logprobs
from .pairwise import dpo_loss, orpo_loss, simpo_loss

__all__ = ["sequence_logprobs", "dpo_loss", "simpo_loss", "orpo_loss"]
