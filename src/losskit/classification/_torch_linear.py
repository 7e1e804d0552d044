"""The torch implementation of :func:`losskit.classification.linear_cross_entropy`: a
``torch.autograd.Function`` that walks the tokens in chunks and never stores the
(tokens x vocabulary) logits (how each reduction does it: :mod:`.linear`).

Imported by :mod:`.linear` on the first call only (``import losskit`` stays
framework-free); the inputs arrive validated.

Notation of the kernels below, per token ``t`` of a chunk (all (n,) vectors):

* ``valid`` 1 for a kept token, 0 for an ignored one (or a shifted-out last position);
* ``wy = class_weight[y] * valid`` (``valid`` without class weights);
* ``kappa = (1 - eps) wy + eps / V * sum_c w_c * valid``, the total weight of the
  log-sum-exp in the (smoothed, weighted) cross-entropy
  ``ce = kappa lse - (1 - eps) wy z_y - eps / V * valid * sum_c w_c z_c``;
* the z-loss ``zeta * lse^2 * valid``.

With ``a`` the upstream factor of the cross-entropy and ``b`` that of the z-loss, the
gradient of the token's loss with respect to its logits is

    dz_c = r p_c - o [c = y] - q w_c,  r = a kappa + 2 zeta b lse,  o = a (1 - eps) wy,
    q = a eps / V * valid

(``p`` the softmax; ``w_c = 1`` without class weights). Without soft-capping every
factor lives on the (n, H) side of the matmuls (``_accumulate_``); with it ``dz`` is
multiplied elementwise by ``1 - tanh^2`` and is formed in a second (n, V) buffer.
"""

from __future__ import annotations

import torch


class _Plan:
    """Options of one call, shared by the forward and the backward pass."""

    def __init__(self, eps, zeta, softcap, chunk, reduce, needs):
        self.eps, self.zeta, self.softcap = eps, zeta, softcap
        self.chunk, self.reduce, self.needs = chunk, reduce, needs


def _buffers(hidden, weight, plan):
    """The reused (chunk, V) buffers: one, two with soft-capping (the logits and the
    tanh). Fresh buffers per chunk would page-fault their memory in every time."""
    n = min(plan.chunk, max(hidden.shape[0], 1))
    shape = (n, weight.shape[0])
    return hidden.new_empty(shape), (hidden.new_empty(shape) if plan.softcap is not None else None)


def _logits_(h, weight, bias, plan, buf, buf2):
    """The chunk's logits ``z`` (n, V), after soft-capping; returns ``(z, t)`` with ``t``
    the tanh (in ``buf``) or ``None``. ``z`` is in ``buf`` (``buf2`` with soft-capping)."""
    n = h.shape[0]
    u = buf[:n]
    if bias is None:
        torch.mm(h, weight.T, out=u)
    else:
        torch.addmm(bias, h, weight.T, out=u)
    if plan.softcap is None:
        return u, None
    s = plan.softcap
    u.div_(s).tanh_()  # t = tanh(u / s), kept for the derivative 1 - t^2
    z = buf2[:n]
    torch.mul(u, s, out=z)
    return z, u


def _exp_(z, tgt, plan, cw):
    """In place: ``z`` becomes ``exp(z - max_c z)``. Returns ``(lse, 1 / sum_c e, z_y,
    sum_c w_c z_c)``, the last two read before ``z`` is overwritten (the last only with
    label smoothing). No (n, V) temporary: ``torch.logsumexp`` / ``torch.softmax`` would
    each allocate one."""
    zy = z.gather(1, tgt[:, None])[:, 0]
    zw = None
    if plan.eps:
        zw = z.sum(dim=1) if cw is None else z @ cw
    m = z.amax(dim=1, keepdim=True)
    # The max shift makes exp overflow-free; m is finite for finite logits.
    z.sub_(m).exp_()
    total = z.sum(dim=1)
    lse = m[:, 0] + total.log()
    return lse, total.reciprocal(), zy, zw


