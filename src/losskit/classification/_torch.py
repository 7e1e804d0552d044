"""The torch fast path of :func:`losskit.cross_entropy`: torch's fused ``F.cross_entropy``.

Declared as ``classification.torch_cross_entropy`` in :mod:`.cross_entropy` (which calls it
through :func:`losskit._fastpath.select`); imported on first use only. The inputs arrive
validated and cast (logits in the compute dtype, the class weight in it too).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import check_labels_in_range
from .._reduce import TORCH_REDUCTION_ENUM

# The ignore_index torch is given when nothing is ignored: torch's kernel checks every other
# class index against [0, C) on the CPU (IndexError), so a label of -100 (its default) is an
# error here as everywhere. Only a label equal to this one value, int64's minimum, would be
# skipped unchecked; uint8/int16/int32 labels cannot hold it.
_NOTHING_IGNORED = -(2**63)


_has_torch_function = torch._C._has_torch_function_variadic
_cross_entropy_loss = torch._C._nn.cross_entropy_loss


def _fused(x, target, w, ii, reduction, smoothing):
    """``F.cross_entropy``: its binding called directly when no ``__torch_function__``
    override or mode is involved (what ``F.cross_entropy`` itself checks before making the
    same call; the options arrive validated, so its Python layer adds nothing)."""
    if _has_torch_function(x, target, w):
        return F.cross_entropy(x, target, weight=w, ignore_index=ii, reduction=reduction, label_smoothing=smoothing)
    return _cross_entropy_loss(x, target, w, TORCH_REDUCTION_ENUM[reduction], ii, smoothing)


def cross_entropy(x, target, w, ignore_index, smoothing, ax, index, reduction):
    """``F.cross_entropy`` with the class axis moved to 1 and the mean of an empty or
    all-ignored batch 0 (torch gives 0/0 = NaN). Class indices out of range raise the
    ValueError of :func:`losskit._checks.check_labels_in_range` (torch's kernel finds them:
    the caller does not check them first)."""
    logits = x  # before its class axis moves (the error message counts the classes)
    try:
        if ax != 1 and x.ndim > 1:
            x = x.movedim(ax, 1)
            if not index:
                target = target.movedim(ax, 1)
        if index:
            target = target if target.dtype == torch.int64 else target.long()
        else:
            target = target if target.dtype == x.dtype else target.to(x.dtype)
        ii = _NOTHING_IGNORED if ignore_index is None else ignore_index
        if reduction != "mean":
            return _fused(x, target, w, ii, reduction, smoothing)
        if not index or (ignore_index is None and w is None):
            # Plain mean over samples; an empty batch (a static shape, not a data branch) sums to 0.
            red = "mean" if target.numel() > 0 and x.numel() > 0 else "sum"
            return _fused(x, target, w, ii, red, smoothing)
        # torch's mean is sum / sum(w[y] over non-ignored); it is 0/0 = NaN when all are
        # ignored. Summing and dividing ourselves by a guarded denominator gives 0 with no
        # Python branch.
        total = _fused(x, target, w, ii, "sum", smoothing)
    except IndexError:
        if index:  # torch: "Target 7 is out of bounds."; ours names the argument and range
            check_labels_in_range("target", target, int(logits.shape[ax]), ignore_index=ignore_index)
        raise
    valid = target != ii
    if w is None:
        denom = valid.sum().to(x.dtype)
    else:
        safe_t = torch.where(valid, target, torch.zeros_like(target))
        denom = torch.where(valid, w[safe_t], torch.zeros((), dtype=x.dtype, device=x.device)).sum()
    return total / torch.where(denom == 0, torch.ones_like(denom), denom)
