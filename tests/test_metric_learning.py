"""Metric learning beyond the case table (``tests/cases/metric_learning.py`` holds the
hand-derived values, bad inputs, empty batches and identities): AdaSP against a loop
implementation of the paper's closed form, ArcFace / CosFace against the angle formula,
reductions, gradients with detached terms, degenerate batches, rounding ties giving one
value on every backend, NaN inputs, NumPy scalar options, flags, the local-anchor form,
the shells that own a parameter, the self-Gram fast path."""

import math

import numpy as np
import pytest
from helpers import check_gradient, numerical_grad

import losskit
from losskit import metric_learning as ml
from helpers import Backend, backend_available

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


_CLASS_ROWS = {  # the losses with class rows: their (seeded) rows and options
    "arcface_loss": ((3, 3), {}),
    "subcenter_arcface_loss": ((2, 3, 3), {"k": 3}),
    "proxy_anchor_loss": ((2, 3), {}),
}


@pytest.mark.parametrize("fn", PAIR_LOSSES + [losskit.supcon_loss] + [getattr(losskit, n) for n in _CLASS_ROWS],
                         ids=lambda f: f.__name__)
def test_zero_embedding_has_zero_gradient_in_every_precision(autodiff_xp, fn):
    """A zero embedding has no direction: normalised it is 0 with gradient 0 (issue 20), not
    F.normalize's 1 / eps = 1e12, which a float16 gradient can only hold as inf."""
    e = np.array([[0.0, 0, 0], [1, 2, 3], [0, 1, 1], [2, 0, 1]])
    y = np.array([0, 0, 1, 1])
    shape, kw = _CLASS_ROWS.get(fn.__name__, (None, {}))
    extra = (np.random.default_rng(3).normal(size=shape),) if shape else ()
    for dtype in ("float64", "float32", "float16"):
        if not autodiff_xp.has_dtype(dtype):
            continue
        kw = dict(OPTS.get(fn.__name__, {}), **_CLASS_ROWS.get(fn.__name__, (None, {}))[1])
        _, g = losskit.value_and_grad(fn)(autodiff_xp.asarray(e, dtype=dtype), autodiff_xp.asarray(y),
                                           *[autodiff_xp.asarray(a, dtype=dtype) for a in extra], **kw)
        g = autodiff_xp.np(g)
        assert np.all(np.isfinite(g)), (dtype, g)
        assert np.all(g[0] == 0), (dtype, g[0])
        assert np.any(g[1:] != 0), dtype  # the other embeddings still learn


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


def test_pairwise_helpers_reject_bad_arguments():
    # the losses' bad inputs are rows of tests/cases/metric_learning.py
    e = np.random.default_rng(14).normal(size=(5, 4))
    with pytest.raises(ValueError, match="y: expected 4 columns"):
        losskit.pairwise_distance(e, np.ones((2, 3)))
    with pytest.raises(TypeError, match="squared: expected a bool, got int"):
        losskit.pairwise_distance(e, squared=1)
    with pytest.raises(ValueError, match="eps: expected a number > 0"):
        losskit.pairwise_cosine_similarity(e, eps=0.0)


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
    # The pair losses' pinning is tests/test_fast_paths.py; here the Function itself, with an
    # upstream gradient that is not symmetric (both terms of (G + G^T) x count).
    torch = pytest.importorskip("torch")
    path = "metric_learning.torch_self_gram"
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    up = torch.randn(6, 6, dtype=torch.float64)
    with losskit.fast_paths(only=path) as used:
        fast = losskit.pairwise_cosine_similarity(x)
        (g_fast,) = torch.autograd.grad((fast * up).sum(), x)
        assert torch.autograd.gradcheck(losskit.pairwise_cosine_similarity, (x,))
    assert used == {path}
    with losskit.fast_paths(False) as none:
        ref = losskit.pairwise_cosine_similarity(x)
        (g_ref,) = torch.autograd.grad((ref * up).sum(), x)
    assert none == set()
    torch.testing.assert_close(fast, ref, rtol=0, atol=0)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-12, atol=1e-12)
    # the path is declared by every pair loss that computes its batch's Gram matrix
    for name in ("adasp_loss", "batch_hard_triplet_loss", "contrastive_loss", "circle_loss",
                 "multi_similarity_loss", "nt_xent_loss"):
        assert losskit.get(name).fast_paths == (path,)
    assert losskit.get("arcface_loss").fast_paths == () == losskit.get("cosface_loss").fast_paths
    assert losskit.get("supcon_loss").fast_paths == (path,)  # its (B V, B V) similarities
    for name in ("subcenter_arcface_loss", "proxy_anchor_loss", "center_loss"):  # against class rows
        assert losskit.get(name).fast_paths == ()


