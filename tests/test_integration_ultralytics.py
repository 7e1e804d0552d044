"""losskit.integrations.ultralytics: YOLO models trained with losskit box losses.

Every ultralytics run is a subprocess (``tests/_ultralytics_run.py``) of one epoch on a tiny
dataset generated in ``tmp_path``, offline on CPU. Its environment: ``YOLO_OFFLINE=1``,
``YOLO_CONFIG_DIR`` and every cache in ``tmp_path`` (nothing written outside it), and first on
``PYTHONPATH`` a test-only ``torchvision`` stand-in (generated below; real users install
torchvision): this environment's torchvision is a CUDA build that cannot load against the
CPU torch, while ultralytics reads torchvision's version from the package metadata at import
and calls ``torchvision.ops.nms`` in validation. The stand-in's ``nms`` is ultralytics' own
torch NMS. The main test process never sees it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("ultralytics") is None or importlib.util.find_spec("cv2") is None,
        reason="ultralytics (and opencv-python-headless) not installed",
    ),
]

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE.parent / "src"
RUNNER = HERE / "_ultralytics_run.py"

_STANDIN_INIT = '''"""Test-only stand-in for torchvision (see tests/test_integration_ultralytics.py)."""
from . import ops  # noqa: F401
__version__ = "{version}"
'''
_STANDIN_OPS = '''"""torchvision.ops.nms as ultralytics' own torch NMS (test-only stand-in)."""


def nms(boxes, scores, iou_threshold):
    from ultralytics.utils.nms import TorchNMS

    return TorchNMS.nms(boxes, scores, iou_threshold)
