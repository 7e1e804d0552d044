"""``nn.Module`` shells of the regression losses (see :mod:`losskit.regression`).

Each shell stores its options (shown in ``repr``) and its ``forward`` is one call to the
function; ``GaussianNLLLoss.forward(input, target, var)`` takes the variance as an input,
as ``torch.nn.GaussianNLLLoss`` does.
"""

from .. import regression as _r
from ._module import LossModule

__all__ = [
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "LogCoshLoss",
    "QuantileLoss",
    "CharbonnierLoss",
    "MSLELoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
]


class MSELoss(LossModule):
    function = _r.mse_loss


class L1Loss(LossModule):
    function = _r.l1_loss


class HuberLoss(LossModule):
    function = _r.huber_loss


class SmoothL1Loss(LossModule):
    function = _r.smooth_l1_loss


class LogCoshLoss(LossModule):
    function = _r.log_cosh_loss


class QuantileLoss(LossModule):
    function = _r.quantile_loss


class CharbonnierLoss(LossModule):
    function = _r.charbonnier_loss


class MSLELoss(LossModule):
    function = _r.msle_loss


class PoissonNLLLoss(LossModule):
    function = _r.poisson_nll_loss


class GaussianNLLLoss(LossModule):
    function = _r.gaussian_nll_loss