def test_torch_autocast_bfloat16_backward_is_finite():
    torch = pytest.importorskip("torch")
    e, y = batch()
    x = torch.tensor(e, dtype=torch.float32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = losskit.adasp_loss(x, torch.tensor(y), temperature=0.1)
    out.backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
    np.testing.assert_allclose(float(out.detach()), float(losskit.adasp_loss(e, y, temperature=0.1)), rtol=0.05)


# ----------------------------------------------------------------------------------------
# issue 20: rounding ties, NaN, NumPy scalar options, flags
# ----------------------------------------------------------------------------------------

ALL_LOSSES = PAIR_LOSSES + [losskit.arcface_loss, losskit.cosface_loss, losskit.subcenter_arcface_loss,
                            losskit.proxy_anchor_loss, losskit.supcon_loss]

# Options under which a tie is a hinge's kink: the margins on the distances that zero,
# duplicate and collinear embeddings produce exactly (0 between duplicates, 1 between a
# zero embedding and any other once normalised; cosine 1 and 0).
TIE_OPTIONS = [
    (losskit.contrastive_loss, {}),
    (losskit.contrastive_loss, {"normalize": False}),
    (losskit.contrastive_loss, {"distance": "cosine", "pos_margin": 1.0, "neg_margin": 0.0}),
    (losskit.batch_hard_triplet_loss, {}),
    (losskit.batch_hard_triplet_loss, {"margin": 0.0}),
    (losskit.batch_hard_triplet_loss, {"margin": 0.0, "normalize": False}),
    (losskit.batch_hard_triplet_loss, {"margin": 0.0, "distance": "cosine"}),
    (losskit.batch_hard_triplet_loss, {"margin": 1.0, "distance": "cosine"}),
    (losskit.circle_loss, {}),
    (losskit.multi_similarity_loss, {}),
    (losskit.nt_xent_loss, {}),
    (losskit.adasp_loss, {}),
]


def tie_batch(d, seed):
    """Zero, duplicate and collinear embeddings (and ordinary ones), labels mixing them."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(4, d)) * rng.uniform(0.1, 10.0, size=(4, 1))
    e = np.concatenate([base, base[:2], 3.7 * base[2:], np.zeros((2, d))])
    return e, rng.integers(0, 3, size=len(e))


_TIE_BACKENDS = [b for b in ("numpy", "torch-float64", "jax") if backend_available(b)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn, opts", TIE_OPTIONS, ids=lambda v: getattr(v, "__name__", None) or "-".join(f"{k}={w}" for k, w in v.items()) or "defaults")
def test_ties_give_one_value_on_every_backend(fn, opts, dtype):
    # Issue 20: the mean over non-zero terms counted rounding noise that only one library
    # produced (three values on three backends). Now every backend counts the same terms and
    # gives the same value, in every reduction, for zero, duplicate and collinear rows.
    if len(_TIE_BACKENDS) < 2:
        pytest.skip("needs two backends")
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for d, seed in ((3, 0), (64, 2), (300, 4)):
        e, y = tie_batch(d, seed)
        for reduction in ("mean", "sum", "none"):
            values = []
            for name in _TIE_BACKENDS:
                b = Backend(name, float_dtype=dtype)
                # eager (also on jax): the values, not the compiler, are under test here
                values.append(b.np(fn(b.asarray(e), b.asarray(y), reduction=reduction, **opts)))
            for v in values[1:]:
                np.testing.assert_allclose(v, values[0], err_msg=f"{fn.__name__} {opts} d={d} {reduction}", **tol)


def test_contrastive_ties_are_not_counted():
    # The reproducer class: the terms at the margins are exactly 0 (not 1e-16), so
    # the non-zero mean counts the same pairs everywhere; the other terms are unchanged.
    e = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 2.0], [6.0, 8.0]])
    y = np.array([0, 0, 1, 1, 0])
    for name in _TIE_BACKENDS:
        for dtype in ("float32", "float64"):
            b = Backend(name, float_dtype=dtype)
            none = b.np(b.call(losskit.contrastive_loss, b.asarray(e), b.asarray(y), reduction="none"))
            assert int((none > 0).sum()) == 10, (name, dtype)  # 6 positive + 4 negative terms
            assert none[0, 2] == 0.0 and none[0, 1] == 0.0 and none[2, 4] == 1.0


def test_pairwise_distance_duplicates_are_exactly_zero_on_every_backend():
    e, _ = tie_batch(64, 5)
    for name in _TIE_BACKENDS:
        for dtype in ("float32", "float64"):
            b = Backend(name, float_dtype=dtype)
            d = b.np(b.call(losskit.pairwise_distance, b.asarray(e)))
            assert d[0, 4] == 0.0 and d[1, 5] == 0.0 and d[8, 9] == 0.0, (name, dtype)
            ref = np.sqrt(((e[:, None, :] - e[None, :, :]) ** 2).sum(-1))
            np.testing.assert_allclose(d, ref, rtol=1e-3 if dtype == "float32" else 1e-7, atol=0)


def _inputs(fn, e, y):
    if fn in (losskit.arcface_loss, losskit.cosface_loss, losskit.proxy_anchor_loss, losskit.center_loss):
        return (e, y % 3, np.random.default_rng(15).normal(size=(3, e.shape[1])))
    if fn is losskit.subcenter_arcface_loss:  # k = 3 sub-centres
        return (e, y % 3, np.random.default_rng(15).normal(size=(3, 3, e.shape[1])))
    return (e, y)


@pytest.mark.parametrize("fn", ALL_LOSSES + [losskit.center_loss], ids=lambda f: f.__name__)
def test_nan_input_gives_nan_loss(xp, fn):
    # Issue 20 class 11: a NaN embedding reached triplet and contrastive as distance 0 (a
    # finite loss with a NaN gradient). It is NaN in the value, in every reduction.
    e, y = batch()
    e[3, 1] = np.nan
    args = [xp.asarray(a) for a in _inputs(fn, e, y)]
    for reduction in ("mean", "sum"):
        assert np.isnan(xp.np(xp.call(fn, *args, reduction=reduction))), reduction
    assert np.isnan(xp.np(xp.call(fn, *args, reduction="none"))).any()
    for distance in ("euclidean", "cosine") if "distance" in fn.__losskit__.options else ():
        assert np.isnan(xp.np(xp.call(fn, *args, distance=distance)))
    if fn in (losskit.batch_hard_triplet_loss,):
        assert np.isnan(xp.np(xp.call(fn, *args, soft=True)))


# every number option of every loss, with a valid value
NUMBER_OPTIONS = {
    losskit.adasp_loss: {"temperature": 0.3},
    losskit.batch_hard_triplet_loss: {"margin": 0.3},
    losskit.contrastive_loss: {"pos_margin": 0.2, "neg_margin": 1.0},
    losskit.circle_loss: {"m": 0.25, "gamma": 16.0},
    losskit.multi_similarity_loss: {"alpha": 2.0, "beta": 40.0, "base": 0.5},
    losskit.nt_xent_loss: {"temperature": 0.5},
    losskit.arcface_loss: {"margin": 0.5, "scale": 16.0},
    losskit.cosface_loss: {"margin": 0.25, "scale": 16.0},
    losskit.subcenter_arcface_loss: {"margin": 0.4, "scale": 16.0},
    losskit.proxy_anchor_loss: {"alpha": 16.0, "delta": 0.2},
    losskit.supcon_loss: {"temperature": 0.2},
}


@pytest.mark.parametrize("fn", ALL_LOSSES, ids=lambda f: f.__name__)
def test_numpy_scalar_options_work_on_every_backend(xp, fn):
    # Issue 20 class 7: a NumPy scalar option is a number wherever a number is accepted.
    e, y = batch()
    args = [xp.asarray(a) for a in _inputs(fn, e, y)]
    opts = NUMBER_OPTIONS[fn]
    assert set(opts) == {k for k, v in fn.__losskit__.options.items() if isinstance(v, float)}
    ref = xp.np(xp.call(fn, *args, **opts))
    for cast in (np.float64, np.float32, float):
        for name in opts:
            out = xp.call(fn, *args, **{**opts, name: cast(opts[name])})
            np.testing.assert_allclose(xp.np(out), ref, rtol=1e-6, err_msg=f"{name}={cast.__name__}")
    out = xp.call(fn, *args, **{**opts, next(iter(opts)): np.int64(1)})  # integers are numbers too
    assert np.isfinite(xp.np(out))


FLAGS = [
    (losskit.batch_hard_triplet_loss, "normalize"),
    (losskit.batch_hard_triplet_loss, "soft"),
    (losskit.contrastive_loss, "normalize"),
    (losskit.pairwise_distance, "squared"),
]


@pytest.mark.parametrize("fn, name", FLAGS, ids=lambda v: getattr(v, "__name__", v))
def test_flags_accept_only_bools(fn, name):
    # Issue 20 class 6: every flag goes through the one bool check.
    e, y = batch()
    args = (e,) if fn is losskit.pairwise_distance else (e, y)
    for bad in ("False", 0, 1, None, np.bool_(True), np.array(True)):
        with pytest.raises(TypeError, match=f"{name}: expected a bool, got"):
            fn(*args, **{name: bad})
    for good in (True, False):
        assert np.all(np.isfinite(fn(*args, **{name: good})))


# ----------------------------------------------------------------------------------------
# the local-anchor form (losskit.torch.distributed's "local_anchors" mode)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", PAIR_LOSSES, ids=lambda f: f.__name__)
def test_local_anchor_loss_is_the_loss_on_the_whole_batch(xp, fn):
    assert fn.__name__ in ml.LOCAL_ANCHOR_LOSSES
    e, y = batch()
    ee, yy = xp.asarray(e), xp.asarray(y)
    opts = OPTS[fn.__name__]
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    whole = xp.call(lambda a, b: ml.local_anchor_loss(fn, a, b, a, b, offset=0, **opts), ee, yy)
    xp.assert_close(whole, xp.np(xp.call(fn, ee, yy, **opts)), rtol=tol, atol=1e-7)
    if fn is losskit.adasp_loss:
        return  # its per-sample shares divide by the anchors of an identity
    # per-anchor (or per-row) values of a slice are the rows of the full batch's
    full = xp.np(xp.call(fn, ee, yy, reduction="none", **opts))
    rows = xp.np(xp.call(lambda a, b, r, s: ml.local_anchor_loss(fn, a, b, r, s, offset=3, reduction="none", **opts),
                         ee[3:7, ...], yy[3:7], ee, yy))
    np.testing.assert_allclose(rows, full[3:7], rtol=tol, atol=1e-7)


def test_local_anchor_loss_rejects_bad_arguments():
    e, y = batch()
    with pytest.raises(ValueError, match="loss: expected one of the losskit pair losses"):
        ml.local_anchor_loss(losskit.arcface_loss, e, y, e, y, offset=0)
    with pytest.raises(ValueError, match=r"offset: expected an int <= 5"):
        ml.local_anchor_loss(losskit.nt_xent_loss, e[:4], y[:4], e, y, offset=6)
    with pytest.raises(TypeError, match="offset: expected an int"):
        ml.local_anchor_loss(losskit.nt_xent_loss, e[:4], y[:4], e, y, offset=1.0)
    with pytest.raises(TypeError, match="nt_xent_loss: unexpected options margin"):
        ml.local_anchor_loss(losskit.nt_xent_loss, e, y, e, y, offset=0, margin=0.1)
    with pytest.raises(ValueError, match="temperature: expected a number > 0"):
        ml.local_anchor_loss(losskit.nt_xent_loss, e, y, e, y, offset=0, temperature=0.0)


# ----------------------------------------------------------------------------------------
# issue 16: SupCon, center loss, Proxy-Anchor, sub-center ArcFace
# ----------------------------------------------------------------------------------------


def supcon_oracle(e, y, tau):
    """Eq. 2 of Khosla et al. one anchor at a time (float64): per-anchor losses, 0 where
    an anchor has no positive."""
    e = np.asarray(e, dtype=np.float64)
    en = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    s = en @ en.T / tau
    out = []
    for i in range(len(y)):
        others = [a for a in range(len(y)) if a != i]
        pos = [p for p in others if y[p] == y[i]]
        if not pos:
            out.append(0.0)
            continue
        log_den = math.log(sum(math.exp(s[i, a]) for a in others))
        out.append(-sum(s[i, p] - log_den for p in pos) / len(pos))
    return np.array(out)


@pytest.mark.parametrize("tau", [0.1, 0.7])
def test_supcon_equals_the_papers_formula_one_anchor_at_a_time(xp, tau):
    e, y = batch(11, 5, seed=30)
    y[0] = 7  # an anchor without positives
    ref = supcon_oracle(e, y, tau)
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    ee, yy = xp.asarray(e), xp.asarray(y)
    xp.assert_close(xp.call(losskit.supcon_loss, ee, yy, temperature=tau, reduction="none"), ref, rtol=tol, atol=tol)
    xp.assert_close(xp.call(losskit.supcon_loss, ee, yy, temperature=tau), ref.sum() / 10, rtol=tol)
    xp.assert_close(xp.call(losskit.supcon_loss, ee, yy, temperature=tau, reduction="sum"), ref.sum(), rtol=tol)


def test_supcon_views_are_the_flattened_rows(xp):
    rng = np.random.default_rng(31)
    e, y = rng.normal(size=(5, 3, 4)), np.array([0, 1, 0, 2, 2])
    flat_e, flat_y = e.reshape(15, 4), np.repeat(y, 3)  # row b * V + v: view v of sample b
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    views = xp.np(xp.call(losskit.supcon_loss, xp.asarray(e), xp.asarray(y), reduction="none"))
    assert views.shape == (5, 3)
    np.testing.assert_allclose(views.reshape(15), supcon_oracle(flat_e, flat_y, 0.1), rtol=tol, atol=tol)
    np.testing.assert_allclose(xp.np(xp.call(losskit.supcon_loss, xp.asarray(e), xp.asarray(y))),
                               supcon_oracle(flat_e, flat_y, 0.1).mean(), rtol=tol)
    empty = xp.call(losskit.supcon_loss, xp.asarray(np.zeros((0, 3, 4))), xp.asarray(np.zeros(0, dtype=np.int64)),
                    reduction="none")
    assert tuple(empty.shape) == (0, 3)


def test_supcon_degenerate_batches_are_finite_with_zero_for_no_positives():
    torch = pytest.importorskip("torch")
    for e, y in DEGENERATE.values():
        x = torch.tensor(e, requires_grad=True)
        out = losskit.supcon_loss(x, torch.tensor(y))
        out.backward()
        assert torch.isfinite(out) and torch.isfinite(x.grad).all()
    for e, y in (DEGENERATE["all distinct"], DEGENERATE["B = 1"]):  # no anchor has a positive
        assert float(losskit.supcon_loss(e, y)) == 0.0


def test_supcon_small_temperature_float16_is_finite():
    torch = pytest.importorskip("torch")
    e, y = batch(16, 8, seed=32)
    x = torch.tensor(e, dtype=torch.float16, requires_grad=True)
    out = losskit.supcon_loss(x, torch.tensor(y), temperature=0.01)
    out.backward()
    assert out.dtype == torch.float32 and torch.isfinite(out) and torch.isfinite(x.grad).all()
    np.testing.assert_allclose(float(out.detach()), supcon_oracle(x.detach().double().numpy(), y, 0.01).sum()
                               / (supcon_oracle(e, y, 0.01) != 0).sum(), rtol=1e-4)


def center_update_oracle(x, y, c, alpha):
    """The paper's rule as written, one class at a time."""
    new = np.array(c, dtype=np.float64)
    for j in range(len(c)):
        members = [i for i in range(len(y)) if y[i] == j]
        delta = sum((c[j] - x[i] for i in members), np.zeros(c.shape[1])) / (1 + len(members))
        new[j] = c[j] - alpha * delta
    return new


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_center_update_is_the_papers_rule(xp, alpha):
    rng = np.random.default_rng(33)
    x, y, c = rng.normal(size=(9, 4)), np.array([0, 2, 2, 0, 2, 3, 0, 3, 2]), rng.normal(size=(5, 4))  # class 1, 4 absent
    tol = 2e-6 if xp.float_dtype == "float32" else 1e-12
    new = xp.call(ml.center_update, xp.asarray(x), xp.asarray(y), xp.asarray(c), alpha=alpha)
    assert str(new.dtype).endswith(xp.float_dtype)
    xp.assert_close(new, center_update_oracle(x, y, c, alpha), rtol=tol, atol=tol)
    assert np.array_equal(xp.np(new)[[1, 4]], xp.np(xp.asarray(c))[[1, 4]])  # absent classes keep their centres


def test_center_update_keeps_state_valid():
    # valid use cannot make the state invalid: huge features stay within range (a weighted
    # average, no overflowing class sum); a non-finite feature is left out of the update
    c = np.zeros((2, 3), dtype=np.float32)
    x = np.full((4, 3), 3e38, dtype=np.float32)
    new = losskit.center_update(x, np.array([0, 0, 0, 0]), c, alpha=1.0)
    assert new.dtype == np.float32 and np.all(np.isfinite(new))
    np.testing.assert_allclose(new[0], 0.8 * 3e38, rtol=1e-6)  # alpha n / (1 + n) of the mean
    x = np.array([[1.0, 2.0, 3.0], [np.nan, 0.0, 0.0], [np.inf, 1.0, 1.0]])
    new = losskit.center_update(x, np.array([0, 0, 1]), np.zeros((2, 3)), alpha=0.5)
    np.testing.assert_allclose(new, [[0.25, 0.5, 0.75], [0.0, 0.0, 0.0]])
    assert np.isnan(losskit.center_loss(x, np.array([0, 0, 1]), np.zeros((2, 3))))  # the loss shows it
    # float16 centres stay float16 (the state's dtype), computed in float32
    new = losskit.center_update(np.ones((2, 3)), np.array([1, 1]), np.zeros((2, 3), dtype=np.float16))
    assert new.dtype == np.float16
    np.testing.assert_allclose(new[1], 1 / 3, rtol=1e-3)
    with pytest.raises(ValueError, match=r"alpha: expected a number <= 1.0"):
        losskit.center_update(x, np.array([0, 0, 1]), np.zeros((2, 3)), alpha=1.5)
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 1\]"):
        losskit.center_update(np.ones((2, 3)), np.array([0, 2]), np.zeros((2, 3)))


