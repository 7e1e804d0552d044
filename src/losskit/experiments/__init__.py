"""Runnable studies behind `losskit demo` and `losskit simulate`.

``losskit demo`` (:mod:`.demo`) runs, in order: :mod:`.worked_examples` (the seed
article's numbers, textbook vs production losses), :mod:`.staircase` (accuracy is a
staircase, the loss a slope), :mod:`.gradcheck` (numerical vs backpropagation gradients),
:mod:`.training` (SGD on the digits with cross-entropy and squared error; numpy, torch or
jax), :mod:`.linear_regression` (learning rates too small, right, too large) and
:mod:`.gallery` (every regression and classification loss and its derivative, from the
registry). :mod:`.curves` draws any registered loss for ``losskit plot``.

``losskit simulate boxes`` is :mod:`.box_simulation`.

Nothing here is imported by ``import losskit``; matplotlib, scikit-learn and tqdm are
imported inside the functions that need them.
"""
