"""Mini-batch SGD on the digits with a two-layer network, on NumPy, torch or jax.

On NumPy the gradients are losskit's hand-derived ones (``losskit.value_and_grad``) pushed
through the layers by backpropagation (:mod:`losskit.experiments.network`). On torch and
jax the very same losskit losses are differentiated by the framework's autograd. All three
start from the same initial weights and see the same mini-batches in the same order, and
all train in float32, so their curves agree to float32 rounding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Callable

import numpy as np

from . import network

BACKENDS = ("numpy", "torch", "jax")


@dataclasses.dataclass
class Digits:
    x_train: np.ndarray  # (N, 64) float64 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def load_digits(seed: int = 0, test_size: float = 0.2) -> Digits:
    """scikit-learn's embedded digits (1,797 8x8 images; no download), pixels scaled to
    [0, 1], split stratified into train and test with ``seed``."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    bunch = _load()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0  # pixel intensities are 0..16
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    return Digits(x_tr, y_tr, x_te, y_te)


@dataclasses.dataclass
class History:
    head: str
    backend: str
    epochs: list[int]
    train_loss: list[float]
    test_loss: list[float]
    train_accuracy: list[float]
    test_accuracy: list[float]
    seconds: float = 0.0

    @property
    def final_test_accuracy(self) -> float:
        return self.test_accuracy[-1]

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["final_test_accuracy"] = self.final_test_accuracy
        return d


def train(
    data: Digits,
    head: str,
    *,
    epochs: int,
    hidden: int = 64,
    lr: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
    backend: str = "numpy",
    progress: Callable | None = None,
) -> History:
    """Train from a seeded initialisation; evaluate on train and test after every epoch
    (epoch 0 is the untrained network)."""
    if head not in network.HEADS:
        raise ValueError(f"head: expected one of {', '.join(network.HEADS)}, got {head!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    rng = np.random.default_rng(seed)
    params = network.init_params(data.n_features, hidden, 10, rng, dtype=np.float32)
    # One fixed sequence of mini-batches per epoch, shared by every backend.
    n = data.x_train.shape[0]
    orders = [rng.permutation(n) for _ in range(epochs)]
    trainer = {"numpy": _NumpyTrainer, "torch": _TorchTrainer, "jax": _JaxTrainer}[backend](
        params, data, head, lr
    )
    hist = History(head, backend, [], [], [], [], [])
    t0 = time.perf_counter()
    bar = progress(total=epochs, desc=f"train {head} ({backend})") if progress else None
    with trainer.context():
        _record(hist, 0, trainer)
        for epoch in range(1, epochs + 1):
            order = orders[epoch - 1]
            for start in range(0, n, batch_size):
                trainer.step(order[start : start + batch_size])
            _record(hist, epoch, trainer)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(test_acc=f"{hist.test_accuracy[-1]:.3f}")
    if bar is not None:
        bar.close()
    hist.seconds = time.perf_counter() - t0
    return hist


def _record(hist: History, epoch: int, trainer) -> None:
    (tl, ta), (vl, va) = trainer.evaluate()
    hist.epochs.append(epoch)
    hist.train_loss.append(tl)
    hist.train_accuracy.append(ta)
    hist.test_loss.append(vl)
    hist.test_accuracy.append(va)


class _NumpyTrainer:
    def context(self):
        return contextlib.nullcontext()

    def __init__(self, params, data, head, lr):
        self.params = params
        self.head, self.lr = head, lr
        self.x_train = data.x_train.astype(np.float32)
        self.x_test = data.x_test.astype(np.float32)
        self.y_train, self.y_test = data.y_train, data.y_test

    def step(self, idx):
        _, grads = network.loss_and_grads(self.params, self.x_train[idx], self.y_train[idx], self.head)
        for k, g in grads.items():
            self.params[k] -= self.lr * g.astype(self.params[k].dtype, copy=False)

    def evaluate(self):
        out = []
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            out.append((network.loss(self.params, x, y, self.head), network.accuracy(self.params, x, y)))
        return out


class _TorchTrainer:
    def __init__(self, params, data, head, lr):
        try:
            import torch
        except ImportError:
            raise ImportError("--backend torch: torch is not installed (pip install 'losskit[torch]')") from None
        self.torch = torch
        self.xp = _namespace_of(torch.zeros(1))
        self.params = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        self.head, self.lr = head, lr
        self.x_train = torch.tensor(data.x_train, dtype=torch.float32)
        self.x_test = torch.tensor(data.x_test, dtype=torch.float32)
        self.y_train = torch.tensor(data.y_train)
        self.y_test = torch.tensor(data.y_test)

    @contextlib.contextmanager
    def context(self):
        # One intra-op thread while training: the matrices are tiny (at most 1437 x 64), so
        # torch's thread pool only adds synchronisation, which is many times slower on a
        # busy machine. The caller's setting is restored afterwards.
        before = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            yield
        finally:
            self.torch.set_num_threads(before)

    def step(self, idx):
        torch = self.torch
        idx = torch.as_tensor(idx)
        value = network.backend_loss(self.params, self.x_train[idx], self.y_train[idx], self.head, self.xp)
        grads = torch.autograd.grad(value, list(self.params.values()))
        with torch.no_grad():
            for p, g in zip(self.params.values(), grads):
                p -= self.lr * g

    def evaluate(self):
        torch = self.torch
        out = []
        with torch.no_grad():
            for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
                value = network.backend_loss(self.params, x, y, self.head, self.xp)
                logits = network.backend_forward(self.params, x, self.xp)
                acc = (logits.argmax(dim=1) == y).double().mean()
                out.append((float(value), float(acc)))
        return out


class _JaxTrainer:
    def context(self):
        return contextlib.nullcontext()

    def __init__(self, params, data, head, lr):
        try:
            import jax
            import jax.numpy as jnp
        except ImportError:
            raise ImportError("--backend jax: jax is not installed (pip install 'losskit[jax]')") from None
        self.jnp = jnp
        xp = _namespace_of(jnp.zeros(1, dtype=jnp.float32))
        self.params = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in params.items()}
        self.x_train = jnp.asarray(data.x_train, dtype=jnp.float32)
        self.x_test = jnp.asarray(data.x_test, dtype=jnp.float32)
        # int32 labels: the default integer when jax's x64 mode is off (it usually is).
        self.y_train = jnp.asarray(data.y_train.astype(np.int32))
        self.y_test = jnp.asarray(data.y_test.astype(np.int32))

        def objective(p, x, y):
            return network.backend_loss(p, x, y, head, xp)

        def step(p, x, y):
            grads = jax.grad(objective)(p, x, y)
            return {k: p[k] - lr * grads[k] for k in p}

        def evaluate(p, x, y):
            logits = network.backend_forward(p, x, xp)
            return objective(p, x, y), jnp.mean(jnp.argmax(logits, axis=1) == y)

        self._step = jax.jit(step)
        self._evaluate = jax.jit(evaluate)

    def step(self, idx):
        idx = self.jnp.asarray(idx)
        self.params = self._step(self.params, self.x_train[idx], self.y_train[idx])

    def evaluate(self):
        out = []
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            value, acc = self._evaluate(self.params, x, y)
            out.append((float(value), float(acc)))
        return out


def _namespace_of(array):
    from losskit import _xp

    return _xp.namespace(array)
