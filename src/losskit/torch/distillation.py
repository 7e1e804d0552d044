"""``nn.Module`` shells for the distillation losses (see :mod:`losskit.distillation`).

Each shell stores the options, shows them in ``repr`` and calls the function: no logic here.
"""

from __future__ import annotations

from .. import distillation as _distillation
from ._module import LossModule

__all__ = ["DistillationLoss", "JSDLoss"]


class DistillationLoss(LossModule):
    function = _distillation.distillation_loss


class JSDLoss(LossModule):
    function = _distillation.jsd_loss
