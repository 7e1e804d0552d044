"""The ``boxes.torch`` fast path: hand-derived PyTorch kernel of GIoU, DIoU, CIoU, EIoU and SIoU.

Declared in :mod:`losskit.boxes.losses` (``BOX_TORCH``): it replaces the reference per-box
kernel for eager torch tensors on any device where ``boxes.numba`` does not run (numba not
installed or switched off by ``LOSSKIT_NUMBA=0``, accelerators). Under ``torch.compile``, ``torch.func`` transforms and dispatch modes the
reference runs instead (the one eligibility rule of :mod:`losskit._fastpath`).
``tests/test_fast_paths.py`` and ``tests/test_boxes_fast.py`` pin it to the reference --
values and gradients with respect to both arguments -- on random and degenerate boxes, in
float32 and float64.

Why a separate torch path: a box loss is some 40 elementwise operations. Written with tensor
operators, autograd records each of them, each writes a fresh output array, and the
backward pass runs about twice as many again, every one a full pass over memory. Here

* the forward pass computes the loss **and its local gradient** d loss_i / d box_i together,
  sharing the intermediates (1 / (U + eps), the enclosing box, the tie shares, ...), mostly
  with in-place operations; the backward pass is one multiply by ``grad_output``;
* the (n, 4) boxes are transposed once into rows (x1, y1, x2, y2 of the prediction, then of
  the target), so every later operation runs on contiguous memory, and x and y go together
  as (2, n) blocks: widths, intersection, enclosing box and centre offset are one operation
  each for both axes;
* on the CPU the batch is processed in chunks of :data:`CHUNK` boxes per intra-op thread,
  so that a chunk's temporaries stay in the CPU cache instead of streaming through main
  memory once per operation.

Semantics are those of the reference kernels (``_geometry.py``, ``losses.py``), including
the guards: IoU = I / (U + eps) with no gradient where U = 0 (two zero-area boxes: the loss
is flat there); inverted boxes are empty (sizes clamped at 0) while the enclosing box is the
smallest box holding all corners of both boxes; GIoU (A - U) / (A + eps); DIoU rho^2 / (c^2 +
eps); CIoU's v with atan(w / (h + eps)) and its alpha = v / ((1 - IoU) + v + eps) detached (a
constant for the gradient, as the paper says), zeroed below ``alpha_threshold``; EIoU's (w -
w_gt)^2 / (C_w^2 + eps); SIoU's closed-form angle cost 2 |dx| |dy| / (rho^2 + eps), (d / (C +
eps))^2 and |w - w_gt| / (max(w, w_gt) + eps). The gradients follow the reference's
subgradient conventions, so that all paths agree on degenerate boxes too: ``clamp(x,
min=0)`` passes the gradient where ``x >= 0``, ``minimum`` / ``maximum`` split it
half-and-half on ties (identical boxes, shared edges, zero widths), ``abs`` has derivative
``sign(x)`` (0 at 0).

The backward pass is not itself differentiable (``once_differentiable``): a second
derivative through a fast-path loss raises instead of silently missing terms; run the loss
inside ``losskit.fast_paths(False)`` for higher-order gradients.

This module imports no reference module (:mod:`._common` holds what both need).
"""

from __future__ import annotations

import torch

from .._per_row import per_row_loss
from ._common import ASPECT_K as _K
from ._common import FAST_KINDS

__all__ = ["CHUNK", "elementwise", "run_per_box"]

#: Boxes per chunk and intra-op thread on the CPU: 2**16 boxes keep a chunk's live
#: temporaries (~20 arrays of 2 x 2**16 floats) in the last-level cache, while the Python
#: overhead of a chunk (~80 operator calls) stays small against its arithmetic (see
#: ``benchmarks/bench_boxes.py``). :func:`elementwise` takes another as ``chunk=``.
CHUNK: int = 1 << 16


def _ge0(x):
    """1.0 where ``x >= 0`` else 0.0: where ``clamp(x, min=0)`` passes its gradient."""
    return x.sign().add_(1.0).clamp_(max=1.0)


def _plus(c, x, sign):
    """``c + sign * x`` for ``sign`` = +-1, as one operation (add or reverse-subtract)."""
    return torch.add(x, c) if sign > 0 else torch.rsub(x, c)


