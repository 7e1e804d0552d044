"""The torch implementation of :func:`losskit.classification.linear_cross_entropy`: a
``torch.autograd.Function`` that walks the tokens in chunks and never stores the
(tokens x vocabulary) logits (how each reduction does it: :mod:`.linear`).

Imported by :mod:`.linear` on the first call only (``import losskit`` stays
framework-free); the inputs arrive validated.
"""

from __future__ import annotations

import torch


def _exp_chunk_(z, tgt, eps: float):
    """In place: the logits chunk ``z`` (n, V) becomes ``exp(z - max_c z)``.

    Returns ``(lse, 1 / sum_c exp(z - max), z[tgt], sum_c z)``, the last two taken before
    ``z`` is overwritten (``sum_c z`` only with label smoothing). The softmax is
    ``z * inv_total`` row by row; that factor, the one-hot term and the per-token scale
    are all applied to the (n, H) side of the gradient matmuls (see
    :func:`_accumulate_grads_`), so the (n, V) chunk is only read by max and sum and
    rewritten once by ``sub_``/``exp_``: no (n, V) temporary, no extra pass
    (``torch.logsumexp`` and ``torch.softmax`` would each allocate one).
    """
    zy = z.gather(1, tgt[:, None])[:, 0]
    zsum = z.sum(dim=1) if eps else None
    m = z.amax(dim=1, keepdim=True)
    # The max shift makes exp overflow-free; m is finite for finite logits.
    z.sub_(m).exp_()
    total = z.sum(dim=1)
    lse = m[:, 0] + total.log()
    return lse, total.reciprocal(), zy, zsum


def _accumulate_grads_(e, inv_total, tgt, h, weight, scale, grads, rows, eps, eps_colsum):
    """Add one chunk's share to the gradients, with ``e`` (n, V) the unnormalised softmax.

    The logit gradient is ``dz = e * inv_total - (1 - eps) one_hot(tgt) - eps / V`` and the
    token factor ``scale`` (n,) is 0 for ignored tokens, 1/n_kept for the mean, the
    upstream gradient for "none". Every factor lives on the (n, H) side:

    - ``grad_h[t] = scale_t (inv_total_t (e @ W)_t - (1 - eps) W[y_t] - eps/V sum_c W_c)``
    - ``grad_W += e^T (h * scale * inv_total) - (1 - eps) index_add(y, h * scale)``
    - ``grad_b += e^T (scale * inv_total) - (1 - eps) index_add(y, scale)``

    and the constant ``-eps / V`` of ``grad_W``/``grad_b`` is added once at the end
    (:func:`_finish_smoothing_`). ``inv_total`` is ``None`` when ``e`` is already normalised.
    """
    grad_h, grad_w, grad_b = grads
    r = scale if inv_total is None else scale * inv_total
    if grad_h is not None:
        gh = e @ weight
        if inv_total is not None:
            gh = gh * inv_total[:, None]
        gh = gh - (1.0 - eps) * weight.index_select(0, tgt)
        if eps_colsum is not None:
            gh = gh - eps_colsum  # -eps/V * sum_c W_c, the smoothing term of dz @ W
        grad_h[rows] = gh * scale[:, None]
    if grad_w is not None:
        grad_w.addmm_(e.T, h * r[:, None])
        grad_w.index_add_(0, tgt, h * (-(1.0 - eps) * scale)[:, None])
    if grad_b is not None:
        grad_b.add_(e.T @ r)
        grad_b.index_add_(0, tgt, -(1.0 - eps) * scale)


def _finish_smoothing_(grads, eps_v: float, hsum, ssum):
    """The smoothing term ``-eps/V`` of every logit gradient, summed over tokens:
    ``grad_W -= eps/V * 1 (x) sum_t s_t h_t`` and ``grad_b -= eps/V * sum_t s_t``."""
    _, grad_w, grad_b = grads
    if grad_w is not None:
        grad_w.sub_(eps_v * hsum[None, :])
    if grad_b is not None:
        grad_b.sub_(eps_v * ssum)


