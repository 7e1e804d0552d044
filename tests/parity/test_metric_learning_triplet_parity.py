"""Parity of ``triplet_margin_loss`` (explicit triplets) with its two peers.

Peers (versions read into the test ids; written against torch 2.13.0 and optax 0.2.8):

- ``torch.nn.functional.triplet_margin_loss``: the meaning losskit keeps exactly
  (``||x - y + eps||_p``, ``swap``, the reductions), values and gradients with respect to
  all three inputs, p = 1, 2, 3, with and without ``swap``, every reduction, (B, D), (D,)
  and broadcast (1, D) inputs, on every backend against torch in float64 (on torch both
  the fast path, torch's own kernel, and the array-API reference);
- ``optax.losses.triplet_margin_loss``: adds ``eps`` to the sum of powers instead of the
  difference and takes no absolute value, so the two agree exactly with ``eps=0`` on both
  sides and an even degree (the convention losskit's docstring documents); per-triplet
  values (optax's only output) and gradients of the mean, under ``jax.jit``, float64.

This file needs no pytorch-metric-learning (``test_metric_learning_parity.py`` does).
"""

import numpy as np
import pytest

import losskit
from helpers import Backend, backend_available, optax_peer

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH = f"torch-{torch.__version__.split('+')[0]}"
RNG = np.random.default_rng(40)
B, D = 7, 5
A, P, N = (RNG.normal(size=(B, D)) for _ in range(3))
P[2] = A[2]  # an anchor on its positive: d = eps D^(1/p), a finite gradient
N[4] = A[4] + 10.0  # a satisfied triplet: loss 0, zero gradient
N[5] = P[5] + 0.1  # the swap picks d(p, n) here
SHAPES = {
    "batch": (A, P, N),
    "one-triplet-1d": (A[0], P[0], N[0]),
    "broadcast-positive": (A, P[:1], N),
}


def _torch_loss(arrays, **opts):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = F.triplet_margin_loss(*ts, **opts)
    grads = torch.autograd.grad(out.sum(), ts)
    return out.detach().numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("peer", [TORCH])
def test_triplet_margin_vs_torch(peer, p, swap, reduction, shape):
    arrays = SHAPES[shape]
    opts = dict(margin=1.5, p=p, swap=swap, reduction=reduction)
    expected, expected_grads = _torch_loss(arrays, **opts)
    # on torch both the fast path (torch's own kernel) and the array-API reference
    for name, fast in (("numpy", True), ("array_api_strict", True), ("torch-float64", True),
                       ("torch-float64", False), ("jax", True)):
        if not backend_available(name):
            continue
        xp = Backend(name, float_dtype="float64")
        args = [xp.asarray(a) for a in arrays]
        label = f"{name}{'' if fast else ' reference'} vs {peer}"
        with losskit.fast_paths(fast):
            out = xp.np(xp.call(losskit.triplet_margin_loss, *args, **opts))
            np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14, err_msg=label)
            if name in ("torch-float64", "jax"):
                for i in range(3):
                    def f(x, i=i):
                        full = list(args)
                        full[i] = x
                        return losskit.triplet_margin_loss(*full, **opts)

                    _, g = xp.grad(f, args[i])
                    np.testing.assert_allclose(g, expected_grads[i], rtol=1e-10, atol=1e-13, err_msg=f"{label}, input {i}")


def test_triplet_margin_module_vs_torch_module():
    import losskit.torch as lt

    ours = lt.TripletMarginLoss(margin=0.5, p=3.0, swap=True)
    theirs = torch.nn.TripletMarginLoss(margin=0.5, p=3.0, swap=True)
    ts = [torch.tensor(a) for a in (A, P, N)]
    torch.testing.assert_close(ours(*ts), theirs(*ts), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- optax


def _optax_mean(optax, x, p, n, degree):
    return optax.losses.triplet_margin_loss(x, p, n, norm_degree=degree, margin=1.5, eps=0.0).mean()


@pytest.mark.parametrize("degree", [2, 4])
def test_triplet_margin_vs_optax_with_eps_zero(degree):
    optax, jnp, version = optax_peer()
    import jax

    args = [jnp.asarray(a) for a in (A, P, N)]
    args[1] = args[1].at[2].add(0.5)  # optax's gradient at eps = 0 and a = p is NaN
    expected = np.asarray(jax.jit(lambda *z: optax.losses.triplet_margin_loss(
        *z, norm_degree=degree, margin=1.5, eps=0.0))(*args))
    out = jax.jit(lambda *z: losskit.triplet_margin_loss(*z, p=float(degree), margin=1.5, eps=0.0, reduction="none"))(*args)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12, atol=1e-14, err_msg=version)
    g_theirs = jax.jit(jax.grad(lambda *z: _optax_mean(optax, *z, degree), argnums=(0, 1, 2)))(*args)
    g_ours = jax.jit(jax.grad(lambda *z: losskit.triplet_margin_loss(*z, p=float(degree), margin=1.5, eps=0.0),
                              argnums=(0, 1, 2)))(*args)
    for go, gt in zip(g_ours, g_theirs):
        np.testing.assert_allclose(np.asarray(go), np.asarray(gt), rtol=1e-10, atol=1e-13, err_msg=version)


def test_triplet_margin_optax_eps_convention_is_the_documented_one():
    # optax: (sum v^2 + eps)^(1/2); losskit (torch): (sum (v + eps)^2)^(1/2). At eps = 0
    # and a = p optax's gradient is NaN, losskit's is 0 (torch's).
    optax, jnp, version = optax_peer()
    import jax

    a, p, n = (jnp.asarray(x) for x in (A, P, N))
    v = A - P
    eps = 1e-2  # large enough for the two conventions to differ visibly
    d_optax = np.sqrt(np.sum(v**2, axis=1) + eps)
    d_ours = np.sqrt(np.sum((v + eps) ** 2, axis=1))
    d_an_o = np.sqrt(np.sum((A - N) ** 2, axis=1) + eps)
    d_an = np.sqrt(np.sum((A - N + eps) ** 2, axis=1))
    np.testing.assert_allclose(np.asarray(optax.losses.triplet_margin_loss(a, p, n, margin=1.5, eps=eps)),
                               np.maximum(1.5 + d_optax - d_an_o, 0), rtol=1e-12, err_msg=version)
    np.testing.assert_allclose(np.asarray(losskit.triplet_margin_loss(a, p, n, margin=1.5, eps=eps, reduction="none")),
                               np.maximum(1.5 + d_ours - d_an, 0), rtol=1e-12)
    g_theirs = jax.grad(lambda x: optax.losses.triplet_margin_loss(x, a, n, margin=50.0, eps=0.0).sum())(a)
    g_ours = jax.grad(lambda x: losskit.triplet_margin_loss(x, a, n, margin=50.0, eps=0.0, reduction="sum"))(a)
    assert np.isnan(np.asarray(g_theirs)).any(), version
    np.testing.assert_allclose(np.asarray(g_ours), -(A - N) / np.linalg.norm(A - N, axis=1, keepdims=True), rtol=1e-12)
