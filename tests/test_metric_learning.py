"""Metric learning: AdaSP against a loop implementation of the paper's closed form, the
peers on hand-derived cases, reductions, validation, gradients, degenerate batches, shells."""

import math

import numpy as np
import pytest
from helpers import check_gradient, numerical_grad

import losskit
from losskit import metric_learning as ml

RNG = np.random.default_rng(0)

PAIR_LOSSES = [
    losskit.adasp_loss,
    losskit.batch_hard_triplet_loss,
    losskit.contrastive_loss,
    losskit.circle_loss,
    losskit.multi_similarity_loss,
    losskit.nt_xent_loss,
]
VARIANTS = ["adasp", "sp-h", "sp-lh"]

# Two identities whose two samples coincide: s = 1 within an identity, 0 across.
E_ORTH = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
Y_ORTH = np.array([0, 0, 1, 1])


# ----------------------------------------------------------------------------------------
# oracle: the closed form of REFERENCE.md section 4, one identity at a time, in float64
# ----------------------------------------------------------------------------------------


def adasp_oracle(e, y, tau, variant, *, a_fixed=None, per_identity=False):
    e = np.asarray(e, dtype=np.float64)
    en = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    s = en @ en.T
    ids = sorted(set(y.tolist()))
    losses, weights = [], []
    for c in ids:
        inc = [i for i in range(len(y)) if y[i] == c]
        s_h = -tau * math.log(sum(math.exp(-s[i, j] / tau) for i in inc for j in inc))
        m = [-tau * math.log(sum(math.exp(-s[i, j] / tau) for j in inc)) for i in inc]
        s_lh = tau * math.log(sum(math.exp(mi / tau) for mi in m))
        if variant == "sp-h":
            s_p = s_h
        elif variant == "sp-lh":
            s_p = s_lh
        else:
            if a_fixed is not None:
                a = a_fixed[c]
            else:
                a = 0.0 if s_h < 0 else 2 * s_h * s_lh / (s_h + s_lh)
            weights.append(a)
            s_p = a * s_h + (1 - a) * s_lh
        total = 0.0
        for k in ids:
            if k == c:
                continue
            ink = [j for j in range(len(y)) if y[j] == k]
            n_ck = math.log(sum(math.exp(s[i, j] / tau) for i in inc for j in ink))
            total += math.exp(n_ck - s_p / tau)
        losses.append(math.log1p(total))
    if per_identity:
        return dict(zip(ids, losses)), dict(zip(ids, weights))
    return float(np.mean(losses))


def bind(b, fn, **options):
    """``fn`` with its options bound; jitted on jax, where eager autodiff compiles every
    primitive separately and is ~10x slower (the gradient is the same)."""
    if b.name == "jax":
        import jax

        return jax.jit(lambda *arrays: fn(*arrays, **options))
    return lambda *arrays: fn(*arrays, **options)


def pk_batch(p, k, d, rng, spread=1.0):
    centres = rng.normal(size=(p, d))
    e = np.repeat(centres, k, axis=0) + spread * rng.normal(size=(p * k, d))
    y = np.repeat(np.arange(p), k)
    return e, y


# ----------------------------------------------------------------------------------------
# AdaSP
# ----------------------------------------------------------------------------------------


def test_adasp_hand_derived_values(xp):
    e, y = xp.asarray(E_ORTH), xp.asarray(Y_ORTH)
    # tau = 1. s_H = -log(4 e^-1) = 1 - log 4 < 0, so a = 0 and s_p = s_LH;
    # m_i = -log(2 e^-1) = 1 - log 2, s_LH = log(2 e^(1 - log 2)) = 1; N = log(4 e^0) = log 4.
    # AdaSP = SP-LH = log(1 + e^(log 4 - 1)) = log(1 + 4/e); SP-H = log(1 + e^(2 log 4 - 1)).
    for variant, expected in [("adasp", math.log1p(4 / math.e)), ("sp-lh", math.log1p(4 / math.e)),
                              ("sp-h", math.log1p(16 / math.e))]:
        out = xp.call(losskit.adasp_loss, e, y, temperature=1.0, variant=variant)
        xp.assert_close(out, expected)
    # tau = 0.1: s_H = 1 - 0.1 log 4 >= 0 so the adaptive weight is live:
    # s_LH = 0.1 log(2 e^((1 - 0.1 log 2) / 0.1)) = 1, a = 2 s_H / (s_H + 1).
    s_h = 1 - 0.1 * math.log(4)
    a = 2 * s_h / (s_h + 1)
    s_p = a * s_h + (1 - a)
    expected = math.log1p(4 * math.exp(-s_p / 0.1))
    xp.assert_close(xp.call(losskit.adasp_loss, e, y, temperature=0.1), expected, rtol=1e-5 if xp.rtol > 1e-6 else 1e-10)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("layout", ["pk", "ragged"])
