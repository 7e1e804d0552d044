"""`losskit simulate boxes`: the DIoU paper's box-regression simulation for any box losses."""

from __future__ import annotations

import pathlib
import sys
import time

from . import CLIError
from ._common import add_command, add_option_argument, parse_options


_DESCRIPTION = """
boxes: regress 1,715,000 anchor/target box pairs (5,000 points x 7 x 7 x 7) by gradient descent
on each loss for 200 iterations, as in Zheng et al., AAAI 2020, and compare the total l1 error
per iteration.
"""


def register(subparsers) -> None:
    summary = "reproduce a classic study (boxes: the DIoU paper's regression simulation)"
    p = add_command(subparsers, "simulate", _run, summary, _DESCRIPTION)
    p.add_argument("study", choices=("boxes",), help="which study")
    p.add_argument("--losses", default="iou,giou,diou,ciou", help="comma-separated box losses (default iou,giou,diou,ciou)")
    p.add_argument("--points", type=int, default=5000, help="anchor centres (default 5000, the paper's)")
    p.add_argument("--iterations", type=int, default=200, help="iterations (default 200, the paper's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("auto", "torch", "jax"), default="auto",
                   help="auto (default): jax if installed (XLA fuses each step into a few loops), else torch")
    p.add_argument("--threshold", type=float, default=0.1,
                   help="report the iterations needed to bring the total error to this fraction of the initial (default 0.1)")
    add_option_argument(p, "an option passed to every loss")
    p.add_argument("--out", default="losskit-simulation", help="output folder (default ./losskit-simulation)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib needed)")


def _progress_factory():
    try:
        from tqdm import tqdm
    except ImportError:
        return None

    def make(name, total):
        return tqdm(total=total, desc=f"{name:>6}", unit="it", file=sys.stderr, leave=True)

    return make


def _run(args) -> int:
    from losskit.experiments import box_simulation as sim

    losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    if not losses:
        raise CLIError("--losses: expected a comma-separated list of box losses")
    for name in losses:
        sim._resolve(name)  # unknown names fail before any work
    if args.points < 1 or args.iterations < 1:
        raise CLIError("--points and --iterations: expected positive integers")
    import importlib.util

    if args.backend == "auto":
        args.backend = next((b for b in ("jax", "torch") if importlib.util.find_spec(b)), None)
        if args.backend is None:
            raise CLIError("needs jax or torch for autodiff: pip install 'losskit[jax]' or 'losskit[torch]'")
    elif importlib.util.find_spec(args.backend) is None:
        raise CLIError(f"--backend {args.backend}: not installed (pip install 'losskit[{args.backend}]')")
    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, no permission, ...
        raise CLIError(f"--out {out}: {exc.strerror or exc}") from None
    cases = sim.cases_count(args.points)
    print(f"{cases:,} regression cases x {args.iterations} iterations on {args.backend}, losses: {', '.join(losses)}",
          file=sys.stderr)
    t0 = time.perf_counter()
    results = sim.run(
        losses, points=args.points, iterations=args.iterations, seed=args.seed, backend=args.backend,
        options=parse_options(args.option), progress_factory=_progress_factory(),
    )
    elapsed = time.perf_counter() - t0
    sim.write_csv(results, out / "simulation.csv")
    written = [out / "simulation.csv"]
    if not args.no_plot:
        try:
            sim.plot(results, out / "simulation.png", cases=cases)
            written.append(out / "simulation.png")
        except ImportError:
            print("matplotlib is not installed: no PNG (pip install 'losskit[plot]')", file=sys.stderr)
    rows = sim.summary_rows(results, args.threshold)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\n{elapsed:.1f} s; wrote {', '.join(str(p) for p in written)}")
    return 0
