"""``value_and_grad``: a loss's value and its gradient with respect to ``input``, any backend."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, Callable

from ._xp import backend_name, namespace, to_numpy

__all__ = ["value_and_grad"]

# backend_name -> the LossInfo.backends entry it falls under
_BACKENDS = {"numpy": "numpy", "torch": "torch", "jax": "jax"}


def value_and_grad(loss: Callable[..., Any]) -> Callable[..., tuple[Any, Any]]:
    """Wrap ``loss`` into ``f(input, *args, **options) -> (value, d value / d input)``.

    The path depends on where ``input`` lives:

    * **torch** tensors: ``torch.autograd`` (the tensor does not need ``requires_grad``).
    * **jax** arrays: ``jax.value_and_grad`` (works under ``jax.jit``).
    * **NumPy** (and other array-API) arrays: the loss's hand-derived gradient when one is
      registered (``losskit.get(name).grad``); otherwise the arrays are handed to an
      installed autodiff framework (torch first, in float64; then jax) and the results come
      back as NumPy; with neither installed, an ``ImportError`` says what to install.

    For ``reduction="none"`` the gradient is that of ``sum(value)``. Only ``input`` is
    differentiated; targets and options are constants.

    Example:
        >>> import numpy as np, losskit
        >>> f = losskit.value_and_grad(losskit.mse_loss)
        >>> value, grad = f(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
        >>> float(value), grad.tolist()
        (2.5, [1.0, 2.0])
    """

    info = getattr(loss, "__losskit__", None)

    @functools.wraps(loss)
    def wrapped(input, *args, **kwargs):
        xp = namespace(input)
        name = backend_name(xp)
        if info is not None and _BACKENDS.get(name, "array-api") not in info.backends:
            raise TypeError(f"input: {info.name} runs on {', '.join(info.backends)} arrays only, "
                            f"got a {name} array")
        if name == "torch":
            return _torch_value_and_grad(loss, input, args, kwargs)
        if name == "jax":
            return _jax_value_and_grad(loss, input, args, kwargs)
        grad_fn = getattr(loss, "__losskit_grad__", None)
        if grad_fn is not None:
            return grad_fn(input, *args, **kwargs)
        return _numpy_via_framework(loss, input, args, kwargs)

    return wrapped


def _sum_if_needed(value):
    return value if value.ndim == 0 else value.sum()


def _torch_value_and_grad(loss, input, args, kwargs):
    import torch

    x = input.detach().requires_grad_(True)
    with torch.enable_grad():
        value = loss(x, *args, **kwargs)
        (grad,) = torch.autograd.grad(_sum_if_needed(value), x, allow_unused=True)
    if grad is None:  # the loss does not depend on input (e.g. zero_one_loss)
        grad = torch.zeros_like(x)
    return value.detach(), grad


def _jax_value_and_grad(loss, input, args, kwargs):
    import jax
    import jax.numpy as jnp

    def scalar(x):
        value = loss(x, *args, **kwargs)
        return jnp.sum(value), value

    (_, value), grad = jax.value_and_grad(scalar, has_aux=True)(input)
    return value, grad


def _numpy_via_framework(loss, input, args, kwargs):
    import numpy as np

    def convert(a, to):
        if hasattr(a, "shape") and hasattr(a, "dtype"):
            return to(to_numpy(a))
        return a

    if importlib.util.find_spec("torch") is not None:
        import torch

        def to(a):
            # np.array, not np.ascontiguousarray: that one makes a 0-d array 1-d, and the
            # gradient of a 0-d input came back with shape (1,).
            t = torch.from_numpy(np.array(a, copy=True))
            return t.double() if t.is_floating_point() else t

        value, grad = _torch_value_and_grad(
            loss,
            to(to_numpy(input)),
            tuple(convert(a, to) for a in args),
            {k: convert(v, to) for k, v in kwargs.items()},
        )
        return value.numpy(), grad.numpy()
    if importlib.util.find_spec("jax") is not None:
        import jax.numpy as jnp

        # jax computes in float32 unless the user enabled jax_enable_x64.
        to = jnp.asarray
        value, grad = _jax_value_and_grad(
            loss,
            to(to_numpy(input)),
            tuple(convert(a, to) for a in args),
            {k: convert(v, to) for k, v in kwargs.items()},
        )
        return np.asarray(value), np.asarray(grad)
    name = getattr(loss, "__name__", "this loss")
    raise ImportError(
        f"{name} has no hand-derived gradient for NumPy arrays; install an autodiff backend: "
        "pip install 'losskit[torch]' or 'losskit[jax]'"
    )
