"""Every declared fast path is pinned to the array-API reference code, driven by the
declarations: for each loss, each fast path in its ``@loss(fast_paths=...)`` metadata runs
the loss's case-table inputs (``tests/cases``) alone (``losskit.fast_paths(only=...)``)
and against the reference (``losskit.fast_paths(False)``): the same values and the same
gradients, float32 and float64. A fast path that no case takes, or that no loss declares,
fails here. The mechanism itself (one switch, one eligibility rule) is tested at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit import _fastpath
from cases import load

torch = pytest.importorskip("torch")

TABLE = load()


def _all_declared() -> dict:
    import losskit.torch  # noqa: F401  (the front end declares nothing, but loads every family)

    losskit.names()
    return {k: v for k, v in _fastpath.declared().items() if not k.startswith("test.")}


def _pairs():
    out = []
    for name in losskit.names():
        for path in losskit.get(name).fast_paths:
            out.append(pytest.param(name, path, id=f"{path}-{name}"))
    return out


def test_declarations_are_consistent():
    declared = _all_declared()
    listed = {p for n in losskit.names() for p in losskit.get(n).fast_paths}
    assert sorted(listed - set(declared)) == [], "losses list fast paths that are not declared"
    assert sorted(set(declared) - listed) == [], "fast paths that no loss lists in @loss(fast_paths=...)"


def _tensor(a, dtype):
    t = torch.from_numpy(np.ascontiguousarray(a).reshape(np.shape(a)))  # ascontiguousarray makes 0-d 1-d
    return t.to(dtype) if t.is_floating_point() else t


def _run(fn, args, options, dtype):
    """Value and gradients of every floating argument (as NumPy float64)."""
    targs = [_tensor(a, dtype) if isinstance(a, np.ndarray) else a for a in args]
    topts = {k: _tensor(v, dtype) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    wrt = [a for a in targs if isinstance(a, torch.Tensor) and a.is_floating_point()]
    for a in wrt:
        a.requires_grad_(True)
    out = fn(*targs, **topts)
    grads = torch.autograd.grad(out.sum(), wrt, allow_unused=True) if out.requires_grad else [None] * len(wrt)
    grads = [np.zeros(a.shape) if g is None else g.detach().double().numpy() for a, g in zip(wrt, grads)]
    return out.detach().double().numpy(), grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, path", _pairs())
def test_fast_path_equals_reference(name, path, dtype):
    _all_declared()
    fn = losskit.get(name).fn
    row = TABLE[name]
    taken = 0
    for case in row.cases:
        reductions = [{}] if not row.reductions or "reduction" in case.options else [{}, {"reduction": "none"}]
        for extra in reductions:
            options = {**case.options, **extra}
            with losskit.fast_paths(only=path) as used:
                fast = _run(fn, case.args, options, dtype)
            taken += path in used
            with losskit.fast_paths(False) as none_used:
                ref = _run(fn, case.args, options, dtype)
            assert none_used == set()
            rtol = case.rtol or (2e-5 if dtype == torch.float32 else 1e-10)
            atol = case.atol or (2e-6 if dtype == torch.float32 else 1e-12)
            np.testing.assert_allclose(fast[0], ref[0], rtol=rtol, atol=atol, err_msg=f"{case.id} value")
            for i, (g, r) in enumerate(zip(fast[1], ref[1])):
                np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=f"{case.id} gradient {i}")
    assert taken, (f"no case of {name} in tests/cases takes fast path {path} "
                   f"({_all_declared()[path].describe()}): add one")


# --------------------------------------------------------------------------- the mechanism


def _probe():
    name = "test.probe"
    if name not in _fastpath.declared():
        _fastpath.fast_path(name, kernel="test.kernel", impl="builtins:abs", backend="torch",
                            devices=("cpu",), when="always (a probe for these tests)",
                            eligible=lambda x, **o: not o.get("refuse", False))
    return name


def test_switch_and_eligibility_rule(monkeypatch):
    _probe()
    x = torch.ones(2)
    assert _fastpath.select("test.kernel", "torch", x) is abs
    assert _fastpath.select("test.kernel", "numpy", x) is None  # another backend
    assert _fastpath.select("test.kernel", "torch", x, refuse=True) is None  # its own predicate
    with losskit.fast_paths(False):
        assert _fastpath.select("test.kernel", "torch", x) is None
        with losskit.fast_paths(only="test.probe") as used:  # only= overrides an outer off
            assert _fastpath.select("test.kernel", "torch", x) is abs
        assert used == {"test.probe"}
    monkeypatch.setenv("LOSSKIT_FAST_PATHS", "0")
    assert _fastpath.select("test.kernel", "torch", x) is None
    with losskit.fast_paths(True):  # the context manager wins over the environment
        assert _fastpath.select("test.kernel", "torch", x) is abs


def test_never_under_tracing_or_transforms():
    _probe()
    seen = []

    def f(x):
        seen.append(_fastpath.select("test.kernel", "torch", x))
        return x * 2

    torch.func.grad(lambda x: f(x).sum())(torch.ones(2))
    torch.compile(f, backend="eager", fullgraph=False)(torch.ones(2))
    from torch.utils._python_dispatch import TorchDispatchMode

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Mode():
        f(torch.ones(2))
    assert seen and all(s is None for s in seen)


def test_numba_paths_follow_LOSSKIT_NUMBA(monkeypatch):
    name = "test.numba_probe"
    if name not in _fastpath.declared():
        _fastpath.fast_path(name, kernel="test.numba_kernel", impl="builtins:abs", backend="torch",
                            devices=("cpu",), requires="numba", when="a probe")
    if not _fastpath._importable("numba"):
        pytest.skip("numba is not installed")
    x = torch.ones(2)
    assert _fastpath.select("test.numba_kernel", "torch", x) is abs
    monkeypatch.setenv("LOSSKIT_NUMBA", "0")
    assert _fastpath.select("test.numba_kernel", "torch", x) is None
    with losskit.fast_paths(only=name):  # the tests pin numba paths even under LOSSKIT_NUMBA=0
        assert _fastpath.select("test.numba_kernel", "torch", x) is abs


def test_switch_rejects_bad_arguments():
    with pytest.raises(TypeError, match="enabled: expected a bool"):
        with losskit.fast_paths("no"):
            pass
    with pytest.raises(ValueError, match="only: expected declared fast paths"):
        with losskit.fast_paths(only="no.such.path"):
            pass


@pytest.mark.parametrize("name, make", [
    ("cross_entropy", lambda: (torch.randn(8, 5), torch.randint(0, 5, (8,)))),
    ("mse_loss", lambda: (torch.randn(8, 5), torch.randn(8, 5))),
    ("log_cosh_loss", lambda: (torch.randn(8, 5), torch.randn(8, 5))),
])
def test_fast_path_selection_compiles_fullgraph(name, make):
    # select() runs inside the traced code: it must decide "reference" without a call Dynamo
    # cannot put in a graph (torch's dispatch-stack query returns an int), so that
    # fullgraph=True compiles the reference's torch operations
    torch._dynamo.reset()
    fn = losskit.get(name).fn
    x, t = make()
    compiled = torch.compile(fn, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(x, t), fn(x, t))
