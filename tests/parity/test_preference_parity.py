"""Parity of the preference losses with TRL's own loss code (the version is read from the
installed distribution and shown in the test ids and assertion messages).

TRL is installed without its dependencies (requirements/peers-nodeps.txt): its package
import needs transformers, accelerate, datasets, ... ``tests/peers.py`` compiles the loss
methods out of the installed source files, and the tests call them with a
``types.SimpleNamespace`` standing in for the trainer (``self``) and, for DPO, a stand-in
model returning the per-token log-probabilities. No TRL code is copied.

* ``dpo_loss`` against ``DPOTrainer._compute_loss`` (loss types "sigmoid", "ipo",
  "hinge"), run end to end from per-token log-probabilities: the sums over the completion
  tokens are TRL's, and TRL's IPO divides each log-ratio by its completion's token count,
  so ``dpo_loss(loss_type="ipo")`` is given per-token *averages* (the mapping its docstring
  states). TRL 1.16's DPO "sigmoid" has no label smoothing (its ``label_smoothing`` drives
  "robust" and "exo_pair", other losses): ``label_smoothing > 0`` (conservative DPO) is
  checked against the same formula in ``CPOTrainer.cpo_loss`` ("sigmoid", which has no
  reference model) fed the two log-ratios.
* ``simpo_loss`` against ``CPOTrainer.cpo_loss`` with ``loss_type="simpo"``
  (``simpo_gamma`` is our ``gamma``), with and without label smoothing.
* ``orpo_loss`` against ``ORPOTrainer.odds_ratio_loss`` and ``get_batch_loss_metrics``
  (TRL's ``beta`` is the paper's lambda, our ``beta``). TRL casts to float32 inside
  ``odds_ratio_loss``, so that comparison is made in float32 (tested).

Values and gradients with respect to the log-probabilities, float64 (except ORPO, above),
and the rewards each returns on request against the ones TRL computes and logs.
"""

from __future__ import annotations

import functools
import types
from collections import defaultdict

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")

from peers import load_trl_preference_losses  # noqa: E402

TRL = load_trl_preference_losses()
TRL_ID = f"trl-{TRL.version}" if TRL else "trl-missing"


def _need(name: str, where: str):
    if TRL is None:
        pytest.skip("trl is not installed (requirements/peers-nodeps.txt)")
    fn = getattr(TRL, name)
    if fn is None:
        pytest.skip(f"trl {TRL.version}'s {where} is not in its installed files")
    return fn


ACCELERATOR = types.SimpleNamespace(device=torch.device("cpu"), gather=lambda x: x, gather_for_metrics=lambda x: x)


def _grad(loss, *inputs):
    return torch.autograd.grad(loss, inputs)


# ----------------------------------------------------------------------------- DPO


def random_tokens(pairs: int, length: int, seed: int):
    """Per-token log-probabilities of ``2 * pairs`` completions (chosen first, then
    rejected, TRL's batch layout), a completion mask with 1 to ``length`` tokens per row,
    and the reference model's summed log-probabilities."""
    rng = np.random.default_rng(seed)
    tok = torch.tensor(-rng.exponential(1.5, (2 * pairs, length)), requires_grad=True)
    counts = rng.integers(1, length + 1, 2 * pairs)
    mask = torch.tensor(np.arange(length)[None, :] < counts[:, None], dtype=torch.float64)
    ref = torch.tensor(-rng.exponential(1.5, 2 * pairs) * counts)
    return tok, mask, ref


def trl_dpo(tok, mask, ref, loss_type, beta, label_smoothing=0.0):
    """TRL's ``DPOTrainer._compute_loss`` on per-token log-probabilities ``tok`` (masked by
    ``mask``) and precomputed reference log-probabilities; returns the loss and the logged
    metrics."""
    compute = _need("dpo_compute_loss", "DPOTrainer._compute_loss")
    n, length = tok.shape
    # the first position is the prompt: TRL's per-token log-probabilities are aligned with
    # completion_mask[:, 1:], and a model given labels=-100 there returns 0
    completion_mask = torch.cat([torch.zeros(n, 1, dtype=torch.long), mask.long()], dim=1)
    zeros = torch.zeros(n, length, dtype=tok.dtype)
    outputs = types.SimpleNamespace(log_probs=tok * mask, entropy=zeros, mean_logits=zeros,
                                    is_top1=torch.zeros(n, length, dtype=torch.bool))
    trainer = types.SimpleNamespace(
        model=types.SimpleNamespace(training=True), accelerator=ACCELERATOR, aux_loss_enabled=False,
        ld_alpha=None, precompute_ref_logps=True, f_divergence_type="reverse_kl", loss_types=[loss_type],
        loss_weights=[1.0], beta=beta, label_smoothing=label_smoothing, use_weighting=False,
        _metrics=defaultdict(lambda: defaultdict(list)), _total_train_tokens=0, _tp_size=1,
    )
    ref_chosen, ref_rejected = ref.chunk(2)
    inputs = {"input_ids": torch.zeros(n, length + 1, dtype=torch.long), "attention_mask": torch.ones(n, length + 1),
              "completion_mask": completion_mask, "ref_chosen_logps": ref_chosen, "ref_rejected_logps": ref_rejected}
    loss = compute(trainer, lambda **kwargs: outputs, inputs, False)
    return loss, trainer._metrics["train"]


