"""Case-table rows of the regression family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (or with ``math`` on the formula) in ``why``;
none was produced by losskit.
"""

from __future__ import annotations

import math

import numpy as np

from . import Bad, Case, Identity, LossCases

# The residuals used by most hand-derived values: d = x - t = [0.5, -2, 2, 0].
X = np.array([0.5, -2.0, 3.0, 0.0])
T = np.array([0.0, 0.0, 1.0, 0.0])
# A point away from every kink (|d| not 0, delta, beta) for the gradient checks, batched.
GX = np.array([[0.3, -1.7, 2.4], [-0.6, 0.9, 4.1]])
GT = np.array([[0.0, 0.2, 0.1], [0.4, -1.0, 1.0]])
W = np.array([[1.0], [2.5]])
E = np.zeros((0, 3))


# Inputs for the torch fast path (regression.torch_native): 20 random residuals plus the
# kinks 0 and +-0.7 (= delta / beta of the fast cases), per-element weights; the fast-path
# test compares values and autograd gradients with the reference, kinks included.
_RNG = np.random.default_rng(5)
FX = np.concatenate([_RNG.normal(scale=2, size=20), [0.0, 0.7, -0.7, 1.7, 0.3]])
FT = np.concatenate([_RNG.normal(size=20), [0.0, 0.0, 0.0, 1.0, 1.0]])
FW = _RNG.uniform(0, 2, size=FX.shape)
# log-cosh's fast path: tiny residuals and both sides of its clamp at |d| = 20
LX = np.array([1e-3, -2e-4, 19.5, -20.0, 20.5, 25.0, 0.0])


def _fast(options):
    """The fast-path cases of mse / l1 / huber / smooth-l1 (no hand-derived value: they
    exist so that tests/test_fast_paths.py pins the path at its kinks, weighted or not,
    and on an empty batch)."""
    return [
        Case((FX, FT), dict(options), grad=False, id="fast-kinks"),
        Case((FX, FT), {**options, "weight": FW}, grad=False, id="fast-kinks-weighted"),
        Case((E[:, 0], E[:, 0]), dict(options), expected=np.zeros(0), mean=0.0, sum=0.0, grad=False,
             why="an empty batch: mean and sum are 0 (torch's own mean of nothing would be NaN)", id="fast-empty"),
        Case((E[:, 0], E[:, 0]), {**options, "weight": E[:, 0]}, expected=np.zeros(0), mean=0.0, sum=0.0,
             grad=False, why="an empty weighted batch: 0", id="fast-empty-weighted"),
    ]


def _lc(d):  # log cosh straight from the definition (fine for these small d)
    return math.log(math.cosh(d))


