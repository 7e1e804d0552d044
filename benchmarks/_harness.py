"""Shared timing/memory helpers for the benchmarks (not part of the library or the tests).

Every benchmark compares losskit with a peer *in the same run*, on the same inputs, and
reports the ratio ours / peer (below 1 means losskit is faster or leaner). Absolute times
depend on the machine; ratios taken in one run are what the README reports.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from typing import Callable


@dataclasses.dataclass
class Row:
    family: str
    loss: str
    case: str
    peer: str
    ours: float  # seconds (or bytes when unit == "MiB")
    theirs: float
    target: float | None = None  # the target ratio, if any
    unit: str = "ms"
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs if self.theirs else float("nan")


def timeit(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 2, min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], object]], *, repeat: int = 7, warmup: int = 2) -> dict[str, float]:
    """Median times of several functions measured round-robin, so that machine noise
    (other processes, thermal state) hits every contender alike."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def fwd_bwd(fn: Callable[..., object], x, *args) -> Callable[[], None]:
    """A timed step for torch: ``fn(x, *args).backward()`` with ``x.grad`` cleared first
    (so gradients do not accumulate across repeats)."""

    def step():
        x.grad = None
        fn(x, *args).backward()

    return step


def format_table(rows: list[Row]) -> str:
    """A Markdown table: loss, case, peer, ours, theirs, ratio, target, met?"""
    head = "| family | loss | case | peer | losskit | peer | ratio | target | |\n|---|---|---|---|---:|---:|---:|---:|---|\n"
    lines = []
    for r in rows:
        scale = 1e3 if r.unit == "ms" else 1.0
        target = f"<= {r.target:g}" if r.target is not None else ""
        met = "" if r.target is None else ("ok" if r.ratio <= r.target else "MISSED")
        lines.append(
            f"| {r.family} | {r.loss} | {r.case} | {r.peer} | {r.ours * scale:.2f} {r.unit} | "
            f"{r.theirs * scale:.2f} {r.unit} | {r.ratio:.2f} | {target} | {met}{(' ' + r.note) if r.note else ''} |"
        )
    return head + "\n".join(lines)
