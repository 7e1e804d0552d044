"""A two-layer network for the digits, trained through losskit's losses and gradients.

The network is the seed article's sequel's ``TwoLayerNet``: ``x -> affine -> sigmoid ->
affine -> logits``. The sigmoid (not ReLU) is deliberate: no hidden unit is ever exactly
inactive, so the loss is a smooth function of every weight and the "staircase" study can
say that a zero loss derivative is a real event, not a dead unit.

Two heads, both written with losskit's production losses:

* ``"cross_entropy"``: ``losskit.cross_entropy(logits, labels)`` (mean over the batch);
* ``"squared_error"``: ``losskit.mse_loss(softmax(logits), one_hot(labels), reduction="sum")``
  divided by the batch size, i.e. the squared error summed over classes and averaged over
  samples (twice the textbook's batch ``mean_squared_error``, which halves the sum).

In NumPy the gradient of the head with respect to the logits comes from
``losskit.value_and_grad`` (the losses' hand-derived gradients), and is propagated through
the two layers by hand (backpropagation). :func:`backend_loss` is the same network written
against the array API, for training with torch's or jax's autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit
from losskit import _xp

HEADS = ("cross_entropy", "squared_error")
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def init_params(n_in: int, n_hidden: int, n_out: int, rng: np.random.Generator, dtype=np.float64) -> dict:
    """Weights drawn from N(0, 1/fan_in) (Xavier/LeCun scale), biases zero."""
    return {
        "W1": (rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)).astype(dtype),
        "b1": np.zeros(n_hidden, dtype=dtype),
        "W2": (rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)).astype(dtype),
        "b2": np.zeros(n_out, dtype=dtype),
    }


def forward(params: dict, x: Any, xp=None) -> tuple[Any, Any]:
    """(hidden activations, logits) for a batch ``x`` of shape (N, n_in), any backend."""
    xp = _xp.namespace(x) if xp is None else xp
    hidden = _xp.sigmoid(x @ params["W1"] + params["b1"], xp)
    return hidden, hidden @ params["W2"] + params["b2"]


def head_value_and_grad(logits: np.ndarray, labels: np.ndarray, head: str) -> tuple[float, np.ndarray]:
    """The loss and its gradient with respect to the logits (NumPy, losskit's gradients)."""
    if head == "cross_entropy":
        value, grad = losskit.value_and_grad(losskit.cross_entropy)(logits, labels)
        return float(value), np.asarray(grad)
    if head == "squared_error":
        n = logits.shape[0]
        xp = _xp.namespace(logits)
        p = _xp.softmax(logits, xp, axis=1)
        value, dp = losskit.value_and_grad(losskit.mse_loss)(
            p, _xp.one_hot(labels, logits.shape[1], xp, axis=1, dtype=logits.dtype), reduction="sum"
        )
        dp = np.asarray(dp) / n
        # Backward through the softmax: J^T v = p * (v - <v, p>) row by row.
        dlogits = p * (dp - np.sum(dp * p, axis=1, keepdims=True))
        return float(value) / n, dlogits
    raise ValueError(f"head: expected one of {', '.join(HEADS)}, got {head!r}")


def _head_loss(logits: Any, labels: Any, head: str, xp) -> Any:
    """The head's loss of the logits (a 0-d array of their backend)."""
    if head == "cross_entropy":
        return losskit.cross_entropy(logits, labels)
    if head == "squared_error":
        p = _xp.softmax(logits, xp, axis=1)
        onehot = _xp.one_hot(labels, logits.shape[1], xp, axis=1, dtype=logits.dtype)
        return losskit.mse_loss(p, onehot, reduction="sum") / logits.shape[0]
    raise ValueError(f"head: expected one of {', '.join(HEADS)}, got {head!r}")


def loss(params: dict, x: np.ndarray, labels: np.ndarray, head: str) -> float:
    """The loss of the network on a batch (forward pass only)."""
    _, logits = forward(params, x)
    return float(_head_loss(logits, labels, head, _xp.namespace(logits)))


def accuracy(params: dict, x: np.ndarray, labels: np.ndarray) -> float:
    _, logits = forward(params, x)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def loss_and_grads(params: dict, x: np.ndarray, labels: np.ndarray, head: str) -> tuple[float, dict]:
    """Loss and the gradient of every parameter by backpropagation (NumPy)."""
    hidden, logits = forward(params, x)
    value, dlogits = head_value_and_grad(logits, labels, head)
    grads = {
        "W2": hidden.T @ dlogits,
        "b2": np.sum(dlogits, axis=0),
    }
    dhidden = dlogits @ params["W2"].T
    dpre = dhidden * hidden * (1.0 - hidden)  # sigmoid'(a) = s (1 - s)
    grads["W1"] = x.T @ dpre
    grads["b1"] = np.sum(dpre, axis=0)
    return value, grads


def numerical_grads(params: dict, x: np.ndarray, labels: np.ndarray, head: str) -> dict:
    """Central-difference gradient of every parameter with ``losskit.textbook.numerical_gradient``."""
    from losskit import textbook

    grads = {}
    for name in PARAM_NAMES:
        base = params[name]

        def f(w, name=name):
            # Use the array handed in (the textbook function may perturb a copy or ``base``
            # itself in place; both work this way).
            return loss({**params, name: w}, x, labels, head)

        grads[name] = np.asarray(textbook.numerical_gradient(f, base))
    return grads


# --- the same network for autograd backends (torch, jax) -------------------------------


def backend_forward(params: dict, x: Any, xp) -> Any:
    """Logits, written against the array API (any backend)."""
    return forward(params, x, xp)[1]


def backend_loss(params: dict, x: Any, labels: Any, head: str, xp) -> Any:
    """The head's loss through the same losskit functions, differentiable by the backend."""
    return _head_loss(backend_forward(params, x, xp), labels, head, xp)
