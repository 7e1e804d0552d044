"""Shared test helpers: the Backend wrapper, tolerances, numerical gradients."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import losskit
from losskit._xp import to_numpy

BACKENDS = ["numpy", "array_api_strict", "torch-float32", "torch-float64", "jax"]

#: The device the torch backends put their test arrays on: ``LOSSKIT_TEST_DEVICE=cuda`` runs
#: every backend-parametrised torch test on a GPU (value checks are skipped for arrays on an
#: accelerator, so deselect the bad-input tests there: ``-k "not bad_input and not invalid"``).
TORCH_DEVICE = os.environ.get("LOSSKIT_TEST_DEVICE", "cpu")

_MODULES = {
    "numpy": "numpy",
    "array_api_strict": "array_api_strict",
    "torch-float32": "torch",
    "torch-float64": "torch",
    "jax": "jax",
}


def backend_available(name: str) -> bool:
    return importlib.util.find_spec(_MODULES[name]) is not None


_jax_configured = False


def _jax():
    global _jax_configured
    import jax

    if not _jax_configured:
        # float64 arrays must stay float64 (gradient checks); float32 stays float32 because
        # every losskit kernel takes its dtypes from its inputs, never from defaults.
        jax.config.update("jax_enable_x64", True)
        # On a GPU, JAX runs float32 matmuls in reduced precision (TF32-like) by default;
        # the tests compare against float64 oracles at 1e-5, so ask for full precision
        # (a user's own setting is theirs: losskit follows whatever JAX is configured to do).
        jax.config.update("jax_default_matmul_precision", "highest")
        _jax_configured = True
    return jax


def optax_peer():
    """optax as a parity peer: ``(optax, jax.numpy, "optax <version>")`` with jax in float64
    (as the backend fixture sets it); the test is skipped when optax is not installed."""
    import pytest

    optax = pytest.importorskip("optax")
    return optax, _jax().numpy, f"optax {optax.__version__}"


class Backend:
    """One array backend as the tests see it.

    ``asarray`` turns NumPy test data into the backend's arrays (floats in the backend's
    float dtype unless ``dtype=`` says otherwise, integers as int64); ``call`` runs a loss
    (under ``jax.jit`` for jax); ``np`` brings results back as NumPy float64.
    """

    def __init__(self, name: str, float_dtype: str | None = None):
        self.name = name
        if float_dtype is None:
            float_dtype = {"torch-float32": "float32", "jax": "float32"}.get(name, "float64")
        self.float_dtype = float_dtype
        if name == "numpy":
            import array_api_compat.numpy as ns
        elif name == "array_api_strict":
            import array_api_strict as ns
        elif name.startswith("torch"):
            import torch as ns
        else:
            ns = _jax().numpy
        self.ns = ns

    def __repr__(self):
        return f"Backend({self.name}, {self.float_dtype})"

    @property
    def is_torch(self) -> bool:
        return self.name.startswith("torch")

    @property
    def on_accelerator(self) -> bool:
        """Test arrays live on a GPU (``LOSSKIT_TEST_DEVICE`` for torch; jax's default device):
        losskit's eager value checks and warnings skip such arrays (no device sync per call)."""
        if self.is_torch:
            return TORCH_DEVICE != "cpu"
        if self.name == "jax":
            return _jax().default_backend() != "cpu"
        return False

    @property
    def has_autodiff(self) -> bool:
        return self.is_torch or self.name == "jax"

    @property
    def rtol(self) -> float:
        return 1e-5 if self.float_dtype == "float32" else 1e-10

    @property
    def atol(self) -> float:
        return 1e-6 if self.float_dtype == "float32" else 1e-12

    def dtype(self, name: str):
        return getattr(self.ns, name)

    def has_dtype(self, name: str) -> bool:
        """array_api_strict has no float16/bfloat16; NumPy has no bfloat16."""
        return hasattr(self.ns, name)

    def asarray(self, a, dtype: str | None = None):
        a = np.asarray(a)
        if dtype is None:
            if a.dtype.kind == "f":
                dtype = self.float_dtype
            elif a.dtype.kind in "iu":
                dtype = "int64"
            elif a.dtype.kind == "b":
                dtype = "bool"
            elif a.dtype.kind == "c":
                dtype = "complex128"
            else:
                raise TypeError(f"unsupported test data dtype {a.dtype}")
        if self.is_torch:
            import torch

            return torch.as_tensor(np.array(a, dtype=np.float64 if dtype == "bfloat16" else None)).to(
                device=TORCH_DEVICE, dtype=getattr(torch, dtype)
            )
        if self.name == "jax":
            jnp = self.ns
            return jnp.asarray(a).astype(getattr(jnp, dtype))
        if self.name == "array_api_strict":
            return self.ns.asarray(a.astype(dtype) if dtype != "bfloat16" else a, dtype=getattr(self.ns, dtype))
        return np.asarray(a, dtype=dtype)

    def call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``; for jax, jitted over the positional arrays."""
        if self.name == "jax":
            jax = _jax()
            return jax.jit(lambda *a: fn(*a, **kwargs))(*args)
        return fn(*args, **kwargs)

    def np(self, x) -> np.ndarray:
        out = to_numpy(x)
        return out.astype(np.float64) if out.dtype.kind == "f" or str(out.dtype) == "bfloat16" else out

    def grad(self, fn, x, *args, **kwargs):
        """(value, d sum(value) / d x) through losskit.value_and_grad, as NumPy."""
        value, g = losskit.value_and_grad(fn)(x, *args, **kwargs)
        return self.np(value), self.np(g)

    def assert_close(self, actual, expected, rtol=None, atol=None):
        np.testing.assert_allclose(
            self.np(actual) if not isinstance(actual, (float, int)) else actual,
            expected,
            rtol=self.rtol if rtol is None else rtol,
            atol=self.atol if atol is None else atol,
        )


def numerical_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of scalar ``f`` at float64 ``x`` (test oracle)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(np.sum(f(x)))
        x[i] = old - h
        fm = float(np.sum(f(x)))
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


def check_gradient(backend: Backend, fn, x: np.ndarray, *args, rtol=1e-5, atol=1e-7, **kwargs):
    """Assert backend autodiff (or the registered analytic gradient on NumPy) equals a
    float64 numerical gradient. ``args`` are NumPy arrays converted for the backend."""
    x = np.asarray(x, dtype=np.float64)
    bargs = [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    bkw = {k: backend.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    _, g = backend.grad(fn, backend.asarray(x, dtype="float64"), *bargs, **bkw)
    nargs = [np.asarray(a) for a in args]
    num = numerical_grad(lambda a: np.asarray(to_numpy(fn(a, *nargs, **kwargs))), x)
    np.testing.assert_allclose(g, num, rtol=rtol, atol=atol)
    return g
