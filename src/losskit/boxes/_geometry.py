"""Shared box geometry for the IoU loss family: formats, areas, intersection, enclosing box,
centres; and the validation/conversion every public box function starts with.

Conventions (the module docstring of :mod:`losskit.boxes.losses` repeats them for users):

* Boxes are arrays of shape ``(..., 4)``; the kernels work on ``xyxy`` float arrays
  ``(x1, y1, x2, y2)`` with x to the right and y down (or up: nothing depends on it).
* **Inverted boxes** (``x2 < x1`` or ``y2 < y1``, common for raw predictions early in
  training) are *empty at their corners*: their width and height are clamped at 0 for every
  area, intersection, aspect-ratio and shape term, so their IoU is 0, while the terms built
  from raw coordinates -- centre distance, enclosing box, corner distances -- still see the
  box where its corners are and pull it toward the target. The enclosing box is the
  smallest box holding all corners of both boxes (for valid boxes: the usual one), so the
  centre-distance ratio rho^2 / c^2 stays in [0, 1]. Values and gradients stay finite.
* A zero-area box has IoU 0 with anything, itself included (there is no area to overlap;
  ``eps`` in the union keeps ``0 / 0`` away). This is torchvision's behaviour too.
* **Subgradients at ties** are the same on every backend, losskit's one convention
  (:mod:`losskit._xp`), and the fast kernels follow it: ``relu(x)`` passes the gradient
  where ``x >= 0`` (:func:`relu`), ``abs`` has derivative ``sign(x)``, 0 at 0 (``abs0``,
  :func:`losskit._xp.subgrad_abs`), ``minimum`` / ``maximum`` split it half-and-half on
  ties.
* **Flat where degenerate**: a ratio whose denominator is 0 only where its numerator is 0
  too (IoU of two zero-area boxes) has a zero gradient there (:func:`guarded_ratio`): with
  ``I / (U + eps)`` alone, ``d IoU / d I = 1 / eps`` at ``U = 0`` gave a gradient of about
  1e7 where the loss is locally constant (a zero-width box equal to its target).
"""

from __future__ import annotations

from typing import Any

from .._checks import check_box_array, check_box_pair, check_choice, check_number, check_reduction
from .._xp import subgrad_clip
from .._xp import subgrad_abs as abs0  # |x| with derivative 0 at 0 (losskit._xp's convention)
from ._common import ASPECT_K

FORMATS = ("xyxy", "xywh", "cxcywh")

__all__ = ["FORMATS", "Pair", "convert", "prepare", "check_boxes", "check_eps", "relu", "abs0",
           "guarded_ratio", "aspect_term"]


def relu(x, xp):
    """``max(x, 0)`` whose gradient passes where ``x >= 0``, on every backend (the
    convention at ties of :mod:`losskit._xp`)."""
    return subgrad_clip(x, xp, min=0.0)


def guarded_ratio(num, den, eps: float, xp):
    """``num / (den + eps)`` for ``den >= 0`` where ``den = 0`` implies ``num = 0`` (an
    intersection over its union): the same value everywhere (0 at ``den = 0``), and a zero
    gradient at ``den = 0``, where ``d / d num = 1 / eps`` would be about 1e7 on a loss that
    is locally constant there."""
    # eps: the ratio's guard as the callers document it (0 / eps = 0 at den = 0; the where
    # only takes the 1 / eps factor out of the gradient there).
    return xp.where(den > 0, num / (den + eps), xp.zeros_like(num))


def _stack(parts, xp):
    return xp.stack(parts, axis=-1)


def convert(boxes, in_fmt: str, out_fmt: str, xp):
    """``boxes`` (..., 4) from ``in_fmt`` to ``out_fmt`` (both already validated)."""
    if in_fmt == out_fmt:
        return boxes
    a, b, c, d = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    # to xyxy
    if in_fmt == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        x1, y1, x2, y2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    else:
        x1, y1, x2, y2 = a, b, c, d
    if out_fmt == "xyxy":
        return _stack([x1, y1, x2, y2], xp)
    if out_fmt == "xywh":
        if in_fmt == "cxcywh":
            return _stack([x1, y1, c, d], xp)
        return _stack([x1, y1, x2 - x1, y2 - y1], xp)
    # cxcywh
    if in_fmt == "xywh":
        return _stack([a + c / 2, b + d / 2, c, d], xp)
    return _stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], xp)


def check_boxes(name: str, boxes: Any, xp=None) -> None:
    """An array of real numbers with a last axis of 4."""
    check_box_array(name, boxes, xp)


def check_eps(eps: Any) -> float:
    return check_number("eps", eps, low=0.0, low_open=True)


def prepare(pred, target, fmt: str, eps: Any, reduction: str | None = "mean", *, names=("pred", "target"),
            pred_floating: bool = True, broadcast: bool = True):
    """Validate and convert a (pred, target) pair of box arrays.

    Returns ``(xp, p, t)``: the namespace and both arrays as ``xyxy`` in the prediction's
    compute dtype (float64 stays, everything else computes in float32). ``p`` and ``t`` are
    not broadcast (the elementwise kernels broadcast as they go).
    """
    if reduction is not None:
        check_reduction(reduction)
    check_choice("fmt", fmt, FORMATS)
    check_eps(eps)
    xp, p, t = check_box_pair(pred, target, names=names, pred_floating=pred_floating, broadcast=broadcast)
    return xp, convert(p, fmt, "xyxy", xp), convert(t, fmt, "xyxy", xp)


