"""Every ``losskit.torch`` module under ``torch.compile``, CPU autocast and pickle.

The modules are *discovered*, not listed: every ``nn.Module`` subclass exported by
``losskit.torch`` is tested, so a new shell is covered as soon as it is exported. For a
:class:`~losskit.torch.LossModule` the example inputs and options come from its loss's row
of the case table (``tests/cases``): the first case marked for a gradient check (a point
where the loss is differentiable). Modules with their own constructor or that are not
``LossModule`` shells have an entry in ``_CUSTOM``; a module with neither fails with a
message saying what to add.

Checks, per module:

* ``torch.compile(module, fullgraph=True, backend="aot_eager")`` gives the value and the
  gradients (of the prediction and of the module's parameters) of eager mode, to 1e-5
  relative to each entry and to the largest one (float32). ``fullgraph=True`` fails on any graph break, e.g. a
  data-dependent Python branch or a value check that does not skip traced tensors. A
  compile counter asserts that a graph was really compiled (dynamo falls back to eager
  silently when its recompile limit is hit, which would make the test vacuous; hence
  ``torch._dynamo.reset()`` before each compilation).
* Under ``torch.autocast("cpu", dtype=torch.bfloat16)``, with float32 inputs and with
  bfloat16 inputs (what a model under autocast emits), the value and gradients are
  finite and close to a float32 run on the same (bf16-rounded) values, within
  ``|amp - fp32| <= 0.03 * max(|fp32|)`` elementwise (the tolerance losskit documents for
  AMP; 0.1 for the perceptual losses, whose extractor runs in bf16: see
  ``_AMP_RTOL_OVERRIDES``), i.e. about 8 bf16 ulps of the largest entry. bfloat16 keeps 8 significand bits (relative
  step 2**-8 = 0.4%); losses compute in float32 internally (``compute_dtype``), so only the
  ops autocast sends to bf16 (matmul, conv, linear) round, plus the inputs themselves.
* ``pickle`` round trip (of our own modules only) keeps type, ``repr``, state and value.
* ``repr`` shows every option (``name=value``) and the class docstring points to the
  function (a ``:func:`` reference that resolves to ``Module.function``).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import re
import zlib

import numpy as np
import pytest
import torch
import torch._dynamo.testing  # CompileCounterWithBackend (not imported by `import torch`)

import losskit.torch as lt
from cases import load
from helpers import TORCH_DEVICE
from losskit.torch import LossModule

# LOSSKIT_TEST_DEVICE=cuda runs these on a GPU (autocast on that device);
# LOSSKIT_TEST_COMPILE_BACKEND=inductor compiles real kernels (Triton on a GPU) instead
# of the fast "aot_eager" default.
DEVICE = torch.device(TORCH_DEVICE)
COMPILE_BACKEND = __import__("os").environ.get("LOSSKIT_TEST_COMPILE_BACKEND", "aot_eager")

# --------------------------------------------------------------------------- discovery


def _exported_modules() -> list[type]:
    names = getattr(lt, "__all__", None) or [n for n in dir(lt) if not n.startswith("_")]
    out = []
    for name in sorted(set(names)):
        obj = getattr(lt, name, None)
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module) and obj is not LossModule:
            out.append(obj)
    return out


MODULES = _exported_modules()
TABLE = load()

# array_api_compat's lru_cache'd helpers are traced through by dynamo (harmless: pure
# functions of types); the warning says so for every compiled loss.
pytestmark = pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")


def _fn_name(cls) -> str | None:
    fn = getattr(cls, "function", None)
    return getattr(fn, "__name__", None)


# --------------------------------------------------------------------------- example data
# Small arrays: N samples, C classes. Every builder takes a NumPy Generator and returns a
# tuple of NumPy arrays (floats become float32 tensors, integers int64).

N, C = 6, 4


def _labels(rng, shape, c=C):
    return rng.integers(0, c, size=shape).astype(np.int64)


def _boxes(rng, n):
    """Valid xyxy boxes (x2 > x1, y2 > y1) and overlapping targets."""
    xy = rng.uniform(0.0, 10.0, size=(n, 2))
    wh = rng.uniform(1.0, 5.0, size=(n, 2))
    pred = np.concatenate([xy, xy + wh], axis=1)
    txy = xy + rng.uniform(-1.0, 1.0, size=(n, 2))
    twh = wh * rng.uniform(0.7, 1.3, size=(n, 2))
    return pred, np.concatenate([txy, txy + twh], axis=1)


class Case:
    """A module factory and its example inputs (NumPy), plus which inputs to differentiate."""

    def __init__(self, make, arrays, grad_args=(0,), differentiable=True, note=""):
        self.make = make
        self.arrays = arrays
        self.grad_args = tuple(grad_args)
        self.differentiable = differentiable
        self.note = note


def _custom_cases():
    """Modules that are not plain LossModule shells (own constructor or own logic)."""

    def perceptual(kind):
        def make():
            mod = importlib.import_module("losskit.torch.image")
            torch.manual_seed(0)
            extractor = mod.vgg16_features()  # random weights: structure is what matters here
            # Two shallow layers keep compilation fast; deeper ones add only more convs.
            return getattr(mod, kind)(feature_extractor=extractor, layers=("relu1_2", "relu2_2"))

        return make

    def images(r):
        return (r.random((2, 3, 16, 16)), r.random((2, 3, 16, 16)))

    def lce(r):
        return (r.standard_normal((10, 8)), 0.3 * r.standard_normal((12, 8)), _labels(r, (10,), 12))

    def margin_head(name):
        def make():
            cls = getattr(lt, name)
            sig = inspect.signature(cls.__init__).parameters
            kw = {}
            for k in ("num_classes", "n_classes", "classes"):
                if k in sig:
                    kw[k] = C
            for k in ("embedding_dim", "embedding_size", "in_features", "dim"):
                if k in sig:
                    kw[k] = 5
            torch.manual_seed(0)
            return cls(**kw)

        return make

    def embeddings(r):
        return (r.standard_normal((8, 5)), np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int64))

    def wiou():
        return lt.WIoULoss()

    return {
        "PerceptualLoss": lambda: Case(perceptual("PerceptualLoss"), images),
        "StyleLoss": lambda: Case(perceptual("StyleLoss"), images),
        "LPIPSLoss": lambda: Case(perceptual("LPIPSLoss"), images),
        "LinearCrossEntropyLoss": lambda **v: Case(
            lambda: lt.LinearCrossEntropyLoss(**v), lce, grad_args=(0, 1)
        ),
        "ArcFaceLoss": lambda: Case(margin_head("ArcFaceLoss"), embeddings),
        "CosFaceLoss": lambda: Case(margin_head("CosFaceLoss"), embeddings),
        "SubCenterArcFaceLoss": lambda: Case(margin_head("SubCenterArcFaceLoss"), embeddings),
        "ProxyAnchorLoss": lambda: Case(margin_head("ProxyAnchorLoss"), embeddings),
        # training mode: the compiled forward also updates the centre buffer (a mutation
        # that fullgraph=True must capture); the loss uses the centres before the update
        "CenterLoss": lambda: Case(margin_head("CenterLoss"), embeddings),
        "WIoULoss": lambda: Case(wiou, lambda r: _boxes(r, N)),
    }


_CUSTOM = _custom_cases()


def _to_torch(a: np.ndarray, float_dtype=torch.float32, device=DEVICE) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.to(device, float_dtype) if t.is_floating_point() else t.to(device)


def _rng(cls) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(cls.__name__.encode()))


def _run(module, arrays, grad_args, *, float_dtype=torch.float32, differentiable=True, autocast=False, device=DEVICE):
    """Value and gradients (of the chosen inputs, then of the module's parameters)."""
    module.to(device)
    args = [_to_torch(a, float_dtype, device) for a in arrays]
    for i in grad_args:
        if differentiable:
            args[i].requires_grad_(True)
    params = [p for p in module.parameters() if p.requires_grad]
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=autocast):
        out = module(*args)
    if not differentiable:
        return out.detach(), []
    wrt = [args[i] for i in grad_args] + params
    total = out.sum() if out.ndim else out
    grads = torch.autograd.grad(total, wrt, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads)]
    return out.detach(), [g.detach() for g in grads]


