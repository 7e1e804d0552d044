"""Image losses: ``ssim_loss`` and ``ms_ssim_loss`` forward + backward (torch float32, CPU)
against pytorch-msssim 1.0.0's ``ssim`` / ``ms_ssim`` (as ``1 - value``) on (16, 3, 256, 256)
images, the issue's size; target (issue 15): at most 0.7x. Each run first checks that both
compute the same value.

Also timed, for information: ``ssim_loss`` on its array-API reference (fast paths off:
banded matrix products instead of the depthwise convolutions of ``image.torch_conv``), and
the same reference under ``jax.jit`` (value and gradient) against a ``jax.lax.conv``
version of the same filter (the benchmark's own few lines), which is what a JAX fast path
would be.

    python benchmarks/run.py --only image [--quick]
    python benchmarks/bench_image.py [--quick]
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, format_table, fwd_bwd, interleaved  # noqa: E402

FULL = dict(shape=(16, 3, 256, 256), repeat=5)
# pytorch-msssim's ms_ssim needs a side > 160 for its five scales.
QUICK = dict(shape=(2, 1, 176, 176), repeat=2)
TARGET = 0.7


def _jax_rows(shape, repeat) -> list[Row]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return []
    import numpy as np

    import losskit
    from losskit.image import _filter

    window = _filter.window_weights(11, 1.5, True)
    w = jnp.asarray(window, dtype=jnp.float32)

    def conv_filter(maps, spatial):
        lead, sizes = maps.shape[:-spatial], maps.shape[-spatial:]
        x = maps.reshape((1, -1) + sizes)
        b = x.shape[1]
        for i in range(spatial):
            k = [1] * spatial
            k[i] = len(window)
            kern = jnp.broadcast_to(w.reshape([1, 1] + k), (b, 1, *k))
            x = jax.lax.conv_general_dilated(x, kern, (1,) * spatial, "VALID", feature_group_count=b)
        return x.reshape(lead + x.shape[2:])

    def conv_ssim(x, y, c1=1e-4, c2=9e-4):
        maps = jnp.stack([x, y, x * x + y * y, x * y])
        mx, my, esq, exy = conv_filter(maps, 2)
        cs = (2 * (exy - mx * my) + c2) / (esq - mx * mx - my * my + c2)
        s = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
        return 1 - s.mean()

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random(shape), dtype=jnp.float32)
    y = jnp.asarray(rng.random(shape), dtype=jnp.float32)
    ours = jax.jit(jax.value_and_grad(lambda a, b: losskit.ssim_loss(a, b, data_range=1.0)))
    theirs = jax.jit(jax.value_and_grad(conv_ssim))
    np.testing.assert_allclose(float(ours(x, y)[0]), float(theirs(x, y)[0]), rtol=1e-4)
    fns = {"ours": lambda: jax.block_until_ready(ours(x, y)), "theirs": lambda: jax.block_until_ready(theirs(x, y))}
    times = interleaved(fns, repeat=repeat)
    return [Row(family="image", loss="ssim_loss", case=f"jax.jit value+grad {shape}, float32, CPU",
                peer="jax.lax.conv of the same filter", ours=times["ours"], theirs=times["theirs"],
                note="band matrices vs native conv (a JAX fast path's gain)")]


def run(quick: bool = False) -> list[Row]:
    import torch

    import losskit

    cfg = QUICK if quick else FULL
    rows: list[Row] = []
    try:
        import pytorch_msssim as pm
        import importlib.metadata

        peer = f"pytorch-msssim {importlib.metadata.version('pytorch-msssim')}"
    except ImportError:
        pm = None
    shape = cfg["shape"]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g, requires_grad=True)
    y = (x.detach() + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)
    threads = torch.get_num_threads()
    case = f"fwd+bwd {shape}, float32, CPU, {threads} thread(s)"
    if pm is not None:
        pairs = {
            "ssim_loss": (lambda a, b: losskit.ssim_loss(a, b, data_range=1.0),
                          lambda a, b: 1 - pm.ssim(a, b, data_range=1.0)),
            "ms_ssim_loss": (lambda a, b: losskit.ms_ssim_loss(a, b, data_range=1.0),
                             lambda a, b: 1 - pm.ms_ssim(a, b, data_range=1.0)),
        }
        for name, (ours, theirs) in pairs.items():
            with torch.no_grad():
                torch.testing.assert_close(ours(x, y), theirs(x, y), rtol=1e-4, atol=1e-5)
            times = interleaved({"ours": fwd_bwd(ours, x, y), "theirs": fwd_bwd(theirs, x, y)}, repeat=cfg["repeat"])
            rows.append(Row(family="image", loss=name, case=case, peer=peer, ours=times["ours"],
                            theirs=times["theirs"], target=TARGET))

        def reference(a, b):
            with losskit.fast_paths(False):
                return losskit.ssim_loss(a, b, data_range=1.0)

        times = interleaved({"ours": fwd_bwd(reference, x, y),
                             "theirs": fwd_bwd(lambda a, b: 1 - pm.ssim(a, b, data_range=1.0), x, y)},
                            repeat=cfg["repeat"])
        rows.append(Row(family="image", loss="ssim_loss", case=case + ", fast paths off", peer=peer,
                        ours=times["ours"], theirs=times["theirs"], note="array-API reference (band matrices)"))
    x = torch.rand(shape, generator=g, requires_grad=True)
    times = interleaved({"ours": fwd_bwd(lambda a: losskit.total_variation_loss(a, mode="isotropic"), x),
                         "theirs": fwd_bwd(lambda a: (a[..., 1:, :] - a[..., :-1, :]).abs().mean()
                                           + (a[..., 1:] - a[..., :-1]).abs().mean(), x)},
                        repeat=cfg["repeat"])
    rows.append(Row(family="image", loss="total_variation_loss", case=case + ", isotropic", peer="two-line torch anisotropic TV",
                    ours=times["ours"], theirs=times["theirs"], note="time only: different quantities"))
    rows.extend(_jax_rows((4, 3, 128, 128) if not quick else (1, 1, 64, 64), cfg["repeat"]))
    return rows


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv)))
