"""The child process of ``tests/test_integration_ultralytics.py``: one ultralytics run.

Run as ``python _ultralytics_run.py SPEC.json``. The test builds the environment (the
torchvision stand-in first on ``PYTHONPATH``, ``YOLO_OFFLINE=1``, ``YOLO_CONFIG_DIR`` and
every cache in the test's temporary folder) and the spec; this script trains (or loads)
and writes what the test asserts on to ``spec["out"]`` as JSON. Nothing here runs on
import, so pytest's doctest collection may import this file safely.

Spec keys: ``mode`` ("train" or "load"), ``spy`` (losskit public names whose calls are
counted), ``out``, and for "train" ``runs``: a list of runs trained one after the other in
this process, each with ``model`` (a yaml name or a checkpoint path), ``data``, ``project``,
``name``, ``seed``, ``epochs``, ``imgsz``, ``batch``, ``val``, ``resume``, ``loss`` (a
losskit box-loss name, or none for stock ultralytics) and ``options`` (keys missing from a
run are taken from the spec). "load" loads ``model`` with losskit unimportable.
"""

from __future__ import annotations

import json
import sys


def _train(spec: dict) -> dict:
    from ultralytics import YOLO

    report: dict = {"batch_losses": [], "means": []}
    model = YOLO(spec["model"])
    if spec.get("loss"):
        from losskit.integrations.ultralytics import use_box_loss

        use_box_loss(model, spec["loss"], **spec.get("options", {}))

    def on_batch_end(trainer):
        items = trainer.loss_items  # a dict of detached loss items in 8.4
        report["batch_losses"].append({k: float(v) for k, v in dict(items).items()})

    def state(event):
        def record(trainer):
            from losskit.integrations.ultralytics import box_loss_state

            report["means"].append({"event": event, "epoch": getattr(trainer, "epoch", trainer.start_epoch), **box_loss_state(trainer)})

        return record

    class Interrupted(Exception):
        pass

    def interrupt(trainer):
        if trainer.epoch == spec.get("interrupt_epoch"):
            raise Interrupted  # a run stopped from outside after its last.pt was written

    model.add_callback("on_train_batch_end", on_batch_end)
    model.add_callback("on_train_epoch_start", interrupt)
    if spec.get("loss"):
        model.add_callback("on_train_start", state("train_start"))
        # on_train_epoch_end runs before validation, on_fit_epoch_end after it.
        model.add_callback("on_train_epoch_end", state("train_epoch_end"))
        model.add_callback("on_fit_epoch_end", state("fit_epoch_end"))

    kwargs = dict(
        data=spec["data"],
        epochs=spec.get("epochs", 1),
        imgsz=spec.get("imgsz", 64),
        batch=spec.get("batch", 8),
        workers=0,
        device="cpu",
        seed=spec.get("seed", 0),
        deterministic=True,
        plots=False,
        val=spec.get("val", False),
        project=spec["project"],
        name=spec.get("name", "run"),
        exist_ok=True,
        amp=False,
        verbose=False,
        mosaic=0.0,
        warmup_epochs=0,
    )
    if spec.get("resume"):
        kwargs = dict(resume=True, workers=0, device="cpu", plots=False, val=False)
    try:
        model.train(**kwargs)
    except Interrupted:
        report["interrupted"] = True
    trainer = model.trainer
    report["save_dir"] = str(trainer.save_dir)
    report["last"] = str(trainer.last)
    report["task"] = model.task
    report["batches_per_epoch"] = len(trainer.train_loader)
    return report


def _load(spec: dict) -> dict:
    # The checkpoint must load where losskit cannot be imported: a meta-path finder
    # refuses the name before any other finder looks.
    class _Refuse:
        def find_spec(self, name, path=None, target=None):
            if name == "losskit" or name.startswith("losskit."):
                raise ModuleNotFoundError(f"No module named {name!r} (refused by the test)")
            return None

    sys.meta_path.insert(0, _Refuse())
    import torch

    ckpt = torch.load(spec["model"], map_location="cpu", weights_only=False)
    ema = ckpt["ema"]
    from ultralytics import YOLO

    model = YOLO(spec["model"])
    n = sum(p.numel() for p in model.model.parameters())
    return {
        "params": n,
        "losskit_imported": any(m == "losskit" or m.startswith("losskit.") for m in sys.modules),
        "ema_state": dict(getattr(ema, "losskit_state", None) or {}),
        "criterion": repr(getattr(ema, "criterion", None)),
    }


def _errors(spec: dict) -> dict:
    """Each case ``[model, name, options, version or None]``: the exception use_box_loss raises."""
    import ultralytics
    from ultralytics import YOLO

    from losskit.integrations.ultralytics import use_box_loss

    real = ultralytics.__version__
    out = []
    for model_name, name, options, version in spec["cases"]:
        ultralytics.__version__ = version or real
        try:
            use_box_loss(YOLO(model_name), name, **options)
            out.append(None)
        except Exception as e:  # the test asserts on type and message
            out.append([type(e).__name__, str(e)])
        finally:
            ultralytics.__version__ = real
    return {"errors": out}


def _install_spies(names) -> dict:
    """Count the calls of public losskit functions. Each is replaced before the integration
    is imported, so that its ``from losskit import ...`` binds the counting wrapper."""
    import losskit

    calls = {}
    for name in names:
        real = getattr(losskit, name)
        calls[name] = 0

        def spy(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        setattr(losskit, name, spy)
    return calls


def main(path: str) -> None:
    with open(path) as f:
        spec = json.load(f)
    if spec["mode"] == "load":
        report = _load(spec)
    elif spec["mode"] == "errors":
        report = _errors(spec)
    else:
        calls = _install_spies(spec.get("spy", []))
        report = {"runs": []}
        for run in spec["runs"]:
            before = dict(calls)
            one = _train({**spec, **run})
            one["spy_calls"] = {k: calls[k] - before[k] for k in calls}
            report["runs"].append(one)
    with open(spec["out"], "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])