# A few option sets that take another code path than the defaults (a fast path, another
# autograd.Function branch), tested like the defaults: class name -> list of options.
_VARIANTS = {
    "DiceLoss": [{"activation": "softmax"}],  # the fused softmax + integer-label path
    "CrossEntropyLoss": [{"label_smoothing": 0.1, "ignore_index": 1, "reduction": "none"}],
    "LinearCrossEntropyLoss": [{"reduction": "none", "chunk_size": 3}],  # recompute-in-backward
}

_CASES: dict[tuple, Case] = {}


def _case(cls, variant=None) -> Case:
    """The example for ``cls`` (cached: the candidate search runs the loss eagerly)."""
    variant = variant or {}
    key = (cls, tuple(sorted(variant.items())))
    if key not in _CASES:
        _CASES[key] = _find_case(cls, variant)
    return _CASES[key]


def _find_case(cls, variant) -> Case:
    """The example for ``cls``: its custom entry, or its loss's case-table row."""
    if cls.__name__ in _CUSTOM:
        return _CUSTOM[cls.__name__](**variant)
    name = _fn_name(cls)
    if name is None or not issubclass(cls, LossModule):
        pytest.fail(
            f"{cls.__name__} is exported by losskit.torch but is not a LossModule shell with a "
            "registered function: add an entry to _CUSTOM in tests/test_torch_compile_amp.py"
        )
    row = TABLE.get(name)
    if row is None:
        pytest.fail(f"{name}: no row in tests/cases (the case table gives every shell its inputs)")
    usable = [c for c in row.cases if all(isinstance(a, np.ndarray) for a in c.args)]
    if not usable:
        pytest.fail(f"{name}: no case whose arguments are all arrays in tests/cases")
    case = next((c for c in usable if c.grad), usable[0])
    opts = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in case.options.items()}
    opts.update(variant)
    differentiable = getattr(cls.function.__losskit__, "differentiable", True)
    arrays = tuple(case.args)
    return Case(lambda: cls(**opts), lambda r: arrays, differentiable=differentiable, note=case.id)


