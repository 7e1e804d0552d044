"""Keras 3 losses: every registered losskit loss as a ``keras.losses.Loss``.

    import losskit.keras
    model.compile(optimizer="adam", loss=losskit.keras.CIoULoss(fmt="xyxy"))

The classes are generated from the registry (:func:`losskit.names` / :func:`losskit.get`)
on first use: ``import losskit.keras`` imports neither keras nor a backend until a class
(or :func:`custom_objects`) is asked for. Each class

* is named as in ``losskit.torch`` (``CIoULoss``, ``DiceLoss``, ``CrossEntropyLoss``, ...);
* takes the loss's keyword options as constructor keywords, plus Keras' ``reduction``,
  ``name`` and ``dtype``;
* computes the loss with ``reduction="none"`` and lets Keras reduce, so Keras'
  ``reduction`` and ``sample_weight`` apply (Keras' default ``"sum_over_batch_size"`` is
  the mean of the per-element losses; where losskit's own ``"mean"`` is not that mean, for
  instance with ``ignore_index``, Keras' reduction is what you get);
* calls the loss as ``loss(y_pred, y_true, **options)``: ``y_pred`` is the loss's first
  array argument (logits, predicted boxes, embeddings), ``y_true`` its second;
* casts ``y_true`` back to integers where the loss takes class indices (Keras casts
  ``y_true`` to float before ``call``): always for the losses of :data:`INDEX_TARGETS`
  ``"always"``, and for those marked ``"labels"`` when ``y_true`` has fewer dimensions than
  ``y_pred`` (a label map rather than one-hot / soft targets);
* has ``get_config`` / ``from_config`` and is registered for Keras serialisation under the
  package ``"losskit"`` (``losskit>CIoULoss``), so a saved ``.keras`` model loads again
  once the classes exist (touch any class, or pass ``custom_objects=losskit.keras.custom_objects()``).

Backends: JAX and PyTorch (losskit's losses are array-API code; TensorFlow tensors are
not array-API arrays). Another backend raises ``ValueError`` naming the supported ones.
Losses that take more than two arrays (ArcFace's class weights, Gaussian NLL's variance,
DPO's four log-probabilities, ...), that have no ``reduction`` option (the textbook
definitions), or whose metadata does not list the backend are not generated.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import registry
from ._meta import shell_name as class_name  # the class names of losskit.torch

__all__ = ["SUPPORTED_BACKENDS", "INDEX_TARGETS", "check_backend", "class_name", "custom_objects"]

SUPPORTED_BACKENDS = ("jax", "torch")

#: Losses whose target holds class indices (Keras hands them over as floats).
#: "always": the target is always integer labels; "labels": integer labels when it has
#: fewer dimensions than the prediction (else one-hot / probabilities, kept as floats).
INDEX_TARGETS = {
    "cross_entropy": "labels",
    "poly1_cross_entropy": "labels",
    "nll_loss": "always",
    "focal_loss": "always",
    "log_loss": "always",
    "multi_margin_loss": "always",
    "multiclass_hinge_loss": "always",
    "zero_one_loss": "always",
    "dice_loss": "labels",
    "dice_ce_loss": "labels",
    "jaccard_loss": "labels",
    "tversky_loss": "labels",
    "focal_tversky_loss": "labels",
    "generalized_dice_loss": "labels",
    "log_cosh_dice_loss": "labels",
    "lovasz_softmax_loss": "labels",
    "dice_focal_loss": "labels",
    "generalized_dice_focal_loss": "labels",
    "cldice_loss": "labels",
    "dice_cldice_loss": "labels",
    "hausdorff_dt_loss": "labels",
    "boundary_loss": "labels",
    "asymmetric_single_label_loss": "always",
    "adasp_loss": "always",
    "batch_hard_triplet_loss": "always",
    "circle_loss": "always",
    "contrastive_loss": "always",
    "multi_similarity_loss": "always",
    "nt_xent_loss": "always",
    "supcon_loss": "always",
}


def check_backend(backend: str) -> str:
    """``backend`` if losskit's Keras losses run on it, else ``ValueError`` naming the
    supported backends."""
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"KERAS_BACKEND: expected one of {', '.join(repr(b) for b in SUPPORTED_BACKENDS)} "
            f"for losskit.keras (losskit's losses are array-API code, which {backend!r} tensors "
            f"do not support), got {backend!r}"
        )
    return backend


# Losses without a per-element form (reduction="none"), which Keras' own reduction and
# sample_weight need: dice_ce_loss mixes per-(sample, class) Dice terms with per-pixel
# cross-entropy terms (MONAI's DiceCELoss has no "none" either); the Dice + focal losses
# likewise.
_NO_ELEMENTWISE = frozenset({"dice_ce_loss", "dice_focal_loss", "generalized_dice_focal_loss"})


def _eligible(info, backend: str) -> bool:
    return (
        backend in info.backends
        and len(info.arguments) == 2
        and "reduction" in info.options
        and info.name not in _NO_ELEMENTWISE
    )


_CLASSES: dict[str, type] = {}


def _build() -> dict[str, type]:
    if _CLASSES:
        return _CLASSES
    import keras

    backend = check_backend(keras.backend.backend())

    class LosskitLoss(keras.losses.Loss):
        """Base of the generated classes: one losskit loss with stored options."""

        loss_name: str = ""
        _fn = None
        _index_target: str | None = None
        _params: dict[str, inspect.Parameter] = {}

        def __init__(self, *, reduction="sum_over_batch_size", name=None, dtype=None, **options):
            params = self._params
            unknown = sorted(set(options) - set(params))
            if unknown:
                raise TypeError(
                    f"{type(self).__name__}: unexpected option(s) {', '.join(unknown)}; "
                    f"expected some of {', '.join(params)} (reduction is Keras')"
                )
            missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in options]
            if missing:
                raise TypeError(f"{type(self).__name__}: missing required option(s) {', '.join(missing)}")
            super().__init__(name=name or self.loss_name, reduction=reduction, dtype=dtype)
            self.options = dict(options)

        def call(self, y_true, y_pred):
            mode = self._index_target
            if mode == "always" or (mode == "labels" and len(y_true.shape) < len(y_pred.shape)):
                y_true = keras.ops.cast(y_true, "int32")
            return type(self)._fn(y_pred, y_true, **self.options, reduction="none")

        def get_config(self):
            config = super().get_config()
            for key, value in self.options.items():
                # arrays (class weights, ...) are saved as nested lists
                config[key] = value.tolist() if hasattr(value, "tolist") else value
            return config

    classes: dict[str, type] = {}
    for loss_name in registry.names():
        info = registry.get(loss_name)
        if not _eligible(info, backend):
            continue
        cname = class_name(loss_name)
        params = {
            p.name: p
            for p in inspect.signature(info.fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "reduction"
        }
        summary = info.summary
        cls = type(
            cname,
            (LosskitLoss,),
            {
                "__module__": __name__,
                "__qualname__": cname,
                "__doc__": (
                    f"Keras loss of :func:`{info.path}`"
                    + (f": {summary[0].lower()}{summary[1:]}" if summary else ".")
                    + f"\n\nOptions are the keyword arguments of ``{info.path}`` (but "
                    "``reduction``, which is Keras'); ``call(y_true, y_pred)`` is "
                    f"``{loss_name}(y_pred, y_true, **options, reduction='none')``."
                ),
                "loss_name": loss_name,
                "_fn": staticmethod(info.fn),
                "_index_target": INDEX_TARGETS.get(loss_name),
                "_params": params,
            },
        )
        classes[cname] = keras.saving.register_keras_serializable(package="losskit", name=cname)(cls)
    _CLASSES.update(classes)
    return _CLASSES


def custom_objects() -> dict[str, type]:
    """``{class name: class}`` of every generated loss (builds them, importing keras), for
    ``keras.saving.load_model(..., custom_objects=...)``."""
    return dict(_build())


def __getattr__(name: str) -> Any:
    # Only a loss's class name builds the classes (importing keras); any other name, such
    # as the probes of introspection tools, is a plain AttributeError.
    if name in {class_name(n) for n in registry.names()}:
        classes = _build()
        if name in classes:
            return classes[name]
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r} (its loss takes other than two "
            f"arrays, has no reduction, or does not run on this Keras backend)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # the classes already built only: listing the module must not import keras
    return sorted(set(globals()) | set(_CLASSES))
