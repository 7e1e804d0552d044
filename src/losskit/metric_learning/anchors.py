"""The "local anchors against all references" form of the pair losses, for
``losskit.torch.distributed.GlobalBatchLoss(mode="local_anchors")``: a rank's own rows are
the anchors, the gathered global batch the references."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from .._checks import check_int, is_scalar_option
from .._xp import namespace
from ._pairs import check_batch
from .adasp import _adasp_from, adasp_loss
from .nt_xent import _ntxent_from, nt_xent_loss
from .pairs import (
    _circle_from,
    _contrastive_from,
    _ms_from,
    _triplet_from,
    batch_hard_triplet_loss,
    circle_loss,
    contrastive_loss,
    multi_similarity_loss,
)

__all__ = ["LOCAL_ANCHOR_LOSSES", "local_anchor_loss"]

# f(queries, query_labels, references, reference_labels, offset, **options, xp=xp): query
# row i is reference row offset + i.
_FORMS = {
    adasp_loss: _adasp_from,
    batch_hard_triplet_loss: _triplet_from,
    contrastive_loss: _contrastive_from,
    circle_loss: _circle_from,
    multi_similarity_loss: _ms_from,
    nt_xent_loss: _ntxent_from,
}

#: The names of the losses :func:`local_anchor_loss` supports.
LOCAL_ANCHOR_LOSSES = tuple(sorted(fn.__name__ for fn in _FORMS))


def local_anchor_loss(loss: Callable[..., Any], embeddings, labels, references, reference_labels, *,
                      offset: int, **options: Any):
    """A pair loss of ``embeddings`` (the anchors) against every row of ``references``.

    The anchors are rows ``offset .. offset + B_q`` of ``references`` (their self-pairs are
    left out, as in the full-batch loss); every other reference row is a positive or a
    negative of each anchor. With ``references = embeddings`` and ``offset = 0`` it is the
    loss itself. Reductions run over the anchors (AdaSP's per-identity terms use only the
    anchors of an identity; the non-zero mean of the triplet loss counts anchors).

    Args:
        loss: one of :data:`LOCAL_ANCHOR_LOSSES` (``losskit.adasp_loss``, ...).
        embeddings: (B_q, D) floating anchors.
        labels: (B_q,) integer labels of the anchors.
        references: (B, D) floating array of the same library (the global batch).
        reference_labels: (B,) integer labels of the references.
        offset: the row of ``references`` that is anchor 0.
        **options: the loss's keyword options (its defaults for those not given).

    Returns:
        What ``loss`` returns for its anchors, in the compute dtype of ``embeddings``.

    Example:
        >>> import numpy as np, losskit
        >>> from losskit.metric_learning import local_anchor_loss
        >>> e, y = np.random.default_rng(0).normal(size=(6, 3)), np.array([0, 0, 1, 1, 2, 2])
        >>> full = losskit.nt_xent_loss(e, y, reduction="sum")
        >>> halves = [local_anchor_loss(losskit.nt_xent_loss, e[i:i + 3], y[i:i + 3], e, y,
        ...                             offset=i, reduction="sum") for i in (0, 3)]
        >>> bool(np.isclose(sum(halves), full))
        True
    """
    form = _FORMS.get(loss)
    if form is None:
        raise ValueError(f"loss: expected one of the losskit pair losses ({', '.join(LOCAL_ANCHOR_LOSSES)}), "
                         f"got {getattr(loss, '__name__', loss)!r}")
    params = inspect.signature(loss).parameters.values()
    full = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    unknown = sorted(set(options) - set(full))
    if unknown:
        raise TypeError(f"{loss.__name__}: unexpected options {', '.join(unknown)}")
    full.update(options)
    # Validate exactly as the full-batch call would (shapes, dtypes, options; number options
    # become Python floats), on empty slices so that it costs nothing.
    loss(embeddings[:0, ...], labels[:0], **full)
    xp = namespace(embeddings, labels, references, reference_labels)
    q = check_batch(embeddings, labels, xp)
    r = check_batch(references, reference_labels, xp)
    if r.dtype != q.dtype:
        r = xp.astype(r, q.dtype)
    offset = check_int("offset", offset, allow_none=False, low=0)
    if offset > r.shape[0] - q.shape[0]:
        raise ValueError(f"offset: expected an int <= {r.shape[0] - q.shape[0]} (references minus anchors), "
                         f"got {offset}")
    full = {k: float(v) if is_scalar_option(v) else v for k, v in full.items()}
    return form(q, labels, r, reference_labels, offset, xp=xp, **full)