'''


def _torchvision_version() -> str:
    # torch 2.m pairs with torchvision 0.(m + 15): ultralytics warns about any other pair.
    import importlib.metadata

    major, minor = (int(x) for x in importlib.metadata.version("torch").split(".")[:2])
    return f"0.{minor + 15}.0" if major == 2 else "0.15.0"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The child processes' environment: stand-in first on the path, every write in tmp."""
    root = tmp_path_factory.mktemp("ultralytics")
    standin = root / "standin"
    pkg = standin / "torchvision"
    pkg.mkdir(parents=True)
    version = _torchvision_version()
    (pkg / "__init__.py").write_text(_STANDIN_INIT.format(version=version))
    (pkg / "ops.py").write_text(_STANDIN_OPS)
    meta = standin / f"torchvision-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torchvision\nVersion: {version}\n")
    home = root / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("YOLO_", "LOSSKIT_"))}
    e.update(
        PYTHONPATH=os.pathsep.join([str(standin), str(SRC)]),
        PYTHONDONTWRITEBYTECODE="1",
        YOLO_OFFLINE="1",
        YOLO_CONFIG_DIR=str(root / "config"),
        YOLO_VERBOSE="False",
        MPLCONFIGDIR=str(root / "mpl"),
        HOME=str(home),
        XDG_CACHE_HOME=str(root / "cache"),
        TORCHINDUCTOR_CACHE_DIR=str(root / "inductor"),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return {"env": e, "root": root}


def _boxes(rng, n, size):
    out = []
    for _ in range(n):
        w, h = rng.integers(size // 6, size // 2, size=2)
        x, y = rng.integers(0, size - w), rng.integers(0, size - h)
        out.append((int(x), int(y), int(w), int(h)))
    return out


def _dataset(root: pathlib.Path, *, obb: bool, n: int = 16, size: int = 96) -> pathlib.Path:
    """``n`` images of ``size`` px, 2-4 filled boxes each (two classes), YOLO labels."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        split = "train" if i < n * 3 // 4 else "val"
        img = rng.integers(0, 60, size=(size, size, 3), dtype=np.uint8)
        lines = []
        for x, y, w, h in _boxes(rng, int(rng.integers(2, 5)), size):
            cls = int(rng.integers(0, 2))
            colour = (255, 64, 64) if cls == 0 else (64, 255, 64)
            cx, cy = x + w / 2, y + h / 2
            if obb:
                angle = float(rng.uniform(0, 90))
                pts = cv2.boxPoints(((cx, cy), (float(w), float(h)), angle))
                pts = np.clip(pts, 0, size - 1)
                cv2.fillPoly(img, [pts.astype(np.int32)], colour)
                coords = " ".join(f"{v / size:.6f}" for v in pts.reshape(-1))
                lines.append(f"{cls} {coords}")
            else:
                cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
                lines.append(f"{cls} {cx / size:.6f} {cy / size:.6f} {w / size:.6f} {h / size:.6f}")
        cv2.imwrite(str(root / "images" / split / f"{i:02d}.jpg"), img)
        (root / "labels" / split / f"{i:02d}.txt").write_text("\n".join(lines) + "\n")
    data = root / "data.yaml"
    data.write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: red\n  1: green\n"
    )
    return data


@pytest.fixture(scope="module")
def data(env):
    return str(_dataset(env["root"] / "boxes", obb=False))


@pytest.fixture(scope="module")
def obb_data(env):
    return str(_dataset(env["root"] / "obb", obb=True))


def _run(env, spec: dict, name: str) -> dict:
    root = env["root"]
    spec = {"project": str(root / "runs"), "name": name, **spec}
    spec["out"] = str(root / f"{name}.json")
    path = root / f"{name}.spec.json"
    path.write_text(json.dumps(spec))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(path)],
        env=env["env"], cwd=str(root), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise AssertionError(f"ultralytics run {name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return json.loads(pathlib.Path(spec["out"]).read_text())


def _finite(run) -> bool:
    import math

    return bool(run["batch_losses"]) and all(math.isfinite(v) for b in run["batch_losses"] for v in b.values())


def _close(a, b, rtol):
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-12)


def test_ciou_equals_stock_yolov8_and_yolo26(env, data):
    # Same seed, same data: losskit's CIoU in ultralytics' box term gives ultralytics' own
    # box loss (and leaves the cls / DFL / L1 terms as they are). YOLO26's end-to-end
    # criterion has two branches, both replaced.
    runs = [
        {"model": "yolov8n.yaml", "name": "v8-stock"},
        {"model": "yolov8n.yaml", "name": "v8-ciou", "loss": "ciou"},
        {"model": "yolo26n.yaml", "name": "26-stock"},
        {"model": "yolo26n.yaml", "name": "26-ciou", "loss": "ciou"},
    ]
    out = _run(env, {"mode": "train", "data": data, "spy": ["ciou_loss"], "runs": runs}, "ciou")["runs"]
    for stock, ours, branches in ((out[0], out[1], 1), (out[2], out[3], 2)):
        assert stock["spy_calls"]["ciou_loss"] == 0
        # every training batch of every branch went through losskit (plus validation)
        assert ours["spy_calls"]["ciou_loss"] >= branches * ours["batches_per_epoch"]
        assert len(stock["batch_losses"]) == len(ours["batch_losses"]) == stock["batches_per_epoch"]
        for s, o in zip(stock["batch_losses"], ours["batch_losses"]):
            assert s.keys() == o.keys()
            for k in s:
                # float32 sums of the same terms in another order; later batches also see
                # the weights that the (equal to 1e-7) earlier losses trained
                assert _close(s[k], o[k], 1e-5), (k, s[k], o[k])
    assert "dfl_loss" in out[1]["batch_losses"][0] and "l1_loss" in out[3]["batch_losses"][0]


def test_losses_train_with_finite_losses_and_wiou_mean_moves_on_training_side_only(env, data):
    runs = [
        {"model": "yolo26n.yaml", "name": "wiou3", "loss": "wiou", "options": {"version": 3}, "val": True},
        {"model": "yolov8n.yaml", "name": "mpdiou", "loss": "mpdiou"},
        {"model": "yolov8n.yaml", "name": "inner", "loss": "inner_iou",
         "options": {"base": "wiou", "ratio": 0.8, "base_options": {"version": 3}}},
        {"model": "yolo26n.yaml", "name": "focaler", "loss": "focaler_iou", "options": {"d": 0.0, "u": 0.95}},
        {"model": "yolov8n.yaml", "name": "shape", "loss": "shape_iou", "options": {"scale": 0.5}},
        {"model": "yolo26n.yaml", "name": "nwd", "loss": "nwd", "options": {"constant": 12.8}},
    ]
    spies = ["wiou_loss", "mpdiou_loss", "inner_iou_loss", "focaler_iou_loss", "shape_iou_loss", "nwd_loss"]
    out = _run(env, {"mode": "train", "data": data, "spy": spies, "runs": runs}, "losses")["runs"]
    for run, spy in zip(out, spies):
        assert _finite(run), run["batch_losses"]
        assert run["spy_calls"][spy] >= run["batches_per_epoch"], (spy, run["spy_calls"])
    for run, branches in ((out[0], ("one2many", "one2one")), (out[2], ("main",))):
        by_event = {m["event"]: m for m in run["means"] if m["epoch"] == 0}
        start, before_val, after_val = (by_event[e] for e in ("train_start", "train_epoch_end", "fit_epoch_end"))
        n = run["batches_per_epoch"]
        for b in branches:
            assert start["train"][b] == {"wiou_mean": 1.0, "updates": 0}
            # one update per training batch; the mean left its initial 1.0 ...
            assert before_val["train"][b]["updates"] == n
            assert before_val["train"][b]["wiou_mean"] != 1.0
            # ... the EMA copy (the validator's) reads that very mean ...
            assert before_val["ema"][b] == before_val["train"][b]
            # ... and validation batches did not move it
            assert after_val["train"][b] == before_val["train"][b]
            assert after_val["ema"][b] == before_val["train"][b]


def test_resume_restores_the_wiou_mean_and_checkpoint_loads_without_losskit(env, data):
    first = {"model": "yolov8n.yaml", "name": "resume", "loss": "wiou", "options": {"version": 3},
             "epochs": 2, "interrupt_epoch": 1}
    out = _run(env, {"mode": "train", "data": data, "runs": [first]}, "resume-1")["runs"][0]
    assert out["interrupted"]
    saved = [m for m in out["means"] if m["event"] == "train_epoch_end" and m["epoch"] == 0][0]["train"]["main"]
    assert saved["updates"] == out["batches_per_epoch"] and saved["wiou_mean"] != 1.0

    # The checkpoint loads where losskit cannot be imported, and carries the mean as numbers.
    loaded = _run(env, {"mode": "load", "model": out["last"]}, "load")
    assert loaded["params"] > 0 and not loaded["losskit_imported"]
    assert loaded["criterion"] == "None"
    assert loaded["ema_state"]["loss"] == "wiou"
    assert loaded["ema_state"]["wiou_mean"]["main"]["mean"] == pytest.approx(saved["wiou_mean"], rel=1e-6)

    again = {"model": out["last"], "name": "resume", "loss": "wiou", "options": {"version": 3}, "resume": True}
    res = _run(env, {"mode": "train", "data": data, "runs": [again]}, "resume-2")["runs"][0]
    start = [m for m in res["means"] if m["event"] == "train_start"][0]["train"]["main"]
    assert start["wiou_mean"] == pytest.approx(saved["wiou_mean"], rel=1e-6)
    assert start["updates"] == saved["updates"]
    end = [m for m in res["means"] if m["event"] == "train_epoch_end"][0]["train"]["main"]
    assert end["updates"] == saved["updates"] + res["batches_per_epoch"]


def test_obb_models_train_with_rotated_losses(env, obb_data):
    runs = [
        {"model": "yolov8n-obb.yaml", "name": "obb-stock"},
        # ultralytics' own ProbIoU term is 1 - probiou(..., floor=0.01)
        {"model": "yolov8n-obb.yaml", "name": "obb-probiou", "loss": "probiou", "options": {"floor": 0.01}},
        {"model": "yolo26n-obb.yaml", "name": "obb26-kld", "loss": "kld"},
        {"model": "yolo26n-obb.yaml", "name": "obb26-gwd", "loss": "gwd"},
    ]
    spies = ["probiou_loss", "kld_loss", "gwd_loss"]
    out = _run(env, {"mode": "train", "data": obb_data, "spy": spies, "runs": runs}, "obb")["runs"]
    for run, spy in zip(out[1:], spies):
        assert run["task"] == "obb" and _finite(run)
        assert run["spy_calls"][spy] >= run["batches_per_epoch"]
    for s, o in zip(out[0]["batch_losses"], out[1]["batch_losses"]):
        for k in s:
            assert _close(s[k], o[k], 1e-4), (k, s[k], o[k])


def test_clear_errors(env):
    cases = [
        ["yolov8n.yaml", "ciou", {}, "8.2.103"],
        ["yolov8n.yaml", "ciou", {}, "9.0.0"],
        ["yolov8n.yaml", "not_a_loss", {}, None],
        ["yolov8n.yaml", "probiou", {}, None],
        ["yolov8n-obb.yaml", "ciou", {}, None],
        ["yolov8n-cls.yaml", "ciou", {}, None],
        ["yolov8n.yaml", "nwd", {}, None],
        ["yolov8n.yaml", "ciou", {"reduction": "sum"}, None],
        ["yolov8n.yaml", "ciou", {"momentum": 0.1}, None],
        ["yolov8n.yaml", "wiou", {"version": 3, "assigner": True}, None],
        ["yolov8n.yaml", "mpdiou", {"assigner": True}, None],
        ["yolov8n.yaml", "giou", {"base_options": {}}, None],
        ["yolov8n.yaml", "ciou", {"assigner": True}, None],
    ]
    expected = [
        ("RuntimeError", r"ultralytics 8\.2\.103 is not supported.*>= 8\.3"),
        ("RuntimeError", r"ultralytics 9\.0\.0 is not supported"),
        ("ValueError", r"name: expected one of .*mpdiou.*got 'not_a_loss'"),
        ("ValueError", r"'probiou' is a rotated-box loss; a detect model"),
        ("ValueError", r"an OBB model needs a rotated-box loss \(probiou"),
        ("ValueError", r"task 'classify' has no box loss"),
        ("TypeError", r"constant"),
        ("TypeError", r"reduction: set by losskit"),
        ("TypeError", r"momentum: only Wise-IoU v2/v3"),
        ("ValueError", r"assigner=True: Wise-IoU v2/v3"),
        ("ValueError", r"assigner=True: mpdiou needs the image size"),
        ("TypeError", r"base_options: only the modifiers"),
        None,
    ]
    import re

    got = _run(env, {"mode": "errors", "cases": cases}, "errors")["errors"]
    for case, want, err in zip(cases, expected, got):
        if want is None:
            assert err is None, (case, err)
            continue
        assert err is not None, case
        assert err[0] == want[0] and re.search(want[1], err[1]), (case, err)


def test_import_is_framework_free():
    code = (
        "import sys, losskit, losskit.integrations, losskit.integrations.ultralytics; "
        "bad = [m for m in ('torch', 'ultralytics', 'cv2', 'jax') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
