"""Memory-lean cross-entropy of a linear head over a large vocabulary (PyTorch only).

(The module is ``linear``, not ``linear_cross_entropy``: a submodule named like the
function it exports would shadow it as ``losskit.classification.linear_cross_entropy``
whenever the submodule is (re-)imported. The torch code is in :mod:`._torch_linear`,
imported on the first call, so that ``import losskit`` imports no framework.)

``cross_entropy(hidden @ weight.T + bias, target)`` materialises (tokens x vocabulary)
logits, and autograd keeps them (or their softmax) for the backward pass: 8192 tokens x
128k classes in float32 is 4 GiB, several times over. :func:`linear_cross_entropy` gives
the same value and gradients while holding only one *chunk* of logits at a time.

How (a custom ``torch.autograd.Function``):

* ``reduction="mean"`` / ``"sum"``: the loss is a sum over tokens, so the upstream
  gradient is one scalar. The forward pass walks the tokens in chunks; per chunk it
  computes the logits (into one reused (chunk, V) buffer), their log-sum-exp, the loss,
  the logit gradient ``dz = r softmax - o one_hot - q w`` (per-token factors ``r``, ``o``,
  ``q`` that hold the reduction, the class weights, label smoothing and the z-loss) and
  from it, at once, the chunk's rows of ``grad_hidden = dz @ W`` and its share of
  ``grad_weight += dz^T @ h`` (and ``grad_bias``). Only those (T, H), (V, H) and (V,)
  gradients are stored; ``backward`` multiplies them by the scalar ``grad_output``. Three
  matmuls in all, as autograd's, and no (T, V) tensor (the approach of Liger-Kernel's
  fused linear cross-entropy). Only ``exp(z - max)`` is formed in the buffer, in place;
  the softmax normaliser and the per-token factors are applied to the (chunk, H)
  operands, the one-hot term by ``index_add`` and the constant term in closed form, so
  the (chunk, V) buffer is traversed as few times as possible.
* Soft-capping multiplies ``dz`` elementwise by ``1 - tanh^2``: ``dz`` is then formed in
  a second (chunk, V) buffer (the first keeps the tanh), and the default chunk is halved
  so that the two buffers fit the same budget.
* ``reduction="none"``: the upstream gradient is a vector ``g`` (one weight per token), and
  ``grad_weight = sum_t g_t dz_t^T h_t`` cannot be formed before ``g`` is known. The forward
  pass keeps only the per-token log-sum-exp (T,); ``backward`` recomputes each chunk's
  logits and ``dz`` and accumulates the gradients with the factors ``g`` (four matmuls in
  all: the memory of the mean/sum path for one extra matmul).
* ``shift=True`` runs over every position of the (contiguous) hidden states, a view, and
  masks out the last position of each sequence, instead of copying ``hidden[..., :-1, :]``
  into a new (T', H) tensor: one wasted token per sequence.
* Nothing is computed for an input that does not need a gradient, and no gradient at all
  when autograd is off (``torch.no_grad``, evaluation).

Where the memory goes (mean/sum): the (T, H) and (V, H) gradients, which any method
returns, plus one (chunk, V) buffer (two with soft-capping, at half the chunk) and a few
(chunk, H) operands. ``backward`` scales the stored gradients in place and hands them to
autograd when it is the graph's last (no second copy of the (V, H) gradient); under
``retain_graph=True`` it multiplies out of place, so that the stored gradients stay valid
for the next backward. The saved log-sum-exp (T,) is kept for ``reduction="none"`` only.
(The measurements behind the 64 MiB budget: ``benchmarks/bench_linear_cross_entropy.py``.)
"""

from __future__ import annotations

import numbers

from .._checks import (
    check_bool,
    check_class_weight,
    check_ignore_index,
    check_labels_in_range,
    check_number,
    check_reduction,
)
from .._meta import loss
from .._xp import namespace

__all__ = ["linear_cross_entropy", "default_chunk_size"]

