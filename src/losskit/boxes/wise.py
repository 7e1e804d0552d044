r"""Wise-IoU (Tong et al. 2023): the IoU loss with a distance attention and a dynamic,
non-monotonic focusing mechanism driven by a running mean of the IoU loss.

The running mean :math:`\overline{\mathcal{L}_{IoU}}` is *state*. This module stays
functional: :func:`wiou_loss` takes the current mean as ``iou_mean`` and
:func:`wiou_update_mean` returns the next one (JAX / NumPy users keep it in their training
state). ``losskit.torch.WIoULoss`` keeps it as a buffer (saved in ``state_dict``), updated in
training mode only.

Facts from the paper and the authors' code (github.com/Instinct323/wiou):

* the mean starts at 1.0 and is updated with momentum :math:`m` on each training call,
  :math:`\bar L \leftarrow (1 - m) \bar L + m\, \mathrm{mean}(\mathcal{L}_{IoU})`, *before*
  the loss is computed (the current batch takes part in its own normaliser);
* :math:`m = 1 - 0.05^{1/(n t)}`, with :math:`n` batches per epoch and :math:`t` the epoch
  at which the mAP's rise slows down (the initial value then weighs 5%): see
  :func:`wiou_momentum`. The authors' example run (n = 890, t = 34) gives m ~ 9.9e-5, the
  default here;
* v3's best hyperparameters on COCO: alpha = 1.9, delta = 3.
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import check_array, check_number, eager_min, is_scalar_option
from .._reduce import reduce_loss
from .._xp import as_float, namespace, size, stop_gradient
from ._common import loss
from ._geometry import Pair, prepare

__all__ = ["wiou_loss", "wiou_update_mean", "wiou_momentum", "WIOU_DEFAULT_MOMENTUM", "WIOU_MEAN_FLOOR"]


def wiou_momentum(batches_per_epoch: int, epochs: float) -> float:
    """The paper's running-mean momentum :math:`m = 1 - 0.05^{1/(n t)}`.

    Args:
        batches_per_epoch: :math:`n`, training batches per epoch (> 0).
        epochs: :math:`t`, the epoch by which the initial mean should weigh only 5%
            (the paper: when the mAP's rise slows down markedly).

    Returns:
        The momentum, a Python float in (0, 1).

    References:
        Tong et al., Wise-IoU: Bounding Box Regression Loss with Dynamic Focusing
        Mechanism, 2023, arXiv:2301.10051.

    Example:
        >>> from losskit.boxes import wiou_momentum
        >>> f"{wiou_momentum(890, 34):.3e}"
        '9.899e-05'
    """
    check_number("batches_per_epoch", batches_per_epoch, low=0.0, low_open=True)
    check_number("epochs", epochs, low=0.0, low_open=True)
    return 1.0 - 0.05 ** (1.0 / (batches_per_epoch * epochs))


# The authors' example run: 890 batches per epoch, slowdown at epoch 34.
WIOU_DEFAULT_MOMENTUM = 1.0 - 0.05 ** (1.0 / (890 * 34))


#: The smallest running mean :func:`wiou_update_mean` returns (float32's smallest normal
#: number): a run of perfect batches (IoU loss 0) with a large momentum drives the mean
#: toward 0, where float32 or float64 would underflow to exactly 0 -- a state the loss
#: rejects. The loss floors the mean at ``eps`` anyway, so this floor changes no loss value.
WIOU_MEAN_FLOOR = 2.0**-126


def _is_number(value: Any) -> bool:
    """A Python or NumPy scalar (``np.float64(0.5)``): a number on every backend, not an
    array of another library. A 0-d array (of any library) is an array."""
    return is_scalar_option(value) and type(value).__name__ != "ndarray"


def _wiou_options(*, version=1, iou_mean=None, alpha=1.9, delta=3.0, gamma=0.5):
    """Wise-IoU's options validated (``iou_mean`` still as given: resolved against the
    boxes by :func:`_kernel_options`)."""
    if isinstance(version, bool) or version not in (1, 2, 3):
        raise ValueError(f"version: expected one of 1, 2, 3, got {version!r}")
    check_number("alpha", alpha, low=0.0, low_open=True)
    check_number("delta", delta, low=0.0, low_open=True)
    check_number("gamma", gamma, low=0.0, low_open=True)
    # A Python or NumPy scalar is a number, whatever the boxes' library (is_scalar_option).
    if iou_mean is not None and (_is_number(iou_mean) or not hasattr(iou_mean, "shape")):
        check_number("iou_mean", iou_mean, low=0.0, low_open=True)
    return dict(version=int(version), iou_mean=iou_mean, alpha=alpha, delta=delta, gamma=gamma)


def _resolve_iou_mean(iou_mean: Any, xp, p):
    """``iou_mean`` as a float or a detached 0-d array of ``p``'s dtype (``None`` stays)."""
    if iou_mean is None or _is_number(iou_mean) or not hasattr(iou_mean, "shape"):
        return None if iou_mean is None else float(iou_mean)
    check_array("iou_mean", iou_mean)
    if tuple(iou_mean.shape) not in ((), (1,)):
        raise ValueError(f"iou_mean: expected a scalar (0-d array), got shape {tuple(iou_mean.shape)}")
    try:
        namespace(p, iou_mean)
    except TypeError:
        raise TypeError(
            f"iou_mean: expected a number or an array of the boxes' library, got {type(iou_mean).__name__}"
        ) from None
    v = eager_min(iou_mean)  # None when traced or on an accelerator (no sync per step)
    if v is not None and not v > 0:
        raise ValueError(f"iou_mean: expected a positive running mean, got {v}")
    m = as_float(iou_mean, xp, p.dtype)
    m = xp.reshape(m, ())
    # The normaliser is a statistic of past batches: a constant for the gradient.
    return stop_gradient(m, xp)


