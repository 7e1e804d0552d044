"""Hand-derived PyTorch kernels for the box losses (being written).

``KINDS`` lists the losses that have a fast path; ``losses.py`` dispatches to
``elementwise(kind, pred, target, eps=..., **options)`` for torch tensors of those kinds.
"""

KINDS: frozenset[str] = frozenset()
