"""`losskit demo`: the seed article's argument, run for real, with pictures.

Writes ``report.html`` (self-contained), the PNGs and ``summary.json`` to ``--out`` and
prints a summary. matplotlib, scikit-learn and tqdm (the ``demo`` extra) are imported only
when the command runs, so ``import losskit`` stays light.
"""

from __future__ import annotations

import os
import sys

from . import CLIError
from ._common import add_command


_DESCRIPTION = """
Run the seed article's argument on scikit-learn's digits: worked examples, accuracy staircase
vs loss slope, gradient check, training with cross-entropy and squared error, learning rates on
linear regression, and a gallery of losses. Writes report.html, the PNGs and summary.json to
--out.
"""


def register(subparsers) -> None:
    summary = "why we train on a loss, not on accuracy: a report with pictures (digits data)"
    p = add_command(subparsers, "demo", _run, summary, _DESCRIPTION)
    p.add_argument("--out", default="losskit-demo", help="output folder (default ./losskit-demo)")
    p.add_argument("--quick", action="store_true", help="a smaller run that takes a few seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same numbers")
    p.add_argument("--backend", choices=("numpy", "torch", "jax"), default="numpy",
                   help="train step 4 with numpy (losskit's analytic gradients) or torch/jax autograd")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _run(args) -> int:
    from losskit.experiments._figures import require

    try:
        require("matplotlib", "sklearn", "tqdm", extra="demo")
        if args.backend != "numpy":
            require(args.backend, extra=args.backend)
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    from losskit.experiments import demo

    try:
        summary = demo.run(args.out, quick=args.quick, seed=args.seed, backend=args.backend,
                           progress=not args.no_progress)
    except OSError as exc:  # --out is a file, not writable, disk full, ...
        raise CLIError(f"--out {args.out}: {exc.strerror or exc}") from None
    try:
        print(demo.terminal_summary(summary, args.out))
        sys.stdout.flush()
    except BrokenPipeError:
        # `losskit demo | head -1`: the reader left early, which is not an error. Point
        # stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