def _siou_terms(d, ewh, whp, wht, eps, theta, need, grads):
    """SIoU's (distance + shape) / 2 (the generic closed form) and, when ``need``, its
    gradients, stored in ``grads``: "s" (per corner, from the centre offset), "e"
    (enclosing w, h), "wp" / "wt" (clamped sizes). All (2, n) except the returned (n,).

    ``d``: centre offset pred - target (x, y); ``ewh``: enclosing (w, h); ``whp``, ``wht``:
    clamped sizes. Uses the generic kernel's guards: Lambda = 2 |dx| |dy| / (rho^2 + eps),
    rho_t = (d_t / (C_t + eps))^2, omega_t = |w - w_gt| / (max(w, w_gt) + eps).
    """
    ad = d.abs()
    d2 = d * d
    rr = torch.add(d2[0], d2[1]).add_(eps).reciprocal_()  # eps: coincident centres, sigma = 0
    lam = ad[0] * ad[1]
    lam.mul_(rr).mul_(2.0)  # angle cost sin(2 alpha) = 2 |dx| |dy| / sigma^2
    gamma = torch.rsub(lam, 2.0)
    rce = (ewh + eps).reciprocal_()  # eps: zero-size enclosing side
    u = d * rce
    r = u * u  # rho_x, rho_y
    ex = (r * gamma).neg_().exp_()
    # (1 - e_x) + (1 - e_y), in the generic order, then halved with the shape cost
    dist = torch.rsub(ex[0], 1.0).add_(torch.rsub(ex[1], 1.0))
    a = whp - wht
    sa = a.sign() if need else None
    mx = torch.maximum(whp, wht).add_(eps)  # eps: both sizes 0 gives 0 / 0
    rm = mx.reciprocal_()
    om = a.abs_().mul_(rm)  # omega_w, omega_h
    eo = om.neg().exp_()
    f = torch.rsub(eo, 1.0)
    if theta == 4.0:  # the paper's value: two squarings instead of pow
        f2 = f * f
        sh = f2 * f2
    else:
        sh = f.pow(theta)
    out = dist.add_(sh[0].add(sh[1])).mul_(0.5)
    if not need:
        return out
    # distance cost: d/d r_t = gamma e_t, d/d gamma = sum_t r_t e_t, gamma = 2 - Lambda
    ge = ex * gamma
    g_gamma = (r * ex).sum(0)
    # d Lambda / d d_t = 2 (sign(d_t) |d_other| - Lambda d_t) / sigma^2 (abs: sign(0) = 0)
    dlam = d.sign().mul_(ad.flip(0)).sub_(d * lam).mul_(rr).mul_(2.0)
    g_d = ge * u
    g_d.mul_(rce).mul_(2.0).sub_(dlam.mul_(g_gamma))  # d dist / d d_t
    # loss has dist / 2 and d_t = (x1 + x2 - x1_gt - x2_gt) / 2: each corner gets 1/4
    grads["s"] = g_d.mul_(0.25)
    grads["e"] = ge.mul_(r).mul_(rce).neg_()  # (1/2) gamma e_t * (-2 r_t / (C_t + eps))
    # shape cost: d/d omega = theta f^(theta - 1) e^(-omega); omega's derivatives with
    # torch's half split of maximum's gradient on ties ((1 + sign(a)) / 2 to the pred).
    if theta == 4.0:
        gs = f2.mul_(f).mul_(4.0)
    else:
        gs = f.pow(theta - 1.0).mul_(theta)
    gs.mul_(eo).mul_(rm).mul_(0.5)
    half = om.mul_(0.5)
    # (sign(a) - omega (1 + sign(a)) / 2) / M
    grads["wp"] = (sa - half).sub_(half * sa).mul_(gs)
    # (-sign(a) - omega (1 - sign(a)) / 2) / M
    grads["wt"] = sa.neg().sub_(half).add_(half.mul_(sa)).mul_(gs)
    return out