def test_adasp_equals_closed_form_loop(xp, variant, layout):
    rng = np.random.default_rng(1)
    if layout == "pk":
        e, y = pk_batch(4, 3, 6, rng, spread=0.3)
        tau = 0.04
    else:  # identities with 1, 2, 3 and 5 samples, interleaved
        y = np.array([3, 0, 1, 3, 2, 3, 1, 2, 3, 2, 3])
        e = rng.normal(size=(len(y), 5)) + 2.0 * np.eye(5)[y % 5]
        tau = 0.1
    expected = adasp_oracle(e, y, tau, variant)
    out = xp.call(losskit.adasp_loss, xp.asarray(e), xp.asarray(y), temperature=tau, variant=variant)
    xp.assert_close(out, expected, rtol=2e-5 if xp.float_dtype == "float32" else 1e-9)


def test_adasp_invariant_to_sample_order(xp):
    rng = np.random.default_rng(2)
    e, y = pk_batch(3, 4, 5, rng, spread=0.5)
    perm = rng.permutation(len(y))
    a = xp.np(xp.call(losskit.adasp_loss, xp.asarray(e), xp.asarray(y), temperature=0.05))
    b = xp.np(xp.call(losskit.adasp_loss, xp.asarray(e[perm]), xp.asarray(y[perm]), temperature=0.05))
    np.testing.assert_allclose(a, b, rtol=xp.rtol * 10)
    # relabelling identities changes nothing either
    b2 = xp.np(xp.call(losskit.adasp_loss, xp.asarray(e), xp.asarray(10 * y + 7), temperature=0.05))
    np.testing.assert_allclose(a, b2, rtol=xp.rtol * 10)


def test_adasp_reductions_share_identity_losses(xp):
    y = np.array([2, 0, 2, 1, 0, 2])
    e = np.random.default_rng(3).normal(size=(6, 4))
    per_id, _ = adasp_oracle(e, y, 0.2, "adasp", per_identity=True)
    ee, yy = xp.asarray(e), xp.asarray(y)
    none = xp.np(xp.call(losskit.adasp_loss, ee, yy, temperature=0.2, reduction="none"))
    counts = {c: int(np.sum(y == c)) for c in per_id}
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-9
    np.testing.assert_allclose(none, [per_id[c] / counts[c] for c in y], rtol=tol)
    xp.assert_close(xp.call(losskit.adasp_loss, ee, yy, temperature=0.2, reduction="sum"), sum(per_id.values()), rtol=tol)
    xp.assert_close(xp.call(losskit.adasp_loss, ee, yy, temperature=0.2), np.mean(list(per_id.values())), rtol=tol)


@pytest.mark.parametrize("variant", ["sp-h", "sp-lh", "adasp"])
def test_adasp_gradient_matches_numerical(autodiff_xp, variant):
    rng = np.random.default_rng(4)
    y = np.array([0, 1, 0, 2, 1, 0, 2])
    e = rng.normal(size=(7, 3))
    # random embeddings: s_H < 0 for every identity, so a = 0 is locally constant and the
    # plain numerical gradient is the gradient the paper defines.
    f = bind(autodiff_xp, losskit.adasp_loss, temperature=0.3, variant=variant)
    check_gradient(autodiff_xp, f, e, y, rtol=1e-5, atol=1e-8)


