"""Constants shared by the box family's reference code (:mod:`.losses`) and its backend
kernels (:mod:`._torch`, :mod:`._numba`), so that neither imports the other."""

from __future__ import annotations

import math

__all__ = ["FAST_KINDS", "ASPECT_K"]

#: The losses whose per-box kernel has fast paths (``boxes.numba``, ``boxes.torch``).
FAST_KINDS: frozenset[str] = frozenset({"giou", "diou", "ciou", "eiou", "siou"})

#: CIoU's v = 4 / pi^2 (atan(w_gt / h_gt) - atan(w / h))^2.
ASPECT_K: float = 4.0 / math.pi**2
