"""`losskit demo --quick` end to end: the report (valid, self-contained HTML whose images
are decodable PNGs) and the numbers the issue promises, read from summary.json."""

import base64
import html.parser
import importlib.util
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from losskit.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The in-process run (losskit.cli.main), shared by the tests of this module."""
    out = tmp_path_factory.mktemp("demo")
    rc = main(["demo", "--quick", "--seed", "0", "--out", str(out), "--no-progress"])
    assert rc == 0
    with open(out / "summary.json", encoding="utf-8") as f:
        return out, json.load(f)


class _Checker(html.parser.HTMLParser):
    """Balanced tags, and every resource reference collected."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.images, self.refs, self.tags = [], [], [], [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            if key in attrs and tag != "img":
                self.refs.append(attrs[key])
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"unexpected </{tag}> at {self.getpos()}, open: {self.stack[-1:] or None}")
            return
        self.stack.pop()


def test_report_is_valid_self_contained_html(quick_run):
    out, summary = quick_run
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    assert {"html", "head", "body", "title", "h1", "h2", "table", "img"} <= checker.tags
    assert "script" not in checker.tags and "link" not in checker.tags and "iframe" not in checker.tags
    # Internal anchors only; no http(s) resources anywhere.
    assert all(ref.startswith("#") for ref in checker.refs), checker.refs
    assert "http://" not in text and "https://" not in text
    # One heading per section, 1 to 6, in order.
    positions = [text.index(f"<h2 id='s{i}'>{i}.") for i in range(1, 7)]
    assert positions == sorted(positions)
    # The four figures, each embedded once.
    assert len(checker.images) == len(summary["images"]) == 4


def test_every_image_is_an_embedded_decodable_png(quick_run):
    import matplotlib.image

    out, _ = quick_run
    checker = _Checker()
    checker.feed((out / "report.html").read_text(encoding="utf-8"))
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw.startswith(PNG_SIGNATURE)
        img = matplotlib.image.imread(io.BytesIO(raw), format="png")
        assert img.ndim == 3 and min(img.shape[:2]) > 200
        assert float(img[..., :3].std()) > 0.01  # something is drawn
        if importlib.util.find_spec("PIL") is not None:
            from PIL import Image

            Image.open(io.BytesIO(raw)).verify()


def test_pngs_written_next_to_the_report(quick_run):
    out, summary = quick_run
    embedded = set()
    checker = _Checker()
    checker.feed((out / "report.html").read_text(encoding="utf-8"))
    for src in checker.images:
        embedded.add(base64.b64decode(src.split(",", 1)[1]))
    for name in summary["images"].values():
        raw = (out / name).read_bytes()
        assert raw.startswith(PNG_SIGNATURE)
        assert raw in embedded  # the report embeds exactly the files written


def test_accuracy_is_a_staircase_and_the_loss_a_slope(quick_run):
    st = quick_run[1]["staircase"]
    assert st["accuracy_zero_derivative_share"] > 0.9
    assert st["loss_zero_derivative_share"] < 0.1
    # The article's point in numbers: a nudge of h leaves accuracy as it was, moves the loss.
    assert st["nudged_accuracy"] == st["start_accuracy"]
    assert st["nudged_loss"] != st["start_loss"]
    # Accuracy on 100 digits is a multiple of 1/100 and took more than one value.
    assert st["batch_size"] == 100
    assert st["accuracy_levels"] > 1
    assert abs(st["start_accuracy"] * 100 - round(st["start_accuracy"] * 100)) < 1e-9


def test_gradient_check_agrees(quick_run):
    gc = quick_run[1]["gradient_check"]
    assert gc["dtype"] == "float64"
    rows = gc["rows"]
    assert {(r["head"], r["parameter"]) for r in rows} == {
        (h, p) for h in ("cross_entropy", "squared_error") for p in ("W1", "b1", "W2", "b2")
    }
    for r in rows:
        assert r["max_abs_diff"] < 1e-6, r
        assert r["max_abs_grad"] > 1e-4, r  # a non-trivial gradient was compared
    assert gc["max_abs_diff"] < 1e-6


def test_quick_training_reaches_the_promised_accuracy(quick_run):
    tr = quick_run[1]["training"]
    assert tr["data"] == {"train": 1437, "test": 360, "features": 64, "classes": 10}
    ce, se = tr["cross_entropy"], tr["squared_error"]
    assert ce["final_test_accuracy"] > 0.85
    assert se["final_test_accuracy"] > 0.5  # learns, if more slowly
    for h in (ce, se):
        n = quick_run[1]["settings"]["epochs"] + 1  # epoch 0 is the untrained network
        assert h["epochs"] == list(range(n))
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert len(h[key]) == n and all(np.isfinite(h[key]))
        assert h["train_loss"][-1] < h["train_loss"][0]
        assert h["test_accuracy"][0] < 0.3  # untrained: about chance (0.1)


