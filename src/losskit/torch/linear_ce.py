"""Memory-lean cross-entropy of a linear head over a large vocabulary (PyTorch only).

(The module is ``linear_ce``, not ``linear_cross_entropy``: a submodule named like the
function it exports would shadow it as ``losskit.torch.linear_cross_entropy`` whenever the
submodule is (re-)imported, e.g. by pytest's ``--import-mode=importlib`` doctest runs.)

``cross_entropy(hidden @ weight.T + bias, target)`` materialises (tokens x vocabulary)
logits, and autograd keeps them (or their softmax) for the backward pass: 8192 tokens x
128k classes in float32 is 4 GiB, several times over. :func:`linear_cross_entropy` gives
the same value and gradients while holding only one *chunk* of logits at a time.

How (a custom ``torch.autograd.Function``):

* ``reduction="mean"`` / ``"sum"``: the loss is a sum over tokens, so the upstream
  gradient is one scalar. The forward pass walks the tokens in chunks; per chunk it
  computes the logits (into one reused (chunk, V) buffer), their log-sum-exp, the loss,
  the logit gradient ``dz = softmax - (1 - eps) one_hot - eps / V`` and from it, at once,
  the chunk's rows of ``grad_hidden = dz @ W`` and its share of ``grad_weight += dz^T @ h``
  (and ``grad_bias``). Only those (T, H), (V, H) and (V,)
  gradients are stored; ``backward`` multiplies them by the scalar ``grad_output``. Three
  matmuls in all, as autograd's, and no (T, V) tensor (the approach of Liger-Kernel's
  fused linear cross-entropy). Only ``exp(z - max)`` is formed in the buffer, in place;
  the softmax normaliser, the one-hot term, the per-token factors (1/n for the mean, 0 for
  ignored tokens) and the constant ``-eps / V`` are applied to the (chunk, H) operands or
  added in closed form, so the (chunk, V) buffer is traversed as few times as possible.
* ``reduction="none"``: the upstream gradient is a vector ``g`` (one weight per token), and
  ``grad_weight = sum_t g_t dz_t^T h_t`` cannot be formed before ``g`` is known. The forward
  pass keeps only the per-token log-sum-exp (T,); ``backward`` recomputes each chunk's
  logits and ``dz`` and accumulates the gradients with the factors ``g`` (four matmuls in
  all: the memory of the mean/sum path for one extra matmul).
* Nothing is computed for an input that does not need a gradient, and no gradient at all
  when autograd is off (``torch.no_grad``, evaluation).
"""

from __future__ import annotations

import numbers

import torch

from .._checks import check_labels_in_range, check_number, check_reduction
from .._meta import loss

__all__ = ["linear_cross_entropy", "default_chunk_size", "LinearCrossEntropyLoss"]

# Bytes of the one (chunk, V) logits buffer that is reused for every chunk (no other
# (chunk, V) tensor exists). 256 MiB = 2048 tokens at V = 32768: measured on CPU, chunks
# of 256 tokens ran ~1.3x slower than plain autograd and 2048 ~0.9x (bigger matmuls, fewer
# passes over the (V, H) weight gradient), while the peak stays ~0.1x of plain's three
# (T, V) tensors at T = 8192. For LLM-sized heads the (V, H) weight gradient, which any
# method must hold, dominates this buffer anyway.
_CHUNK_BUDGET_BYTES = 256 * 2**20


