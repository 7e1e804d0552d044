"""Peer code loaded from installed files, for the parity tests and the benchmarks.

torchvision and ultralytics are installed without their dependencies (see
``requirements/peers-nodeps.txt``): torchvision's binary extension does not load against this
CPU torch, and ultralytics' package import pulls in heavy stacks. Their box losses are pure
PyTorch, so we execute just those source files with importlib, under private module names,
with stand-ins for the few names their imports need. No peer code is copied.

Each loader returns a ``types.SimpleNamespace`` (the functions and ``version``) or ``None``
when the package is not installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import sys
import types


def _site_dir(dist: str) -> str | None:
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    return str(d.locate_file(""))


def _load(modname: str, path: str):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def load_torchvision_box_losses():
    """torchvision's ``generalized_box_iou_loss``, ``distance_box_iou_loss`` and
    ``complete_box_iou_loss`` (as ``giou``, ``diou``, ``ciou``)."""
    site = _site_dir("torchvision")
    ops = os.path.join(site or "", "torchvision", "ops")
    if site is None or not os.path.exists(os.path.join(ops, "ciou_loss.py")):
        return None
    # A private package name, so the real (unimportable) torchvision stays untouched:
    # _lk_tv.utils provides what `from ..utils import _log_api_usage_once` needs.
    root = types.ModuleType("_lk_tv")
    root.__path__ = []
    utils = types.ModuleType("_lk_tv.utils")
    utils._log_api_usage_once = lambda obj: None
    pkg = types.ModuleType("_lk_tv.ops")
    pkg.__path__ = [ops]
    sys.modules.update({"_lk_tv": root, "_lk_tv.utils": utils, "_lk_tv.ops": pkg})
    _load("_lk_tv.ops._utils", os.path.join(ops, "_utils.py"))
    g = _load("_lk_tv.ops.giou_loss", os.path.join(ops, "giou_loss.py"))
    d = _load("_lk_tv.ops.diou_loss", os.path.join(ops, "diou_loss.py"))
    c = _load("_lk_tv.ops.ciou_loss", os.path.join(ops, "ciou_loss.py"))
    return types.SimpleNamespace(
        giou=g.generalized_box_iou_loss, diou=d.distance_box_iou_loss, ciou=c.complete_box_iou_loss,
        version=importlib.metadata.version("torchvision"),
    )


def load_ultralytics_bbox_iou():
    """ultralytics' ``bbox_iou`` from ``ultralytics/utils/metrics.py``."""
    site = _site_dir("ultralytics")
    path = os.path.join(site or "", "ultralytics", "utils", "metrics.py")
    if site is None or not os.path.exists(path):
        return None
    # metrics.py imports a few names from ultralytics.utils (logging, plotting helpers,
    # base classes) at module level; bbox_iou uses none of them. Stub them only while the
    # file is executed, then restore sys.modules.
    names = ("ultralytics", "ultralytics.utils", "ultralytics.utils.plotting")
    saved = {n: sys.modules.get(n) for n in names}
    top = types.ModuleType("ultralytics")
    top.__path__ = []
    utils = types.ModuleType("ultralytics.utils")
    utils.__path__ = []
    utils.LOGGER = logging.getLogger("ultralytics-stub")
    utils.DataExportMixin = type("DataExportMixin", (), {})
    utils.SimpleClass = type("SimpleClass", (), {})
    utils.TryExcept = lambda *a, **k: (lambda f: f)
    utils.plt_settings = lambda *a, **k: (lambda f: f)
    utils.checks = types.SimpleNamespace(check_version=lambda *a, **k: True)
    plotting = types.ModuleType("ultralytics.utils.plotting")
    plotting.colors = None
    sys.modules.update({"ultralytics": top, "ultralytics.utils": utils, "ultralytics.utils.plotting": plotting})
    try:
        mod = _load("_lk_ultralytics_metrics", path)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return types.SimpleNamespace(bbox_iou=mod.bbox_iou, version=importlib.metadata.version("ultralytics"))


