"""Case-table rows of the metric-learning family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand (with ``math`` on the formula) in ``why``; none was
produced by losskit. Pair losses take ``(embeddings, labels)``; ArcFace and CosFace also
the (C, D) class-centre weight. Cases named ``fast-...`` are ordinary random batches: on
torch every pair loss computes the Gram matrix of its batch with itself, the fast path
``metric_learning.torch_self_gram`` (``tests/test_fast_paths.py`` pins it on every case).
``triplet_margin_loss`` takes explicit ``(anchor, positive, negative)`` triplets instead;
every torch case of it takes its fast path, ``metric_learning.torch_triplet_margin``.

Reductions: ``expected`` is the ``reduction="none"`` output; ``mean`` is given where the
loss's mean is not the plain mean of it (AdaSP: over identities; triplet and contrastive:
over the non-zero terms, PML's AvgNonZeroReducer; NT-Xent: over positive pairs).
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from . import Bad, Case, Identity, LossCases

SP = lambda x: math.log1p(math.exp(x))  # noqa: E731  softplus

# Two identities whose two samples coincide: s = 1 within an identity, 0 across.
E_ORTH = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
Y_ORTH = np.array([0, 0, 1, 1])
# Points 0, 1 | 3, 4 on a line.
E_LINE = np.array([[0.0], [1.0], [3.0], [4.0]])
Y_LINE = Y_ORTH
# Three points on a line, two of identity 0.
E_3 = np.array([[0.0], [1.0], [3.0]])
Y_3 = np.array([0, 0, 1])
# Issue 20 class 3: zero, duplicate and collinear embeddings. Normalised: z0 = z1 = 0,
# a = (0.6, 0.8), b = (0, 1), c = (0.6, 0.8) (c = 2 a: collinear, a duplicate direction).
E_TIE = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 2.0], [6.0, 8.0]])
Y_TIE = np.array([0, 0, 1, 1, 0])
R04 = math.sqrt(0.4)  # |a - b| = |b - c| = sqrt(0.6^2 + 0.2^2)
# One sample per identity.
E_DISTINCT = np.random.default_rng(13).normal(size=(4, 3))
Y_DISTINCT = np.array([0, 1, 2, 3])
# Random batches: gradients away from kinks and ties (G), the fast-path inputs (F).
_rng = np.random.default_rng(10)
G_E, G_Y = _rng.normal(size=(7, 3)), np.array([0, 1, 0, 2, 1, 0, 2])
F_E = np.random.default_rng(20).normal(size=(12, 5))
F_Y = np.array([3, 0, 1, 3, 2, 0, 1, 2, 3, 0, 2, 1])
# Pre-normalised rows: normalize=True changes nothing.
_u = np.random.default_rng(21).normal(size=(8, 4))
E_UNIT = _u / np.linalg.norm(_u, axis=1, keepdims=True)
Y_UNIT = np.array([0, 1, 0, 1, 2, 2, 0, 1])
# Bad-input batch.
B_E = np.random.default_rng(14).normal(size=(5, 4))
B_Y = np.array([0, 1, 2, 1, 0])
EMPTY = (np.zeros((0, 4)), np.zeros((0,), dtype=np.int64))
# ArcFace / CosFace
W2 = np.array([[1.0, 0.0], [0.0, 1.0]])
_rw = np.random.default_rng(11)
M_E, M_W, M_Y = _rw.normal(size=(4, 3)), _rw.normal(size=(3, 3)), np.array([0, 2, 1, 2])


def _batch_bad(fn_name, extra=()):
    """Bad inputs every pair loss shares (shapes, dtypes, reduction)."""
    return [
        Bad((B_E, B_Y), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad((B_E[0], B_Y), error=ValueError, match="embeddings: expected a 2-D array", id="embeddings-1d"),
        Bad((B_E, B_Y * 1.0), error=TypeError, match="labels: expected an integer array", id="float-labels"),
        Bad((B_E, B_Y[:3]), error=ValueError, match=r"labels: expected shape \(5,\) to match embeddings' batch size", id="labels-shape"),
        Bad((B_Y, B_Y), error=TypeError, match="embeddings: expected a floating-point array", id="int-embeddings"),
        Bad(([[0.0, 1.0]], B_Y[:1]), error=TypeError, match="embeddings: expected an array", id="list"),
        *extra,
    ]


def _margin_bad(extra=(), *, weight=np.ones((3, 4)), num_classes=np.ones((2, 4)), one_d="weight: expected a 2-D array",
                shape=r"weight: expected shape \(num_classes, 4\) matching the embedding size"):
    """Bad inputs the margin-softmax losses share; ``weight`` a valid weight for 3 classes,
    ``num_classes`` one for 2 (labels out of range), ``one_d`` the message for a 1-D weight,
    ``shape`` the one for a (3, 2) weight."""
    return [
        Bad((B_E, B_Y, np.ones((3, 2))), error=ValueError, match=shape, id="weight-shape"),
        Bad((B_E, B_Y, num_classes), error=ValueError, match=r"labels: expected class indices in \[0, 1\]", id="labels-range"),
        Bad((B_E, B_Y, np.ones(4)), error=ValueError, match=one_d, id="weight-1d"),
        Bad((B_E, B_Y, weight), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
        Bad((B_E, B_Y * 1.0, weight), error=TypeError, match="labels: expected an integer array", id="float-labels"),
        *extra,
    ]


# triplet_margin_loss: explicit triplets, anchors at the origin, eps = 0 where named.
T_A = np.zeros((2, 2))
T_P = np.array([[3.0, 4.0], [1.0, 0.0]])  # |a - p| = 5, 1 (Manhattan 7, 1)
T_N = np.array([[6.0, 8.0], [0.0, 2.0]])  # |a - n| = 10, 2 (Manhattan 14, 2); |p - n| = 5, sqrt(5)
_tr = np.random.default_rng(30)
# random triplets whose hinges are all well inside their positive side (margin 4): gradients
T_GA, T_GP, T_GN = (_tr.normal(size=(6, 4)) for _ in range(3))
# positive = anchor + u, negative = anchor - 3u: |p - n| = 4|u| > |a - n| = 3|u|, the swap changes nothing
_u = _tr.normal(size=(5, 3))
T_SA = _tr.normal(size=(5, 3))
T_SP, T_SN = T_SA + _u, T_SA - 3 * _u
T_B = [_tr.normal(size=(5, 4)) for _ in range(3)]
T_EMPTY = (np.zeros((0, 4)),) * 3
_C91 = 91 ** (1 / 3)  # (3^3 + 4^3)^(1/3); the negative is twice the positive: 2 * 91^(1/3)
# eps = 1e-6 with the anchor on its positive: d(a, p) = |(eps, eps)| = sqrt(2) eps
_TE = 6 + math.sqrt(2) * 1e-6 - math.hypot(3 - 1e-6, 4 - 1e-6)

_L4E = math.log1p(4 / math.e)
_L16E = math.log1p(16 / math.e)
# tau = 0.1 on E_ORTH: s_H = 1 - 0.1 log 4 >= 0, s_LH = 1, a = 2 s_H / (s_H + 1).
_SH = 1 - 0.1 * math.log(4)
_A = 2 * _SH / (_SH + 1)
_L01 = math.log1p(4 * math.exp(-(_A * _SH + (1 - _A)) / 0.1))
_ADASP_WHY = ("tau = 1: s_H = -log(4 e^-1) = 1 - log 4 < 0 so a = 0, s_p = s_LH; m_i = -log(2 e^-1) = "
              "1 - log 2, s_LH = log(2 e^(1 - log 2)) = 1; N = log(4 e^0) = log 4; L_c = log(1 + 4/e); "
              "none: each of the K = 2 samples holds L_c / 2; mean over the 2 identities")

_TRIPLET_WHY = ("inner anchors (1 and 3): farthest positive at 1, nearest negative at 2: 1 - 2 + 1.5 = 0.5; "
                "outer anchors: 1 - 3 + 1.5 < 0 -> 0, left out of the mean")

_V_NT = math.log1p(2 / math.e)
_CIRCLE = math.log1p(2 * math.exp(-0.5))
_MS = math.log1p(math.exp(-0.5)) + math.log1p(2 * math.exp(-0.5))

# contrastive on E_TIE with the defaults (pos_margin 0, neg_margin 1, normalised):
# positives z0-z1 d = 0 (tie: 0), z0-c, z1-c d = 1 (1 each), a-b d = R04; negatives
# z-a, z-b d = 1 = neg_margin (tie: 0), c-a d = 0 (1), c-b d = R04 (1 - R04).
_TIE = np.array([
    [0.0, 0.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 0.0, R04, 1.0],
    [0.0, 0.0, R04, 0.0, 1 - R04],
    [1.0, 1.0, 1.0, 1 - R04, 0.0],
])
_TIE_MEAN = (4 * 1.0 + 2 * R04) / 6 + (2 * 1.0 + 2 * (1 - R04)) / 4

CASES = [
    LossCases(
        "adasp_loss",
        cases=[
            Case((E_ORTH, Y_ORTH), {"temperature": 1.0}, expected=[_L4E / 2] * 4, mean=_L4E, why=_ADASP_WHY, id="hand-adasp"),
            Case((E_ORTH, Y_ORTH), {"temperature": 1.0, "variant": "sp-lh"}, expected=[_L4E / 2] * 4, mean=_L4E,
                 why="SP-LH: s_p = s_LH = 1 (see hand-adasp): log(1 + 4/e)", id="hand-sp-lh"),
            Case((E_ORTH, Y_ORTH), {"temperature": 1.0, "variant": "sp-h"}, expected=[_L16E / 2] * 4, mean=_L16E,
                 why="SP-H: s_p = s_H = 1 - log 4: log(1 + e^(log 4 - (1 - log 4))) = log(1 + 16/e)", id="hand-sp-h"),
            Case((E_ORTH, Y_ORTH), {"temperature": 0.1}, expected=[_L01 / 2] * 4, mean=_L01, grad=False,
                 why="tau = 0.1: s_H = 1 - 0.1 log 4 >= 0, the adaptive weight is live: a = 2 s_H / (s_H + 1), "
                     "s_p = a s_H + (1 - a), N = log 4 + 0 -> log(1 + 4 e^(-s_p / 0.1)) (a detached: no gradient check)",
                 id="hand-adaptive"),
            Case((G_E, G_Y), {"temperature": 0.3, "variant": "sp-lh"}, id="grad"),
            Case((F_E, F_Y), {"temperature": 0.2}, grad=False, id="fast-random"),
        ],
        bad=_batch_bad("adasp_loss", [
            Bad((B_E, B_Y), {"temperature": 0.0}, ValueError, "temperature: expected a number > 0", id="temperature-0"),
            Bad((B_E, B_Y), {"variant": "sp"}, ValueError, "variant: expected one of 'adasp'", id="variant"),
            Bad((B_E, B_Y), {"temperature": "0.1"}, TypeError, "temperature: expected a real number, got str", id="temperature-str"),
        ]),
        empty=EMPTY,
        identities=[Identity((E_DISTINCT, Y_DISTINCT), rhs=losskit.adasp_loss,
                             options={"temperature": 0.2, "variant": "sp-h"}, rhs_options={"temperature": 0.2, "variant": "sp-lh"},
                             why="one sample per identity: the self-pair is the only positive, s_H = s_LH = 1", id="sph-eq-splh")],
    ),
    LossCases(
        "batch_hard_triplet_loss",
        cases=[
            Case((E_LINE, Y_LINE), {"margin": 1.5, "normalize": False}, expected=[0.0, 0.5, 0.5, 0.0], mean=0.5,
                 why=_TRIPLET_WHY, id="hand"),
            Case((E_LINE, Y_LINE), {"margin": 1.5, "normalize": False, "soft": True},
                 expected=[SP(-0.5), SP(0.5), SP(0.5), SP(-0.5)],
                 why="soft: softplus of the violations -0.5, 0.5, 0.5, -0.5; every anchor counts", id="soft"),
            Case((E_LINE, Y_LINE), {"margin": 0.5, "normalize": False}, expected=[0.0] * 4, grad=False,
                 why="margin 0.5: 1 - 2 + 0.5 < 0 for every anchor: nothing non-zero to average -> 0", id="margin-small"),
            Case((E_ORTH, Y_ORTH), {"margin": 1.5, "distance": "cosine"}, expected=[0.5] * 4, grad=False,
                 why="cosine: s_ap = 1, s_an = 0 -> [0 - 1 + 1.5]_+ = 0.5 (two negatives tie: no gradient check)", id="cosine"),
            Case((E_LINE, Y_LINE), {"margin": 0.0}, expected=[0.0, 1.0, 0.0, 0.0], mean=1.0, grad=False,
                 why="normalised: the points become 0 (zero vector), 1, 1, 1. anchor 0: positive at 1, negative at 1 "
                     "-> a tie, 0; anchor 1: positive at 1 (the zero vector), negative at 0 -> 1; anchors 2, 3: "
                     "positive at 0, negative at 0 (x1 normalises onto them) -> a tie, 0", id="normalized-ties"),
            Case((G_E, G_Y), {"margin": 0.5}, id="grad"),
            Case((F_E, F_Y), {"margin": 0.3}, grad=False, id="fast-random"),
            Case((F_E, F_Y), {"margin": 0.3, "distance": "cosine"}, grad=False, id="fast-cosine"),
        ],
        bad=_batch_bad("batch_hard_triplet_loss", [
            Bad((B_E, B_Y), {"distance": "l1"}, ValueError, "distance: expected one of 'euclidean', 'cosine'", id="distance"),
            Bad((B_E, B_Y), {"soft": "yes"}, TypeError, "soft: expected a bool, got str", id="soft-str"),
            Bad((B_E, B_Y), {"normalize": 1}, TypeError, "normalize: expected a bool, got int", id="normalize-int"),
            Bad((B_E, B_Y), {"margin": None}, TypeError, "margin: expected a real number, got NoneType", id="margin-none"),
        ]),
        empty=EMPTY,
        identities=[Identity((E_UNIT, Y_UNIT), rhs=losskit.batch_hard_triplet_loss, options={"margin": 0.3},
                             rhs_options={"margin": 0.3, "normalize": False},
                             why="unit rows: normalising changes nothing", id="normalize-unit-rows")],
    ),
    LossCases(
        "triplet_margin_loss",
        cases=[
            Case((T_A, T_P, T_N), {"margin": 6.0, "eps": 0.0}, expected=[1.0, 5.0],
                 why="row 0: 6 + |(3, 4)| - |(6, 8)| = 6 + 5 - 10 = 1; row 1: 6 + 1 - 2 = 5", id="hand"),
            Case((T_A, T_P, T_N), {"margin": 6.0, "eps": 0.0, "swap": True}, expected=[6.0, 5.0],
                 why="swap: row 0 |p - n| = |(-3, -4)| = 5 < 10, so 6 + 5 - 5 = 6; row 1 |p - n| = |(1, -2)| = "
                     "sqrt(5) > 2 keeps 2: 5", id="swap"),
            Case((T_A, T_P, T_N), {"margin": 8.0, "eps": 0.0, "p": 1.0}, expected=[1.0, 7.0],
                 why="p = 1: row 0 8 + (3 + 4) - (6 + 8) = 1; row 1 8 + 1 - 2 = 7", id="p1"),
            Case((T_A, T_P, T_N), {"margin": 6.0, "eps": 0.0, "p": 3.0}, expected=[6.0 - _C91, 5.0],
                 why="p = 3: row 0 d(a, p) = (27 + 64)^(1/3) = c, d(a, n) = (216 + 512)^(1/3) = 2c: 6 - c; "
                     "row 1 6 + 1 - 2 = 5", id="p3"),
            Case((T_A[:1], T_A[:1], T_P[:1]), {"margin": 6.0}, expected=[_TE], grad=False,
                 why="eps = 1e-6 added to each component of the difference: d(a, a) = |(eps, eps)| = sqrt(2) eps, "
                     "d(a, n) = |(-3 + eps, -4 + eps)|; 6 + sqrt(2) eps - that (the numerical gradient's step is "
                     "not small against eps: the finite gradient at a = p is checked in test_metric_learning)",
                 id="eps-anchor-on-positive"),
            Case((T_A[0], T_P[0], T_N[0]), {"margin": 6.0, "eps": 0.0}, expected=1.0,
                 why="(D,) inputs give a 0-d loss (torch's too): 6 + 5 - 10 = 1", id="one-triplet-1d"),
            Case((np.array([[0.0, 0.0], [3.0, 0.0]]), np.array([[0.0, 4.0]]), np.array([[0.0, -4.0], [3.0, 4.0]])),
                 {"margin": 1.0, "eps": 0.0}, expected=[1.0, 2.0],
                 why="a (1, D) positive pairs with every anchor (torch's broadcasting): row 0 1 + 4 - 4 = 1; row 1 "
                     "|(3, -4)| = 5, |(0, -4)| = 4: 1 + 5 - 4 = 2", id="broadcast-positive"),
            Case((T_GA, T_GP, T_GN), {"margin": 4.0}, id="grad"),
            Case((T_GA, T_GP, T_GN), {"margin": 4.0, "swap": True, "p": 3.0}, id="grad-swap-p3"),
            Case((T_GA, T_GP, T_GN), {"margin": 5.0, "p": 1.0}, id="grad-p1"),
            Case((T_GA, T_GP, T_GN), {"margin": 4.0, "p": 1.5}, id="grad-p1.5"),
        ],
        bad=[
            Bad(tuple(T_B), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
            Bad(tuple(T_B), {"margin": 0.0}, ValueError, "margin: expected a number > 0", id="margin-0"),
            Bad(tuple(T_B), {"margin": -1.0}, ValueError, "margin: expected a number > 0", id="margin-neg"),
            Bad(tuple(T_B), {"margin": "1"}, TypeError, "margin: expected a real number, got str", id="margin-str"),
            Bad(tuple(T_B), {"p": 0.0}, ValueError, "p: expected a number > 0", id="p-0"),
            Bad(tuple(T_B), {"p": math.inf}, ValueError, "p: expected a finite number", id="p-inf"),
            Bad(tuple(T_B), {"eps": -1e-6}, ValueError, "eps: expected a number >= 0", id="eps-neg"),
            Bad(tuple(T_B), {"swap": 1}, TypeError, "swap: expected a bool, got int", id="swap-int"),
            Bad((T_B[0], T_B[1][:, :3], T_B[2]), error=ValueError,
                match=r"positive: expected a shape broadcastable with anchor \(5, 4\), got \(5, 3\)", id="positive-shape"),
            Bad((T_B[0], T_B[1], T_B[2][:3]), error=ValueError,
                match=r"negative: expected a shape broadcastable with anchor \(5, 4\), got \(3, 4\)", id="negative-shape"),
            Bad((T_B[0], T_B[1], T_B[2][0]), error=ValueError, match=r"negative: expected a 2-D array like anchor \(5, 4\)",
                id="negative-1d"),
            Bad((np.array(1.0), np.array(1.0), np.array(1.0)), error=ValueError,
                match=r"anchor: expected a \(B, D\) or \(D,\) array, got shape \(\)", id="anchor-0d"),
            Bad((T_B[0], T_B[1].astype(np.int64), T_B[2]), error=TypeError, match="positive: expected a floating-point array",
                id="int-positive"),
            Bad((T_B[0], T_B[1], [[0.0] * 4] * 5), error=TypeError, match="negative: expected an array", id="list-negative"),
        ],
        empty=T_EMPTY,
        identities=[
            Identity((T_SA, T_SP, T_SN), rhs=losskit.triplet_margin_loss, options={"margin": 4.0, "swap": True},
                     rhs_options={"margin": 4.0},
                     why="p = a + u, n = a - 3u: |p - n| = 4|u| > |a - n| = 3|u|, so the swap keeps d(a, n)",
                     id="swap-noop"),
            Identity((T_GA, T_GP, T_GN), rhs=lambda a, p, n, **o: losskit.triplet_margin_loss(a + 1.0, p + 1.0, n + 1.0, **o),
                     options={"margin": 2.0, "swap": True}, rhs_options={"margin": 2.0, "swap": True},
                     why="a common shift leaves every difference, so every distance, unchanged", id="translation"),
        ],
    ),
    LossCases(
        "contrastive_loss",
        cases=[
            Case((E_3, Y_3), {"neg_margin": 2.5, "normalize": False}, expected=[[0, 1, 0], [1, 0, 0.5], [0, 0.5, 0]],
                 mean=1.5, why="positives (0,1),(1,0) at d = 1: [1 - 0]_+ = 1 each; negatives at 3 (0) and 2 (0.5); "
                               "mean: non-zero mean of positives (1) + of negatives (0.5); sum 1 + 1 + 0.5 + 0.5", id="hand"),
            Case((E_ORTH, Y_ORTH), {"distance": "cosine", "pos_margin": 1.0, "neg_margin": -0.5},
                 expected=0.5 * np.kron(1 - np.eye(2), np.ones((2, 2))), mean=0.5, grad=False,
                 why="cosine: positives at s = 1 with pos_margin 1 are a tie (0, not counted); negatives at 0 "
                     "with neg_margin -0.5: 0.5 each; mean 0 + 0.5", id="cosine"),
            Case((E_TIE, Y_TIE), {}, expected=_TIE, mean=_TIE_MEAN, grad=False,
                 why="defaults (pos_margin 0, neg_margin 1, normalised): z0 = z1 = 0, a = c = (0.6, 0.8), b = (0, 1); "
                     "positives: z-z d = 0 (tie), z-c d = 1 (1), a-b d = sqrt(0.4); negatives: z-a, z-b d = 1 = "
                     "neg_margin (tie), c-a d = 0 (1), c-b 1 - sqrt(0.4); mean (4 + 2 sqrt(0.4)) / 6 + "
                     "(2 + 2 (1 - sqrt(0.4))) / 4, the same terms counted on every backend (issue 20)", id="zero-duplicate-collinear"),
            Case((G_E, G_Y), {"pos_margin": 0.2, "neg_margin": 1.2}, id="grad"),
            Case((F_E, F_Y), {"pos_margin": 0.2, "neg_margin": 1.2}, grad=False, id="fast-random"),
        ],
        bad=_batch_bad("contrastive_loss", [
            Bad((B_E, B_Y), {"neg_margin": float("nan")}, ValueError, "neg_margin: expected a finite number", id="nan-margin"),
            Bad((B_E, B_Y), {"distance": "l1"}, ValueError, "distance: expected one of", id="distance"),
            Bad((B_E, B_Y), {"normalize": "False"}, TypeError, "normalize: expected a bool, got str", id="normalize-str"),
        ]),
        empty=EMPTY,
        identities=[Identity((E_UNIT, Y_UNIT), rhs=losskit.contrastive_loss, options={"neg_margin": 1.2},
                             rhs_options={"neg_margin": 1.2, "normalize": False},
                             why="unit rows: normalising changes nothing", id="normalize-unit-rows")],
    ),
    LossCases(
        "circle_loss",
        cases=[
            Case((E_ORTH, Y_ORTH), {"m": 0.25, "gamma": 4.0}, expected=[_CIRCLE] * 4, grad=False,
                 why="m = 0.25, gamma = 4: alpha_p = [1.25 - 1]_+ = 0.25, alpha_n = [0 + 0.25]_+ = 0.25; logits "
                     "-4 * 0.25 * (1 - 0.75) = -0.25 (one positive), 4 * 0.25 * (0 - 0.25) = -0.25 (two negatives): "
                     "log(1 + 2 e^-0.5) (alphas detached: the gradient is checked in test_metric_learning)", id="hand"),
            Case((F_E, F_Y), {"m": 0.25, "gamma": 16.0}, grad=False, id="fast-random"),
        ],
        bad=_batch_bad("circle_loss", [
            Bad((B_E, B_Y), {"gamma": -1.0}, ValueError, "gamma: expected a number > 0", id="gamma-neg"),
            Bad((B_E, B_Y), {"m": "0.25"}, TypeError, "m: expected a real number, got str", id="m-str"),
        ]),
        empty=EMPTY,
    ),
    LossCases(
        "multi_similarity_loss",
        cases=[
            Case((E_ORTH, Y_ORTH), {"alpha": 1.0, "beta": 1.0}, expected=[_MS] * 4,
                 why="alpha = beta = 1, base 0.5; one positive at s = 1, two negatives at 0: "
                     "log(1 + e^-(1 - 0.5)) + log(1 + 2 e^(0 - 0.5))", id="hand"),
            Case((G_E, G_Y), {}, id="grad"),
            Case((F_E, F_Y), {}, grad=False, id="fast-random"),
        ],
        bad=_batch_bad("multi_similarity_loss", [
            Bad((B_E, B_Y), {"alpha": 0}, ValueError, "alpha: expected a number > 0", id="alpha-0"),
            Bad((B_E, B_Y), {"base": True}, TypeError, "base: expected a real number, got bool", id="base-bool"),
        ]),
        empty=EMPTY,
    ),
    LossCases(
        "nt_xent_loss",
        cases=[
            Case((E_ORTH, Y_ORTH), {"temperature": 1.0}, expected=_V_NT * np.kron(np.eye(2), 1 - np.eye(2)), mean=_V_NT,
                 why="tau = 1: -log(e^1 / (e^1 + 2 e^0)) = log(1 + 2/e) at each of the 4 positive pairs, 0 elsewhere; "
                     "mean over the positive pairs", id="hand"),
            Case((E_ORTH[:3], Y_3), {"temperature": 1.0}, expected=math.log1p(1 / math.e) * np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]),
                 mean=math.log1p(1 / math.e), why="positives at s = 1, one negative at 0 per anchor, tau = 1: "
                                                 "-log(e / (e + 1)) = log(1 + 1/e) at the two positive pairs", id="one-negative"),
            Case((G_E, G_Y), {"temperature": 0.5}, id="grad"),
            Case((F_E, F_Y), {"temperature": 0.5}, grad=False, id="fast-random"),
        ],
        bad=_batch_bad("nt_xent_loss", [
            Bad((B_E, B_Y), {"temperature": "0.1"}, TypeError, "temperature: expected a real number", id="temperature-str"),
            Bad((B_E, B_Y), {"temperature": -0.1}, ValueError, "temperature: expected a number > 0", id="temperature-neg"),
        ]),
        empty=EMPTY,
    ),
    LossCases(
        "arcface_loss",
        cases=[
            Case((np.array([[2.0, 0.0]]), np.array([0]), W2), {"margin": math.pi / 2, "scale": 1.0}, expected=[math.log(2)], grad=False,
                 why="on its class centre (theta = 0), orthogonal to the other; m = pi/2, s = 1: psi = cos(pi/2) = 0, "
                     "logits (0, 0): log 2", id="hand"),
            Case((np.array([[-1.0, 0.0]]), np.array([0]), W2), {"margin": 0.5, "scale": 1.0},
                 expected=[math.log(math.exp(-1.0 - 0.5 * math.sin(0.5)) + 1.0) - (-1.0 - 0.5 * math.sin(0.5))], grad=False,
                 why="opposite its class centre: theta = pi > pi - m, the fallback cos(theta) - m sin m = -1 - 0.5 sin 0.5 = t; "
                     "the other logit 0: log(e^t + e^0) - t", id="fallback"),
            Case((M_E, M_Y, M_W), {"margin": 0.3, "scale": 4.0}, id="grad"),
        ],
        bad=_margin_bad([
            Bad((B_E, B_Y, np.ones((3, 4))), {"margin": 2.0}, ValueError, "margin: expected a number <=", id="margin-big"),
            Bad((B_E, B_Y, np.ones((3, 4))), {"scale": "64"}, TypeError, "scale: expected a real number, got str", id="scale-str"),
        ]),
        empty=(np.zeros((0, 2)), np.zeros((0,), dtype=np.int64), W2),
        identities=[Identity((M_E, M_Y, M_W), rhs=losskit.cosface_loss, options={"margin": 0.0, "scale": 4.0},
                             rhs_options={"margin": 0.0, "scale": 4.0},
                             why="no margin: both are the scaled cosine softmax cross-entropy", id="margin0-cosface")],
        why_no_shell="ArcFaceLoss owns its (num_classes, embedding_dim) weight as a parameter; its module test is "
                     "in tests/test_metric_learning.py",
    ),
    LossCases(
        "cosface_loss",
        cases=[
            Case((np.array([[2.0, 0.0]]), np.array([0]), W2), {"margin": 1.0, "scale": 1.0}, expected=[math.log(2)],
                 why="on its class centre (cos 1), orthogonal to the other (cos 0); m = 1, s = 1: logits (0, 0): log 2", id="hand"),
            Case((M_E, M_Y, M_W), {"margin": 0.3, "scale": 4.0}, id="grad"),
        ],
        bad=_margin_bad([
            Bad((B_E, B_Y, np.ones((3, 4))), {"scale": 0.0}, ValueError, "scale: expected a number > 0", id="scale-0"),
        ]),
        empty=(np.zeros((0, 2)), np.zeros((0,), dtype=np.int64), W2),
        why_no_shell="CosFaceLoss owns its (num_classes, embedding_dim) weight as a parameter; its module test is "
                     "in tests/test_metric_learning.py",
    ),
]

# ----------------------------------------------------------------------------------------
# issue 16: SupCon, center loss, Proxy-Anchor, sub-center ArcFace
# ----------------------------------------------------------------------------------------

_L1E = math.log1p(1 / math.e)
_L2E = math.log1p(2 / math.e)
# Two samples of one identity, two views each: the views of E_ORTH as (B, V, D) = (2, 2, 2).
E_VIEWS = E_ORTH.reshape(2, 2, 2)
# A zero embedding among them (normalised to 0: cosine 0 with everything).
E_ZERO = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
# Center loss: random centres for the gradient batch G_E (3 classes).
C_G = np.random.default_rng(22).normal(size=(3, 3))
C_H = np.array([[0.0, 0.0], [1.0, 1.0]])
# Proxy-Anchor: a third proxy whose class is absent from E_ORTH's batch.
W3 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
_PA_POS = math.log1p(2 * math.exp(-0.9))  # two positives at s = 1: alpha = 1, delta = 0.1
_PA_NEG = math.log1p(2 * math.exp(0.1))  # two negatives at s = 0
_PA_ABSENT = math.log1p(2 * math.exp(-0.9) + 2 * math.exp(0.1))  # proxy 2: s = -1 (x2), 0 (x2)
# Sub-center ArcFace: two sub-centres per class.
W_SUB = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, -1.0]]])
W_SUB_FAR = np.array([[[0.0, 1.0], [-1.0, 0.0]], [[0.0, 1.0], [0.0, -1.0]]])
_T_SUB = -2 * math.sin(0.5)  # s * cos(pi/2 + 0.5)
M_WK = np.random.default_rng(23).normal(size=(3, 2, 3))


def _supcon_bad():
    return [
        Bad((B_E, B_Y), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'", id="reduction"),
        Bad((B_E[0], B_Y), error=ValueError, match=r"embeddings: expected a 2-D \(B, D\) or 3-D \(B, V, D\) array", id="embeddings-1d"),
        Bad((B_E[None, None], B_Y), error=ValueError, match=r"embeddings: expected a 2-D \(B, D\) or 3-D", id="embeddings-4d"),
        Bad((B_E, B_Y * 1.0), error=TypeError, match="labels: expected an integer array", id="float-labels"),
        Bad((B_E, B_Y[:3]), error=ValueError, match=r"labels: expected shape \(5,\) to match embeddings' batch size", id="labels-shape"),
        Bad((E_VIEWS, Y_ORTH), error=ValueError, match=r"labels: expected shape \(2,\) to match embeddings' batch size", id="views-labels"),
        Bad((B_Y, B_Y), error=TypeError, match="embeddings: expected a floating-point array", id="int-embeddings"),
        Bad(([[0.0, 1.0]], B_Y[:1]), error=TypeError, match="embeddings: expected an array", id="list"),
        Bad((B_E, B_Y), {"temperature": 0.0}, ValueError, "temperature: expected a number > 0", id="temperature-0"),
        Bad((B_E, B_Y), {"temperature": "0.1"}, TypeError, "temperature: expected a real number, got str", id="temperature-str"),
    ]


CASES += [
    LossCases(
        "supcon_loss",
        cases=[
            Case((np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), Y_3), {"temperature": 1.0},
                 expected=[_L1E, _L1E, 0.0], mean=_L1E,
                 why="two label-0 samples at cosine 1, one label-1 sample orthogonal, tau = 1: each label-0 anchor "
                     "has A(i) = {the positive (z = 1), the other (z = 0)}: log(e + 1) - 1 = log(1 + 1/e); the "
                     "label-1 anchor has no positive: 0, not counted in the mean (over the 2 anchors with one)",
                 id="hand"),
            Case((E_ORTH, Y_ORTH), {"temperature": 1.0}, expected=[_L2E] * 4,
                 why="each anchor: one positive at s = 1, two negatives at 0 in A(i): log(e + 2) - 1 = log(1 + 2/e)",
                 id="two-identities"),
            Case((E_VIEWS, np.array([0, 1])), {"temperature": 1.0}, expected=[[_L2E] * 2] * 2,
                 why="(B, V, D) = (2, 2, 2): the same four rows as two-identities, the views of a sample sharing "
                     "its label; 'none' is (B, V)", id="views"),
            Case((E_VIEWS, np.array([0, 0])), {"temperature": 1.0}, expected=[[math.log(math.e + 2) - 1 / 3] * 2] * 2,
                 why="one label, no negatives (PML returns 0 here; the paper's value): every other view is a positive, "
                     "z = 1, 0, 0: log(e + 2) - (1 + 0 + 0) / 3", id="views-one-label"),
            Case((E_ZERO, Y_3), {"temperature": 1.0}, expected=[math.log(2), math.log(2), 0.0], mean=math.log(2), grad=False,
                 why="a zero embedding normalises to 0 (cosine 0 with everything): anchor 0: A = {z = 0, z = 0}, its "
                     "positive z = 0: log 2 - 0; anchor 1: its positive is the zero row (z = 0), the other z = 0: "
                     "log 2; anchor 2: no positive (the normalisation's 1/eps slope at 0: no gradient check)",
                 id="zero-norm"),
            Case((G_E, G_Y), {"temperature": 0.5}, id="grad"),
            Case((F_E, F_Y), {"temperature": 0.1}, grad=False, id="fast-random"),
        ],
        bad=_supcon_bad(),
        empty=EMPTY,
    ),
    LossCases(
        "center_loss",
        cases=[
            Case((np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([0, 1]), C_H), {}, expected=[12.5, 1.0],
                 why="(3, 4) against centre (0, 0): 25 / 2; (0, 0) against (1, 1): 2 / 2", id="hand"),
            Case((C_G[[0, 2, 1, 2]], np.array([0, 2, 1, 2]), C_G), {}, expected=[0.0] * 4,
                 why="every feature on its own centre: 0 (and a zero gradient, x - c = 0)", id="on-centres"),
            Case((G_E, G_Y, C_G), {}, id="grad"),
        ],
        bad=[
            Bad((B_E, B_Y, np.ones((3, 4))), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
            Bad((B_E, B_Y, np.ones((3, 2))), error=ValueError, match=r"centers: expected shape \(num_classes, 4\) matching the feature size", id="centers-shape"),
            Bad((B_E, B_Y, np.ones((2, 4))), error=ValueError, match=r"labels: expected class indices in \[0, 1\]", id="labels-range"),
            Bad((B_E, B_Y, np.ones(4)), error=ValueError, match="centers: expected a 2-D array", id="centers-1d"),
            Bad((B_E[0], B_Y, np.ones((3, 4))), error=ValueError, match="features: expected a 2-D array", id="features-1d"),
            Bad((B_E, B_Y[:3], np.ones((3, 4))), error=ValueError, match=r"labels: expected shape \(5,\) to match features' batch size", id="labels-shape"),
            Bad((B_Y, B_Y, np.ones((3, 4))), error=TypeError, match="features: expected a floating-point array", id="int-features"),
            Bad((B_E, B_Y * 1.0, np.ones((3, 4))), error=TypeError, match="labels: expected an integer array", id="float-labels"),
            Bad(([[0.0, 1.0]], B_Y[:1], np.ones((3, 2))), error=TypeError, match="features: expected an array", id="list"),
        ],
        empty=(np.zeros((0, 2)), np.zeros((0,), dtype=np.int64), C_H),
        why_no_shell="CenterLoss keeps its (num_classes, dim) centres as state (a buffer updated by the paper's rule, "
                     "or a parameter); its module tests are in tests/test_metric_learning.py",
    ),
    LossCases(
        "proxy_anchor_loss",
        cases=[
            Case((np.array([[3.0, 0.0]]), np.array([0]), W2), {"alpha": 1.0, "delta": 0.0},
                 expected=[math.log1p(math.exp(-1.0)), math.log(2)], mean=math.log1p(math.exp(-1.0)) + math.log(2) / 2,
                 why="one sample on proxy 0 (s = 1), orthogonal to proxy 1 (s = 0); alpha = 1, delta = 0: proxy 0 has "
                     "the positive term log(1 + e^-1) and no negatives (0), proxy 1 no positive (0) and the negative "
                     "term log(1 + e^0); mean: positive terms over the 1 proxy with a positive, negative terms over "
                     "the 2 proxies", id="hand"),
            Case((E_ORTH, Y_ORTH, W2), {"alpha": 1.0, "delta": 0.1}, expected=[_PA_POS + _PA_NEG] * 2,
                 why="each proxy: two positives at s = 1: log(1 + 2 e^(-(1 - 0.1))), two negatives at s = 0: "
                     "log(1 + 2 e^(0 + 0.1)); both classes present, so the mean is the mean", id="two-classes"),
            Case((E_ORTH, Y_ORTH, W3), {"alpha": 1.0, "delta": 0.1}, expected=[_PA_POS + _PA_NEG] * 2 + [_PA_ABSENT],
                 mean=2 * _PA_POS / 2 + (2 * _PA_NEG + _PA_ABSENT) / 3,
                 why="a third proxy (-1, 0) whose class is absent: no positive term; its negatives are all four "
                     "samples, s = -1 (two) and 0 (two): log(1 + 2 e^(-0.9) + 2 e^0.1); mean: the positive terms "
                     "over the 2 proxies with positives, the negative terms over all 3", id="absent-class"),
            Case((G_E, G_Y, C_G), {"alpha": 4.0, "delta": 0.1}, id="grad"),
        ],
        bad=[
            Bad((B_E, B_Y, np.ones((3, 4))), {"reduction": "avg"}, ValueError, "reduction: expected one of", id="reduction"),
            Bad((B_E, B_Y, np.ones((3, 2))), error=ValueError, match=r"proxies: expected shape \(num_classes, 4\) matching the embedding size", id="proxies-shape"),
            Bad((B_E, B_Y, np.ones((2, 4))), error=ValueError, match=r"labels: expected class indices in \[0, 1\]", id="labels-range"),
            Bad((B_E, B_Y, np.ones(4)), error=ValueError, match="proxies: expected a 2-D array", id="proxies-1d"),
            Bad((B_E, B_Y * 1.0, np.ones((3, 4))), error=TypeError, match="labels: expected an integer array", id="float-labels"),
            Bad((B_E, B_Y, np.ones((3, 4))), {"alpha": 0.0}, ValueError, "alpha: expected a number > 0", id="alpha-0"),
            Bad((B_E, B_Y, np.ones((3, 4))), {"delta": "0.1"}, TypeError, "delta: expected a real number, got str", id="delta-str"),
        ],
        # no proxies either: the per-proxy "none" output is then empty too (an empty batch
        # with proxies gives C zeros: tests/test_metric_learning.py)
        empty=(np.zeros((0, 2)), np.zeros((0,), dtype=np.int64), np.zeros((0, 2))),
        why_no_shell="ProxyAnchorLoss owns its (num_classes, embedding_dim) proxies as a parameter; its module test "
                     "is in tests/test_metric_learning.py",
    ),
    LossCases(
        "subcenter_arcface_loss",
        cases=[
            Case((np.array([[2.0, 0.0]]), np.array([0]), W_SUB), {"k": 2, "margin": math.pi / 2, "scale": 1.0},
                 expected=[math.log(2)], grad=False,
                 why="on class 0's second sub-centre (max cosine 1, theta = 0), cosine 0 with both of class 1's; "
                     "m = pi/2, s = 1: psi = cos(pi/2) = 0, logits (0, 0): log 2", id="hand"),
            Case((np.array([[2.0, 0.0]]), np.array([0]), W_SUB.reshape(4, 2)), {"k": 2, "margin": math.pi / 2, "scale": 1.0},
                 expected=[math.log(2)], grad=False,
                 why="the same sub-centres as a (C * K, D) weight, class-major (rows 0, 1: class 0): log 2", id="flat-weight"),
            Case((np.array([[1.0, 0.0]]), np.array([0]), W_SUB_FAR), {"k": 2, "margin": 0.5, "scale": 2.0},
                 expected=[math.log(math.exp(_T_SUB) + 1.0) - _T_SUB],
                 why="class 0's sub-centres at cosines 0 and -1: the max, 0, is the class's cosine (theta = pi/2); "
                     "m = 0.5, s = 2: target logit t = 2 cos(pi/2 + 0.5) = -2 sin 0.5, class 1 at cosine 0: "
                     "log(e^t + e^0) - t", id="nearest-sub-centre"),
            Case((M_E, M_Y, M_WK), {"k": 2, "margin": 0.3, "scale": 4.0}, id="grad"),
        ],
        bad=_margin_bad([
            Bad((B_E, B_Y, np.ones((3, 2, 4))), error=ValueError, match=r"weight: expected shape \(num_classes, 3, 4\) for k=3", id="weight-k"),
            Bad((B_E, B_Y, np.ones((7, 4))), error=ValueError, match=r"weight: expected shape \(num_classes \* 3, 4\), rows a multiple of k=3", id="weight-rows"),
            Bad((B_E, B_Y, np.ones((3, 3, 4))), {"k": 0}, ValueError, "k: expected an int >= 1", id="k-0"),
            Bad((B_E, B_Y, np.ones((3, 3, 4))), {"k": 3.0}, TypeError, "k: expected an int, got float", id="k-float"),
            Bad((B_E, B_Y, np.ones((3, 3, 4))), {"margin": 2.0}, ValueError, "margin: expected a number <=", id="margin-big"),
        ], weight=np.ones((3, 3, 4)), num_classes=np.ones((2, 3, 4)), one_d="weight: expected a 3-D",
            shape=r"weight: expected shape \(num_classes \* 3, 4\)"),
        empty=(np.zeros((0, 2)), np.zeros((0,), dtype=np.int64), W_SUB),
        identities=[Identity((M_E, M_Y, M_W), rhs=losskit.arcface_loss, options={"k": 1, "margin": 0.3, "scale": 4.0},
                             rhs_options={"margin": 0.3, "scale": 4.0},
                             why="one sub-centre per class is ArcFace", id="k1-arcface")],
        why_no_shell="SubCenterArcFaceLoss owns its (num_classes, k, embedding_dim) sub-centres as a parameter; its "
                     "module test is in tests/test_metric_learning.py",
    ),
]