def test_adasp_gradient_holds_adaptive_weight_constant(autodiff_xp):
    # Tight clusters: s_H > 0, so a is live. The paper (and the authors' code) detaches a:
    # compare with the numerical gradient of the closed form with a frozen at its value.
    rng = np.random.default_rng(5)
    e, y = pk_batch(3, 3, 4, rng, spread=0.05)
    tau = 0.04
    _, a = adasp_oracle(e, y, tau, "adasp", per_identity=True)
    assert all(v > 0.5 for v in a.values())  # the weight is really in use
    f = bind(autodiff_xp, losskit.adasp_loss, temperature=tau)
    _, g = autodiff_xp.grad(f, autodiff_xp.asarray(e), autodiff_xp.asarray(y))
    num = numerical_grad(lambda x: adasp_oracle(x, y, tau, "adasp", a_fixed=a), e)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_adasp_single_sample_identity_keeps_self_pair():
    # Identity 5 has one sample: its only positive is the self-pair, s = 1, so
    # s_H = s_LH = 1, a = 1, and L_5 = log(1 + sum_j e^((s_5j - 1) / tau)).
    rng = np.random.default_rng(6)
    e = rng.normal(size=(5, 3))
    y = np.array([0, 0, 1, 1, 5])
    tau = 0.5
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    s = en @ en.T
    l5 = math.log1p(sum(math.exp((s[4, j] - 1) / tau) for j in range(4)))
    none = losskit.adasp_loss(e, y, temperature=tau, reduction="none")
    np.testing.assert_allclose(none[4], l5, rtol=1e-12)
    per_id, _ = adasp_oracle(e, y, tau, "adasp", per_identity=True)
    np.testing.assert_allclose(per_id[5], l5, rtol=1e-12)


# ----------------------------------------------------------------------------------------
# peers: hand-derived values
# ----------------------------------------------------------------------------------------

E_LINE = np.array([[0.0], [1.0], [3.0], [4.0]])
Y_LINE = np.array([0, 0, 1, 1])


def test_batch_hard_triplet_hand_values(xp):
    e, y = xp.asarray(E_LINE), xp.asarray(Y_LINE)
    # inner anchors (1 and 3): farthest positive at 1, nearest negative at 2: 1 - 2 + 1.5 = 0.5;
    # outer anchors (0 and 4): positive at 1, negative at 3: -0.5 -> 0, left out of the mean
    out = xp.call(losskit.batch_hard_triplet_loss, e, y, margin=1.5, normalize=False)
    xp.assert_close(out, 0.5)
    # soft: every anchor counts: (2 softplus(0.5) + 2 softplus(-0.5)) / 4
    out = xp.call(losskit.batch_hard_triplet_loss, e, y, margin=1.5, normalize=False, soft=True)
    xp.assert_close(out, (math.log1p(math.exp(0.5)) + math.log1p(math.exp(-0.5))) / 2)
    # margin 0.5: 1 - 2 + 0.5 < 0 for all: nothing non-zero to average -> 0
    xp.assert_close(xp.call(losskit.batch_hard_triplet_loss, e, y, margin=0.5, normalize=False), 0.0)
    # cosine: s_ap = 1, s_an = 0 -> [0 - 1 + 1.5]_+ = 0.5
    out = xp.call(losskit.batch_hard_triplet_loss, xp.asarray(E_ORTH), xp.asarray(Y_ORTH), margin=1.5, distance="cosine")
    xp.assert_close(out, 0.5)
    # normalised Euclidean: the four points of E_LINE normalise to 0 (eps), 1, 1, 1
    none = xp.np(xp.call(losskit.batch_hard_triplet_loss, e, y, margin=0.0, reduction="none"))
    # anchor 0 (zero vector): positive at 1, negative at 1 -> 0; anchor 1: pos 1, neg 0 -> 1;
    # anchors 2, 3: pos 0, neg 0 (x1 normalises onto them) -> 0
    np.testing.assert_allclose(none, [0.0, 1.0, 0.0, 0.0], atol=1e-6)


def test_contrastive_hand_values(xp):
    e, y = xp.asarray(np.array([[0.0], [1.0], [3.0]])), xp.asarray(np.array([0, 0, 1]))
    # positives (0,1),(1,0) at d=1: [1 - 0]_+ = 1 each; negatives at 3 (0) and 2 (0.5).
    # mean: nonzero mean of positives (1) + of negatives (0.5) = 1.5; sum = 1+1+0.5+0.5 = 3
    kw = dict(neg_margin=2.5, normalize=False)
    xp.assert_close(xp.call(losskit.contrastive_loss, e, y, **kw), 1.5)
    xp.assert_close(xp.call(losskit.contrastive_loss, e, y, reduction="sum", **kw), 3.0)
    none = xp.np(xp.call(losskit.contrastive_loss, e, y, reduction="none", **kw))
    np.testing.assert_allclose(none, [[0, 1, 0], [1, 0, 0.5], [0, 0.5, 0]], atol=1e-6)
    # cosine: positives at s=1 with pos_margin 1 cost 0; negatives at 0 with neg_margin -0.5: 0.5
    out = xp.call(losskit.contrastive_loss, xp.asarray(E_ORTH), xp.asarray(Y_ORTH), distance="cosine",
                  pos_margin=1.0, neg_margin=-0.5)
    xp.assert_close(out, 0.5)


