"""Run every benchmark (``benchmarks/bench_*.py``) and print one table of ratios.

    python benchmarks/run.py                 # everything, full sizes
    python benchmarks/run.py --quick         # small sizes, a smoke run
    python benchmarks/run.py --only boxes    # one module (bench_boxes.py)
    python benchmarks/run.py --threads 1     # torch (and the compiled kernels) on one thread
    python benchmarks/run.py --cold          # gc.collect() before every timed step

Each ``bench_<name>.py`` defines ``run(quick: bool) -> list[Row]``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import format_table  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", action="append", default=[], help="run only bench_<ONLY>.py (repeatable)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument(
        "--cold", action="store_true",
        help="collect garbage before every timed step (cold caches) instead of timing steps back to back",
    )
    args = parser.parse_args(argv)
    if args.cold:
        import _harness

        _harness.COLD = True
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"--only: expected some of {', '.join(names)}, got {', '.join(sorted(unknown))}")
        names = [n for n in names if n in args.only]
    rows = []
    for name in names:
        print(f"running bench_{name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(f"bench_{name}").run(quick=args.quick))
    print(f"cpu cores: {os.cpu_count()}, quick: {args.quick}, cold: {args.cold}")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
