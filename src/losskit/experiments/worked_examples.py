"""The seed article's worked examples: ``losskit.textbook`` next to the production losses.

The article's network output for a digit whose correct class is 2 is either right
(``y[2] = 0.6``) or wrong (``y[7] = 0.6``, ``y[2] = 0.1``). Its numbers: squared error
0.0975 and 0.5975, cross-entropy -log 0.6 = 0.51 and -log 0.1 = 2.30.

Why the production numbers differ:

* squared error: the textbook takes *half the sum* over the 10 outputs; ``mse_loss`` takes
  the *mean* over the elements, so ``mse = textbook * 2 / 10`` here;
* cross-entropy: the textbook takes probabilities and adds ``delta = 1e-7`` inside the log
  so that ``log(0)`` does not give ``-inf``; ``cross_entropy`` takes logits and computes
  ``log softmax`` by log-sum-exp, which never forms ``log(0)``. On the article's examples
  the two agree to ~1e-7; they part ways at the extremes, where delta caps the textbook
  loss at ``-log(1e-7) = 16.1`` (and a perfect prediction scores ``-log(1 + 1e-7) < 0``),
  while the log-sum-exp form is exact.
"""

from __future__ import annotations

import numpy as np

import losskit
from losskit import textbook

Y_RIGHT = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_WRONG = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
LABEL = 2
# A probability of exactly 0 is a logit of -inf; -1e4 is as good: exp(-1e4) underflows to
# exactly 0 in float64, so softmax(LOGITS) reproduces the article's outputs.
ZERO_LOGIT = -1e4

WHY = (
    "They differ by convention, not by mistake: the textbook squared error is a half sum over "
    "the 10 outputs, mse_loss a mean over them (so mse_loss = textbook x 2 / 10 here); the "
    "textbook cross-entropy takes probabilities and adds delta = 1e-7 inside the log to avoid "
    "log(0), while cross_entropy takes logits and uses log-sum-exp, which is exact: the two "
    "agree to 1e-7 here but delta caps the textbook loss at -log(1e-7) = 16.1 for a confident "
    "mistake and makes a perfect prediction score slightly below zero."
)


def _logits(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), ZERO_LOGIT)[None, :]


def run() -> dict:
    t = np.zeros(10)
    t[LABEL] = 1.0
    label = np.array([LABEL])
    rows = []
    for name, y in (("right (y[2] = 0.6)", Y_RIGHT), ("wrong (y[2] = 0.1)", Y_WRONG)):
        rows.append({
            "example": name,
            "textbook_squared_error": float(textbook.mean_squared_error(y, t)),
            "mse_loss": float(losskit.mse_loss(y, t)),
            "textbook_cross_entropy": float(textbook.cross_entropy_error(y, t)),
            "cross_entropy": float(losskit.cross_entropy(_logits(y), label)),
            "exact_minus_log_p": float(-np.log(y[LABEL])),
        })
    # Batch form: the mean over the two examples, one-hot (textbook) vs labels (production).
    ys = np.stack([Y_RIGHT, Y_WRONG])
    batch = {
        "textbook_cross_entropy": float(textbook.cross_entropy_error(ys, np.stack([t, t]))),
        "cross_entropy": float(losskit.cross_entropy(np.concatenate([_logits(Y_RIGHT), _logits(Y_WRONG)]),
                                                     np.array([LABEL, LABEL]))),
    }
    # The extremes: a confident mistake (true-class logit 40 below the others) and a perfect
    # prediction. Log-sum-exp gives 40 + log(9 + e^-40) = 42.2 and exactly 0; the textbook
    # (through its softmax) is capped at -log(1e-7) = 16.1 and gives -log(1 + 1e-7) < 0.
    logits_bad = np.zeros((1, 10))
    logits_bad[0, LABEL] = -40.0
    logits_perfect = np.full((1, 10), ZERO_LOGIT)
    logits_perfect[0, LABEL] = 0.0
    extremes = []
    for name, z in (("confident mistake (true logit 40 below)", logits_bad), ("perfect prediction", logits_perfect)):
        extremes.append({
            "example": name,
            "textbook_cross_entropy": float(textbook.cross_entropy_error(textbook.softmax(z[0]), t)),
            "cross_entropy": float(losskit.cross_entropy(z, label)),
        })
    return {"examples": rows, "batch": batch, "extremes": extremes, "why": WHY}
