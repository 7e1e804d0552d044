"""Smoke test of the benchmarks: ``benchmarks/run.py --quick`` runs every ``bench_*.py`` on
small inputs (each checks first that losskit and its peer compute the same numbers) and prints
one table. Nothing here asserts a time; it keeps the benchmarks from rotting unseen."""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quick_benchmark_run_prints_a_row_per_family():
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    pytest.importorskip("pytorch_metric_learning")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    assert [c.strip() for c in header[:3]] == ["family", "loss", "case"]
    families = {r[0].strip() for r in body}
    modules = {p.stem[len("bench_"):] for p in (ROOT / "benchmarks").glob("bench_*.py")}
    # every module contributes rows (bench_linear_cross_entropy's family is "torch")
    assert families == (modules - {"linear_cross_entropy"}) | {"torch"}
    for r in body:
        (ours, unit), (theirs, unit2) = (c.split() for c in r[4:6])
        assert unit == unit2 and unit in ("ms", "MiB"), r
        ours, theirs = float(ours), float(theirs)
        if unit == "ms" and r[3].strip().startswith("(none"):  # timed alone: no peer runs it
            assert ours > 0, r
        elif unit == "ms":  # every timed step takes time
            assert ours > 0 and theirs > 0 and math.isfinite(float(r[6])), r
        else:  # a peak-memory delta may round to 0 MiB at the quick sizes
            assert ours >= 0 and theirs >= 0, r