# Bytes of the (chunk, V) logits buffer that is reused for every chunk (no other (chunk,
# V) tensor exists; soft-capping uses two and halves the chunk): 64 MiB = 512 tokens at
# V = 32768. Larger chunks make the matmuls bigger and the passes over the (V, H) weight
# gradient fewer, but a buffer larger than the two gradients it feeds would set the peak;
# the choice is measured in benchmarks/bench_linear_cross_entropy.py.
_CHUNK_BUDGET_BYTES = 64 * 2**20


def default_chunk_size(num_tokens: int, vocab_size: int, itemsize: int = 4) -> int:
    """Tokens per chunk: as many rows of logits as fit in ~64 MiB, at least 1 (and at most
    ``num_tokens``), rounded down to a multiple of 8 rows when above 8. ``itemsize`` is
    the bytes per logit (times two with soft-capping's second buffer)."""
    per_token = max(1, vocab_size * itemsize)
    chunk = max(1, _CHUNK_BUDGET_BYTES // per_token)
    if chunk > 8:
        chunk -= chunk % 8
    return int(max(1, min(chunk, max(num_tokens, 1))))


def _torch():
    # torch is imported on the first call: this module is imported by `import losskit`.
    import torch

    return torch


@loss(
    formula=(
        r"\ell_t = (1-\varepsilon)\,w_{y_t}\big(\operatorname{lse}(z_t) - z_{t,y_t}\big)"
        r" + \frac{\varepsilon}{V}\sum_{c=1}^{V} w_c\big(\operatorname{lse}(z_t) - z_{t,c}\big)"
        r" + \zeta\,\operatorname{lse}(z_t)^2,"
        r"\quad z_t = s\tanh\big((W h_t + b)/s\big)"
    ),
    reference=(
        "Hsu et al., Liger Kernel: Efficient Triton Kernels for LLM Training, 2024, arXiv:2410.10989; "
        "Wijmans et al., Cut Your Losses in Large-Vocabulary Language Models, 2024, arXiv:2411.09009; "
        "Chowdhery et al., PaLM, 2022, arXiv:2204.02311 (z-loss); "
        "Gemma Team, Gemma 2, 2024, arXiv:2408.00118 (logit soft-capping)"
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
    class_weight=None,
    z_loss=0.0,
    softcap=None,
    shift=False,
    return_lse=False,
    return_z_loss=False,
    reduction="mean",
    chunk_size=None,
):
    r"""Cross-entropy of a linear head's logits, computed without materialising them.

    Equal (values and gradients) to
    ``F.cross_entropy(z, target, weight=class_weight, ignore_index=..., label_smoothing=..., reduction=...)``
    plus the z-loss, with ``z = softcap * tanh((hidden @ weight.T + bias) / softcap)``, but
    the (tokens x vocabulary) logits are never stored: tokens are processed in chunks and
    the gradients of ``hidden``, ``weight`` and ``bias`` are formed chunk by chunk (see the
    module docstring for how each reduction does it).

    .. math::

        \ell_t = (1-\varepsilon)\,w_{y_t}\big(\operatorname{lse}(z_t) - z_{t,y_t}\big)
                 + \frac{\varepsilon}{V}\sum_{c=1}^{V} w_c\big(\operatorname{lse}(z_t) - z_{t,c}\big)
                 + \zeta\,\operatorname{lse}(z_t)^2,
        \qquad z_t = s \tanh\!\big((W h_t + b) / s\big)

    where

    - :math:`h_t` is the hidden state of token :math:`t` (a row of ``hidden``),
    - :math:`W` (``weight``, :math:`V \times H`) and :math:`b` (``bias``) the linear head,
    - :math:`y_t` the target class, :math:`V` the vocabulary size,
    - :math:`w_c` the class weights (``class_weight``; 1 without),
    - :math:`\varepsilon` = ``label_smoothing``, :math:`\zeta` = ``z_loss``,
      :math:`s` = ``softcap`` (:math:`z_t = W h_t + b` without it) and
      :math:`\operatorname{lse}(z) = \log\sum_c e^{z_c}` (:math:`\log Z` of PaLM).

    Args:
        hidden: ``(..., H)`` float tensor of hidden states (any leading shape: ``(T, H)``
            or ``(batch, seq, H)``; tokens are the flattened leading dimensions).
        weight: ``(V, H)`` float tensor, the head's weight (``nn.Linear(H, V).weight``).
        target: ``(...)`` integer tensor (``hidden.shape[:-1]``) of class indices in
            ``[0, V)`` (or ``ignore_index``).
        bias: optional ``(V,)`` float tensor.
        ignore_index: class index whose tokens contribute no loss and no gradient;
            ``None`` (default) ignores nothing (torch's default is -100; pass it to match).
        label_smoothing: :math:`\varepsilon \in [0, 1]`, torch's meaning (a mixture of the
            one-hot target and the uniform distribution over the ``V`` classes).
        class_weight: optional ``(V,)`` float tensor of class weights, ``F.cross_entropy``'s
            ``weight`` (the name ``weight`` is the head's here): the token's loss is scaled
            by its target's weight (the smoothing term by each class's), and ``"mean"``
            divides by the sum of the kept targets' weights, as torch does.
        z_loss: :math:`\zeta \ge 0`, PaLM's auxiliary loss :math:`\zeta \log(Z)^2` per kept
            token (PaLM uses 1e-4); not scaled by the class weights, and ``"mean"``
            averages it over the kept tokens (as Liger-Kernel does).
        softcap: :math:`s > 0` or ``None``: Gemma 2's logit soft-capping
            :math:`z \leftarrow s \tanh(z / s)` before the softmax (Gemma 2 uses 30 for the
            final logits); the gradient flows through the tanh.
        shift: next-token prediction: position ``s`` of ``hidden[..., s, :]`` predicts
            ``target[..., s + 1]``, i.e. ``hidden[..., :-1, :]`` against ``target[..., 1:]``,
            without copying the hidden states (``hidden`` needs a sequence dimension,
            ``target`` the same ``(..., seq)`` shape as ``hidden.shape[:-1]``).
        return_lse: also return the per-token log-sum-exp :math:`\operatorname{lse}(z_t)`
            (detached), shape ``target.shape`` (``(..., seq - 1)`` with ``shift``), for the
            ignored tokens too.
        return_z_loss: also return the z-loss term alone (detached, for logging; reduced as
            the loss, 0 when ``z_loss=0``). Its gradient is part of the loss's.
        reduction: ``"mean"`` (over the non-ignored tokens, weighted with ``class_weight``),
            ``"sum"`` or ``"none"``.
        chunk_size: tokens per chunk; ``None`` picks it from a memory budget of about
            64 MiB of (chunk x V) logits (:func:`default_chunk_size`).

    Returns:
        The loss: a 0-d tensor (``"mean"``/``"sum"``) or a tensor of shape ``target.shape``
        (``"none"``; 0 at ignored tokens; ``(..., seq - 1)`` with ``shift=True``, e.g.
        ``(batch, seq - 1)`` for 3-D ``hidden``), in float32 (float64 when ``hidden`` or
        ``weight`` is float64). With ``return_lse`` and/or ``return_z_loss`` a tuple
        ``(loss, lse)``, ``(loss, z_loss)`` or ``(loss, lse, z_loss)``, in that order.
        float16/bfloat16 inputs compute in float32 (the inputs are cast once; the logits,
        their log-sum-exp and the gradient sums are float32), also under autocast
        (autocast is turned off inside); gradients come back in each input's dtype.
        Against the same computation on float32 inputs, half inputs differ only by their
        own rounding: the loss within ``rtol=1e-2`` (bfloat16: 8 bits of mantissa) and
        ``3e-3`` (float16) of it, and bit-for-bit equal to the float32 computation on the
        rounded inputs up to the final cast of the gradients.

    Notes:
        - An all-ignored (or empty) batch gives 0 with ``"mean"``, not torch's NaN
          (0 / 0), as everywhere in losskit; its gradients are zeros. So does a batch
          whose kept targets all have class weight 0.
        - The gradients are computed during the forward pass for "mean"/"sum", so a
          forward pass with autograd on costs about as much as forward + backward; with
          ``torch.no_grad()`` it computes the loss only. Double backward and ``torch.func``
          transforms (``grad``, ``vmap``) are not supported (as for torch's own chunked
          ``F.linear_cross_entropy``); plain ``.backward()`` / ``torch.autograd.grad`` and
          ``torch.compile`` are.
        - Target values are checked (in range or ``ignore_index``) in eager mode only, so
          the function compiles with ``torch.compile(fullgraph=True)``.
        - Names as the trainers spell them: Liger-Kernel's ``ce_weight`` is
          ``class_weight``, its ``softcap``/``return_z_loss`` are these; Cut Cross-Entropy's
          ``shift``/``softcap`` are these.

    References:
        Hsu et al., Liger Kernel: Efficient Triton Kernels for LLM Training, 2024,
        arXiv:2410.10989 (chunked gradient-in-forward); Wijmans et al., Cut Your Losses in
        Large-Vocabulary Language Models, 2024, arXiv:2411.09009 (shift); Chowdhery et al.,
        PaLM: Scaling Language Modeling with Pathways, 2022, arXiv:2204.02311, Sec. 5
        (z-loss); Gemma Team, Gemma 2: Improving Open Language Models at a Practical Size,
        2024, arXiv:2408.00118 (logit soft-capping).

    Example:
        >>> import torch
        >>> from losskit import linear_cross_entropy
        >>> hidden = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> target = torch.tensor([0, 2])
        >>> # logits [1, 0, 0] and [0, 1, 0]: losses log(e + 2) - 1 and log(e + 2) - 0
        >>> round(linear_cross_entropy(hidden, weight, target).item(), 4)
        1.0514
    """
    check_reduction(reduction)
    torch = _torch()
    for name, t in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    for name, t in (("bias", bias), ("class_weight", class_weight)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor or None, got {type(t).__name__}")
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
    check_bool("shift", shift)
    check_bool("return_lse", return_lse)
    check_bool("return_z_loss", return_z_loss)
    if shift and hidden.ndim < 2:
        raise ValueError(
            f"hidden: expected a sequence dimension (..., seq, H) with shift=True, got shape {tuple(hidden.shape)}"
        )
    ignore_index = check_ignore_index(ignore_index)
    eps = float(check_number("label_smoothing", label_smoothing, low=0.0, high=1.0))
    zeta = float(check_number("z_loss", z_loss, low=0.0))
    if softcap is not None:
        softcap = float(check_number("softcap", softcap, low=0.0, low_open=True))
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
            raise TypeError(f"chunk_size: expected a positive int or None, got {type(chunk_size).__name__}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size: expected a positive int or None, got {chunk_size}")
    for name, t in (("weight", weight), ("bias", bias), ("target", target), ("class_weight", class_weight)):
        if t is not None and t.device != hidden.device:
            raise ValueError(f"{name}: expected a tensor on {hidden.device} (hidden's device), got {t.device}")
    if class_weight is not None:
        check_class_weight(class_weight, vocab, namespace(class_weight), class_weight.dtype, name="class_weight")
    check_labels_in_range("target", target[..., 1:] if shift else target, vocab, ignore_index=ignore_index)

    from ._torch_linear import linear_cross_entropy as run

    chunk = int(chunk_size) if chunk_size is not None else default_chunk_size
    out, lse, zterm = run(hidden, weight, target, bias, class_weight, ignore_index, eps, zeta, softcap,
                          shift, reduction, chunk)
    extra = ((lse,) if return_lse else ()) + ((zterm,) if return_z_loss else ())
    return (out, *extra) if extra else out