def _kernel_options(opts: dict, xp, p) -> dict:
    """Validated options as :func:`_wiou` takes them: the running mean resolved for v2/v3
    (v1 has no focusing and ignores it), the numbers as floats."""
    out = dict(opts)
    out["iou_mean"] = _resolve_iou_mean(opts["iou_mean"], xp, p) if opts["version"] != 1 else None
    for name in ("alpha", "delta", "gamma"):
        out[name] = float(opts[name])
    return out


def _wiou(p, t, xp, *, eps, version=1, iou_mean=None, alpha=1.9, delta=3.0, gamma=0.5):
    g = Pair(p, t, xp, eps)
    l_iou = 1.0 - g.iou
    # R_WIoU = exp(rho^2 / (Wg^2 + Hg^2)*): the enclosing diagonal is detached (the paper's
    # superscript *) so that R does not push the boxes to grow the enclosing box, which
    # would hinder convergence. eps: both boxes collapsed to one point give 0 / 0.
    r = xp.exp(g.rho2 / stop_gradient(g.c2 + eps, xp))
    l1 = r * l_iou
    if version == 1:
        return l1
    # The outlier degree beta = L_IoU* / mean is detached (the paper's superscript *): the
    # focusing factor rescales the v1 gradient and contributes no gradient of its own.
    l_iou_d = stop_gradient(l_iou, xp)
    if iou_mean is None:
        # No running mean given: the batch's own mean (momentum 1), detached like the paper's
        # (an empty batch gives 0: it has nothing to normalise, its loss is empty anyway).
        mean = reduce_loss(l_iou_d, "mean", xp)
    else:
        mean = iou_mean
    # max(mean, eps): a batch of perfect boxes has mean 0; beta = 0 / eps = 0, not 0 / 0.
    if isinstance(mean, float):
        mean = max(mean, eps)
    else:
        mean = xp.maximum(mean, xp.full_like(mean, eps))
    beta = l_iou_d / mean  # the outlier degree, a constant for the gradient
    if version == 2:
        # Monotonic focusing: (L_IoU* / mean)^gamma L_v1 (gamma = 0.5 in the paper).
        return beta**gamma * l1
    # Non-monotonic focusing: r = beta / (delta alpha^(beta - delta)).
    focus = beta / (delta * xp.exp((beta - delta) * math.log(alpha)))
    return focus * l1