def load_ultralytics_losses():
    """ultralytics' ``DFLoss``, ``VarifocalLoss`` and ``KeypointLoss`` from
    ``ultralytics/utils/loss.py`` and ``OKS_SIGMA`` from ``metrics.py``.

    loss.py imports assigners, box ops and ``autocast`` at module level; these three classes
    call only ``autocast``, whose stand-in is ``torch.autocast`` (what ultralytics' own
    returns on this torch); the other names are ``None``. ``metrics.py`` is the one
    :func:`load_ultralytics_bbox_iou` executes. sys.modules is restored afterwards.
    """
    import torch

    site = _site_dir("ultralytics")
    path = os.path.join(site or "", "ultralytics", "utils", "loss.py")
    if site is None or not os.path.exists(path) or load_ultralytics_bbox_iou() is None:
        return None
    metrics = sys.modules["_lk_ultralytics_metrics"]  # executed by load_ultralytics_bbox_iou
    names = ("ultralytics", "ultralytics.utils", "ultralytics.utils.metrics", "ultralytics.utils.ops",
             "ultralytics.utils.tal", "ultralytics.utils.torch_utils")
    saved = {n: sys.modules.get(n) for n in names}
    top = types.ModuleType("ultralytics")
    top.__path__ = []
    utils = types.ModuleType("ultralytics.utils")
    utils.__path__ = []
    ops = types.ModuleType("ultralytics.utils.ops")
    ops.crop_mask = ops.xywh2xyxy = ops.xyxy2xywh = None
    tal = types.ModuleType("ultralytics.utils.tal")
    for n in ("PoseTaskAlignedAssigner", "RotatedTaskAlignedAssigner", "SegTaskAlignedAssigner",
              "TaskAlignedAssigner", "dist2bbox", "dist2rbox", "make_anchors", "bbox2dist", "rbox2dist"):
        setattr(tal, n, None)
    tu = types.ModuleType("ultralytics.utils.torch_utils")
    tu.autocast = lambda enabled, device="cuda": torch.autocast(device_type=device, enabled=bool(enabled))
    sys.modules.update({"ultralytics": top, "ultralytics.utils": utils, "ultralytics.utils.metrics": metrics,
                        "ultralytics.utils.ops": ops, "ultralytics.utils.tal": tal,
                        "ultralytics.utils.torch_utils": tu})
    try:
        # loaded as a submodule of the stand-in package, so `from .metrics import ...` resolves
        mod = _load("ultralytics.utils.loss", path)
    finally:
        sys.modules.pop("ultralytics.utils.loss", None)
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return types.SimpleNamespace(DFLoss=mod.DFLoss, VarifocalLoss=mod.VarifocalLoss, KeypointLoss=mod.KeypointLoss,
                                 OKS_SIGMA=metrics.OKS_SIGMA, version=importlib.metadata.version("ultralytics"))


# --------------------------------------------------------------------------- timm (issue 16)