def test_center_update_carries_no_gradient_and_jits():
    torch = pytest.importorskip("torch")
    x = torch.randn(4, 3, requires_grad=True)
    c = torch.randn(2, 3, requires_grad=True)
    assert not ml.center_update(x, torch.tensor([0, 1, 1, 0]), c).requires_grad
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x, y, c = np.random.default_rng(34).normal(size=(6, 2)), np.array([0, 1, 1, 0, 2, 2]), np.zeros((3, 2))
    out = jax.jit(lambda a, b, d: ml.center_update(a, b, d, alpha=0.3))(jnp.asarray(x), jnp.asarray(y), jnp.asarray(c))
    np.testing.assert_allclose(np.asarray(out), center_update_oracle(x, y, c, 0.3), rtol=1e-6, atol=1e-7)


def test_center_loss_gradient_of_the_centres(autodiff_xp):
    b = autodiff_xp
    rng = np.random.default_rng(35)
    x, y, c = rng.normal(size=(6, 3)), np.array([0, 2, 1, 2, 0, 0]), rng.normal(size=(3, 3))
    g = b.grad(bind(b, lambda cc, xx, yy: losskit.center_loss(xx, yy, cc)), b.asarray(c), b.asarray(x), b.asarray(y))[1]
    # d/dc_j of mean_i 1/2 |x_i - c_yi|^2 = -sum_{i: y_i = j} (x_i - c_j) / B
    expected = np.stack([-(x[y == j] - c[j]).sum(0) / 6 for j in range(3)])
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


