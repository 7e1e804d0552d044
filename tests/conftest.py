"""Test configuration: the ``xp`` backend fixture shared by every family's tests.

Every loss test takes ``xp`` and runs once per backend: numpy, array_api_strict,
torch float32, torch float64 and jax (the loss called under ``jax.jit``). A backend that
is not installed is skipped; the test id names the backend.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers import BACKENDS, Backend, backend_available  # noqa: E402

try:
    from hypothesis import settings

    settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
    settings.register_profile("dev", max_examples=30, deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _seed_torch_global_generator():
    """Tests that draw from torch's global generator (or build a peer module that does) see
    the same numbers whatever ran before them on their xdist worker, so a failure replays."""
    torch = sys.modules.get("torch")  # never import torch for a test that did not
    if torch is not None:
        torch.manual_seed(0)


@pytest.fixture(params=BACKENDS)
def xp(request) -> Backend:
    name = request.param
    if not backend_available(name):
        pytest.skip(f"{name} is not installed")
    return Backend(name)


@pytest.fixture(params=[b for b in BACKENDS if b in ("torch-float64", "jax")])
def autodiff_xp(request) -> Backend:
    """Backends with autodiff, in float64, for gradient checks."""
    name = request.param
    if not backend_available(name):
        pytest.skip(f"{name} is not installed")
    return Backend(name, float_dtype="float64")
