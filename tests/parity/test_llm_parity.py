"""Parity of the distillation and preference losses with the libraries people use.

Peers (versions in the assertion messages):

* torch.nn.functional (PyTorch): ``distillation_loss`` equals the distillation code people
  write, ``T**2 * F.kl_div(F.log_softmax(s / T), F.softmax(t / T), reduction="batchmean")``
  (values and gradients of both logits, (N, C) and dense (N, C, H, W) layouts, with and
  without the hard-label term ``F.cross_entropy``); ``jsd_loss`` equals the generalized
  JSD written with ``F.kl_div(..., log_target=True)`` in Liger-Kernel's convention (student
  first, beta weighting the teacher; beta = 0 forward, 1 reverse KL), token-masked and
  averaged over the tokens that count.
* TRL (the preference losses): see tests/parity/test_preference_parity.py, which runs
  TRL's own loss code compiled from its installed files.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")
F = torch.nn.functional
TORCH = f"torch {torch.__version__}"


def _peer_kd(s, t, T, labels=None, alpha=0.5, dim=1):
    soft = T * T * F.kl_div(F.log_softmax(s / T, dim), F.softmax(t / T, dim), reduction="batchmean")
    if labels is None:
        return soft
    return (1 - alpha) * soft + alpha * F.cross_entropy(s, labels, reduction="sum") / s.shape[0]


@pytest.mark.parametrize("shape", [(8, 10), (2, 5, 3, 4)], ids=["NC", "NCHW"])
@pytest.mark.parametrize("T", [1.0, 2.5, 8.0])
@pytest.mark.parametrize("hard", [False, True])
def test_distillation_equals_t_squared_kl_div_batchmean(shape, T, hard):
    g = torch.Generator().manual_seed(12)
    s0 = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    t0 = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g) if hard else None
    outs, grads = [], []
    for fn in (lambda s, t: losskit.distillation_loss(s, t, temperature=T, labels=labels, hard_weight=0.3),
               lambda s, t: _peer_kd(s, t, T, labels, alpha=0.3)):
        s, t = s0.clone().requires_grad_(True), t0.clone().requires_grad_(True)
        out = fn(s, t)
        outs.append(out)
        grads.append(torch.autograd.grad(out, (s, t)))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-12, atol=1e-12, msg=f"value vs {TORCH}")
    for a, b in zip(grads[0], grads[1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=f"gradient vs {TORCH}")


def test_distillation_float32_matches_kl_div():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(64, 1000, generator=g) * 5, torch.randn(64, 1000, generator=g) * 5
    ours = losskit.distillation_loss(s, t, temperature=4.0)
    peer = 16.0 * F.kl_div(F.log_softmax(s / 4.0, 1), F.softmax(t / 4.0, 1), reduction="batchmean")
    torch.testing.assert_close(ours, peer, rtol=1e-5, atol=1e-6, msg=TORCH)


def _peer_jsd(log_q, log_p, beta, labels=None, ignore_index=-100):
    """Liger-Kernel's convention written with torch's kl_div (per token, then masked mean)."""
    kl = lambda inp, tgt: F.kl_div(inp, tgt, reduction="none", log_target=True).sum(-1)  # KL(exp(tgt) || exp(inp))
    if beta == 0.0:
        per = kl(log_q, log_p)
    elif beta == 1.0:
        per = kl(log_p, log_q)
    else:
        log_m = torch.log(beta * log_p.exp() + (1 - beta) * log_q.exp())
        per = beta * kl(log_m, log_p) + (1 - beta) * kl(log_m, log_q)
    if labels is None:
        return per.mean()
    keep = labels != ignore_index
    return per[keep].sum() / keep.sum()


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("masked", [False, True])
def test_jsd_equals_liger_convention_written_with_kl_div(beta, masked):
    g = torch.Generator().manual_seed(7)
    s0 = torch.randn(3, 6, 17, generator=g, dtype=torch.float64) * 2
    t0 = torch.randn(3, 6, 17, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, 17, (3, 6), generator=g)
    labels[:, :2] = -100
    labels = labels if masked else None
    res = []
    for fn in (lambda s, t: losskit.jsd_loss(s, t, beta=beta, labels=labels, ignore_index=-100 if masked else None),
               lambda s, t: _peer_jsd(F.log_softmax(s, -1), F.log_softmax(t, -1), beta, labels)):
        s, t = s0.clone().requires_grad_(True), t0.clone().requires_grad_(True)
        out = fn(s, t)
        res.append((out, torch.autograd.grad(out, (s, t))))
    torch.testing.assert_close(res[0][0], res[1][0], rtol=1e-12, atol=1e-12, msg=TORCH)
    for a, b in zip(res[0][1], res[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=TORCH)

