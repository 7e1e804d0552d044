"""The distance transforms of ``hausdorff_dt_loss`` (issue 15): what the case table cannot
express, since its rows pass precomputed maps so that they also run under ``jax.jit``.

Hand-derived fields, the transforms computed where the data is (NumPy, torch, JAX eager),
the threshold (argmax for softmax, > 0.5 otherwise), anisotropic ``spacing`` against scipy,
the clear error under ``jax.jit`` / ``torch.compile`` without maps, the empty batch, and an
all-foreground / empty target (no boundary: maps 0, a finite loss).
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.segmentation import distance_field

pytest.importorskip("scipy")

GH = np.array([[[[1.0, 1.0, 0.0, 0.0]]]])
PH = np.array([[[[1.0, 0.6, 0.4, 0.0]]]])


def test_distance_field_hand_values():
    # the boundary between pixels 1 and 2: inside distances 2, 1 to the nearest background
    # pixel, outside 1, 2 to the nearest foreground pixel
    np.testing.assert_array_equal(distance_field(GH > 0.5), [[[[2.0, 1.0, 1.0, 2.0]]]])
    # a 3 x 3 image with one foreground pixel in the centre: 1 there (its neighbours are
    # background), 1 at the edge neighbours, sqrt(2) at the corners
    m = np.zeros((1, 1, 3, 3), dtype=bool)
    m[0, 0, 1, 1] = True
    r2 = np.sqrt(2.0)
    np.testing.assert_allclose(distance_field(m)[0, 0], [[r2, 1, r2], [1, 1, 1], [r2, 1, r2]])
    # no boundary: empty and full masks give 0
    assert not distance_field(np.zeros((1, 2, 3, 3), dtype=bool)).any()
    assert not distance_field(np.ones((1, 2, 3, 3), dtype=bool)).any()


@pytest.mark.parametrize("lib", ["numpy", "torch", "jax"])
def test_transforms_computed_where_the_data_is(lib):
    mod = pytest.importorskip(lib)
    conv = (lambda a: a) if lib == "numpy" else ((lambda a: mod.tensor(a)) if lib == "torch" else mod.numpy.asarray)
    out = losskit.hausdorff_dt_loss(conv(PH), conv(GH))
    # see the case table's "hand" row: (0.32 + 0.32) / 4
    np.testing.assert_allclose(float(out), 0.16, rtol=1e-6)
    out = losskit.hausdorff_dt_loss(conv(PH), conv(GH), log=True)
    np.testing.assert_allclose(float(out), np.log1p(0.16), rtol=1e-6)


def test_softmax_threshold_is_the_argmax_and_sigmoid_is_half():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7))
    lab = rng.integers(0, 3, size=(2, 6, 7))
    oh = np.moveaxis(np.eye(3)[lab], -1, 1)
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    hard = np.moveaxis(np.eye(3)[p.argmax(1)], -1, 1) > 0.5
    maps = np.stack([distance_field(hard), distance_field(oh > 0.5)])
    np.testing.assert_allclose(losskit.hausdorff_dt_loss(x, lab, activation="softmax"),
                               losskit.hausdorff_dt_loss(x, lab, activation="softmax", distance_maps=maps), rtol=1e-12)
    s = 1 / (1 + np.exp(-x))
    maps = np.stack([distance_field(s > 0.5), distance_field(oh > 0.5)])
    np.testing.assert_allclose(losskit.hausdorff_dt_loss(x, oh, activation="sigmoid"),
                               losskit.hausdorff_dt_loss(x, oh, activation="sigmoid", distance_maps=maps), rtol=1e-12)


def test_anisotropic_spacing_matches_scipy_sampling():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(4)
    g = (rng.random((1, 1, 5, 6, 7)) > 0.6)
    p = rng.random((1, 1, 5, 6, 7))
    sp = (2.5, 1.0, 0.5)
    d = lambda m: ndimage.distance_transform_edt(m, sampling=sp) + ndimage.distance_transform_edt(~m, sampling=sp)
    dg, dp = d(g[0, 0]), d(p[0, 0] > 0.5)
    expected = np.mean((p[0, 0] - g[0, 0]) ** 2 * (dp**2 + dg**2))
    np.testing.assert_allclose(losskit.hausdorff_dt_loss(p, g.astype(float), spacing=sp), expected, rtol=1e-12)
    np.testing.assert_allclose(distance_field(g, spacing=sp)[0, 0], dg, rtol=1e-12)


def test_traced_without_maps_is_a_clear_error_and_maps_make_it_compilable():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    with pytest.raises(ValueError, match="distance_maps: expected precomputed distance maps under jax.jit"):
        jax.jit(lambda a, b: losskit.hausdorff_dt_loss(a, b))(jnp.asarray(PH), jnp.asarray(GH))
    maps = jnp.asarray(np.stack([distance_field(PH > 0.5), distance_field(GH > 0.5)]))
    out = jax.jit(lambda a, b, m: losskit.hausdorff_dt_loss(a, b, distance_maps=m))(jnp.asarray(PH), jnp.asarray(GH), maps)
    np.testing.assert_allclose(float(out), 0.16, rtol=1e-6)


def test_torch_compile_without_maps_is_a_clear_error_and_with_maps_fullgraph():
    torch = pytest.importorskip("torch")
    maps = torch.tensor(np.stack([distance_field(PH > 0.5), distance_field(GH > 0.5)]))
    fn = torch.compile(lambda a, b, m: losskit.hausdorff_dt_loss(a, b, distance_maps=m), fullgraph=True)
    np.testing.assert_allclose(float(fn(torch.tensor(PH), torch.tensor(GH), maps)), 0.16, rtol=1e-6)
    bad = torch.compile(lambda a, b: losskit.hausdorff_dt_loss(a, b), fullgraph=True)
    with pytest.raises(Exception, match="distance_maps: expected precomputed distance maps"):
        bad(torch.tensor(PH), torch.tensor(GH))


def test_empty_batch_and_no_boundary_targets():
    torch = pytest.importorskip("torch")
    x = torch.zeros((0, 3, 4, 5), dtype=torch.float64, requires_grad=True)
    out = losskit.hausdorff_dt_loss(x, torch.zeros((0, 4, 5), dtype=torch.int64), activation="softmax")
    assert float(out) == 0.0
    out.backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert float(losskit.hausdorff_dt_loss(np.zeros((0, 1, 4)), np.zeros((0, 1, 4)), batch=True)) == 0.0
    # all-foreground / empty target and prediction: no boundary, maps 0, loss 0 (finite)
    for v in (0.0, 1.0):
        t = np.full((2, 1, 4, 4), v)
        assert float(losskit.hausdorff_dt_loss(np.full((2, 1, 4, 4), 0.3 if v == 0 else 0.7), t)) == pytest.approx(0.0)


# ----------------------------------------------------------------- boundary loss


def test_signed_distance_map_hand_values_and_scipy_with_spacing():
    from losskit.segmentation import signed_distance_map

    ndimage = pytest.importorskip("scipy.ndimage")
    np.testing.assert_array_equal(signed_distance_map(GH), [[[[-1.0, 0.0, 1.0, 2.0]]]])
    # labels with num_classes: one map per class
    np.testing.assert_array_equal(signed_distance_map(np.array([[0, 1, 1, 2]]), num_classes=3),
                                  [[[0, 1, 2, 3], [1, 0, 0, 1], [3, 2, 1, 0]]])
    rng = np.random.default_rng(8)
    m = rng.random((2, 1, 6, 7, 5)) > 0.5
    sp = (1.5, 1.0, 0.25)
    for n in range(2):
        fg = m[n, 0]
        expected = np.where(fg, 1 - ndimage.distance_transform_edt(fg, sampling=sp),
                            ndimage.distance_transform_edt(~fg, sampling=sp))
        np.testing.assert_allclose(signed_distance_map(m, spacing=sp)[n, 0], expected, rtol=1e-12)
    # no boundary (LIVIAETS/boundary-loss #18): empty and full masks give finite zeros
    assert not signed_distance_map(np.zeros((1, 1, 4, 4))).any()
    assert not signed_distance_map(np.ones((1, 1, 4, 4))).any()
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 1\]"):
        signed_distance_map(np.array([[0, 2]]), num_classes=2)


@pytest.mark.parametrize("lib", ["numpy", "torch", "jax"])
def test_boundary_loss_maps_computed_where_the_data_is(lib):
    mod = pytest.importorskip(lib)
    conv = (lambda a: a) if lib == "numpy" else ((lambda a: mod.tensor(a)) if lib == "torch" else mod.numpy.asarray)
    np.testing.assert_allclose(float(losskit.boundary_loss(conv(PH), conv(GH))), -0.15, rtol=1e-6)


def test_boundary_loss_traced_needs_maps_and_empty_target_is_finite():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    with pytest.raises(ValueError, match="distance_maps: expected precomputed signed distance maps"):
        jax.jit(lambda a, b: losskit.boundary_loss(a, b))(jnp.asarray(PH), jnp.asarray(GH))
    from losskit.segmentation import signed_distance_map

    maps = jnp.asarray(signed_distance_map(GH))
    out = jax.jit(lambda a, b, m: losskit.boundary_loss(a, b, distance_maps=m))(jnp.asarray(PH), jnp.asarray(GH), maps)
    np.testing.assert_allclose(float(out), -0.15, rtol=1e-6)
    for v in (0.0, 1.0):
        assert float(losskit.boundary_loss(np.full((1, 1, 4, 4), 0.5), np.full((1, 1, 4, 4), v))) == 0.0
    torch = pytest.importorskip("torch")
    x = torch.zeros((0, 2, 3, 3), dtype=torch.float64, requires_grad=True)
    out = losskit.boundary_loss(x, torch.zeros((0, 3, 3), dtype=torch.int64), activation="softmax")
    assert float(out.detach()) == 0.0
    out.backward()
    assert x.grad is not None
