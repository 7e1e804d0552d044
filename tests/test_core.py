"""The multi-backend core: namespace helpers, reduction, validation, registry."""

import math
import subprocess
import sys

import numpy as np
import pytest

import losskit
from losskit import _xp
from losskit._reduce import reduce_loss


def test_import_losskit_imports_no_framework_and_no_family():
    # A public name is loaded from its module on first use (losskit/__init__.py), so the
    # import itself loads neither a family nor NumPy; the first loss loads its own family only.
    code = (
        "import sys, losskit; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('losskit', 'numpy', 'torch', 'jax', 'matplotlib', 'sklearn', 'scipy'))); "
        "losskit.mse_loss; "
        "print(sorted(m for m in sys.modules if m.startswith('losskit.') and m.count('.') == 1 "
        "and not m.split('.')[1].startswith('_')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['losskit']", "['losskit.regression']"]


def test_every_public_name_loads_from_the_module_the_stub_names():
    # losskit/__init__.pyi is the list of public names (type checkers read it too)
    import importlib

    assert set(losskit.__all__) == set(losskit._EXPORTS) | {"__version__"}
    for name, module in losskit._EXPORTS.items():
        value = getattr(losskit, name)
        if module:
            owner = importlib.import_module(f"losskit.{module}")
            assert value is getattr(owner, name), name
            assert name in owner.__all__, f"{name} is not public in losskit.{module}"
        else:
            assert value is importlib.import_module(f"losskit.{name}"), name
    for module in losskit._MODULES:
        assert module in dir(losskit) and getattr(losskit, module).__name__ == f"losskit.{module}"
    with pytest.raises(AttributeError, match="has no attribute 'no_such_loss'"):
        losskit.no_such_loss


def test_logsumexp_matches_reference_and_handles_extremes(xp):
    x = np.array([[1e4, 1e4 - 1.0, -3.0], [-np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0]])
    ns = _xp.namespace(xp.asarray(x))
    out = xp.np(xp.call(lambda a: _xp.logsumexp(a, ns, axis=1), xp.asarray(x)))
    assert out[0] == pytest.approx(1e4 + np.log1p(np.exp(-1.0)), rel=1e-6)
    assert out[1] == -np.inf
    assert out[2] == pytest.approx(np.log(np.exp(0) + np.exp(1) + np.exp(2)), rel=1e-6)