def test_circle_ms_ntxent_hand_values(xp):
    e, y = xp.asarray(E_ORTH), xp.asarray(Y_ORTH)
    # circle, m = 0.25, gamma = 4: alpha_p = [1.25 - 1]_+ = 0.25, alpha_n = [0 + 0.25]_+;
    # logits -4*0.25*(1 - 0.75) = -0.25 (1 positive), 4*0.25*(0 - 0.25) = -0.25 (2 negatives)
    xp.assert_close(xp.call(losskit.circle_loss, e, y, m=0.25, gamma=4.0), math.log1p(2 * math.exp(-0.5)))
    # MS, alpha = beta = 1, base 0.5: log(1 + e^-(1-0.5)) + log(1 + 2 e^(0-0.5))
    expected = math.log1p(math.exp(-0.5)) + math.log1p(2 * math.exp(-0.5))
    xp.assert_close(xp.call(losskit.multi_similarity_loss, e, y, alpha=1.0, beta=1.0), expected)
    # NT-Xent, tau = 1: -log(e^1 / (e^1 + 2 e^0)) = log(1 + 2/e), every positive pair
    xp.assert_close(xp.call(losskit.nt_xent_loss, e, y, temperature=1.0), math.log1p(2 / math.e))
    none = xp.np(xp.call(losskit.nt_xent_loss, e, y, temperature=1.0, reduction="none"))
    assert none.shape == (4, 4)
    np.testing.assert_allclose(none, math.log1p(2 / math.e) * np.kron(np.eye(2), 1 - np.eye(2)), atol=1e-6)


def test_arcface_cosface_against_angle_formula(xp):
    rng = np.random.default_rng(7)
    e, w = rng.normal(size=(5, 4)), rng.normal(size=(3, 4))
    y = np.array([0, 2, 1, 1, 0])
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    wn = w / np.linalg.norm(w, axis=1, keepdims=True)
    cos = en @ wn.T
    m, s = 0.3, 8.0
    logits = s * cos.copy()
    th = np.arccos(cos[np.arange(5), y])
    # theta + m past pi uses the monotone fallback cos(theta) - m sin(m)
    logits[np.arange(5), y] = s * np.where(th <= np.pi - m, np.cos(th + m), np.cos(th) - m * np.sin(m))
    ce = np.log(np.exp(logits).sum(1)) - logits[np.arange(5), y]
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    out = xp.call(losskit.arcface_loss, xp.asarray(e), xp.asarray(y), xp.asarray(w), margin=m, scale=s, reduction="none")
    xp.assert_close(out, ce, rtol=tol)
    logits = s * cos.copy()
    logits[np.arange(5), y] -= s * m
    ce = np.log(np.exp(logits).sum(1)) - logits[np.arange(5), y]
    out = xp.call(losskit.cosface_loss, xp.asarray(e), xp.asarray(y), xp.asarray(w), margin=m, scale=s)
    xp.assert_close(out, ce.mean(), rtol=tol)


def test_arcface_fallback_branch_beyond_pi_minus_m():
    # embedding opposite its class centre: theta = pi > pi - m -> cos(pi) - m sin m
    w = np.array([[1.0, 0.0], [0.0, 1.0]])
    m = 0.5
    out = losskit.arcface_loss(np.array([[-1.0, 0.0]]), np.array([0]), w, margin=m, scale=1.0)
    t = -1.0 - m * math.sin(m)
    np.testing.assert_allclose(out, math.log(math.exp(t) + math.exp(0.0)) - t, rtol=1e-12)


