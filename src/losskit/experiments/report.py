"""The demo's ``report.html``: one self-contained page (inline CSS, images as data URIs,
no scripts, no external resources), readable in any browser without a server."""

from __future__ import annotations

import html
import pathlib

from ._figures import data_uri

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1000px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; }
.key { background: #f6f8fa; border-left: 4px solid #4a7; padding: 0.5em 1em; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(header, rows, left=1) -> str:
    out = ["<table>", "<tr>" + "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>" for i, h in enumerate(header)) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="l">{_e(c)}</td>' if i < left else f"<td>{_e(c)}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _img(out: pathlib.Path, name: str, alt: str) -> str:
    return f'<p><img src="{data_uri(out / name)}" alt="{_e(alt)}"></p>'


def build(summary: dict, out) -> str:
    out = pathlib.Path(out)
    s = summary
    img = s["images"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>losskit demo: why we train on a loss and not on accuracy</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Why we train on a loss and not on accuracy</h1>",
        "<p>losskit {} &middot; seed {} &middot; {} run &middot; training backend <code>{}</code> &middot; {:.1f} s</p>".format(
            _e(s["losskit_version"]), _e(s["seed"]), "quick" if s["quick"] else "default", _e(s["backend"]),
            s["total_s"]),
        "<p>Reproduce: <code>losskit demo --seed {}{} --backend {}</code> (same seed, same numbers; "
        "the numbers are also in <code>summary.json</code>).</p>".format(
            _e(s["seed"]), " --quick" if s["quick"] else "", _e(s["backend"])),
        "<p>A network learns by following the derivative of a number that measures how wrong it is. "
        "Accuracy is the number we care about, but it cannot be that guide: nudge a weight and it does "
        "not move. A loss moves, and its gradient says which way to go. This report runs that argument "
        "on the 1,797 8&times;8 digits that ship with scikit-learn.</p>",
        "<ol><li><a href='#s1'>The worked examples</a></li><li><a href='#s2'>Accuracy is a staircase, "
        "the loss is a slope</a></li><li><a href='#s3'>Gradients: numerical vs backpropagation</a></li>"
        "<li><a href='#s4'>Training on the digits</a></li><li><a href='#s5'>Gradient descent and the "
        "learning rate</a></li><li><a href='#s6'>A gallery of losses</a></li></ol>",
    ]

    # 1
    ex = s["worked_examples"]
    parts += [
        "<h2 id='s1'>1. The worked examples</h2>",
        "<p>The article's network outputs for a digit of class 2, with the textbook definitions "
        "(<code>losskit.textbook</code>) next to the production losses "
        "(<code>losskit.mse_loss</code> on the same outputs, <code>losskit.cross_entropy</code> on "
        "logits whose softmax gives them).</p>",
        _table(
            ["output", "textbook squared error", "mse_loss", "textbook cross-entropy", "cross_entropy", "-log y[2]"],
            [[r["example"], f"{r['textbook_squared_error']:.4f}", f"{r['mse_loss']:.4f}",
              f"{r['textbook_cross_entropy']:.6f}", f"{r['cross_entropy']:.6f}", f"{r['exact_minus_log_p']:.6f}"]
             for r in ex["examples"]],
        ),
        "<p>Batch of both (mean over samples): textbook {:.6f}, cross_entropy {:.6f}.</p>".format(
            ex["batch"]["textbook_cross_entropy"], ex["batch"]["cross_entropy"]),
        _table(["extreme case", "textbook cross-entropy", "cross_entropy"],
               [[r["example"], f"{r['textbook_cross_entropy']:.6g}", f"{r['cross_entropy']:.6g}"]
                for r in ex["extremes"]]),
        f"<p class='key'>{_e(ex['why'])}</p>",
    ]

    # 2
    st = s["staircase"]
    parts += [
        "<h2 id='s2'>2. Accuracy is a staircase, the loss is a slope</h2>",
        "<p>A two-layer network (64 inputs, {} sigmoid hidden units, 10 outputs; written with "
        "<code>losskit.cross_entropy</code> and its gradient) is trained just until it recognises {:.0%} "
        "of a batch of {} training digits. One weight, <code>{}</code>, is then swept over [{:.2f}, {:.2f}] "
        "in {} steps, and accuracy and loss on the batch are differentiated numerically at every step "
        "(central difference, h = {:g}).</p>".format(
            s["settings"]["hidden"], st["start_accuracy"], st["batch_size"], _e(st["weight"]), st["range"][0],
            st["range"][1], st["points"], st["h"]),
        _img(out, img["staircase"], "accuracy and loss against one weight"),
        _table(["quantity", "accuracy", "cross-entropy loss"], [
            ["share of points where the derivative is exactly 0", f"{st['accuracy_zero_derivative_share']:.1%}",
             f"{st['loss_zero_derivative_share']:.1%}"],
            ["distinct values over the sweep", st["accuracy_levels"], st["points"]],
            ["at the start", f"{st['start_accuracy']:.2%}", f"{st['start_loss']:.8f}"],
            ["after nudging the weight by h", f"{st['nudged_accuracy']:.2%}", f"{st['nudged_loss']:.8f}"],
        ]),
        "<p class='key'>Accuracy takes {} values over the whole sweep; between its steps the derivative is "
        "exactly zero, and gradient descent would stop there. The loss changes at every point, and the sign "
        "of its derivative says which way to move the weight.</p>".format(st["accuracy_levels"]),
    ]

    # 3
    gc = s["gradient_check"]
    parts += [
        "<h2 id='s3'>3. Gradients: numerical vs backpropagation</h2>",
        "<p>For every parameter of the network, the gradient by backpropagation (from losskit's "
        "hand-derived loss gradients, <code>losskit.value_and_grad</code>) against "
        "<code>losskit.textbook.numerical_gradient</code> (central difference, h = 1e-4), in float64.</p>",
        _table(["loss", "parameter", "shape", "max |difference|", "mean |difference|", "max |gradient|"],
               [[r["head"], r["parameter"], "x".join(map(str, r["shape"])), f"{r['max_abs_diff']:.2e}",
                 f"{r['mean_abs_diff']:.2e}", f"{r['max_abs_grad']:.2e}"] for r in gc["rows"]], left=3),
        "<p class='key'>Largest difference {:.2e}: the two agree, and backpropagation costs one pass where "
        "the numerical gradient costs two forward passes per parameter.</p>".format(gc["max_abs_diff"]),
    ]

    # 4
    tr = s["training"]
    ce, se = tr["cross_entropy"], tr["squared_error"]
    how = ("losskit's analytic gradients (value_and_grad) and backpropagation" if s["backend"] == "numpy"
           else f"{s['backend']}'s autograd through the same losskit losses")
    parts += [
        "<h2 id='s4'>4. Training on the digits</h2>",
        "<p>Mini-batch SGD (batch {}, learning rate {}, {} epochs, float32) on {} training digits, tested on "
        "{} held-out ones; gradients by {}. One network minimises <code>cross_entropy</code>, the other the "
        "squared error between the softmax outputs and the one-hot labels (<code>mse_loss</code> summed over "
        "classes, mean over samples); same initial weights, same batches.</p>".format(
            s["settings"]["batch_size"], s["settings"]["lr"], s["settings"]["epochs"], tr["data"]["train"],
            tr["data"]["test"], _e(how)),
        _img(out, img["training"], "training curves"),
        _table(["loss trained on", "final train loss", "final test loss", "final train accuracy",
                "final test accuracy", "seconds"],
               [[name, f"{h['train_loss'][-1]:.4f}", f"{h['test_loss'][-1]:.4f}", f"{h['train_accuracy'][-1]:.3f}",
                 f"{h['final_test_accuracy']:.3f}", f"{h['seconds']:.1f}"]
                for name, h in (("cross-entropy", ce), ("squared error on softmax", se))]),
        "<p class='key'>Both losses are smooth, so both networks learn; cross-entropy's gradient "
        "(softmax &minus; one-hot) stays large while a digit is confidently wrong, whereas the squared error's "
        "is damped by the softmax's saturation, which is why it starts slower.</p>",
    ]

    # 5
    lin = s["linear_regression"]
    parts += [
        "<h2 id='s5'>5. Gradient descent and the learning rate</h2>",
        "<p>A line y = w x + b fitted to {} noisy points (true w = {}, b = {}) by full-batch gradient "
        "descent on <code>mse_loss</code>. The loss is a quadratic bowl whose steepest curvature is "
        "&lambda;<sub>max</sub> = {:.3f}: gradient descent converges for learning rates below "
        "2/&lambda;<sub>max</sub> = {:.3f} and diverges above.</p>".format(
            lin["data"]["n"], lin["data"]["true_w"], lin["data"]["true_b"], lin["lambda_max"],
            lin["divergence_threshold_lr"]),
        _img(out, img["learning_rate"], "learning rate study"),
        _table(["learning rate", "", "initial loss", "final loss", "final w", "final b"],
               [[f"{r['lr']:.4g}", r["label"] + (" (diverged)" if r["diverged"] else ""), f"{r['initial_loss']:.4g}",
                 f"{r['final_loss']:.4g}", f"{r['final_w']:.4g}", f"{r['final_b']:.4g}"] for r in lin["runs"]],
               left=2),
        "<p>Least-squares minimum: w = {:.4f}, b = {:.4f}, loss {:.4f}.</p>".format(
            lin["optimum"]["w"], lin["optimum"]["b"], lin["optimum"]["loss"]),
    ]

    # 6
    gal = s["gallery"]
    parts += [
        "<h2 id='s6'>6. A gallery of losses</h2>",
        "<p>Every differentiable regression loss against the residual (input &minus; target) and every "
        "differentiable binary classification loss against the margin y&middot;f(x), with its derivative, "
        "taken from the registry (<code>losskit plot NAME --grad</code> draws any of them).</p>",
        _img(out, img["gallery"], "loss gallery") if gal["losses"] else "<p>No losses registered yet.</p>",
    ]
    if gal.get("notes"):
        parts.append("<p>Notes: " + "; ".join(f"{_e(k)}: {_e(v)}" for k, v in gal["notes"].items()) + ". "
                     "Derivatives are hand-derived where the loss registers one, autograd (torch or jax) "
                     "otherwise, and a float64 central difference when neither framework is installed.</p>")
    if gal["skipped"]:
        parts.append("<p>Not drawn: " + "; ".join(f"{_e(x['name'])} ({_e(x['why'])})" for x in gal["skipped"]) + "</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