@loss(
    formula=(
        r"\mathcal{L}_{WIoUv3} = r\, \mathcal{R}_{WIoU} \mathcal{L}_{IoU},\ "
        r"\mathcal{R}_{WIoU} = \exp\frac{\rho^2}{(W_g^2 + H_g^2)^*},\ "
        r"r = \frac{\beta}{\delta \alpha^{\beta - \delta}},\ "
        r"\beta = \frac{\mathcal{L}_{IoU}^*}{\overline{\mathcal{L}_{IoU}}}"
    ),
    reference=(
        "Tong et al., Wise-IoU: Bounding Box Regression Loss with Dynamic Focusing "
        "Mechanism, 2023, arXiv:2301.10051"
    ),
    aliases=("wiou", "wise_iou_loss"),
    plot="box",
)
def wiou_loss(
    pred,
    target,
    *,
    version: int = 1,
    iou_mean: Any = None,
    alpha: float = 1.9,
    delta: float = 3.0,
    gamma: float = 0.5,
    fmt: str = "xyxy",
    eps: float = 1e-7,
    reduction: str = "mean",
):
    r"""Wise-IoU loss (v1, v2 or v3): IoU loss with distance attention and dynamic focusing.

    .. math::

        \mathcal{L}_{v1} = \mathcal{R}_{WIoU} \mathcal{L}_{IoU}, \quad
        \mathcal{L}_{v2} = \left(\frac{\mathcal{L}_{IoU}^*}{\overline{\mathcal{L}_{IoU}}}\right)^{\gamma}
        \mathcal{L}_{v1}, \quad
        \mathcal{L}_{v3} = \frac{\beta}{\delta \alpha^{\beta - \delta}} \mathcal{L}_{v1}

    where

    - :math:`\mathcal{L}_{IoU} = 1 - IoU`,
    - :math:`\mathcal{R}_{WIoU} = \exp\left(\frac{\rho^2(b, b^{gt})}{(W_g^2 + H_g^2 + \epsilon)^*}\right)`,
      :math:`\rho` the centre distance, :math:`W_g, H_g` the enclosing box's size,
    - :math:`\beta = \mathcal{L}_{IoU}^* / \overline{\mathcal{L}_{IoU}}` the outlier degree,
    - :math:`^*` marks a term detached from the gradient and
      :math:`\overline{\mathcal{L}_{IoU}}` is the running mean (``iou_mean``).

    Args:
%(boxes)s
        version: 1 (default; stateless), 2 (monotonic focusing) or 3 (non-monotonic, the
            paper's final Wise-IoU).
        iou_mean: the running mean of the IoU loss for v2/v3: a positive number or a 0-d
            array of the boxes' library (a constant for the gradient). Keep it with
            :func:`wiou_update_mean` (or use ``losskit.torch.WIoULoss``). ``None`` uses the
            current batch's mean (momentum 1). Ignored by v1.
        alpha: v3's :math:`\alpha > 0` (paper: 1.9).
        delta: v3's :math:`\delta > 0` (paper: 3; r = 1 where :math:`\beta = \delta`).
        gamma: v2's exponent :math:`\gamma > 0` (paper: 0.5).
%(fmt_eps_reduction)s

    Returns:
%(returns)s

    Notes:
        Only the enclosing diagonal is detached in :math:`\mathcal{R}_{WIoU}`: the centre
        distance keeps its gradient. The authors' code updates the running mean *before*
        computing the loss in training mode; ``WIoULoss`` does the same. The default
        ``version=1`` keeps the function stateless; the module defaults to v3.

    References:
        Tong et al., Wise-IoU: Bounding Box Regression Loss with Dynamic Focusing
        Mechanism, 2023, arXiv:2301.10051.

    Example:
        >>> import numpy as np, losskit
        >>> p = np.array([1.0, 0.0, 3.0, 2.0]); t = np.array([0.0, 0.0, 2.0, 2.0])
        >>> # L_IoU = 2/3, R = exp(1 / 13)
        >>> round(float(losskit.wiou_loss(p, t)), 4)
        0.72
        >>> # v3 at beta = delta: r = 1 (iou_mean = L_IoU / 3)
        >>> round(float(losskit.wiou_loss(p, t, version=3, iou_mean=2 / 9)), 4)
        0.72
    """
    opts = _wiou_options(version=version, iou_mean=iou_mean, alpha=alpha, delta=delta, gamma=gamma)
    xp, p, t = prepare(pred, target, fmt, eps, reduction)
    return reduce_loss(_wiou(p, t, xp, eps=eps, **_kernel_options(opts, xp, p)), reduction, xp)


