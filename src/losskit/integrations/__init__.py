"""Adapters for the trainers people use. Each submodule imports its framework only when
it is used, so ``import losskit`` (and this package) stays framework-free:

* :mod:`losskit.integrations.ultralytics`: ``use_box_loss(model, "mpdiou")`` trains a
  YOLO model with a losskit box loss, without editing ultralytics' files.
"""