def proxy_anchor_oracle(e, y, p, alpha, delta):
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    s = pn @ en.T
    pos = [math.log1p(sum(math.exp(-alpha * (s[c, i] - delta)) for i in range(len(y)) if y[i] == c)) for c in range(len(p))]
    neg = [math.log1p(sum(math.exp(alpha * (s[c, i] + delta)) for i in range(len(y)) if y[i] != c)) for c in range(len(p))]
    present = len(set(y.tolist()))
    return np.array(pos) + np.array(neg), sum(pos) / present + sum(neg) / len(p)


def test_proxy_anchor_equals_the_papers_formula(xp):
    rng = np.random.default_rng(36)
    e, y, p = rng.normal(size=(10, 4)), rng.integers(0, 4, size=10), rng.normal(size=(5, 4))  # class 4 absent
    y[:4] = [0, 1, 2, 3]
    per, mean = proxy_anchor_oracle(e, y, p, 8.0, 0.2)
    tol = 2e-5 if xp.float_dtype == "float32" else 1e-10
    args = [xp.asarray(a) for a in (e, y, p)]
    xp.assert_close(xp.call(losskit.proxy_anchor_loss, *args, alpha=8.0, delta=0.2, reduction="none"), per, rtol=tol)
    xp.assert_close(xp.call(losskit.proxy_anchor_loss, *args, alpha=8.0, delta=0.2), mean, rtol=tol)


