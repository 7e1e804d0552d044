"""JAX: losskit vs optax under ``jax.jit``, value and gradient, same inputs, same process.

For every loss optax also has, the timed step is ``jax.jit(jax.value_and_grad(f))(x, ...)``
(gradient with respect to the first argument, the scores or embeddings) with ``f`` the
mean loss, blocked until the result is ready; compilation happens in the warm-up rounds.
losskit runs its array-API reference code here (JAX never takes a fast path), so these
rows measure the reference itself. Target: at most 1.0x optax on every row (issue 19).

Pairs (optax's reduction is applied by hand where it returns per-element losses):

* ``cross_entropy`` (class indices) vs ``softmax_cross_entropy_with_integer_labels``;
  ``cross_entropy`` (class probabilities, ``axis=-1``) vs ``softmax_cross_entropy``;
* ``poly1_cross_entropy(epsilon=2)`` vs ``poly_loss_cross_entropy`` (one-hot labels, both);
* ``binary_cross_entropy_with_logits`` vs ``sigmoid_binary_cross_entropy``,
  ``sigmoid_focal_loss`` vs ``sigmoid_focal_loss``, ``hinge_loss`` vs ``hinge_loss``,
  ``multiclass_hinge_loss`` vs ``multiclass_hinge_loss``;
* ``huber_loss`` vs ``huber_loss``, ``log_cosh_loss`` vs ``log_cosh``;
* ``dice_loss(activation="softmax", axis=-1)`` on one-hot targets vs ``dice_loss``
  (optax's ``smooth`` s is losskit's ``smooth_nr = smooth_dr = 2 s``: optax writes the
  denominator as ``I + (P - I)/2 + (T - I)/2 + s``);
* ``nt_xent_loss`` vs ``ntxent`` (labels: pairs of views).

* ``triplet_margin_loss`` vs ``triplet_margin_loss`` (explicit anchor/positive/negative
  triplets, both with their default ``eps=1e-6``: losskit adds it to the difference as torch
  does, optax to the sum of squares, which moves the distances by about 1e-7 relative
  here; the check below holds at its tolerances). The three inputs are one (3, B, D) array,
  so the gradient is that of all three, as when one network embeds every triplet.

Sizes: the training-step sizes of issue 19 (classification 64 x 10, 512 x 1000 and
4096 x 1000; elementwise losses 1,024 and 10^6 values; Dice (2, 64, 64, 4) and
(8, 128, 128, 4) channels-last; NT-Xent 256 and 1024 embeddings of 128; triplets
256 x 128 and 4096 x 512). XLA's CPU backend
picks its own threads (``--threads`` sets torch's only); both sides share them alike.

What the lowered programs showed (``jax.jit(f).lower(...).as_text()``, November 2026):
``cross_entropy`` used to gather ``log_softmax(x)[y]``, which made XLA materialise the
(N, C) log-probabilities for the gather and scatter into a zero (N, C) array in the
backward pass before the softmax Jacobian: 2.4-3.6x optax at 4096 x 1000. Picking
``x[y] - logsumexp(x)`` from the logits (optax's form) reads the logits in two fused
reductions and brings it to 1.0x. ``triplet_margin_loss`` computed ``||a - p + eps||`` with
the shift fused into the (B, D) difference, which XLA then recomputed from the three inputs
in the backward pass instead of reading the difference back (and split over threads at
256 x 128): 1.1-1.8x optax. Expanding ``sum((v + eps)^2) = sum(v^2) + eps (2 sum(v) + D eps)``
keeps the plain difference, as optax's program has it.

    python benchmarks/run.py --only jax [--quick]
    python benchmarks/bench_jax.py [--quick]
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, interleaved  # noqa: E402

TARGET = 1.0
FULL = dict(cls=[(64, 10), (512, 1000), (4096, 1000)], elem=[1024, 10**6],
            dice=[(2, 64, 64, 4), (8, 128, 128, 4)], emb=[256, 1024], triplet=[(256, 128), (4096, 512)],
            repeat=15)
QUICK = dict(cls=[(16, 5)], elem=[256], dice=[(1, 8, 8, 3)], emb=[16], triplet=[(16, 8)], repeat=3)
QUICK_LOSSES = ("cross_entropy", "huber_loss", "dice_loss", "nt_xent_loss", "triplet_margin_loss")


def _pairs(cfg):
    """(loss name, case, make inputs(key) -> args, ours(*args), theirs(*args))."""
    import jax
    import jax.numpy as jnp
    import optax

    import losskit

    L = optax.losses
    out = []
    for n, c in cfg["cls"]:
        case = f"{n} x {c} f32"

        def labels(k, n=n, c=c):
            k1, k2 = jax.random.split(k)
            return jax.random.normal(k1, (n, c)), jax.random.randint(k2, (n,), 0, c)

        def probs(k, n=n, c=c):
            k1, k2 = jax.random.split(k)
            return jax.random.normal(k1, (n, c)), jax.nn.softmax(jax.random.normal(k2, (n, c)))

        def onehot(k, n=n, c=c):
            x, y = labels(k, n, c)
            return x, jax.nn.one_hot(y, c)

        out += [
            ("cross_entropy", case, labels, lambda x, y: losskit.cross_entropy(x, y),
             lambda x, y: L.softmax_cross_entropy_with_integer_labels(x, y).mean(),
             "softmax_cross_entropy_with_integer_labels"),
            ("cross_entropy (probabilities)", case, probs, lambda x, q: losskit.cross_entropy(x, q, axis=-1),
             lambda x, q: L.softmax_cross_entropy(x, q).mean(), "softmax_cross_entropy"),
            ("poly1_cross_entropy", case, onehot,
             lambda x, q: losskit.poly1_cross_entropy(x, q, epsilon=2.0, axis=-1),
             lambda x, q: L.poly_loss_cross_entropy(x, q, epsilon=2.0).mean(), "poly_loss_cross_entropy"),
            ("multiclass_hinge_loss", case, labels, lambda x, y: losskit.multiclass_hinge_loss(x, y, axis=-1),
             lambda x, y: L.multiclass_hinge_loss(x, y).mean(), "multiclass_hinge_loss"),
        ]
    for n in cfg["elem"]:
        case = f"{n:,} f32"

        def real(k, n=n):
            k1, k2 = jax.random.split(k)
            return jax.random.normal(k1, (n,)) * 2, jax.random.normal(k2, (n,))

        def binary(k, n=n):
            k1, k2 = jax.random.split(k)
            return jax.random.normal(k1, (n,)) * 2, (jax.random.uniform(k2, (n,)) > 0.5).astype(jnp.float32)

        def signs(k, n=n):
            x, t = binary(k, n)
            return x, 2.0 * t - 1.0

        out += [
            ("huber_loss", case, real, lambda x, t: losskit.huber_loss(x, t),
             lambda x, t: L.huber_loss(x, t).mean(), "huber_loss"),
            ("log_cosh_loss", case, real, lambda x, t: losskit.log_cosh_loss(x, t),
             lambda x, t: L.log_cosh(x, t).mean(), "log_cosh"),
            ("binary_cross_entropy_with_logits", case, binary,
             lambda x, t: losskit.binary_cross_entropy_with_logits(x, t),
             lambda x, t: L.sigmoid_binary_cross_entropy(x, t).mean(), "sigmoid_binary_cross_entropy"),
            ("sigmoid_focal_loss", case, binary, lambda x, t: losskit.sigmoid_focal_loss(x, t, alpha=0.25),
             lambda x, t: L.sigmoid_focal_loss(x, t, alpha=0.25).mean(), "sigmoid_focal_loss"),
            ("hinge_loss", case, signs, lambda x, t: losskit.hinge_loss(x, t),
             lambda x, t: L.hinge_loss(x, t).mean(), "hinge_loss"),
        ]
    for shape in cfg["dice"]:
        def seg(k, shape=shape):
            k1, k2 = jax.random.split(k)
            return jax.random.normal(k1, shape), jax.nn.one_hot(jax.random.randint(k2, shape[:-1], 0, shape[-1]), shape[-1])

        out.append(("dice_loss", f"{shape} f32, channels last", seg,
                    lambda x, t: losskit.dice_loss(x, t, activation="softmax", axis=-1, smooth_nr=2.0, smooth_dr=2.0),
                    lambda x, t: L.dice_loss(x, t, smooth=1.0).mean(), "dice_loss"))
    for n in cfg["emb"]:
        def emb(k, n=n):
            # n // 2 classes with two views each, as in SimCLR
            return jax.random.normal(k, (n, 128)), jnp.repeat(jnp.arange(n // 2), 2)

        out.append(("nt_xent_loss", f"{n} x 128 f32, pairs", emb,
                    lambda e, y: losskit.nt_xent_loss(e, y, temperature=0.07),
                    lambda e, y: L.ntxent(e, y, temperature=0.07), "ntxent"))
    for b, d in cfg["triplet"]:
        def triplets(k, b=b, d=d):
            return (jax.random.normal(k, (3, b, d)),)

        out.append(("triplet_margin_loss", f"{b} x {d} f32, all three inputs", triplets,
                    lambda t: losskit.triplet_margin_loss(t[0], t[1], t[2]),
                    lambda t: L.triplet_margin_loss(t[0], t[1], t[2]).mean(), "triplet_margin_loss"))
    return out


def run(quick: bool = False) -> list[Row]:
    try:
        import jax
        import numpy as np
        import optax
    except ImportError:  # pragma: no cover - jax and optax are in the dev extra
        return []
    cfg = QUICK if quick else FULL
    rows = []
    key = jax.random.PRNGKey(0)
    pairs = _pairs(cfg)
    if quick:  # a smoke run: compiling every pair would take most of its time
        pairs = [p for p in pairs if p[0] in QUICK_LOSSES]
    for name, case, make, ours, theirs, peer in pairs:
        key, sub = jax.random.split(key)
        args = make(sub)
        f_ours = jax.jit(jax.value_and_grad(ours))
        f_theirs = jax.jit(jax.value_and_grad(theirs))
        # same numbers first (value and gradient): timing two computations would be meaningless
        (v1, g1), (v2, g2) = f_ours(*args), f_theirs(*args)
        np.testing.assert_allclose(float(v1), float(v2), rtol=2e-5, atol=1e-6, err_msg=f"{name} {case}")
        np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), rtol=2e-4, atol=1e-7, err_msg=f"{name} {case}")
        times = interleaved(
            {"ours": lambda: jax.block_until_ready(f_ours(*args)),
             "theirs": lambda: jax.block_until_ready(f_theirs(*args))},
            repeat=cfg["repeat"], warmup=2,
        )
        rows.append(Row("jax", name, f"jit value+grad, {case}", f"optax {optax.__version__} {peer}",
                        times["ours"], times["theirs"], target=None if quick else TARGET))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