def _pip_wheel_dirs() -> list[str]:
    """The local directories pip itself installs from offline: its ``find-links`` and the
    ``file://`` package indexes, read from pip's environment variables and configuration
    files (nothing is downloaded, nothing installed)."""
    import configparser
    import urllib.parse

    values = [os.environ.get(k, "") for k in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")]
    files = ["/etc/pip.conf", "/etc/xdg/pip/pip.conf", os.path.expanduser("~/.pip/pip.conf"),
             os.path.expanduser("~/.config/pip/pip.conf")]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(os.environ["PIP_CONFIG_FILE"])
    for path in files:
        cfg = configparser.ConfigParser()
        try:
            cfg.read(path)
        except configparser.Error:
            continue
        for key in ("find-links", "index-url", "extra-index-url"):
            values.append(cfg.get("global", key, fallback="") or "")
    dirs = []
    for entry in " ".join(values).split():
        path = urllib.parse.urlparse(entry).path if entry.startswith("file:") else entry
        if os.path.isdir(path):
            dirs.append(path)
    return dirs


def _find_wheel(dist: str) -> str | None:
    """A wheel of ``dist`` in pip's local directories: a find-links folder holds the wheel,
    a simple index ``<index>/<dist>/index.html`` links to it."""
    import re

    for d in _pip_wheel_dirs():
        candidates = [os.path.join(d, f) for f in sorted(os.listdir(d))]
        page = os.path.join(d, dist, "index.html")
        if os.path.exists(page):
            with open(page) as f:
                candidates += [os.path.normpath(os.path.join(d, dist, h.split("#")[0]))
                               for h in re.findall(r'href="([^"]+\.whl[^"]*)"', f.read())]
        for path in candidates:
            if os.path.basename(path).startswith(dist + "-") and path.endswith(".whl") and os.path.exists(path):
                return path
    return None


def load_timm_asymmetric_loss():
    """timm's ``AsymmetricLossMultiLabel`` and ``AsymmetricLossSingleLabel`` from
    ``timm/loss/asymmetric_loss.py`` (it imports only torch).

    timm itself is not installed (it requires torchvision's binary extension): the file is
    read from an installed timm if there is one, else from the timm wheel in pip's local
    wheel directories, and executed under a private module name. ``None`` if neither exists.
    """
    import zipfile

    member = "timm/loss/asymmetric_loss.py"
    site = _site_dir("timm")
    if site is not None and os.path.exists(os.path.join(site, member)):
        with open(os.path.join(site, member)) as f:
            source, version = f.read(), importlib.metadata.version("timm")
    else:
        wheel = _find_wheel("timm")
        if wheel is None:
            return None
        with zipfile.ZipFile(wheel) as zf:
            if member not in zf.namelist():
                return None
            source = zf.read(member).decode()
        version = os.path.basename(wheel).split("-")[1]
    mod = types.ModuleType("_lk_timm_asymmetric_loss")
    exec(compile(source, f"timm-{version}/{member}", "exec"), mod.__dict__)
    return types.SimpleNamespace(multi_label=mod.AsymmetricLossMultiLabel, single_label=mod.AsymmetricLossSingleLabel,
                                 version=version)


# --------------------------------------------------------------------------- TRL (issue 16)


def load_trl_preference_losses():
    """TRL's preference-loss code, compiled from the installed trl's source files without
    importing the ``trl`` package (its import needs transformers, accelerate, datasets, ...):

    * ``dpo_compute_loss``: ``DPOTrainer._compute_loss`` (``trl/trainer/dpo_trainer.py``);
      the DPO losses live inline there. It reads ``self.model.training``,
      ``self.accelerator`` (``device``, ``gather``, ``gather_for_metrics``),
      ``aux_loss_enabled``, ``ld_alpha``, ``precompute_ref_logps``, ``f_divergence_type``,
      ``loss_types``, ``loss_weights``, ``beta``, ``label_smoothing``, ``use_weighting``,
      ``_metrics``, ``_total_train_tokens`` and ``_tp_size``; it calls ``model(...)`` for the
      per-token log-probabilities (``outputs.log_probs``, ``entropy``, ``mean_logits``,
      ``is_top1``).
    * ``cpo_loss``: ``CPOTrainer.cpo_loss`` (``trl/experimental/cpo/cpo_trainer.py``; SimPO
      is its ``loss_type="simpo"``); reads ``alpha``, ``loss_type``, ``beta``,
      ``simpo_gamma``, ``label_smoothing``, ``accelerator.device``.
    * ``odds_ratio_loss`` and ``orpo_batch_loss_metrics``: ``ORPOTrainer.odds_ratio_loss``
      and ``ORPOTrainer.get_batch_loss_metrics`` (``trl/experimental/orpo/orpo_trainer.py``,
      with that file's module-level ``log1mexp``); they read ``beta``, ``accelerator``,
      ``aux_loss_enabled`` and call ``self.concatenated_forward`` / ``self.odds_ratio_loss``.

    Each is the method's own source, taken out of its class with ``ast`` and compiled
    (annotations unevaluated) against the real file's name and line numbers, in a namespace
    holding only ``torch``, ``F``, ``nn``, ``math``, ``warnings`` and the file's helpers it
    uses; call it with a ``types.SimpleNamespace`` standing in for ``self``. A method missing
    from its file is ``None`` (the tests skip). ``None`` if trl is not installed.
    """
    import __future__
    import ast
    import math
    import warnings

    import torch

    site = _site_dir("trl")
    if site is None or not os.path.exists(os.path.join(site, "trl", "trainer", "dpo_trainer.py")):
        return None
    base = {"torch": torch, "F": torch.nn.functional, "nn": torch.nn, "math": math, "warnings": warnings}

    def functions(relpath: str, wanted: dict[str, tuple[str | None, str]], extra: dict | None = None) -> dict:
        path = os.path.join(site, "trl", *relpath.split("/"))
        found = dict.fromkeys(wanted)
        if not os.path.exists(path):
            return found
        with open(path) as f:
            tree = ast.parse(f.read(), filename=path)
        namespace = dict(base, **(extra or {}))
        for key, (cls, name) in wanted.items():
            scope = tree.body
            if cls is not None:
                scope = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
            node = next((n for n in scope if isinstance(n, ast.FunctionDef) and n.name == name), None)
            if node is None:
                continue
            node.decorator_list = []  # staticmethod & co. only matter inside the class
            code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec",
                           flags=__future__.annotations.compiler_flag, dont_inherit=True)
            exec(code, namespace)
            found[key] = namespace[name]
        return found

    dpo = functions("trainer/dpo_trainer.py", {"dpo_compute_loss": ("DPOTrainer", "_compute_loss")})
    cpo = functions("experimental/cpo/cpo_trainer.py", {"cpo_loss": ("CPOTrainer", "cpo_loss")})
    # one namespace per file: odds_ratio_loss finds log1mexp there when it is called
    orpo = functions("experimental/orpo/orpo_trainer.py", {
        "log1mexp": (None, "log1mexp"),
        "odds_ratio_loss": ("ORPOTrainer", "odds_ratio_loss"),
        "orpo_batch_loss_metrics": ("ORPOTrainer", "get_batch_loss_metrics"),
    }, extra={"is_torch_xla_available": lambda: False})
    if orpo["log1mexp"] is None:
        orpo["odds_ratio_loss"] = None
    return types.SimpleNamespace(**dpo, **cpo, **orpo, version=importlib.metadata.version("trl"))
