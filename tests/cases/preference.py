"""Case-table rows of the preference family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (or with ``math`` on the formula) in ``why``;
none was produced by losskit. ``sp(z) = log(1 + e^z)`` is the softplus: -log sigmoid(z) =
sp(-z).
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from . import Bad, Case, Identity, LossCases


def sp(z):
    return math.log1p(math.exp(z))


# DPO: two pairs. Pair 0: log-ratios +1 (chosen) and -1 (rejected): h = 2. Pair 1: +1 and
# +1: h = 0.
PC = np.array([-10.0, -5.0])
PR = np.array([-12.0, -5.0])
RC = np.array([-11.0, -6.0])
RR = np.array([-11.0, -6.0])
# Gradient points: three pairs, margins away from the hinge's kink.
GPC = np.array([-3.2, -7.5, -1.1])
GPR = np.array([-4.0, -6.9, -2.6])
GRC = np.array([-3.0, -7.0, -1.5])
GRR = np.array([-3.9, -7.4, -2.2])
E = np.zeros(0)


def _bad_pairs(args, extra=()):
    """Bad inputs every preference loss shares (``args`` are good arrays of shape (2,))."""
    a0 = args[0]
    return [
        Bad((a0, np.zeros(3)) + args[2:], error=ValueError,
            match=r"expected the shape of (policy_chosen|chosen) \(2,\), got \(3,\)", id="shape"),
        Bad((np.zeros(2, dtype=np.int64),) + args[1:], error=TypeError, match="expected a floating-point array, got dtype .*int64", id="int"),
        Bad(([0.0, 1.0],) + args[1:], error=TypeError, match="expected an array", id="list"),
        Bad(args, {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad(args, {"return_rewards": 1}, TypeError, "return_rewards: expected a bool, got int", id="rewards-flag"),
        Bad(args, {"beta": -1.0}, ValueError, "beta: expected a number", id="beta-neg"),
        Bad(args, {"beta": "0.1"}, TypeError, "beta: expected a real number, got str", id="beta-str"),
        *extra,
    ]


DPO_ARGS = (PC, PR, RC, RR)
SC = np.array([-0.5, -1.0])
SR = np.array([-1.0, -0.5])
OC = np.array([math.log(0.5), math.log(0.8)])
OR = np.array([math.log(0.2), math.log(0.5)])
GC = np.array([-0.4, -1.3, -2.2])
GR = np.array([-0.9, -0.6, -2.5])

CASES = [
    LossCases(
        "dpo_loss",
        cases=[
            Case(DPO_ARGS, {"beta": 0.5}, expected=[sp(-1.0), math.log(2.0)],
                 why="-log sigmoid(beta h) = sp(-beta h): h = 2 -> sp(-1) = log(1 + e^-1); h = 0 -> log 2", id="hand"),
            Case(DPO_ARGS, {"beta": 0.5, "label_smoothing": 0.1}, expected=[0.9 * sp(-1.0) + 0.1 * sp(1.0), math.log(2.0)],
                 why="conservative: 0.9 sp(-1) + 0.1 sp(1); at h = 0 both terms are log 2", id="smoothed"),
            Case(DPO_ARGS, {"beta": 0.25, "loss_type": "ipo"}, expected=[0.0, 4.0],
                 why="IPO (h - 1/(2 beta))^2 with 1/(2 beta) = 2: (2 - 2)^2 = 0, (0 - 2)^2 = 4", id="ipo"),
            Case(DPO_ARGS, {"beta": 0.25, "loss_type": "hinge"}, expected=[0.5, 1.0],
                 why="hinge max(0, 1 - beta h): 1 - 0.5 = 0.5; 1 - 0 = 1", id="hinge"),
            Case((np.array([0.0, -1e4]), np.array([-1e4, 0.0]), np.zeros(2), np.zeros(2)), {"beta": 1.0}, expected=[0.0, 1e4],
                 why="h = +-1e4: sp(-1e4) = 0 to float precision, sp(1e4) = 1e4 (no overflow in the log-sigmoid form)", grad=False, id="extreme"),
            Case((GPC, GPR, GRC, GRR), {"beta": 0.7}, id="grad"),
            Case((GPC, GPR, GRC, GRR), {"beta": 0.3, "label_smoothing": 0.2}, id="grad-smoothed"),
            Case((GPC, GPR, GRC, GRR), {"beta": 0.5, "loss_type": "ipo"}, id="grad-ipo"),
            Case((GPC, GPR, GRC, GRR), {"beta": 0.2, "loss_type": "hinge"}, id="grad-hinge"),
        ],
        bad=_bad_pairs(DPO_ARGS, [
            Bad(DPO_ARGS, {"beta": 0.0}, ValueError, "beta: expected a number > 0.0, got 0.0", id="beta-0"),
            Bad(DPO_ARGS, {"loss_type": "kto"}, ValueError, "loss_type: expected one of 'sigmoid', 'ipo', 'hinge', got 'kto'", id="loss-type"),
            Bad(DPO_ARGS, {"label_smoothing": 0.6}, ValueError, "label_smoothing: expected a number <= 0.5, got 0.6", id="smoothing-high"),
            Bad(DPO_ARGS, {"label_smoothing": 0.1, "loss_type": "ipo"}, ValueError,
                "label_smoothing: expected 0.0 with loss_type='ipo'", id="smoothing-ipo"),
            Bad((PC, PR, RC, np.zeros(3)), error=ValueError,
                match=r"reference_rejected: expected the shape of policy_chosen \(2,\), got \(3,\)", id="shape-reference"),
        ]),
        empty=(E, E, E, E),
        identities=[
            Identity((GPC, GPR, GRC, GRR),
                     rhs=lambda pc, pr, rc, rr, **k: losskit.binary_cross_entropy_with_logits(
                         0.5 * ((pc - rc) - (pr - rr)), pc * 0.0 + 0.9, **k),
                     options={"beta": 0.5, "label_smoothing": 0.1},
                     why="DPO is the logistic loss of the margin beta h against the label 1 - eps "
                         "(-(1 - e) log s(z) - e log s(-z) is BCE-with-logits at target 1 - e)", id="logistic-of-margin"),
            Identity((GPC, GPR, GRC, GRR),
                     rhs=lambda pc, pr, rc, rr, reduction: ((pc - rc) - (pr - rr) - 1.0 / (2 * 0.4)) ** 2,
                     options={"beta": 0.4, "loss_type": "ipo"},
                     why="IPO written out: (h - 1/(2 beta))^2", id="ipo-written-out"),
        ],
    ),
    LossCases(
        "simpo_loss",
        cases=[
            Case((SC, SR), expected=[sp(-0.5), sp(1.5)],
                 why="z = beta (c - r) - gamma = 2 (0.5) - 0.5 = 0.5 -> sp(-0.5); 2 (-0.5) - 0.5 = -1.5 -> sp(1.5)", id="hand"),
            Case((SC, SR), {"beta": 1.0, "gamma": 0.0}, expected=[sp(-0.5), sp(0.5)],
                 why="no margin, beta = 1: z = c - r = +-0.5", id="no-margin"),
            Case((SC, SR), {"label_smoothing": 0.2}, expected=[0.8 * sp(-0.5) + 0.2 * sp(0.5), 0.8 * sp(1.5) + 0.2 * sp(-1.5)],
                 why="smoothed: 0.8 sp(-z) + 0.2 sp(z)", id="smoothed"),
            Case((np.array([0.0]), np.array([-1e4])), expected=[0.0], why="z = 2e4 - 0.5: sp(-z) = 0", grad=False, id="extreme"),
            Case((GC, GR), {"beta": 2.5, "gamma": 1.4}, id="grad"),
        ],
        bad=_bad_pairs((SC, SR), [
            Bad((SC, SR), {"beta": 0.0}, ValueError, "beta: expected a number > 0.0, got 0.0", id="beta-0"),
            Bad((SC, SR), {"gamma": None}, TypeError, "gamma: expected a real number, got NoneType", id="gamma-none"),
            Bad((SC, SR), {"label_smoothing": 0.7}, ValueError, "label_smoothing: expected a number <= 0.5", id="smoothing-high"),
        ]),
        empty=(E, E),
        identities=[
            Identity((GC, GR), rhs=lambda c, r, **k: losskit.dpo_loss(c, r, c * 0.0, r * 0.0, **k),
                     options={"beta": 2.0, "gamma": 0.0}, rhs_options={"beta": 2.0},
                     why="gamma = 0: DPO with a zero reference on the averaged log-probabilities", id="dpo-no-reference"),
        ],
    ),
    LossCases(
        "orpo_loss",
        cases=[
            Case((OC, OR), expected=[math.log(2.0) + 0.1 * math.log(1.25), -math.log(0.8) + 0.1 * math.log(1.25)],
                 why="odds P/(1-P): pair 0: 1 and 1/4, pair 1: 4 and 1; both log-odds ratios log 4, "
                     "-log sigmoid(log 4) = log(1 + 1/4); NLL -log 0.5, -log 0.8", id="hand"),
            Case((OC, OR), {"beta": 0.0}, expected=[math.log(2.0), -math.log(0.8)], why="beta = 0: the NLL term alone", id="nll-only"),
            Case((OC, OR), {"beta": 1.0}, expected=[math.log(2.0) + math.log(1.25), -math.log(0.8) + math.log(1.25)],
                 why="beta = 1: NLL + log(1 + 1/4)", id="beta1"),
            Case((np.array([-1e-8]), np.array([math.log(0.5)])),
                 expected=[1e-8 + 0.1 * sp(-(-1e-8 - math.log(-math.expm1(-1e-8))))],
                 why="P -> 1: log(1 - e^-1e-8) = log(-expm1(-1e-8)) = -18.4 (1 - exp cancels in float32); rejected odds 1",
                 grad=False, id="near-one"),
            Case((np.array([0.0]), np.array([0.0])), expected=[0.1 * math.log(2.0)],
                 why="both probabilities exactly 1: equal (clamped) log-odds, ratio 0: 0.1 * log 2, finite", grad=False, id="both-one"),
            Case((GC, GR), {"beta": 0.4}, id="grad"),
            Case((np.array([-1e-3, -0.3]), np.array([-2.0, -1e-2])), {"beta": 0.2}, id="grad-near-one"),
        ],
        bad=_bad_pairs((OC, OR), [
            Bad((np.array([0.5, -1.0]), OR), error=ValueError, match="chosen: expected log-probabilities <= 0, got a maximum of 0.5", id="positive-chosen"),
            Bad((OC, np.array([-1.0, np.nan])), error=ValueError, match="rejected: expected log-probabilities <= 0", id="nan-rejected"),
        ]),
        empty=(E, E),
    ),
]