def test_pairwise_helpers(xp):
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    d_ref = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    tol = 1e-5 if xp.float_dtype == "float32" else 1e-10
    xp.assert_close(xp.call(losskit.pairwise_distance, xp.asarray(a), xp.asarray(b)), d_ref, rtol=tol, atol=tol)
    xp.assert_close(xp.call(losskit.pairwise_distance, xp.asarray(a), xp.asarray(b), squared=True), d_ref**2, rtol=tol, atol=tol)
    self_d = xp.np(xp.call(losskit.pairwise_distance, xp.asarray(a)))
    assert np.all(np.diag(self_d) == 0.0)
    an, bn = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    xp.assert_close(xp.call(losskit.pairwise_cosine_similarity, xp.asarray(a), xp.asarray(b)), an @ bn.T, rtol=tol, atol=tol)


def test_pairwise_distance_gradient_finite_on_diagonal_and_duplicates(autodiff_xp):
    b = autodiff_xp
    e = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [3.0, -1.0]])
    _, g = b.grad(bind(b, losskit.pairwise_distance), b.asarray(e))
    assert np.all(np.isfinite(g))
    # off the diagonal and away from the duplicate, the gradient is the numerical one
    e2 = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    check_gradient(b, bind(b, losskit.pairwise_distance), e2, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------------------
# every loss: reductions, shapes, gradients, validation, dtypes, empty, degenerate
# ----------------------------------------------------------------------------------------

OPTS = {
    "adasp_loss": dict(temperature=0.2),
    "batch_hard_triplet_loss": dict(margin=0.5),
    "contrastive_loss": dict(pos_margin=0.2, neg_margin=1.2),
    "circle_loss": dict(m=0.25, gamma=16.0),
    "multi_similarity_loss": dict(),
    "nt_xent_loss": dict(temperature=0.5),
}


def batch(b=9, d=4, seed=9):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=b)
    return rng.normal(size=(b, d)), y


@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_reductions_and_shapes(xp, fn):
    e, y = batch()
    opts = OPTS[fn.__name__]
    ee, yy = xp.asarray(e), xp.asarray(y)
    none = xp.np(xp.call(fn, ee, yy, reduction="none", **opts))
    total = xp.np(xp.call(fn, ee, yy, reduction="sum", **opts))
    mean = xp.np(xp.call(fn, ee, yy, **opts))
    assert mean.shape == () and total.shape == ()
    expected_shape = (9, 9) if fn.__name__ in ("contrastive_loss", "nt_xent_loss") else (9,)
    assert none.shape == expected_shape
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    np.testing.assert_allclose(none.sum(), total, rtol=tol)
    if fn.__name__ in ("batch_hard_triplet_loss", "circle_loss"):  # mean over non-zero anchors
        np.testing.assert_allclose(mean, none.sum() / max((none > 0).sum(), 1), rtol=tol)
    elif fn.__name__ == "multi_similarity_loss":
        np.testing.assert_allclose(mean, none.mean(), rtol=tol)
    elif fn.__name__ == "nt_xent_loss":  # mean over positive pairs
        pos = (y[:, None] == y[None, :]) & ~np.eye(9, dtype=bool)
        np.testing.assert_allclose(mean, none.sum() / pos.sum(), rtol=tol)
    elif fn.__name__ == "adasp_loss":  # mean over identities
        np.testing.assert_allclose(mean, total / len(set(y.tolist())), rtol=tol)
    else:  # contrastive: non-zero mean of positive pairs + of negative pairs
        pos = (y[:, None] == y[None, :]) & ~np.eye(9, dtype=bool)
        neg = y[:, None] != y[None, :]
        exp = none[pos & (none > 0)].mean() + none[neg & (none > 0)].mean()
        np.testing.assert_allclose(mean, exp, rtol=tol)


@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_gradient_matches_numerical(autodiff_xp, fn):
    e, y = batch(7, 3, seed=10)
    opts = dict(OPTS[fn.__name__])
    if fn is losskit.adasp_loss:
        # the adaptive weight a is detached and live on this batch: its gradient is checked
        # with a frozen in test_adasp_gradient_holds_adaptive_weight_constant
        opts["variant"] = "sp-lh"
    if fn is losskit.circle_loss:
        # alpha_p, alpha_n are detached (paper, PML): differentiate a NumPy circle loss whose
        # alphas are frozen at the evaluation point
        b = autodiff_xp
        _, g = b.grad(bind(b, fn, **opts), b.asarray(e), b.asarray(y))
        num = numerical_grad(lambda x: circle_oracle(x, y, frozen=e, **opts), e)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)
        return
    check_gradient(autodiff_xp, bind(autodiff_xp, fn, **opts), e, y, rtol=1e-5, atol=1e-8)