def test_proxy_anchor_gradient_of_the_proxies(autodiff_xp):
    b = autodiff_xp
    rng = np.random.default_rng(37)
    e, y, p = rng.normal(size=(7, 3)), np.array([0, 1, 0, 2, 1, 0, 2]), rng.normal(size=(4, 3))
    f = lambda pp, ee, yy: losskit.proxy_anchor_loss(ee, yy, pp, alpha=4.0, delta=0.1)  # noqa: E731
    g = b.grad(bind(b, f), b.asarray(p), b.asarray(e), b.asarray(y))[1]
    num = numerical_grad(lambda pp: f(pp, e, y), p)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_proxy_anchor_empty_batch_with_proxies_gives_zeros_with_graph():
    torch = pytest.importorskip("torch")
    x = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    p = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(0, dtype=torch.int64)
    assert torch.equal(losskit.proxy_anchor_loss(x, y, p, reduction="none"), torch.zeros(4, dtype=torch.float64))
    out = losskit.proxy_anchor_loss(x, y, p)
    out.backward()
    assert out.item() == 0.0 and torch.equal(p.grad, torch.zeros_like(p))


@pytest.mark.parametrize("fn, opts, third", [
    (losskit.proxy_anchor_loss, {"alpha": 64.0, "delta": 0.5}, (4, 8)),
    (losskit.subcenter_arcface_loss, {"scale": 128.0}, (4, 3, 8)),
], ids=["proxy_anchor", "subcenter_arcface"])
def test_large_scale_float16_and_zero_norm_stay_finite(fn, opts, third):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(38)
    e, y, w = rng.normal(size=(8, 8)), np.array([0, 1, 2, 3, 0, 1, 2, 3]), rng.normal(size=third)
    # float16 inputs with a large scale: exp(64 * 1.5) and exp(128) overflow float16 (and
    # exp(128) float32): the log-sum-exp form in float32 keeps value and gradients finite
    x = torch.tensor(e, dtype=torch.float16, requires_grad=True)
    ww = torch.tensor(w, dtype=torch.float16, requires_grad=True)
    out = fn(x, torch.tensor(y), ww, **opts)
    out.backward()
    assert out.dtype == torch.float32 and torch.isfinite(out)
    assert torch.isfinite(x.grad).all() and torch.isfinite(ww.grad).all()
    ref = fn(x.detach().double(), torch.tensor(y), ww.detach().double(), **opts)
    np.testing.assert_allclose(float(out.detach()), float(ref), rtol=1e-4)
    # a zero embedding and a zero class row: cosine 0 with everything, no NaN (float32; the
    # normalisation's slope at 0 is 1/eps = 1e12, the family's convention, which float16
    # gradients cannot hold)
    e[2] = 0.0
    w.reshape(-1, 8)[1] = 0.0
    x = torch.tensor(e, dtype=torch.float32, requires_grad=True)
    ww = torch.tensor(w, dtype=torch.float32, requires_grad=True)
    out = fn(x, torch.tensor(y), ww, **opts)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all() and torch.isfinite(ww.grad).all()


