"""Case-table rows of the segmentation family (see ``tests/cases/__init__.py``).

Every expected value is derived by hand in ``why`` (s = 1e-5 is the default smoothing);
none was produced by losskit. The ``fast-*`` cases are softmax logits with integer labels
(ignored pixels, every class present): the inputs the two fast paths of the overlap losses
(``segmentation.numba``, ``segmentation.torch``) accept, which ``tests/test_fast_paths.py``
pins to the reference in float32 and float64.
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from . import Bad, Case, Identity, LossCases

S = 1e-5
Z = {"smooth_nr": 0.0, "smooth_dr": 0.0}

# Two classes, four pixels, labels [0, 0, 1, 1]; p(class 1) = [0.1, 0.2, 0.7, 0.6].
P2 = np.stack([1 - np.array([0.1, 0.2, 0.7, 0.6]), np.array([0.1, 0.2, 0.7, 0.6])])[None]
L2 = np.array([[0, 0, 1, 1]])
# One channel: p = [0.5, 0.5, 0.25, 0], g = [1, 0, 1, 0]:
# I = 0.75, P = 1.25, G = 2, FP = P - I = 0.5, FN = G - I = 1.25.
P1 = np.array([[[0.5, 0.5, 0.25, 0.0]]])
G1 = np.array([[[1.0, 0.0, 1.0, 0.0]]])
# Generalized Dice: labels [0, 0, 0, 1] (G = [3, 1]); p(class 1) = [0, 0, 0.5, 0.5].
PG = np.stack([1 - np.array([0.0, 0.0, 0.5, 0.5]), np.array([0.0, 0.0, 0.5, 0.5])])[None]
LG = np.array([[0, 0, 0, 1]])

# Random logits and labels (every class in each image) for gradients and identities.
_rng = np.random.default_rng(1234)
X = _rng.standard_normal((2, 3, 4, 3))
LAB = _rng.integers(0, 3, size=(2, 4, 3))
LAB[:, 0, :] = [0, 1, 2]
XG, LG2 = X[:, :, :2], LAB[:, :2]  # small, for the numerical gradients
ONEHOT = np.moveaxis(np.eye(3)[LAB], -1, 1)

# Fast-path inputs: (2, 3, 16, 17) logits, every 7th pixel ignored (255).
_frng = np.random.default_rng(7)
XF = _frng.standard_normal((2, 3, 16, 17))
LF = _frng.integers(0, 3, size=(2, 16, 17))
LF.reshape(-1)[::7] = 255
LF0 = np.where(LF == 255, 0, LF)  # the same without ignored pixels

E = (np.zeros((0, 3, 4)), np.zeros((0, 4), dtype=np.int64))

# Soft labels (soft_label=True): one channel, p = [0.5, 0.25], g = [0.5, 0.75]: P = 0.75, G = 1.25,
# |p - g|_1 = 0.5, so the L1-form intersection is (0.75 + 1.25 - 0.5) / 2 = 0.75 (the product
# form gives 0.25 + 0.1875 = 0.4375).
PS = np.array([[[0.5, 0.25]]])
GS = np.array([[[0.5, 0.75]]])
SOFT = np.random.default_rng(99).random(XG.shape)  # soft targets for the gradients


def _soft(fn, extra=None):
    """soft_label cases every overlap loss with the option shares: 0 at input == target, the
    same as without on hard targets, a gradient point."""
    o = dict(extra or {})
    cases = [
        Case((SOFT, SOFT), {**o, "soft_label": True}, expected=np.zeros((2, 3)), grad=False,
             why="input equal to the soft target: I = P = G, so the loss is exactly 0", id="soft-equal"),
        Case((np.array([[[0.5, 0.9]]]), np.array([[[0.5, 255.0]]])), {**o, "soft_label": True, "ignore_index": 255},
             expected=[[0.0]], grad=False, why="the ignored element leaves |p - g| too: p = g on the rest, loss 0",
             id="soft-ignore"),
        Case((XG, SOFT), {**o, "activation": "sigmoid", "soft_label": True}, id="grad-soft"),
    ]
    identities = [Identity((X, ONEHOT), fn, {**o, "activation": "sigmoid", "soft_label": True},
                           {**o, "activation": "sigmoid"}, why="hard targets: |p - g| = p + g - 2 p g, the same value",
                           id="soft-hard-unchanged"),
                  Identity((X, LAB), fn, {**o, "activation": "softmax", "soft_label": True, "ignore_index": 2},
                           {**o, "activation": "softmax", "ignore_index": 2}, why="integer labels are hard",
                           id="soft-labels-unchanged")]
    bad = [Bad((X, LAB), {"soft_label": 1}, TypeError, "soft_label: expected a bool", id="soft-bool")]
    return cases, identities, bad


def _monai_layout(fn, options=None, id="monai-layout"):
    """MONAI's ``(N, 1, ...)`` label map gives what the ``(N, ...)`` labels give (the float
    map has hand-derived cases)."""
    o = {"activation": "softmax", **(options or {})}
    return Identity((X, LAB[:, None]), lambda x, t, **kw: fn(x, t[:, 0, ...], **kw), o, o,
                    why="a (N, 1, ...) integer label map is the labels without the class axis", id=id)


def _fast(extra_ignore=(), **options):
    """``fast-*`` cases: softmax + integer labels, with and without ignore_index/batch."""
    base = {"activation": "softmax", **options}
    out = [Case((XF, LF0), dict(base), grad=False, id="fast-plain")]
    out.append(Case((XF, LF), {**base, "ignore_index": 255, "batch": True}, grad=False, id="fast-ignore-batch"))
    out.append(Case((XF, LF), {**base, "ignore_index": 255, "include_background": False}, grad=False,
                    id="fast-ignore-nobg"))
    out.extend(extra_ignore)
    return out


def _common_bad(fn_options=None):
    """Bad inputs every overlap loss shares (``fn_options``: what the loss needs besides)."""
    o = dict(fn_options or {})
    return [
        Bad((None, LAB), o, TypeError, "input: expected an array", id="input-none"),
        Bad((X, None), o, TypeError, "target: expected an array", id="target-none"),
        Bad((X.tolist(), LAB), o, TypeError, "input: expected an array", id="input-list"),
        Bad((X, LAB), {**o, "ignore_index": 2.5}, TypeError, "ignore_index: expected an int or None", id="ignore-float"),
        Bad((X, LAB), {**o, "ignore_index": 2**70}, ValueError, "ignore_index: expected an int in the int64 range",
            id="ignore-int64"),
        Bad((X, ONEHOT * 2), {**o, "activation": "sigmoid"} if "activation" not in o else o, ValueError,
            r"target: expected probabilities in \[0, 1\]", id="dense-range"),
        Bad((X, np.where(ONEHOT == 1, 7.0, np.where(ONEHOT == 0, -3.0, ONEHOT))),
            {**o, "ignore_index": 255, **({"activation": "sigmoid"} if "activation" not in o else {})}, ValueError,
            r"target: expected probabilities in \[0, 1\] or ignore_index=255, got values in \[-3.0, 7.0\]",
            id="dense-range-ignore"),
        Bad((X, np.where(LAB == 2, 3, LAB)), o, ValueError, r"target: expected class indices in \[0, 2\], got 3",
            id="label-range"),
        Bad((X, np.where(LAB == 2, -1, LAB)), {**o, "ignore_index": 255}, ValueError,
            r"target: expected class indices in \[0, 2\] or ignore_index=255, got -1", id="label-range-ignore"),
        Bad((X, LAB), {**o, "smooth_dr": -1.0}, ValueError, "smooth_dr: expected a number >= 0.0", id="smooth"),
        Bad((X, LAB), {**o, "batch": 1}, TypeError, "batch: expected a bool", id="batch-bool"),
        Bad((X, LAB), {**o, "axis": 0}, ValueError, "axis: expected the class axis", id="axis-0"),
    ]


_DICE_BAD = [
    Bad((X, ONEHOT[:, :2]), error=ValueError, match="target: expected 3 classes along axis 1 like input", id="classes"),
    # MONAI's (N, 1, ...) label map: taken as labels, so only bad values are an error
    Bad((X, LAB[:, None] + 0.5), error=ValueError,
        match=r"target: expected integer-valued labels in the \(N, 1, \.\.\.\) label-map layout \(input has 3 classes "
              r"along axis 1\), got 0.5", id="label-map-fraction"),
    Bad((X, np.where(LAB == 2, np.nan, LAB)[:, None]), error=ValueError,
        match="target: expected integer-valued labels", id="label-map-nan"),
    Bad((X, np.where(LAB == 2, 3, LAB)[:, None]), error=ValueError, match=r"target: expected class indices in \[0, 2\], got 3",
        id="label-map-range"),
    Bad((X, ONEHOT[:, :1, :2]), error=ValueError, match=r"target: expected the shape of input", id="label-map-shape"),
    Bad((X, LAB), {"activation": "relu"}, ValueError, "activation: expected one of None, 'sigmoid', 'softmax', got 'relu'",
        id="activation"),
    Bad((X[:, :1], LAB.clip(0, 1)), {"activation": "softmax"}, ValueError,
        "activation: expected 'sigmoid' or None for a single-channel input", id="softmax-one-channel"),
    Bad((X, LAB[:, :, :, None, None]), error=ValueError,
        match=r"target: expected integer labels of shape \(2, 4, 3\) or an array of the input's shape", id="target-ndim"),
    Bad((X, LAB[:, :3]), error=ValueError,
        match=r"target: expected integer labels of shape \(2, 4, 3\) \(input's shape without", id="label-shape"),
    Bad((np.zeros(3), np.zeros(3)), error=ValueError, match="input: expected at least 2 dimensions", id="input-ndim"),
    Bad((LAB[:, None], LAB), error=TypeError, match="input: expected a floating-point array", id="int-input"),
    Bad((X, LAB), {"weight": np.ones(2)}, ValueError, r"weight: expected one weight per class, shape \(3,\), got \(2,\)",
        id="weight-shape"),
    Bad((X, LAB), {"weight": -np.ones(3)}, ValueError, "weight: expected non-negative values", id="weight-negative"),
    Bad((X, LAB), {"reduction": "avg"}, ValueError, "reduction: expected one of 'mean', 'sum', 'none', got 'avg'",
        id="reduction"),
    Bad((X[:, :1], LAB.clip(0, 1)), {"include_background": False}, ValueError,
        "include_background: expected True for a single-channel input", id="background-one-channel"),
    # the same errors on the fast paths' inputs (softmax + integer labels)
    Bad((X, np.where(LAB == 2, 3, LAB)), {"activation": "softmax"}, ValueError,
        r"target: expected class indices in \[0, 2\], got 3", id="fast-label-range"),
    Bad((X, np.where(LAB == 2, -1, LAB)), {"activation": "softmax", "ignore_index": 255}, ValueError,
        r"target: expected class indices in \[0, 2\] or ignore_index=255, got -1", id="fast-label-range-ignore"),
    Bad((X, LAB), {"activation": "softmax", "ignore_index": 2**70}, ValueError,
        "ignore_index: expected an int in the int64 range", id="fast-ignore-int64"),
]


def _l(i, p, g, s=S):
    return 1 - (2 * i + s) / (p + g + s)


CASES = [
    LossCases(
        "dice_loss",
        cases=[
            Case((P2, L2), expected=[[_l(1.7, 2.4, 2), _l(1.3, 1.6, 2)]],
                 why="class 0: I = 0.9 + 0.8 = 1.7, P = 0.9 + 0.8 + 0.3 + 0.4 = 2.4, G = 2; "
                     "class 1: I = 0.7 + 0.6 = 1.3, P = 1.6, G = 2; L = 1 - (2 I + s) / (P + G + s)", id="hand"),
            Case((P2, L2), {"include_background": False}, expected=[[_l(1.3, 1.6, 2)]],
                 why="class 1 only", id="no-background"),
            Case((P2, L2), {"squared": True, "include_background": False}, expected=[[_l(1.3, 0.9, 2)]],
                 why="squared (V-Net): class 1 P = 0.01 + 0.04 + 0.49 + 0.36 = 0.9, G = 2", id="squared"),
            Case((P1, G1), Z, expected=[[1 - 1.5 / 3.25]], why="one channel: 1 - 2 * 0.75 / (1.25 + 2)", id="dense"),
            Case((PS, GS), {**Z, "soft_label": True}, expected=[[1 - 1.5 / 2.0]], grad=False,  # |p - g| has a kink at p = g (the first pixel)
                 why="soft labels, L1 form: I = 0.75, P + G = 2: 1 - 2 * 0.75 / 2", id="soft-hand"),
            Case((PS, GS), Z, expected=[[1 - 0.875 / 2.0]],
                 why="the same without soft_label: I = 0.4375, so the loss stays above 0", id="soft-off"),
            *_soft(losskit.dice_loss)[0],
            Case((np.array([[0.8, 0.2], [0.4, 0.6]]), np.array([0, 1])),
                 expected=[[_l(0.8, 0.8, 1), _l(0, 0.2, 0)], [_l(0, 0.4, 0), _l(0.6, 0.6, 1)]],
                 why="(N, C) without spatial axes, labels [0, 1]: sample 0 class 0 I = .8, P = .8, G = 1; "
                     "class 1 I = 0, P = .2, G = 0; sample 1 class 0 I = 0, P = .4, G = 0; class 1 I = .6, P = .6, G = 1",
                 id="no-spatial"),
            Case((np.full((1, 1, 6), 0.1), np.zeros((1, 1, 6))), expected=[[1 - S / (0.6 + S)]],
                 why="empty target, predicted mass P = 0.6: 1 - s / (0.6 + s)", id="empty-target"),
            Case((np.zeros((2, 2, 3)), np.zeros((2, 2, 3))), expected=np.zeros((2, 2)), grad=False,
                 why="empty target and empty prediction: 1 - s / s = 0", id="empty-both"),
            Case((P2, L2[:, None]), expected=[[_l(1.7, 2.4, 2), _l(1.3, 1.6, 2)]],
                 why="MONAI's (N, 1, ...) label map of the 'hand' labels: the same sums", id="monai-labels"),
            Case((P2, L2[:, None].astype(np.float64)), expected=[[_l(1.7, 2.4, 2), _l(1.3, 1.6, 2)]],
                 why="the same label map as integer-valued floats (MONAI's usual target dtype)", id="monai-float-labels"),
            Case((np.moveaxis(P2, 1, -1), L2[:, :, None].astype(np.float64)), {"axis": -1},
                 expected=[[_l(1.7, 2.4, 2), _l(1.3, 1.6, 2)]], why="the label map with the class axis last",
                 id="monai-labels-axis"),
            Case((XG, LG2[:, None].astype(np.float64)), {"activation": "softmax"}, id="grad-monai-labels"),
            Case((XG, LG2), {"activation": "softmax"}, id="grad-softmax"),
            Case((XG, LG2), {"activation": "softmax", "squared": True, "batch": True}, id="grad-squared-batch"),
            Case((XG, LG2), {"activation": "softmax", "ignore_index": 2, "include_background": False}, id="grad-ignore"),
            Case((XG, LG2), {"activation": "softmax", "weight": np.array([0.5, 2.0, 1.0]), "reduction": "sum"},
                 id="grad-weight"),
            *_fast(),
            Case((XF, LF), {"activation": "softmax", "ignore_index": 255, "weight": np.array([1.0, 2.0, 0.5])},
                 grad=False, id="fast-weight"),
            Case((XF * 40.0, LF), {"activation": "softmax", "ignore_index": 255}, grad=False, id="fast-large-logits"),
            Case((XF - 200.0, LF0), {"activation": "softmax"}, grad=False, id="fast-very-negative-logits"),
            Case((np.moveaxis(XF, 1, -1), LF), {"activation": "softmax", "axis": -1, "ignore_index": 255}, grad=False,
                 id="fast-channels-last"),
            Case((XF, np.where(np.arange(2)[:, None, None] == 1, 255, LF)), {"activation": "softmax", "ignore_index": 255},
                 grad=False, id="fast-ignored-sample"),
            Case((XF[:, :, :5], LF0[:, :5].astype(np.int32)), {"activation": "softmax"}, grad=False,
                 id="fast-int32-labels"),
            Case((_frng.standard_normal((2, 19, 5, 4)), _frng.integers(0, 19, size=(2, 5, 4))),
                 {"activation": "softmax", "reduction": "none"}, grad=False, id="fast-many-classes"),
            Case((_frng.standard_normal((2, 4, 3, 4, 5)), _frng.integers(0, 4, size=(2, 3, 4, 5))),
                 {"activation": "softmax", "smooth_nr": 0.0, "smooth_dr": 0.5}, grad=False, id="fast-3d"),
            Case((XF, LF[:, None].astype(np.float64)), {"activation": "softmax", "ignore_index": 255}, grad=False,
                 id="fast-monai-float-labels"),
        ],
        bad=_common_bad() + _DICE_BAD + _soft(losskit.dice_loss)[2],
        empty=E,
        identities=[_monai_layout(losskit.dice_loss, {"ignore_index": 255, "include_background": False}),
                    *_soft(losskit.dice_loss)[1],
                    Identity((SOFT, np.flip(SOFT, -1).copy()), losskit.dice_loss, {"squared": True, "soft_label": True},
                             {"squared": True}, why="squared: the product already is the L2 form", id="soft-squared")],
    ),
    LossCases(
        "jaccard_loss",
        cases=[
            Case((P1, G1), Z, expected=[[0.7]], why="1 - I / (P + G - I) = 1 - 0.75 / 2.5 = 0.7", id="hand"),
            Case((PS, GS), {**Z, "soft_label": True}, expected=[[0.4]], grad=False,  # |p - g| has a kink at p = g (the first pixel)
                 why="soft labels, L1 form: I = 0.75, union 2 - 0.75 = 1.25: 1 - 0.6", id="soft-hand"),
            *_soft(losskit.jaccard_loss)[0],
            Case((XG, LG2), {"activation": "sigmoid"}, id="grad-sigmoid"),
            *_fast(),
        ],
        bad=_common_bad() + _soft(losskit.jaccard_loss)[2],
        empty=E,
        identities=[_monai_layout(losskit.jaccard_loss), *_soft(losskit.jaccard_loss)[1]],
    ),
    LossCases(
        "generalized_dice_loss",
        cases=[
            Case((PG, LG), {**Z, "weight_type": "square"}, expected=[5 / 12],
                 why="class 0: I = 2.5, P = 3, G = 3; class 1: I = 0.5, P = 1, G = 1; w = [1/9, 1]: "
                     "num = 2 (2.5/9 + 0.5) = 14/9, den = 6/9 + 2 = 24/9 -> 1 - 7/12", id="square"),
            Case((PG, LG), {**Z, "weight_type": "simple"}, expected=[1 / 3],
                 why="w = [1/3, 1]: num = 2 (2.5/3 + 0.5) = 8/3, den = 2 + 2 = 4 -> 1 - 2/3", id="simple"),
            Case((PG, LG), {**Z, "weight_type": "uniform"}, expected=[1 / 4],
                 why="w = 1: num = 2 (2.5 + 0.5) = 6, den = 6 + 2 = 8 -> 1 - 3/4", id="uniform"),
            Case((PG, LG[:, None].astype(np.float64)), {**Z, "weight_type": "square"}, expected=[5 / 12],
                 why="the 'square' case with MONAI's (N, 1, ...) float label map", id="monai-float-labels"),
            Case((np.array([[[1.0, 1.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.25], [0.0, 0.0, 0.0, 0.25]]]), LG), Z,
                 expected=[1 - 2 * (2.5 / 9 + 0.25) / (6 / 9 + 1.75 + 0.25)],
                 why="class 2 absent (weight 1/0) takes the largest finite weight max(1/9, 1) = 1: class 0 I = 2.5, "
                     "P = 3, G = 3, w = 1/9; class 1 I = 0.25, P = 0.75, G = 1, w = 1; class 2 I = 0, P = 0.25, w = 1",
                 id="absent-class"),
            Case((XG, LG2), {"activation": "softmax"}, id="grad-softmax"),
            *_fast(),
        ],
        bad=_common_bad() + [Bad((X, LAB), {"weight_type": "log"}, ValueError,
                                 "weight_type: expected one of 'square', 'simple', 'uniform'", id="weight-type")],
        empty=E,
        identities=[_monai_layout(losskit.generalized_dice_loss, {"batch": True})],
    ),
    LossCases(
        "tversky_loss",
        cases=[
            Case((P1, G1), {**Z, "alpha": 0.3, "beta": 0.7}, expected=[[1 - 0.75 / 1.775]],
                 why="TI = TP / (TP + 0.3 FP + 0.7 FN) = 0.75 / (0.75 + 0.15 + 0.875)", id="hand"),
            Case((PS, GS), {**Z, "alpha": 0.3, "beta": 0.7, "soft_label": True}, expected=[[1 - 0.75 / 1.1]], grad=False,  # |p - g| has a kink at p = g (the first pixel)
                 why="soft labels, L1 form: TP = 0.75, FP = P - TP = 0, FN = G - TP = 0.5: 0.75 / (0.75 + 0.35)",
                 id="soft-hand"),
            *_soft(losskit.tversky_loss, {"alpha": 0.3, "beta": 0.7})[0],
            Case((XG, LG2), {"activation": "softmax", "alpha": 0.3, "beta": 0.7}, id="grad-softmax"),
            *_fast(alpha=0.2, beta=0.8),
        ],
        bad=_common_bad() + [Bad((X, LAB), {"alpha": -0.1}, ValueError, "alpha: expected a number >= 0.0", id="alpha")]
        + _soft(losskit.tversky_loss)[2],
        empty=E,
        identities=[
            Identity((X, LAB), losskit.dice_loss, {"activation": "softmax", "smooth_nr": 5e-4, "smooth_dr": 5e-4},
                     {"activation": "softmax", "smooth_nr": 1e-3, "smooth_dr": 1e-3},
                     why="alpha = beta = 0.5 with smoothing s/2 is Dice with s", id="dice"),
            Identity((X, LAB), losskit.jaccard_loss, {"activation": "softmax", "alpha": 1.0, "beta": 1.0},
                     {"activation": "softmax"}, why="alpha = beta = 1 is Jaccard", id="jaccard"),
            _monai_layout(losskit.tversky_loss, {"alpha": 0.3, "beta": 0.7}),
            *_soft(losskit.tversky_loss, {"alpha": 0.3, "beta": 0.7})[1],
        ],
    ),
    LossCases(
        "focal_tversky_loss",
        cases=[
            Case((P1, G1), {**Z, "alpha": 0.3, "beta": 0.7}, expected=[[(1 - 0.75 / 1.775) ** 0.75]],
                 why="the Tversky loss 1 - 0.75 / 1.775 to the power 1 / (4/3) = 0.75", id="hand"),
            Case((np.array([[[1.0, 1.0, 0.0, 0.0]]]), np.array([[[1.0, 0.0, 1.0, 0.0]]])), {**Z, "gamma": 2.0},
                 expected=[[math.sqrt(0.5)]], why="TP = 1, FP = FN = 1: Tversky loss 0.5, exponent 1/2", id="gamma2"),
            Case((XG, LG2), {"activation": "softmax", "alpha": 0.3, "beta": 0.7}, id="grad-softmax"),
            *_fast(),
        ],
        bad=_common_bad() + [Bad((X, LAB), {"gamma": 0.0}, ValueError, "gamma: expected a number > 0.0", id="gamma")],
        empty=E,
        identities=[
            Identity((X, LAB), losskit.tversky_loss, {"activation": "softmax", "alpha": 0.3, "beta": 0.7, "gamma": 1.0},
                     {"activation": "softmax", "alpha": 0.3, "beta": 0.7}, why="gamma = 1 is Tversky", id="gamma1"),
            Identity((X, LAB), lambda x, t, **o: losskit.tversky_loss(x, t, **o) ** 0.5,
                     {"activation": "softmax", "alpha": 0.3, "beta": 0.7, "gamma": 2.0},
                     {"activation": "softmax", "alpha": 0.3, "beta": 0.7}, why="gamma = 2 is its square root",
                     id="gamma2-sqrt"),
            _monai_layout(losskit.focal_tversky_loss),
        ],
    ),
    LossCases(
        "log_cosh_dice_loss",
        cases=[
            Case((P1, G1), Z, expected=[[math.log(math.cosh(1 - 1.5 / 3.25))]],
                 why="log cosh of the Dice loss 1 - 1.5 / 3.25", id="hand"),
            Case((XG, LG2), {"activation": "softmax"}, id="grad-softmax"),
            *_fast(),
        ],
        bad=_common_bad(),
        empty=E,
        identities=[_monai_layout(losskit.log_cosh_dice_loss)],
    ),
    LossCases(
        "dice_ce_loss",
        cases=[
            Case((np.zeros((1, 2, 2)), np.array([[0, 1]])), Z, expected=math.log(2) + 0.5,
                 why="logits 0: softmax 1/2, CE = log 2; each class I = 0.5, P = 1, G = 1: Dice loss 1 - 1/2", id="hand"),
            Case((np.zeros((1, 2, 2)), np.array([[0, 1]])), {**Z, "reduction": "sum"}, expected=2 * math.log(2) + 1.0,
                 why="sums: CE 2 log 2 over two pixels, Dice 0.5 + 0.5 over two classes", id="hand-sum"),
            Case((np.zeros((1, 2, 2)), np.array([[[0.0, 1.0]]])), Z, expected=math.log(2) + 0.5,
                 why="the 'hand' case with MONAI's (N, 1, ...) float label map: both terms see the labels",
                 id="monai-float-labels"),
            Case((XG, LG2), {"weight": np.array([0.5, 1.0, 2.0]), "label_smoothing": 0.1}, id="grad-weight"),
            Case((XG, np.moveaxis(np.eye(3)[LG2], -1, 1)), {"activation": "sigmoid"}, id="grad-sigmoid"),
            *_fast(lambda_ce=0.5),
        ],
        bad=_common_bad({"activation": "softmax"})[:5] + [
            Bad((X, LAB), {"reduction": "none"}, ValueError, "reduction: expected one of 'mean', 'sum', got 'none'",
                id="reduction"),
            Bad((X, LAB), {"activation": None}, ValueError, "activation: expected one of 'softmax', 'sigmoid'",
                id="activation"),
            Bad((X, LAB), {"lambda_ce": -1.0}, ValueError, "lambda_ce: expected a number >= 0.0", id="lambda"),
            Bad((X, ONEHOT), {"ignore_index": -1}, ValueError, "ignore_index: expected None with dense", id="ignore-dense"),
            Bad((X, ONEHOT), {"activation": "sigmoid", "label_smoothing": 0.1}, ValueError,
                "label_smoothing: expected 0.0 with activation='sigmoid'", id="smoothing-sigmoid"),
            Bad((X, np.where(ONEHOT == 1, 7.0, ONEHOT)), {"activation": "sigmoid", "ignore_index": 255}, ValueError,
                r"target: expected probabilities in \[0, 1\] or ignore_index=255", id="dense-range-ignore"),
        ],
        empty=E,
        reductions=False,
        identities=[
            Identity((X, LAB),
                     lambda x, t, **o: 0.3 * losskit.dice_loss(x, t, activation="softmax", batch=True,
                                                                include_background=False, smooth_nr=0.1, smooth_dr=0.1)
                     + 2.0 * losskit.cross_entropy(x, t, label_smoothing=0.1),
                     {"lambda_dice": 0.3, "lambda_ce": 2.0, "label_smoothing": 0.1, "batch": True,
                      "include_background": False, "smooth_nr": 0.1, "smooth_dr": 0.1},
                     why="lambda_dice * Dice(softmax) + lambda_ce * cross_entropy", id="sum-of-terms"),
            Identity((X, LAB[:, None]), lambda x, t, **kw: losskit.dice_ce_loss(x, t[:, 0, ...], **kw),
                     {"ignore_index": 1, "lambda_ce": 0.5}, {"ignore_index": 1, "lambda_ce": 0.5},
                     why="MONAI's (N, 1, ...) label map is the labels, for both terms", id="monai-layout"),
        ],
    ),
    LossCases(
        "lovasz_softmax_loss",
        cases=[
            Case((np.array([[[0.5, 1.0, 1.0, 1.0], [0.5, 0.0, 0.0, 0.0]]]), np.zeros((1, 4), dtype=np.int64)),
                 {"activation": None, "per_image": True}, expected=[[0.125, 0.0]], mean=0.125, sum=0.125, grad=False,
                 why="only class 0 present; class 0 errors [0.5, 0, 0, 0]: the first sorted pixel costs "
                     "0.5 * (1 - 3/4) = 0.125; class 1 is absent (0 in 'none', left out of the class average); "
                     "per_image: 'none' is (N, C)", id="present"),
            Case((np.array([[[0.5, 1.0, 1.0, 1.0], [0.5, 0.0, 0.0, 0.0]]]), np.zeros((1, 4), dtype=np.int64)),
                 {"activation": None}, expected=[0.125, 0.0], mean=0.125, grad=False,
                 why="the same pooled over the batch (per_image=False): 'none' is (C,)", id="present-pooled"),
            Case((np.array([[[0.5, 1.0, 1.0, 1.0], [0.5, 0.0, 0.0, 0.0]]]), np.zeros((1, 4), dtype=np.int64)),
                 {"activation": None, "classes": "all"}, expected=[0.125, 0.5], mean=0.3125, sum=0.3125, grad=False,
                 why="classes='all': class 1 (no foreground) has Jaccard 1 at its first pixel: 0.5 * 1; "
                     "the class average (0.125 + 0.5) / 2 is the one image's loss", id="all"),
            Case((np.full((1, 2, 4), 0.5), np.zeros((1, 4), dtype=np.int64)), {"activation": None},
                 expected=[0.5, 0.0], mean=0.5, grad=False,
                 why="0.5 everywhere, all pixels class 0: class 0 errors 0.5 each, Jaccard steps 1/4 each: 0.5",
                 id="half"),
            Case((XG, LG2), {"per_image": True}, id="grad-per-image"),
        ],
        bad=_common_bad()[:5] + [
            Bad((X, LAB), {"activation": "sigmoid"}, ValueError, "activation: expected 'softmax' or None for lovasz_softmax_loss",
                id="activation"),
            Bad((X, LAB), {"classes": "some"}, ValueError, "classes: expected one of 'present', 'all'", id="classes"),
            Bad((X, np.where(LAB == 2, 3, LAB)), error=ValueError, match=r"target: expected class indices in \[0, 2\], got 3",
                id="label-range"),
        ],
        empty=E,
    ),
    LossCases(
        "lovasz_hinge_loss",
        cases=[
            Case((np.array([[0.0, 0.0], [1.0, -1.0]]), np.array([[1, 0], [1, 0]])), expected=[1.0, 0.0], grad=False,
                 why="image 0: logits 0, hinge errors 1, 1; the first sorted (foreground) pixel wrong: Jaccard 1, the "
                     "second adds 0. Image 1: margins 1 everywhere, no error", id="hand"),
            Case((np.array([[0.0, 0.0], [1.0, -1.0]]), np.array([[1, 0], [1, 0]])), {"per_image": False},
                 expected=2 / 3, grad=False,
                 why="one loss over the four pixels: errors [1, 1, 0, 0], foreground [1, 0, 1, 0]; sorted (stable) "
                     "the Jaccard loss steps to 1 - 1/2 (a foreground pixel missed) then 1 - 1/3 (a background "
                     "pixel added to the union): 1 * 1/2 + 1 * 1/6 = 2/3", id="pooled"),
            Case((np.array([[0.0, 0.0], [1.0, -1.0]]), np.array([[1, 0], [1, 0]])), {"ignore_index": 255},
                 expected=[1.0, 0.0], grad=False, why="ignore_index set, nothing ignored: the same", id="hand-ignore"),
            Case((_rng.standard_normal((2, 6)), _rng.integers(0, 2, size=(2, 6))), id="grad"),
        ],
        bad=_common_bad()[:5] + [
            Bad((X[:, 0], LAB), error=ValueError, match=r"target: expected class indices in \[0, 1\]", id="label-range"),
            Bad((X[:, 0], LAB[:, :2]), error=ValueError, match="target: expected the shape of input", id="shape"),
            Bad((X[:, 0], np.where(LAB == 2, 7.0, -3.0)), {"ignore_index": 255}, ValueError,
                r"target: expected probabilities in \[0, 1\] or ignore_index=255, got values in \[-3.0, 7.0\]",
                id="dense-range-ignore"),
            Bad((X[:, 0], np.where(LAB == 2, 7.0, 0.0)), error=ValueError,
                match=r"target: expected probabilities in \[0, 1\]", id="dense-range"),
        ],
        empty=(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)),
    ),
]


# --------------------------------------------------------------------------- Dice + focal (issue 15)

# One pixel, two classes, label 1, logits [0, log 3]: softmax p = [1/4, 3/4].
XF1 = np.array([[[0.0], [math.log(3.0)]]])
LF1 = np.array([[1]])
_FOCAL_PIXEL = math.log(4 / 3) / 16  # (1 - 3/4)^2 * -log(3/4)
_FOCAL_BAD = _common_bad({"activation": "softmax"})[:5] + [
    Bad((X, LAB), {"reduction": "none"}, ValueError, "reduction: expected one of 'mean', 'sum', got 'none'",
        id="reduction"),
    Bad((X, LAB), {"activation": None}, ValueError, "activation: expected one of 'softmax', 'sigmoid'",
        id="activation"),
    Bad((X, LAB), {"focal_activation": "relu"}, ValueError, "focal_activation: expected one of None, 'sigmoid'",
        id="focal-activation"),
    Bad((X, LAB), {"lambda_focal": -1.0}, ValueError, "lambda_focal: expected a number >= 0.0", id="lambda"),
    Bad((X, LAB), {"gamma": -1.0}, ValueError, "gamma: expected a number >= 0.0", id="gamma"),
    Bad((X, LAB), {"alpha": 1.5, "activation": "sigmoid"}, ValueError, "alpha: expected a number <= 1.0", id="alpha-range"),
    Bad((X, LAB), {"alpha": 0.25}, ValueError, "alpha: expected None with the softmax focal term", id="alpha-softmax"),
    Bad((X, ONEHOT), error=ValueError, match="target: expected integer labels for the softmax focal term",
        id="dense-softmax"),
    Bad((X, LAB[:, None] + 0.5), error=ValueError, match="target: expected integer-valued labels", id="label-map-fraction"),
    Bad((X, np.where(LAB == 2, 3, LAB)), error=ValueError, match=r"target: expected class indices in \[0, 2\], got 3",
        id="label-range"),
]
_M = {"reduction": "mean"}


def _focal_identities(region, region_options=None):
    ro = dict(region_options or {})
    return [
        Identity((X, LAB), region, {**_M, **ro, "lambda_focal": 0.0, "ignore_index": 1},
                 {**_M, **ro, "activation": "softmax", "ignore_index": 1},
                 why="lambda_focal = 0 is the region loss alone", id="no-focal"),
        Identity((X, LAB), losskit.focal_loss, {**_M, "lambda_dice": 0.0, "gamma": 1.5, "ignore_index": 1},
                 {**_M, "gamma": 1.5, "ignore_index": 1},
                 why="lambda_dice = 0 with the softmax focal term over every class is losskit.focal_loss", id="no-dice"),
        Identity((X, ONEHOT), lambda x, t, **o: losskit.sigmoid_focal_loss(x, t, alpha=0.25, **o),
                 {**_M, "lambda_dice": 0.0, "activation": "sigmoid", "alpha": 0.25}, _M,
                 why="lambda_dice = 0 with the sigmoid term on a dense target is losskit.sigmoid_focal_loss",
                 id="no-dice-sigmoid"),
    ]


CASES += [
    LossCases(
        "dice_focal_loss",
        cases=[
            Case((np.zeros((1, 2, 2)), np.array([[0, 1]])), Z, expected=0.5 + math.log(2) / 4,
                 why="logits 0: softmax 1/2; each class I = 0.5, P = 1, G = 1: Dice 1 - 1/2; each pixel's focal "
                     "term (1 - 1/2)^2 log 2", id="hand"),
            Case((np.zeros((1, 2, 2)), np.array([[0, 1]])), {**Z, "reduction": "sum"}, expected=1.0 + math.log(2) / 2,
                 why="sums: Dice 0.5 + 0.5 over two classes, focal 2 (1/4) log 2 over two pixels", id="hand-sum"),
            Case((XF1, LF1), Z, expected=4 / 7 + _FOCAL_PIXEL,
                 why="p = [1/4, 3/4], label 1: class 0 I = 0, P = 1/4, G = 0: Dice 1; class 1 I = 3/4, P = 3/4, "
                     "G = 1: 1 - 1.5/1.75 = 1/7; mean 4/7; focal (1/4)^2 log(4/3)", id="hand-one-pixel"),
            Case((XF1, LF1), {**Z, "include_background": False}, expected=1 / 7 + _FOCAL_PIXEL,
                 why="without background: Dice of class 1 only (1/7); the pixel is class 1 and stays in the focal term",
                 id="no-background"),
            Case((XF1, np.array([[0]])), {**Z, "include_background": False}, expected=1.0,
                 why="label 0 without background: class 1 I = 0, P = 3/4, G = 0: Dice 1; the only pixel is "
                     "background and leaves the focal term (mean over no pixel: 0)", id="no-background-empty-focal"),
            Case((XF1, LF1), {**Z, "focal_activation": "sigmoid"},
                 expected=4 / 7 + (math.log(2) / 4 + _FOCAL_PIXEL) / 2,
                 why="MONAI's sigmoid focal term: channel 0 logit 0, target 0: (1/2)^2 log 2; channel 1 sigmoid(log 3) "
                     "= 3/4, target 1: (1/4)^2 log(4/3); mean over the two elements; the softmax Dice 4/7",
                 id="monai-sigmoid-focal"),
            Case((XF1, LF1[:, None].astype(np.float64)), {**Z, "focal_activation": "sigmoid"},
                 expected=4 / 7 + (math.log(2) / 4 + _FOCAL_PIXEL) / 2,
                 why="the same with MONAI's (N, 1, ...) float label map", id="monai-layout"),
            Case((XG, LG2), {}, id="grad-softmax"),
            Case((XG, LG2), {"ignore_index": 2, "include_background": False, "gamma": 1.5}, id="grad-ignore"),
            Case((XG, LG2), {"activation": "sigmoid", "weight": np.array([0.5, 2.0, 1.0]), "alpha": 0.25,
                             "reduction": "sum"}, id="grad-sigmoid-weight"),
            Case((XG, np.moveaxis(np.eye(3)[LG2], -1, 1)), {"focal_activation": "sigmoid", "include_background": False},
                 id="grad-monai-dense"),
            *_fast(lambda_focal=0.5),
        ],
        bad=_FOCAL_BAD,
        empty=E,
        reductions=False,
        identities=_focal_identities(losskit.dice_loss, {"include_background": False, "batch": True}),
    ),
    LossCases(
        "generalized_dice_focal_loss",
        cases=[
            Case((np.zeros((1, 2, 2)), np.array([[0, 1]])), Z, expected=0.5 + math.log(2) / 4,
                 why="logits 0, labels [0, 1]: G = [1, 1] (equal weights), I = 0.5, P = 1 each: GDL 1 - 2 / 4; "
                     "focal (1/2)^2 log 2 per pixel", id="hand"),
            Case((XF1, LF1), Z, expected=0.25 + _FOCAL_PIXEL,
                 why="p = [1/4, 3/4], label 1: class 0 absent takes the largest finite weight 1/1^2 = 1: "
                     "num 2 (0 + 3/4) = 1.5, den (1/4 + 0) + (3/4 + 1) = 2: GDL 1/4; focal (1/4)^2 log(4/3)",
                 id="hand-one-pixel"),
            Case((XF1, LF1), {**Z, "focal_activation": "sigmoid", "weight": np.array([2.0, 1.0])},
                 expected=0.25 + (2 * math.log(2) / 4 + _FOCAL_PIXEL) / 2,
                 why="the sigmoid focal term with class weights [2, 1] (focal term only): channel 0 2 (1/2)^2 log 2, "
                     "channel 1 (1/4)^2 log(4/3), mean of the two", id="monai-sigmoid-weight"),
            Case((XG, LG2), {"batch": True}, id="grad-softmax"),
            Case((XG, LG2), {"activation": "sigmoid", "weight_type": "simple", "ignore_index": 1}, id="grad-sigmoid"),
            *_fast(lambda_focal=0.5),
        ],
        bad=_FOCAL_BAD + [Bad((X, LAB), {"weight_type": "log"}, ValueError,
                              "weight_type: expected one of 'square', 'simple', 'uniform'", id="weight-type")],
        empty=E,
        reductions=False,
        identities=_focal_identities(losskit.generalized_dice_loss, {"weight_type": "simple"}),
    ),
]


# --------------------------------------------------------------------------- clDice (issue 15)

# A one-pixel-wide line in a 3 x 3 image (its own soft skeleton: the vertical erosion empties it).
GL = np.zeros((1, 1, 3, 3))
GL[0, 0, 1] = 1.0
GL3 = np.zeros((1, 1, 3, 3, 3))
GL3[0, 0, 1, 1] = 1.0  # a line along the last axis of a 3 x 3 x 3 volume
_CL_HALF = 1 - 2 * 0.625 / 1.625  # T_prec = 1, T_sens = (1.5 + 1) / (3 + 1): 3/13
# (grad=False on these hand cases: the soft min / max have kinks at their ties, which the line has)
# Two classes as labels: class 1 the middle row, class 0 the rows above and below; p(class 1) =
# 0.5 on the row, p(class 0) = 1 - p(class 1).
LCL = np.array([[[0, 0, 0], [1, 1, 1], [0, 0, 0]]])
PCL = np.stack([1 - 0.5 * LCL, 0.5 * LCL], axis=1).astype(np.float64)
_CL_BAD = _common_bad({"activation": "softmax"})[:5] + [
    Bad((X, LAB), {}, TypeError, "activation", id="activation-required"),
    Bad((X, LAB), {"activation": "relu"}, ValueError, "activation: expected one of None, 'sigmoid', 'softmax', got 'relu'",
        id="activation"),
    Bad((X, LAB), {"activation": "softmax", "iterations": -1}, ValueError, "iterations: expected an int >= 0",
        id="iterations"),
    Bad((X, LAB), {"activation": "softmax", "iterations": 1.5}, TypeError, "iterations: expected an int", id="iterations-int"),
    Bad((X, LAB), {"activation": "softmax", "smooth": 0.0}, ValueError, "smooth: expected a number > 0.0", id="smooth"),
    Bad((X, LAB), {"activation": "softmax", "harmonic_smooth": -1.0}, ValueError,
        "harmonic_smooth: expected a number >= 0.0", id="harmonic-smooth"),
    Bad((np.zeros((2, 3)), np.zeros(2, dtype=np.int64)), {"activation": "softmax"}, ValueError,
        "input: expected at least one spatial axis", id="no-spatial"),
    Bad((X, np.where(LAB == 2, 3, LAB)), {"activation": "softmax"}, ValueError,
        r"target: expected class indices in \[0, 2\], got 3", id="label-range"),
    Bad((X, ONEHOT * 2), {"activation": "softmax"}, ValueError, r"target: expected probabilities in \[0, 1\]",
        id="dense-range"),
    Bad((X[:, :1], LAB.clip(0, 1)), {"activation": "sigmoid", "include_background": False}, ValueError,
        "include_background: expected True for a single-channel input", id="background-one-channel"),
]
_N = {"activation": None}

CASES += [
    LossCases(
        "cldice_loss",
        cases=[
            Case((0.5 * GL, GL), _N, grad=False, expected=[[_CL_HALF]],
                 why="the line is its own skeleton (S(g) = g, S(0.5 g) = 0.5 g): T_prec = (1.5 + 1) / (1.5 + 1) = 1, "
                     "T_sens = (sum S(g) p + 1) / (sum S(g) + 1) = 2.5 / 4; 1 - 2 (5/8) / (13/8) = 3/13", id="hand"),
            Case((0.5 * GL3, GL3), _N, grad=False, expected=[[_CL_HALF]], why="the same line in 3D (erosion across two axes)",
                 id="hand-3d"),
            Case((0.5 * GL, GL), {**_N, "harmonic_smooth": 1e-4}, grad=False, expected=[[1 - 1.25 / (1.625 + 1e-4)]],
                 why="MONAI's guard 1e-4 in the harmonic mean's denominator", id="monai-guard"),
            Case((GL, GL), _N, expected=[[0.0]], grad=False, why="perfect prediction: T_prec = T_sens = 1", id="perfect"),
            Case((np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))), _N, expected=[[0.0]], grad=False,
                 why="an all-foreground image has an empty skeleton (erosion keeps it, opening removes nothing): "
                     "T_prec = T_sens = (0 + 1) / (0 + 1)", id="all-foreground"),
            Case((PCL, LCL), _N, grad=False, expected=[[0.0, _CL_HALF]],
                 why="class 0 (rows 0 and 2, its own skeleton, sum 6): S(p0) = 0.5 on rows 0 and 2 (p0 erodes to 0.5), "
                     "T_prec = (3 + 1) / (3 + 1), T_sens = (6 + 1) / (6 + 1): 0; class 1 the 'hand' line: 3/13",
                 id="two-classes"),
            Case((PCL, LCL[:, None].astype(np.float64)), {**_N, "include_background": False}, grad=False, expected=[[_CL_HALF]],
                 why="without background, on MONAI's (N, 1, ...) label map: class 1 only", id="no-background"),
            Case((XG, LG2), {"activation": "softmax"}, id="grad-softmax"),
            Case((XG, LG2), {"activation": "sigmoid", "iterations": 1, "batch": True, "ignore_index": 2,
                             "weight": np.array([0.5, 1.0, 2.0])}, id="grad-sigmoid-ignore"),
            Case((X, LAB), {"activation": "softmax", "iterations": 5, "include_background": False, "reduction": "sum"},
                 grad=False, id="iterations-5"),
        ],
        bad=_CL_BAD,
        empty=E,
    ),
    LossCases(
        "dice_cldice_loss",
        cases=[
            Case((0.5 * GL, GL), _N, grad=False, expected=[[(3 / 11 + _CL_HALF) / 2]],
                 why="Dice with smooth 1: 1 - (2 * 1.5 + 1) / (1.5 + 3 + 1) = 3/11; clDice 3/13; alpha = 0.5",
                 id="hand"),
            Case((0.5 * GL, GL), {**_N, "alpha": 0.2}, grad=False, expected=[[0.8 * 3 / 11 + 0.2 * _CL_HALF]], why="alpha = 0.2",
                 id="alpha"),
            Case((XG, LG2), {"activation": "softmax", "alpha": 0.3}, id="grad-softmax"),
            *_fast(),
        ],
        bad=_CL_BAD + [Bad((X, LAB), {"activation": "softmax", "alpha": 1.5}, ValueError,
                           "alpha: expected a number <= 1.0", id="alpha")],
        empty=E,
        identities=[
            Identity((X, LAB), losskit.dice_loss, {"activation": "softmax", "alpha": 0.0, "batch": True},
                     {"activation": "softmax", "smooth_nr": 1.0, "smooth_dr": 1.0, "batch": True},
                     why="alpha = 0 is the Dice loss with smooth 1", id="alpha0"),
            Identity((X, LAB), losskit.cldice_loss, {"activation": "softmax", "alpha": 1.0, "ignore_index": 1},
                     {"activation": "softmax", "ignore_index": 1}, why="alpha = 1 is clDice", id="alpha1"),
        ],
    ),
]


# --------------------------------------------------------------------------- Hausdorff DT loss (issue 15)

# Four pixels in a row, target [1, 1, 0, 0]: the distance field (distance to the boundary
# between pixels 1 and 2, inside and outside) is [2, 1, 1, 2]. Every row passes the maps
# (distance_maps, stacked (2, N, C, *spatial)) so that the checklist also runs under jax.jit,
# but the "fast-edt" ones (no expected value, no gradient check: the fast-path test's inputs);
# the transforms themselves are checked in tests/test_segmentation_topology.py.
GH = np.array([[[[1.0, 1.0, 0.0, 0.0]]]])
PH = np.array([[[[1.0, 0.6, 0.4, 0.0]]]])
DG = np.array([[[[2.0, 1.0, 1.0, 2.0]]]])
PH2 = np.array([[[[0.5, 1.0, 0.0, 0.5]]]])  # thresholded [0, 1, 0, 0]: field [1, 1, 1, 2]
DP2 = np.array([[[[1.0, 1.0, 1.0, 2.0]]]])
_HD_DM = np.stack([DG, DG])
_HD_DM2 = np.stack([DP2, DG])
_HD_RNG = np.random.default_rng(5)
_HD_DMR = _HD_RNG.uniform(0.5, 3.0, size=(2,) + XG.shape)
# Inputs for the fast path segmentation.edt (the transforms computed, no maps given): the
# fast-path test pins it to scipy's transforms on them; 2D with softmax (argmax masks), 3D
# with sigmoid and anisotropic spacing.
_EDT_RNG = np.random.default_rng(11)
XE3 = _EDT_RNG.standard_normal((2, 2, 6, 7, 5))
GE3 = (_EDT_RNG.random((2, 2, 6, 7, 5)) > 0.6).astype(np.float64)


def _fast_edt():
    return [
        Case((XF, LF0), {"activation": "softmax"}, grad=False, id="fast-edt-2d"),
        Case((XE3, GE3), {"activation": "sigmoid", "spacing": (2.5, 1.0, 0.5)}, grad=False, id="fast-edt-3d-spacing"),
    ]


_HD_BAD = _common_bad()[:3] + [
    Bad((PH, GH), {"alpha": -1.0}, ValueError, "alpha: expected a number >= 0.0", id="alpha"),
    Bad((PH, GH), {"log": 1}, TypeError, "log: expected a bool", id="log-bool"),
    Bad((PH, GH), {"activation": "relu"}, ValueError, "activation: expected one of None, 'sigmoid', 'softmax'",
        id="activation"),
    Bad((PH, GH), {"spacing": (1.0,)}, ValueError, r"spacing: expected 2 positive numbers", id="spacing-length"),
    Bad((PH, GH), {"spacing": (1.0, -2.0)}, ValueError, r"spacing: expected 2 positive numbers", id="spacing-sign"),
    Bad((PH, GH), {"distance_maps": np.zeros((2, 1, 1, 1, 3))}, ValueError,
        r"distance_maps: expected a pair of arrays of shape \(1, 1, 1, 4\)", id="maps-shape"),
    Bad((PH, GH), {"distance_maps": "maps"}, TypeError, "distance_maps: expected a pair of arrays", id="maps-type"),
    Bad((np.zeros((2, 3)), np.zeros(2, dtype=np.int64)), {}, ValueError, "input: expected at least one spatial axis",
        id="no-spatial"),
    Bad((PH, GH), {"include_background": False}, ValueError,
        "include_background: expected True for a single-channel input", id="background-one-channel"),
    Bad((PH, GH * 2), {}, ValueError, r"target: expected probabilities in \[0, 1\]", id="dense-range"),
]

CASES += [
    LossCases(
        "hausdorff_dt_loss",
        cases=[
            Case((PH, GH), {"distance_maps": _HD_DM}, expected=[[0.16]],
                 why="both masks [1, 1, 0, 0], fields [2, 1, 1, 2]; errors 0.16 at pixels 1 and 2, weighted "
                     "1^2 + 1^2: (0.32 + 0.32) / 4", id="hand"),
            Case((PH2, GH), {"distance_maps": _HD_DM2}, expected=[[(0.25 * 5 + 0.25 * 8) / 4]],
                 why="prediction [0.5, 1, 0, 0.5] (mask [0, 1, 0, 0], field [1, 1, 1, 2]); errors 0.25 at pixels 0 "
                     "and 3, weighted 1 + 4 and 4 + 4", id="hand-pred-map"),
            Case((PH2, GH), {"distance_maps": _HD_DM2, "alpha": 1.0}, expected=[[(0.25 * 3 + 0.25 * 4) / 4]],
                 why="alpha = 1: weights 1 + 2 and 2 + 2", id="alpha1"),
            Case((PH, GH), {"distance_maps": (DG, DG), "log": True}, expected=math.log1p(0.16), mean=math.log1p(0.16),
                 sum=math.log1p(0.16), grad=False, why="log(1 + L) of the reduced loss (MONAI's LogHausdorffDTLoss); "
                 "maps as a pair", id="log"),
            Case((XG, LG2), {"activation": "softmax", "distance_maps": _HD_DMR}, id="grad-softmax"),
            Case((XG, LG2), {"activation": "sigmoid", "distance_maps": _HD_DMR, "batch": True, "include_background": False,
                             "weight": np.array([1.0, 2.0, 0.5])}, id="grad-sigmoid-batch"),
            *_fast_edt(),
        ],
        bad=_HD_BAD,
        empty=None,
        why_no_empty="the first case carries distance maps of its own shape; the empty batch (with the transforms "
                     "computed) is tested in tests/test_segmentation_topology.py",
    ),
]


# --------------------------------------------------------------------------- boundary loss (issue 15)

# Target [1, 1, 0, 0]: signed map [-1, 0, 1, 2] (inside 1 - distance to the background,
# outside the distance to the foreground); the background class [0, 0, 1, 1] has [2, 1, 0, -1].
SDM = np.array([[[[-1.0, 0.0, 1.0, 2.0]]]])
PB2 = np.concatenate([1 - PH, PH], axis=1)  # two classes, p(class 1) = [1, 0.6, 0.4, 0]
LB2 = np.array([[[1, 1, 0, 0]]])
SDM2 = np.concatenate([np.array([[[[2.0, 1.0, 0.0, -1.0]]]]), SDM], axis=1)
_BD_MAPS_R = np.random.default_rng(6).uniform(-3.0, 3.0, size=XG.shape)

CASES += [
    LossCases(
        "boundary_loss",
        cases=[
            Case((PH, GH), {"distance_maps": SDM}, expected=[[-0.15]],
                 why="map [-1, 0, 1, 2] times p [1, 0.6, 0.4, 0]: (-1 + 0 + 0.4 + 0) / 4", id="hand"),
            Case((PB2, LB2), {"distance_maps": SDM2}, expected=[[-0.15, -0.15]],
                 why="two classes as labels: class 0 p [0, 0.4, 0.6, 1] times [2, 1, 0, -1]: (0.4 - 1) / 4; "
                     "class 1 the 'hand' row", id="two-classes"),
            Case((PB2, LB2), {"distance_maps": SDM2, "include_background": False, "batch": True}, expected=[-0.15],
                 why="class 1 only (the paper's idc=[1]), pooled over the one-sample batch", id="no-background"),
            Case((XG, LG2), {"activation": "softmax", "distance_maps": _BD_MAPS_R}, id="grad-softmax"),
            Case((XG, LG2), {"activation": "sigmoid", "distance_maps": _BD_MAPS_R, "weight": np.array([1.0, 2.0, 0.5]),
                             "reduction": "sum"}, id="grad-sigmoid-weight"),
            *_fast_edt(),
        ],
        bad=_common_bad()[:3] + [
            Bad((PH, GH), {"activation": "relu"}, ValueError, "activation: expected one of None, 'sigmoid', 'softmax'",
                id="activation"),
            Bad((PH, GH), {"distance_maps": np.zeros((1, 1, 1, 3))}, ValueError,
                r"distance_maps: expected an array of shape \(1, 1, 1, 4\)", id="maps-shape"),
            Bad((PH, GH), {"spacing": (1.0, 0.0)}, ValueError, "spacing: expected 2 positive numbers", id="spacing"),
            Bad((np.zeros((2, 3)), np.zeros(2, dtype=np.int64)), {}, ValueError,
                "input: expected at least one spatial axis", id="no-spatial"),
            Bad((PH, GH), {"include_background": False}, ValueError,
                "include_background: expected True for a single-channel input", id="background-one-channel"),
            Bad((PH, GH * 2), {}, ValueError, r"target: expected probabilities in \[0, 1\]", id="dense-range"),
        ],
        empty=None,
        why_no_empty="the first case carries maps of its own shape; the empty batch (maps computed) is tested in "
                     "tests/test_segmentation_topology.py",
    ),
]