def test_log_sigmoid_softplus_sigmoid_are_finite_for_huge_logits(xp):
    x = xp.asarray(np.array([-1e4, -30.0, 0.0, 30.0, 1e4]))
    ns = _xp.namespace(x)
    ls = xp.np(xp.call(lambda a: _xp.log_sigmoid(a, ns), x))
    sp = xp.np(xp.call(lambda a: _xp.softplus(a, ns), x))
    sg = xp.np(xp.call(lambda a: _xp.sigmoid(a, ns), x))
    np.testing.assert_allclose(ls, [-1e4, -30.0, -np.log(2.0), -np.exp(-30.0), 0.0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sp, [0.0, np.exp(-30.0), np.log(2.0), 30.0, 1e4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sg, [0.0, np.exp(-30.0), 0.5, 1.0, 1.0], rtol=1e-5, atol=1e-6)


def test_softplus_is_accurate_to_rounding_where_it_nears_the_identity(xp):
    # softplus(x) = x + log1p(e^-x): for x in (20, 36) the second term (2e-9 .. 2e-16) is
    # below float32's resolution of x but still above float64's, so returning x there in
    # float64 (torch's default threshold=20) is wrong by up to ~1e-10 relative.
    v = [15.0, 20.0, 20.0167, 25.0, 30.0, 35.0, 36.0, 40.0]
    x = xp.asarray(np.array(v))
    ns = _xp.namespace(x)
    out = xp.np(xp.call(lambda a: _xp.softplus(a, ns), x))
    exact = [t + math.log1p(math.exp(-t)) for t in v]
    np.testing.assert_allclose(out, exact, rtol=2 * np.finfo(xp.float_dtype).eps, atol=0)


def test_xlogy_zero_times_log_zero_is_zero(xp):
    x = xp.asarray(np.array([0.0, 1.0, 2.0]))
    y = xp.asarray(np.array([0.0, 0.5, 3.0]))
    ns = _xp.namespace(x)
    out = xp.np(xp.call(lambda a, b: _xp.xlogy(a, b, ns), x, y))
    np.testing.assert_allclose(out, [0.0, np.log(0.5), 2 * np.log(3.0)], rtol=1e-6)


def test_one_hot_and_take_along_axis(xp):
    labels = xp.asarray(np.array([[0, 2], [1, 5]]))
    ns = _xp.namespace(labels)
    oh = xp.np(_xp.one_hot(labels, 3, ns, axis=1, dtype=ns.float32))
    assert oh.shape == (2, 3, 2)
    np.testing.assert_array_equal(oh[0, :, 0], [1, 0, 0])
    np.testing.assert_array_equal(oh[1, :, 1], [0, 0, 0])  # out of range -> all zero
    x = xp.asarray(np.arange(6.0).reshape(2, 3))
    idx = xp.asarray(np.array([[2], [0]]))
    np.testing.assert_array_equal(xp.np(_xp.take_along_axis(x, idx, ns, axis=1)), [[2.0], [3.0]])


def test_stop_gradient_blocks_torch_and_jax_gradients(autodiff_xp):
    b = autodiff_xp
    x = b.asarray(np.array([1.0, 2.0]))
    ns = _xp.namespace(x)

    def f(a):
        return ns.sum(a * _xp.stop_gradient(a, ns))

    _, g = b.grad(f, x)
    np.testing.assert_allclose(g, [1.0, 2.0])  # d/da (a * const(a)) = a


def test_compute_dtype_upcasts_half_and_ints(xp):
    ns = _xp.namespace(xp.asarray(np.zeros(1)))
    for dt in ("float16", "bfloat16", "int64"):
        if not xp.has_dtype(dt):
            continue
        a = xp.asarray(np.zeros(2), dtype=dt)
        assert _xp.compute_dtype(a, ns) == ns.float32
    a64 = xp.asarray(np.zeros(2), dtype="float64")
    assert _xp.compute_dtype(a64, ns) == ns.float64


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reduce_loss_weighted_mean_and_empty(xp, reduction):
    loss = xp.asarray(np.array([1.0, 2.0, 3.0]))
    w = xp.asarray(np.array([1.0, 0.0, 3.0]))
    ns = _xp.namespace(loss)
    out = xp.np(reduce_loss(loss, reduction, ns, weight=w))
    expected = {"mean": 10.0 / 4.0, "sum": 10.0, "none": [1.0, 0.0, 9.0]}[reduction]
    np.testing.assert_allclose(out, expected)
    empty = xp.asarray(np.zeros((0,)))
    assert np.all(np.isfinite(xp.np(reduce_loss(empty, reduction, ns))))
    zero_w = xp.asarray(np.zeros(3))
    assert np.all(xp.np(reduce_loss(loss, reduction, ns, weight=zero_w)) == 0)


def test_reduce_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum', 'none', got 'avg'"):
        reduce_loss(np.zeros(2), "avg", _xp.namespace(np.zeros(2)))


def test_namespace_rejects_mixed_libraries():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="expected arrays from one library"):
        _xp.namespace(np.zeros(2), torch.zeros(2))


def test_registry_names_and_unknown_name():
    assert names_are_sorted(losskit.names())
    with pytest.raises(ValueError, match="name: expected a registered loss"):
        losskit.get("no_such_loss_anywhere")


def names_are_sorted(ns):
    return list(ns) == sorted(ns)


def test_every_registered_loss_is_exported_and_documented():
    for info in losskit.registry.infos():
        if info.family in ("textbook", "torch"):
            continue
        assert getattr(losskit, info.name) is info.fn, info.name
        assert info.name in losskit.__all__
        doc = info.fn.__doc__ or ""
        assert info.summary, info.name
        # distillation_loss defaults to "batchmean" (issue 16: the KL per sample, as torch's
        # F.kl_div distillation code); every other loss to "mean".
        default = "batchmean" if info.name == "distillation_loss" else "mean"
        assert "reduction" not in info.options or info.options["reduction"] == default, info.name
        assert info.formula, info.name
        assert "Args:" in doc and "Returns:" in doc, f"{info.name}: docstring needs Args/Returns"


def test_loss_module_options_repr_buffers_and_per_call_override():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    w = torch.tensor([1.0, 0.0, 2.0])
    m = lt.HuberLoss(delta=0.5, weight=w)
    assert "delta=0.5" in repr(m) and "weight=tensor(shape=(3,))" in repr(m)
    assert "weight" in dict(m.named_buffers())  # moves with .to(device), saved in state_dict
    x, t = torch.tensor([0.2, 3.0, -1.0]), torch.zeros(3)
    assert torch.equal(m(x, t), losskit.huber_loss(x, t, delta=0.5, weight=w))
    ones = torch.ones(3)
    assert torch.equal(m(x, t, weight=ones), losskit.huber_loss(x, t, delta=0.5, weight=ones))
    with pytest.raises(TypeError, match="unexpected option"):
        lt.HuberLoss(beta=1.0)
    with pytest.raises(TypeError, match="missing required option"):
        lt.MPDIoULoss()


def test_value_checks_are_skipped_under_torch_func_transforms():
    torch = pytest.importorskip("torch")
    from torch.func import grad, vmap

    x = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    y = torch.tensor([0, 2])
    g = grad(lambda a: losskit.cross_entropy(a, y))(x)
    torch.testing.assert_close(g, (x.softmax(1) - torch.nn.functional.one_hot(y, 3)) / 2)
    per_row = vmap(lambda a, t: losskit.cross_entropy(a[None], t[None]))(x, y)
    torch.testing.assert_close(per_row, torch.nn.functional.cross_entropy(x, y, reduction="none"))


def test_value_checks_run_on_host_arrays_only():
    from losskit import _checks

    labels = np.array([0, 5])
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\]"):
        _checks.check_labels_in_range("target", labels, 3)

    class OnAccelerator:  # stands for a CUDA tensor: reading it back would sync the device
        shape = (2,)
        device = type("Device", (), {"type": "cuda"})()

    assert _checks.eager_values(OnAccelerator()) is None
    _checks.check_labels_in_range("target", OnAccelerator(), 3)  # skipped, no error
    with pytest.raises(TypeError, match="batch: expected a bool, got int"):
        _checks.check_bool("batch", 1)