class cached_property:  # noqa: N801 - used like functools.cached_property
    """A lazily computed attribute, stored on the instance after the first access.

    ``functools.cached_property`` takes an ``RLock`` in Python < 3.12, which
    ``torch.compile`` (dynamo) cannot trace; this lock-free form traces fine (a ``Pair``
    is never shared between threads).
    """

    def __init__(self, fn):
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        # the attribute's name, not the function's: one function may serve several (_extent)
        self.name = name

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


def _extent(lo: str, hi: str) -> cached_property:
    """The attribute ``max(hi - lo, 0)`` of a :class:`Pair`, computed once."""

    def extent(self):
        return self._relu(getattr(self, hi) - getattr(self, lo))

    return cached_property(extent)


class Pair:
    """The geometry of predicted and target boxes (xyxy, broadcastable), computed on demand.

    Every attribute is elementwise over the broadcast batch shape ``(...)``. ``eps`` is the
    caller's guard for the divisions (union, enclosing diagonal, ...).
    """

    def __init__(self, p, t, xp, eps: float):
        self.xp = xp
        self.eps = eps
        self.px1, self.py1, self.px2, self.py2 = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
        self.tx1, self.ty1, self.tx2, self.ty2 = t[..., 0], t[..., 1], t[..., 2], t[..., 3]

    def _relu(self, x):
        # max(x, 0): inverted boxes have zero extent (see the module docstring).
        return relu(x, self.xp)

    # sizes (clamped: an inverted box is empty) -----------------------------------------
    pw = _extent("px1", "px2")
    ph = _extent("py1", "py2")
    tw = _extent("tx1", "tx2")
    th = _extent("ty1", "ty2")

    # intersection, union, IoU ------------------------------------------------------------
    @cached_property
    def inter(self):
        xp = self.xp
        # An inverted box gives min(x2, .) - max(x1, .) <= x2 - x1 < 0, clamped to 0: no overlap.
        iw = self._relu(xp.minimum(self.px2, self.tx2) - xp.maximum(self.px1, self.tx1))
        ih = self._relu(xp.minimum(self.py2, self.ty2) - xp.maximum(self.py1, self.ty1))
        return iw * ih

    @cached_property
    def union(self):
        return self.pw * self.ph + self.tw * self.th - self.inter

    @cached_property
    def iou(self):
        # eps: the union of two zero-area boxes is 0; 0 / eps = 0 instead of 0 / 0, with a
        # zero gradient there (guarded_ratio: the loss is flat at two zero-area boxes).
        return guarded_ratio(self.inter, self.union, self.eps, self.xp)

    # smallest enclosing box: the smallest box holding all eight corners ----------------
    # For valid boxes this is the usual [min(x1, x1g), max(x2, x2g)]. Taking the min / max
    # over *both* corners of each box as well makes it hold an inverted box's corners (and
    # so its centre): then rho <= c always, rho^2 / c^2 <= 1 and exp(rho^2 / c^2) <= e stay
    # bounded, and c = 0 only when every corner coincides (where rho = 0 too). With the
    # two-corner formula an inverted box's centre can lie far outside "the enclosing box"
    # and rho^2 / c^2 is unbounded (NaN gradients in float32).
    def _span(self, a1, a2, b1, b2):
        """The extent of the four coordinates ``a1, a2`` (pred) and ``b1, b2`` (target)."""
        xp = self.xp
        lo = xp.minimum(xp.minimum(a1, a2), xp.minimum(b1, b2))
        hi = xp.maximum(xp.maximum(a1, a2), xp.maximum(b1, b2))
        return hi - lo

    @cached_property
    def cw(self):
        return self._span(self.px1, self.px2, self.tx1, self.tx2)

    @cached_property
    def ch(self):
        return self._span(self.py1, self.py2, self.ty1, self.ty2)

    @cached_property
    def c2(self):
        """Squared diagonal of the enclosing box (not yet guarded by eps)."""
        return self.cw * self.cw + self.ch * self.ch

    # centres ---------------------------------------------------------------------------
    @cached_property
    def dx(self):
        """Predicted minus target centre, x."""
        return (self.px1 + self.px2 - self.tx1 - self.tx2) / 2

    @cached_property
    def dy(self):
        return (self.py1 + self.py2 - self.ty1 - self.ty2) / 2

    @cached_property
    def rho2(self):
        """Squared distance between the centres."""
        return self.dx * self.dx + self.dy * self.dy


def aspect_term(pw, ph, tw, th, xp, eps: float):
    """CIoU's v = 4 / pi^2 (atan(w_gt / h_gt) - atan(w / h))^2.

    eps in the denominators: a zero-height box gives atan(w / eps) ~ pi / 2 instead of
    atan(w / 0) = NaN (YOLOv5 #13416; torchvision's CIoU has no guard there).
    """
    d = xp.atan(tw / (th + eps)) - xp.atan(pw / (ph + eps))
    return ASPECT_K * (d * d)
