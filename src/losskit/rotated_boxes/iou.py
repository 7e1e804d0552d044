"""Exact IoU of rotated boxes by convex-polygon intersection, and the rotated IoU loss.

The intersection of two rotated rectangles A and B is a convex polygon whose boundary is
made of the parts of A's edges inside B and the parts of B's edges inside A. Its area
follows from Green's theorem, ``area = 1/2 sum over boundary segments of cross(X0, X1)``,
so no polygon has to be assembled or sorted: each of the 8 edges ``P -> P + e`` is clipped
against the other box's 4 half-planes (the segment's parameter range ``[t_lo, t_hi]``
inside each, as in Cyrus-Beck clipping), and the clipped segment contributes
``1/2 (t_hi - t_lo) cross(P, e)``. Everything is elementwise over broadcast boxes with
fixed ``(..., 4, 4)`` edge-by-half-plane arrays: no loop over boxes, piecewise smooth in the
box parameters (differentiable almost everywhere), and compilable.

Degenerate contacts are decided with a tolerance of a few ulps of the pair's scale (the
coordinates are taken relative to the first box's centre, so it is the boxes' size and
distance, not their absolute position, that sets it): an edge lying on the other box's
edge line (identical boxes, a square over itself turned by 90 degrees, boxes sharing a
side) counts once -- A's edge is kept, B's edge with the same outward normal is dropped,
and one with the opposite normal (boxes touching from outside) is kept so that the two
cancel. Every division is by a difference larger than that tolerance, so values and
gradients stay finite at coincident, nested and touching boxes.
"""

from __future__ import annotations

from .._reduce import reduce_loss
from .._xp import backend_name
from ._common import loss
from ._geometry import check_boxes, prepare, unpack

__all__ = ["rotated_box_iou", "rotated_box_iou_matrix", "rotated_iou_loss"]

_REF_SHAPELY = ("Exact polygon intersection (checked against shapely); Zhou et al., IoU Loss for "
                "2D/3D Object Detection, 2019, arXiv:1908.03851")

# Corner signs of a box in its own frame, in counter-clockwise order of the (u, v) frame:
# (w/2, -h/2), (w/2, h/2), (-w/2, h/2), (-w/2, -h/2). Edge k runs from corner k to k+1 and
# lies on the half-plane boundary k, whose outward normals are u, v, -u, -v.
_SX = (1.0, 1.0, -1.0, -1.0)
_SY = (-1.0, 1.0, 1.0, -1.0)
# The tolerance, in ulps of the pair's scale, below which a corner lies on a line.
_ULPS = 64.0


def _frame(box, origin_x, origin_y, xp):
    """(cx, cy, hw, hh, ux, uy, vx, vy) of boxes relative to an origin; hw, hh half sizes."""
    cx, cy, w, h, c, s = unpack(box, xp)
    return cx - origin_x, cy - origin_y, w / 2, h / 2, c, s, -s, c


def _corners(f, xp, shift=0):
    """Corners (x, y), each ``(..., 4)``, starting at corner ``shift`` (1: the edges' ends)."""
    cx, cy, hw, hh, ux, uy, vx, vy = f
    xs, ys = [], []
    for k in range(4):
        a, b = _SX[(k + shift) % 4], _SY[(k + shift) % 4]
        xs.append(cx + a * hw * ux + b * hh * vx)
        ys.append(cy + a * hw * uy + b * hh * vy)
    return xp.stack(xs, axis=-1), xp.stack(ys, axis=-1)


def _normals(f, xp):
    _, _, _, _, ux, uy, vx, vy = f
    return xp.stack([ux, vx, -ux, -vx], axis=-1), xp.stack([uy, vy, -uy, -vy], axis=-1)


def _inside(f, x, y, xp):
    """Signed distances ``(..., 4 corners, 4 half-planes)`` of points inside box ``f``'s
    four half-planes (positive inside)."""
    cx, cy, hw, hh, ux, uy, vx, vy = (e[..., None] for e in f)
    rx, ry = x - cx, y - cy
    ur = ux * rx + uy * ry
    vr = vx * rx + vy * ry
    return xp.stack([hw - ur, hh - vr, hw + ur, hh + vr], axis=-1)