def _kernel(kind, p, t, eps, alpha_threshold, theta, need_p, need_t, out_p=None, out_t=None):
    """Loss of shape (n,) and, when asked, d loss_i / d p_i and d loss_i / d t_i (n, 4).

    ``p``, ``t``: (n, 4) xyxy tensors of one float dtype. The gradients are written into
    ``out_p`` / ``out_t`` when given (slices of the whole batch's, in chunked mode).
    """
    need = need_p or need_t
    # One transposing copy: rows x1, y1, x2, y2 of pred, then of target, each contiguous.
    # Every later operation works on contiguous (2, n) blocks (x row, y row) or (n,) rows,
    # which vectorise; columns of the (n, 4) input are strided and do not.
    B = torch.cat((p.t(), t.t()))
    P1, P2, T1, T2 = B[0:2], B[2:4], B[4:6], B[6:8]

    # Sizes (w, h), clamped at 0: an inverted box is empty (see _geometry.py).
    whp = P2 - P1
    sp = whp.sign() if need_p else None  # +1 valid, 0 degenerate, -1 inverted (per axis)
    whp.clamp_(min=0.0)
    wht = T2 - T1
    st = wht.sign() if need_t else None
    wht.clamp_(min=0.0)

    # Intersection (w, h), clamped at 0.
    iwh = torch.minimum(P2, T2)
    iwh.sub_(torch.maximum(P1, T1))
    mi = _ge0(iwh) if need else None
    iwh.clamp_(min=0.0)
    # Enclosing box (w, h): the smallest box holding all corners of both boxes, as in the
    # generic geometry (max over the four x's minus min over them; the usual enclosing box
    # for valid boxes).
    hp = torch.maximum(P1, P2)
    ht = torch.maximum(T1, T2)
    lp = torch.minimum(P1, P2)
    lt = torch.minimum(T1, T2)
    ewh = torch.maximum(hp, ht)
    ewh.sub_(torch.minimum(lp, lt))
    if need:
        # sign(pred's - target's) of the outer max and of (target's - pred's) of the outer
        # min: +1 when the pred holds that edge, 0 on a tie (torch splits ties half-and-half).
        sh = hp.sub_(ht).sign_()
        sl = lt.sub_(lp).sign_()
    del ht, lp

    inter = iwh[0] * iwh[1]
    union = whp[0] * whp[1]
    union.add_(wht[0] * wht[1]).sub_(inter)
    ue = union + eps  # eps: two zero-area boxes have union 0 (same guard as the generic IoU)
    rue = ue.reciprocal()
    iou = inter.mul_(rue)  # `inter` is not needed any more
    loss = torch.rsub(iou, 1.0)

    # Gradients of the loss with respect to the intermediate quantities; each kind adds its
    # terms, and the chain rule to the corners is shared (below).
    g_u = iou * rue if need else None  # d(-I / (U + eps)) / dU (0 where U = 0: I = 0 there)
    # d(-I / (U + eps)) / dI, 0 where U = 0 (two zero-area boxes): the reference's IoU has
    # no gradient there (guarded_ratio), where -1 / eps would be a gradient of ~1e7 on a
    # loss that is locally constant.
    g_i = rue.neg_().mul_(union > 0) if need else None
    g_e = None  # d loss / d enclosing (w, h), (2, n)
    g_s = None  # d loss / d (pred centre - target centre) (x, y), (2, n)
    g_wp = None  # d loss / d pred (w, h) through terms other than the union, (2, n)
    g_wt = None  # the same for the target

    if kind == "giou":
        area = ewh[0] * ewh[1]
        rae = (area + eps).reciprocal_()  # eps: zero-area enclosing box (both boxes points)
        loss.add_((area - union).mul_(rae))
        if need:
            g_u.sub_(rae)  # d/dU (A - U) / (A + eps) = -1 / (A + eps)
            g_e = ewh.flip(0).mul_(ue.mul_(rae).mul_(rae))  # d/dA = (U + eps) / (A + eps)^2
    else:
        # Centre offset (pred - target) per axis, in the generic code's order of operations.
        d = P1 + P2
        d.sub_(T1).sub_(T2).mul_(0.5)
        if kind in ("diou", "ciou", "eiou"):
            e2 = ewh * ewh
            # rho^2 / (c^2 + eps); eps: zero-size enclosing box (two identical points).
            rc = torch.add(e2[0], e2[1]).add_(eps).reciprocal_()
            d2 = d * d
            rho2 = d2[0].add_(d2[1])
            loss.addcmul_(rho2, rc)
            if need:
                g_s = d * rc  # d(rho^2 / c^2) / d(offset) = 2 offset / c^2; offset = sum / 2
                g_e = ewh * rho2.mul_(rc).mul_(rc).mul_(-2.0)
        if kind == "ciou":
            ph = whp[1] + eps  # eps: zero-height box, as in the generic aspect term
            th = wht[1] + eps
            pw, tw = whp[0], wht[0]
            # atan(a) - atan(b) = atan((a - b) / (1 + a b)) for a, b >= 0: one atan, not two.
            num = tw * ph
            num.sub_(pw * th)
            den = th * ph
            den.add_(tw * pw)
            diff = num.div_(den).atan_()
            v = diff * diff
            v.mul_(_K)
            # alpha is a constant for the gradient (detached, as the paper says).
            alpha = v / torch.rsub(iou, 1.0).add_(v).add_(eps)
            if alpha_threshold is not None:
                # The journal version: no aspect-ratio term while IoU < threshold.
                alpha.mul_(iou >= alpha_threshold)
            loss.addcmul_(alpha, v)
            if need:
                k = alpha.mul_(diff).mul_(2.0 * _K)  # d(alpha v) / d diff
                # d diff / d(pw, ph) = (-ph, pw) / (ph^2 + pw^2), ph including eps; the
                # target's is the opposite with its own sizes.
                rp = (ph * ph).addcmul_(pw, pw).reciprocal_().mul_(k)
                g_wp = torch.stack((ph.neg_(), pw)).mul_(rp)
                rt = (th * th).addcmul_(tw, tw).reciprocal_().mul_(k)
                g_wt = torch.stack((th, tw.neg())).mul_(rt)
        elif kind == "eiou":
            re = e2.add_(eps).reciprocal_()  # eps: zero-size enclosing side
            dwh = whp - wht
            q = dwh * re
            pen = dwh.mul_(q)
            loss.add_(pen[0]).add_(pen[1])
            if need:
                g_e.sub_(q.mul(q).mul_(ewh).mul_(2.0))
                g_wp = q.mul_(2.0)
                g_wt = g_wp.neg()
        elif kind == "siou":
            grads: dict = {}
            loss.add_(_siou_terms(d, ewh, whp, wht, eps, theta, need, grads))
            g_s, g_e, g_wp, g_wt = grads.get("s"), grads.get("e"), grads.get("wp"), grads.get("wt")

    if not need:
        return loss, None, None

    # Chain rule from (I, U, enclosing, centres, sizes) to the corners. minimum / maximum
    # split the gradient half-and-half on ties (torch's rule; identical boxes, zero sizes),
    # hence the sign()-based shares below.
    g_i.sub_(g_u)  # U = wp hp + wt ht - I
    g_iwh = iwh.flip(0).mul_(g_i).mul_(mi).mul_(0.5)  # halved: the shares below are doubled
    # Intersection: pred's share of max(x1, x1_gt) is (1 + sign(x1 - x1_gt)) / 2, of
    # min(x2, x2_gt) (1 + sign(x2_gt - x2)) / 2; the target gets the rest.
    s1 = torch.sub(P1, T1).sign_()
    s2 = torch.sub(T2, P2).sign_()
    if g_e is not None:
        # Enclosing box, hi = max(max(x1, x2), max(x1_gt, x2_gt)) and lo likewise with min:
        # with o_hi = (1 + sh) / 2, o_lo = (1 + sl) / 2 (pred's shares of the outer max / min)
        # and c = (1 + sign(x2 - x1)) / 2 (x2's share of the inner max, x1's of the inner min),
        #   d ew / d x2 = o_hi c - o_lo (1 - c) = (sc (2 + sh + sl) + sh - sl) / 4,
        #   d ew / d x1 = o_hi - o_lo - d ew / d x2 = (sh - sl) / 2 - d ew / d x2;
        # for the target, sh and sl change sign.
        dsl = torch.sub(sh, sl)
        ssl = sh.add_(sl)
        ge4 = g_e.mul_(0.25)
    # One pass per box: the prediction's (sign 1), then the target's (sign -1), whose share
    # of every min / max is the pred's with the tie signs turned ((1 - s) / 2 for
    # (1 + s) / 2) and into which the centre offset (pred - target) enters negated.
    grads = []
    for sign, need_side, like, out, wh, g_wh, s_wh in ((1.0, need_p, p, out_p, whp, g_wp, sp),
                                                       (-1.0, need_t, t, out_t, wht, g_wt, st)):
        if not need_side:
            grads.append(None)
            continue
        b = wh.flip(0).mul_(g_u)  # d loss / d (w, h) through the union
        if g_wh is not None:
            b.add_(g_wh)
        b.mul_(s_wh.add(1.0).clamp_(max=1.0))  # clamp(min=0) passes the gradient at x2 - x1 >= 0
        # d/d(x2, y2) = b + g_iwh (1 + s2) / 2 + g_e d ew / d x2 + g_s
        # d/d(x1, y1) = -b - g_iwh (1 + s1) / 2 + g_e d ew / d x1 + g_s (the pred's shares)
        out2 = _plus(1.0, s2, sign).mul_(g_iwh).add_(b)
        out1 = _plus(1.0, s1, sign).mul_(g_iwh).add_(b).neg_()
        if g_e is not None:
            e2 = s_wh.mul_(_plus(2.0, ssl, sign)).add_(dsl, alpha=sign).mul_(ge4)
            out2.add_(e2)
            out1.sub_(e2).addcmul_(dsl, ge4, value=2.0 * sign)
        if g_s is not None:
            out2.add_(g_s, alpha=sign)
            out1.add_(g_s, alpha=sign)
        g = torch.empty_like(like) if out is None else out
        G = g.view(-1, 2, 2)
        G[:, 1].t().copy_(out2)
        G[:, 0].t().copy_(out1)
        grads.append(g)
    gp, gt = grads
    return loss, gp, gt