def circle_oracle(e, y, *, m, gamma, frozen):
    def cos(x):
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        return xn @ xn.T

    s, s0 = cos(e), cos(frozen)
    out = []
    for a in range(len(y)):
        pos = [p for p in range(len(y)) if y[p] == y[a] and p != a]
        neg = [n for n in range(len(y)) if y[n] != y[a]]
        if not pos or not neg:
            out.append(0.0)
            continue
        sp = sum(math.exp(-gamma * max(1 + m - s0[a, p], 0) * (s[a, p] - 1 + m)) for p in pos)
        sn = sum(math.exp(gamma * max(s0[a, n] + m, 0) * (s[a, n] - m)) for n in neg)
        out.append(math.log1p(sp * sn))
    out = np.array(out)
    return out.sum() / max((out > 0).sum(), 1)


@pytest.mark.parametrize("fn", [losskit.arcface_loss, losskit.cosface_loss], ids=lambda f: f.__name__)
def test_margin_softmax_gradients(autodiff_xp, fn):
    b = autodiff_xp
    rng = np.random.default_rng(11)
    e, w, y = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), np.array([0, 2, 1, 2])
    check_gradient(b, bind(b, fn, margin=0.3, scale=4.0), e, y, w, rtol=1e-5, atol=1e-8)
    # and with respect to the class-centre weight
    g_w = b.grad(bind(b, lambda ww, ee, yy: fn(ee, yy, ww, margin=0.3, scale=4.0)), b.asarray(w), b.asarray(e), b.asarray(y))[1]
    num = numerical_grad(lambda ww: fn(e, y, ww, margin=0.3, scale=4.0), w)
    np.testing.assert_allclose(g_w, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_half_precision_inputs_give_finite_float32(xp, fn):
    e, y = batch()
    for dt in ("float16", "bfloat16"):
        if not xp.has_dtype(dt):
            continue
        out = xp.call(fn, xp.asarray(e, dtype=dt), xp.asarray(y), **OPTS[fn.__name__])
        assert str(out.dtype).endswith("float32")
        assert np.isfinite(xp.np(out))


@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_empty_batch_is_zero(xp, fn):
    e, y = xp.asarray(np.zeros((0, 4))), xp.asarray(np.zeros((0,), dtype=np.int64))
    for red in ("mean", "sum"):
        assert xp.np(fn(e, y, reduction=red)) == 0.0
    assert xp.np(fn(e, y, reduction="none")).shape[0] == 0


def test_empty_batch_keeps_torch_graph():
    torch = pytest.importorskip("torch")
    for fn in PAIR_LOSSES:
        e = torch.zeros((0, 4), requires_grad=True)
        out = fn(e, torch.zeros((0,), dtype=torch.int64))
        out.backward()
        assert e.grad is not None and e.grad.shape == (0, 4)


DEGENERATE = {
    "one identity": (np.random.default_rng(12).normal(size=(4, 3)), np.array([1, 1, 1, 1])),
    "all distinct": (np.random.default_rng(13).normal(size=(4, 3)), np.array([0, 1, 2, 3])),
    "duplicates": (np.array([[1.0, 2, 0], [1, 2, 0], [1, 2, 0], [0, 1, 1]]), np.array([0, 0, 1, 1])),
    "zero vectors": (np.array([[0.0, 0, 0], [0, 0, 0], [1, 2, 3], [0, 0, 0]]), np.array([0, 0, 1, 1])),
    "B = 1": (np.array([[0.5, -1.0, 2.0]]), np.array([4])),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_degenerate_batches_finite_values_and_gradients(fn, case):
    torch = pytest.importorskip("torch")
    e, y = DEGENERATE[case]
    for distance in (("euclidean", "cosine") if "distance" in fn.__losskit__.options else (None,)):
        kw = dict(OPTS[fn.__name__], **({"distance": distance} if distance else {}))
        x = torch.tensor(e, requires_grad=True)
        out = fn(x, torch.tensor(y), **kw)
        out.backward()
        assert torch.isfinite(out) and torch.isfinite(x.grad).all(), (case, distance)
        if case in ("one identity", "B = 1"):  # no negatives at all
            if fn.__name__ != "multi_similarity_loss" and fn.__name__ != "contrastive_loss":
                assert float(out.detach()) == 0.0
        if case == "all distinct" and fn.__name__ in ("batch_hard_triplet_loss", "circle_loss", "nt_xent_loss"):
            assert float(out.detach()) == 0.0  # no positive pair, nothing to learn from


def test_degenerate_values_are_the_documented_ones():
    # One identity: MS keeps its positive term, contrastive its positive pairs.
    e, y = DEGENERATE["one identity"]
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    s = en @ en.T
    off = ~np.eye(4, dtype=bool)
    ms = np.mean([np.log1p(np.exp(-2 * (s[i, off[i]] - 0.5)).sum()) / 2 for i in range(4)])
    np.testing.assert_allclose(losskit.multi_similarity_loss(e, y), ms, rtol=1e-12)
    # AdaSP with all identities distinct: s_p = 1 for every one (self-pair)
    e, y = DEGENERATE["all distinct"]
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    s = en @ en.T
    tau = 0.2
    per = [np.log1p(np.exp((s[i, off[i]] - 1) / tau).sum()) for i in range(4)]
    np.testing.assert_allclose(losskit.adasp_loss(e, y, temperature=tau), np.mean(per), rtol=1e-12)
    # B = 1 and zero vectors: AdaSP 0 / finite
    assert float(losskit.adasp_loss(*DEGENERATE["B = 1"])) == 0.0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda e, y: losskit.adasp_loss(e, y, temperature=0.0), ValueError, "temperature: expected a number > 0"),
        (lambda e, y: losskit.adasp_loss(e, y, variant="sp"), ValueError, "variant: expected one of 'adasp'"),
        (lambda e, y: losskit.adasp_loss(e, y, reduction="avg"), ValueError, "reduction: expected one of"),
        (lambda e, y: losskit.adasp_loss(e[0], y), ValueError, "embeddings: expected a 2-D array"),
        (lambda e, y: losskit.adasp_loss(e, y * 1.0), TypeError, "labels: expected an integer array"),
        (lambda e, y: losskit.adasp_loss(e, y[:3]), ValueError, r"labels: expected shape \(5,\)"),
        (lambda e, y: losskit.adasp_loss(y, y), TypeError, "embeddings: expected a floating-point array"),
        (lambda e, y: losskit.batch_hard_triplet_loss(e, y, distance="l1"), ValueError, "distance: expected one of"),
        (lambda e, y: losskit.batch_hard_triplet_loss(e, y, soft="yes"), ValueError, "soft: expected one of"),
        (lambda e, y: losskit.contrastive_loss(e, y, neg_margin=float("nan")), ValueError, "neg_margin: expected a finite"),
        (lambda e, y: losskit.circle_loss(e, y, gamma=-1.0), ValueError, "gamma: expected a number > 0"),
        (lambda e, y: losskit.multi_similarity_loss(e, y, alpha=0), ValueError, "alpha: expected a number > 0"),
        (lambda e, y: losskit.nt_xent_loss(e, y, temperature="0.1"), TypeError, "temperature: expected a real number"),
        (lambda e, y: losskit.arcface_loss(e, y, np.ones((3, 2))), ValueError, r"weight: expected shape \(num_classes, 4\)"),
        (lambda e, y: losskit.arcface_loss(e, y, np.ones((2, 4))), ValueError, r"labels: expected class indices in \[0, 1\]"),
        (lambda e, y: losskit.arcface_loss(e, y, np.ones((3, 4)), margin=2.0), ValueError, "margin: expected a number <="),
        (lambda e, y: losskit.cosface_loss(e, y, np.ones((3, 4)), scale=0.0), ValueError, "scale: expected a number > 0"),
        (lambda e, y: losskit.pairwise_distance(e, np.ones((2, 3))), ValueError, "y: expected 4 columns"),
    ],
)
def test_invalid_arguments_raise(call, exc, match):
    e = np.random.default_rng(14).normal(size=(5, 4))
    y = np.array([0, 1, 2, 1, 0])
    with pytest.raises(exc, match=match):
        call(e, y)