def test_subcenter_arcface_weight_layouts_and_gradients(autodiff_xp):
    b = autodiff_xp
    rng = np.random.default_rng(39)
    e, y, w = rng.normal(size=(6, 4)), np.array([0, 2, 1, 2, 0, 1]), rng.normal(size=(3, 2, 4))
    f = lambda ww, ee, yy, **o: losskit.subcenter_arcface_loss(ee, yy, ww, k=2, margin=0.3, scale=8.0, **o)  # noqa: E731
    three = b.np(b.call(f, b.asarray(w), b.asarray(e), b.asarray(y), reduction="none"))
    flat = b.np(b.call(f, b.asarray(w.reshape(6, 4)), b.asarray(e), b.asarray(y), reduction="none"))
    np.testing.assert_allclose(flat, three, rtol=1e-12)
    # the nearest sub-centre, then ArcFace: ArcFace on the (C, D) weight of the winners
    en, wn = e / np.linalg.norm(e, axis=1, keepdims=True), w / np.linalg.norm(w, axis=2, keepdims=True)
    best = np.einsum("bd,ckd->bck", en, wn).argmax(2)  # (B, C): each sample's nearest sub-centre per class
    for i in range(6):
        wi = w[np.arange(3), best[i]]  # (C, D)
        np.testing.assert_allclose(three[i], losskit.arcface_loss(e[i:i + 1], y[i:i + 1], wi, margin=0.3, scale=8.0),
                                   rtol=1e-10)
    check_gradient(b, bind(b, lambda ee, yy, ww: f(ww, ee, yy)), e, y, w, rtol=1e-5, atol=1e-8)
    g = b.grad(bind(b, f), b.asarray(w), b.asarray(e), b.asarray(y))[1]
    np.testing.assert_allclose(g, numerical_grad(lambda ww: f(ww, e, y), w), rtol=1e-5, atol=1e-8)


