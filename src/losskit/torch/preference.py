"""``nn.Module`` shells for the preference losses (see :mod:`losskit.preference`).

Each shell stores the options, shows them in ``repr`` and calls the function: no logic here.
``return_rewards=True`` makes ``forward`` return ``(loss, chosen_rewards, rejected_rewards)``.
"""

from __future__ import annotations

from .. import preference as _preference
from ._module import LossModule

__all__ = ["DPOLoss", "SimPOLoss", "ORPOLoss"]


class DPOLoss(LossModule):
    function = _preference.dpo_loss


class SimPOLoss(LossModule):
    function = _preference.simpo_loss


class ORPOLoss(LossModule):
    function = _preference.orpo_loss
