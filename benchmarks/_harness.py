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

    @property
    def cpu_ratio(self) -> float | None:
        """The same ratio in process CPU time, where both times came from :func:`interleaved`."""
        ours, theirs = getattr(self.ours, "cpu", None), getattr(self.theirs, "cpu", None)
        if ours is None or theirs is None or not theirs:
            return None
        return ours / theirs


class Measured(float):
    """A median wall-clock time (seconds) that also carries, as ``.cpu``, the median process
    CPU time of the same steps.

    On a machine shared with other jobs the wall-clock ratio of short steps moves by tens of
    percent between runs (a descheduled process keeps its clock running); CPU time counts
    only the work this process did, on all its threads (torch's and XLA's pools included),
    so its ratio is the stable one there. A float, so every benchmark that builds a
    :class:`Row` from :func:`interleaved`'s times reports both without knowing it.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float):
        self = super().__new__(cls, wall)
        self.cpu = cpu
        return self


# Set by ``run.py --cold``: collect garbage before every timed step. That times each step
# with cold caches and a freshly trimmed heap (what a step costs after unrelated work), not
# the back-to-back steady state of a training loop; both are worth seeing, the default is the
# steady state, as ``timeit`` and ``torch.utils.benchmark`` measure it.
COLD = False


def interleaved(fns: dict[str, Callable[[], object]], *, repeat: int = 7, warmup: int = 2) -> dict[str, Measured]:
    """Median times of several functions measured round-robin, so that machine noise
    (other processes, thermal state) hits every contender alike; each a :class:`Measured`
    (wall clock, with the process CPU time of the same steps).

    As in ``timeit``: garbage is collected once before the timed rounds and the collector is
    off while they run (a collection landing inside one contender's step would charge it with
    the others' garbage); with ``COLD`` it runs, untimed, before every step instead.
    """
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for k, f in fns.items():
                if COLD:
                    gc.collect()
                t0, c0 = time.perf_counter(), time.process_time()
                f()
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
    finally:
        if enabled:
            gc.enable()
    return {k: Measured(statistics.median(times[k]), statistics.median(cpu[k])) for k in fns}


def fwd_bwd(fn: Callable[..., object], x, *args) -> Callable[[], None]:
    """A timed step for torch: ``fn(x, *args).backward()`` with ``x.grad`` cleared first
    (so gradients do not accumulate across repeats)."""

    def step():
        x.grad = None
        fn(x, *args).backward()

    return step


def format_table(rows: list[Row]) -> str:
    """A Markdown table: loss, case, peer, ours, theirs, ratio (wall clock), the ratio in
    process CPU time, target, met? (on the wall-clock ratio)."""
    head = ("| family | loss | case | peer | losskit | peer | ratio | cpu ratio | target | |\n"
            "|---|---|---|---|---:|---:|---:|---:|---:|---|\n")
    lines = []
    for r in rows:
        scale = 1e3 if r.unit == "ms" else 1.0
        target = f"<= {r.target:g}" if r.target is not None else ""
        met = "" if r.target is None else ("ok" if r.ratio <= r.target else "MISSED")
        cpu = "" if r.cpu_ratio is None else f"{r.cpu_ratio:.2f}"
        lines.append(
            f"| {r.family} | {r.loss} | {r.case} | {r.peer} | {r.ours * scale:.2f} {r.unit} | "
            f"{r.theirs * scale:.2f} {r.unit} | {r.ratio:.2f} | {cpu} | {target} | {met}{(' ' + r.note) if r.note else ''} |"
        )
    return head + "\n".join(lines)
