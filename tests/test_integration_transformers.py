"""losskit.integrations.transformers against transformers' own causal-LM loss.

Tiny random Llama and Gemma 2 models built from their configs (nothing downloaded): the
fused loss equals the model's own loss and gradients, refuses Gemma 2's logit soft-capping
with an error naming the config field, keeps less memory in a training step than the stock
loss, and drives ``Trainer`` with gradient accumulation to the same weights as the stock
``Trainer``.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

torch = pytest.importorskip("torch")
# found, not imported: transformers must first load with torchvision hidden (the fixture)
for _name in ("transformers", "accelerate"):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_name} is not installed", allow_module_level=True)

from losskit.integrations import transformers as lk_hf  # noqa: E402

VOCAB = 300


@pytest.fixture(scope="module")
def hf():
    # The test environment has torchvision installed without its dependencies, for the
    # parity tests' pure-PyTorch files; its compiled ops do not load against this CPU torch,
    # and transformers imports torchvision whenever it finds it. These text-only models need
    # no torchvision: hide it while transformers loads and decides what is available
    # (users need nothing of the kind).
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "torchvision", None)
        # transformers decides once per process (an lru_cache) whether torchvision is usable;
        # under xdist another test may have imported transformers first, with torchvision
        # visible: make that answer "no" for these tests too.
        import transformers.utils
        import transformers.utils.import_utils as import_utils

        for name in ("is_torchvision_available", "is_torchvision_v2_available"):
            for module in (import_utils, transformers.utils):
                if hasattr(module, name):
                    mp.setattr(module, name, lambda: False)
        import transformers
        from transformers import (
            Gemma2Config,
            Gemma2ForCausalLM,
            LlamaConfig,
            LlamaForCausalLM,
            Trainer,
            TrainingArguments,
        )

        _ = lk_hf.LosskitTrainer  # builds the Trainer subclass while torchvision is hidden
        yield transformers, {
            "Gemma2Config": Gemma2Config,
            "Gemma2ForCausalLM": Gemma2ForCausalLM,
            "LlamaConfig": LlamaConfig,
            "LlamaForCausalLM": LlamaForCausalLM,
            "Trainer": Trainer,
            "TrainingArguments": TrainingArguments,
        }


def _llama(hf, vocab=VOCAB, layers=2, seed=0):
    _, T = hf
    torch.manual_seed(seed)
    config = T["LlamaConfig"](
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
    )
    return T["LlamaForCausalLM"](config).float()


def _gemma2(hf, softcap, seed=0):
    _, T = hf
    torch.manual_seed(seed)
    config = T["Gemma2Config"](
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
        final_logit_softcapping=softcap,
    )
    return T["Gemma2ForCausalLM"](config).float()


def _batch(seed=1, batch=3, length=17):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (batch, length), generator=g)
    labels = ids.clone()
    labels[0, :5] = -100  # a prompt without loss
    mask = torch.ones_like(ids)
    mask[1, -3:] = 0  # right padding: no attention, no loss
    labels[1, -3:] = -100
    return ids, labels, mask


def _grads(loss, model):
    return torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])


def _assert_same(model, stock, ours):
    assert ours.item() == pytest.approx(stock.item(), rel=1e-5, abs=1e-5)
    for g_ref, g in zip(_grads(stock, model), _grads(ours, model)):
        torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)


def test_llama_loss_and_gradients_equal_the_models_own(hf):
    model = _llama(hf)
    ids, labels, mask = _batch()
    stock = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    ours = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask)
    _assert_same(model, stock, ours)


def test_num_items_in_batch_is_sum_over_items_as_transformers(hf):
    model = _llama(hf)
    ids, labels, mask = _batch()
    n = torch.tensor(57)  # the count over several accumulated micro-batches
    stock = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=n).loss
    ours = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask, num_items_in_batch=n)
    _assert_same(model, stock, ours)
    # ... which is the summed per-token loss over n
    total = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask, reduction="sum")
    assert ours.item() == pytest.approx(total.item() / 57, rel=1e-6)


def test_shift_labels_are_used_as_given(hf):
    model = _llama(hf)
    ids, labels, mask = _batch()
    shifted = torch.nn.functional.pad(labels[:, 1:], (0, 1), value=-100)
    a = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask)
    b = lk_hf.causal_lm_loss(model, ids, None, attention_mask=mask, shift_labels=shifted)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


def test_the_logits_are_never_built(hf):
    model = _llama(hf)
    ids, labels, mask = _batch()
    seen = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, i, o: seen.append(o.shape))
    try:
        lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask)
    finally:
        hook.remove()
    assert seen == [torch.Size((3, 0, VOCAB))]


def test_gemma2_softcapping_maps_onto_softcap_and_equals_the_models_own(hf):
    # final_logit_softcapping becomes linear_cross_entropy's softcap= (s * tanh(z / s)
    # before the softmax), never a silently different loss
    model = _gemma2(hf, softcap=30.0)
    ids, labels, mask = _batch()
    stock = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    ours = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask)
    _assert_same(model, stock, ours)


def test_gemma2_without_softcapping_equals_the_models_own(hf):
    model = _gemma2(hf, softcap=None)
    ids, labels, mask = _batch()
    stock = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    ours = lk_hf.causal_lm_loss(model, ids, labels, attention_mask=mask)
    _assert_same(model, stock, ours)


def test_scaled_logits_are_refused(hf):
    model = _llama(hf)
    model.config.logit_scale = 0.0625  # as Cohere's head multiplies its logits
    ids, labels, _ = _batch()
    with pytest.raises(ValueError, match=r"config\.logit_scale = 0\.0625"):
        lk_hf.causal_lm_loss(model, ids, labels)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"chunk_sise": 8}, TypeError, "unexpected option.*chunk_sise"),
        ({"ignore_index": None}, ValueError, "ignore_index: expected an int"),
        ({"num_items_in_batch": 4, "reduction": "sum"}, ValueError, "reduction: expected 'mean'"),
    ],
)
def test_bad_options(hf, kwargs, error, match):
    model = _llama(hf)
    ids, labels, _ = _batch()
    with pytest.raises(error, match=match):
        lk_hf.causal_lm_loss(model, ids, labels, **kwargs)


def _peak_bytes(step):
    """Peak of the bytes allocated and not yet freed during ``step()``, from torch's CPU
    memory profiler (every allocation and free in order)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted(
        (e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
    )
    current = peak = 0
    for _, nbytes in events:
        current += nbytes
        peak = max(peak, current)
    return peak


def test_training_step_peak_memory_is_lower_than_the_stock_loss(hf):
    # A 32k vocabulary with a tiny body: the (512 x 32k) float32 logits (64 MiB) dominate.
    vocab = 32_000
    model = _llama(hf, vocab=vocab, layers=1)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (2, 256), generator=g)

    def stock():
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()

    def ours():
        model.zero_grad(set_to_none=True)
        lk_hf.causal_lm_loss(model, ids, ids).backward()

    stock()  # warm-up: one-time allocations
    peak_stock, peak_ours = _peak_bytes(stock), _peak_bytes(ours)
    logits = 2 * 256 * vocab * 4
    # stock keeps the logits, their float copy / softmax and its gradient (about 3x);
    # the fused loss holds at most one chunk buffer of logits
    assert peak_stock > 2 * logits
    assert peak_ours < 0.5 * peak_stock, (peak_ours, peak_stock)