def _clipped(fx, fy, tol, xp, *, second: bool):
    """``sum_k 1/2 (t_hi - t_lo)_+ cross(P_k, e_k)`` over the edges of box ``fx`` clipped
    to box ``fy``. ``second``: ``fx`` is B (its edges on one of A's edge lines with the
    same outward normal are dropped, A's copy counts)."""
    px, py = _corners(fx, xp)
    qx, qy = _corners(fx, xp, shift=1)
    tol = tol[..., None, None]
    g0 = _inside(fy, px, py, xp)
    g1 = _inside(fy, qx, qy, xp)
    zero = xp.zeros_like(g0)
    # Snap distances within the tolerance onto the line.
    g0 = xp.where(xp.abs(g0) <= tol, zero, g0)
    g1 = xp.where(xp.abs(g1) <= tol, zero, g1)
    on_line = (g0 == 0) & (g1 == 0)
    out = (g0 < 0) & (g1 < 0)
    if second:
        nxx, nxy = _normals(fx, xp)
        nyx, nyy = _normals(fy, xp)
        same = (nxx[..., :, None] * nyx[..., None, :] + nxy[..., :, None] * nyy[..., None, :]) > 0
        out = out | (on_line & same)
    exits = (g0 >= 0) & (g1 < 0)
    enters = (g0 < 0) & (g1 >= 0)
    crossing = exits | enters
    # |g0 - g1| > tol wherever the segment crosses the line: a safe division.
    den = xp.where(crossing, g0 - g1, xp.ones_like(g0))
    t = g0 / den
    one = xp.ones_like(g0)
    t_lo = xp.max(xp.where(enters, t, zero), axis=-1)
    t_hi = xp.min(xp.where(exits, t, one), axis=-1)
    empty = xp.any(out, axis=-1)
    dt = xp.where(empty, xp.zeros_like(t_lo), xp.clip(t_hi - t_lo, min=0.0))
    cross = px * qy - py * qx  # cross(P, Q) = cross(P, Q - P) = cross(P, e)
    return 0.5 * xp.sum(dt * cross, axis=-1)


def intersection_and_areas(a, b, xp):
    """Intersection area and the two areas of broadcastable boxes ``(..., 5)`` (radians)."""
    ox, oy = a[..., 0], a[..., 1]
    fa = _frame(a, ox, oy, xp)
    fb = _frame(b, ox, oy, xp)
    area_a = 4 * fa[2] * fa[3]
    area_b = 4 * fb[2] * fb[3]
    scale = xp.maximum(xp.maximum(fa[2] + fa[3], fb[2] + fb[3]), xp.abs(fb[0]) + xp.abs(fb[1]))
    ulp = 2.220446049250313e-16 if a.dtype == xp.float64 else 1.1920929e-07
    tol = (_ULPS * ulp) * scale
    inter = _clipped(fa, fb, tol, xp, second=False) + _clipped(fb, fa, tol, xp, second=True)
    # Rounding can leave the sum a few ulps outside [0, min(area)]: a zero-area box has no
    # intersection, and no intersection exceeds either box.
    inter = xp.clip(inter, min=0.0)
    inter = xp.minimum(inter, xp.minimum(area_a, area_b))
    return inter, area_a, area_b


def _iou(a, b, xp, eps):
    inter, area_a, area_b = intersection_and_areas(a, b, xp)
    # eps: two zero-area boxes give 0 / eps = 0 instead of 0 / 0.
    return inter / (area_a + area_b - inter + eps)


def rotated_box_iou(boxes1, boxes2, *, angle_unit: str = "radians", eps: float = 1e-7):
    r"""Elementwise exact intersection over union of two broadcastable arrays of rotated boxes.

    .. math::

        \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B| + \epsilon}

    where :math:`A` and :math:`B` are the rotated rectangles ``(cx, cy, w, h, angle)``,
    :math:`|\cdot|` an area (:math:`|A| = |w h|`), :math:`A \cap B` their intersection, a
    convex polygon computed exactly, and :math:`\epsilon` (``eps``) keeps two zero-area
    boxes at 0 instead of 0 / 0.

    Args:
        boxes1: rotated boxes of shape ``(..., 5)``: ``cx, cy, w, h, angle``.
        boxes2: rotated boxes of shape ``(..., 5)``, broadcastable with ``boxes1``.
        angle_unit: ``"radians"`` (default) or ``"degrees"``.
        eps: positive guard in the denominator.

    Returns:
        IoU in [0, 1] of shape ``broadcast(boxes1, boxes2).shape[:-1]``; float64 for
        float64 ``boxes1``, float32 otherwise (integers and half precision included).

    Notes:
        The angle rotates the width axis by R(angle) = [[cos, -sin], [sin, cos]]
        (ultralytics, mmrotate); ``w`` and ``h`` enter through their absolute values. The
        area comes from Green's theorem over the clipped edges (see
        :mod:`losskit.rotated_boxes.iou`); it is differentiable almost everywhere, and its
        gradient is finite at coincident, nested and touching boxes. It agrees with
        ``shapely`` polygon intersection to rounding. For all pairs of two sets use
        :func:`rotated_box_iou_matrix`.

    References:
        Zhou et al., IoU Loss for 2D/3D Object Detection, 2019, arXiv:1908.03851 (rotated
        IoU as a loss); Sutherland and Hodgman / Cyrus and Beck, polygon and line clipping.

    Example:
        >>> import numpy as np, losskit
        >>> a = np.array([0.0, 0.0, 2.0, 2.0, 0.0])
        >>> b = np.array([0.0, 0.0, 2.0, 2.0, np.pi / 4])  # the square turned by 45 degrees
        >>> round(float(losskit.rotated_box_iou(a, b)), 4)  # octagon 8 (sqrt 2 - 1) over 8 - that
        0.7071
    """
    xp, a, b = prepare(boxes1, boxes2, angle_unit, eps, None, names=("boxes1", "boxes2"), pred_floating=False)
    return _iou(a, b, xp, eps)


