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

from .._checks import check_ignore_index, check_labels_in_range, check_number, check_reduction
from .._meta import loss

__all__ = ["linear_cross_entropy", "default_chunk_size"]

# Bytes of the one (chunk, V) logits buffer that is reused for every chunk (no other
# (chunk, V) tensor exists): 256 MiB = 2048 tokens at V = 32768. Large chunks make the
# matmuls bigger and the passes over the (V, H) weight gradient fewer, while the peak stays
# a small fraction of the plain path's three (T, V) tensors (the measurements behind the
# choice: benchmarks/bench_linear_cross_entropy.py). For LLM-sized heads the (V, H) weight
# gradient, which any method must hold, dominates this buffer anyway.
_CHUNK_BUDGET_BYTES = 256 * 2**20


def default_chunk_size(num_tokens: int, vocab_size: int, itemsize: int = 4) -> int:
    """Tokens per chunk: as many rows of logits as fit in ~256 MiB, at least 1 (and at most
    ``num_tokens``), rounded down to a multiple of 8 rows when above 8."""
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
    ignore_index = check_ignore_index(ignore_index)
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

    from ._torch_linear import linear_cross_entropy as run

    chunk = int(chunk_size) if chunk_size is not None else default_chunk_size
    return run(hidden, weight, target, bias, ignore_index, eps, reduction, chunk)