def test_trainer_two_steps_with_gradient_accumulation_matches_the_stock_trainer(hf, tmp_path):
    _, T = hf
    g = torch.Generator().manual_seed(3)
    data = []
    for i in range(8):
        ids = torch.randint(0, VOCAB, (12,), generator=g)
        labels = ids.clone()
        labels[: i % 5] = -100  # uneven token counts: num_items_in_batch matters
        data.append({"input_ids": ids, "labels": labels, "attention_mask": torch.ones_like(ids)})

    def train(trainer_cls, **extra):
        model = _llama(hf, seed=0)
        args = T["TrainingArguments"](
            output_dir=str(tmp_path / trainer_cls.__name__), per_device_train_batch_size=2,
            gradient_accumulation_steps=2, max_steps=2, learning_rate=0.5, report_to=[],
            # plain SGD: the weights move by the gradients themselves (Adam's g / sqrt(v)
            # turns float32 noise in near-zero gradients into full-size steps)
            optim="sgd", lr_scheduler_type="constant",
            use_cpu=True, save_strategy="no", logging_steps=1, seed=0, disable_tqdm=True,
        )
        trainer = trainer_cls(model=model, args=args, train_dataset=data, **extra)
        seen = []
        hook = model.get_output_embeddings().register_forward_hook(lambda m, i, o: seen.append(o.shape[-2]))
        trainer.train()
        hook.remove()
        losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
        return model, losses, seen

    ref_model, ref_losses, ref_seen = train(T["Trainer"])
    model, losses, seen = train(lk_hf.LosskitTrainer, losskit_options={"chunk_size": 16})
    assert len(losses) == 2 and losses == pytest.approx(ref_losses, rel=1e-5)
    assert seen == [0] * 4 and set(ref_seen) == {12}  # the losskit run built no logits
    for (name, p_ref), p in zip(ref_model.named_parameters(), model.parameters()):
        torch.testing.assert_close(p, p_ref, rtol=1e-5, atol=1e-6, msg=name)


def test_trainer_refuses_label_smoothing_factor(hf, tmp_path):
    _, T = hf
    args = T["TrainingArguments"](
        output_dir=str(tmp_path), report_to=[], use_cpu=True, label_smoothing_factor=0.1,
    )
    with pytest.raises(ValueError, match="label_smoothing_factor.*label_smoothing"):
        lk_hf.LosskitTrainer(model=_llama(hf), args=args)


def test_importing_the_module_does_not_import_transformers():
    import subprocess

    code = (
        "import sys, losskit.integrations.transformers; "
        "print('transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
