"""Shared geometry of rotated (oriented) boxes: validation, angle units, the box's frame.

Conventions (repeated for users in :mod:`losskit.rotated_boxes`):

* A box is the last axis of an array of shape ``(..., 5)``: ``(cx, cy, w, h, angle)``, its
  centre, its width and height, and the angle that rotates its width axis, in radians by
  default (``angle_unit="degrees"`` accepts degrees).
* The rotation is R(angle) = [[cos, -sin], [sin, cos]] (ultralytics' ``xywhr`` and
  mmrotate's ``xy_wh_r``): the width axis is u = (cos, sin), the height axis
  v = (-sin, cos). With y pointing down (image coordinates) a positive angle turns the box
  clockwise on screen; nothing here depends on which way y points.
* Width and height enter through their absolute values (a raw prediction with a negative
  width is the box of width |w|).
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_array, check_box_array, check_box_pair, check_choice, check_number, check_reduction
from .._xp import as_float, namespace, subgrad_abs

ANGLE_UNITS = ("radians", "degrees")

__all__ = ["ANGLE_UNITS", "check_boxes", "check_eps", "prepare", "prepare_one", "unpack", "safe_sqrt"]


# check_box_array's words for a rotated box
_KIND = {"width": 5, "what": "rotated boxes", "layout": " (cx, cy, w, h, angle)"}


def check_boxes(name: str, boxes: Any, xp=None) -> None:
    """An array of real numbers with a last axis of 5."""
    check_box_array(name, boxes, xp, **_KIND)


def check_eps(eps: Any) -> float:
    return check_number("eps", eps, low=0.0, low_open=True)


def _to_radians(boxes, angle_unit: str, xp):
    if angle_unit == "radians":
        return boxes
    angle = boxes[..., 4:5] * (math.pi / 180.0)
    return xp.concat([boxes[..., :4], angle], axis=-1)


def prepare(pred, target, angle_unit: str, eps: Any, reduction: str | None = "mean", *,
            names=("pred", "target"), pred_floating: bool = True, broadcast: bool = True):
    """Validate a (pred, target) pair of rotated boxes.

    Returns ``(xp, p, t)``: the namespace and both arrays in the prediction's compute dtype
    (float64 stays, everything else -- half precision, integers -- computes in float32),
    angles in radians. Not broadcast (the kernels broadcast as they go).
    """
    if reduction is not None:
        check_reduction(reduction)
    check_choice("angle_unit", angle_unit, ANGLE_UNITS)
    if eps is not None:
        check_eps(eps)
    xp, p, t = check_box_pair(pred, target, names=names, pred_floating=pred_floating, broadcast=broadcast,
                              **_KIND)
    return xp, _to_radians(p, angle_unit, xp), _to_radians(t, angle_unit, xp)


def prepare_one(boxes, angle_unit: str, name: str = "boxes"):
    """Validate one array of rotated boxes: ``(xp, boxes)`` in compute dtype, radians."""
    check_choice("angle_unit", angle_unit, ANGLE_UNITS)
    check_array(name, boxes)
    xp = namespace(boxes)
    check_boxes(name, boxes, xp)
    return xp, _to_radians(as_float(boxes, xp), angle_unit, xp)


def unpack(boxes, xp):
    """``(cx, cy, |w|, |h|, cos, sin)`` of boxes ``(..., 5)`` (angles in radians)."""
    angle = boxes[..., 4]
    return (boxes[..., 0], boxes[..., 1], subgrad_abs(boxes[..., 2], xp), subgrad_abs(boxes[..., 3], xp),
            xp.cos(angle), xp.sin(angle))


def safe_sqrt(x, xp):
    """sqrt(x) for x >= 0 with a finite gradient at 0 (there: 0, the subgradient the
    losses want at a minimum) instead of 1 / (2 sqrt(0)) = inf, whose product with a zero
    upstream gradient is the NaN that peers report (ultralytics #10108, mmrotate #204)."""
    positive = x > 0
    return xp.where(positive, xp.sqrt(xp.where(positive, x, xp.ones_like(x))), xp.zeros_like(x))
