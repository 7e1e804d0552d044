"""losskit.keras on the JAX and PyTorch backends, each in its own process (Keras reads
``KERAS_BACKEND`` once, at import).

In each process: ``compile`` / one epoch of ``fit`` / save and load a ``.keras`` file for a
classification, a segmentation and a box loss; Keras' ``reduction`` and ``sample_weight``;
every generated class against its function on the case table's first case (which also
checks the integer-target table, since Keras hands ``y_true`` over as floats). The
TensorFlow refusal is checked on the backend check itself (keras does not import without
TensorFlow installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import losskit
import losskit.keras as lk

ROOT = pathlib.Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    r"""
    import json, os, sys
    import numpy as np
    sys.path.insert(0, os.environ["LOSSKIT_TESTS_ROOT"])
    import keras
    import losskit
    import losskit.keras as lk
    from tests.cases import arrays_of, load

    out = {"backend": keras.backend.backend()}
    tmp = os.environ["LOSSKIT_TMP"]
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)

    def fit_save_load(tag, model, loss, x, y):
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
        hist = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        path = os.path.join(tmp, tag + ".keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded.loss) is type(loss), (type(loaded.loss), type(loss))
        assert loaded.loss.get_config() == loss.get_config()
        a = model.evaluate(x, y, verbose=0)
        b = loaded.evaluate(x, y, verbose=0)
        out[tag] = {"fit": hist.history["loss"], "evaluate": [a, b]}

    # classification: logits (N, 3), integer labels (N,) that Keras turns into floats
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.integers(0, 3, size=32)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    fit_save_load("classification", model, lk.CrossEntropyLoss(label_smoothing=0.1), x, y)

    # segmentation: (N, C, H, W) logits as losskit's class axis 1, (N, H, W) label maps
    x = rng.normal(size=(32, 8)).astype("float32")
    y = rng.integers(0, 2, size=(32, 4, 4))
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(2 * 4 * 4), keras.layers.Reshape((2, 4, 4))]
    )
    fit_save_load("segmentation", model, lk.DiceLoss(activation="softmax"), x, y)

    # boxes: xyxy predictions around the unit box (bias), targets nearby
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (np.array([0.0, 0.0, 1.0, 1.0]) + 0.1 * rng.normal(size=(32, 4))).astype("float32")
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                           bias_initializer=keras.initializers.Constant([0.0, 0.0, 1.0, 1.0])),
    ])
    fit_save_load("boxes", model, lk.CIoULoss(), x, y)

    # Keras' reduction and sample_weight on losskit's per-element losses
    p = rng.normal(size=(6, 4)).astype("float32")
    t = rng.integers(0, 4, size=6)
    w = rng.uniform(size=6).astype("float32")
    per = np.asarray(losskit.cross_entropy(np.asarray(p, "float64"), t, reduction="none"))
    out["weighted"] = [
        float(keras.ops.convert_to_numpy(lk.CrossEntropyLoss()(t, p, sample_weight=w))),
        float((per * w).sum() / 6),
    ]
    out["sum"] = [float(keras.ops.convert_to_numpy(lk.CrossEntropyLoss(reduction="sum")(t, p))),
                  float(per.sum())]

    # every generated class against its function on the case table's first usable case
    rows = load()
    checked, skipped = {}, {}
    for cname, cls in sorted(lk.custom_objects().items()):
        row = rows.get(cls.loss_name)
        if row is None:
            skipped[cname] = "no row in the case table"
            continue
        case = next((c for c in row.cases
                     if len(c.args) == 2 and arrays_of(c.args) == [0, 1]
                     and not any(isinstance(v, np.ndarray) for v in c.options.values())), None)
        if case is None:
            skipped[cname] = "no case with two arrays and scalar options"
            continue
        pred, target = case.args
        options = {k: v for k, v in case.options.items() if k != "reduction"}
        want = np.asarray(cls._fn(np.asarray(pred, "float32"), target, **options,
                                  reduction="none"), "float64").sum()
        got = float(keras.ops.convert_to_numpy(cls(reduction="sum", **options)(target, pred)))
        checked[cname] = [got, float(want)]
    out["classes"] = checked
    out["skipped"] = skipped
    print("RESULT " + json.dumps(out))
    """
)


def _run(backend: str, tmp_path) -> dict:
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "LOSSKIT_TESTS_ROOT": str(ROOT),
        "LOSSKIT_TMP": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_fit_save_load_reduction_and_every_class(backend, tmp_path):
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"keras or {backend} is not installed")
    out = _run(backend, tmp_path)
    assert out["backend"] == backend
    for tag in ("classification", "segmentation", "boxes"):
        (fit_loss,) = out[tag]["fit"]
        before, after = out[tag]["evaluate"]
        assert fit_loss == fit_loss and abs(fit_loss) < 1e6, (tag, fit_loss)  # finite
        assert after == pytest.approx(before, rel=1e-6), tag  # the loaded model's loss is the same
    assert out["weighted"][0] == pytest.approx(out["weighted"][1], rel=1e-5)
    assert out["sum"][0] == pytest.approx(out["sum"][1], rel=1e-5)
    for cname, (got, want) in out["classes"].items():
        assert got == pytest.approx(want, rel=1e-4, abs=1e-5), cname
    # every generated class with a usable row is checked
    assert len(out["classes"]) >= 10, out["skipped"]
    assert all(why.startswith("no ") for why in out["skipped"].values())


def test_tensorflow_is_refused_naming_the_supported_backends():
    with pytest.raises(ValueError, match=r"KERAS_BACKEND: expected one of 'jax', 'torch'.*got 'tensorflow'"):
        lk.check_backend("tensorflow")
    assert lk.check_backend("jax") == "jax"


def test_class_names_are_losskit_torch_names():
    torch_shells = pytest.importorskip("losskit.torch")
    for name in losskit.names():
        shells = [
            n for n in dir(torch_shells)
            if getattr(getattr(torch_shells, n), "function", None) is losskit.get(name).fn
        ]
        for shell in shells:
            assert lk.class_name(name) == shell, name
    assert lk.class_name("wiou_loss") == "WIoULoss"  # the torch shell owns state: no `function`


def test_index_target_table_names_registered_losses():
    assert set(lk.INDEX_TARGETS) <= set(losskit.names())
    assert set(lk.INDEX_TARGETS.values()) <= {"always", "labels"}


def test_importing_losskit_keras_imports_no_framework():
    code = "import sys, losskit.keras; print(sorted(m for m in ('keras', 'jax', 'torch') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