PARAMS = [pytest.param(c, {}, id=c.__name__) for c in MODULES] + [
    pytest.param(c, v, id=c.__name__ + "[" + ",".join(f"{k}={x}" for k, x in v.items()) + "]")
    for c in MODULES
    for v in _VARIANTS.get(c.__name__, [])
]


def _assert_close(actual, expected, rtol, what):
    """Elementwise ``|a - e| <= rtol * |e| + rtol * max|e|``: relative to each entry and to
    the largest one (an absolute floor would pass tiny gradients, e.g. a style loss's
    ~1e-6, without looking at them)."""
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(
        actual, expected, rtol=rtol, atol=rtol * scale + 1e-30, check_dtype=False, msg=lambda m: f"{what}: {m}"
    )


# --------------------------------------------------------------------------- tests


def test_discovery_finds_exported_modules():
    # The discovery itself can fail silently (an empty list makes every test vanish):
    # pin it to the names exported in losskit.torch.__all__.
    exported = {n for n in getattr(lt, "__all__", []) if isinstance(getattr(lt, n, None), type)}
    found = {c.__name__ for c in MODULES}
    assert found == {n for n in exported if issubclass(getattr(lt, n), torch.nn.Module) and n != "LossModule"}


@pytest.mark.parametrize("cls, variant", PARAMS)
def test_compile_fullgraph_matches_eager(cls, variant):
    case = _case(cls, variant)
    arrays = case.arrays(_rng(cls))
    module = case.make()
    eager_out, eager_grads = _run(copy.deepcopy(module), arrays, case.grad_args, differentiable=case.differentiable)

    torch._dynamo.reset()  # a fresh cache: no silent eager fallback from the recompile limit
    counter = torch._dynamo.testing.CompileCounterWithBackend(COMPILE_BACKEND)
    compiled = torch.compile(copy.deepcopy(module), fullgraph=True, backend=counter)
    out, grads = _run(compiled, arrays, case.grad_args, differentiable=case.differentiable)
    assert counter.frame_count >= 1, "torch.compile did not compile a graph"
    _assert_close(out, eager_out, 1e-5, "value")
    assert len(grads) == len(eager_grads)
    for i, (g, e) in enumerate(zip(grads, eager_grads)):
        _assert_close(g, e, 1e-5, f"gradient {i}")


# AMP tolerance, relative to the largest entry of the float32 result (values and each
# gradient): |amp - fp32| <= AMP_RTOL * max|fp32| + 1e-7 (the floor only for exact zeros).
AMP_RTOL = 0.03
# The perceptual losses run their feature extractor's convolutions in bf16 under
# autocast, forward and backward (only their distances stay float32): the image gradient
# through two VGG blocks differs by up to ~6.5% of its largest entry (measured).
_AMP_RTOL_OVERRIDES = {"PerceptualLoss": 0.1, "StyleLoss": 0.1, "LPIPSLoss": 0.1}