def _accumulate_(e, inv_total, t, tgt, h, weight, coef, grads, rows, cw, wW):
    """Add one chunk's share to the gradients; ``e`` (n, V) is the unnormalised softmax
    (``inv_total`` its row factor, ``None`` when already normalised), ``t`` the tanh of
    soft-capping or ``None``; ``coef = (r, o, q)`` (module docstring); ``wW = sum_c w_c
    W_c`` (H,) for label smoothing. Without soft-capping:

    - ``grad_h[t] = r_t inv_total_t (e @ W)_t - o_t W[y_t] - q_t wW``
    - ``grad_W += e^T (h r inv_total) - index_add(y, h o)`` (the ``- w (x) sum_t q_t h_t``
      term is added once at the end, :func:`_finish_smoothing_`)
    - ``grad_b += e^T (r inv_total) - index_add(y, o)`` (likewise ``- w sum_t q_t``).
    """
    grad_h, grad_w, grad_b = grads
    r, o, q = coef
    if inv_total is not None:
        r = r * inv_total
    if t is not None:
        # Soft-capping: dz/du = 1 - tanh^2 elementwise, so dz is formed in the buffer.
        e.mul_(r[:, None])
        e.scatter_add_(1, tgt[:, None], -o[:, None])
        if q is not None:
            if cw is None:
                e.sub_(q[:, None])
            else:
                e.addr_(q, cw, alpha=-1.0)
        t.square_()
        e.addcmul_(e, t, value=-1.0)  # dz * (1 - t^2), in place
        if grad_h is not None:
            torch.mm(e, weight, out=grad_h[rows])
        if grad_w is not None:
            grad_w.addmm_(e.T, h)
        if grad_b is not None:
            grad_b.add_(e.sum(dim=0))
        return
    if grad_h is not None:
        gh = e @ weight
        gh.mul_(r[:, None])
        gh.sub_(weight.index_select(0, tgt).mul_(o[:, None]))
        if q is not None:
            gh.sub_(q[:, None] * wW[None, :])
        grad_h[rows] = gh
    if grad_w is not None:
        grad_w.addmm_(e.T, h * r[:, None])
        grad_w.index_add_(0, tgt, h * (-o)[:, None])
    if grad_b is not None:
        grad_b.add_(e.T @ r)
        grad_b.index_add_(0, tgt, -o)


def _finish_smoothing_(grads, cw, hq, qsum):
    """The ``- q_t w_c`` term of every logit gradient, summed over tokens (no
    soft-capping): ``grad_W -= w (x) sum_t q_t h_t``, ``grad_b -= w sum_t q_t``."""
    _, grad_w, grad_b = grads
    if grad_w is not None:
        if cw is None:
            grad_w.sub_(hq[None, :])
        else:
            grad_w.addr_(cw, hq, alpha=-1.0)
    if grad_b is not None:
        grad_b.sub_(qsum if cw is None else cw * qsum)


def _new_grads(hidden, weight, bias, needs):
    return (
        torch.empty_like(hidden) if needs[0] else None,
        torch.zeros_like(weight) if needs[1] else None,
        torch.zeros_like(bias) if needs[2] else None,
    )


def _sweep(hidden, weight, bias, target, valid, wy, kappa, cw, plan, a, b, grads, lse_in=None, out=None):
    """One pass over the chunks. ``a``, ``b`` (T,): the token factors of the
    cross-entropy and of the z-loss in the gradient. ``lse_in``: the stored log-sum-exp
    (backward of "none": the softmax is recomputed as ``exp(z - lse)``), else the pass
    computes the losses into ``out = (ce, lse)``."""
    eps, zeta = plan.eps, plan.zeta
    any_grad = any(g is not None for g in grads)
    wW = None
    if eps and grads[0] is not None and plan.softcap is None:
        wW = weight.sum(dim=0) if cw is None else cw @ weight
    buf, buf2 = _buffers(hidden, weight, plan)
    chunk = plan.chunk
    for start in range(0, hidden.shape[0], chunk):
        rows = slice(start, min(start + chunk, hidden.shape[0]))
        h, tgt = hidden[rows], target[rows]
        z, t = _logits_(h, weight, bias, plan, buf, buf2)
        if lse_in is None:
            lse, inv_total, zy, zw = _exp_(z, tgt, plan, cw)
            ce = kappa[rows] * lse - (1.0 - eps) * wy[rows] * zy
            if eps:
                ce = ce - (eps / weight.shape[0]) * valid[rows] * zw
            out[0][rows] = ce
            out[1][rows] = lse
        else:
            lse, inv_total = lse_in[rows], None
            z.sub_(lse[:, None]).exp_()
        if not any_grad:
            continue
        ar = a[rows]
        r = ar * kappa[rows]
        if zeta:
            r = r + (2.0 * zeta) * b[rows] * lse
        o = ar * ((1.0 - eps) * wy[rows])
        q = ar * ((eps / weight.shape[0]) * valid[rows]) if eps else None
        _accumulate_(z, inv_total, t, tgt, h, weight, (r, o, q), grads, rows, cw, wW)
    if any_grad and eps and plan.softcap is None:
        qall = a * ((eps / weight.shape[0]) * valid)
        _finish_smoothing_(grads, cw, qall @ hidden, qall.sum())