# Pairs per block of rotated_box_iou_matrix: bounds its (block, 4, 4) temporaries.
_PAIRS_PER_BLOCK = 1 << 17


def rotated_box_iou_matrix(boxes1, boxes2, *, angle_unit: str = "radians", eps: float = 1e-7):
    r"""Pairwise exact IoU of every rotated box in ``boxes1`` with every one in ``boxes2``.

    .. math::

        M_{ij} = \frac{|a_i \cap b_j|}{|a_i| + |b_j| - |a_i \cap b_j| + \epsilon}

    where :math:`a_i` and :math:`b_j` are the rotated boxes of the two sets (see
    :func:`rotated_box_iou`).

    Args:
        boxes1: array of shape ``(N, 5)``.
        boxes2: array of shape ``(M, 5)``.
        angle_unit: ``"radians"`` (default) or ``"degrees"``.
        eps: positive guard in the denominator.

    Returns:
        Array of shape ``(N, M)``, float64 for float64 ``boxes1`` and float32 otherwise.
        Rows are computed in blocks, so the ``(pairs, 4, 4)`` temporaries stay bounded.

    References:
        Zhou et al., IoU Loss for 2D/3D Object Detection, 2019, arXiv:1908.03851.

    Example:
        >>> import numpy as np, losskit
        >>> a = np.array([[0.0, 0.0, 2.0, 2.0, 0.0]])
        >>> b = np.array([[1.0, 0.0, 2.0, 2.0, 0.0], [0.0, 0.0, 2.0, 2.0, np.pi / 2], [9.0, 0.0, 1.0, 1.0, 0.3]])
        >>> np.round(losskit.rotated_box_iou_matrix(a, b), 4).tolist()  # 2 / 6, 1, 0
        [[0.3333, 1.0, 0.0]]
    """
    for name, bx in (("boxes1", boxes1), ("boxes2", boxes2)):
        check_boxes(name, bx)
        if bx.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D array of shape (N, 5), got shape {tuple(bx.shape)}")
    xp, a, b = prepare(boxes1, boxes2, angle_unit, eps, None, names=("boxes1", "boxes2"),
                       pred_floating=False, broadcast=False)
    n, m = a.shape[0], b.shape[0]
    rows = max(1, _PAIRS_PER_BLOCK // max(m, 1))
    bb = xp.expand_dims(b, axis=0)
    if n <= rows or backend_name(xp) == "jax":
        return _iou(xp.expand_dims(a, axis=1), bb, xp, eps)
    blocks = [_iou(xp.expand_dims(a[i:i + rows], axis=1), bb, xp, eps) for i in range(0, n, rows)]
    return xp.concat(blocks, axis=0)


@loss(
    formula=r"\mathcal{L} = 1 - \frac{|A \cap B|}{|A \cup B|}",
    reference=_REF_SHAPELY,
    aliases=("riou_loss",),
)
def rotated_iou_loss(pred, target, *, angle_unit: str = "radians", eps: float = 1e-7,
                     reduction: str = "mean"):
    r"""Rotated IoU loss: one minus the exact IoU of predicted and target rotated boxes.

    .. math::

        \mathcal{L} = 1 - \frac{|P \cap T|}{|P| + |T| - |P \cap T| + \epsilon}

    where :math:`P` and :math:`T` are the predicted and target rotated rectangles,
    :math:`|\cdot|` an area and :math:`\epsilon` the ``eps`` guard (see
    :func:`rotated_box_iou` for the exact intersection).

    Args:
%(boxes)s
%(angle_unit)s
        eps: positive guard in the denominator.
%(reduction)s

    Returns:
        The per-box loss in [0, 1] of shape ``broadcast(pred, target).shape[:-1]`` for
        ``reduction="none"``, else its mean or sum (a 0-d array; 0 for an empty batch).
        float64 for float64 ``pred``, float32 otherwise.

    Notes:
        The loss is flat (zero gradient) while the boxes do not overlap, as the axis-aligned
        IoU loss is; the Gaussian losses (:func:`probiou_loss`, :func:`kld_loss`, ...) are
        not. Invariant under translation, under ``angle + pi`` and under
        ``(w, h, angle) -> (h, w, angle + pi/2)``: the same rectangle.

    References:
        Zhou et al., IoU Loss for 2D/3D Object Detection, 2019, arXiv:1908.03851.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([[1.0, 0.0, 2.0, 2.0, 0.0]]); t = np.array([[0.0, 0.0, 2.0, 2.0, 0.0]])
        >>> round(float(losskit.rotated_iou_loss(p, t)), 4)  # 1 - 2 / 6
        0.6667
    """
    xp, p, t = prepare(pred, target, angle_unit, eps, reduction)
    return reduce_loss(1.0 - _iou(p, t, xp, eps), reduction, xp)
