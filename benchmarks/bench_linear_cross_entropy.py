"""Large-vocabulary cross-entropy: losskit.torch.linear_cross_entropy vs plain and torch's own.

Contenders, all computing ``cross_entropy(hidden @ weight.T, target)`` (mean) and its
gradients w.r.t. ``hidden`` and ``weight``, float32, CPU:

* ``plain``: ``F.cross_entropy(hidden @ weight.T, target)`` then ``backward()``;
* ``torch``: ``F.linear_cross_entropy(hidden, weight, target)`` as called by default
  (``options=None``: torch's reference path, i.e. ``linear`` + ``cross_entropy``: the
  same operations as ``plain``);
* ``torch-chunked``: ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``,
  torch's memory-lean chunked path with its default options (the "auto" policy). Both
  torch contenders are skipped when the installed torch lacks them;
* ``losskit``: ``losskit.torch.linear_cross_entropy(hidden, weight, target)`` with its
  default (memory-budget) chunk size.

Time: forward + backward, median of interleaved repeats in one process (``_harness.interleaved``).

Targets (issue 16, full sizes only): time <= 0.8x torch's chunked ``F.linear_cross_entropy``
(``LinearCrossEntropyOptions()``) and <= 1.0x plain's; peak memory <= 1.0x torch-chunked's
and <= 0.15x plain's. (With ``options=None`` torch runs the very operations of ``plain``,
so that row is shown without a target.)

A second, non-quick case at a real LLM head (``LLM``: 4,096 tokens, hidden 2,048,
vocabulary 128,256, the Llama 3 vocabulary) reports peak memory only (plain, torch-chunked,
losskit): one step there is ~10^12 multiply-adds per matmul, so its timing is left out
and its warm-up step runs on a few tokens (``LLM_WARMUP_TOKENS``) of the same head.

Where losskit's memory went, and what was cut (issue 16; full sizes, float32, peak RSS
delta as below): the (8192, 512) and (32768, 512) gradients that every contender returns
are 80 MiB. The earlier default chunk (a 256 MiB (2048, V) buffer) added 256 MiB to the
forward pass (326 MiB measured against torch-chunked's 184 MiB); the backward's out-of-place
``grad * grad_output`` held the stored gradients twice (160 MiB). Now the buffer budget is
64 MiB (512 tokens at V = 32768) and a backward that is the graph's last scales the stored
gradients in place and hands them over (``retain_graph=True`` keeps the out-of-place
copy). One full run (December 2026, 2 cores shared with other jobs, load ~8, so the times
are loose; memory is deterministic): peak 146 MiB against torch-chunked's 168 MiB (0.87x)
and plain's 3,072 MiB (0.05x); time 26.6 s against torch-chunked's 39.0 s (0.68x) and
plain's 31.3 s (0.85x). At the LLM head: losskit 1,107 MiB (the 1,002 MiB (V, H) weight
gradient, the 32 MiB (T, H) one, one 64 MiB buffer), torch-chunked 2,078 MiB, plain
6,017 MiB. The saved log-sum-exp is (T,) and only kept for ``reduction="none"``.

Chunk size and time (the same session, heavily loaded 2-core machine, so loose): the
matmuls per chunk get smaller with the chunk, and the (V, H) weight gradient is read and
written once per chunk; at 512 tokens the step was still bound by the three matmul-sized
products. Earlier measurements (November 2026, 1 thread) of the 2048-token chunk:
one ``(8192 x 512) @ (512 x 32768)`` matmul took 2.87 s; losskit's step 7.68 s (2.67
matmul units: the logits, dL/dhidden and dL/dweight) and ``torch-chunked`` 12.64 s (4.40
units: it recomputes the logits in the backward), a ratio of 0.61. The gradients need at
least those three products, so at equal matmul efficiency the bound is about 3/4 = 0.75.
Skipping near-zero softmax entries ("gradient filtering") does not apply: at these sizes
the softmax is near-uniform.

Peak memory, measured the same way for every contender: each runs in a *fresh* Python
subprocess that builds the inputs, does one warm-up forward + backward, drops the
gradients, then resets the kernel's resident-set high-water mark (``echo 5 >
/proc/self/clear_refs``), runs one forward + backward and reports ``VmHWM - VmRSS`` before
the run: the extra resident memory at the peak of that step (the gradients it creates
included, the inputs excluded). This counts what the process really touched, whatever
allocator made it (torch has no CPU peak-allocation counter); a fresh process per
contender keeps one contender's freed-but-cached memory from hiding another's. Where
``clear_refs`` is not writable the high-water mark cannot be reset and the row says so.

    python benchmarks/run.py --only linear_cross_entropy [--quick]
    python benchmarks/bench_linear_cross_entropy.py [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import Row, interleaved  # noqa: E402

FULL = dict(tokens=8192, hidden=512, vocab=32768)
QUICK = dict(tokens=2048, hidden=128, vocab=8192)
LLM = dict(tokens=4096, hidden=2048, vocab=128256)
LLM_WARMUP_TOKENS = 16
PEAK_CONTENDERS = ("plain", "torch-chunked", "losskit")  # the LLM case's rows
CONTENDERS = ("plain", "torch", "torch-chunked", "losskit")


def _inputs(tokens, hidden, vocab, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    h = torch.randn(tokens, hidden, generator=g).requires_grad_(True)
    w = (torch.randn(vocab, hidden, generator=g) / hidden**0.5).requires_grad_(True)
    t = torch.randint(0, vocab, (tokens,), generator=g)
    return h, w, t


def _step_fn(name, h, w, t):
    import torch
    import torch.nn.functional as F

    if name == "plain":
        def loss():
            return F.cross_entropy(h @ w.T, t)
    elif name == "torch":
        if not hasattr(F, "linear_cross_entropy"):
            return None
        def loss():
            return F.linear_cross_entropy(h, w, t)
    elif name == "torch-chunked":
        options_cls = getattr(torch.nn, "LinearCrossEntropyOptions", None)
        if not hasattr(F, "linear_cross_entropy") or options_cls is None:
            return None

        def loss():
            return F.linear_cross_entropy(h, w, t, options=options_cls())
    else:
        from losskit.torch import linear_cross_entropy

        def loss():
            return linear_cross_entropy(h, w, t)

    def step():
        h.grad = None
        w.grad = None
        value = loss()
        value.backward()
        return value

    return step


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _measure_peak(name, sizes, warmup_tokens=None) -> dict:
    """In this (fresh) process: peak extra resident memory of one fwd+bwd, in bytes.
    ``warmup_tokens``: warm up on that many tokens of the same head (large cases)."""
    import gc

    h, w, t = _inputs(**sizes)
    step = _step_fn(name, h, w, t)
    if step is None:
        return {"name": name, "peak": None, "note": "missing in this torch"}
    if warmup_tokens is None:
        step()  # warm-up: thread pools, one-time allocations
    else:
        hs = h.detach()[:warmup_tokens].clone().requires_grad_(True)
        _step_fn(name, hs, w, t[:warmup_tokens])()
        del hs
    h.grad = None
    w.grad = None
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current VmRSS
        reset = True
    except OSError:
        reset = False
    before = _status_kib("VmRSS")
    step()
    peak = _status_kib("VmHWM")
    return {"name": name, "peak": (peak - before) * 1024, "reset": reset}


def _peak_in_subprocess(name, sizes, warmup_tokens=None) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, %r); import bench_linear_cross_entropy as b; "
        "print(json.dumps(b._measure_peak(%r, %r, %r)))" % (HERE, name, sizes, warmup_tokens)
    )
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"name": name, "peak": None, "note": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Row]:
    import torch

    sizes = QUICK if quick else FULL
    h, w, t = _inputs(**sizes)
    steps = {n: _step_fn(n, h, w, t) for n in CONTENDERS}
    steps = {n: s for n, s in steps.items() if s is not None}

    # Same numbers first (a benchmark of different results is meaningless).
    ref = steps["plain"]()
    ref_gh, ref_gw = h.grad.clone(), w.grad.clone()
    ours = steps["losskit"]()
    dv = abs(ours.item() - ref.item())
    dgh = (h.grad - ref_gh).abs().max().item()
    dgw = (w.grad - ref_gw).abs().max().item()
    check = f"max|diff| value {dv:.1e}, grad_hidden {dgh:.1e}, grad_weight {dgw:.1e}"
    print(f"linear_cross_entropy {sizes}: {check}", file=sys.stderr)

    repeat, warmup = (5, 1) if quick else (3, 1)
    times = interleaved(steps, repeat=repeat, warmup=warmup)
    del h, w, t, steps
    peaks = {n: _peak_in_subprocess(n, sizes) for n in CONTENDERS}

    case = f"T={sizes['tokens']} H={sizes['hidden']} V={sizes['vocab']} f32 fwd+bwd"
    # The targets are for the full sizes; a quick run is a smoke test (one chunk).
    def target(value):
        return None if quick else value

    rows = [
        Row("torch", "linear_cross_entropy", case, "matmul + F.cross_entropy",
            times["losskit"], times["plain"], target=target(1.0), note=check),
    ]
    if "torch" in times:
        rows.append(Row("torch", "linear_cross_entropy", case,
                        f"F.linear_cross_entropy (torch {torch.__version__}, options=None: linear + cross_entropy)",
                        times["losskit"], times["torch"], target=None))
    if "torch-chunked" in times:
        rows.append(Row("torch", "linear_cross_entropy", case,
                        f"F.linear_cross_entropy (torch {torch.__version__}, LinearCrossEntropyOptions() defaults)",
                        times["losskit"], times["torch-chunked"], target=target(0.8)))
    rows += _peak_rows(peaks, case, (("plain", target(0.15)), ("torch", None), ("torch-chunked", target(1.0))))
    if not quick:
        # the real LLM head: peak memory only (see the module docstring)
        llm = {n: _peak_in_subprocess(n, LLM, LLM_WARMUP_TOKENS) for n in PEAK_CONTENDERS}
        llm_case = f"T={LLM['tokens']} H={LLM['hidden']} V={LLM['vocab']} f32 fwd+bwd"
        rows += _peak_rows(llm, llm_case, (("plain", None), ("torch-chunked", None)))
    return rows


_LABELS = {
    "plain": "matmul + F.cross_entropy",
    "torch": "F.linear_cross_entropy (options=None)",
    "torch-chunked": "F.linear_cross_entropy (LinearCrossEntropyOptions())",
}


def _peak_rows(peaks, case, peers) -> list[Row]:
    mib = 2.0**20
    rows = []
    for peer, goal in peers:
        a, b = peaks["losskit"].get("peak"), peaks[peer].get("peak")
        if a is None or b is None:
            continue
        note = "peak RSS delta, fresh process each"
        if not (peaks["losskit"].get("reset") and peaks[peer].get("reset")):
            note += " (VmHWM could not be reset: upper bound)"
        rows.append(Row("torch", "linear_cross_entropy", case + " peak memory", _LABELS[peer],
                        a / mib, b / mib, target=goal, unit="MiB", note=note))
    return rows


if __name__ == "__main__":
    from _harness import format_table

    print(format_table(run(quick="--quick" in sys.argv)))