def _common_bad(extra=()):
    """Bad inputs every elementwise regression loss shares."""
    return [
        Bad((X, np.zeros(2)), error=ValueError, match=r"target: expected the shape of input \(4,\), got \(2,\)", id="shape"),
        Bad((X, T), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad((np.zeros(4, dtype=np.int64), T), error=TypeError, match="input: expected a floating-point array, got dtype .*int64", id="int-input"),
        Bad((X, T), {"weight": np.ones(2)}, ValueError, "weight: expected a shape broadcastable to the loss's shape", id="weight-shape"),
        *extra,
    ]


def _weighted(fn_values, why):
    """A weighted case: per-row weights on GX/GT; mean = sum(w l) / sum(w broadcast)."""
    values = np.asarray(fn_values(GX - GT))
    wb = np.broadcast_to(W, values.shape)
    return Case((GX, GT), {"weight": W}, expected=wb * values, mean=float((wb * values).sum() / wb.sum()),
                why=why, id="weighted")


CASES = [
    LossCases(
        "mse_loss",
        cases=[
            Case((X, T), expected=[0.25, 4.0, 4.0, 0.0], why="(x - t)^2 = [0.25, 4, 4, 0]", id="hand"),
            _weighted(lambda d: d * d, "w (x - t)^2, weighted mean sum(w l) / sum(w)"),
            Case((GX, GT), id="grad"),
            *_fast({}),
        ],
        bad=_common_bad([Bad((X, np.zeros(4, dtype=complex)), error=TypeError, match="target: expected a real .* got dtype .*complex128", id="complex-target"),
                         Bad(([0.0, 1.0], [0.0, 1.0]), error=TypeError, match="input: expected an array", id="list")]),
        empty=(E, E),
    ),
    LossCases(
        "l1_loss",
        cases=[
            Case((X, T), expected=[0.5, 2.0, 2.0, 0.0], why="|x - t| = [0.5, 2, 2, 0]", grad=False, id="hand"),
            Case((GX, GT), {"weight": W}, id="grad"),
            *_fast({}),
        ],
        bad=_common_bad(),
        empty=(E, E),
    ),
    LossCases(
        "huber_loss",
        cases=[
            Case((X, T), expected=[0.125, 1.5, 1.5, 0.0], why="delta = 1: 0.5 * 0.25 (inside); 1 * (2 - 0.5) (outside)", id="hand"),
            Case((X, T), {"delta": 2.0}, expected=[0.125, 2.0, 2.0, 0.0], grad=False,
                 why="delta = 2: |2| is not < 2 -> 2 * (2 - 1) = 2 (= 0.5 * 2^2, continuous at the joint)", id="delta2"),
            Case((GX, GT), {"delta": 1.3, "weight": W}, id="grad"),
            *_fast({"delta": 0.7}),
        ],
        bad=_common_bad([Bad((X, T), {"delta": -1.0}, ValueError, "delta: expected a number > 0.0, got -1.0", id="delta-neg"),
                         Bad((X, T), {"delta": 0.0}, ValueError, "delta: expected a number > 0.0, got 0.0", id="delta-0"),
                         Bad((X, T), {"delta": "1"}, TypeError, "delta: expected a real number, got str", id="delta-str")]),
        empty=(E, E),
        identities=[Identity((GX, GT), rhs=lambda a, b, **k: 1.0 * __import__("losskit").smooth_l1_loss(a, b, **k),
                             why="delta = 1: Huber == SmoothL1 (beta = 1)", id="smooth_l1")],
    ),
    LossCases(
        "smooth_l1_loss",
        cases=[
            Case((X, T), {"beta": 0.5}, expected=[0.25, 1.75, 1.75, 0.0], grad=False,
                 why="beta = 0.5: |0.5| is not < 0.5 -> 0.5 - 0.25 = 0.25; 2 - 0.25 = 1.75", id="beta05"),
            Case((X, T), {"beta": 2.0}, expected=[0.0625, 1.0, 1.0, 0.0], grad=False,
                 why="beta = 2: 0.25 / 4 = 0.0625; |2| is not < 2 -> 2 - 1 = 1", id="beta2"),
            Case((X, T), {"beta": 0.0}, expected=[0.5, 2.0, 2.0, 0.0], grad=False, why="beta = 0 is L1", id="beta0"),
            Case((GX, GT), {"beta": 0.7}, id="grad"),
            Case((GX, GT), {"beta": 0.0, "weight": W}, id="grad-beta0"),
            *_fast({"beta": 0.7}),
            *_fast({"beta": 0.0})[:2],
        ],
        bad=_common_bad([Bad((X, T), {"beta": -0.5}, ValueError, "beta: expected a number >= 0.0, got -0.5", id="beta-neg")]),
        empty=(E, E),
    ),
    LossCases(
        "log_cosh_loss",
        cases=[
            Case((X, T), expected=[_lc(0.5), _lc(2.0), _lc(2.0), 0.0], why="log(cosh(x - t))", id="hand"),
            Case((np.array([-1e4, 30.0, 1e4]), np.zeros(3)), expected=[1e4 - math.log(2.0), _lc(30.0), 1e4 - math.log(2.0)],
                 why="log cosh d = |d| - log 2 + log1p(e^{-2|d|}): cosh(1e4) itself overflows", grad=False, id="large"),
            Case((GX, GT), {"weight": W}, id="grad"),
            Case((LX, np.zeros(7)), expected=[_lc(d) for d in LX], grad=False, id="fast-small-and-clamp",
                 why="log cosh from the definition (float64 math, fine for |d| <= 25): tiny residuals, "
                 "where a cancelling form loses every digit, and both sides of the clamp at |d| = 20 of "
                 "regression.torch_log_cosh"),
            *_fast({})[1:],
        ],
        bad=_common_bad(),
        empty=(E, E),
    ),
    LossCases(
        "quantile_loss",
        cases=[
            Case((X, T), {"quantile": 0.9}, expected=[0.05, 1.8, 0.2, 0.0], grad=False,
                 why="r = t - x = [-0.5, 2, -2, 0]; q = 0.9: max(0.9 r, -0.1 r) = [0.05, 1.8, 0.2, 0]", id="q09"),
            Case((X, T), expected=[0.25, 1.0, 1.0, 0.0], grad=False, why="q = 0.5 is half the absolute error", id="q05"),
            Case((GX, GT), {"quantile": 0.3, "weight": W}, id="grad"),
        ],
        bad=_common_bad([Bad((X, T), {"quantile": q}, ValueError, f"quantile: expected a number {op}", id=f"quantile-{q}")
                         for q, op in ((0.0, ">"), (1.0, "<"), (1.5, "<"), (-0.1, ">"))]),
        empty=(E, E),
        identities=[Identity((GX, GT), rhs=lambda a, b, **k: 0.5 * __import__("losskit").l1_loss(a, b, **k),
                             why="pinball at q = 0.5 is half the absolute error", id="half_l1")],
    ),
    LossCases(
        "charbonnier_loss",
        cases=[
            Case((X, T), {"eps": 0.5}, expected=[math.sqrt(0.5), math.sqrt(4.25), math.sqrt(4.25), 0.5],
                 why="sqrt(d^2 + eps^2), eps = 0.5: sqrt(0.5), sqrt(4.25), sqrt(4.25), 0.5", id="hand"),
            Case((GX, GT), {"eps": 0.1, "weight": W}, id="grad"),
        ],
        bad=_common_bad([Bad((X, T), {"eps": -1e-3}, ValueError, "eps: expected a number > 0.0, got -0.001", id="eps-neg")]),
        empty=(E, E),
    ),
    LossCases(
        "msle_loss",
        cases=[
            Case((np.array([0.0, math.e - 1.0, 3.0]), np.array([0.0, 0.0, 1.0])), expected=[0.0, 1.0, math.log(2.0) ** 2],
                 why="log1p: x = [0, e - 1, 3], t = [0, 0, 1] -> [0, 1, log 4 - log 2 = log 2], squared", id="hand"),
            Case((np.array([0.2, 1.5, 3.0]), np.array([1.0, 0.0, 2.0])), id="grad"),
        ],
        bad=[Bad((np.array([-1.0, 0.0]), np.zeros(2)), error=ValueError, match="input: expected values > -1", id="input"),
             Bad((np.zeros(2), np.array([0.0, -3.0])), error=ValueError, match="target: expected values > -1", id="target"),
             Bad((X, T), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction")],
        empty=(E, E),
    ),
    LossCases(
        "poisson_nll_loss",
        cases=[
            Case((np.array([0.0, math.log(2.0)]), np.array([1.0, 3.0])), expected=[1.0, 2.0 - 3.0 * math.log(2.0)],
                 why="log_input: exp(x) - t x with x = [0, log 2], t = [1, 3] -> [1, 2 - 3 log 2]", id="hand"),
            Case((np.array([0.0, math.log(2.0)]), np.array([1.0, 3.0])), {"full": True},
                 expected=[1.0, 2.0 - 3.0 * math.log(2.0) + 3 * math.log(3.0) - 3.0 + 0.5 * math.log(6 * math.pi)],
                 why="full adds Stirling only where t > 1: t = 3 -> 3 log 3 - 3 + 0.5 log(6 pi)", id="full"),
            Case((np.array([1.0, 2.0]), np.array([1.0, 3.0])), {"log_input": False},
                 expected=[1.0 - math.log(1.0 + 1e-8), 2.0 - 3.0 * math.log(2.0 + 1e-8)],
                 why="rates: x - t log(x + eps) with x = [1, 2], t = [1, 3]", id="rate"),
            Case((GX, np.abs(GT) * 3.0), {"full": True, "weight": W}, id="grad"),
        ],
        bad=[Bad((np.zeros(2), np.array([1.0, -1.0])), error=ValueError, match="target: expected non-negative counts", id="counts"),
             Bad((X, T), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction")],
        empty=(E, E),
    ),
    LossCases(
        "gaussian_nll_loss",
        cases=[
            Case((np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([1.0, 4.0])),
                 expected=[0.5, 0.5 * (math.log(4.0) + 1.0)],
                 why="0.5 (log v + d^2 / v): v = 1 -> 0.5; v = 4 -> 0.5 (log 4 + 1)", id="hand"),
            Case((np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([1.0, 4.0])), {"full": True},
                 expected=[0.5 + 0.5 * math.log(2 * math.pi), 0.5 * (math.log(4.0) + 1.0) + 0.5 * math.log(2 * math.pi)],
                 why="full adds 0.5 log(2 pi) per element", id="full"),
            Case((GX, GT, np.array([[0.5, 1.0, 2.0], [0.3, 3.0, 1.0]])), {"full": True}, id="grad"),
        ],
        bad=[Bad((X, T, np.array([1.0, -1.0, 1.0, 1.0])), error=ValueError, match="var: expected non-negative variances", id="var-neg"),
             Bad((X, T, -1.0), error=ValueError, match="var: expected a number >= 0", id="var-number"),
             Bad((np.zeros((3, 2)), np.zeros((3, 2)), np.ones(4)), error=ValueError, match="var: expected a shape broadcastable", id="var-shape"),
             Bad((X, T, None), error=TypeError, match="var: expected an array or a non-negative number", id="var-none"),
             Bad((X, T, [1.0, 1.0, 1.0]), error=TypeError, match="var: expected an array or a non-negative number, got list", id="var-list")],
        empty=(E, E, E),
        identities=[Identity((GX, GT, 1.0), rhs=lambda a, b, v, **k: 0.5 * __import__("losskit").mse_loss(a, b, **k),
                             why="unit variance: half the squared error", id="half_mse")],
    ),
]