def ours_dpo(tok, mask, ref, average=False, **options):
    """``dpo_loss`` on the sequence sums (or per-token means, ``average=True``) of the same
    per-token log-probabilities."""
    policy = (tok * mask).sum(1)
    if average:
        counts = mask.sum(1)
        policy, ref = policy / counts, ref / counts
    pc, pr = policy.chunk(2)
    rc, rr = ref.chunk(2)
    return losskit.dpo_loss(pc, pr, rc, rr, **options)


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge", "ipo"])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_dpo_matches_trl(peer, loss_type, beta):
    tok, mask, ref = random_tokens(16, 7, seed=2305)
    expected, _ = trl_dpo(tok, mask, ref, loss_type, beta)
    # TRL's IPO averages the log-ratios per token: dpo_loss is given per-token means
    got = ours_dpo(tok, mask, ref, average=loss_type == "ipo", beta=beta, loss_type=loss_type)
    assert got.dtype == expected.dtype == torch.float64
    torch.testing.assert_close(got, expected, msg=lambda m: f"{loss_type} beta={beta} vs {peer}: {m}")
    if loss_type == "hinge":  # the batch reaches both sides of the hinge
        per_pair = ours_dpo(tok, mask, ref, beta=beta, loss_type=loss_type, reduction="none").detach()
        assert (per_pair == 0).any() and (per_pair > 0).any()
    torch.testing.assert_close(_grad(got, tok)[0], _grad(expected, tok)[0],
                               msg=lambda m: f"{loss_type} beta={beta} gradient vs {peer}: {m}")


@pytest.mark.parametrize("peer", [TRL_ID])
def test_dpo_ipo_on_sums_is_not_trls(peer):
    # the mapping above is needed: on sums (the paper's sequence-level form) IPO differs
    # from TRL's as soon as the completions are longer than one token
    tok, mask, ref = random_tokens(16, 7, seed=7)
    expected, _ = trl_dpo(tok, mask, ref, "ipo", 0.5)
    on_sums = ours_dpo(tok, mask, ref, beta=0.5, loss_type="ipo")
    assert not torch.allclose(on_sums, expected, rtol=1e-3), peer
    ones = torch.zeros_like(mask)
    ones[:, 0] = 1.0  # one-token completions: sums and means coincide
    expected1, _ = trl_dpo(tok, ones, ref, "ipo", 0.5)
    torch.testing.assert_close(ours_dpo(tok, ones, ref, beta=0.5, loss_type="ipo"), expected1)


@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge", "ipo"])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_dpo_rewards_match_trl(peer, loss_type):
    # TRL logs batch means of its rewards: one pair per call gives each pair's reward
    tok, mask, ref = random_tokens(6, 5, seed=11)
    beta = 0.3
    average = loss_type == "ipo"
    _, got_c, got_r = ours_dpo(tok, mask, ref, average=average, beta=beta, loss_type=loss_type,
                               return_rewards=True, reduction="none")
    assert not got_c.requires_grad and not got_r.requires_grad
    if average:
        # TRL's logged rewards are beta times the *summed* log-ratios even for IPO, whose loss
        # uses the averages; ours are beta times the log-ratios given: scale by the counts
        counts_c, counts_r = mask.sum(1).chunk(2)
        got_c, got_r = got_c * counts_c, got_r * counts_r
    for i in range(6):
        rows = [i, 6 + i]
        _, metrics = trl_dpo(tok[rows], mask[rows], ref[rows], loss_type, beta)
        for key, value in (("rewards/chosen", got_c[i]), ("rewards/rejected", got_r[i]),
                           ("rewards/margins", got_c[i] - got_r[i])):
            assert metrics[key] == [pytest.approx(float(value), rel=1e-12, abs=1e-12)], f"{key} pair {i} vs {peer}"
    # and the batch means TRL logs
    _, metrics = trl_dpo(tok, mask, ref, loss_type, beta)
    assert metrics["rewards/chosen"] == [pytest.approx(float(got_c.mean()), rel=1e-12)], peer
    assert metrics["rewards/rejected"] == [pytest.approx(float(got_r.mean()), rel=1e-12)], peer
    assert metrics["rewards/accuracies"] == [pytest.approx(float((got_c > got_r).double().mean()))], peer


