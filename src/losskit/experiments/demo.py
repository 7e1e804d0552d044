"""``losskit demo``: why we train on a loss and not on accuracy, run for real.

:func:`run` executes the six studies, writes their PNGs, a self-contained ``report.html``
(images embedded as data URIs) and a machine-readable ``summary.json`` into ``out``, and
returns the summary. Everything is seeded: the same seed gives the same numbers.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

import numpy as np

import losskit

from . import gallery, gradcheck, linear_regression, staircase, training, worked_examples
from . import report as _report
from ._figures import require

# Settings of the default and the --quick run.
SETTINGS = {
    "default": {"epochs": 30, "hidden": 64, "lr": 1.0, "batch_size": 32, "sweep_points": 601,
                "gradcheck_hidden": 64, "gradcheck_samples": 10, "lr_iterations": 40},
    "quick": {"epochs": 6, "hidden": 64, "lr": 1.0, "batch_size": 32, "sweep_points": 201,
              "gradcheck_hidden": 16, "gradcheck_samples": 5, "lr_iterations": 40},
}

IMAGES = {
    "staircase": "accuracy_vs_loss.png",
    "training": "training_curves.png",
    "learning_rate": "learning_rate.png",
    "gallery": "loss_gallery.png",
}


def _progress_factory(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    def make(total, desc):
        return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)  # tqdm writes to stderr

    return make


def run(out, *, quick: bool = False, seed: int = 0, backend: str = "numpy", progress: bool = True) -> dict:
    """Run the demo into folder ``out``; return the summary (also written to summary.json)."""
    require("matplotlib", "sklearn", "tqdm", extra="demo")
    if backend not in training.BACKENDS:
        raise ValueError(f"--backend: expected one of {', '.join(training.BACKENDS)}, got {backend!r}")
    if backend != "numpy":
        require(backend, extra=backend)
    cfg = SETTINGS["quick" if quick else "default"]
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bar = _progress_factory(progress)
    t_start = time.perf_counter()
    timings = {}

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        result = fn(*a, **k)
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    # 1. The worked examples.
    examples = timed("worked_examples", worked_examples.run)

    data = timed("load_digits", training.load_digits, seed)

    # 2. Accuracy staircase vs loss slope.
    stair = timed("staircase", staircase.run, data, hidden=cfg["hidden"], seed=seed,
                  points=cfg["sweep_points"], progress=bar)
    staircase.plot(stair, out / IMAGES["staircase"])

    # 3. Numerical vs analytic gradients.
    grad_rows = timed("gradient_check", gradcheck.run, data, hidden=cfg["gradcheck_hidden"],
                      samples=cfg["gradcheck_samples"], seed=seed, progress=bar)

    # 4. Training with cross-entropy and with squared error on the softmax outputs.
    histories = {}
    for head in ("cross_entropy", "squared_error"):
        histories[head] = timed(
            f"train_{head}", training.train, data, head, epochs=cfg["epochs"], hidden=cfg["hidden"],
            lr=cfg["lr"], batch_size=cfg["batch_size"], seed=seed, backend=backend, progress=bar,
        )
    _plot_training(histories, out / IMAGES["training"])

    # 5. Learning rates on linear regression.
    lin = timed("linear_regression", linear_regression.run, seed=seed, iterations=cfg["lr_iterations"])
    linear_regression.plot(lin, out / IMAGES["learning_rate"])

    # 6. The gallery.
    curves, skipped = timed("gallery", gallery.run, progress=bar)
    gallery.plot(curves, out / IMAGES["gallery"])

    summary = {
        "losskit_version": losskit.__version__,
        "seed": seed,
        "quick": quick,
        "backend": backend,
        "settings": cfg,
        "worked_examples": examples,
        "staircase": stair.summary(),
        "gradient_check": {
            "rows": grad_rows,
            "max_abs_diff": max(r["max_abs_diff"] for r in grad_rows),
            "mean_abs_diff": float(np.mean([r["mean_abs_diff"] for r in grad_rows])),
            "dtype": "float64",
            "h": 1e-4,
        },
        "training": {
            "data": {"train": int(data.x_train.shape[0]), "test": int(data.x_test.shape[0]),
                     "features": data.n_features, "classes": 10},
            **{head: h.as_dict() for head, h in histories.items()},
        },
        "linear_regression": lin.summary(),
        "gallery": {
            "losses": [c.name for c in curves],
            "notes": {c.name: c.note for c in curves if c.note},
            "skipped": [{"name": n, "why": w} for n, w in skipped],
        },
        "images": dict(IMAGES),
        "timings_s": timings,
        "python": platform.python_version(),
    }
    summary["total_s"] = round(time.perf_counter() - t_start, 3)
    html = _report.build(summary, out)
    (out / "report.html").write_text(html, encoding="utf-8")
    with open(out / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, default=_json_default)
        f.write("\n")
    return summary


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _plot_training(histories: dict, path) -> None:
    from ._figures import new_figure, save

    fig = new_figure(figsize=(11, 4.4))
    ax1, ax2 = fig.subplots(1, 2)
    colors = {"cross_entropy": "tab:blue", "squared_error": "tab:orange"}
    names = {"cross_entropy": "cross-entropy", "squared_error": "squared error on softmax"}
    for head, h in histories.items():
        c = colors[head]
        ax1.plot(h.epochs, h.train_loss, color=c, label=f"{names[head]}: train")
        ax1.plot(h.epochs, h.test_loss, color=c, ls="--", label=f"{names[head]}: test")
        ax2.plot(h.epochs, h.train_accuracy, color=c, label=f"{names[head]}: train")
        ax2.plot(h.epochs, h.test_accuracy, color=c, ls="--",
                 label=f"{names[head]}: test (final {h.final_test_accuracy:.3f})")
    backend = next(iter(histories.values())).backend
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss being minimised (log scale)")
    ax1.set_title(f"Digits, two-layer network, SGD ({backend})")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.set_title("Accuracy (what we want, not what we train on)")
    ax2.legend(fontsize=8, loc="lower right")
    ax2.grid(alpha=0.3)
    save(fig, path)


def terminal_summary(summary: dict, out) -> str:
    """A few lines for the terminal."""
    ex = summary["worked_examples"]["examples"]
    st = summary["staircase"]
    gc = summary["gradient_check"]
    tr = summary["training"]
    lin = summary["linear_regression"]
    lines = [
        f"losskit demo (seed {summary['seed']}, {'quick' if summary['quick'] else 'default'} run, "
        f"backend {summary['backend']}, {summary['total_s']:.1f} s)",
        "1. worked examples: squared error textbook {:.4f} / {:.4f}, mse_loss {:.4f} / {:.4f}; "
        "cross-entropy textbook {:.2f} / {:.2f}, cross_entropy {:.2f} / {:.2f}".format(
            ex[0]["textbook_squared_error"], ex[1]["textbook_squared_error"], ex[0]["mse_loss"], ex[1]["mse_loss"],
            ex[0]["textbook_cross_entropy"], ex[1]["textbook_cross_entropy"], ex[0]["cross_entropy"],
            ex[1]["cross_entropy"]),
        "2. sweeping {} over {} points: the numerical derivative is exactly zero at {:.1%} of points "
        "for accuracy, {:.1%} for the loss (accuracy {:.0%} -> {:.0%}, loss {:.7f} -> {:.7f} after a "
        "1e-4 nudge)".format(st["weight"], st["points"], st["accuracy_zero_derivative_share"],
                             st["loss_zero_derivative_share"], st["start_accuracy"], st["nudged_accuracy"],
                             st["start_loss"], st["nudged_loss"]),
        "3. gradient check (float64, h = 1e-4): max |numerical - backprop| = {:.2e}, mean {:.2e}".format(
            gc["max_abs_diff"], gc["mean_abs_diff"]),
        "4. digits ({} train / {} test, {} epochs): final test accuracy {:.3f} with cross-entropy, "
        "{:.3f} with squared error on softmax".format(
            tr["data"]["train"], tr["data"]["test"], summary["settings"]["epochs"],
            tr["cross_entropy"]["final_test_accuracy"], tr["squared_error"]["final_test_accuracy"]),
        "5. linear regression: " + "; ".join(
            "lr {:.3g} ({}) -> loss {:.3g}{}".format(r["lr"], r["label"], r["final_loss"],
                                                     " (diverged)" if r["diverged"] else "")
            for r in lin["runs"]) + f"; minimum {lin['optimum']['loss']:.3g}",
        f"6. gallery: {len(summary['gallery']['losses'])} loss curves",
        f"wrote {pathlib.Path(out) / 'report.html'} (open it in a browser) and the PNGs",
    ]
    return "\n".join(lines)
