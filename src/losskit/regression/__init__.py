r"""Regression losses: squared, absolute, Huber, smooth-L1, log-cosh, quantile (pinball),
Charbonnier, squared log error, Poisson and Gaussian negative log-likelihood.

Every loss here is elementwise: it takes a prediction ``input`` and a ``target`` of the same
shape (``gaussian_nll_loss`` also a variance), computes one value per element, multiplies
by an optional broadcastable ``weight`` (an array, or one number for every element) and
reduces with :func:`losskit._reduce.reduce_loss` (``"mean"`` is the *weighted* mean
``sum(w l) / sum(w)``, as scikit-learn's ``sample_weight``). Names and semantics follow
``torch.nn.functional`` where torch has the loss; scikit-learn where it has the metric
(pinball, squared log error); optax for log-cosh.

The arrays may come from any array-API library (NumPy, PyTorch, JAX, ...). The prediction
(a floating array: an integer prediction raises ``TypeError``) decides the library, device
and dtype: float64 stays float64; float32, float16 and bfloat16 predictions are computed and
returned in float32. Targets may be floating or integer (counts, labels) and are cast to the
prediction's compute dtype.

The five losses with a closed-form derivative (mse, l1, huber, smooth_l1, log_cosh) carry a
hand-derived gradient (``@analytic_grad``) that :func:`losskit.value_and_grad` uses on NumPy.
At a kink (a zero residual for l1, ``|d| = delta`` for Huber, a tie in the pinball loss)
every backend returns the subgradient of :mod:`losskit._xp`'s convention.

Layout: :mod:`.elementwise` (mse, l1, huber, smooth-l1, log-cosh, quantile, charbonnier,
msle), :mod:`.likelihood` (Poisson, Gaussian), ``_common`` (validation), ``_torch`` (the
``regression.torch_native`` and ``regression.torch_log_cosh`` fast paths).
"""

from . import elementwise, likelihood
from .elementwise import (
    charbonnier_loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mse_loss,
    msle_loss,
    quantile_loss,
    smooth_l1_loss,
)
from .likelihood import gaussian_nll_loss, poisson_nll_loss

# the topical modules' own lists, in their order (one list of names per module)
__all__: list[str] = []
__all__ += elementwise.__all__
__all__ += likelihood.__all__