def wiou_update_mean(iou_mean: Any, batch_iou_loss: Any, *, momentum: float = WIOU_DEFAULT_MOMENTUM):
    r"""The next running mean of the IoU loss for Wise-IoU v2/v3 (pure; no gradient).

    .. math::

        \overline{\mathcal{L}_{IoU}} \leftarrow (1 - m)\, \overline{\mathcal{L}_{IoU}}
        + m \cdot \mathrm{mean}(\mathcal{L}_{IoU})

    Args:
        iou_mean: the current mean (start with 1.0, the paper's initial value): a number or
            a 0-d array.
        batch_iou_loss: this batch's IoU losses :math:`1 - IoU` (an array of any shape,
            e.g. ``1 - losskit.box_iou(pred, target)``; its mean is used) or a number.
        momentum: :math:`m \in [0, 1]`; see :func:`wiou_momentum` for the paper's rule.
            Default: the authors' example run, about 9.9e-5.

    Returns:
        The new mean, detached: a Python float if both inputs are numbers (Python or NumPy
        scalars), else a 0-d array of the arrays' library in the compute dtype of
        ``batch_iou_loss`` when it is an array, else of ``iou_mean`` (float64 stays float64,
        anything else float32). An empty batch leaves the mean unchanged. The new mean is
        at least :data:`WIOU_MEAN_FLOOR` (2^-126), so that valid use never drives the state
        to 0 (``momentum=1`` and a perfect batch would; so would float underflow after a
        long run of perfect batches), which :func:`losskit.wiou_loss` rejects; the loss
        floors the mean at ``eps`` anyway. Works under ``jax.jit``.

    References:
        Tong et al., Wise-IoU: Bounding Box Regression Loss with Dynamic Focusing
        Mechanism, 2023, arXiv:2301.10051.

    Example:
        >>> import numpy as np
        >>> from losskit import wiou_update_mean
        >>> float(wiou_update_mean(1.0, np.array([0.2, 0.4]), momentum=0.5))  # 0.5 + 0.5 * 0.3
        0.65
    """
    check_number("momentum", momentum, low=0.0, high=1.0)
    momentum = float(momentum)

    def is_array(a):
        return hasattr(a, "shape") and not _is_number(a)

    arrays = [a for a in (iou_mean, batch_iou_loss) if is_array(a)]
    if not arrays:
        check_number("iou_mean", iou_mean)
        check_number("batch_iou_loss", batch_iou_loss)
        new = (1.0 - momentum) * float(iou_mean) + momentum * float(batch_iou_loss)
        return max(new, WIOU_MEAN_FLOOR)
    xp = namespace(*arrays)
    ref = arrays[-1]
    dtype = as_float(ref, xp).dtype
    # The running mean is a statistic of past batches, never differentiated: both inputs
    # are detached, so the new mean carries no graph from this batch's boxes.
    if is_array(batch_iou_loss):
        b = stop_gradient(as_float(batch_iou_loss, xp, dtype), xp)
        n = size(b)
        if n == 0:
            batch_mean = None
        else:
            batch_mean = xp.sum(b) / n
    else:
        check_number("batch_iou_loss", batch_iou_loss)
        batch_mean = float(batch_iou_loss)
    if is_array(iou_mean):
        m = xp.reshape(stop_gradient(as_float(iou_mean, xp, dtype), xp), ())
    else:
        check_number("iou_mean", iou_mean)
        m = xp.asarray(float(iou_mean), dtype=dtype, device=getattr(ref, "device", None))
    if batch_mean is None:
        return m
    new = (1.0 - momentum) * m + momentum * batch_mean
    return xp.maximum(new, xp.full_like(new, WIOU_MEAN_FLOOR))