def test_new_torch_modules_own_their_parameters_or_state():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    e, y = batch()
    et, yt = torch.tensor(e), torch.tensor(y)
    mod = lt.SubCenterArcFaceLoss(3, 4, k=2, margin=0.2, scale=10.0, dtype=torch.float64)
    assert mod.weight.shape == (3, 2, 4) and isinstance(mod.weight, torch.nn.Parameter)
    torch.testing.assert_close(mod(et, yt), losskit.subcenter_arcface_loss(et, yt, mod.weight, k=2, margin=0.2, scale=10.0),
                               rtol=0, atol=0)
    assert "num_classes=3, embedding_dim=4, k=2, margin=0.2, scale=10.0" in repr(mod)
    with pytest.raises(ValueError, match="k: expected a positive int"):
        lt.SubCenterArcFaceLoss(3, 4, k=0)
    mod = lt.ProxyAnchorLoss(3, 4, alpha=16.0, delta=0.2, dtype=torch.float64)
    assert mod.proxies.shape == (3, 4) and isinstance(mod.proxies, torch.nn.Parameter)
    out = mod(et, yt)
    torch.testing.assert_close(out, losskit.proxy_anchor_loss(et, yt, mod.proxies, alpha=16.0, delta=0.2), rtol=0, atol=0)
    out.backward()
    assert torch.isfinite(mod.proxies.grad).all() and mod.proxies.grad.abs().sum() > 0
    assert "num_classes=3, embedding_dim=4, alpha=16.0, delta=0.2" in repr(mod)
    for cls in (lt.SubCenterArcFaceLoss, lt.ProxyAnchorLoss, lt.CenterLoss):
        with pytest.raises(ValueError, match="num_classes: expected a positive int"):
            cls(0, 4)


def test_center_loss_module_buffer_follows_the_papers_rule():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    rng = np.random.default_rng(40)
    x, y = torch.tensor(rng.normal(size=(6, 3))), torch.tensor([0, 1, 1, 0, 2, 0])
    mod = lt.CenterLoss(4, 3, alpha=0.3, dtype=torch.float64)
    assert "centers" in dict(mod.named_buffers()) and not list(mod.parameters())
    before = mod.centers.clone()
    xg = x.clone().requires_grad_(True)
    out = mod(xg, y)
    # the loss uses the centres before the update (Algorithm 1), then they move by the rule
    torch.testing.assert_close(out, losskit.center_loss(x, y, before), rtol=0, atol=0)
    expected = center_update_oracle(x.numpy(), y.numpy(), before.numpy(), 0.3)
    torch.testing.assert_close(mod.centers, torch.tensor(expected), rtol=1e-12, atol=1e-12)
    out.backward()
    torch.testing.assert_close(xg.grad, (x - before[y]) / 6, rtol=1e-12, atol=1e-12)
    assert not mod.centers.requires_grad
    mod.eval()
    frozen = mod.centers.clone()
    mod(x, y)
    assert torch.equal(mod.centers, frozen)  # eval: read only
    assert "num_classes=4, dim=3, alpha=0.3, learnable=False, reduction='mean'" in repr(mod)
    state = mod.state_dict()
    assert torch.equal(state["centers"], frozen)
    # bad options fail at construction, with the function's messages
    with pytest.raises(ValueError, match="alpha: expected a number <= 1.0"):
        lt.CenterLoss(4, 3, alpha=2.0)
    with pytest.raises(TypeError, match="learnable: expected a bool"):
        lt.CenterLoss(4, 3, learnable=1)
    with pytest.raises(TypeError, match="unexpected option"):
        lt.CenterLoss(4, 3, margin=1.0)
    # a non-finite batch leaves the state valid
    mod.train()
    bad = x.clone()
    bad[1, 0] = float("inf")
    mod(bad, y)
    assert torch.isfinite(mod.centers).all()


