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


# ----------------------------------------------------------------- the compiled transform (segmentation.edt)


def _scipy_field(m, spacing=None, signed=False):
    """scipy's transforms, two per map, as distance_field / signed_distance_map define them."""
    from scipy.ndimage import distance_transform_edt as edt

    out = np.zeros(m.shape)
    for idx in np.ndindex(*m.shape[:2]):
        fg = m[idx]
        if fg.any() and not fg.all():
            out[idx] = (np.where(fg, 1 - edt(fg, sampling=spacing), edt(~fg, sampling=spacing)) if signed
                        else edt(fg, sampling=spacing) + edt(~fg, sampling=spacing))
    return out


def _edt_masks():
    """Masks of every kind the transform must get right: random of any density (1D to 4D),
    empty and full maps beside others, a single pixel, thin lines, a disk, a ball, lines of
    length 1, and maps where a whole line has no site (an inf through the passes)."""
    rng = np.random.default_rng(21)
    out = []
    for nd in (1, 2, 3, 4):
        for _ in range(12 if nd < 4 else 4):
            shape = tuple(int(s) for s in rng.integers(1, 13 if nd < 4 else 6, size=nd))
            out.append(rng.random((2, 2) + shape) < rng.uniform(0.02, 0.98))
    one = np.zeros((1, 3, 9, 11), dtype=bool)
    one[0, 0, 4, 5] = True      # a single pixel
    one[0, 1, :, 3] = True      # a thin vertical line
    one[0, 2, 6, :] = True      # a thin horizontal line
    out.append(one)
    edge = np.zeros((1, 2, 7, 8), dtype=bool)
    edge[0, 0, 0, 0] = True     # a corner pixel: whole lines with no site after the first pass
    edge[0, 1] = True
    edge[0, 1, 6, 7] = False    # the complement: one background pixel
    out.append(edge)
    yy, xx = np.mgrid[:40, :33]
    disk = (yy - 19.5) ** 2 + (xx - 14.2) ** 2 < 11.3**2
    out.append(np.stack([disk, ~disk, np.zeros_like(disk), np.ones_like(disk)])[None])  # empty / full: 0
    z, y, x = np.mgrid[:17, :15, :19]
    out.append(((z - 8) ** 2 + (y - 6.5) ** 2 + (x - 10) ** 2 < 30)[None, None])
    out.append(rng.random((3, 2, 1, 9, 1)) > 0.5)  # lines of length 1
    return out


@pytest.mark.parametrize("signed", [False, True], ids=["distance_field", "signed_distance_map"])
def test_compiled_transform_is_scipys_exactly(signed):
    pytest.importorskip("numba")
    from losskit.segmentation import signed_distance_map

    fn = signed_distance_map if signed else distance_field
    for i, m in enumerate(_edt_masks()):
        with losskit.fast_paths(only="segmentation.edt") as used:
            got = fn(m)
        assert used == {"segmentation.edt"}
        # unit spacing: sums of squared integer offsets, exact in float64, the same sqrt
        np.testing.assert_array_equal(got, _scipy_field(m, signed=signed), err_msg=f"mask {i} {m.shape}")
        with losskit.fast_paths(False) as none:
            np.testing.assert_array_equal(fn(m), got, err_msg=f"mask {i}: the reference (scipy) path")
        assert none == set()


def test_compiled_transform_with_anisotropic_spacing_is_scipys_within_one_ulp():
    pytest.importorskip("numba")
    from losskit.segmentation import signed_distance_map

    rng = np.random.default_rng(22)
    for i, m in enumerate(_edt_masks()):
        nd = m.ndim - 2
        axes = tuple(range(2, m.ndim))
        boundary = (m.any(axis=axes) & ~m.all(axis=axes)).reshape(m.shape[:2] + (1,) * nd)
        for spacing in (tuple(rng.uniform(0.2, 4.0, size=nd)), (0.1,) * nd, tuple([3.0, 0.7, 1.3, 2.2][:nd])):
            with losskit.fast_paths(only="segmentation.edt") as used:
                got = distance_field(m, spacing=spacing)
                got_signed = signed_distance_map(m, spacing=spacing)
            assert used == {"segmentation.edt"}
            ref = _scipy_field(m, spacing)
            # the same float operations as scipy's (offsets scaled, squared, added in axis
            # order), but a near-tie between two sites may round the other way: 1 ulp at most
            np.testing.assert_array_max_ulp(got, ref, maxulp=1)
            # the signed map is 1 - d inside, d outside, of the same distances (compared
            # through d: near the boundary 1 - d cancels, and 1 ulp of d is many of 1 - d)
            np.testing.assert_array_equal(got_signed, np.where(m & boundary, 1.0 - got, got), err_msg=f"mask {i}")
            np.testing.assert_array_equal(_scipy_field(m, spacing, signed=True),
                                          np.where(m & boundary, 1.0 - ref, ref), err_msg=f"mask {i}")


def test_compiled_transform_split_over_threads_changes_nothing():
    pytest.importorskip("numba")
    torch = pytest.importorskip("torch")
    from losskit.segmentation import _numba_edt

    m = np.random.default_rng(23).random((3, 4, 10, 13)) > 0.7
    one = _numba_edt.distance_transform(m, grain=1 << 40)  # one range
    threads = torch.get_num_threads()
    torch.set_num_threads(4)  # the kernel follows torch's thread count when torch is loaded
    try:
        split = _numba_edt.distance_transform(m, grain=1)  # up to 4 ranges of maps
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(split, one)
    np.testing.assert_array_equal(one, _scipy_field(m))


def test_compiled_transform_in_the_losses_gives_the_reference_loss():
    pytest.importorskip("numba")
    rng = np.random.default_rng(24)
    x = rng.standard_normal((2, 3, 12, 9, 7))
    lab = rng.integers(0, 3, size=(2, 12, 9, 7))
    for fn in (losskit.hausdorff_dt_loss, losskit.boundary_loss):
        with losskit.fast_paths(only="segmentation.edt") as used:
            fast = fn(x, lab, activation="softmax", spacing=(1.0, 2.0, 0.5), reduction="none")
        assert used == {"segmentation.edt"}
        with losskit.fast_paths(False):
            ref = fn(x, lab, activation="softmax", spacing=(1.0, 2.0, 0.5), reduction="none")
        np.testing.assert_allclose(fast, ref, rtol=1e-14, atol=0)