def _hand_over() -> bool:
    """True when this backward is the graph's last (no ``retain_graph=True``): the stored
    gradients may then be modified in place and given away. False while the backward is
    traced (``torch.compile``) or where torch cannot tell."""
    if torch.compiler.is_compiling():
        return False
    keep = getattr(torch._C._autograd, "_get_current_graph_task_keep_graph", None)
    if keep is None:
        return False
    try:
        return not keep()
    except RuntimeError:  # not inside an engine graph task
        return False


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, target, valid, wy, cw, sce, sz, plan):
        """hidden (T, H), weight (V, H), bias (V,) or None, target (T,) int64 (ignored
        tokens already replaced by 0), valid (T,) (1 kept, 0 ignored), wy (T,) the
        targets' class weights times valid, cw (V,) the class weights (``wy``, ``cw``
        ``None`` without class weights); sce, sz: 0-d reduction factors of the
        cross-entropy and of the z-loss (1/sum wy and 1/n_kept for the mean, 1 for the
        sum and for "none"; ``sce`` ``None`` when it is ``sz``); all in the compute
        dtype. (No tensor is passed twice: torch.compile cannot trace that.) Returns the loss, the per-token
        log-sum-exp (T,) and the z-term (reduced as the loss)."""
        num_tokens, vocab = hidden.shape[0], weight.shape[0]
        if wy is None:
            wy = valid
        if sce is None:
            sce = sz
        cw_mean = 1.0 if cw is None else cw.sum() / vocab
        kappa = wy if not plan.eps else (1.0 - plan.eps) * wy + (plan.eps * cw_mean) * valid
        ce, lse = hidden.new_empty((num_tokens,)), hidden.new_empty((num_tokens,))
        grad_in_forward = plan.reduce and any(plan.needs)
        grads = _new_grads(hidden, weight, bias, plan.needs if grad_in_forward else (False,) * 3)
        zeta = plan.zeta
        _sweep(hidden, weight, bias, target, valid, wy, kappa, cw, plan, sce.expand(num_tokens),
               sz * valid, grads, out=(ce, lse))
        zterm = (zeta * valid) * lse.square() if zeta else torch.zeros_like(lse)
        ctx.plan = plan
        ctx.set_materialize_grads(False)
        if plan.reduce:
            ctx.save_for_backward(*grads)
            loss = (ce.sum() * sce + zterm.sum() * sz).reshape(())
            zout = (zterm.sum() * sz).reshape(())
        else:
            ctx.save_for_backward(hidden, weight, bias, target, valid, wy, kappa, cw, lse)
            loss = ce + zterm
            zout = zterm
        ctx.mark_non_differentiable(lse, zout)
        return loss, lse, zout

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, _grad_lse, _grad_z):
        nones = (None,) * 7
        plan = ctx.plan
        if grad_out is None:
            return (None, None, None) + nones
        if plan.reduce:
            grads = ctx.saved_tensors
            if _hand_over():
                # Scaled in place and handed to autograd, which releases the saved
                # tensors before accumulating: no second copy of the (V, H) gradient.
                return tuple(None if g is None else g.mul_(grad_out) for g in grads) + nones
            # Out of place: the stored gradients stay valid for a second backward.
            return tuple(None if g is None else g * grad_out for g in grads) + nones
        hidden, weight, bias, target, valid, wy, kappa, cw, lse = ctx.saved_tensors
        g = grad_out.to(hidden.dtype)
        grads = _new_grads(hidden, weight, bias, plan.needs)
        _sweep(hidden, weight, bias, target, valid, wy, kappa, cw, plan, g, g * valid, grads, lse_in=lse)
        return grads + nones