def test_worked_examples_are_the_articles(quick_run):
    ex = quick_run[1]["worked_examples"]
    right, wrong = ex["examples"]
    # Article: 1/2 ((0.1)^2 + (0.05)^2 + (0.6 - 1)^2 + (0.05)^2 + (0.1)^2 + (0.1)^2) = 0.0975.
    assert right["textbook_squared_error"] == pytest.approx(0.0975, abs=1e-12)
    assert wrong["textbook_squared_error"] == pytest.approx(0.5975, abs=1e-12)
    # Mean over 10 outputs instead of a half sum.
    assert right["mse_loss"] == pytest.approx(0.0975 * 2 / 10, abs=1e-12)
    assert round(right["textbook_cross_entropy"], 2) == 0.51 and round(wrong["textbook_cross_entropy"], 2) == 2.30
    assert right["textbook_cross_entropy"] == pytest.approx(-np.log(0.6 + 1e-7), rel=1e-12)
    assert right["cross_entropy"] == pytest.approx(-np.log(0.6), rel=1e-12)
    assert wrong["cross_entropy"] == pytest.approx(-np.log(0.1), rel=1e-12)
    bad, perfect = ex["extremes"]
    assert bad["textbook_cross_entropy"] == pytest.approx(-np.log(1e-7), rel=1e-6)  # capped by delta
    assert bad["cross_entropy"] == pytest.approx(40 + np.log(9 + np.exp(-40.0)), rel=1e-12)
    assert perfect["textbook_cross_entropy"] == pytest.approx(-np.log1p(1e-7), rel=1e-6)
    assert perfect["textbook_cross_entropy"] < 0 and perfect["cross_entropy"] == 0.0
    assert "half sum" in ex["why"] and "log-sum-exp" in ex["why"]


def test_learning_rate_study(quick_run):
    lin = quick_run[1]["linear_regression"]
    small, right, large = lin["runs"]
    assert (small["label"], right["label"], large["label"]) == ("too small", "right", "too large")
    assert small["lr"] < right["lr"] < lin["divergence_threshold_lr"] < large["lr"]
    assert large["diverged"] and not right["diverged"] and not small["diverged"]
    assert large["final_loss"] > 100 * large["initial_loss"]
    # Independent least squares on the same seeded data (np.polyfit).
    from losskit.experiments import linear_regression

    x, y = linear_regression.make_data(quick_run[1]["seed"])
    w, b = np.polyfit(x, y, 1)
    assert lin["optimum"]["w"] == pytest.approx(w) and lin["optimum"]["b"] == pytest.approx(b)
    assert right["final_w"] == pytest.approx(w, abs=0.1) and right["final_b"] == pytest.approx(b, abs=0.2)
    assert abs(small["final_w"] - w) > abs(right["final_w"] - w)


def test_gallery_covers_the_registry(quick_run):
    import losskit

    gal = quick_run[1]["gallery"]
    expected = {
        i.name for i in losskit.registry.infos()
        if i.family in ("regression", "classification") and i.differentiable and i.plot in ("residual", "margin")
    }
    drawn = set(gal["losses"]) | {s["name"] for s in gal["skipped"]}
    assert drawn == expected
    assert {"mse_loss", "huber_loss"} <= set(gal["losses"])


# Makes torch and jax look uninstalled: importing them raises ModuleNotFoundError and
# importlib.util.find_spec reports None, as in an environment with only the `demo` extra.
# (Putting None into sys.modules instead would break scipy's import-time array-API probes.)
_BLOCK_FRAMEWORKS = """
import importlib.abc, importlib.util, sys

def _blocked(name):
    return name.split(".")[0] in ("torch", "jax", "jaxlib")

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if _blocked(name):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Block())
_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, package=None: None if _blocked(name) else _find_spec(name, package)
"""