def _chunks(hidden, weight, bias, target, chunk):
    """Yield (rows, h, tgt, z): each chunk's slice and its logits, written into one
    reused (chunk, V) buffer (fresh buffers would page-fault their memory in every time)."""
    num_tokens, vocab = hidden.shape[0], weight.shape[0]
    buf = hidden.new_empty((min(chunk, max(num_tokens, 1)), vocab))
    for start in range(0, num_tokens, chunk):
        stop = min(start + chunk, num_tokens)
        h = hidden[start:stop]
        z = buf[: stop - start]
        if bias is None:
            torch.mm(h, weight.T, out=z)
        else:
            torch.addmm(bias, h, weight.T, out=z)
        yield slice(start, stop), h, target[start:stop], z


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, target, valid, scale, eps, chunk, reduce, needs):
        """hidden (T, H), weight (V, H), bias (V,) or None, target (T,) int64 (ignored
        tokens already replaced by 0), valid (T,) float (1 kept, 0 ignored), scale: a 0-d
        tensor (1/n for the mean, 1 for the sum), all in the compute dtype.
        ``needs``: which of hidden, weight, bias need a gradient (False everywhere when
        autograd is off). ``reduce``: True for mean/sum (gradients in the forward pass)."""
        num_tokens, vocab = hidden.shape[0], weight.shape[0]
        losses = hidden.new_empty((num_tokens,))
        lse_all = hidden.new_empty((num_tokens,)) if not reduce else None
        grad_in_forward = reduce and any(needs)
        grads = (
            torch.empty_like(hidden) if grad_in_forward and needs[0] else None,
            torch.zeros_like(weight) if grad_in_forward and needs[1] else None,
            torch.zeros_like(bias) if grad_in_forward and needs[2] else None,
        )
        token_scale = valid * scale
        eps_colsum = (eps / vocab) * weight.sum(dim=0) if eps and grads[0] is not None else None
        for rows, h, tgt, z in _chunks(hidden, weight, bias, target, chunk):
            lse, inv_total, zy, zsum = _exp_chunk_(z, tgt, eps)
            # loss_t = lse - (1 - eps) z[y] - eps/V sum_c z_c: the smoothed NLL of softmax(z).
            row = lse - (1.0 - eps) * zy
            if eps:
                row = row - (eps / vocab) * zsum
            losses[rows] = row * valid[rows]
            if lse_all is not None:
                lse_all[rows] = lse
            if grad_in_forward:
                _accumulate_grads_(z, inv_total, tgt, h, weight, token_scale[rows], grads, rows, eps, eps_colsum)
        if grad_in_forward and eps:
            _finish_smoothing_(grads, eps / vocab, token_scale @ hidden, token_scale.sum())
        ctx.eps, ctx.chunk, ctx.reduce, ctx.needs = eps, chunk, reduce, needs
        if reduce:
            ctx.save_for_backward(*grads)
            return (losses.sum() * scale).reshape(())
        ctx.save_for_backward(hidden, weight, bias, target, valid, lse_all)
        return losses

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        nones = (None,) * 7
        if ctx.reduce:
            # Out of place: the stored gradients stay valid for a second backward
            # (retain_graph=True).
            return tuple(None if g is None else g * grad_out for g in ctx.saved_tensors) + nones
        hidden, weight, bias, target, valid, lse_all = ctx.saved_tensors
        needs, eps, chunk = ctx.needs, ctx.eps, ctx.chunk
        vocab = weight.shape[0]
        token_scale = valid * grad_out.to(hidden.dtype)
        grads = (
            torch.empty_like(hidden) if needs[0] else None,
            torch.zeros_like(weight) if needs[1] else None,
            torch.zeros_like(bias) if needs[2] else None,
        )
        eps_colsum = (eps / vocab) * weight.sum(dim=0) if eps and grads[0] is not None else None
        for rows, h, tgt, z in _chunks(hidden, weight, bias, target, chunk):
            # Recompute the chunk's softmax from the stored log-sum-exp: exp(z - lse).
            z.sub_(lse_all[rows, None]).exp_()
            _accumulate_grads_(z, None, tgt, h, weight, token_scale[rows], grads, rows, eps, eps_colsum)
        if eps:
            _finish_smoothing_(grads, eps / vocab, token_scale @ hidden, token_scale.sum())
        return grads + nones


def linear_cross_entropy(hidden, weight, target, bias, ignore_index, eps, reduction, chunk):
    """The validated call of :func:`losskit.classification.linear_cross_entropy`; ``chunk``
    is the number of tokens per chunk, or a function ``chunk(num_tokens, vocab, itemsize)``
    that picks it (the default memory budget)."""
    vocab, width = weight.shape
    # Compute dtype: float64 if either operand is, else float32 (half inputs upcast: the
    # log-sum-exp over a large vocabulary and the (V, H) gradient sums lose digits in fp16).
    dtype = torch.float64 if torch.float64 in (hidden.dtype, weight.dtype) else torch.float32
    out_shape = tuple(target.shape)
    h2 = hidden.reshape(-1, width)
    t1 = target.reshape(-1).long()
    if ignore_index is None:
        valid = torch.ones(t1.shape, dtype=dtype, device=t1.device)
    else:
        keep = t1 != ignore_index
        valid = keep.to(dtype)
        # Ignored tokens gather at class 0 (any valid index); their rows are multiplied by 0.
        t1 = torch.where(keep, t1, torch.zeros_like(t1))
    if reduction == "mean":
        # 1 / max(n_kept, 1): the mean of an all-ignored batch is 0, not 0 / 0.
        scale = 1.0 / valid.sum().clamp(min=1.0)
    else:
        scale = torch.ones((), dtype=dtype, device=hidden.device)
    grad_on = torch.is_grad_enabled()
    needs = (
        grad_on and hidden.requires_grad,
        grad_on and weight.requires_grad,
        grad_on and bias is not None and bias.requires_grad,
    )
    if callable(chunk):
        chunk = chunk(h2.shape[0], vocab, torch.finfo(dtype).bits // 8)
    device_type = hidden.device.type
    # autocast off inside: the logits, their log-sum-exp and the gradient sums stay in the
    # compute dtype (an autocast bf16 matmul would round every logit to 8 bits).
    with torch.autocast(device_type=device_type, enabled=False):
        out = _LinearCrossEntropy.apply(
            h2.to(dtype),
            weight.to(dtype),
            None if bias is None else bias.to(dtype),
            t1,
            valid,
            scale,
            eps,
            chunk,
            reduction != "none",
            needs,
        )
    if reduction == "none":
        return out.reshape(out_shape)
    return out