def _chunked(p, t, need_p, need_t, kind, eps, alpha_threshold, theta, chunk):
    n = p.shape[0]
    # Each of torch's intra-op threads takes a share of every operation: a chunk of
    # `chunk` boxes per thread keeps the per-thread share (and the cache footprint per core)
    # constant while the number of parallel regions stays small.
    chunk = chunk * max(1, torch.get_num_threads())
    # Accelerators have no CPU cache to stay in and pay per kernel launch: one chunk.
    if n <= chunk or p.device.type != "cpu":
        return _kernel(kind, p, t, eps, alpha_threshold, theta, need_p, need_t)
    loss = p.new_empty(n)
    gp = torch.empty_like(p) if need_p else None
    gt = torch.empty_like(t) if need_t else None
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        # The gradient rows of the chunk are written in place; the loss is copied.
        loss[s:e] = _kernel(
            kind, p[s:e], t[s:e], eps, alpha_threshold, theta, need_p, need_t,
            gp[s:e] if need_p else None, gt[s:e] if need_t else None,
        )[0]
    return loss, gp, gt


def elementwise(kind, pred, target, *, eps, alpha_threshold=None, theta=4.0, chunk=CHUNK):
    """Per-box loss of ``kind`` for xyxy float tensors ``pred``, ``target`` of one shape (..., 4).

    Returns a tensor of shape ``(...)`` in the inputs' dtype; differentiable with respect
    to both (hand-derived gradients). Options: ``alpha_threshold`` (ciou), ``theta`` (siou);
    ``chunk``: boxes per chunk and intra-op thread on the CPU (default :data:`CHUNK`; the
    tests give a small one to check that chunking changes no number).

    Example: GIoU of two 2 x 2 boxes overlapping in a unit square: I = 1, U = 7, enclosing
    area A = 9, loss = 1 - I/U + (A - U)/A = 1.0794. By hand, moving x2 changes I by 1 and U
    by 2 - 1 (A stays): d/dx2 = -(1*7 - 1*1)/49 - 1/9 = -0.2336; moving x1 leaves I,
    changes U by -2 and A by -3: d/dx1 = -2/49 - (-2*9 + 3*7)/81 = -0.0779 (y alike).

        >>> import torch
        >>> p = torch.tensor([[0.0, 0.0, 2.0, 2.0]], requires_grad=True)
        >>> t = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
        >>> loss = elementwise("giou", p, t, eps=1e-7)
        >>> round(float(loss), 4)
        1.0794
        >>> loss.sum().backward()
        >>> [round(g, 4) for g in p.grad[0].tolist()]
        [-0.0779, -0.0779, -0.2336, -0.2336]
    """
    return run_per_box(_chunked, kind, pred, target, eps, alpha_threshold, theta, int(chunk))


def run_per_box(compute, kind, pred, target, eps, alpha_threshold, theta, split):
    """The entry of both fast paths (this module's and :mod:`._numba`'s): ``kind`` checked,
    then :func:`losskit._per_row.per_row_loss` of ``compute(p, t, need_p, need_t, kind,
    eps, alpha_threshold, theta, split)`` on ``(B, 4)`` rows; ``split``: the path's boxes
    per chunk / thread's range."""
    if kind not in FAST_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(sorted(FAST_KINDS))}, got {kind!r}")
    return per_row_loss(compute, pred, target, 4, kind, float(eps), alpha_threshold, float(theta), split)
