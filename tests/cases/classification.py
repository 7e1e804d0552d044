"""Case-table rows of the classification family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (or with ``math`` on the formula) in ``why``;
none was produced by losskit. The comparisons with independent NumPy references on random
batches, the peers and the properties stay in ``tests/test_classification*.py``.
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from . import Bad, Case, Identity, LossCases

L2, L3 = math.log(2.0), math.log(3.0)
R0 = math.log(math.e**2 + 1 + math.exp(-1)) - 2  # -log softmax([2, 0, -1])_0

G = np.random.default_rng(7)
# Logits / labels for gradient checks (no ties, margins away from every kink).
X3 = np.array([[1.2, -0.7, 0.4], [0.1, 2.3, -1.5], [-0.9, 0.6, 1.8], [2.2, -0.3, 0.5]])
Y3 = np.array([0, 2, 1, 2])
Y3_IGN = np.array([0, -1, 1, 2])
W3 = np.array([0.5, 2.0, 1.5])
Q3 = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.25, 0.25, 0.5], [0.1, 0.8, 0.1]])
X_SEG = np.array([[[0.3, -1.2], [1.1, 0.4], [-0.5, 0.9]], [[0.7, 0.2], [-0.4, 1.6], [1.3, -0.8]]])  # (N, C, L)
Y_SEG = np.array([[0, 2], [1, 1]])
P4 = np.array([[0.3, 0.8, 0.55, 0.1], [0.65, 0.2, 0.9, 0.45]])
T4 = np.array([[0.2, 1.0, 0.5, 0.0], [0.7, 0.3, 1.0, 0.6]])
L4 = np.array([[1.3, -2.1, 0.4, 3.2], [-0.6, 0.9, -1.7, 2.5]])
B4 = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
F6 = np.array([2.0, 0.3, -1.2, 0.6, -0.4, 1.7])  # margins y f away from 1
Y6 = np.array([1, 1, 1, -1, -1, -1])
W6 = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.0])
E3 = np.zeros((0, 3))
EI = np.zeros(0, dtype=np.int64)

X23 = np.zeros((2, 3))
Y2 = np.array([0, 1])


def _index_bad(name, *, x=X23, y=Y2, min2=False, extra=()):
    """Bad inputs every loss on class scores with class indices shares."""
    return [
        Bad((x, y), {"reduction": "average"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad((x, np.array([0, 1, 2])), error=ValueError, match=r"target: expected class indices of shape \(2,\)", id="target-shape"),
        Bad((x.astype(np.int64), y), error=TypeError, match="input: expected a floating-point array", id="int-input"),
        Bad((x.tolist(), y), error=TypeError, match="input: expected an array", id="list-input"),
        Bad((np.zeros((2, 0)), y), error=ValueError,
            match="at least 2 classes" if min2 else "input: expected at least 1 classes along axis 1, got an empty class axis",
            id="empty-class-axis"),
        Bad((x, y.astype(np.float64)), error=TypeError, match="target: expected an integer array of class indices", id="float-target"),
        Bad((x, np.array([0, 3])), error=ValueError, match=r"target: expected class indices in \[0, 2\], got 3", id="label-high"),
        Bad((x, np.array([0, -1])), error=ValueError, match=r"target: expected class indices in \[0, 2\], got -1", id="label-neg"),
        Bad((x, y), {"axis": 2}, ValueError, r"axis: expected an axis in \[-2, 2\), got 2", id="axis"),
        *extra,
    ]


def _ignore_bad():
    return [
        Bad((X23, Y2), {"ignore_index": 1.0}, TypeError, "ignore_index: expected an int or None, got float", id="ignore-float"),
        Bad((X23, Y2), {"ignore_index": True}, TypeError, "ignore_index: expected an int or None, got bool", id="ignore-bool"),
        Bad((X23, Y2), {"ignore_index": 2**63}, ValueError, "ignore_index: expected an int in the int64 range", id="ignore-huge"),
        Bad((X23, Y2), {"ignore_index": -(2**70)}, ValueError, "ignore_index: expected an int in the int64 range", id="ignore-tiny"),
    ]


def _binary_bad(x, t, extra=()):
    """Bad inputs every elementwise binary loss shares."""
    return [
        Bad((x, t), {"reduction": "average"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad((x, t[..., :1]), error=ValueError, match="target: expected the shape of input", id="target-shape"),
        Bad((x.astype(np.int64), t), error=TypeError, match="input: expected a floating-point array", id="int-input"),
        Bad((x.tolist(), t), error=TypeError, match="input: expected an array", id="list-input"),
        *extra,
    ]


CE_X = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])

CASES = [
    LossCases(
        "cross_entropy",
        cases=[
            Case((CE_X, np.array([0, 2])), expected=[R0, L3],
                 why="row 0: -log softmax([2, 0, -1])_0 = log(e^2 + 1 + e^-1) - 2; row 1: -log(1/3) = log 3", id="hand"),
            Case((np.zeros((2, 2)), np.array([1, -1])), {"weight": np.array([1.0, 3.0]), "ignore_index": -1, "label_smoothing": 0.2},
                 expected=[2.8 * L2, 0.0], mean=2.8 * L2 / 3,
                 why="C = 2, logits 0: log p = -log 2. Sample 0 (y = 1): 0.8 * 3 log 2 + 0.1 * (1 + 3) log 2 = 2.8 log 2; "
                     "sample 1 ignored. The mean divides by w[1] = 3", id="weight-ignore-smoothing"),
            Case((np.array([1.0, 2.0, 3.0]), np.array(2)), expected=math.log(math.e + math.e**2 + math.e**3) - 3,
                 why="unbatched (C,) logits, 0-d target: log(e + e^2 + e^3) - 3", id="unbatched"),
            Case((np.zeros((3, 4)), np.full(3, -100)), {"ignore_index": -100, "weight": np.ones(4)}, expected=[0.0, 0.0, 0.0],
                 grad=False, why="every target ignored: 0 (torch: 0/0 = NaN)", id="all-ignored"),
            Case((np.zeros((2, 3)), np.array([0, 255])), {"ignore_index": 255}, expected=[L3, 0.0], mean=L3,
                 why="ignore_index may be outside [0, C): 255 is ignored, log 3 over one target", id="ignore-255"),
            Case((np.zeros((2, 2)), np.array([[0.25, 0.75], [1.0, 0.0]])), {"weight": np.array([1.0, 3.0])},
                 expected=[2.5 * L2, L2], why="probabilities, log p = -log 2: (0.25 * 1 + 0.75 * 3) log 2; 1 * log 2; plain mean",
                 id="probs"),
            Case((X3, Y3), {"weight": W3, "label_smoothing": 0.3}, id="grad-weight-smoothing"),
            Case((X3, Y3_IGN), {"weight": W3, "ignore_index": -1}, id="grad-ignore"),
            Case((X3, Q3), {"weight": W3, "label_smoothing": 0.1}, id="grad-probs"),
            Case((np.moveaxis(X_SEG, 1, -1).copy(), Y_SEG), {"axis": -1, "weight": W3}, id="grad-axis-last"),
            Case((X_SEG, Y_SEG), {"label_smoothing": 0.1}, id="fast-segmentation"),
            Case((X3, Y3), id="fast-plain"),
        ],
        bad=_index_bad("cross_entropy", extra=[
            Bad((np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64)), error=ValueError,
                match=r"target: expected class indices of shape \(2, 4\)", id="wrong-class-axis"),
            Bad((X23, np.array([[0.5, 0.7, -0.2], [1.0, 0.0, 0.0]])), error=ValueError, match="target: expected probabilities in", id="probs-range"),
            Bad((X23, Y2), {"label_smoothing": 1.5}, ValueError, "label_smoothing: expected a number <= 1", id="smoothing"),
            Bad((X23, Y2), {"weight": np.ones(2)}, ValueError, r"weight: expected one weight per class, shape \(3,\)", id="weight-shape"),
            Bad((X23, np.full((2, 3), 1 / 3)), {"ignore_index": 0}, ValueError,
                "ignore_index: expected None with class-probability targets", id="ignore-probs"),
            *_ignore_bad(),
        ]),
        empty=(E3, EI),
        identities=[
            Identity((X3, Q3), rhs=lambda a, b, **k: losskit.poly1_cross_entropy(a, b, epsilon=0.0, **k),
                     why="Poly-1 with epsilon = 0 is cross-entropy (probability targets)", id="poly1-eps0"),
            Identity((X3, Y3_IGN), options={"ignore_index": -1},
                     rhs=lambda a, b, **k: losskit.focal_loss(a, b, gamma=0.0, **k), rhs_options={"ignore_index": -1},
                     why="focal loss with gamma = 0, alpha = None is cross-entropy (same ignore_index)", id="focal-gamma0"),
        ],
    ),
]

LOGP = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
BCE_P, BCE_Y = np.array([0.8, 0.1, 1.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])
BCE_PER = [-math.log(0.8), -math.log(0.9), 100.0, 0.0]
LL_P = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
LL_Y = np.array([0, 1, 0, 1])
LL_PER = [-math.log(0.9), -math.log(0.8), -math.log(0.3), -math.log(0.65)]
HF, HY = np.array([2.0, 0.5, -1.0, 0.25]), np.array([1, 1, 1, -1])
HINGE, SQ = [0.0, 0.5, 2.0, 1.25], [0.0, 0.25, 4.0, 1.5625]
HW = np.array([1.0, 2.0, 0.0, 1.0])
LSE = math.log(math.e + 2)  # log-sum-exp of the logits [1, 0, 0] and [0, 1, 0]
LH = np.array([[1.0, 0.0], [0.0, 1.0]])
TANH1 = math.tanh(1.0)
TLSE = math.log(math.exp(TANH1) + 2)  # log-sum-exp of the soft-capped logits [tanh 1, 0, 0]
LW = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
P_UNB = math.exp(2.0) / (math.e + math.exp(2.0) + math.exp(0.5))  # softmax([1, 2, 0.5])_1


def _hinge_row(name, values, sum_):
    cases = [
        Case((HF, y), expected=values, why=f"margins y f = 2, .5, -1, -.25 -> {values} ({kind} labels)", id=f"hand-{kind}")
        for kind, y in (("pm1", HY), ("01", (HY > 0).astype(np.int64)), ("bool", HY > 0), ("float", HY.astype(np.float64)))
    ]
    cases[0].sum = sum_
    hw = [w * v for w, v in zip(HW, values)]
    cases.append(Case((HF, HY), {"weight": HW}, expected=hw, mean=sum(hw) / HW.sum(),
                      why="per-sample weights [1, 2, 0, 1]: a weighted mean sum(w l) / sum(w)", id="weighted"))
    cases += [Case((F6, Y6), id="grad"), Case((F6, (Y6 > 0).astype(np.int64)), {"weight": W6}, id="grad-weighted")]
    return LossCases(
        name,
        cases=cases,
        bad=_binary_bad(HF, HY, [
            Bad((HF, np.array([0, 1, 2, 1])), error=ValueError, match=r"target: expected binary labels in \{-1, 1\} or \{0, 1\}, got 2", id="label-2"),
            Bad((HF, np.array([0, 1, -1, 1])), error=ValueError, match="a mix of -1 and 0", id="label-mix"),
            Bad((HF, HY), {"weight": np.ones(3)}, ValueError, "weight: expected one weight per sample", id="weight-shape"),
        ]),
        empty=(np.zeros(0), EI),
    )


CASES += [
    LossCases(
        "nll_loss",
        cases=[
            Case((LOGP, np.array([0, 2])), expected=[L2, -math.log(0.8)], why="-log p at the target: -log .5, -log .8", id="hand"),
            Case((LOGP, np.array([0, 5])), {"weight": np.array([2.0, 1.0, 1.0]), "ignore_index": 5}, expected=[2 * L2, 0.0], mean=L2,
                 why="w[0] = 2 times -log .5; the second target is ignored; the mean divides by w[0] = 2", id="weight-ignore"),
            Case((np.zeros((2, 3)), np.array([5, 5])), {"ignore_index": 5}, expected=[0.0, 0.0], grad=False,
                 why="every target ignored: 0", id="all-ignored"),
            Case((X3, Y3), id="grad"),
            Case((X3, Y3_IGN), {"weight": W3, "ignore_index": -1}, id="grad-weight-ignore"),
        ],
        bad=_index_bad("nll_loss", extra=[
            Bad((X23, Y2), {"reduction": "batchmean"}, ValueError, "reduction: expected", id="batchmean"),
            Bad((X23, Y2), {"weight": np.ones(2)}, ValueError, r"weight: expected one weight per class, shape \(3,\)", id="weight-shape"),
            *_ignore_bad(),
        ]),
        empty=(E3, EI),
    ),
    LossCases(
        "binary_cross_entropy",
        cases=[
            Case((BCE_P, BCE_Y), expected=BCE_PER, grad=False,
                 why="-log .8, -log .9, the clamp 100 (p = 1 with target 0), 0 (p = 0 with target 0)", id="hand"),
            Case((BCE_P, BCE_Y), {"weight": np.array([2.0, 0.0, 1.0, 1.0])}, expected=[2 * BCE_PER[0], 0.0, 100.0, 0.0], grad=False,
                 why="elementwise rescaling; the mean still divides by the 4 elements (torch)", id="weighted"),
            Case((P4, T4), id="grad"),
            Case((P4, B4), {"weight": np.array([2.0, 0.5, 1.0, 0.0])}, id="grad-weighted"),
        ],
        bad=_binary_bad(np.array([0.5, 0.5]), np.array([0.0, 1.0]), [
            Bad((np.array([0.5, 1.5]), np.array([0.0, 1.0])), error=ValueError, match=r"input: expected probabilities in \[0, 1\]", id="input-range"),
            Bad((np.array([0.5, np.nan]), np.array([0.0, 1.0])), error=ValueError, match=r"input: expected probabilities in \[0, 1\]", id="input-nan"),
            Bad((np.array([0.5, 0.5]), np.array([0.0, 2.0])), error=ValueError, match=r"target: expected probabilities in \[0, 1\]", id="target-range"),
            Bad((np.array([0.5, 0.5]), np.array([0.0, 1.0])), {"weight": np.ones(3)}, ValueError, "weight: expected a shape broadcastable", id="weight-shape"),
        ]),
        empty=(np.zeros(0), np.zeros(0)),
    ),
    LossCases(
        "binary_cross_entropy_with_logits",
        cases=[
            Case((np.array([0.0, 2.0]), np.array([1.0, 0.0])), expected=[L2, math.log(1 + math.e**2)],
                 why="-log sigma(0) = log 2; -log(1 - sigma(2)) = log(1 + e^2)", id="hand"),
            Case((np.array([0.0, 2.0]), np.array([1.0, 0.0])), {"pos_weight": 3.0}, expected=[3 * L2, math.log(1 + math.e**2)],
                 why="pos_weight 3 triples the positive term only", id="pos-weight"),
            Case((np.array([0.0, 2.0]), np.array([1.0, 0.0])), {"pos_weight": np.float64(3.0)}, expected=[3 * L2, math.log(1 + math.e**2)],
                 why="a NumPy scalar pos_weight is a number on every backend (issue 20, class 7)", id="pos-weight-numpy-scalar"),
            Case((np.array([0.0, 2.0]), np.array([1, 0])), {"pos_weight": np.float32(3.0)}, expected=[3 * L2, math.log(1 + math.e**2)],
                 why="integer targets are cast; a float32 NumPy scalar works too", id="int-target"),
            Case((np.array([1e4, -1e4, 30.0, -30.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])),
                 expected=[1e4, 1e4, math.log1p(math.exp(-30.0)), math.log1p(math.exp(-30.0)), L2], grad=False,
                 why="softplus form: +-1e4 logits cost 1e4 (no exp overflow); 30 / -30 with the right label cost log1p(e^-30)", id="extreme"),
            Case((L4, T4), id="grad"),
            Case((L4, B4), {"pos_weight": np.array([1.0, 3.0, 0.5, 2.0]), "weight": np.array([[2.0], [0.5]])}, id="grad-weights"),
            Case((L4, B4), {"pos_weight": 2.5}, id="grad-pos-weight"),
        ],
        bad=_binary_bad(np.array([0.5, -0.5]), np.array([0.0, 1.0]), [
            Bad((np.array([0.5, -0.5]), np.array([-1.0, 1.0])), error=ValueError, match=r"target: expected probabilities in \[0, 1\]", id="target-range"),
            Bad((np.array([0.5, -0.5]), np.array([0.0, 1.0])), {"pos_weight": -1.0}, ValueError, "pos_weight: expected a number >= 0", id="pos-weight-neg"),
            Bad((np.array([0.5, -0.5]), np.array([0.0, 1.0])), {"pos_weight": np.float64(-1.0)}, ValueError, "pos_weight: expected a number >= 0", id="pos-weight-neg-numpy"),
            Bad((np.array([0.5, -0.5]), np.array([0.0, 1.0])), {"pos_weight": np.ones(3)}, ValueError, "pos_weight: expected a shape broadcastable", id="pos-weight-shape"),
            Bad((np.array([0.5, -0.5]), np.array([0.0, 1.0])), {"pos_weight": "2"}, TypeError, "pos_weight: expected an array", id="pos-weight-str"),
        ]),
        empty=(E3, E3),
    ),
    LossCases(
        "log_loss",
        cases=[
            Case((LL_P, LL_Y), expected=LL_PER, grad=False, why="-log of the true class's probability: -log .9, .8, .3, .65", id="hand"),
            Case((LL_P[:, 1].copy(), LL_Y), expected=LL_PER, why="(N,) positive-class probabilities: the same", id="binary-1d"),
            Case((LL_P[:, 1:].copy(), LL_Y), expected=LL_PER, why="(N, 1): the same", id="binary-column"),
            Case((LL_P, LL_Y), {"weight": np.array([1.0, 0.0, 2.0, 1.0])},
                 expected=[LL_PER[0], 0.0, 2 * LL_PER[2], LL_PER[3]], mean=(LL_PER[0] + 2 * LL_PER[2] + LL_PER[3]) / 4,
                 grad=False, why="sample weights: a weighted mean sum(w l) / sum(w), sum(w) = 4", id="weighted"),
            Case((np.array([0.2, 0.7, 0.9]), np.array([0, 1, 0])), {"weight": np.array([1.0, 0.5, 2.0])}, id="grad"),
        ],
        bad=[
            Bad((LL_P[:2], np.array([0, 1])), {"reduction": "average"}, ValueError, "reduction: expected one of", id="reduction"),
            Bad((LL_P[:2], np.array([0.0, 1.0])), error=TypeError, match="target: expected an integer array", id="float-target"),
            Bad((LL_P[:2], np.array([0, 2])), error=ValueError, match=r"target: expected class indices in \[0, 1\], got 2", id="label"),
            Bad((np.array([0.5, 1.2]), np.array([0, 1])), error=ValueError, match=r"input: expected probabilities in \[0, 1\]", id="input-range"),
            Bad((LL_P[:2], np.array([0, 1, 1])), error=ValueError, match=r"target: expected labels of shape \(2,\), got \(3,\)", id="target-shape"),
            Bad((np.full((2, 2, 2), 0.5), np.array([0, 1])), error=ValueError, match=r"input: expected probabilities of shape \(N,\) or \(N, C\)", id="input-3d"),
            Bad((np.zeros((2, 0)), np.array([0, 1])), error=ValueError, match="got an empty class axis", id="empty-class-axis"),
            Bad((LL_P[:2], np.array([0, 1])), {"weight": np.ones(3)}, ValueError, "weight: expected one weight per sample", id="weight-shape"),
            Bad((LL_P[:2].astype(np.int64), np.array([0, 1])), error=TypeError, match="input: expected a floating-point array", id="int-input"),
            Bad((LL_P[:2].tolist(), np.array([0, 1])), error=TypeError, match="input: expected an array", id="list-input"),
        ],
        empty=(E3, EI),
        # (N,) probabilities: rounded to half precision, (N, C) rows no longer sum to 1 (a warning)
        half=(LL_P[:, 1].copy(), LL_Y),
    ),
    LossCases(
        "kl_div",
        cases=[
            Case((np.log(np.array([[0.25, 0.7, 0.05]])), np.array([[0.5, 0.5, 0.0]])),
                 expected=[[0.5 * math.log(0.5 / 0.25), 0.5 * math.log(0.5 / 0.7), 0.0]],
                 why="p log(p / q) per element; a zero target probability adds 0; the mean is over all 3 elements", id="hand"),
            Case((np.log(np.array([[0.25, 0.7, 0.05]])), np.array([[0.5, 0.5, 0.0]])), {"reduction": "batchmean"},
                 expected=0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.7), why="batchmean: the sum over N = 1", id="batchmean"),
            Case((np.log(np.array([[0.3, 0.7], [0.6, 0.4]])), np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))), {"log_target": True},
                 expected=[[0.5 * math.log(0.5 / 0.3), 0.5 * math.log(0.5 / 0.7)], [0.9 * math.log(0.9 / 0.6), 0.1 * math.log(0.1 / 0.4)]],
                 why="log_target: e^t (t - x) = p log(p / q)", id="log-target"),
            Case((np.array([[0.0, -np.inf]]), np.array([[1.0, 0.0]])), expected=[[0.0, 0.0]], grad=False,
                 why="p = q = [1, 0]: 1 log 1 + 0, although log q_1 = -inf (torch: NaN)", id="zero-prob-inf-log"),
            Case((np.array([[0.0, -np.inf]]), np.array([[0.0, -np.inf]])), {"log_target": True}, expected=[[0.0, 0.0]], grad=False,
                 why="log_target: a -inf log-target is a zero probability: 0", id="zero-prob-log-target"),
            Case((np.log(Q3), np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])), {"reduction": "batchmean"}, id="grad"),
            Case((np.log(Q3), np.log(np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]))), {"log_target": True}, id="grad-log-target"),
        ],
        bad=[
            Bad((np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'batchmean'", id="reduction"),
            Bad((np.log(np.full((2, 2), 0.5)), np.log(np.full((2, 2), 0.5))), error=ValueError, match=r"target: expected probabilities in \[0, 1\]", id="log-probs-as-probs"),
            Bad((np.log(np.full((2, 2), 0.5)), np.full((2, 3), 0.2)), error=ValueError, match="target: expected the shape of input", id="target-shape"),
            Bad((np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)), {"log_target": 1}, TypeError, "log_target: expected a bool, got int", id="log-target-int"),
            Bad((np.log(np.full((2, 2), 0.5)), np.full((2, 2), 0.5)), {"log_target": "False"}, TypeError, "log_target: expected a bool, got str", id="log-target-str"),
            Bad((np.zeros((2, 2), dtype=np.int64), np.full((2, 2), 0.5)), error=TypeError, match="input: expected a floating-point array", id="int-input"),
            Bad(([[0.0, 0.0]], np.full((1, 2), 0.5)), error=TypeError, match="input: expected an array", id="list-input"),
        ],
        empty=(E3, E3),
    ),
    _hinge_row("hinge_loss", HINGE, sum(HINGE)),
    _hinge_row("squared_hinge_loss", SQ, 5.8125),
    LossCases(
        "multi_margin_loss",
        cases=[
            Case((np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])), expected=[0.325],
                 why="torch's documentation example: (1 - .8 + .1) + (1 - .8 + .2) + (1 - .8 + .4) over C = 4", id="hand"),
            Case((np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])), {"p": 2, "margin": 0.5, "weight": np.array([1.0, 1.0, 1.0, 2.0])},
                 expected=[0.005], grad=False, why="margins .5 - .8 + x_j = [-.2, -.1, .1]: only .1 counts, squared, times w_y = 2, over 4",
                 id="p2-weight"),
            Case((np.array([1.0, 1.5, 0.2]), np.array(1)), expected=0.5 / 3,
                 why="unbatched (C,) scores, 0-d target: 1 - 1.5 + 1 = .5 (class 0), 1 - 1.5 + .2 < 0 (class 2); over C = 3",
                 id="unbatched"),
            Case((X3, Y3), {"p": 1, "margin": 0.85, "weight": W3}, id="grad"),
            Case((X3, Y3), {"p": 2}, id="grad-p2"),
        ],
        bad=_index_bad("multi_margin_loss", extra=[
            Bad((X23, Y2), {"p": 3}, ValueError, "p: expected 1 or 2, got 3", id="p"),
            Bad((X23, Y2), {"margin": "1"}, TypeError, "margin: expected a real number", id="margin"),
            Bad((X23, Y2), {"weight": np.ones(2)}, ValueError, r"weight: expected one weight per class, shape \(3,\)", id="weight-shape"),
        ]),
        empty=(E3, EI),
    ),
    LossCases(
        "multiclass_hinge_loss",
        cases=[
            Case((np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0], [5.0, 1.0, 0.0]]), np.array([0, 2, 0])), expected=[0.5, 3.0, 0.0],
                 why="1 - (2 - 1.5) = .5; 1 - (1 - 3) = 3; 1 - (5 - 1) < 0 -> 0", id="hand"),
            Case((np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0], [5.0, 1.0, 0.0]]), np.array([0, 2, 0])), {"weight": np.array([2.0, 1.0, 1.0])},
                 expected=[1.0, 3.0, 0.0], mean=1.0, why="per-sample weights: a weighted mean (2 * .5 + 3) / 4", id="weighted"),
            Case((np.array([1.0, 2.5, 0.2]), np.array(0)), expected=2.5,
                 why="unbatched (C,) scores, 0-d target: 1 - 1 + 2.5", id="unbatched"),
            Case((X3, Y3), id="grad"),
            Case((X3, Y3), {"weight": np.array([1.0, 0.5, 2.0, 1.5])}, id="grad-weighted"),
        ],
        bad=_index_bad("multiclass_hinge_loss", min2=True, extra=[
            Bad((np.zeros((2, 1)), np.array([0, 0])), error=ValueError,
                match="input: expected at least 2 classes along axis 1, got 1 class", id="one-class"),
            Bad((X23, Y2), {"weight": np.ones(3)}, ValueError, "weight: expected one weight per sample", id="weight-shape"),
        ]),
        empty=(E3, EI),
    ),
    LossCases(
        "sigmoid_focal_loss",
        cases=[
            Case((np.array([0.0, 0.0]), np.array([1.0, 0.0])), expected=[0.25 * 0.25 * L2, 0.75 * 0.25 * L2],
                 why="x = 0: p_t = 1/2, so alpha_t (1/2)^2 log 2 with alpha_t = .25 (y = 1) and .75 (y = 0)", id="hand"),
            Case((np.array([0.0, 0.0]), np.array([1.0, 0.0])), {"alpha": np.float32(0.5), "gamma": np.float64(1.0)},
                 expected=[0.25 * L2, 0.25 * L2], why="NumPy scalar options: .5 (1/2)^1 log 2 each", id="numpy-scalars"),
            Case((np.array([1e4, -1e4, 1e4, -1e4, 50.0]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])), expected=[0.0, 0.0, 7500.0, 2500.0, 0.0],
                 grad=False, why="right and confident: 0; wrong and confident: alpha_t * 1 * 1e4 (.75 and .25); x = 50, y = 1: ~1e-65",
                 atol=1e-9, id="extreme"),
            Case((L4, B4), id="grad"),
            Case((L4, T4), {"alpha": None, "gamma": 0.5}, id="grad-gamma-half"),
            Case((L4, B4), {"alpha": 0.7, "gamma": 0.0}, id="grad-gamma0"),
        ],
        bad=_binary_bad(np.zeros(2), np.array([0.0, 1.0]), [
            Bad((np.zeros(2), np.array([0.0, 1.0])), {"alpha": 1.5}, ValueError, "alpha: expected a number <= 1", id="alpha"),
            Bad((np.zeros(2), np.array([0.0, 1.0])), {"gamma": -1.0}, ValueError, "gamma: expected a number >= 0", id="gamma"),
            Bad((np.zeros(2), np.array([0.0, 2.0])), error=ValueError, match=r"target: expected probabilities in \[0, 1\]", id="target-range"),
        ]),
        empty=(np.zeros(0), np.zeros(0)),
        identities=[Identity((L4, T4), options={"alpha": None, "gamma": 0.0}, rhs=losskit.binary_cross_entropy_with_logits,
                             why="gamma = 0 and no alpha is BCE with logits", id="bce")],
    ),
    LossCases(
        "focal_loss",
        cases=[
            Case((np.zeros((1, 2)), np.array([1])), expected=[0.25 * L2], why="p_y = 1/2: (1/2)^2 log 2", id="hand"),
            Case((np.zeros((3, 2)), np.array([0, 1, -1])), {"alpha": np.array([0.5, 2.0]), "ignore_index": -1},
                 expected=[0.125 * L2, 0.5 * L2, 0.0], mean=0.625 * L2 / 2,
                 why="alpha_y (1/2)^2 log 2 with alpha = [.5, 2]; the ignored sample gives 0; the mean counts the 2 kept "
                     "(alpha is not in the denominator)", id="alpha-ignore"),
            Case((np.zeros((2, 2)), np.array([0, 1])), {"alpha": np.float64(0.5)}, expected=[0.125 * L2, 0.125 * L2],
                 why="a NumPy scalar alpha is one number for every class: .5 (1/2)^2 log 2", id="alpha-numpy-scalar"),
            Case((np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]]), np.array([0, 0, 1])), expected=[0.0, 2e4, 0.25 * L2], grad=False,
                 why="right and confident: 0; wrong and confident: (1 - 0)^2 * 2e4; tie: (1/2)^2 log 2", id="extreme"),
            Case((np.zeros((2, 3)), np.array([4, 4])), {"ignore_index": 4}, expected=[0.0, 0.0], grad=False, why="all ignored: 0",
                 id="all-ignored"),
            Case((X3, Y3), id="grad"),
            Case((X3, Y3_IGN), {"gamma": 0.5, "alpha": W3, "ignore_index": -1}, id="grad-alpha-ignore"),
            Case((X_SEG, Y_SEG), {"gamma": 1.0, "alpha": 0.25}, id="grad-segmentation"),
        ],
        bad=_index_bad("focal_loss", extra=[
            Bad((X23, Y2), {"alpha": np.ones(2)}, ValueError, r"alpha: expected one weight per class, shape \(3,\)", id="alpha-shape"),
            Bad((X23, Y2), {"alpha": -1.0}, ValueError, "alpha: expected a number >= 0", id="alpha-neg"),
            Bad((X23, Y2), {"gamma": -0.5}, ValueError, "gamma: expected a number >= 0", id="gamma"),
            *_ignore_bad(),
        ]),
        empty=(E3, EI),
    ),
    LossCases(
        "poly1_cross_entropy",
        cases=[
            Case((np.zeros((1, 2)), np.array([0])), expected=[L2 + 0.5], why="p_t = 1/2: log 2 + 1 * (1 - 1/2)", id="hand"),
            Case((np.zeros((1, 2)), np.array([[0.25, 0.75]])), {"epsilon": 2.0}, expected=[L2 + 1.0],
                 why="probabilities, p = 1/2: -sum q log p = log 2, plus 2 sum q (1 - p) = 2 * 1/2", id="probs"),
            Case((np.array([1.0, 2.0, 0.5]), np.array(1)), expected=-math.log(P_UNB) + (1 - P_UNB),
                 why="unbatched (C,) logits, 0-d target: -log p_1 + (1 - p_1), p_1 = e^2 / (e + e^2 + e^.5)", id="unbatched"),
            Case((X3, Y3), {"epsilon": 2.0}, id="grad"),
            Case((X_SEG, np.moveaxis(np.eye(3)[Y_SEG], -1, 1).copy()), {"epsilon": -1.0}, id="grad-probs"),
        ],
        bad=_index_bad("poly1_cross_entropy", extra=[
            Bad((X23, Y2), {"epsilon": None}, TypeError, "epsilon: expected a real number", id="epsilon"),
            Bad((X23, np.full((2, 3), 2.0)), error=ValueError, match=r"target: expected probabilities in \[0, 1\]", id="probs-range"),
        ]),
        empty=(E3, EI),
        identities=[Identity((X3, Y3), options={"epsilon": 0.0}, rhs=losskit.cross_entropy, why="epsilon = 0 is cross-entropy", id="ce")],
    ),
    LossCases(
        "zero_one_loss",
        cases=[
            Case((np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]), np.array([0, 0, 0])), expected=[0.0, 1.0, 0.0],
                 why="argmax 0, 1, 0 against class 0: one error of three", id="hand"),
            Case((np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]), np.array([0, 0, 0])), {"weight": np.array([1.0, 3.0, 0.0])},
                 expected=[0.0, 3.0, 0.0], mean=0.75, why="weighted fraction of errors: 3 / (1 + 3 + 0)", id="weighted"),
            Case((np.array([0.5, -0.2, 0.0, 3.0]), np.array([1, 1, -1, -1])), expected=[0.0, 1.0, 0.0, 1.0],
                 why="binary decision values: f > 0 predicts +1 (f = 0 predicts -1)", id="binary-pm1"),
            Case((np.array([0.5, -0.2, 0.0, 3.0]), np.array([1, 1, 0, 0])), expected=[0.0, 1.0, 0.0, 1.0],
                 why="the same with {0, 1} labels", id="binary-01"),
            Case((np.array([0.2, 0.9, 0.1]), np.array(0)), expected=1.0, why="unbatched (C,) scores: argmax 1 is not 0", id="unbatched"),
        ],
        bad=_index_bad("zero_one_loss", extra=[
            Bad((np.zeros(2), np.array([0, 3])), error=ValueError, match="binary labels", id="binary-labels"),
        ]),
        empty=(E3, EI),
    ),
    LossCases(
        "linear_cross_entropy",
        cases=[
            Case((LH, LW, np.array([0, 2])), expected=[LSE - 1, LSE], grad=False,
                 why="hidden rows e1, e2, weight rows e1, e2, 0: logits [1, 0, 0] and [0, 1, 0]; lse = log(e + 2); "
                     "losses lse - 1 (target 0) and lse - 0 (target 2)", id="hand"),
            Case((LH, LW, np.array([0, 2])), {"label_smoothing": 0.3},
                 expected=[0.7 * (LSE - 1) + 0.3 * (LSE - 1 / 3), 0.7 * LSE + 0.3 * (LSE - 1 / 3)], grad=False,
                 why="smoothing 0.3 mixes in the uniform target: 0.3 (lse - mean z), mean z = 1/3 on both rows", id="smoothing"),
            Case((LH, LW, np.array([0, -1])), {"ignore_index": -1, "bias": np.array([0.0, 0.0, 0.0])}, expected=[LSE - 1, 0.0],
                 mean=LSE - 1, grad=False, why="the ignored token gives 0 and leaves the mean (one token kept)", id="ignore"),
            Case((LH, LW, np.array([0, 2])), {"z_loss": 0.1}, expected=[LSE - 1 + 0.1 * LSE**2, LSE + 0.1 * LSE**2],
                 why="PaLM's z-loss adds z_loss * lse^2 per token: lse = log(e + 2) on both rows", grad=False, id="z-loss"),
            Case((LH, LW, np.array([0, 2])), {"class_weight": np.array([2.0, 1.0, 0.5])},
                 expected=[2.0 * (LSE - 1), 0.5 * LSE], mean=(2.0 * (LSE - 1) + 0.5 * LSE) / 2.5,
                 why="class weights scale each token by its target's weight (2 and 0.5); the mean divides by "
                     "their sum 2.5, as F.cross_entropy", grad=False, id="class-weight"),
            Case((LH, LW, np.array([0, 2])), {"softcap": 1.0}, expected=[TLSE - TANH1, TLSE],
                 why="soft-capping at s = 1: logits tanh([1, 0, 0]) = [tanh 1, 0, 0] (and [0, tanh 1, 0]); "
                     "lse = log(e^tanh(1) + 2), losses lse - tanh 1 and lse - 0", grad=False, id="softcap"),
            Case((np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]]), LW, np.array([[1, 0, 2]])), {"shift": True},
                 expected=[[LSE - 1, LSE]],
                 why="shift: position 0 (e1, logits [1, 0, 0]) predicts target[1] = 0: lse - 1; position 1 (e2, "
                     "logits [0, 1, 0]) predicts target[2] = 2: lse; the last position predicts nothing, so "
                     "reduction='none' has shape (batch, seq - 1) = (1, 2)", grad=False, id="shift"),
            Case((LH, LW, np.array([0, 2])), {"z_loss": 0.1, "softcap": 1.0, "class_weight": np.array([2.0, 1.0, 0.5])},
                 expected=[2.0 * (TLSE - TANH1) + 0.1 * TLSE**2, 0.5 * TLSE + 0.1 * TLSE**2],
                 mean=(2.0 * (TLSE - TANH1) + 0.5 * TLSE) / 2.5 + 0.1 * TLSE**2,
                 why="all three: the weighted CE of the soft-capped logits plus the unweighted z-loss; the mean "
                     "divides the CE by the weight sum 2.5 and the z-loss by the 2 kept tokens", grad=False, id="combined"),
        ],
        bad=[
            Bad((LH, LW, np.array([0, 2])), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
            Bad((LH, LW, np.array([0, 2])), {"label_smoothing": 1.5}, ValueError, "label_smoothing: expected a number <= 1", id="smoothing-high"),
            Bad((LH, LW, np.array([0, 2])), {"label_smoothing": -0.1}, ValueError, "label_smoothing: expected a number >= 0", id="smoothing-neg"),
            Bad((LH, LW, np.array([0, 2])), {"chunk_size": 0}, ValueError, "chunk_size: expected a positive int", id="chunk-0"),
            Bad((LH, LW, np.array([0, 2])), {"chunk_size": True}, TypeError, "chunk_size: expected a positive int", id="chunk-bool"),
            Bad((LH, LW, np.array([0, 2])), {"ignore_index": 1.0}, TypeError, "ignore_index: expected an int or None", id="ignore-float"),
            Bad((LH, LW, np.array([0, 2])), {"ignore_index": 2**64}, ValueError, "ignore_index: expected an int in the int64 range", id="ignore-huge"),
            Bad((LH, LW, np.array([0, 2])), {"bias": np.zeros(4)}, ValueError, r"bias: expected shape \(3,\)", id="bias-shape"),
            Bad((LH, LW, np.array([0.0, 2.0])), error=TypeError, match="target: expected an integer tensor", id="float-target"),
            Bad((LH.astype(np.int64), LW, np.array([0, 2])), error=TypeError, match="hidden: expected a floating-point tensor", id="int-hidden"),
            Bad((LH[:, :1], LW, np.array([0, 2])), error=ValueError, match="hidden: expected a last dimension of 2", id="hidden-width"),
            Bad((LH, LW, np.array([0, 3])), error=ValueError, match=r"target: expected class indices in \[0, 2\]", id="label"),
            Bad((LH, LW, np.array([0, 2])), {"z_loss": -0.1}, ValueError, "z_loss: expected a number >= 0", id="z-loss-neg"),
            Bad((LH, LW, np.array([0, 2])), {"softcap": 0.0}, ValueError, "softcap: expected a number > 0", id="softcap-0"),
            Bad((LH, LW, np.array([0, 2])), {"softcap": "30"}, TypeError, "softcap: expected a real number", id="softcap-str"),
            Bad((LH, LW, np.array([0, 2])), {"shift": 1}, TypeError, "shift: expected a bool, got int", id="shift-int"),
            Bad((LH[0], LW, np.array(0)), {"shift": True}, ValueError, "hidden: expected a sequence dimension", id="shift-1d"),
            Bad((LH, LW, np.array([0, 2])), {"return_lse": "yes"}, TypeError, "return_lse: expected a bool", id="return-lse"),
            Bad((LH, LW, np.array([0, 2])), {"return_z_loss": None}, TypeError, "return_z_loss: expected a bool", id="return-z"),
            Bad((LH, LW, np.array([0, 2])), {"class_weight": np.ones(4)}, ValueError,
                r"class_weight: expected one weight per class, shape \(3,\)", id="class-weight-shape"),
            Bad((LH, LW, np.array([0, 2])), {"class_weight": [1.0, 1.0, 1.0]}, TypeError,
                "class_weight: expected a torch.Tensor or None", id="class-weight-list"),
            Bad((np.array([[[1.0, 0.0], [0.0, 1.0]]]), LW, np.array([[0, 3]])), {"shift": True}, ValueError,
                r"target: expected class indices in \[0, 2\], got 3", id="shift-label"),
        ],
        empty=(np.zeros((0, 2)), LW, EI),
    ),
]

# --- asymmetric_loss / asymmetric_single_label_loss (issue 16) ---
ASL_X = np.array([[0.0, 0.0, -4.0, L3, L3]])
ASL_Y = np.array([[1.0, 0.0, 0.0, 1.0, 0.0]])
ASL_X2 = np.array([[1.1, -0.8, 2.3], [-1.7, 0.4, -0.2]])  # p away from the margin m = 0.05
ASL_Y2 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])

CASES.extend([
    LossCases(
        "asymmetric_loss",
        cases=[
            Case((ASL_X, ASL_Y), expected=[[L2 / 2, -(0.45**4) * math.log(0.55), 0.0, -0.25 * math.log(0.75),
                                            -(0.7**4) * math.log(0.3)]],
                 why="defaults gamma+ = 1, gamma- = 4, m = 0.05. x = 0, y = 1: p = 1/2, -(1/2) log(1/2). x = 0, "
                     "y = 0: p_m = 0.45, -0.45^4 log(0.55). x = -4, y = 0: p = 0.018 <= m, p_m = 0: no loss. "
                     "x = log 3: p = 3/4; y = 1: -(1/4) log(3/4); y = 0: p_m = 0.7, -0.7^4 log(0.3)", id="hand"),
            Case((np.array([0.0, 0.0, L3]), np.array([0.0, 1.0, 0.0])), {"gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.0},
                 expected=[L2 / 4, L2, -(0.75**2) * math.log(0.25)],
                 why="no margin: a negative costs p^2 (-log(1 - p)): (1/4) log 2 at p = 1/2, 0.75^2 (-log 1/4) at "
                     "p = 3/4; gamma+ = 0: the positive is plain -log p = log 2", id="no-clip"),
            Case((np.array([-30.0, 30.0]), np.array([1.0, 0.0])), {"gamma_pos": 0.0, "gamma_neg": 0.0, "clip": 0.0, "eps": 1e-8},
                 expected=[-math.log(1e-8), -math.log(1e-8)], grad=False,
                 why="timm's clamp: log p = log sigma(-30) ~ -30 is clamped at log(1e-8) (and log(1 - p) at x = 30)",
                 id="eps-clamp"),
            Case((np.array([-30.0, 30.0]), np.array([1.0, 0.0])), {"gamma_pos": 0.0, "gamma_neg": 0.0, "clip": 0.0},
                 expected=[30.0 + math.log1p(math.exp(-30.0)), 30.0 + math.log1p(math.exp(-30.0))],
                 why="without eps the log-sigmoid forms are exact: -log sigma(-30) = 30 + log(1 + e^-30)", id="exact-tails"),
            Case((ASL_X2, ASL_Y2), {"gamma_neg": 3.0, "gamma_pos": 0.5, "clip": 0.1}, id="grad"),
        ],
        bad=_binary_bad(ASL_X2, ASL_Y2, extra=[
            Bad((ASL_X2, ASL_Y2), {"gamma_neg": -1.0}, ValueError, "gamma_neg: expected a number >= 0", id="gamma-neg"),
            Bad((ASL_X2, ASL_Y2), {"gamma_pos": "1"}, TypeError, "gamma_pos: expected a real number", id="gamma-pos"),
            Bad((ASL_X2, ASL_Y2), {"clip": 1.5}, ValueError, "clip: expected a number <= 1", id="clip-high"),
            Bad((ASL_X2, ASL_Y2), {"clip": None}, TypeError, "clip: expected a real number", id="clip-none"),
            Bad((ASL_X2, ASL_Y2), {"eps": 0.0}, ValueError, "eps: expected a number > 0", id="eps-0"),
            Bad((ASL_X2, ASL_Y2 * 2.0), error=ValueError, match=r"target: expected", id="target-range"),
        ]),
        empty=(np.zeros((0, 3)), np.zeros((0, 3))),
        identities=[Identity((ASL_X2, ASL_Y2), options={"gamma_neg": 0.0, "gamma_pos": 0.0, "clip": 0.0},
                             rhs=losskit.binary_cross_entropy_with_logits,
                             why="no focusing and no margin is binary cross-entropy on logits", id="bce")],
    ),
    LossCases(
        "asymmetric_single_label_loss",
        cases=[
            Case((np.array([[0.0, 0.0], [0.0, L3]]), np.array([1, 1])), expected=[L2 / 2, -0.25 * math.log(0.75)],
                 why="no smoothing: only the target's term, -(1 - p_y)^1 log p_y; p_y = 1/2, then 3/4", id="hand"),
            Case((np.array([[0.0, L3]]), np.array([1])), {"label_smoothing": 0.2},
                 expected=[-(0.1 * 0.25**4 * math.log(0.25) + 0.9 * 0.25 * math.log(0.75))],
                 why="p = [1/4, 3/4], target 1, smoothing 0.2: q = [0.1, 0.9]; weights p_0^4 = (1/4)^4 and "
                     "(1 - p_1)^1 = 1/4; -(0.1 (1/4)^4 log(1/4) + 0.9 (1/4) log(3/4))", id="smoothing"),
            Case((np.array([[0.0, 0.0], [0.0, L3]]), np.array([1, -1])), {"ignore_index": -1}, expected=[L2 / 2, 0.0],
                 mean=L2 / 2, why="the ignored sample gives 0 and leaves the mean", id="ignore"),
            Case((X3, Y3), {"gamma_neg": 2.0, "gamma_pos": 0.5, "label_smoothing": 0.1}, id="grad"),
            Case((X_SEG, Y_SEG), {"label_smoothing": 0.1}, id="grad-nd"),
        ],
        bad=_index_bad("asymmetric_single_label_loss", extra=[
            Bad((X23, Y2), {"gamma_neg": -1.0}, ValueError, "gamma_neg: expected a number >= 0", id="gamma-neg"),
            Bad((X23, Y2), {"label_smoothing": 1.5}, ValueError, "label_smoothing: expected a number <= 1", id="smoothing"),
            *_ignore_bad(),
        ]),
        empty=(E3, EI),
        identities=[
            Identity((X3, Y3), options={"gamma_neg": 3.0, "gamma_pos": 2.0}, rhs=losskit.focal_loss,
                     rhs_options={"gamma": 2.0}, why="without smoothing only the target's term is left: focal loss", id="focal"),
            Identity((X3, Y3), options={"gamma_neg": 0.0, "gamma_pos": 0.0, "label_smoothing": 0.1}, rhs=losskit.cross_entropy,
                     rhs_options={"label_smoothing": 0.1}, why="no focusing is cross-entropy (same smoothing)", id="ce"),
        ],
    ),
])