def test_center_loss_module_learnable_centres_train():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    x, y = torch.randn(6, 3), torch.tensor([0, 1, 1, 0, 2, 0])
    mod = lt.CenterLoss(3, 3, learnable=True, init=torch.nn.init.zeros_)
    assert isinstance(mod.centers, torch.nn.Parameter)
    out = mod(x, y)
    out.backward()
    expected = torch.stack([-(x[y == j]).sum(0) / 6 for j in range(3)])  # centres at 0
    torch.testing.assert_close(mod.centers.grad, expected)
    assert torch.equal(mod.centers.detach(), torch.zeros(3, 3))  # no rule update: the optimizer trains it


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
def test_center_loss_module_updates_its_buffer_under_torch_compile():
    torch = pytest.importorskip("torch")
    import copy

    import losskit.torch as lt

    x, y = torch.randn(8, 5), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    torch.manual_seed(0)
    eager = lt.CenterLoss(4, 5, alpha=0.4)
    compiled_mod = copy.deepcopy(eager)
    compiled = torch.compile(compiled_mod, fullgraph=True, backend="aot_eager")
    start = eager.centers.clone()
    for _ in range(2):  # the second call reads the state the first one wrote
        torch.testing.assert_close(compiled(x, y), eager(x, y), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(compiled_mod.centers, eager.centers, rtol=1e-6, atol=1e-6)
    assert not torch.equal(eager.centers, start)  # the rule moved them


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


# ----------------------------------------------------------------------------------------
# triplet_margin_loss (explicit triplets): the gradient at a == p, half precision, NaN
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5])
def test_triplet_margin_gradient_at_anchor_on_positive(autodiff_xp, p):
    # With eps the difference a - p + eps is (eps, ..., eps): d(a, p) = eps D^(1/p), whose
    # gradient is that of the p-norm at a constant vector, d/da_k = D^(1/p - 1) (the value
    # is in the case table); with eps = 0 the difference is the zero vector, torch's
    # gradient there is 0 and so is ours (never 0 * inf = NaN).
    b = autodiff_xp
    rng = np.random.default_rng(31)
    a = rng.normal(size=(3, 4))
    n = a + 2.0 + rng.uniform(size=(3, 4))  # every component of a - n at most -2: no kink
    for eps, from_positive in ((1e-6, 4 ** (1 / p - 1)), (0.0, 0.0)):
        fn = lambda x, pos, neg: losskit.triplet_margin_loss(x, pos, neg, margin=50.0, p=p, eps=eps, reduction="sum")  # noqa: E731
        # the negative's part: -d/da ||a - n + eps||_p, with a - n + eps < 0 componentwise
        v = np.abs(a - n + eps)
        from_negative = (v / np.sum(v**p, axis=1, keepdims=True) ** (1 / p)) ** (p - 1)
        for fast in (True, False):  # torch: its own kernel (the fast path) and the reference
            with losskit.fast_paths(fast):
                _, g = b.grad(fn, b.asarray(a), b.asarray(a), b.asarray(n))
            np.testing.assert_allclose(g, from_positive + from_negative, rtol=1e-6, atol=1e-9, err_msg=f"fast={fast}")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_triplet_margin_half_precision_at_anchor_on_positive_is_finite_float32(dtype):
    # eps^2 = 1e-12 underflows float16; computed in float32, d(a, a) = |(eps,) * 4| = 2 eps
    # is kept: a - n = -1 gives d(a, n) = 2 (1 - eps), so the loss is 3 + 2 eps - 2 + 2 eps
    for name in ("torch-float32", "jax"):
        if not backend_available(name):
            continue
        b = Backend(name)
        a = b.asarray(np.ones((2, 4)), dtype=dtype)
        n = b.asarray(np.full((2, 4), 2.0), dtype=dtype)
        for fast in (True, False):
            with losskit.fast_paths(fast):
                value, g = b.grad(lambda x, pos, neg: losskit.triplet_margin_loss(x, pos, neg, margin=3.0), a, a, n)
            assert np.all(np.isfinite(g)) and np.isfinite(value)
            np.testing.assert_allclose(value, 1.0 + 4e-6, rtol=0, atol=1e-6)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_nan_input_gives_nan(xp, p, swap):
    rng = np.random.default_rng(32)
    a, pos, n = (rng.normal(size=(4, 3)) for _ in range(3))
    a[1, 2] = np.nan
    out = xp.np(xp.call(losskit.triplet_margin_loss, *map(xp.asarray, (a, pos, n)), p=p, swap=swap, reduction="none"))
    assert np.isnan(out[1]) and np.all(np.isfinite(np.delete(out, 1)))


def test_triplet_margin_numpy_scalar_options_and_mixed_dtypes(xp):
    rng = np.random.default_rng(33)
    a, pos, n = (rng.normal(size=(4, 3)) for _ in range(3))
    args = [xp.asarray(x) for x in (a, pos, n)]
    ref = xp.np(xp.call(losskit.triplet_margin_loss, *args, margin=1.5, p=3.0, eps=1e-3))
    out = xp.np(xp.call(losskit.triplet_margin_loss, *args, margin=np.float64(1.5), p=np.float32(3.0), eps=np.float64(1e-3)))
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    if xp.is_torch:  # torch promotes float32 with float64, as F.triplet_margin_loss does
        import torch

        mixed = losskit.triplet_margin_loss(args[0].float(), args[1].double(), args[2].float())
        assert mixed.dtype == torch.float64
