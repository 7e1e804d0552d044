"""What ``import losskit`` costs, against ``import numpy``, each in a fresh interpreter.

Rows (median wall clock of ``REPEAT`` fresh processes per statement, run round-robin so
that machine noise hits every statement alike; bytecode caches written by a warm-up run,
as an installed package has them):

* ``import losskit``: the package alone. Its public names load from their modules on first
  use (``losskit/__init__.py``), so this loads neither a family nor NumPy. Issue 13's bound
  is absolute: under 150 ms.
* ``first loss``: ``import losskit; losskit.mse_loss``: the bottom layer and the regression
  family (array-API code: it needs no NumPy until it is called on NumPy arrays), what a
  script that uses one loss pays on top of its array library.
* ``every family``: ``import losskit; losskit.names()``: the registry imports every family
  (what ``losskit list`` pays before it prints).

The peer is ``import numpy`` alone, measured the same way; losskit's own share of a row is
its time minus that. Run with ``python benchmarks/run.py --only import``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from _harness import Row

REPEAT = 21
STATEMENTS = {
    "numpy": "import numpy",
    "import losskit": "import losskit",
    "first loss": "import losskit; losskit.mse_loss",
    "every family": "import losskit; losskit.names()",
}


def _time_in_fresh_process(statement: str, env: dict[str, str]) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


def run(quick: bool) -> list[Row]:
    env = dict(os.environ)
    # A shell with PYTHONDONTWRITEBYTECODE recompiles every module on every import, which
    # is not what an installed package costs.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    repeat = 5 if quick else REPEAT
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    for statement in STATEMENTS.values():  # writes the bytecode caches
        _time_in_fresh_process(statement, env)
    for _ in range(repeat):
        for case, statement in STATEMENTS.items():
            times[case].append(_time_in_fresh_process(statement, env))
    numpy = statistics.median(times["numpy"])
    return [
        Row("import", "losskit", case, "import numpy", statistics.median(times[case]), numpy,
            note="issue 13: under 150 ms" if case == "import losskit" else "")
        for case in STATEMENTS if case != "numpy"
    ]
