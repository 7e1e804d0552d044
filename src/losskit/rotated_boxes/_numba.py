r"""The ``rotated_boxes.probiou_numba`` and ``rotated_boxes.kld_numba`` fast paths: compiled
CPU kernels (numba) of ProbIoU and KLD, loss and local gradient in one pass per box pair.

Declared in :mod:`losskit.rotated_boxes.gaussian` (``PROBIOU_NUMBA``, ``KLD_NUMBA``): they
replace the reference per-box computation for eager CPU torch tensors of float32 / float64
when numba is installed (``pip install losskit[fast]``) and not switched off
(``LOSSKIT_NUMBA=0``). In eager torch the reference is some 60 elementwise operations
forward and twice that backward, each a pass over memory; here each box pair is read once,
and its loss and d loss / d pred, d loss / d target (when asked) are written once.
:func:`compute` splits the batch into contiguous ranges run in parallel by
:func:`losskit._numba.parallel_for` (one per torch intra-op thread, ranges of at least
:data:`GRAIN` pairs). The autograd wrapper, :func:`losskit._per_row.per_row_loss`, keeps the local gradients
from the forward pass and scales them by the upstream gradient in its backward.

The per-box arithmetic is the reference's, in its order of operations (so that float32
rounds as torch's elementwise operations do): the boxes in their own frames (variances
p = k w^2, q = k h^2, relative angle phi with s = sin phi from the angle-difference formula
and c^2 = 1 - s^2), the same guards (``eps`` where the reference has it), the same clamps
with torch's subgradients (``clamp`` passes the gradient on the closed interval,
``maximum`` / ``minimum`` split it on ties, ``abs`` has derivative torch's sign(x), 0 at 0
and at NaN, the safe square root has gradient 0 at 0). Angle units are converted by the reference's
``prepare`` before the kernel (its autograd carries the pi / 180), broadcasting by torch's
``broadcast_tensors`` (whose backward sums over the broadcast axes). The backward is
derived by hand below, next to each term. ``tests/test_fast_paths.py`` and
``tests/test_rotated_boxes.py`` pin the kernels to the reference (values and both
gradients, float32 and float64, random and degenerate boxes).

Constants come from a ``c`` array of the inputs' dtype: a Python float literal would
promote float32 arithmetic to float64 inside numba (slower, and not rounded as the float32
reference). Without ``fastmath`` LLVM neither reassociates nor fuses multiply-adds. The
transcendental functions are the C library's (sin, cos, log, exp, log1p), within an ulp of
torch's. This module imports no reference module; numba itself is imported on a kernel's
first call (:func:`losskit._numba.jit`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import _numba
from .._per_row import per_row_loss

__all__ = ["GRAIN", "DIRECTIONS", "FUNS", "sincos_kernel", "probiou_kernel", "kld_kernel", "compute", "probiou", "kld"]

#: Box pairs per thread's range at least (below, one thread does the batch: a handoff costs
#: some microseconds, about 10^4 pairs' worth of work).
GRAIN = 1 << 14

#: kld_loss's ``direction`` and ``fun`` -> the kernel's integer codes.
DIRECTIONS = {"pred_target": 0, "target_pred": 1, "symmetric": 2, "max": 3, "min": 4}
FUNS = {"log1p": 0, "sqrt": 1, "none": 2}

# indices into the constants array ``c``
(_EPS, _FLOOR, _K, _R, _TAU, _ZERO, _QUARTER, _HALF, _ONE, _TWO, _FOUR, _SIX, _SMALL,
 _TOP) = range(14)


def _constants(dtype, *, eps, k, floor=0.0, tau=1.0):
    # SMALL, TOP: the reference's series threshold of 1 - exp(-x) (``_one_minus_exp_neg``)
    # and its upper clamp of B_D (``_bhattacharyya``).
    return np.array([eps, floor, k, math.sqrt(k), tau, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 1e-3, 100.0],
                    dtype=dtype)


# --------------------------------------------------------------------------- sin / cos

# The four sin / cos per pair are a third of the reference's CPU time and, as C library
# calls, more than half of a scalar kernel's. For float32 angles they are computed here in
# float64 by a branch-free polynomial that LLVM vectorises (8 lanes with AVX-512):
# x = n pi/2 + r, |r| <= pi/4, with pi/2 in three parts (the first with 26 significant
# bits, so n * _PIO2_1 is exact for |n| < 2^27; the third is pi/2 - float64(pi/2), which
# float64's cos(pi/2) returns), then the Taylor series of sin r to r^11 and of cos r to
# r^12 (truncation below 1e-11 relative on |r| <= pi/4, float64 rounding below 1e-15: the
# float32 result is the correctly rounded sin / cos but for values within 1e-11 of a
# rounding boundary; torch's are within an ulp). Beyond |x| = _TRIG_LIMIT (and for inf) the
# C library's sin / cos run instead: there n pi/2 in three parts would lose digits. float64
# angles use the C library's throughout (the polynomial would need more care for 1e-16).
_PIO2_1 = math.ldexp(math.floor(math.ldexp(math.pi / 2, 25)), -25)
_PIO2_2 = math.pi / 2 - _PIO2_1  # exact (Sterbenz)
_PIO2_3 = math.cos(math.pi / 2)
_TWO_OVER_PI = 2.0 / math.pi
_TRIG_LIMIT = 1e5
_S1, _S2, _S3, _S4, _S5 = ((-1) ** j / math.factorial(2 * j + 1) for j in range(1, 6))
_C1, _C2, _C3, _C4, _C5, _C6 = ((-1) ** j / math.factorial(2 * j) for j in range(1, 7))


@_numba.jit
def sincos_kernel(part, start, stop, p, t, poly, out):
    """``out[:, i]`` = cos, sin of pred's angle, cos, sin of target's for pairs ``[start,
    stop)``; ``poly``: the vectorised float32 polynomial above, else the C library."""
    if not poly:
        for i in range(start, stop):
            out[0, i] = math.cos(p[i, 4])
            out[1, i] = math.sin(p[i, 4])
            out[2, i] = math.cos(t[i, 4])
            out[3, i] = math.sin(t[i, 4])
        return
    ang = np.empty(stop - start, np.float64)
    for k in range(2):
        box = p if k == 0 else t
        for i in range(start, stop):  # contiguous, so that the loop below vectorises
            ang[i - start] = box[i, 4]
        cos_out = out[2 * k, start:stop]
        sin_out = out[2 * k + 1, start:stop]
        for i in range(stop - start):
            x = ang[i]
            n = np.floor(x * _TWO_OVER_PI + 0.5)
            r = ((x - n * _PIO2_1) - n * _PIO2_2) - n * _PIO2_3
            z = r * r
            sr = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * _S5))))
            cr = 1.0 + z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
            # quadrant n mod 4: (sin, cos) x = (s, c), (c, -s), (-s, -c), (-c, s)
            q = n - 4.0 * np.floor(n * 0.25)
            odd = (q == 1.0) or (q == 3.0)
            sx = cr if odd else sr
            cx = -sr if odd else cr
            cos_out[i] = -cx if q >= 2.0 else cx
            sin_out[i] = -sx if q >= 2.0 else sx
        for i in range(start, stop):  # rare: large angles, inf (NaN is NaN above)
            x = box[i, 4]
            if abs(x) > _TRIG_LIMIT:
                out[2 * k, i] = math.cos(x)
                out[2 * k + 1, i] = math.sin(x)


# --------------------------------------------------------------------------- ProbIoU


@_numba.jit
def probiou_kernel(part, start, stop, p, t, trig, c, l2, has_floor, need_p, need_t, loss, gp, gt):
    r"""Pairs ``[start, stop)``: ``loss[i]`` (ProbIoU's H_D, or B_D when ``l2``) and, when
    ``need_p`` / ``need_t``, ``gp[i]`` / ``gt[i]`` = d loss_i / d box_i.

    Forward (the reference's ``_bhattacharyya``, p1 = a^2, q1 = b^2 of pred, p2 = A^2,
    q2 = B^2 of target, (u, v) the centre offset on a box's width / height axes)::

        D  = det(Sp + St) + eps = p1 q1 + p2 q2 + q1 (p2 c2 + q2 s2) + p1 (p2 s2 + q2 c2) + eps
        M  = q1 up^2 + p1 vp^2 + q2 ut^2 + p2 vt^2        (Delta^T adj(Sp + St) Delta)
        P  = 4 a b A B + eps
        B_D = clamp(M / (4 D) + ln(D / P) / 2, 0, 100)
        H_D = sqrt(1 - exp(-B_D))     (1 - exp(-x) by its series x (1 - x (1/2 - x/6)) below 1e-3)

    Backward, with g = d loss / d B_D (1 for l2; for l1 (d om / dx) / (2 H_D), om = 1 -
    exp(-x), d om / dx = exp(-x) or the series' 1 - x + x^2/2; 0 where H_D = 0, the safe
    sqrt's subgradient; times the clamp's mask)::

        dB/dM = 1 / (4 D)            dB/dD = -M / (4 D^2) + 1 / (2 D) = (1/2 - t1) / D
        dB/dP = -1 / (2 P)
    """
    eps = c[_EPS]
    floor = c[_FLOOR]
    k = c[_K]
    r = c[_R]
    zero = c[_ZERO]
    quarter = c[_QUARTER]
    half = c[_HALF]
    one = c[_ONE]
    two = c[_TWO]
    four = c[_FOUR]
    six = c[_SIX]
    small = c[_SMALL]
    top = c[_TOP]
    for i in range(start, stop):
        wpr = p[i, 2]
        hpr = p[i, 3]
        wtr = t[i, 2]
        htr = t[i, 3]
        wp = abs(wpr)  # a negative width is the box of width |w| (unpack)
        hp = abs(hpr)
        wt = abs(wtr)
        ht = abs(htr)
        cp = trig[0, i]
        sp = trig[1, i]
        ct = trig[2, i]
        st = trig[3, i]
        if has_floor:  # standard deviations sqrt(k w^2 + floor)
            a = math.sqrt(k * wp * wp + floor)
            b = math.sqrt(k * hp * hp + floor)
            A = math.sqrt(k * wt * wt + floor)
            B = math.sqrt(k * ht * ht + floor)
        else:  # sqrt(k w^2) = sqrt(k) |w|
            a = r * wp
            b = r * hp
            A = r * wt
            B = r * ht
        dx = p[i, 0] - t[i, 0]
        dy = p[i, 1] - t[i, 1]
        s = sp * ct - cp * st  # sin(angle_p - angle_t)
        s2 = s * s
        c2 = one - s2
        p1 = a * a
        q1 = b * b
        p2 = A * A
        q2 = B * B
        det = p1 * q1 + p2 * q2 + q1 * (p2 * c2 + q2 * s2) + p1 * (p2 * s2 + q2 * c2)
        up = cp * dx + sp * dy
        vp = -sp * dx + cp * dy
        ut = ct * dx + st * dy
        vt = -st * dx + ct * dy
        mahal = q1 * up * up + p1 * vp * vp + q2 * ut * ut + p2 * vt * vt
        de = det + eps
        t1 = quarter * mahal / de
        pe = four * a * b * A * B + eps
        raw = t1 + half * math.log(de / pe)
        # clamp(raw, 0, 100) with NaN passed through, and its gradient mask (closed interval)
        bd = zero if raw < zero else (top if raw > top else raw)
        g = one if (raw >= zero and raw <= top) else zero
        if l2:
            loss[i] = bd
        else:
            if bd < small:  # the reference's series of 1 - exp(-x) and its derivative
                om = bd * (one - bd * (half - bd / six))
                dom = one - bd + bd * bd * half
            else:
                e = math.exp(-bd)
                om = one - e
                dom = e
            if om > zero:
                hd = math.sqrt(om)
                loss[i] = hd
                g = g * (half / hd * dom)  # d sqrt(om) / d om = 1 / (2 sqrt(om))
            else:  # safe_sqrt: 0, and gradient 0 there (not 1 / 0); NaN gives 0 as there
                loss[i] = zero
                g = zero
        if not (need_p or need_t):
            continue
        # -- the chain rule, from B_D down to the boxes
        rde = g / de
        gM = quarter * rde
        gD = (half - t1) * rde
        gP = -(half * g / pe)
        # d det / d (p1, q1, p2, q2, s2), c2 = 1 - s2 included in the last
        gp1 = gD * (q1 + p2 * s2 + q2 * c2) + gM * vp * vp
        gq1 = gD * (p1 + p2 * c2 + q2 * s2) + gM * up * up
        gp2 = gD * (q2 + q1 * c2 + p1 * s2) + gM * vt * vt
        gq2 = gD * (p2 + q1 * s2 + p1 * c2) + gM * ut * ut
        gs2 = gD * (p1 - q1) * (p2 - q2)
        # M in the projections: d M / d up = 2 q1 up, ...
        gup = two * gM * q1 * up
        gvp = two * gM * p1 * vp
        gut = two * gM * q2 * ut
        gvt = two * gM * p2 * vt
        # (u, v) = R(angle)^T (dx, dy): d/d(dx, dy) = R (d/du, d/dv); d u / d angle = v,
        # d v / d angle = -u
        gdx = gup * cp - gvp * sp + gut * ct - gvt * st
        gdy = gup * sp + gvp * cp + gut * st + gvt * ct
        # s2 = sin^2(angle_p - angle_t): d s2 / d angle_p = 2 s cos(phi), the opposite for the target
        gang = gs2 * two * s * (cp * ct + sp * st)
        # a, b, A, B: through the variances (d p1 / d a = 2 a) and P = 4 a b A B + eps
        gPab = gP * four
        ga = two * a * gp1 + gPab * b * A * B
        gb = two * b * gq1 + gPab * a * A * B
        gA = two * A * gp2 + gPab * a * b * B
        gB = two * B * gq2 + gPab * a * b * A
        if need_p:
            gp[i, 0] = gdx
            gp[i, 1] = gdy
            # d a / d w = k |w| / a (floor) or sqrt(k), times d|w| / dw = sign(w)
            if has_floor:
                gp[i, 2] = ga * (k * wp / a) * (one if wpr > zero else (-one if wpr < zero else zero))
                gp[i, 3] = gb * (k * hp / b) * (one if hpr > zero else (-one if hpr < zero else zero))
            else:
                gp[i, 2] = ga * r * (one if wpr > zero else (-one if wpr < zero else zero))
                gp[i, 3] = gb * r * (one if hpr > zero else (-one if hpr < zero else zero))
            gp[i, 4] = gup * vp - gvp * up + gang
        if need_t:
            gt[i, 0] = -gdx
            gt[i, 1] = -gdy
            if has_floor:
                gt[i, 2] = gA * (k * wt / A) * (one if wtr > zero else (-one if wtr < zero else zero))
                gt[i, 3] = gB * (k * ht / B) * (one if htr > zero else (-one if htr < zero else zero))
            else:
                gt[i, 2] = gA * r * (one if wtr > zero else (-one if wtr < zero else zero))
                gt[i, 3] = gB * r * (one if htr > zero else (-one if htr < zero else zero))
            gt[i, 4] = gut * vt - gvt * ut - gang


# --------------------------------------------------------------------------- KLD


@_numba.jit
def kld_kernel(part, start, stop, p, t, trig, c, direction, use_sqrt, fun, has_tau, need_p, need_t, loss, gp, gt):
    r"""Pairs ``[start, stop)``: ``loss[i]`` (kld_loss per box) and, when ``need_p`` /
    ``need_t``, ``gp[i]`` / ``gt[i]`` = d loss_i / d box_i.

    Each direction is a pass over the pair, first box f, second s (pass 0: f = pred, s =
    target, D(p||t); pass 1: the reverse), as the reference's ``_kl``: sizes clamped at
    ``eps``, a = sqrt(k) w_f, p1 = a^2, q1 = b^2, p2 = A^2, q2 = B^2 of the second,
    (ut, vt) the offset f - s on the second box's axes::

        D = ( ut^2 / p2 + vt^2 / q2 + clamp(shape, min=0) ) / 2
        shape = c2 (p1/p2 - 1 - ln(p1/p2) + q1/q2 - 1 - ln(q1/q2))
              + s2 (p1/q2 - 1 - ln(p1/p2) + q1/p2 - 1 - ln(q1/q2))

    with derivatives (c2 + s2 = 1 where the log terms meet)::

        d shape / d p1 = c2 / p2 + s2 / q2 - 1 / p1       d shape / d q1 = c2 / q2 + s2 / p2 - 1 / q1
        d shape / d p2 = (1 - (c2 p1 + s2 q1) / p2) / p2  d shape / d q2 = (1 - (c2 q1 + s2 p1) / q2) / q2
        d shape / d s2 = (p1 - q1) (1 / q2 - 1 / p2)

    Then the direction (``symmetric``: the mean; ``max`` / ``min``: the gradient to the
    larger / smaller, split on ties), the optional square root, ``fun`` and ``1 - 1 / (tau + y)``.
    """
    eps = c[_EPS]
    r = c[_R]
    tau = c[_TAU]
    zero = c[_ZERO]
    half = c[_HALF]
    one = c[_ONE]
    two = c[_TWO]
    dt = p.dtype
    val = np.zeros(2, dt)
    G = np.zeros((2, 10), dt)  # per pass: d D / d (first box, second box)
    for i in range(start, stop):
        for q in range(2):
            if (q == 0 and direction == 1) or (q == 1 and direction == 0):
                continue
            f = p if q == 0 else t
            o = t if q == 0 else p
            wfr = f[i, 2]
            hfr = f[i, 3]
            wsr = o[i, 2]
            hsr = o[i, 3]
            # clamp(|w|, min=eps): invertible covariances; the gradient passes where |w| >= eps
            awf = abs(wfr)
            ahf = abs(hfr)
            aws = abs(wsr)
            ahs = abs(hsr)
            wf = eps if awf < eps else awf
            hf = eps if ahf < eps else ahf
            ws = eps if aws < eps else aws
            hs = eps if ahs < eps else ahs
            cf = trig[2 * q, i]
            sf = trig[2 * q + 1, i]
            cs = trig[2 - 2 * q, i]
            ss = trig[3 - 2 * q, i]
            a = r * wf
            b = r * hf
            A = r * ws
            B = r * hs
            dx = f[i, 0] - o[i, 0]
            dy = f[i, 1] - o[i, 1]
            s = sf * cs - cf * ss
            s2 = s * s
            c2 = one - s2
            p1 = a * a
            q1 = b * b
            p2 = A * A
            q2 = B * B
            ut = cs * dx + ss * dy
            vt = -ss * dx + cs * dy
            mahal = ut * ut / p2 + vt * vt / q2
            lr1 = math.log(p1 / p2)
            lr2 = math.log(q1 / q2)
            shape = (c2 * ((p1 / p2 - one - lr1) + (q1 / q2 - one - lr2))
                     + s2 * ((p1 / q2 - one - lr1) + (q1 / p2 - one - lr2)))
            # clamp(shape, min=0), NaN passed through; its gradient passes where shape >= 0
            val[q] = half * (mahal + (zero if shape < zero else shape))
            if not (need_p or need_t):
                continue
            gsh = half if shape >= zero else zero
            gut = ut / p2  # d D / d ut = ut / p2
            gvt = vt / q2
            gp1 = gsh * (c2 / p2 + s2 / q2 - one / p1)
            gq1 = gsh * (c2 / q2 + s2 / p2 - one / q1)
            gp2 = gsh * (one - (c2 * p1 + s2 * q1) / p2) / p2 - half * gut * gut
            gq2 = gsh * (one - (c2 * q1 + s2 * p1) / q2) / q2 - half * gvt * gvt
            gs2 = gsh * (p1 - q1) * (one / q2 - one / p2)
            gdx = gut * cs - gvt * ss
            gdy = gut * ss + gvt * cs
            gang = gs2 * two * s * (cf * cs + sf * ss)
            # d p1 / d w = 2 a sqrt(k) sign(w) where |w| >= eps (the clamp's mask: below)
            G[q, 0] = gdx
            G[q, 1] = gdy
            G[q, 2] = gp1 * two * a * r * (one if wfr > zero else (-one if wfr < zero else zero))
            G[q, 3] = gq1 * two * b * r * (one if hfr > zero else (-one if hfr < zero else zero))
            G[q, 4] = gang
            G[q, 5] = -gdx
            G[q, 6] = -gdy
            G[q, 7] = gp2 * two * A * r * (one if wsr > zero else (-one if wsr < zero else zero))
            G[q, 8] = gq2 * two * B * r * (one if hsr > zero else (-one if hsr < zero else zero))
            G[q, 9] = gut * vt - gvt * ut - gang  # d ut / d angle_s = vt, d vt / d angle_s = -ut
        # -- the direction: d and the weights (w0, w1) of the two passes' gradients
        fw = val[0]
        rv = val[1]
        if direction == 0:
            d = fw
            w0 = one
            w1 = zero
        elif direction == 1:
            d = rv
            w0 = zero
            w1 = one
        elif direction == 2:
            d = half * (fw + rv)
            w0 = half
            w1 = half
        elif direction == 3:  # maximum: NaN propagates; ties split the gradient
            d = fw if (fw >= rv or fw != fw) else rv
            w0 = zero if fw < rv else (half if fw == rv else one)
            w1 = zero if fw > rv else (half if fw == rv else one)
        else:
            d = fw if (fw <= rv or fw != fw) else rv
            w0 = zero if fw > rv else (half if fw == rv else one)
            w1 = zero if fw < rv else (half if fw == rv else one)
        g = one
        if use_sqrt:  # safe_sqrt: gradient 0 at 0 (NaN gives 0, as in the reference)
            if d > zero:
                d = math.sqrt(d)
                g = half / d
            else:
                d = zero
                g = zero
        if fun == 0:
            g = g / (one + d)
            d = math.log1p(d)
        elif fun == 1:
            if d > zero:
                d = math.sqrt(d)
                g = g * (half / d)
            else:
                d = zero
                g = zero
        if has_tau:  # 1 - 1 / (tau + y): derivative 1 / (tau + y)^2
            z = tau + d
            d = one - one / z
            g = g / (z * z)
        loss[i] = d
        if not (need_p or need_t):
            continue
        w0 = w0 * g
        w1 = w1 * g
        # pass 0 has pred first, pass 1 target first
        for j in range(5):
            if need_p:
                gp[i, j] = w0 * G[0, j] + w1 * G[1, 5 + j]
            if need_t:
                gt[i, j] = w0 * G[0, 5 + j] + w1 * G[1, j]
        # clamp(|w|, min=eps) passes no gradient where |w| < eps (or w is NaN): a select
        # after the upstream factor, as torch's clamp backward (0 even for a NaN upstream)
        for j in range(2, 4):
            if need_p and not abs(p[i, j]) >= eps:
                gp[i, j] = zero
            if need_t and not abs(t[i, j]) >= eps:
                gt[i, j] = zero


# --------------------------------------------------------------------------- entry points


def compute(which, p, t, loss, gp, gt, *, options, threads, grain=GRAIN):
    """Fill ``loss`` (n,) and, when not ``None``, ``gp`` / ``gt`` (n, 5) for the pairs ``p``,
    ``t`` ((n, 5) C-contiguous NumPy arrays of one float dtype, angles in radians), with
    ``which`` ``"probiou"`` (options ``mode``, ``floor``, ``eps``, ``k``) or ``"kld"``
    (``direction``, ``sqrt``, ``fun``, ``tau``, ``eps``, ``k``), over up to ``threads``
    threads in ranges of at least ``grain`` pairs."""
    n = p.shape[0]
    if n == 0:
        return
    o = dict(options)
    need_p, need_t = gp is not None, gt is not None
    empty = np.empty((0, 5), p.dtype)
    gp = gp if need_p else empty
    gt = gt if need_t else empty
    parts = _numba.plan(n, threads, grain)
    trig = np.empty((4, n), p.dtype)
    _numba.parallel_for(sincos_kernel, n, parts, p, t, p.dtype == np.float32, trig)
    if which == "probiou":
        c = _constants(p.dtype, eps=o["eps"], k=o["k"], floor=o["floor"])
        _numba.parallel_for(probiou_kernel, n, parts, p, t, trig, c, o["mode"] == "l2", o["floor"] != 0.0,
                            need_p, need_t, loss, gp, gt)
    else:
        tau = o["tau"]
        c = _constants(p.dtype, eps=o["eps"], k=o["k"], tau=1.0 if tau is None else tau)
        _numba.parallel_for(kld_kernel, n, parts, p, t, trig, c, DIRECTIONS[o["direction"]], o["sqrt"],
                            FUNS[o["fun"]], tau is not None, need_p, need_t, loss, gp, gt)


def _compiled(p, t, need_p, need_t, which, options, grain):
    """Loss (n,) and local gradients (n, 5) (or ``None``) of contiguous (n, 5) CPU tensors."""
    n = p.shape[0]
    loss = torch.empty(n, dtype=p.dtype)
    gp = torch.empty((n, 5), dtype=p.dtype) if need_p else None
    gt = torch.empty((n, 5), dtype=p.dtype) if need_t else None
    # .numpy() shares a CPU tensor's memory: the kernel reads and writes in place.
    compute(which, p.detach().numpy(), t.detach().numpy(), loss.numpy(),
            gp.numpy() if need_p else None, gt.numpy() if need_t else None,
            options=options, threads=torch.get_num_threads(), grain=grain)
    return loss, gp, gt


def _run(which, pred, target, options, grain):
    return per_row_loss(_compiled, pred, target, 5, which, options, int(grain))


def probiou(pred, target, *, mode, floor, eps, k, grain=GRAIN):
    """Per-pair ProbIoU loss (``mode`` ``"l1"``: H_D, ``"l2"``: B_D) of CPU tensors ``pred``,
    ``target`` of one shape (..., 5) and dtype (float32 / float64), angles in radians; ``k``
    the variance factor (1/12). Differentiable in both (hand-derived gradients); ``grain``:
    pairs per thread's range at least (the tests give a small one)."""
    return _run("probiou", pred, target, (("mode", mode), ("floor", float(floor)), ("eps", float(eps)),
                                          ("k", float(k))), grain)


def kld(pred, target, *, direction, sqrt, fun, tau, eps, k, grain=GRAIN):
    """Per-pair kld_loss (every option of :func:`losskit.kld_loss`) of CPU tensors ``pred``,
    ``target`` of one shape (..., 5) and dtype (float32 / float64), angles in radians; ``k``
    the variance factor (1/4). Differentiable in both; ``grain`` as in :func:`probiou`."""
    tau = None if tau is None else float(tau)
    return _run("kld", pred, target, (("direction", direction), ("sqrt", bool(sqrt)), ("fun", fun),
                                      ("tau", tau), ("eps", float(eps)), ("k", float(k))), grain)