def _assert_amp_close(actual, expected, what, rtol=AMP_RTOL):
    assert torch.isfinite(actual).all(), f"{what}: not finite under autocast"
    expected = expected.float()
    actual = actual.float()
    scale = expected.abs().max().item() if expected.numel() else 0.0
    err = (actual - expected).abs().max().item() if expected.numel() else 0.0
    assert err <= rtol * scale + 1e-7, f"{what}: max |amp - fp32| = {err:.3g} > {rtol} * {scale:.3g} + 1e-7"


@pytest.mark.parametrize("cls, variant", PARAMS)
def test_autocast_bfloat16_finite_and_close_to_float32(cls, variant):
    case = _case(cls, variant)
    arrays = case.arrays(_rng(cls))
    module = case.make()
    kw = dict(differentiable=case.differentiable)
    rtol = _AMP_RTOL_OVERRIDES.get(cls.__name__, AMP_RTOL)
    # 1. float32 inputs, ops inside the loss autocast.
    ref_out, ref_grads = _run(copy.deepcopy(module), arrays, case.grad_args, **kw)
    out, grads = _run(copy.deepcopy(module), arrays, case.grad_args, autocast=True, **kw)
    _assert_amp_close(out, ref_out, "value (float32 inputs)", rtol)
    for i, (g, e) in enumerate(zip(grads, ref_grads)):
        _assert_amp_close(g, e, f"gradient {i} (float32 inputs)", rtol)
    # 2. bfloat16 inputs (what a model under autocast emits); the reference is float32
    # on the same bf16-rounded values, so only the loss's own rounding is measured.
    rounded = [
        a if a.dtype.kind != "f" else _to_torch(a).to(torch.bfloat16).double().cpu().numpy() for a in arrays
    ]
    ref_out, ref_grads = _run(copy.deepcopy(module), rounded, case.grad_args, **kw)
    out, grads = _run(
        copy.deepcopy(module), arrays, case.grad_args, float_dtype=torch.bfloat16, autocast=True, **kw
    )
    _assert_amp_close(out, ref_out, "value (bfloat16 inputs)", rtol)
    for i, (g, e) in enumerate(zip(grads, ref_grads)):
        _assert_amp_close(g, e, f"gradient {i} (bfloat16 inputs)", rtol)


@pytest.mark.parametrize("cls, variant", PARAMS)
def test_pickle_round_trip(cls, variant):
    case = _case(cls, variant)
    arrays = case.arrays(_rng(cls))
    module = case.make()
    clone = pickle.loads(pickle.dumps(module))
    assert type(clone) is type(module)
    assert repr(clone) == repr(module)
    sd, sd2 = module.state_dict(), clone.state_dict()
    assert sd.keys() == sd2.keys()
    for k in sd:
        torch.testing.assert_close(sd2[k], sd[k], rtol=0, atol=0)
    args = [_to_torch(a) for a in arrays]
    torch.testing.assert_close(clone.to(DEVICE)(*args), module.to(DEVICE)(*args), rtol=0, atol=0)


@pytest.mark.parametrize("cls, variant", PARAMS)
def test_repr_shows_options_and_docstring_points_to_function(cls, variant):
    case = _case(cls, variant)
    module = case.make()
    text = repr(module)
    assert text.startswith(cls.__name__ + "(")
    options = getattr(module, "options", None)
    if isinstance(options, dict):
        for name in options:
            assert f"{name}=" in text, f"option {name!r} missing from repr: {text}"
    fn = getattr(cls, "function", None)
    if fn is None:
        assert inspect.getdoc(cls), f"{cls.__name__} has no docstring"
        return
    doc = cls.__doc__ or ""
    refs = re.findall(r":func:`~?(losskit(?:\.\w+)+)`", doc)
    assert refs, f"{cls.__name__}'s docstring names no :func:`losskit...` function: {doc[:200]!r}"

    def resolve(path):
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for p in parts[i:]:
                obj = getattr(obj, p, None)
            return obj
        return None

    assert any(resolve(r) is fn for r in refs), f"{refs} do not resolve to {fn.__module__}.{fn.__name__}"