def test_losses_jit_under_jax_with_traced_labels():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    e, y = batch()
    for fn in PAIR_LOSSES:
        f = jax.jit(lambda a, b, fn=fn: fn(a, b, **OPTS[fn.__name__]))
        np.testing.assert_allclose(float(f(jnp.asarray(e), jnp.asarray(y))), float(fn(e, y, **OPTS[fn.__name__])), rtol=1e-5)


# ----------------------------------------------------------------------------------------
# torch shells
# ----------------------------------------------------------------------------------------


def test_torch_modules_equal_functions_and_show_options():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    e, y = batch()
    et, yt = torch.tensor(e), torch.tensor(y)
    shells = {
        "adasp_loss": lt.AdaSPLoss,
        "batch_hard_triplet_loss": lt.BatchHardTripletLoss,
        "contrastive_loss": lt.ContrastiveLoss,
        "circle_loss": lt.CircleLoss,
        "multi_similarity_loss": lt.MultiSimilarityLoss,
        "nt_xent_loss": lt.NTXentLoss,
    }
    for name, cls in shells.items():
        fn = getattr(losskit, name)
        mod = cls(**OPTS[name])
        torch.testing.assert_close(mod(et, yt), fn(et, yt, **OPTS[name]), rtol=0, atol=0)
        for k, v in OPTS[name].items():
            assert f"{k}={v!r}" in repr(mod)
    for cls, fn in ((lt.ArcFaceLoss, losskit.arcface_loss), (lt.CosFaceLoss, losskit.cosface_loss)):
        mod = cls(3, 4, margin=0.2, scale=10.0, dtype=torch.float64)
        assert mod.weight.shape == (3, 4) and isinstance(mod.weight, torch.nn.Parameter)
        torch.testing.assert_close(mod(et, yt), fn(et, yt, mod.weight, margin=0.2, scale=10.0), rtol=0, atol=0)
        assert "num_classes=3, embedding_dim=4, margin=0.2, scale=10.0" in repr(mod)
        out = mod(et, yt)
        out.backward()
        assert mod.weight.grad is not None and torch.isfinite(mod.weight.grad).all()
        with pytest.raises(ValueError, match="num_classes: expected a positive int"):
            cls(0, 4)
        custom = cls(2, 3, init=torch.nn.init.ones_)
        assert torch.all(custom.weight == 1)


