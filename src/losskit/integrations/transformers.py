"""Hugging Face transformers: causal-LM training with the fused linear cross-entropy.

A causal LM's stock loss builds the ``(tokens x vocabulary)`` logits, and autograd keeps
them (and their softmax) for the backward pass; at a 128k vocabulary they dominate a
training step's memory. Here the model's own forward runs without its head
(``logits_to_keep`` an empty index, ``output_hidden_states=True``: the logits are a
``(batch, 0, vocabulary)`` tensor), and :func:`losskit.torch.linear_cross_entropy` takes
the last hidden state and the ``lm_head`` weight, so the logits exist only one chunk of
tokens at a time.

* :func:`causal_lm_loss` for custom training loops;
* :class:`LosskitTrainerMixin` / ``LosskitTrainer`` (a ``transformers.Trainer`` subclass,
  built on first use) for ``Trainer`` users.

Both equal the model's own loss (values and gradients): next-token shift, ``-100`` labels
ignored, ``num_items_in_batch`` (gradient accumulation) as ``sum / num_items_in_batch``.
A model that transforms its logits after the head is either mapped onto
``linear_cross_entropy``'s options (Gemma 2's ``final_logit_softcapping`` becomes
``softcap=``) or refused with an error naming the config field (Cohere's ``logit_scale``,
Granite's ``logits_scaling``, ...), never trained with a silently different loss.

transformers is imported only when ``LosskitTrainer`` is first used; this module needs
torch (as transformers does).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ..torch import linear_cross_entropy

__all__ = ["causal_lm_loss", "LosskitTrainerMixin", "LosskitTrainer"]

# Config fields of models that change their logits after ``lm_head``, with the value at
# which the field is the identity. ``option`` names the ``linear_cross_entropy`` keyword
# that expresses the transform where the function accepts one (read from its signature);
# a transform without one refuses the model.
_LOGIT_TRANSFORMS = (
    # z <- s tanh(z / s) (Gemma 2, Gemma 3, ...); None turns it off
    ("final_logit_softcapping", None, "softcap"),
    # z <- z * s (Cohere, Cohere 2)
    ("logit_scale", 1.0, None),
    # z <- z / s or z * s, depending on the model (Granite, ...)
    ("logits_scaling", 1.0, None),
    ("output_multiplier", 1.0, None),
    ("lm_head_multiplier", 1.0, None),
)

_LCE_OPTIONS = {
    p.name
    for p in inspect.signature(linear_cross_entropy).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
}
# transformers' label value for "no loss here" (padding, prompts, the shifted-out position).
_HF_IGNORE_INDEX = -100


def _configs(model):
    config = getattr(model, "config", None)
    if config is None:
        return []
    found = [config]
    get_text = getattr(config, "get_text_config", None)
    if callable(get_text):
        text = get_text()
        if text is not None and text is not config:
            found.append(text)
    return found


def _logit_transform_options(model) -> dict[str, Any]:
    """The ``linear_cross_entropy`` options that reproduce the model's logit transform;
    raises ``ValueError`` naming the config field when no option can."""
    options: dict[str, Any] = {}
    for config in _configs(model):
        for field, identity, option in _LOGIT_TRANSFORMS:
            value = getattr(config, field, identity)
            if value is None or value == identity:
                continue
            if option is not None and option in _LCE_OPTIONS:
                options[option] = value
                continue
            hint = (
                f"; set config.{field} = {identity!r} to train without it (a different model)"
            )
            raise ValueError(
                f"model: {type(model).__name__} transforms its logits after lm_head "
                f"(config.{field} = {value!r}), which losskit.torch.linear_cross_entropy "
                f"cannot reproduce; refusing to compute a different loss than the model's"
                f"{hint}"
            )
    return options


def _head(model):
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    weight = getattr(head, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise TypeError(
            f"model: expected a causal LM with a linear output head (get_output_embeddings() "
            f"with a (vocabulary, hidden) weight), got {type(model).__name__}"
        )
    bias = getattr(head, "bias", None)
    return weight, bias if isinstance(bias, torch.Tensor) else None


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _forward_loss(model, inputs: dict[str, Any], num_items_in_batch, options: dict[str, Any], unwrapped=None):
    """The loss of one batch: ``inputs`` holds ``labels`` / ``shift_labels`` (either may be
    absent) and the model's forward arguments (``input_ids``, ``attention_mask``, ...), as
    a Trainer's batch does. ``unwrapped``: the model itself when ``model`` is a wrapper
    (DDP, accelerate) whose forward runs it; its config, head and signature are read."""
    inner = model if unwrapped is None else unwrapped
    model_kwargs = dict(inputs)
    labels = model_kwargs.pop("labels", None)
    shift_labels = model_kwargs.pop("shift_labels", None)
    input_ids = model_kwargs.pop("input_ids", None)
    attention_mask = model_kwargs.pop("attention_mask", None)
    unknown = sorted(set(options) - _LCE_OPTIONS)
    if unknown:
        raise TypeError(
            f"causal_lm_loss: unexpected option(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted(_LCE_OPTIONS))} (options of losskit.torch.linear_cross_entropy)"
        )
    options = {"ignore_index": _HF_IGNORE_INDEX, **options}
    ignore_index = options["ignore_index"]
    if ignore_index is None:
        raise ValueError(
            "ignore_index: expected an int (the label of positions without a next token), got None"
        )
    if labels is None and shift_labels is None:
        raise ValueError("labels: expected a (batch, sequence) integer tensor, got None")
    reduction = options.get("reduction", "mean")
    if num_items_in_batch is not None:
        if reduction != "mean":
            raise ValueError(
                f"reduction: expected 'mean' with num_items_in_batch (the loss is "
                f"sum / num_items_in_batch), got {reduction!r}"
            )
        options["reduction"] = "sum"
    options.update(_logit_transform_options(inner))
    weight, bias = _head(inner)
    if bias is not None and "bias" not in options:
        options["bias"] = bias
    if not _accepts(inner.forward, "logits_to_keep"):
        raise TypeError(
            f"model: expected a transformers causal LM whose forward takes logits_to_keep "
            f"(transformers >= 4.50), got {type(inner).__name__}"
        )

    device = weight.device
    # An empty index keeps no position for lm_head: the logits come back (batch, 0, V).
    keep = torch.empty(0, dtype=torch.long, device=device)
    outputs = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        logits_to_keep=keep,
        output_hidden_states=True,
        use_cache=False,
        return_dict=True,
        **model_kwargs,
    )
    hidden = outputs.hidden_states[-1]
    if shift_labels is None:
        # Position t predicts token t + 1; the last position has no next token. Only the
        # integer labels are shifted (a (batch, sequence) copy): the hidden states stay the
        # model's own contiguous tensor, flattened as a view inside linear_cross_entropy.
        shift_labels = torch.nn.functional.pad(labels[..., 1:], (0, 1), value=ignore_index)
    shift_labels = shift_labels.to(hidden.device)
    loss = linear_cross_entropy(hidden, weight, shift_labels, **options)
    if num_items_in_batch is not None:
        if isinstance(num_items_in_batch, torch.Tensor):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        loss = loss / num_items_in_batch
    return loss


def causal_lm_loss(
    model,
    input_ids,
    labels,
    *,
    attention_mask=None,
    num_items_in_batch=None,
    shift_labels=None,
    model_kwargs=None,
    **linear_cross_entropy_options,
):
    """Next-token cross-entropy of a transformers causal LM without building its logits.

    Equal (value and gradients) to ``model(input_ids, attention_mask=..., labels=labels).loss``
    for models whose logits are ``lm_head(hidden)``, at the memory of one chunk of logits.

    Args:
        model: a transformers causal LM (``...ForCausalLM``) whose forward takes
            ``logits_to_keep`` (transformers >= 4.50).
        input_ids: ``(batch, sequence)`` token ids.
        labels: ``(batch, sequence)`` integer labels, ``-100`` where no loss is wanted (as
            for the model's own ``labels=``); shifted here: position ``t`` predicts
            ``labels[:, t + 1]``.
        attention_mask: passed to the model.
        num_items_in_batch: gradient accumulation, as transformers: the loss is
            ``sum / num_items_in_batch`` (the number of non-ignored labels over all
            accumulated micro-batches) instead of the mean.
        shift_labels: already-shifted labels (padding-free collators); ``labels`` is then
            not shifted (pass ``labels=None``).
        model_kwargs: further keyword arguments of the model's forward (``position_ids``, ...).
        **linear_cross_entropy_options: options of
            :func:`losskit.torch.linear_cross_entropy` (``label_smoothing``, ``chunk_size``,
            ``reduction``, ...); ``ignore_index`` defaults to ``-100`` here, as in
            transformers.

    Returns:
        The 0-d float32 loss (``reduction="none"``: a ``(batch, sequence)`` tensor, 0 at
        ignored positions).

    Raises:
        ValueError: for a model that transforms its logits after the head (the message
        names the config field, e.g. ``final_logit_softcapping``).
    """
    named = {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask,
             "shift_labels": shift_labels}
    model_kwargs = dict(model_kwargs or {})
    both = sorted(set(named) & set(model_kwargs))
    if both:
        raise TypeError(f"model_kwargs: expected none of {', '.join(both)} (arguments of their own)")
    return _forward_loss(model, {**named, **model_kwargs}, num_items_in_batch, linear_cross_entropy_options)


class LosskitTrainerMixin:
    """Mix into a ``transformers.Trainer`` (before it) so that training steps use
    :func:`causal_lm_loss`: ``class MyTrainer(LosskitTrainerMixin, Trainer)``.

    ``losskit_options`` (a constructor keyword) are the
    :func:`losskit.torch.linear_cross_entropy` options. Gradient accumulation and
    ``average_tokens_across_devices`` follow ``Trainer.compute_loss``. Evaluation
    (``compute_loss(..., return_outputs=True)``, which must return the logits) runs the
    stock loss. ``TrainingArguments.label_smoothing_factor`` and ``compute_loss_func`` are
    refused: pass ``losskit_options={"label_smoothing": ...}`` instead.
    """

    def __init__(self, *args, losskit_options: dict[str, Any] | None = None, **kwargs):
        options = dict(losskit_options or {})
        unknown = sorted(set(options) - _LCE_OPTIONS)
        if unknown:
            raise TypeError(
                f"losskit_options: unexpected option(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(sorted(_LCE_OPTIONS))}"
            )
        self.losskit_options = options
        super().__init__(*args, **kwargs)
        if getattr(self, "compute_loss_func", None) is not None:
            raise ValueError(
                "compute_loss_func: expected None with a losskit trainer (it computes the loss itself)"
            )
        if getattr(self.args, "label_smoothing_factor", 0.0):
            raise ValueError(
                f"label_smoothing_factor: expected 0 with a losskit trainer, got "
                f"{self.args.label_smoothing_factor}; pass losskit_options="
                f"{{'label_smoothing': {self.args.label_smoothing_factor}}} instead"
            )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs or ("labels" not in inputs and "shift_labels" not in inputs):
            # Evaluation asks for the outputs (the logits): the stock path gives the same loss.
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        loss = _forward_loss(
            model, inputs, num_items_in_batch, self.losskit_options,
            unwrapped=self.accelerator.unwrap_model(model),
        )
        args = self.args
        if (
            getattr(args, "average_tokens_across_devices", False)
            and getattr(self, "model_accepts_loss_kwargs", False)
            and num_items_in_batch is not None
        ):
            # As Trainer.compute_loss: num_items_in_batch counts every process's tokens,
            # and DDP averages the gradients over the processes.
            tp_size = self.get_tp_size() if hasattr(self, "get_tp_size") else 1
            scale = self.accelerator.num_processes // tp_size
            loss = loss * (scale if args.n_gpu <= 1 else args.n_gpu)
        return loss


_TRAINER = None


def __getattr__(name: str):
    # ``LosskitTrainer`` subclasses transformers.Trainer: built (importing transformers)
    # on first use, so that importing this module does not import transformers.
    global _TRAINER
    if name == "LosskitTrainer":
        if _TRAINER is None:
            from transformers import Trainer

            _TRAINER = type(
                "LosskitTrainer",
                (LosskitTrainerMixin, Trainer),
                {
                    "__module__": __name__,
                    "__doc__": "A ``transformers.Trainer`` whose training steps use "
                    ":func:`causal_lm_loss` (see :class:`LosskitTrainerMixin`).",
                },
            )
        return _TRAINER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
