"""losskit: loss functions written once for NumPy, PyTorch and JAX.

Every loss takes arrays of any array-API library (NumPy, PyTorch, JAX, ...) and returns
an array of the same library, on the same device. ``losskit.get(name)`` and
``losskit.names()`` describe them; ``losskit.torch`` has ``nn.Module`` shells.

The public names are listed once, in ``__init__.pyi`` (which type checkers read). This
module loads each from its module the first time it is asked for (PEP 562), so that
``import losskit`` costs a file read rather than the families and NumPy; after the first
use a name is an ordinary module attribute.
"""

__version__ = "0.1.0"


def _read_exports(path: str) -> dict[str, str]:
    """Public name -> the module it comes from (``"regression"``, ``""`` for a submodule)."""
    exports: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0] != "from":
                continue
            if len(words) != 6 or words[2:5:2] != ["import", "as"] or words[3] != words[5]:
                raise ImportError(f"{path}:{number}: expected 'from MODULE import NAME as NAME'")
            exports[words[3]] = words[1][1:]
    return exports


_EXPORTS = _read_exports(__file__[: -len(".py")] + ".pyi")
# The modules the names come from are attributes too (``losskit.segmentation``), as they
# were when this module imported them eagerly.
_MODULES = {m for m in _EXPORTS.values() if m} | {n for n, m in _EXPORTS.items() if not m}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    import importlib

    if name in _EXPORTS:
        module = _EXPORTS[name]
        value = (importlib.import_module(f"{__name__}.{name}") if not module
                 else getattr(importlib.import_module(f"{__name__}.{module}"), name))
    elif name in _MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _MODULES)