def test_torch_self_gram_fast_path_equals_generic_matmul():
    torch = pytest.importorskip("torch")
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    up = torch.randn(6, 6, dtype=torch.float64)  # not symmetric: both terms of (G + G^T) x count
    fast = ml._gram(x, x, ml.namespace(x))
    (g_fast,) = torch.autograd.grad((fast * up).sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    ref = x2 @ x2.T
    (g_ref,) = torch.autograd.grad((ref * up).sum(), x2)
    torch.testing.assert_close(fast, ref, rtol=0, atol=0)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda a: ml._gram(a, a, ml.namespace(a)), (x,))


def test_torch_autocast_bfloat16_backward_is_finite():
    torch = pytest.importorskip("torch")
    e, y = batch()
    x = torch.tensor(e, dtype=torch.float32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = losskit.adasp_loss(x, torch.tensor(y), temperature=0.1)
    out.backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
    np.testing.assert_allclose(float(out.detach()), float(losskit.adasp_loss(e, y, temperature=0.1)), rtol=0.05)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@given(
    e=hnp.arrays(np.float32, (6, 3), elements=st.one_of(
        st.just(0.0), st.floats(-1e4, 1e4, width=32), st.floats(-2.0**-66, 2.0**-66, width=32))),
    y=hnp.arrays(np.int64, (6,), elements=st.integers(0, 2)),
    tau=st.sampled_from([1e-3, 0.04, 1.0]),
)
def test_property_finite_values_and_gradients_float32(e, y, tau):
    # extreme magnitudes, zero and tiny vectors, duplicates, any label layout, small
    # temperatures: every loss is finite and so is its gradient (all are finite functions)
    torch = pytest.importorskip("torch")
    for fn, kw in [
        (losskit.adasp_loss, dict(temperature=tau)),
        (losskit.adasp_loss, dict(temperature=tau, variant="sp-h")),
        (losskit.nt_xent_loss, dict(temperature=tau)),
        (losskit.circle_loss, dict(gamma=1.0 / tau)),
        (losskit.multi_similarity_loss, dict()),
        (losskit.batch_hard_triplet_loss, dict(normalize=False)),
        (losskit.contrastive_loss, dict(normalize=False)),
    ]:
        x = torch.tensor(e, requires_grad=True)
        out = fn(x, torch.tensor(y), **kw)
        out.backward()
        assert torch.isfinite(out), (fn.__name__, kw)
        assert torch.isfinite(x.grad).all(), (fn.__name__, kw)
        assert float(out.detach()) >= 0.0
