r"""The ``boxes.numba`` fast path: a compiled CPU kernel (numba) of GIoU, DIoU, CIoU, EIoU and SIoU.

Declared in :mod:`losskit.boxes.losses` (``BOX_NUMBA``): it replaces the reference per-box
kernel for eager CPU torch tensors of float32 / float64 when numba is installed (``pip
install losskit[fast]``) and not switched off (``LOSSKIT_NUMBA=0``); everywhere else
``boxes.torch`` (:mod:`._torch`) or the reference runs. One kernel, :func:`box_kernel`,
computes for each box pair its loss and, when asked, its local gradients d loss_i / d pred_i
and d loss_i / d target_i, in one pass over memory: the boxes go in blocks of ``_BLOCK``
whose intermediates stay in the L1 cache, and each step over a block is a branch-free loop
that LLVM vectorises. :func:`compute` splits the batch into contiguous ranges run in
parallel by :func:`losskit._numba.parallel_for` (one per torch intra-op thread, so the
kernel follows ``torch.set_num_threads``; ranges of at least :data:`GRAIN` boxes). CIoU's
``atan`` and SIoU's four ``exp`` per box are scalar library calls (no vector math library);
``benchmarks/bench_boxes.py`` has the timings.

The per-box arithmetic is that of ``_torch._kernel`` (both pinned to the array-API kernels
of ``losses.py``), written out per box: the same guards (``eps`` in every division, no IoU
gradient where the union is 0), the same clamping of inverted boxes, the enclosing box over
all corners, CIoU's detached alpha and its threshold, SIoU's closed-form angle cost, and the
same subgradient conventions on degenerate boxes: ``clamp(x, min=0)`` passes the gradient
where ``x >= 0``, ``minimum`` / ``maximum`` split it half-and-half on ties (through ``sign``
of the difference), ``abs`` has derivative ``sign(x)`` (0 at 0). ``tests/test_fast_paths.py``
and ``tests/test_boxes_fast.py`` pin this kernel to the reference (values and both
gradients, random and degenerate boxes, float32 and float64).

The arithmetic stays in the inputs' dtype: every constant comes from the ``c`` array of
that dtype (a Python float literal would promote float32 to float64 inside numba, which is
slower and would not round like the float32 reference), and without ``fastmath`` LLVM
neither reassociates nor fuses multiply-adds, so the rounding is that of torch's
elementwise operations. There is one compiled kernel per dtype (compiled on first use, then
cached on disk); the loss kind is a runtime integer (one branch per block).

:func:`elementwise` is the path's entry point (torch tensors in, a differentiable loss out,
through :func:`losskit._per_row.per_row_loss`); numba itself is imported on the kernel's first call
(:func:`losskit._numba.jit`). This module imports no reference module.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import _numba
from ._common import ASPECT_K
from ._torch import run_per_box

__all__ = ["KIND_CODES", "GRAIN", "box_kernel", "compute", "elementwise"]

#: Loss kind -> the kernel's integer code.
KIND_CODES = {"giou": 0, "diou": 1, "ciou": 2, "eiou": 3, "siou": 4}

#: Boxes per range at least: below this one thread does the whole batch (a thread handoff
#: costs some microseconds, ~10^4 boxes' worth of work). :func:`elementwise` and
#: :func:`compute` take another as ``grain=``.
GRAIN = 1 << 14

# indices into the constants array ``c``
_EPS, _THR, _THETA, _THETA1, _K2, _ZERO, _QUARTER, _HALF, _ONE, _TWO, _K = range(11)

#: Boxes per block. A block's inputs, per-box intermediates and outputs (~50 rows of
#: _BLOCK numbers, 50 KB in float64) stay in the L1/L2 cache between the passes.
_BLOCK = 128

# rows of the per-block scratch array: geometry, loss, d loss / d (U, I, enclosing w and h,
# centre offset, sizes besides the union), and temporaries of the kind's pass
(_WP, _HP, _WT, _HT, _EW, _EH, _IOU, _UN, _UE, _DX, _DY, _L, _GU, _GI, _GEX, _GEY, _GSX,
 _GSY, _GWPX, _GWPY, _GWTX, _GWTY, _T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9,
 _T10, _T11) = range(34)
_ROWS = 34


def _constants(dtype, eps, alpha_threshold, theta):
    k = ASPECT_K  # CIoU's v = 4 / pi^2 (atan(w_gt / h_gt) - atan(w / h))^2
    thr = 0.0 if alpha_threshold is None else alpha_threshold
    return np.array(
        [eps, thr, theta, theta - 1.0, 2.0 * k, 0.0, 0.25, 0.5, 1.0, 2.0, k], dtype=dtype
    )


@_numba.jit
def box_kernel(part, start, stop, kind, p, t, c, has_thr, theta4, need_p, need_t, loss, gp, gt):
    """Boxes ``[start, stop)``: ``loss[i]`` and, when ``need_p`` / ``need_t``, the local
    gradients ``gp[i]`` / ``gt[i]`` (d loss_i / d box_i, xyxy).

    ``p``, ``t``: ``(n, 4)`` xyxy, C-contiguous, one float dtype; ``c``: the constants of
    :func:`_constants` in that dtype; ``kind``: a code of :data:`KIND_CODES`; ``has_thr``:
    CIoU's ``alpha_threshold`` is set; ``theta4``: SIoU's theta is 4 (two squarings instead
    of ``pow``). ``gp`` / ``gt`` may be empty ``(0, 4)`` arrays when not needed.

    The boxes go in blocks of ``_BLOCK``: the block's corners are copied into rows (one per
    coordinate), then each pass is a loop over the block's boxes without branches (selects
    and ``np.sign`` only), which LLVM vectorises: the shared geometry, the kind's terms
    (``atan`` / ``exp`` in loops of their own: without a vector math library they are scalar
    calls), the chain rule to the corners; then loss and gradients are copied out.
    """
    eps = c[_EPS]
    thr = c[_THR]
    theta = c[_THETA]
    theta1 = c[_THETA1]
    k2 = c[_K2]
    zero = c[_ZERO]
    quarter = c[_QUARTER]
    half = c[_HALF]
    one = c[_ONE]
    two = c[_TWO]
    kk = c[_K]
    dt = p.dtype
    inp = np.empty((8, _BLOCK), dt)
    S = np.empty((_ROWS, _BLOCK), dt)
    out = np.empty((4, _BLOCK), dt)
    for b0 in range(start, stop, _BLOCK):
        nb = min(_BLOCK, stop - b0)
        for j in range(nb):
            for q in range(4):
                inp[q, j] = p[b0 + j, q]
                inp[4 + q, j] = t[b0 + j, q]

        # -- shared geometry: sizes (clamped at 0: an inverted box is empty), intersection,
        # enclosing box (the smallest box holding all corners of both boxes), IoU
        for j in range(nb):
            x1 = inp[0, j]
            y1 = inp[1, j]
            x2 = inp[2, j]
            y2 = inp[3, j]
            X1 = inp[4, j]
            Y1 = inp[5, j]
            X2 = inp[6, j]
            Y2 = inp[7, j]
            wp = max(x2 - x1, zero)
            hp = max(y2 - y1, zero)
            wt = max(X2 - X1, zero)
            ht = max(Y2 - Y1, zero)
            iw = max(min(x2, X2) - max(x1, X1), zero)
            ih = max(min(y2, Y2) - max(y1, Y1), zero)
            inter = iw * ih
            union = wp * hp + wt * ht - inter
            ue = union + eps  # eps: two zero-area boxes have union 0 (the generic guard)
            rue = one / ue
            iou = inter * rue
            S[_WP, j] = wp
            S[_HP, j] = hp
            S[_WT, j] = wt
            S[_HT, j] = ht
            S[_EW, j] = max(max(x1, x2), max(X1, X2)) - min(min(x1, x2), min(X1, X2))
            S[_EH, j] = max(max(y1, y2), max(Y1, Y2)) - min(min(y1, y2), min(Y1, Y2))
            S[_IOU, j] = iou
            S[_UN, j] = union
            S[_UE, j] = ue
            # centre offset pred - target, in the generic code's order of operations
            S[_DX, j] = (x1 + x2 - X1 - X2) * half
            S[_DY, j] = (y1 + y2 - Y1 - Y2) * half
            S[_L, j] = one - iou
            S[_GU, j] = iou * rue  # d(-I / (U + eps)) / dU (0 where U = 0: I = 0 there)
            # d(-I / (U + eps)) / dI, 0 where U = 0 (two zero-area boxes): the reference's
            # IoU has no gradient there, where -1 / eps would give ~1e7 on a flat loss.
            S[_GI, j] = -rue if union > zero else zero
            S[_GEX, j] = zero
            S[_GEY, j] = zero
            S[_GSX, j] = zero
            S[_GSY, j] = zero
            S[_GWPX, j] = zero
            S[_GWPY, j] = zero
            S[_GWTX, j] = zero
            S[_GWTY, j] = zero

        # -- the kind's terms: loss and partial derivatives
        if kind == 0:  # GIoU: + (A - U) / (A + eps)
            for j in range(nb):
                ew = S[_EW, j]
                eh = S[_EH, j]
                area = ew * eh
                rae = one / (area + eps)  # eps: zero-area enclosing box (both boxes points)
                S[_L, j] = S[_L, j] + (area - S[_UN, j]) * rae
                S[_GU, j] = S[_GU, j] - rae  # d/dU = -1 / (A + eps)
                ga = S[_UE, j] * rae * rae  # d/dA = (U + eps) / (A + eps)^2
                S[_GEX, j] = eh * ga
                S[_GEY, j] = ew * ga
        elif kind <= 3:  # DIoU, CIoU, EIoU: + rho^2 / (c^2 + eps)
            for j in range(nb):
                ew = S[_EW, j]
                eh = S[_EH, j]
                dx = S[_DX, j]
                dy = S[_DY, j]
                # eps: zero-size enclosing box (two identical points)
                rc = one / (ew * ew + eh * eh + eps)
                rho2 = dx * dx + dy * dy
                S[_L, j] = S[_L, j] + rho2 * rc
                # d/d offset = 2 offset / c^2, and offset = (x1 + x2 - ...) / 2
                S[_GSX, j] = dx * rc
                S[_GSY, j] = dy * rc
                ge = rho2 * rc * rc * (-two)
                S[_GEX, j] = ew * ge
                S[_GEY, j] = eh * ge
            if kind == 2:  # CIoU: + alpha v
                # atan(a) - atan(b) = atan((a - b) / (1 + a b)) for a, b >= 0: one atan
                for j in range(nb):
                    ph = S[_HP, j] + eps  # eps: zero-height box (the generic aspect term)
                    th = S[_HT, j] + eps
                    wp = S[_WP, j]
                    wt = S[_WT, j]
                    S[_T0, j] = (wt * ph - wp * th) / (th * ph + wt * wp)
                for j in range(nb):
                    S[_T0, j] = math.atan(S[_T0, j])
                for j in range(nb):
                    diff = S[_T0, j]
                    v = diff * diff * kk
                    # alpha: a constant for the gradient (detached, as the paper says)
                    S[_T1, j] = v / ((one - S[_IOU, j]) + v + eps)
                if has_thr:  # the journal version: no aspect term while IoU < threshold
                    for j in range(nb):
                        S[_T1, j] = S[_T1, j] if S[_IOU, j] >= thr else zero
                for j in range(nb):
                    diff = S[_T0, j]
                    alpha = S[_T1, j]
                    v = diff * diff * kk
                    S[_L, j] = S[_L, j] + alpha * v
                    k = alpha * diff * k2  # d(alpha v) / d diff
                    # d diff / d(pw, ph) = (-ph, pw) / (ph^2 + pw^2), ph including eps;
                    # the target's the opposite with its own sizes
                    ph = S[_HP, j] + eps
                    th = S[_HT, j] + eps
                    wp = S[_WP, j]
                    wt = S[_WT, j]
                    rp = k / (ph * ph + wp * wp)
                    rt = k / (th * th + wt * wt)
                    S[_GWPX, j] = -ph * rp
                    S[_GWPY, j] = wp * rp
                    S[_GWTX, j] = th * rt
                    S[_GWTY, j] = -wt * rt
            elif kind == 3:  # EIoU: + (w - w_gt)^2 / (C_w^2 + eps) + (h - h_gt)^2 / (C_h^2 + eps)
                for j in range(nb):
                    ew = S[_EW, j]
                    eh = S[_EH, j]
                    rex = one / (ew * ew + eps)  # eps: zero-size enclosing side
                    rey = one / (eh * eh + eps)
                    dw = S[_WP, j] - S[_WT, j]
                    dh = S[_HP, j] - S[_HT, j]
                    qx = dw * rex
                    qy = dh * rey
                    S[_L, j] = S[_L, j] + dw * qx + dh * qy
                    S[_GEX, j] = S[_GEX, j] - qx * qx * ew * two
                    S[_GEY, j] = S[_GEY, j] - qy * qy * eh * two
                    S[_GWPX, j] = qx * two
                    S[_GWPY, j] = qy * two
                    S[_GWTX, j] = -(qx * two)
                    S[_GWTY, j] = -(qy * two)
        else:  # SIoU: + (distance cost + shape cost) / 2
            for j in range(nb):
                dx = S[_DX, j]
                dy = S[_DY, j]
                rr = one / (dx * dx + dy * dy + eps)  # eps: coincident centres, sigma = 0
                lam = abs(dx) * abs(dy) * rr * two  # angle cost 2 |dx| |dy| / sigma^2
                gamma = two - lam
                rcx = one / (S[_EW, j] + eps)  # eps: zero-size enclosing side
                rcy = one / (S[_EH, j] + eps)
                ux = dx * rcx
                uy = dy * rcy
                wp = S[_WP, j]
                hp = S[_HP, j]
                wt = S[_WT, j]
                ht = S[_HT, j]
                rmx = one / (max(wp, wt) + eps)  # eps: both sizes 0 gives 0 / 0
                rmy = one / (max(hp, ht) + eps)
                S[_T0, j] = -(ux * ux * gamma)  # exponents, exp'd below
                S[_T1, j] = -(uy * uy * gamma)
                S[_T2, j] = -(abs(wp - wt) * rmx)
                S[_T3, j] = -(abs(hp - ht) * rmy)
                S[_T4, j] = rr
                S[_T5, j] = lam
                S[_T6, j] = rcx
                S[_T7, j] = rcy
                S[_T8, j] = rmx
                S[_T9, j] = rmy
            for j in range(nb):
                S[_T0, j] = math.exp(S[_T0, j])
                S[_T1, j] = math.exp(S[_T1, j])
                S[_T2, j] = math.exp(S[_T2, j])
                S[_T3, j] = math.exp(S[_T3, j])
            if theta4:
                for j in range(nb):
                    fx = one - S[_T2, j]
                    fy = one - S[_T3, j]
                    fx2 = fx * fx
                    fy2 = fy * fy
                    S[_T10, j] = fx2 * fx2 + fy2 * fy2  # shape cost
                    S[_T11, j] = fx2 * fx * (two + two)  # its derivatives in omega_w, omega_h
                    S[_T3, j] = fy2 * fy * (two + two) * S[_T3, j]
                    S[_T11, j] = S[_T11, j] * S[_T2, j]
            else:
                for j in range(nb):
                    fx = one - S[_T2, j]
                    fy = one - S[_T3, j]
                    S[_T10, j] = fx**theta + fy**theta
                    S[_T11, j] = fx**theta1 * theta * S[_T2, j]
                    S[_T3, j] = fy**theta1 * theta * S[_T3, j]
            for j in range(nb):
                dx = S[_DX, j]
                dy = S[_DY, j]
                exx = S[_T0, j]
                exy = S[_T1, j]
                rr = S[_T4, j]
                lam = S[_T5, j]
                rcx = S[_T6, j]
                rcy = S[_T7, j]
                rmx = S[_T8, j]
                rmy = S[_T9, j]
                gamma = two - lam
                ux = dx * rcx
                uy = dy * rcy
                rx = ux * ux
                ry = uy * uy
                dist = (one - exx) + (one - exy)
                S[_L, j] = S[_L, j] + (dist + S[_T10, j]) * half
                # distance cost: d/d r_t = gamma e_t, d/d gamma = sum_t r_t e_t
                gex = exx * gamma
                gey = exy * gamma
                g_gamma = rx * exx + ry * exy
                # d Lambda / d d_t = 2 (sign(d_t) |d_other| - Lambda d_t) / sigma^2
                dlx = (np.sign(dx) * abs(dy) - dx * lam) * rr * two
                dly = (np.sign(dy) * abs(dx) - dy * lam) * rr * two
                # loss has dist / 2, and d_t = (x1 + x2 - ...) / 2: each corner 1/4
                S[_GSX, j] = (gex * ux * rcx * two - dlx * g_gamma) * quarter
                S[_GSY, j] = (gey * uy * rcy * two - dly * g_gamma) * quarter
                S[_GEX, j] = -(gex * rx * rcx)
                S[_GEY, j] = -(gey * ry * rcy)
                # shape cost: d/d omega = theta f^(theta - 1) e^(-omega); max's gradient
                # split half-and-half on ties ((1 + sign(a)) / 2 to the pred)
                gsx = S[_T11, j] * rmx * half
                gsy = S[_T3, j] * rmy * half
                ax = S[_WP, j] - S[_WT, j]
                ay = S[_HP, j] - S[_HT, j]
                sax = np.sign(ax)
                say = np.sign(ay)
                hx = abs(ax) * rmx * half
                hy = abs(ay) * rmy * half
                S[_GWPX, j] = (sax - hx - hx * sax) * gsx
                S[_GWPY, j] = (say - hy - hy * say) * gsy
                S[_GWTX, j] = (-sax - hx + hx * sax) * gsx
                S[_GWTY, j] = (-say - hy + hy * say) * gsy

        for j in range(nb):
            loss[b0 + j] = S[_L, j]

        # -- chain rule to the corners. clamp(min=0) passes the gradient where the raw
        # size is >= 0; minimum / maximum split it half-and-half on ties (torch's rule),
        # hence the sign-based shares: the pred's share of max(x1, x1_gt) is (1 + s1) / 2,
        # of min(x2, x2_gt) (1 + s2) / 2, of the enclosing box's outer max / min
        # (1 + sh) / 2 and (1 + sl) / 2; the target gets the rest.
        # d ew / d x2 = (sc (2 + sh + sl) + sh - sl) / 4 with sc = sign(x2 - x1) (x2's share
        # of the inner max), d ew / d x1 = (sh - sl) / 2 - d ew / d x2; for the target, sh
        # and sl change sign (see _torch._kernel).
        for side in range(2):
            if (side == 0 and not need_p) or (side == 1 and not need_t):
                continue
            dst = gp if side == 0 else gt
            # pred: sign +1; target: -1 (its shares are (1 - s) / 2)
            sg = one if side == 0 else -one
            o = 0 if side == 0 else 4
            for j in range(nb):
                x1 = inp[0, j]
                y1 = inp[1, j]
                x2 = inp[2, j]
                y2 = inp[3, j]
                X1 = inp[4, j]
                Y1 = inp[5, j]
                X2 = inp[6, j]
                Y2 = inp[7, j]
                gu = S[_GU, j]
                gi = S[_GI, j] - gu  # U = wp hp + wt ht - I
                iwr = min(x2, X2) - max(x1, X1)
                ihr = min(y2, Y2) - max(y1, Y1)
                # halved: the shares (1 +- s) below are doubled
                giw = max(ihr, zero) * gi * (one if iwr >= zero else zero) * half
                gih = max(iwr, zero) * gi * (one if ihr >= zero else zero) * half
                s1x = np.sign(x1 - X1) * sg
                s1y = np.sign(y1 - Y1) * sg
                s2x = np.sign(X2 - x2) * sg
                s2y = np.sign(Y2 - y2) * sg
                shx = np.sign(max(x1, x2) - max(X1, X2)) * sg
                shy = np.sign(max(y1, y2) - max(Y1, Y2)) * sg
                slx = np.sign(min(X1, X2) - min(x1, x2)) * sg
                sly = np.sign(min(Y1, Y2) - min(y1, y2)) * sg
                dslx = shx - slx
                dsly = shy - sly
                sslx = shx + slx
                ssly = shy + sly
                gex4 = S[_GEX, j] * quarter
                gey4 = S[_GEY, j] * quarter
                gsx = S[_GSX, j] * sg
                gsy = S[_GSY, j] * sg
                a1 = inp[o, j]
                b1 = inp[o + 1, j]
                a2 = inp[o + 2, j]
                b2 = inp[o + 3, j]
                scx = np.sign(a2 - a1)
                scy = np.sign(b2 - b1)
                if side == 0:
                    bx = S[_HP, j] * gu + S[_GWPX, j]
                    by = S[_WP, j] * gu + S[_GWPY, j]
                else:
                    bx = S[_HT, j] * gu + S[_GWTX, j]
                    by = S[_WT, j] * gu + S[_GWTY, j]
                bx = bx * (zero if scx < zero else one)
                by = by * (zero if scy < zero else one)
                e2x = (scx * (sslx + two) + dslx) * gex4
                e2y = (scy * (ssly + two) + dsly) * gey4
                out[2, j] = (s2x + one) * giw + bx + e2x + gsx
                out[3, j] = (s2y + one) * gih + by + e2y + gsy
                out[0, j] = -((s1x + one) * giw + bx) - e2x + dslx * gex4 * two + gsx
                out[1, j] = -((s1y + one) * gih + by) - e2y + dsly * gey4 * two + gsy
            for j in range(nb):
                for q in range(4):
                    dst[b0 + j, q] = out[q, j]


def compute(kind, p, t, loss, gp, gt, *, eps, alpha_threshold, theta, threads, grain=GRAIN):
    """Fill ``loss`` (n,) and, when not ``None``, ``gp`` / ``gt`` (n, 4) for the box pairs
    ``p``, ``t`` ((n, 4) C-contiguous NumPy arrays of float32 or float64), in parallel over
    up to ``threads`` threads, ranges of at least ``grain`` boxes."""
    n = p.shape[0]
    if n == 0:
        return
    dtype = p.dtype
    c = _constants(dtype, eps, alpha_threshold, theta)
    empty = np.empty((0, 4), dtype)
    need_p, need_t = gp is not None, gt is not None
    parts = _numba.plan(n, threads, grain)
    _numba.parallel_for(
        box_kernel, n, parts,
        KIND_CODES[kind], p, t, c, alpha_threshold is not None, float(theta) == 4.0,
        need_p, need_t, loss, gp if need_p else empty, gt if need_t else empty,
    )


# --------------------------------------------------------------------------- torch entry


def _compiled(p, t, need_p, need_t, kind, eps, alpha_threshold, theta, grain):
    """Loss (n,) and local gradients (n, 4) (or ``None``) from the compiled kernel, split
    over ``torch.get_num_threads()`` threads. ``p``, ``t``: contiguous (n, 4) CPU tensors."""
    n = p.shape[0]
    loss = torch.empty(n, dtype=p.dtype)
    gp = torch.empty((n, 4), dtype=p.dtype) if need_p else None
    gt = torch.empty((n, 4), dtype=p.dtype) if need_t else None
    # .numpy() shares the memory of a CPU tensor: the kernel reads and writes in place.
    compute(
        kind, p.detach().numpy(), t.detach().numpy(), loss.numpy(),
        gp.numpy() if need_p else None, gt.numpy() if need_t else None,
        eps=eps, alpha_threshold=alpha_threshold, theta=theta, threads=torch.get_num_threads(),
        grain=grain,
    )
    return loss, gp, gt


def elementwise(kind, pred, target, *, eps, alpha_threshold=None, theta=4.0, grain=GRAIN):
    """Per-box loss of ``kind`` for xyxy CPU tensors ``pred``, ``target`` of one shape
    (..., 4) and one dtype (float32 or float64), from the compiled kernel.

    Returns a tensor of shape ``(...)`` in the inputs' dtype; differentiable with respect
    to both (hand-derived gradients). Options: ``alpha_threshold`` (ciou), ``theta`` (siou);
    ``grain``: boxes per thread's range at least (default :data:`GRAIN`; the tests give a
    small one to check that any split over threads changes no number).
    """
    return run_per_box(_compiled, kind, pred, target, eps, alpha_threshold, theta, int(grain))
