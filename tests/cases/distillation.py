"""Case-table rows of the distillation family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (or with ``math`` on the formula) in ``why``;
none was produced by losskit. Logits are chosen so that the softened distributions are
simple fractions: softmax([log 3, 0]) = [3/4, 1/4], softmax([0, 0]) = [1/2, 1/2].
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from . import Bad, Case, Identity, LossCases

L3, L2 = math.log(3.0), math.log(2.0)

# Row 0: student uniform, teacher 2 log 3 -> at T = 2, p = [3/4, 1/4], q = [1/2, 1/2].
# Row 1: the roles swapped: p = [1/2, 1/2], q = [3/4, 1/4].
S = np.array([[0.0, 0.0], [2.0 * L3, 0.0]])
T = np.array([[2.0 * L3, 0.0], [0.0, 0.0]])
# KL([3/4, 1/4] || [1/2, 1/2]) = 3/4 log(3/2) + 1/4 log(1/2) = 3/4 log 3 - log 2
KL_A = 0.75 * L3 - L2
# KL([1/2, 1/2] || [3/4, 1/4]) = 1/2 log(2/3) + 1/2 log 2 = 1/2 log(4/3)
KL_B = 0.5 * math.log(4.0 / 3.0)

# Gradient points: generic logits (no ties), 3 samples x 4 classes, and token logits.
GS = np.array([[0.3, -1.2, 2.0, 0.5], [1.1, 0.4, -0.7, -2.2], [-0.2, 0.9, 0.1, 1.6]])
GT = np.array([[1.0, 0.2, -0.5, 0.8], [-0.3, 1.5, 0.6, -1.0], [0.7, -0.4, 1.2, 0.0]])
GL = np.array([2, 0, 3])
TOK_S = GS.reshape(1, 3, 4)
TOK_T = GT.reshape(1, 3, 4)

# Extremes: logits of +-1e4 put all the mass on one class, exactly.
XS = np.array([[1e4, -1e4]])
XT = np.array([[-1e4, 1e4]])

# Masking: row 0 counts, row 1 is ignored.
MASK_L = np.array([0, -100])


def _common_bad(fn_options):
    o = fn_options
    return [
        Bad((S, np.zeros((2, 3))), o, ValueError, r"teacher_logits: expected the shape of student_logits \(2, 2\), got \(2, 3\)", id="shape"),
        Bad((np.zeros((2, 2), dtype=np.int64), T), o, TypeError, "student_logits: expected a floating-point array", id="int-student"),
        Bad((S, np.zeros((2, 2), dtype=np.int64)), o, TypeError, "teacher_logits: expected a floating-point array", id="int-teacher"),
        Bad(([[0.0, 1.0]], T), o, TypeError, "student_logits: expected an array", id="list"),
        Bad((S, T), {**o, "temperature": 0.0}, ValueError, "temperature: expected a number > 0.0, got 0.0", id="temperature-0"),
        Bad((S, T), {**o, "temperature": "2"}, TypeError, "temperature: expected a real number, got str", id="temperature-str"),
        Bad((S, T), {**o, "axis": 2}, ValueError, r"axis: expected an axis in \[-2, 2\), got 2", id="axis"),
        Bad((S, T), {**o, "labels": np.array([0.0, 1.0]), "ignore_index": -100}, TypeError, "labels: expected an integer array", id="float-labels"),
        Bad((S, T), {**o, "labels": np.array([0, 1, 1]), "ignore_index": -100}, ValueError,
            r"labels: expected the logits' shape without the class axis \(2,\), got \(3,\)", id="labels-shape"),
        Bad((S, T), {**o, "ignore_index": 1.5, "labels": np.array([0, 1])}, TypeError, "ignore_index: expected an int or None, got float", id="ignore-float"),
        Bad((S, T), {**o, "reduction": "avg"}, ValueError,
            "reduction: expected one of 'batchmean', 'mean', 'sum', 'none', got 'avg'", id="reduction"),
    ]


CASES = [
    LossCases(
        "distillation_loss",
        cases=[
            Case((S, T), {"temperature": 2.0}, expected=[4.0 * KL_A, 4.0 * KL_B],
                 why="T^2 KL(p || q) at T = 2: 4 (3/4 log 3 - log 2) = 3 log 3 - 4 log 2; "
                     "4 * 1/2 log(4/3) = 2 log(4/3)", id="hand"),
            Case((S, T), {"temperature": 2.0, "reduction": "batchmean"}, expected=2.0 * (KL_A + KL_B),
                 why="batchmean: the sum over both rows divided by N = 2: 4 (KL_A + KL_B) / 2", grad=False, id="batchmean"),
            Case((S.reshape(1, 2, 2), T.reshape(1, 2, 2)), {"temperature": 2.0, "axis": -1, "reduction": "batchmean"},
                 expected=4.0 * (KL_A + KL_B),
                 why="token layout (B, L, V) = (1, 2, 2), classes last: batchmean divides the sum by B = 1", grad=False, id="tokens-batchmean"),
            Case((S, T), {"temperature": 1.0}, expected=[0.9 * math.log(1.8) + 0.1 * math.log(0.2), 0.5 * math.log(5.0 / 9.0) + 0.5 * math.log(5.0)],
                 why="T = 1: softmax([2 log 3, 0]) = [9/10, 1/10]; row 0: KL([.9, .1] || [.5, .5]) = .9 log 1.8 + .1 log .2; "
                     "row 1: KL([.5, .5] || [.9, .1]) = .5 log(5/9) + .5 log 5", grad=False, id="t1"),
            Case((S[:1], T[:1]), {"temperature": 2.0, "labels": np.array([0]), "hard_weight": 0.25},
                 expected=[0.75 * 4.0 * KL_A + 0.25 * L2],
                 why="(1 - 0.25) T^2 KL + 0.25 CE: the hard term is -log softmax([0, 0])_0 = log 2 at T = 1", id="hard"),
            Case((S, T), {"temperature": 2.0, "labels": MASK_L, "ignore_index": -100, "hard_weight": 0.5},
                 expected=[0.5 * 4.0 * KL_A + 0.5 * L2, 0.0], mean=0.5 * 4.0 * KL_A + 0.5 * L2,
                 why="row 1 ignored: 0 in both terms and not counted by mean (1 position counts)", id="masked"),
            Case((XS, XT), {"temperature": 1.0}, expected=[2e4],
                 why="p = [0, 1], q = [1, 0] exactly: KL = 1 * (log p_1 - log q_1) = 0 - (-2e4)", grad=False, id="extreme"),
            Case((GS, GT), {"temperature": 3.0}, id="grad"),
            Case((GS, GT), {"temperature": 2.0, "labels": GL, "hard_weight": 0.3}, id="grad-hard"),
            Case((TOK_S, TOK_T), {"temperature": 1.5, "axis": -1, "labels": np.array([[1, -100, 2]]), "ignore_index": -100,
                                  "hard_weight": 0.0}, id="grad-tokens-masked"),
        ],
        bad=_common_bad({"temperature": 2.0}) + [
            Bad((S, T), {}, TypeError, "missing 1 required keyword-only argument: 'temperature'", id="no-temperature"),
            Bad((S, T), {"temperature": 2.0, "labels": np.array([0, 1]), "hard_weight": 1.5}, ValueError,
                "hard_weight: expected a number <= 1", id="hard-weight"),
            Bad((S, T), {"temperature": 2.0, "ignore_index": -100}, ValueError, "ignore_index: expected labels= to mask with", id="ignore-no-labels"),
            Bad((S, T), {"temperature": 2.0, "labels": np.array([0, 2])}, ValueError,
                r"labels: expected class indices in \[0, 1\], got 2", id="labels-range"),
        ],
        empty=(np.zeros((0, 3)), np.zeros((0, 3))),
        identities=[
            Identity((GS, GT), rhs=lambda s, t, **k: 4.0 * losskit.distillation_loss(s / 2.0, t / 2.0, temperature=1.0, **k),
                     options={"temperature": 2.0}, why="the T^2 factor: T = 2 is 4 times the T = 1 loss of the logits / 2", id="t-squared"),
            Identity((GS, GT), rhs=lambda s, t, labels, **k: losskit.cross_entropy(s, labels, **k),
                     options={"temperature": 2.0, "labels": GL, "hard_weight": 1.0}, rhs_options={"labels": GL},
                     why="hard_weight = 1 is the cross-entropy with the labels", id="hard-only"),
        ],
    ),
]

# jsd_loss: student uniform, teacher [log 3, 0] -> P = [3/4, 1/4] (teacher), Q = [1/2, 1/2].
JS = np.array([[0.0, 0.0], [0.0, 0.0]])
JT = np.array([[L3, 0.0], [0.0, 0.0]])


def _kl(a, b):
    return sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)


def _jsd(p, q, beta):
    m = [beta * x + (1 - beta) * y for x, y in zip(p, q)]
    return beta * _kl(p, m) + (1 - beta) * _kl(q, m)


P0, Q0, U = [0.75, 0.25], [0.5, 0.5], [0.5, 0.5]

CASES.append(
    LossCases(
        "jsd_loss",
        cases=[
            Case((JS, JT), expected=[_jsd(P0, Q0, 0.5), 0.0],
                 why="beta = 0.5, M = [5/8, 3/8]: 1/2 (3/4 log(6/5) + 1/4 log(2/3)) + 1/2 (1/2 log(4/5) + 1/2 log(4/3)); "
                     "row 1: teacher = student, 0", id="hand"),
            Case((JS, JT), {"beta": 0.0}, expected=[KL_A, 0.0], why="beta = 0: forward KL(P || Q) = 3/4 log 3 - log 2", id="beta0"),
            Case((JS, JT), {"beta": 1.0}, expected=[0.5 * math.log(4.0 / 3.0), 0.0],
                 why="beta = 1: reverse KL(Q || P) = 1/2 log(2/3) + 1/2 log 2 = 1/2 log(4/3)", id="beta1"),
            Case((JS, JT), {"beta": 0.25}, expected=[_jsd(P0, Q0, 0.25), 0.0],
                 why="M = 1/4 P + 3/4 Q = [9/16, 7/16]; 1/4 KL(P || M) + 3/4 KL(Q || M) (the formula in math)", id="beta025"),
            Case((JS, 2.0 * JT), {"beta": 0.0, "temperature": 2.0}, expected=[4.0 * KL_A, 0.0],
                 why="T = 2 on teacher logits 2 log 3: the same P, times T^2 = 4", id="temperature"),
            Case((JS.reshape(1, 2, 2), JT.reshape(1, 2, 2)), {"labels": np.array([[5, -100]]), "ignore_index": -100},
                 expected=[[_jsd(P0, Q0, 0.5), 0.0]], mean=_jsd(P0, Q0, 0.5),
                 why="token 1 masked: 0, not counted (token labels only mask: 5 is any token id)", id="masked"),
            Case((XS, XT), {"beta": 0.0}, expected=[2e4], why="logits +-1e4: P = [0, 1], Q = [1, 0]: KL(P||Q) = 0 - (-2e4)", grad=False, id="extreme-beta0"),
            Case((XS, XT), {"beta": 1.0}, expected=[2e4], why="KL(Q||P) = 1 * (0 - (-2e4))", grad=False, id="extreme-beta1"),
            Case((XS, XT), expected=[math.log(2.0)], why="disjoint P and Q: M = [1/2, 1/2], JSD = 1/2 log 2 + 1/2 log 2", grad=False, id="extreme-half"),
            Case((GS, GT), {"beta": 0.3, "temperature": 1.7}, id="grad"),
            Case((GS, GT), {"beta": 0.0}, id="grad-beta0"),
            Case((GS, GT), {"beta": 1.0}, id="grad-beta1"),
            Case((TOK_S, TOK_T), {"beta": 0.7, "labels": np.array([[1, -100, 2]]), "ignore_index": -100}, id="grad-masked"),
        ],
        bad=_common_bad({}) + [
            Bad((JS, JT), {"beta": 1.5}, ValueError, "beta: expected a number <= 1.0, got 1.5", id="beta-high"),
            Bad((JS, JT), {"beta": -0.1}, ValueError, "beta: expected a number >= 0.0, got -0.1", id="beta-neg"),
            Bad((JS, JT), {"labels": np.array([0, 1])}, ValueError, "ignore_index: expected a value with labels=", id="labels-no-ignore"),
            Bad((JS, JT), {"ignore_index": -100}, ValueError, "labels: expected a value with ignore_index=", id="ignore-no-labels"),
        ],
        empty=(np.zeros((0, 3)), np.zeros((0, 3))),
        identities=[
            Identity((GS, GT), rhs=lambda s, t, **k: losskit.distillation_loss(s, t, temperature=1.0, **k),
                     options={"beta": 0.0}, why="beta = 0 is the forward KL: distillation_loss at T = 1", id="beta0-forward-kl"),
            Identity((GS, GT), rhs=lambda s, t, **k: losskit.distillation_loss(t, s, temperature=1.0, **k),
                     options={"beta": 1.0}, why="beta = 1 is the reverse KL: distillation_loss with the roles swapped", id="beta1-reverse-kl"),
            Identity((GS, GT), rhs=lambda s, t, **k: losskit.jsd_loss(t, s, **k), why="beta = 0.5 is symmetric", id="symmetric"),
            Identity((GS, GT), rhs=lambda s, t, **k: losskit.jsd_loss(t, s, beta=0.8, **k), options={"beta": 0.2},
                     why="swapping teacher and student swaps beta and 1 - beta", id="swap"),
        ],
    )
)
