"""The case table: per registered loss, the inputs that exercise it, what they must give,
and the bad inputs with the error they must raise.

Each family has a module here (``tests/cases/regression.py``, ...) with a ``CASES`` list of
:class:`LossCases`, one per registered loss. ``tests/test_checklist.py`` runs the checklist
of ``shared/DESIGN.md`` from this table on every backend the loss's metadata names
(``LossInfo.backends``); ``tests/test_fast_paths.py`` pins every declared fast path to the
reference code on the table's inputs. A registered loss without a row fails the suite.

Arrays in a row are NumPy: floating arrays become the backend's float dtype, integer
arrays int64 (``Backend.asarray``). The first argument is the one differentiated.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, Callable, Sequence

import numpy as np


@dataclasses.dataclass
class Case:
    """One input of a loss.

    ``expected`` is the hand-derived ``reduction="none"`` output (the derivation in
    ``why``), or ``None`` where only the other checks apply; ``mean`` overrides the
    expected ``reduction="mean"`` value where it is not ``expected.mean()`` (weights,
    ignored entries); ``sum`` likewise. ``grad``: check the gradient here against a float64
    numerical gradient (pick points where the loss is differentiable). ``fast``: inputs
    meant to take a fast path (``tests/test_fast_paths.py`` runs every case; these are
    there so that each declared path has inputs it accepts).
    """

    args: tuple
    options: dict = dataclasses.field(default_factory=dict)
    expected: Any = None
    why: str = ""
    mean: float | None = None
    sum: float | None = None
    grad: bool = True
    id: str = ""
    rtol: float | None = None
    atol: float | None = None


@dataclasses.dataclass
class Bad:
    """A bad input: calling the loss raises ``error`` whose message matches ``match``."""

    args: tuple
    options: dict = dataclasses.field(default_factory=dict)
    error: type = ValueError
    match: str = ""
    id: str = ""


@dataclasses.dataclass
class Identity:
    """``lhs(*args, **lhs_options) == rhs(*args, **rhs_options)`` (``reduction="none"``
    unless the options say otherwise): focal with gamma=0 is cross-entropy, ..."""

    args: tuple
    rhs: Callable[..., Any]
    options: dict = dataclasses.field(default_factory=dict)
    rhs_options: dict = dataclasses.field(default_factory=dict)
    why: str = ""
    id: str = ""


@dataclasses.dataclass
class LossCases:
    """Everything the checklist needs about one registered loss.

    ``empty``: the arguments of an empty batch (``mean`` and ``sum`` give 0, ``none`` an
    empty array, the graph is kept). ``half``: arguments for the float16 / bfloat16 check
    (the first case's by default). ``reductions``: the loss takes ``reduction=``.
    ``why_no_shell``: why the loss has no plain ``losskit.torch`` shell whose ``forward``
    equals the function (the module check is skipped, with this reason).
    """

    name: str
    cases: Sequence[Case]
    bad: Sequence[Bad]
    empty: tuple | None
    identities: Sequence[Identity] = ()
    half: tuple | None = None
    reductions: bool = True
    why_no_empty: str = ""
    why_no_shell: str = ""

    def __post_init__(self):
        if not self.cases or not any(c.expected is not None for c in self.cases):
            raise ValueError(f"{self.name}: at least one case with a hand-derived expected value")
        if not self.bad:
            raise ValueError(f"{self.name}: at least one bad input")
        if self.empty is None and not self.why_no_empty:
            raise ValueError(f"{self.name}: an empty batch, or why_no_empty saying why there is none")


def load() -> dict[str, LossCases]:
    """Every family module's rows, by loss name (a name twice is an error)."""
    out: dict[str, LossCases] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for row in getattr(module, "CASES", ()):
            if row.name in out:
                raise ValueError(f"{row.name}: two rows in the case table")
            out[row.name] = row
    return out


def arrays_of(args: tuple) -> list[int]:
    """The positions of the array arguments (NumPy arrays) of a case."""
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
