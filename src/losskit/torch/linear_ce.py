"""The fused large-vocabulary cross-entropy under its ``losskit.torch`` names.

It is a classification loss (:func:`losskit.classification.linear_cross_entropy`, also
``losskit.linear_cross_entropy``); this module keeps the old import paths
(``losskit.torch.linear_ce.linear_cross_entropy``, ``default_chunk_size``) working; its
shell, :class:`losskit.torch.LinearCrossEntropyLoss`, is generated with the others.
"""

from __future__ import annotations

from ..classification import linear_cross_entropy
from ..classification.linear import default_chunk_size

__all__ = ["linear_cross_entropy", "default_chunk_size"]
