"""Name -> loss metadata for every public loss (``losskit.get``, ``losskit.names``).

The family modules mark their public losses with :func:`losskit._meta.loss`; this module
collects them, once, the first time it is asked. Names are case-insensitive and ``-``
is read as ``_`` (``losskit info smooth-l1-loss`` works); aliases such as ``mse`` map to
the canonical name.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Iterator

from ._meta import FAMILIES, LossInfo

__all__ = ["get", "names", "infos", "LossInfo"]

_FAMILY_MODULES = (
    "losskit.textbook",
    "losskit.regression",
    "losskit.classification",
    "losskit.segmentation",
    "losskit.boxes",
    "losskit.metric_learning",
    "losskit.rotated_boxes",
    "losskit.detection",
    "losskit.distillation",
    "losskit.preference",
    "losskit.image",
)

_by_name: dict[str, LossInfo] = {}
_aliases: dict[str, str] = {}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _load() -> None:
    if _by_name:
        return
    found: dict[str, LossInfo] = {}
    aliases: dict[str, str] = {}
    for modname in _FAMILY_MODULES:
        module = importlib.import_module(modname)
        for attr in getattr(module, "__all__", dir(module)):
            info = getattr(getattr(module, attr, None), "__losskit__", None)
            if info is None or info.name in found:
                continue
            found[info.name] = info
    for info in found.values():
        for alias in info.aliases:
            key = _normalize(alias)
            if key in found or aliases.get(key, info.name) != info.name:
                raise RuntimeError(f"alias {alias!r} of {info.name!r} is already taken")
            aliases[key] = info.name
    _aliases.update(aliases)
    _by_name.update(found)


def get(name: str) -> LossInfo:
    """The :class:`LossInfo` of a loss by name or alias (``"mse"``, ``"giou_loss"``, ...).

    Raises ``ValueError`` naming close matches when the name is unknown.

    Example:
        >>> import losskit
        >>> info = losskit.get("mse")
        >>> info.name, info.family
        ('mse_loss', 'regression')
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    _load()
    key = _normalize(name)
    key = _aliases.get(key, key)
    if key in _by_name:
        return _by_name[key]
    close = difflib.get_close_matches(key, list(_by_name) + list(_aliases), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `losskit list`"
    raise ValueError(f"name: expected a registered loss, got {name!r}{hint}")


def names(family: str | None = None) -> list[str]:
    """Sorted canonical names of the registered losses, optionally of one family."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family: expected one of {', '.join(FAMILIES)}, got {family!r}")
    _load()
    return sorted(n for n, i in _by_name.items() if family is None or i.family == family)


def infos() -> Iterator[LossInfo]:
    """Every registered loss's :class:`LossInfo`, by family then name."""
    _load()
    order = {f: i for i, f in enumerate(FAMILIES)}
    yield from sorted(_by_name.values(), key=lambda i: (order[i.family], i.name))
