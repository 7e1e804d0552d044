"""The argument descriptions the rotated-box losses' docstrings share, named there by
``%(key)s`` markers that the family's ``loss`` decorator fills."""

from __future__ import annotations

import functools

from .. import _meta

__all__ = ["DOC", "loss"]

#: The rotated-box losses' ``@loss(doc=...)`` parts, indented as items of a docstring's
#: Args (or Returns) section (a marker stands alone at the start of its line); ``fun`` and
#: ``tau_returns`` are those of GWD and KLD, which share their post-processing.
DOC = {
    "boxes": """\
        pred: predicted boxes, floating array of shape ``(..., 5)``: ``cx, cy, w, h, angle``.
        target: target boxes of shape ``(..., 5)``, broadcastable with ``pred``.""",
    "angle_unit": """\
        angle_unit: ``"radians"`` (default) or ``"degrees"``.""",
    "reduction": """\
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.""",
    "fun": """\
        fun: ``"log1p"`` (default), ``"sqrt"`` or ``"none"``.""",
    "tau_returns": """\
        The per-box loss in [0, 1) (for a ``tau``) of shape
        ``broadcast(pred, target).shape[:-1]`` for ``reduction="none"``, else its mean or sum
        (0 for an empty batch). float64 for float64 ``pred``, float32 otherwise.""",
}

# The family's decorator: ``@loss(...)`` with the rotated-box losses' shared docstring parts, so
# that no loss restates ``doc=DOC`` (a loss may still pass its own ``doc``).
loss = functools.partial(_meta.loss, doc=DOC)
