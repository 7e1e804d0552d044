"""`losskit plot NAME [NAME ...]`: loss (and derivative) curves of registered losses.

Regression losses are drawn against the residual, binary classification losses against
the margin, box losses against the offset and the scale of a unit box, Dice-type losses
against the predicted probability (see :mod:`losskit.experiments.curves`).
"""

from __future__ import annotations

import os

from . import CLIError
from ._common import add_command, add_option_argument, parse_options


_DESCRIPTION = """
Draw the curves of one or more registered losses on one figure (PNG): regression losses against
the residual, binary classification losses against the margin y f(x), box losses against the
offset and the scale of a unit box, Dice-type losses against the predicted probability of the
true class. Unknown names or options: one-line error, exit code 2.
"""


def register(subparsers) -> None:
    summary = "plot losses (and their derivatives) against residual, margin, box offset or probability"
    p = add_command(subparsers, "plot", _run, summary, _DESCRIPTION)
    p.add_argument("names", nargs="+", metavar="NAME", help="loss names or aliases (see `losskit list`)")
    p.add_argument("--grad", action="store_true", help="also draw the derivatives (losskit.value_and_grad)")
    p.add_argument("--out", default="losskit-plot.png", help="output PNG (default ./losskit-plot.png)")
    add_option_argument(p, "an option for the losses that have it (value parsed as a Python literal)")


def _run(args) -> int:
    import losskit
    from losskit.experiments._figures import require

    infos = []
    for name in args.names:
        try:
            info = losskit.get(name)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        if info not in infos:
            infos.append(info)
    if not args.out.lower().endswith(".png"):
        raise CLIError(f"--out: expected a .png file name, got {args.out!r}")
    options = parse_options(args.option)
    try:
        require("matplotlib", extra="plot")
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    from losskit.experiments import curves as C

    try:
        per_loss = C.split_options(infos, options)
        drawn = []
        for info in infos:
            drawn.extend(C.loss_curves(info, per_loss[info.name], grad=args.grad))
    except C.CurveError as exc:
        raise CLIError(str(exc)) from None
    try:
        folder = os.path.dirname(args.out)
        if folder:
            os.makedirs(folder, exist_ok=True)
        path = C.draw(drawn, args.out, grad=args.grad)
    except OSError as exc:
        raise CLIError(f"--out {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {path} ({', '.join(i.name for i in infos)})")
    return 0
