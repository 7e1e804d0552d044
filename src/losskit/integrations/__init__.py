"""Adapters for the trainers people use. Each submodule imports its framework only when
it is used, so ``import losskit`` (and this package) stays framework-free:

* :mod:`losskit.integrations.ultralytics`: ``use_box_loss(model, "mpdiou")`` trains a
  YOLO model with a losskit box loss, without editing ultralytics' files.
* :mod:`losskit.integrations.transformers`: ``causal_lm_loss`` and ``LosskitTrainer``
  train a causal language model with the fused linear cross-entropy (no logits).
"""
