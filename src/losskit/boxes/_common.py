"""What the box family's modules share without importing each other: the constants of the
reference code (:mod:`.losses`) and its backend kernels (:mod:`._torch`, :mod:`._numba`),
and the argument descriptions the box losses' docstrings name by ``%(key)s`` marker."""

from __future__ import annotations

import functools
import math

from .. import _meta

__all__ = ["FAST_KINDS", "ASPECT_K", "DOC", "loss"]

#: The losses whose per-box kernel has fast paths (``boxes.numba``, ``boxes.torch``).
FAST_KINDS: frozenset[str] = frozenset({"giou", "diou", "ciou", "eiou", "siou"})

#: CIoU's v = 4 / pi^2 (atan(w_gt / h_gt) - atan(w / h))^2.
ASPECT_K: float = 4.0 / math.pi**2

# Argument descriptions shared by the box losses, indented as items of a docstring's Args
# (or Returns) section: a marker stands alone at the start of its line.
_BOXES = """\
        pred: predicted boxes, floating array of shape ``(..., 4)``.
        target: target boxes of shape ``(..., 4)``, broadcastable with ``pred``."""
_FMT = """\
        fmt: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``."""
_EPS = """\
        eps: positive guard in the denominators."""
_REDUCTION = """\
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``."""
_RETURNS = """\
        The per-box loss of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"``, else its mean or sum (0 for an empty batch). float64 for
        float64 ``pred``, float32 otherwise."""

#: The box losses' ``@loss(doc=...)`` parts: ``fmt_eps_reduction`` for the losses whose
#: ``eps`` guards only denominators, ``fmt`` and ``reduction`` around an ``eps`` of their own.
DOC = {
    "boxes": _BOXES,
    "fmt": _FMT,
    "reduction": _REDUCTION,
    "fmt_eps_reduction": "\n".join((_FMT, _EPS, _REDUCTION)),
    "returns": _RETURNS,
}

# The family's decorator: ``@loss(...)`` with the box losses' shared docstring parts, so
# that no loss restates ``doc=DOC`` (a loss may still pass its own ``doc``).
loss = functools.partial(_meta.loss, doc=DOC)