@pytest.mark.parametrize("peer", [TRL_ID])
def test_trl_dpo_sigmoid_ignores_label_smoothing(peer):
    # TRL 1.16's DPOTrainer "sigmoid" is eq. 7 whatever label_smoothing is; so it equals
    # dpo_loss(label_smoothing=0), and conservative DPO is not a DPOTrainer option there
    tok, mask, ref = random_tokens(8, 5, seed=3)
    expected, _ = trl_dpo(tok, mask, ref, "sigmoid", 0.4, label_smoothing=0.2)
    torch.testing.assert_close(ours_dpo(tok, mask, ref, beta=0.4), expected, msg=lambda m: f"vs {peer}: {m}")
    smoothed = ours_dpo(tok, mask, ref, beta=0.4, label_smoothing=0.2)
    assert not torch.allclose(smoothed, expected, rtol=1e-3), peer


def trl_cpo(chosen, rejected, loss_type, beta, label_smoothing=0.0, simpo_gamma=0.5):
    cpo_loss = _need("cpo_loss", "CPOTrainer.cpo_loss (trl/experimental/cpo)")
    trainer = types.SimpleNamespace(alpha=0.0, loss_type=loss_type, beta=beta, label_smoothing=label_smoothing,
                                    simpo_gamma=simpo_gamma, accelerator=ACCELERATOR)
    return cpo_loss(trainer, chosen, rejected)


def random_logps(pairs: int, seed: int, scale: float = 3.0, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    return [torch.tensor(-rng.exponential(scale, pairs), dtype=dtype, requires_grad=True) for _ in range(4)]


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.5])
@pytest.mark.parametrize("beta", [0.1, 1.0])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_dpo_label_smoothing_matches_trl_cpo_sigmoid(peer, beta, eps):
    # conservative DPO depends on the log-probabilities only through the two log-ratios:
    # TRL's CPO "sigmoid" (the same smoothed logistic loss, reference-free) on them
    pc, pr, rc, rr = random_logps(32, seed=17)
    losses, trl_c, trl_r = trl_cpo(pc - rc, pr - rr, "sigmoid", beta, label_smoothing=eps)
    got, got_c, got_r = losskit.dpo_loss(pc, pr, rc, rr, beta=beta, label_smoothing=eps,
                                         return_rewards=True, reduction="none")
    torch.testing.assert_close(got, losses, msg=lambda m: f"eps={eps} vs {peer}: {m}")
    torch.testing.assert_close(got_c, trl_c)
    torch.testing.assert_close(got_r, trl_r)
    weights = torch.linspace(0.5, 2.0, 32, dtype=torch.float64)  # a non-uniform upstream gradient
    for g1, g2 in zip(_grad((got * weights).sum(), pc, pr, rc, rr), _grad((losses * weights).sum(), pc, pr, rc, rr)):
        torch.testing.assert_close(g1, g2, msg=lambda m: f"eps={eps} gradient vs {peer}: {m}")


# ----------------------------------------------------------------------------- SimPO


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("beta, gamma", [(2.0, 0.5), (2.5, 1.375), (0.7, 0.0), (10.0, -1.0)])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_simpo_matches_trl_cpo_simpo(peer, beta, gamma, eps):
    # per-token means (TRL's CPO averages for loss_type="simpo"); TRL's simpo_gamma is gamma
    c, r, _, _ = random_logps(32, seed=405, scale=1.0)
    losses, trl_c, trl_r = trl_cpo(c, r, "simpo", beta, label_smoothing=eps, simpo_gamma=gamma)
    got, got_c, got_r = losskit.simpo_loss(c, r, beta=beta, gamma=gamma, label_smoothing=eps,
                                           return_rewards=True, reduction="none")
    assert got.dtype == losses.dtype == torch.float64
    torch.testing.assert_close(got, losses, msg=lambda m: f"beta={beta} gamma={gamma} eps={eps} vs {peer}: {m}")
    torch.testing.assert_close(got_c, trl_c, msg=lambda m: f"chosen rewards vs {peer}: {m}")
    torch.testing.assert_close(got_r, trl_r, msg=lambda m: f"rejected rewards vs {peer}: {m}")
    mean = losskit.simpo_loss(c, r, beta=beta, gamma=gamma, label_smoothing=eps)
    torch.testing.assert_close(mean, losses.mean())  # TRL's loss (cpo_alpha=0, pure SimPO) is the mean
    for g1, g2 in zip(_grad(mean, c, r), _grad(losses.mean(), c, r)):
        torch.testing.assert_close(g1, g2, msg=lambda m: f"gradient vs {peer}: {m}")


# ----------------------------------------------------------------------------- ORPO


