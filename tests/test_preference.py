"""Preference losses beyond the case table (tests/cases/preference.py):
``sequence_logprobs`` (ignore_index, shift, average, against a float64 reference and
torch's cross-entropy), the rewards, float64 closed forms of DPO / IPO / hinge / SimPO /
ORPO on random data (the formulas as TRL's trainers document them), limits and extremes
(beta -> 0, probabilities -> 1), and the torch shells under torch.compile(fullgraph=True).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit

RNG = np.random.default_rng(2305)


# ----------------------------------------------------------------- float64 references


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def ref_seq_logprobs(logits, labels, ignore_index=None, average=False, shift=False):
    if shift:
        logits, labels = logits[..., :-1, :], labels[..., 1:]
    lp = _log_softmax(logits)
    out = np.zeros(labels.shape[:-1])
    for idx in np.ndindex(*labels.shape[:-1]):
        toks = [lp[idx + (l, y)] for l, y in enumerate(labels[idx]) if y != ignore_index]
        out[idx] = (sum(toks) / len(toks) if toks else 0.0) if average else sum(toks)
    return out


def logsig(z):
    return -np.logaddexp(0.0, -z)


def ref_dpo(pc, pr, rc, rr, beta, eps=0.0, kind="sigmoid"):
    h = (pc - rc) - (pr - rr)
    if kind == "sigmoid":
        return -(1 - eps) * logsig(beta * h) - eps * logsig(-beta * h)
    if kind == "ipo":
        return (h - 1 / (2 * beta)) ** 2
    return np.maximum(0.0, 1 - beta * h)


def ref_simpo(c, r, beta, gamma, eps=0.0):
    z = beta * (c - r) - gamma
    return -(1 - eps) * logsig(z) - eps * logsig(-z)


def ref_orpo(c, r, lam):
    log_odds = (c - r) - (np.log(-np.expm1(c)) - np.log(-np.expm1(r)))
    return -c - lam * logsig(log_odds)


# ----------------------------------------------------------------- sequence_logprobs


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("shift", [False, True])
def test_sequence_logprobs_matches_reference(xp, average, shift):
    logits = RNG.standard_normal((3, 5, 7)) * 2
    labels = RNG.integers(0, 7, (3, 5))
    labels[0, 1] = labels[1, 3] = labels[2, :] = -100  # row 2 has nothing that counts
    expected = ref_seq_logprobs(logits, labels, -100, average, shift)
    fn = lambda x: losskit.sequence_logprobs(x, xp.asarray(labels), ignore_index=-100, average=average, shift=shift)
    out = xp.call(fn, xp.asarray(logits))
    assert tuple(out.shape) == (3,)
    xp.assert_close(out, expected)


def test_sequence_logprobs_hand_values():
    # uniform logits over 4 tokens: log(1/4) per token; 2 tokens count
    logits = np.zeros((1, 3, 4))
    labels = np.array([[2, -100, 1]])
    assert float(losskit.sequence_logprobs(logits, labels, ignore_index=-100)[0]) == pytest.approx(2 * math.log(0.25))
    assert float(losskit.sequence_logprobs(logits, labels, ignore_index=-100, average=True)[0]) == pytest.approx(math.log(0.25))
    # shift: logits at positions 0, 1 predict labels 1, 2 (-100, 1): one token counts
    assert float(losskit.sequence_logprobs(logits, labels, ignore_index=-100, shift=True)[0]) == pytest.approx(math.log(0.25))
    # a single sequence (L, V) gives a 0-d result; a peaked row gives ~0
    one = losskit.sequence_logprobs(np.array([[30.0, 0.0], [0.0, 30.0]]), np.array([0, 1]))
    assert one.shape == () and float(one) == pytest.approx(-2 * math.log1p(math.exp(-30.0)), rel=1e-12)


def test_sequence_logprobs_equals_torch_cross_entropy_sum():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    logits = torch.randn(4, 6, 11, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 11, (4, 6))
    labels[:, :2] = -100  # the prompt
    ours = losskit.sequence_logprobs(logits, labels, ignore_index=-100)
    ce = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none").sum(-1)
    torch.testing.assert_close(ours, -ce)
    g1, = torch.autograd.grad(ours.sum(), logits)
    g2, = torch.autograd.grad(-ce.sum(), logits)
    torch.testing.assert_close(g1, g2)


def test_sequence_logprobs_extremes_and_dtypes():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        logits = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]]], dtype=dtype, requires_grad=True)
        out = losskit.sequence_logprobs(logits, torch.tensor([[1, 2]]), average=True)
        assert out.dtype == torch.float32
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(logits.grad).all()
        big = float(logits.detach().float()[0, 0, 0])  # 1e4 as the dtype rounds it
        assert out.item() == pytest.approx(-big)  # token 0: log p = -2 big, token 1: 0


def test_sequence_logprobs_gradient_matches_numerical(autodiff_xp):
    from helpers import check_gradient

    logits = RNG.standard_normal((2, 4, 5))
    labels = np.array([[1, 4, -100, 0], [2, -100, -100, 3]])
    check_gradient(autodiff_xp, losskit.sequence_logprobs, logits, labels, ignore_index=-100, average=True, shift=True)


@pytest.mark.parametrize("args, options, error, match", [
    ((np.zeros((2, 3, 4)), np.zeros((2, 3))), {}, TypeError, "labels: expected an integer array"),
    ((np.zeros((2, 3, 4), dtype=np.int64), np.zeros((2, 3), dtype=np.int64)), {}, TypeError, "logits: expected a floating-point array"),
    ((np.zeros(4), np.zeros((), dtype=np.int64)), {}, ValueError, "logits: expected at least 2 dimensions"),
    ((np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64)), {}, ValueError,
     r"labels: expected the logits' shape without the vocabulary axis \(2, 3\), got \(2, 4\)"),
    ((np.zeros((1, 2, 4)), np.array([[0, 4]])), {}, ValueError, r"labels: expected class indices in \[0, 3\], got 4"),
    ((np.zeros((1, 2, 4)), np.array([[0, -1]])), {"ignore_index": -100}, ValueError,
     r"labels: expected class indices in \[0, 3\] or ignore_index=-100, got -1"),
    ((np.zeros((1, 2, 4)), np.array([[0, 1]])), {"average": 1}, TypeError, "average: expected a bool, got int"),
    ((np.zeros((1, 2, 4)), np.array([[0, 1]])), {"shift": "yes"}, TypeError, "shift: expected a bool, got str"),
    ((np.zeros((1, 2, 4)), np.array([[0, 1]])), {"ignore_index": 1.0}, TypeError, "ignore_index: expected an int or None"),
])
def test_sequence_logprobs_bad_input(xp, args, options, error, match):
    with pytest.raises(error, match=match):
        losskit.sequence_logprobs(*[xp.asarray(a) for a in args], **options)


def test_sequence_logprobs_is_not_a_registered_loss():
    # a helper, like box_iou: exported, not in the registry
    assert "sequence_logprobs" not in losskit.names()
    assert losskit.sequence_logprobs is losskit.preference.sequence_logprobs


# ----------------------------------------------------------------- closed forms


def _pairs(n=6):
    pc, pr = -RNG.random(n) * 40 - 1, -RNG.random(n) * 40 - 1
    return pc, pr, pc + RNG.standard_normal(n), pr + RNG.standard_normal(n)


@pytest.mark.parametrize("kind, beta, eps", [("sigmoid", 0.1, 0.0), ("sigmoid", 0.5, 0.2), ("ipo", 0.1, 0.0), ("hinge", 0.3, 0.0)])
def test_dpo_matches_closed_form(xp, kind, beta, eps):
    pc, pr, rc, rr = _pairs()
    expected = ref_dpo(pc, pr, rc, rr, beta, eps, kind)
    fn = lambda *a: losskit.dpo_loss(*a, beta=beta, label_smoothing=eps, loss_type=kind, reduction="none")
    xp.assert_close(xp.call(fn, *[xp.asarray(a) for a in (pc, pr, rc, rr)]), expected)
    mean = lambda *a: losskit.dpo_loss(*a, beta=beta, label_smoothing=eps, loss_type=kind)
    xp.assert_close(xp.call(mean, *[xp.asarray(a) for a in (pc, pr, rc, rr)]), expected.mean())


def test_simpo_and_orpo_match_closed_forms(xp):
    c, r = -RNG.random(6) * 3 - 0.01, -RNG.random(6) * 3 - 0.01
    fn = lambda a, b: losskit.simpo_loss(a, b, beta=2.5, gamma=1.4, label_smoothing=0.1, reduction="none")
    xp.assert_close(xp.call(fn, xp.asarray(c), xp.asarray(r)), ref_simpo(c, r, 2.5, 1.4, 0.1))
    fn = lambda a, b: losskit.orpo_loss(a, b, beta=0.25, reduction="none")
    xp.assert_close(xp.call(fn, xp.asarray(c), xp.asarray(r)), ref_orpo(c, r, 0.25))


def test_dpo_small_beta_limit():
    # -log sigmoid(beta h) = log 2 - beta h / 2 + O(beta^2): the logistic loss of the margin
    pc, pr, rc, rr = _pairs()
    h = (pc - rc) - (pr - rr)
    beta = 1e-6
    out = np.asarray(losskit.dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none"))
    np.testing.assert_allclose((out - math.log(2.0)) / beta, -h / 2, rtol=1e-4)


# ----------------------------------------------------------------- rewards


def test_dpo_rewards_are_the_scaled_log_ratios_without_gradient():
    torch = pytest.importorskip("torch")
    pc, pr, rc, rr = (torch.tensor(a, requires_grad=True) for a in _pairs())
    for kind in ("sigmoid", "ipo", "hinge"):
        loss, chosen, rejected = losskit.dpo_loss(pc, pr, rc, rr, beta=0.2, loss_type=kind, return_rewards=True)
        assert loss.shape == () and chosen.shape == rejected.shape == (6,)
        torch.testing.assert_close(chosen, 0.2 * (pc - rc).detach())
        torch.testing.assert_close(rejected, 0.2 * (pr - rr).detach())
        assert not chosen.requires_grad and not rejected.requires_grad
    none, _, _ = losskit.dpo_loss(pc, pr, rc, rr, return_rewards=True, reduction="none")
    assert none.shape == (6,)


def test_simpo_and_orpo_rewards(xp):
    c, r = -RNG.random(4) - 0.1, -RNG.random(4) - 0.1
    for fn, beta in ((losskit.simpo_loss, 2.0), (losskit.orpo_loss, 0.1)):
        out = xp.call(lambda a, b: fn(a, b, return_rewards=True), xp.asarray(c), xp.asarray(r))
        assert len(out) == 3
        xp.assert_close(out[1], beta * c)
        xp.assert_close(out[2], beta * r)


def test_rewards_have_no_gradient_under_jax():
    jax = pytest.importorskip("jax")
    from helpers import _jax

    jnp = _jax().numpy
    c, r = jnp.asarray([-0.3, -1.2]), jnp.asarray([-0.8, -0.4])

    def reward_sum(x):
        _, chosen, _ = losskit.simpo_loss(x, r, return_rewards=True)
        return chosen.sum()

    assert np.all(np.asarray(jax.grad(reward_sum)(c)) == 0)


# ----------------------------------------------------------------- extremes


def test_orpo_finite_as_probabilities_approach_one():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        # d/dr of -log(1 - e^r) is about 1 / |r|: near r = -1e-6 it is 1e6, more than
        # float16 holds (65504), so half inputs stop at -1e-4.
        tiny = -1e-4 if dtype in (torch.float16, torch.bfloat16) else -1e-6
        c = torch.tensor([-1e-7, -1e-3, 0.0, -20.0], dtype=dtype, requires_grad=True)
        r = torch.tensor([-0.5, tiny, 0.0, -1e-30], dtype=dtype, requires_grad=True)
        out = losskit.orpo_loss(c, r, beta=0.5, reduction="none")
        out.sum().backward()
        assert torch.isfinite(out).all(), dtype
        assert torch.isfinite(c.grad).all() and torch.isfinite(r.grad).all(), dtype
    # accuracy near 1, float32: log(1 - e^c) computed without cancelling 1 - e^c
    c32 = torch.tensor([-1e-7], dtype=torch.float32)
    r32 = torch.tensor([math.log(0.5)], dtype=torch.float32)
    out = losskit.orpo_loss(c32, r32, beta=1.0, reduction="none")
    log_odds = -1e-7 - math.log(-math.expm1(-1e-7)) - (math.log(0.5) - math.log(0.5))
    assert out.item() == pytest.approx(1e-7 + math.log1p(math.exp(-log_odds)), rel=1e-4, abs=1e-12)


def test_dpo_and_simpo_extreme_margins_finite():
    torch = pytest.importorskip("torch")
    big = torch.tensor([-1e4, 0.0, -1e4], requires_grad=True)
    small = torch.tensor([0.0, -1e4, -1e4], requires_grad=True)
    for out in (losskit.dpo_loss(big, small, small.detach() * 0, small.detach() * 0, beta=1.0),
                losskit.simpo_loss(big, small, beta=10.0)):
        (g,) = torch.autograd.grad(out, big)
        assert torch.isfinite(out) and torch.isfinite(g).all()


# ----------------------------------------------------------------- end to end and shells


def test_logits_to_dpo_end_to_end():
    torch = pytest.importorskip("torch")
    policy = torch.randn(4, 5, 9, dtype=torch.float64, requires_grad=True)  # 2 pairs: [chosen, rejected]
    ref = torch.randn(4, 5, 9, dtype=torch.float64)
    labels = torch.randint(0, 9, (4, 5))
    labels[:, :2] = -100
    lp = losskit.sequence_logprobs(policy, labels, ignore_index=-100, shift=True)
    with torch.no_grad():
        lr = losskit.sequence_logprobs(ref, labels, ignore_index=-100, shift=True)
    loss = losskit.dpo_loss(lp[:2], lp[2:], lr[:2], lr[2:], beta=0.1)
    loss.backward()
    expected = ref_dpo(*(a.detach().numpy() for a in (lp[:2], lp[2:], lr[:2], lr[2:])), 0.1).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert torch.isfinite(policy.grad).all() and policy.grad.abs().sum() > 0


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.parametrize("cls_name, n, options", [
    ("DPOLoss", 4, {"loss_type": "ipo", "return_rewards": True}),
    ("DPOLoss", 4, {"label_smoothing": 0.1, "reduction": "none", "return_rewards": True}),
    ("SimPOLoss", 2, {"return_rewards": True}),
    ("ORPOLoss", 2, {"beta": 0.3, "return_rewards": True}),
])
def test_shells_compile_fullgraph_with_rewards(cls_name, n, options):
    torch = pytest.importorskip("torch")
    import torch._dynamo.testing

    import losskit.torch as lt

    module = getattr(lt, cls_name)(**options)
    arrays = [-torch.rand(5) * 2 - 0.01 for _ in range(n)]

    def run(fn):
        x = arrays[0].clone().requires_grad_(True)
        loss, chosen, rejected = fn(x, *arrays[1:])
        (g,) = torch.autograd.grad(loss.sum(), x)
        return loss.detach(), chosen, rejected, g

    eager = run(module)
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    compiled = run(torch.compile(module, fullgraph=True, backend=counter))
    assert counter.frame_count >= 1
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
