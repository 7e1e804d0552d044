"""Case-table rows of the textbook pair (see ``tests/cases/__init__.py``): the seed
article's worked examples, derived by hand in ``why``.

Both losses are NumPy-only (``backends=("numpy",)``), take no ``reduction`` and have no
``losskit.torch`` shell. The article's examples (t one-hot at index 2):

* y = [.1, .05, .6, 0, .05, .1, 0, .1, 0, 0] -> squared error 0.0975, cross-entropy 0.51
* y = [.1, .05, .1, 0, .05, .1, 0, .6, 0, 0] -> squared error 0.5975, cross-entropy 2.30
"""

from __future__ import annotations

import math

import numpy as np

from . import Bad, Case, Identity, LossCases

T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
Y_GOOD = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_BAD = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
# A batch of probabilities away from 0 (log(y + delta) is differentiable there).
P = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
P_T = np.array([[0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
D = 1e-7
NO_SHELL = "a textbook definition (NumPy only): no losskit.torch module"
EXACT = dict(rtol=1e-14, atol=1e-15)

CASES = [
    LossCases(
        "mean_squared_error",
        cases=[
            Case((Y_GOOD, T), expected=0.0975, grad=True, id="article-good", **EXACT,
                 why="0.5 * (0.01 + 0.0025 + 0.16 + 0.0025 + 0.01 + 0.01) = 0.5 * 0.195 = 0.0975"),
            Case((Y_BAD, T), expected=0.5975, id="article-bad", **EXACT,
                 why="0.5 * (0.01 + 0.0025 + 0.81 + 0.0025 + 0.01 + 0.36) = 0.5 * 1.195 = 0.5975"),
            Case((P, P_T), expected=0.5 * (0.04 + 0.25 + 0.09 + 0.1225 + 0.0225 + 0.04), id="batch",
                 why="a half *sum* over every element, no mean: d = [[.2, -.5, .3], [.35, -.15, -.2]], "
                     "0.5 * (0.04 + 0.25 + 0.09 + 0.1225 + 0.0225 + 0.04)"),
            Case((np.array(1.5), np.array(0.5)), expected=0.5, id="0-d", why="0.5 * (1.5 - 0.5)^2"),
        ],
        bad=[
            Bad((Y_GOOD, np.zeros(3)), error=ValueError, match=r"t: expected the shape of y \(10,\), got \(3,\)", id="shape"),
            Bad((["a", "b"], np.zeros(2)), error=TypeError, match="y: expected a real numeric array", id="str"),
            Bad((Y_GOOD, np.zeros(10, dtype=complex)), error=TypeError, match="t: expected a real numeric array", id="complex"),
        ],
        empty=(np.zeros(0), np.zeros(0)),
        identities=[Identity((P, P_T), rhs=lambda y, t: 0.5 * y.size * __import__("losskit").mse_loss(y, t),
                             why="the half sum is size / 2 times the production mean", id="mse_loss")],
        half=(Y_GOOD, T.astype(np.float64)),
        reductions=False,
        why_no_shell=NO_SHELL,
    ),
    LossCases(
        "cross_entropy_error",
        cases=[
            Case((Y_GOOD, T), expected=-math.log(0.6 + D), grad=False, id="article-good", **EXACT,
                 why="-log(0.6 + 1e-7) = 0.5108..., printed 0.51 (y = 0 entries: no gradient check there)"),
            Case((Y_BAD, T), expected=-math.log(0.1 + D), grad=False, id="article-bad", **EXACT,
                 why="-log(0.1 + 1e-7) = 2.3025..., printed 2.30"),
            Case((np.stack([Y_GOOD, Y_BAD, Y_BAD]), np.eye(10)[[2, 7, 2]]),
                 expected=-(2 * math.log(0.6 + D) + math.log(0.1 + D)) / 3, grad=False, id="batch-one-hot", **EXACT,
                 why="(-log(0.6 + d) - log(0.6 + d) - log(0.1 + d)) / 3: divided by the batch size"),
            Case((np.stack([Y_GOOD, Y_BAD, Y_BAD]), np.array([2, 7, 2])),
                 expected=-(2 * math.log(0.6 + D) + math.log(0.1 + D)) / 3, grad=False, id="batch-labels", **EXACT,
                 why="integer labels pick the same probabilities as the one-hot rows"),
            Case((Y_GOOD, np.array(2)), expected=-math.log(0.6 + D), grad=False, id="scalar-label", **EXACT,
                 why="a 1-D y with a 0-d label is a batch of one: -log(0.6 + d)"),
            Case((np.array([1.0, 0.0, 0.0]), np.array([0, 1, 0])), expected=-math.log(D), grad=False, id="log-zero",
                 rtol=1e-12, why="probability 0 at the true class: -log(1e-7) = 16.118..., not inf"),
            Case((np.array([1.0, 0.0, 0.0]), np.array([1, 0, 0])), expected=-math.log1p(D), grad=False, id="perfect",
                 rtol=1e-9, why="a perfect prediction: -log(1 + 1e-7) < 0, slightly below zero"),
            Case((P, P_T), expected=-(math.log(0.5 + D) + 0.25 * math.log(0.6 + D) + 0.25 * math.log(0.1 + D)
                                      + 0.5 * math.log(0.3 + D)) / 2, id="grad",
                 why="soft targets: -(log .5 + .25 log .6 + .25 log .1 + .5 log .3) / 2 (each + delta)"),
        ],
        bad=[
            Bad((np.full((2, 3), 1 / 3), np.zeros(5, dtype=int)), error=ValueError, match="t: expected one-hot targets of shape", id="t-shape"),
            Bad((np.full((2, 3), 1 / 3), np.array([0.0, 1.0])), error=TypeError, match="t: expected integer class labels", id="t-float-labels"),
            Bad((np.full((2, 3), 1 / 3), np.array([0, 3])), error=ValueError, match=r"t: expected class labels in \[0, 2\]", id="t-range"),
            Bad((np.zeros((2, 2, 2)), np.zeros((2, 2, 2))), error=ValueError, match="y: expected a 1-D or 2-D array", id="y-rank"),
        ],
        empty=(np.zeros((0, 3)), np.zeros((0,), dtype=np.int64)),
        half=(P, P_T),
        reductions=False,
        why_no_shell=NO_SHELL,
    ),
]