def test_subprocess_run_is_reproducible_and_needs_no_torch_or_jax(quick_run, tmp_path):
    """`python -m losskit demo --quick` as a user of the README's first command runs it: only
    the `demo` extra, no torch, no jax (a sitecustomize makes them look uninstalled).
    Same seed, same numbers as the in-process run."""
    out = tmp_path / "again"
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(_BLOCK_FRAMEWORKS)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(block)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "demo", "--quick", "--seed", "0", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "report.html" in proc.stdout and "gradient check" in proc.stdout
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    first = quick_run[1]
    for key in ("staircase", "gradient_check", "worked_examples", "linear_regression"):
        assert again[key] == first[key], key
    for head in ("cross_entropy", "squared_error"):
        for key in ("train_loss", "test_loss", "test_accuracy"):
            assert again["training"][head][key] == first["training"][head][key]
    for key, name in first["images"].items():  # byte-identical figures
        if key != "gallery":  # the gallery's derivative source differs (see below)
            assert (out / name).read_bytes() == (quick_run[0] / name).read_bytes()
    # Without an autodiff framework, losses with no hand-derived gradient are still drawn,
    # with central-difference derivatives.
    assert again["gallery"]["losses"] == first["gallery"]["losses"]
    assert "numerical derivative" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_autograd_backends_train_like_numpy(backend):
    """--backend torch|jax trains through the same losskit losses with autograd: same start,
    same batches, so the curves agree with NumPy's analytic gradients to float32 rounding."""
    pytest.importorskip(backend)
    from losskit.experiments import training

    full = training.load_digits(0)
    # A slice of the training set keeps this fast; the test set is the real one.
    data = training.Digits(full.x_train[:320], full.y_train[:320], full.x_test, full.y_test)
    for head in ("cross_entropy", "squared_error"):
        ref = training.train(data, head, epochs=2, seed=3, backend="numpy")
        got = training.train(data, head, epochs=2, seed=3, backend=backend)
        assert got.backend == backend
        assert ref.train_loss[-1] < ref.train_loss[0]  # it did train
        np.testing.assert_allclose(got.train_loss, ref.train_loss, rtol=2e-4)
        np.testing.assert_allclose(got.test_loss, ref.test_loss, rtol=2e-4)
        assert np.max(np.abs(np.subtract(got.test_accuracy, ref.test_accuracy))) <= 2 / 360


def test_network_heads_share_one_definition_and_reject_unknown_heads():
    """NumPy loss() and the autograd backend_loss() are one head definition: same values,
    and an unknown head raises on both (backend_loss used to fall back to squared error)."""
    from losskit import _xp
    from losskit.experiments import network

    rng = np.random.default_rng(0)
    params = network.init_params(5, 4, 3, rng)
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)
    ns = _xp.namespace(x)
    for head in network.HEADS:
        assert network.loss(params, x, y, head) == pytest.approx(float(network.backend_loss(params, x, y, head, ns)))
        value, _ = network.loss_and_grads(params, x, y, head)
        assert value == pytest.approx(network.loss(params, x, y, head), rel=1e-12)
    for fn in (lambda: network.loss(params, x, y, "hinge"), lambda: network.backend_loss(params, x, y, "hinge", ns)):
        with pytest.raises(ValueError, match="head: expected one of cross_entropy, squared_error, got 'hinge'"):
            fn()


def test_backend_option_reaches_training(tmp_path, monkeypatch):
    """The CLI passes --backend to step 4 (the run itself is stubbed: its cost is above)."""
    from losskit.experiments import demo

    seen = {}

    def fake_run(out, **kwargs):
        seen.update(kwargs)
        raise ValueError("stop here")

    monkeypatch.setattr(demo, "run", fake_run)
    assert main(["demo", "--backend", "torch", "--quick", "--out", str(tmp_path)]) == 2
    assert seen["backend"] == "torch" and seen["quick"] is True


def test_missing_demo_extra_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    assert main(["demo", "--quick", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scikit-learn" in err and "losskit[demo]" in err
    assert not (tmp_path / "x").exists()


def test_bad_backend_is_rejected(capsys):
    with pytest.raises(SystemExit) as exc:  # argparse's choices, one line (losskit.cli._Parser)
        main(["demo", "--backend", "cupy"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cupy" in err


def test_cli_import_stays_light():
    code = (
        "import sys, losskit.cli; losskit.cli.build_parser(); "
        "import losskit.experiments.demo, losskit.experiments.curves; "
        "bad = [m for m in ('torch', 'jax', 'matplotlib', 'sklearn', 'tqdm') if m in sys.modules]; "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_pictures_are_committed_and_small():
    """docs/images holds two pictures from a default run (README); each under 200 KB."""
    import pathlib

    folder = pathlib.Path(__file__).resolve().parents[1] / "docs" / "images"
    for name in ("demo_accuracy_vs_loss.png", "demo_training_curves.png"):
        raw = (folder / name).read_bytes()
        assert raw.startswith(PNG_SIGNATURE) and len(raw) < 200_000, name


def test_default_settings_reach_095_with_cross_entropy():
    """The default run's promise (test accuracy >= 0.95 with cross-entropy), checked on its
    training step alone with the default settings (the full default run is ~10x the quick one)."""
    from losskit.experiments import demo, training

    cfg = demo.SETTINGS["default"]
    hist = training.train(training.load_digits(0), "cross_entropy", epochs=cfg["epochs"], hidden=cfg["hidden"],
                          lr=cfg["lr"], batch_size=cfg["batch_size"], seed=0)
    assert hist.final_test_accuracy >= 0.95


def test_out_that_is_a_file_is_one_line_exit_2(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert main(["demo", "--quick", "--out", str(target), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err