def orpo_trainer(beta):
    odds_ratio_loss = _need("odds_ratio_loss", "ORPOTrainer.odds_ratio_loss (trl/experimental/orpo)")
    trainer = types.SimpleNamespace(beta=beta, accelerator=ACCELERATOR, aux_loss_enabled=False)
    trainer.odds_ratio_loss = functools.partial(odds_ratio_loss, trainer)
    return trainer


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_orpo_odds_ratio_term_matches_trl(peer, beta):
    # per-token means; some near 0 (probabilities near 1), where log(1 - p) needs care
    c, r, _, _ = random_logps(64, seed=2403, scale=0.8, dtype=torch.float64)
    with torch.no_grad():
        c[:4] = torch.tensor([-1e-3, -0.05, -0.69, -0.7])
    trainer = orpo_trainer(beta)
    losses, trl_c, trl_r, _, _ = trainer.odds_ratio_loss(c, r)
    # TRL computes the odds ratio in float32 (it casts with .float()) whatever the input's
    # dtype: compare in float32 at float32's tolerance, our loss on float32 inputs
    assert losses.dtype == torch.float32
    c32, r32 = (x.detach().float().requires_grad_() for x in (c, r))
    losses32, trl_c32, trl_r32, _, _ = trainer.odds_ratio_loss(c32, r32)
    got, got_c, got_r = losskit.orpo_loss(c32, r32, beta=beta, return_rewards=True, reduction="none")
    # TRL's term is +beta * log sigmoid(log odds ratio), subtracted from its NLL; ours adds
    # the pair's NLL -chosen: ours = -chosen - TRL's term
    expected = -c32 - losses32
    torch.testing.assert_close(got, expected, msg=lambda m: f"beta={beta} vs {peer}: {m}")
    torch.testing.assert_close(got_c, trl_c32)
    torch.testing.assert_close(got_r, trl_r32)
    weights = torch.linspace(0.5, 2.0, 64)
    for g1, g2 in zip(_grad((got * weights).sum(), c32, r32), _grad((expected * weights).sum(), c32, r32)):
        torch.testing.assert_close(g1, g2, msg=lambda m: f"beta={beta} gradient vs {peer}: {m}")


@pytest.mark.parametrize("nll", ["response", "with-prompt"])
@pytest.mark.parametrize("peer", [TRL_ID])
def test_orpo_full_loss_and_metrics_match_trl(peer, nll):
    # TRL's full loss is its NLL minus the mean odds-ratio term. Its NLL is the chosen
    # sequences' token cross-entropy over prompt and response, averaged over all the
    # batch's tokens; ours is the mean over pairs of -chosen. They agree when the prompt
    # is left out and the responses have equal lengths ("response": the forward pass's
    # stand-in returns that NLL); otherwise ours + mean(chosen) + TRL's NLL is TRL's loss,
    # as orpo_loss's docstring says ("with-prompt": any other NLL).
    batch = _need("orpo_batch_loss_metrics", "ORPOTrainer.get_batch_loss_metrics (trl/experimental/orpo)")
    c, r, _, _ = random_logps(16, seed=99, scale=0.8, dtype=torch.float32)
    beta = 0.25
    trainer = orpo_trainer(beta)
    logits = torch.zeros(16, 3, 5)
    # (a function: each side builds its own graph, differentiated once)
    trl_nll = (lambda: (-c).mean()) if nll == "response" else (lambda: 0.7 * (-c).mean() + 0.4)
    trainer.concatenated_forward = lambda model, inputs: (c, r, logits, logits, trl_nll())
    expected, metrics = batch(trainer, None, {})
    got, got_c, got_r = losskit.orpo_loss(c, r, beta=beta, return_rewards=True)
    if nll != "response":
        got = got + c.mean() + trl_nll()
    torch.testing.assert_close(got, expected, msg=lambda m: f"{nll} vs {peer}: {m}")
    for g1, g2 in zip(_grad(got, c, r), _grad(expected, c, r)):
        torch.testing.assert_close(g1, g2, msg=lambda m: f"{nll} gradient vs {peer}: {m}")
    assert metrics["rewards/chosen"] == pytest.approx(float(got_c.mean()), rel=1e-6), peer
    assert metrics["rewards/rejected"] == pytest.approx(float(got_r.mean()), rel=1e-6), peer
    assert metrics["rewards/margins"] == pytest.approx(float((got_c - got_r).mean()), rel=1e-5, abs=1e-7), peer


def test_trl_package_is_never_imported():
    # the loader compiles methods out of the files; importing trl would need its whole
    # dependency stack (not installed) and run its package code
    if TRL is None:
        pytest.skip("trl is not installed (requirements/peers-nodeps.txt)")
    import sys

    assert not any(name == "trl" or name.startswith("trl.") for name in sys.modules)
