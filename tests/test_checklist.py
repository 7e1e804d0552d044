"""The per-loss checklist of ``shared/DESIGN.md``, run from the case table (``tests/cases``)
for every registered loss on every backend its metadata names:

hand-derived values under every reduction; gradients against float64 numerical gradients;
bad input raising the named error; float16 / bfloat16 input computed in float32 (finite,
equal to the float64 value at the rounded inputs); an empty batch giving 0 with its graph
kept; the identities between losses; the ``losskit.torch`` shell equal to the function.

A registered loss without a row in the table fails here (``test_every_loss_has_a_row``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from losskit._xp import to_numpy
from cases import arrays_of, load
from helpers import Backend, backend_available, check_gradient

TABLE = load()

# LossInfo.backends -> the test backends that run it.
_TEST_BACKENDS = {
    "numpy": ("numpy",),
    "array-api": ("array_api_strict",),
    "torch": ("torch-float32", "torch-float64"),
    "jax": ("jax",),
}


def _backends(name: str) -> list[str]:
    return [b for key in losskit.get(name).backends for b in _TEST_BACKENDS[key]]


def _params(kind: str):
    """(loss, backend, item) parameters for every row of the table."""
    out = []
    for name, row in sorted(TABLE.items()):
        items = {
            "cases": [(i, c) for i, c in enumerate(row.cases) if c.expected is not None],
            "grad": [(i, c) for i, c in enumerate(row.cases) if c.grad],
            "bad": list(enumerate(row.bad)),
            "identities": list(enumerate(row.identities)),
        }[kind]
        for i, item in items:
            for backend in _backends(name):
                label = item.id or str(i)
                out.append(pytest.param(name, backend, i, id=f"{name}-{label}-{backend}"))
    return out


def _backend(name: str, **kw) -> Backend:
    if not backend_available(name):
        pytest.skip(f"{name} is not installed")
    return Backend(name, **kw)


def _convert(xp: Backend, value, dtype=None):
    if isinstance(value, np.ndarray):
        return xp.asarray(value, dtype=dtype if value.dtype.kind == "f" else None)
    if isinstance(value, dict):
        return {k: _convert(xp, v, dtype) for k, v in value.items()}
    return value


def _run(xp: Backend, fn, args, options, *, jit=True, dtype=None):
    arrays = arrays_of(args)
    bargs = [_convert(xp, a, dtype) for a in args]
    opts = _convert(xp, options, dtype)
    if not jit or xp.name != "jax":
        return fn(*bargs, **opts)

    def call(*arr):
        full = list(bargs)
        for i, a in zip(arrays, arr):
            full[i] = a
        return fn(*full, **opts)

    return xp.call(call, *[bargs[i] for i in arrays])


def test_every_loss_has_a_row():
    registered = set(losskit.names())
    assert sorted(registered - set(TABLE)) == [], "registered losses without a row in tests/cases"
    assert sorted(set(TABLE) - registered) == [], "rows in tests/cases that name no registered loss"


@pytest.mark.parametrize("name, backend, i", _params("cases"))
def test_values_every_reduction(name, backend, i):
    case = TABLE[name].cases[i]
    xp = _backend(backend)
    info = losskit.get(name)
    expected = np.asarray(case.expected, dtype=np.float64)
    kw = dict(rtol=case.rtol, atol=case.atol)
    if not TABLE[name].reductions or "reduction" in case.options:
        xp.assert_close(_run(xp, info.fn, case.args, case.options), expected, **kw)
        return
    xp.assert_close(_run(xp, info.fn, case.args, {**case.options, "reduction": "none"}), expected, **kw)
    total = expected.sum() if case.sum is None else case.sum
    xp.assert_close(_run(xp, info.fn, case.args, {**case.options, "reduction": "sum"}), total, **kw)
    mean = expected.mean() if case.mean is None else case.mean
    xp.assert_close(_run(xp, info.fn, case.args, {**case.options, "reduction": "mean"}), mean, **kw)


@pytest.mark.parametrize("name, backend, i", [p for p in _params("grad") if p.values[1] in ("numpy", "torch-float64", "jax")])
def test_gradient_matches_numerical(name, backend, i):
    info = losskit.get(name)
    if not info.differentiable:
        pytest.skip(f"{name} is not differentiable")
    case = TABLE[name].cases[i]
    xp = _backend(backend, float_dtype="float64")
    check_gradient(xp, info.fn, case.args[0], *case.args[1:], **case.options)


@pytest.mark.parametrize("name, backend, i", _params("bad"))
def test_bad_input_raises(name, backend, i):
    bad = TABLE[name].bad[i]
    xp = _backend(backend)
    if xp.on_accelerator:
        pytest.skip("value checks skip accelerator arrays")
    with pytest.raises(bad.error, match=bad.match):
        _run(xp, losskit.get(name).fn, bad.args, bad.options, jit=False)


@pytest.mark.parametrize("name, backend, i", _params("identities"))
def test_identity(name, backend, i):
    ident = TABLE[name].identities[i]
    xp = _backend(backend)
    opts = {"reduction": "none"} if TABLE[name].reductions else {}
    lhs = _run(xp, losskit.get(name).fn, ident.args, {**opts, **ident.options})
    rhs = _run(xp, ident.rhs, ident.args, {**opts, **ident.rhs_options})
    xp.assert_close(lhs, xp.np(rhs), rtol=1e-5 if xp.float_dtype == "float32" else 1e-9, atol=1e-6)


_HALF = [(name, b, d) for name in sorted(TABLE) for b in _backends(name)
         if b in ("numpy", "torch-float32", "jax") for d in ("float16", "bfloat16")]


@pytest.mark.parametrize("name, backend, dtype", _HALF)
def test_half_precision_is_computed_in_float32(name, backend, dtype):
    """Half inputs give a finite float32 result equal to the float64 one at the same
    (rounded) inputs: the loss is computed in float32, not in half precision."""
    xp = _backend(backend)
    if not xp.has_dtype(dtype):
        pytest.skip(f"{backend} has no {dtype}")
    row = TABLE[name]
    case = row.cases[0]
    args = row.half if row.half is not None else case.args
    fn = losskit.get(name).fn
    out = _run(xp, fn, args, case.options, dtype=dtype)
    assert str(out.dtype).endswith("float32"), f"{name}: half input returned {out.dtype}"
    value = xp.np(out)
    assert np.all(np.isfinite(value))
    # the same computation on the rounded inputs in float64, on NumPy
    rounded = tuple(
        np.asarray(xp.np(xp.asarray(a, dtype=dtype)), dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    )
    if "numpy" in losskit.get(name).backends:
        ref = np.asarray(to_numpy(fn(*rounded, **case.options)), dtype=np.float64)
    else:  # a loss of one library (linear_cross_entropy): float64 on that library
        ref = xp.np(_run(_backend(backend, float_dtype="float64"), fn, rounded, case.options))
    np.testing.assert_allclose(value, ref, rtol=1e-4, atol=1e-5)


_EMPTY = [(name, b) for name in sorted(TABLE) for b in _backends(name) if TABLE[name].empty is not None]


@pytest.mark.parametrize("name, backend", _EMPTY)
def test_empty_batch_gives_zero(name, backend):
    xp = _backend(backend)
    row = TABLE[name]
    fn = losskit.get(name).fn
    options = row.cases[0].options
    if not row.reductions:
        out = _run(xp, fn, row.empty, options)
        assert np.all(xp.np(out) == 0)
        return
    for reduction in ("mean", "sum"):
        out = _run(xp, fn, row.empty, {**options, "reduction": reduction})
        assert xp.np(out).shape == () and float(xp.np(out)) == 0.0, reduction
    none = _run(xp, fn, row.empty, {**options, "reduction": "none"})
    assert math.prod(tuple(none.shape)) == 0
    if xp.is_torch and losskit.get(name).differentiable:
        x = xp.asarray(row.empty[0]).requires_grad_(True)
        args = [x] + [_convert(xp, a) for a in row.empty[1:]]
        out = fn(*args, **_convert(xp, options))
        out.backward()  # the graph is kept: an empty batch still trains
        assert x.grad is not None and tuple(x.grad.shape) == tuple(x.shape)


def _shell(fn):
    lt = pytest.importorskip("losskit.torch")
    for name in getattr(lt, "__all__", dir(lt)):
        cls = getattr(lt, name, None)
        if isinstance(cls, type) and getattr(cls, "function", None) is fn:
            return cls
    return None


_MODULE = [name for name in sorted(TABLE) if "torch" in losskit.get(name).backends]


@pytest.mark.parametrize("name", _MODULE)
def test_module_equals_function(name):
    torch = pytest.importorskip("torch")
    info = losskit.get(name)
    if TABLE[name].why_no_shell:
        pytest.skip(TABLE[name].why_no_shell)
    cls = _shell(info.fn)
    assert cls is not None, f"{name}: no losskit.torch shell (a LossModule with function = {name})"
    xp = _backend("torch-float64")
    case = TABLE[name].cases[0]
    args = [_convert(xp, a) for a in case.args]
    options = _convert(xp, case.options)
    module = cls(**options)
    expected = info.fn(*args, **options)
    torch.testing.assert_close(module(*args), expected, rtol=1e-12, atol=1e-12)