def default_chunk_size(num_tokens: int, vocab_size: int, itemsize: int = 4) -> int:
    """Tokens per chunk: as many rows of logits as fit in ~256 MiB, at least 1 (and at most
    ``num_tokens``), rounded down to a multiple of 8 rows when above 8."""
    per_token = max(1, vocab_size * itemsize)
    chunk = max(1, _CHUNK_BUDGET_BYTES // per_token)
    if chunk > 8:
        chunk -= chunk % 8
    return int(max(1, min(chunk, max(num_tokens, 1))))


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


@loss(
    family="classification",
    formula=(
        r"\ell_t = (1-\varepsilon)\big(\operatorname{lse}(z_t) - z_{t,y_t}\big)"
        r" + \frac{\varepsilon}{V}\sum_{c=1}^{V}\big(\operatorname{lse}(z_t) - z_{t,c}\big),"
        r"\quad z_t = W h_t + b"
    ),
    reference=(
        "Hsu et al., Liger Kernel: Efficient Triton Kernels for LLM Training, 2024, arXiv:2410.10989; "
        "Wijmans et al., Cut Your Losses in Large-Vocabulary Language Models, 2024, arXiv:2411.09009"
    ),
    aliases=("fused_linear_cross_entropy",),
    backends=("torch",),
)
def linear_cross_entropy(
    hidden,
    weight,
    target,
    *,
    bias=None,
    ignore_index=None,
    label_smoothing=0.0,
    reduction="mean",
    chunk_size=None,
):
    r"""Cross-entropy of a linear head's logits, computed without materialising them.

    Equal (values and gradients) to
    ``F.cross_entropy(hidden @ weight.T + bias, target, ignore_index=..., label_smoothing=..., reduction=...)``
    but the (tokens x vocabulary) logits are never stored: tokens are processed in
    chunks and the gradients of ``hidden``, ``weight`` and ``bias`` are formed chunk by
    chunk (see the module docstring for how each reduction does it).

    .. math::

        \ell_t = (1-\varepsilon)\,\big(\operatorname{lse}(z_t) - z_{t,y_t}\big)
                 + \frac{\varepsilon}{V}\sum_{c=1}^{V}\big(\operatorname{lse}(z_t) - z_{t,c}\big),
        \qquad z_t = W h_t + b

    where

    - :math:`h_t` is the hidden state of token :math:`t` (a row of ``hidden``),
    - :math:`W` (``weight``, :math:`V \times H`) and :math:`b` (``bias``) the linear head,
    - :math:`y_t` the target class, :math:`V` the vocabulary size,
    - :math:`\varepsilon` = ``label_smoothing`` and
      :math:`\operatorname{lse}(z) = \log\sum_c e^{z_c}`.

    Args:
        hidden: ``(..., H)`` float tensor of hidden states (any leading shape; tokens are
            the flattened leading dimensions).
        weight: ``(V, H)`` float tensor, the head's weight (``nn.Linear(H, V).weight``).
        target: ``(...)`` integer tensor (``hidden.shape[:-1]``) of class indices in
            ``[0, V)`` (or ``ignore_index``).
        bias: optional ``(V,)`` float tensor.
        ignore_index: class index whose tokens contribute no loss and no gradient;
            ``None`` (default) ignores nothing (torch's default is -100; pass it to match).
        label_smoothing: :math:`\varepsilon \in [0, 1]`, torch's meaning (a mixture of the
            one-hot target and the uniform distribution over the ``V`` classes).
        reduction: ``"mean"`` (over the non-ignored tokens), ``"sum"`` or ``"none"``.
        chunk_size: tokens per chunk; ``None`` picks it from a memory budget of about
            256 MiB of (chunk x V) logits (:func:`default_chunk_size`).

    Returns:
        A 0-d tensor (``"mean"``/``"sum"``) or a tensor of shape ``target.shape``
        (``"none"``; 0 at ignored tokens), in float32 (float64 when ``hidden`` or
        ``weight`` is float64). float16/bfloat16 inputs compute in float32, also under
        autocast (autocast is turned off inside: the logits and their log-sum-exp are
        float32); gradients come back in each input's dtype.

    Notes:
        - An all-ignored (or empty) batch gives 0 with ``"mean"``, not torch's NaN
          (0 / 0), as everywhere in losskit; its gradients are zeros.
        - No class weights (``weight=`` of ``F.cross_entropy``): the name ``weight`` is the
          head's weight here, as in Liger-Kernel; torch's ``F.linear_cross_entropy`` calls
          it ``linear_weight``.
        - The gradients are computed during the forward pass for "mean"/"sum", so a
          forward pass with autograd on costs about as much as forward + backward; with
          ``torch.no_grad()`` it computes the loss only. Double backward and ``torch.func``
          transforms (``grad``, ``vmap``) are not supported (as for torch's own chunked
          ``F.linear_cross_entropy``); plain ``.backward()`` / ``torch.autograd.grad`` and
          ``torch.compile`` are.
        - Target values are checked (in range or ``ignore_index``) in eager mode only, so
          the function compiles with ``torch.compile(fullgraph=True)``.

    References:
        Hsu et al., Liger Kernel: Efficient Triton Kernels for LLM Training, 2024,
        arXiv:2410.10989 (chunked gradient-in-forward); Wijmans et al., Cut Your Losses in
        Large-Vocabulary Language Models, 2024, arXiv:2411.09009.

    Example:
        >>> import torch
        >>> from losskit.torch import linear_cross_entropy
        >>> hidden = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> target = torch.tensor([0, 2])
        >>> # logits [1, 0, 0] and [0, 1, 0]: losses log(e + 2) - 1 and log(e + 2) - 0
        >>> round(linear_cross_entropy(hidden, weight, target).item(), 4)
        1.0514
    """
    check_reduction(reduction)
    for name, t in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, torch.Tensor):
        raise TypeError(f"bias: expected a torch.Tensor or None, got {type(bias).__name__}")
    for name, t in (("hidden", hidden), ("weight", weight), ("bias", bias)):
        if t is not None and not t.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t.dtype}")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"target: expected an integer tensor of class indices, got dtype {target.dtype}")
    if hidden.ndim < 1:
        raise ValueError(f"hidden: expected at least 1 dimension (..., H), got shape {tuple(hidden.shape)}")
    if weight.ndim != 2:
        raise ValueError(f"weight: expected a 2-D (V, H) tensor, got shape {tuple(weight.shape)}")
    vocab, width = weight.shape
    if hidden.shape[-1] != width:
        raise ValueError(
            f"hidden: expected a last dimension of {width} (weight is {tuple(weight.shape)}), "
            f"got shape {tuple(hidden.shape)}"
        )
    if vocab == 0:
        raise ValueError("weight: expected at least one class (V >= 1), got shape (0, H)")
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise ValueError(
            f"target: expected shape {tuple(hidden.shape[:-1])} (hidden's without H), got {tuple(target.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (vocab,):
        raise ValueError(f"bias: expected shape ({vocab},), got {tuple(bias.shape)}")
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral)
    ):
        raise TypeError(f"ignore_index: expected an int or None, got {type(ignore_index).__name__}")
    eps = float(check_number("label_smoothing", label_smoothing, low=0.0, high=1.0))
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
            raise TypeError(f"chunk_size: expected a positive int or None, got {type(chunk_size).__name__}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size: expected a positive int or None, got {chunk_size}")
    for name, t in (("weight", weight), ("bias", bias), ("target", target)):
        if t is not None and t.device != hidden.device:
            raise ValueError(f"{name}: expected a tensor on {hidden.device} (hidden's device), got {t.device}")
    check_labels_in_range("target", target, vocab, ignore_index=ignore_index)

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
    chunk = int(chunk_size) if chunk_size is not None else default_chunk_size(
        h2.shape[0], vocab, torch.finfo(dtype).bits // 8
    )
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



from ._module import LossModule  # noqa: E402  (after the function it wraps)


class LinearCrossEntropyLoss(LossModule):
    """Module form of :func:`losskit.torch.linear_cross_entropy`: cross-entropy of a linear
    head's logits without materialising them.

    ``forward(hidden, weight, target)``; options are the keyword arguments of
    ``losskit.torch.linear_cross_entropy`` (``bias`` as a tensor option is a buffer here;
    pass a trainable bias to the function instead). See its docstring for the formula
    and conventions.
    """

    function = linear_cross_entropy