def linear_cross_entropy(hidden, weight, target, bias, class_weight, ignore_index, eps, zeta, softcap,
                         shift, reduction, chunk):
    """The validated call of :func:`losskit.classification.linear_cross_entropy`; ``chunk``
    is the number of tokens per chunk, or a function ``chunk(num_tokens, vocab, itemsize)``
    that picks it (the default memory budget). Returns ``(loss, lse, z_term)``, the last
    two detached, each of the loss's shape (``lse`` per token)."""
    vocab, width = weight.shape
    # Compute dtype: float64 if either operand is, else float32 (half inputs upcast: the
    # log-sum-exp over a large vocabulary and the (V, H) gradient sums lose digits in fp16).
    dtype = torch.float64 if torch.float64 in (hidden.dtype, weight.dtype) else torch.float32
    out_shape = tuple(target.shape)
    # A view for contiguous hidden states: with shift, the last position of every sequence
    # is computed and masked out rather than hidden[..., :-1, :] copied into (T', H).
    h2 = hidden.reshape(-1, width)
    if shift:
        # position s predicts target s + 1; the last position predicts nothing
        shifted = torch.empty_like(target)
        shifted[..., :-1] = target[..., 1:]
        shifted[..., -1] = 0
        t1 = shifted.reshape(-1).long()
        last = torch.zeros(out_shape, dtype=torch.bool, device=target.device)
        last[..., -1] = True
        keep = ~last.reshape(-1)
        if ignore_index is not None:
            keep = keep & (t1 != ignore_index)
    else:
        t1 = target.reshape(-1).long()
        keep = None if ignore_index is None else t1 != ignore_index
    if keep is None:
        valid = torch.ones(t1.shape, dtype=dtype, device=t1.device)
    else:
        valid = keep.to(dtype)
        # Ignored tokens gather at class 0 (any valid index); their rows are multiplied by 0.
        t1 = torch.where(keep, t1, torch.zeros_like(t1))
    cw = None if class_weight is None else class_weight.to(dtype)
    wy = None if cw is None else cw[t1] * valid
    one = torch.ones((), dtype=dtype, device=hidden.device)
    if reduction == "mean":
        # 1 / n_kept (and 1 / sum of the targets' class weights, as torch's weighted mean);
        # an all-ignored batch gives 0, not 0 / 0.
        n_kept = valid.sum()
        sz = 1.0 / n_kept.clamp(min=1.0)
        if cw is None:
            sce = None
        else:
            wsum = wy.sum()
            sce = torch.where(wsum != 0, 1.0 / torch.where(wsum != 0, wsum, one), 0.0 * one)
    else:
        sce, sz = None, one
    grad_on = torch.is_grad_enabled()
    needs = (
        grad_on and hidden.requires_grad,
        grad_on and weight.requires_grad,
        grad_on and bias is not None and bias.requires_grad,
    )
    if callable(chunk):
        # soft-capping holds two (chunk, V) buffers: half the tokens per chunk
        buffers = 2 if softcap is not None else 1
        chunk = chunk(h2.shape[0], vocab, buffers * (torch.finfo(dtype).bits // 8))
    plan = _Plan(eps, zeta, softcap, chunk, reduction != "none", needs)
    # autocast off inside: the logits, their log-sum-exp and the gradient sums stay in the
    # compute dtype (an autocast bf16 matmul would round every logit to 8 bits).
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        loss, lse, zterm = _LinearCrossEntropy.apply(
            h2.to(dtype),
            weight.to(dtype),
            None if bias is None else bias.to(dtype),
            t1,
            valid,
            wy,
            cw,
            sce,
            sz,
            plan,
        )
    lse = lse.reshape(out_shape)
    if reduction == "none":
        loss, zterm = loss.reshape(out_shape), zterm.reshape(out_shape)
    if shift:
        lse = lse[..., :-1]
        if reduction == "none":
            loss, zterm = loss[..., :-1], zterm[..., :-1]
    return loss, lse, zterm
