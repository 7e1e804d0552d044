r"""Train ultralytics YOLO models with a losskit box loss, without editing ultralytics' files.

.. code-block:: python

    from ultralytics import YOLO
    from losskit.integrations.ultralytics import use_box_loss

    model = YOLO("yolo11n.yaml")
    use_box_loss(model, "wiou", version=3)      # every later model.train() uses Wise-IoU v3
    model.train(data="coco8.yaml", epochs=100)

How it works (facts of ultralytics 8.4; see ``docs/integrations/ultralytics.md``):

* ``use_box_loss`` adds a trainer callback at ``on_pretrain_routine_end``, which runs after
  the model, its EMA copy and a resumed state are set up. The callback replaces the box term
  (``criterion.bbox_loss``) of the training model's criterion and of the EMA copy's criterion
  (the one the validator uses), creating each with the model's own ``init_criterion()`` where
  it does not exist yet; end-to-end heads (YOLO26, YOLOv10) have two criteria, ``one2many``
  and ``one2one``, and both get the loss.
* The new box term computes the IoU part with the losskit loss and keeps ultralytics' own
  code for the rest: its DFL term (``reg_max > 1``, YOLOv8/11) or image-normalised L1 term
  (YOLO26), its weighting of each foreground box by its summed target scores and its
  normalisation by the summed target scores. The assigner keeps its own IoU unless
  ``assigner=True``.
* Boxes reach the box term in feature-grid units (pixels / stride of their level). The
  scale-invariant losses take them as they are; the others (MPDIoU, NWD, GWD) get pixel
  boxes, and MPDIoU the image size (both passed to the box term from ultralytics 8.4).
* The criterion is a plain attribute of the model, not a submodule: it is not in the
  ``state_dict`` and ultralytics strips it before saving, so checkpoints load where losskit
  is not installed.
* Wise-IoU v2/v3 keep a running mean of the IoU loss, one per criterion branch. Only
  training batches update it (a batch whose boxes carry a gradient, on the training model's
  criterion); the EMA copy's criterion reads the same mean and never updates it. The
  momentum is the paper's :math:`1 - 0.05^{1/(n t)}` with :math:`n` the batches per epoch
  and :math:`t` the run's epochs (or ``momentum=``). The means are written with every
  checkpoint (a plain ``losskit_state`` dict on the saved EMA model) and restored when the
  run is resumed.

Anything this module cannot do right raises at ``use_box_loss`` (or at the callback, for
what only the trainer knows): an ultralytics version outside :data:`SUPPORTED`, a task other
than detect / segment / pose / obb, an axis-aligned loss on an OBB model (or the reverse),
a loss that needs what the installed version does not pass (MPDIoU before 8.4 has no image
size), unknown options.
"""

from __future__ import annotations

import inspect
from typing import Any

from losskit import (
    alpha_iou_loss,
    box_iou,
    ciou_loss,
    diou_loss,
    eiou_loss,
    focal_eiou_loss,
    focaler_iou_loss,
    giou_loss,
    gwd_loss,
    inner_iou_loss,
    iou_loss,
    kfiou_loss,
    kld_loss,
    mpdiou_loss,
    nwd_loss,
    piou_loss,
    probiou_loss,
    rotated_iou_loss,
    shape_iou_loss,
    siou_loss,
    wiou_loss,
    wiou_update_mean,
)
from losskit.boxes import wiou_momentum

__all__ = ["use_box_loss", "box_loss_state", "SUPPORTED", "LOSSES"]

#: The ultralytics versions this module accepts, ``(lowest, first unsupported)``. 8.4.x is
#: tested (8.4.190); 8.3.x passes no image size or stride to the box term, so only the
#: losses that need neither run there.
SUPPORTED = ((8, 3), (9, 0))

_TASKS = ("detect", "segment", "pose", "obb")

# name -> (function attribute name in this module, box kind, needs pixel boxes, needs the
# image size). Kinds: "xyxy" boxes for detect / segment / pose, "xywhr" for obb. The
# function is looked up by name at call time so that it is always this module's binding of
# the public losskit function.
_TABLE: dict[str, tuple[str, str, bool, bool]] = {
    "iou": ("iou_loss", "xyxy", False, False),
    "giou": ("giou_loss", "xyxy", False, False),
    "diou": ("diou_loss", "xyxy", False, False),
    "ciou": ("ciou_loss", "xyxy", False, False),
    "eiou": ("eiou_loss", "xyxy", False, False),
    "focal_eiou": ("focal_eiou_loss", "xyxy", False, False),
    "siou": ("siou_loss", "xyxy", False, False),
    "alpha_iou": ("alpha_iou_loss", "xyxy", False, False),
    "wiou": ("wiou_loss", "xyxy", False, False),
    "shape_iou": ("shape_iou_loss", "xyxy", False, False),
    "piou": ("piou_loss", "xyxy", False, False),
    "inner_iou": ("inner_iou_loss", "xyxy", False, False),
    "focaler_iou": ("focaler_iou_loss", "xyxy", False, False),
    # MPDIoU divides corner distances by the image diagonal: pixels and the image size.
    "mpdiou": ("mpdiou_loss", "xyxy", True, True),
    # NWD's constant C is in pixels (dataset-dependent, 12.8 for AI-TOD).
    "nwd": ("nwd_loss", "xyxy", True, False),
    "probiou": ("probiou_loss", "xywhr", False, False),
    "kld": ("kld_loss", "xywhr", False, False),
    "kfiou": ("kfiou_loss", "xywhr", False, False),
    "rotated_iou": ("rotated_iou_loss", "xywhr", False, False),
    # The Wasserstein distance is in the boxes' units (squared): pixels.
    "gwd": ("gwd_loss", "xywhr", True, False),
}

#: The loss names :func:`use_box_loss` accepts (``"ciou"`` and ``"ciou_loss"`` alike).
LOSSES = tuple(_TABLE)

_MODIFIERS = ("inner_iou", "focaler_iou")
# Options this module sets itself: the user may not pass them.
_OWN = ("reduction", "fmt", "iou_mean", "image_size", "angle_unit")


def _version(text: str) -> tuple[int, int, int]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def _check_version() -> tuple[int, int, int]:
    try:
        import ultralytics
    except ImportError as e:
        raise ImportError(
            "losskit.integrations.ultralytics needs ultralytics (pip install ultralytics)"
        ) from e
    v = _version(ultralytics.__version__)
    low, high = SUPPORTED
    if not (low <= v[:2] < high):
        raise RuntimeError(
            f"ultralytics {ultralytics.__version__} is not supported by "
            f"losskit.integrations.ultralytics: expected >= {low[0]}.{low[1]} and < "
            f"{high[0]}.{high[1]} (tested: 8.4.190)"
        )
    return v


class _Spec:
    """The loss as the box term calls it: resolved name, validated options, and what it needs.

    A plain object of builtins and names (picklable: ultralytics sends callbacks to its DDP
    workers with cloudpickle).
    """

    def __init__(self, name: str, options: dict, *, momentum: float | None, assigner: bool):
        key = name[: -len("_loss")] if name.endswith("_loss") else name
        if key not in _TABLE:
            raise ValueError(f"name: expected one of {', '.join(LOSSES)}, got {name!r}")
        self.name = key
        self.attr, self.kind, pixels, image_size = _TABLE[key]
        options = dict(options)
        for k in _OWN:
            if k in options:
                raise TypeError(f"{k}: set by losskit.integrations.ultralytics, not an option of use_box_loss")
        self.base = None
        self.base_options: dict = {}
        if key in _MODIFIERS:
            self.base = options.pop("base", "ciou")
            self.base_options = dict(options.pop("base_options", None) or {})
            for k in _OWN:
                if k in self.base_options:
                    raise TypeError(f"base_options[{k!r}]: set by losskit.integrations.ultralytics")
            if self.base == "mpdiou":
                pixels = image_size = True
        elif "base_options" in options:
            raise TypeError(f"base_options: only the modifiers ({', '.join(_MODIFIERS)}) take a base")
        self.options = options
        self.pixels = pixels
        self.image_size = image_size
        wise = self.base_options if self.base is not None else options
        self.stateful = (self.base == "wiou" or key == "wiou") and wise.get("version", 1) in (2, 3)
        if momentum is not None and not self.stateful:
            raise TypeError("momentum: only Wise-IoU v2/v3 (or a modifier on it) keep a running mean")
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 < momentum <= 1):
            raise ValueError(f"momentum: expected a number in (0, 1], got {momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        if not isinstance(assigner, bool):
            raise TypeError(f"assigner: expected a bool, got {type(assigner).__name__}")
        if assigner and self.stateful:
            raise ValueError("assigner=True: Wise-IoU v2/v3 depend on a running mean; the assigner needs a similarity")
        if assigner and self.image_size:
            raise ValueError(f"assigner=True: {key} needs the image size, which the assigner is not given")
        self.assigner = assigner

    @property
    def fn(self):
        return globals()[self.attr]

    def __call__(self, pred, target, *, image_size=None, iou_mean=None):
        """Per-box loss of ``pred`` against ``target`` (``reduction="none"``)."""
        extra = {}
        if image_size is not None:
            extra["image_size"] = image_size
        if iou_mean is not None:
            extra["iou_mean"] = iou_mean
        if self.base is None:
            return self.fn(pred, target, reduction="none", **self.options, **extra)
        return _call_modifier(self.fn, pred, target, self.base, self.options, {**self.base_options, **extra})

    def check(self) -> None:
        """Call the loss once on two tiny boxes: bad options fail here, not mid-training."""
        import torch

        if self.kind == "xyxy":
            p = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
            t = torch.tensor([[0.0, 0.0, 1.0, 1.0], [1.0, 1.5, 3.0, 4.0]])
        else:
            p = torch.tensor([[1.0, 1.0, 2.0, 1.0, 0.1], [2.0, 2.0, 3.0, 2.0, 0.5]])
            t = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0], [2.0, 2.1, 3.0, 2.0, 0.4]])
        out = self(
            p,
            t,
            image_size=(64.0, 64.0) if self.image_size else None,
            iou_mean=torch.tensor(1.0) if self.stateful else None,
        )
        if tuple(out.shape) != (2,) or not bool(torch.isfinite(out).all()):
            raise ValueError(f"{self.name}: expected one finite loss per box, got {out!r}")


def _call_modifier(fn, pred, target, base, options, base_options):
    """Call Inner- / Focaler-IoU with the base's options in the form the installed losskit takes.

    losskit is moving the modifiers' base options from flat keywords (``version=``,
    ``image_size=``, ...) to one ``base_options=`` dict (the flat form stays for a release
    with a DeprecationWarning); passing whichever the signature has keeps this module quiet
    on both.
    """
    if "base_options" in _parameters(fn):
        return fn(pred, target, base=base, base_options=base_options, reduction="none", **options)
    return fn(pred, target, base=base, reduction="none", **options, **base_options)


_PARAMS: dict = {}


def _parameters(fn) -> frozenset:
    key = id(fn)
    if key not in _PARAMS:
        _PARAMS[key] = frozenset(inspect.signature(fn).parameters)
    return _PARAMS[key]


class _RunningMean:
    """Wise-IoU's running mean of the IoU loss for one criterion branch.

    Shared, never copied: ultralytics deep-copies the model (and a criterion it holds) into
    a new EMA after a NaN recovery; that copy must read this mean, not a frozen snapshot.
    """

    def __init__(self, momentum: float):
        self.momentum = momentum
        self.mean = None  # a 0-d tensor on the boxes' device once a batch has been seen
        self.start = 1.0  # the paper's initial value, or the resumed one
        self.updates = 0

    def __deepcopy__(self, memo):
        return self

    def value(self, like):
        import torch

        if self.mean is None:
            self.mean = torch.tensor(self.start, dtype=torch.float32, device=like.device)
        return self.mean

    def update(self, pred, target) -> None:
        import torch

        with torch.no_grad():
            batch = 1.0 - box_iou(pred.detach(), target)
            self.mean = wiou_update_mean(self.value(pred), batch, momentum=self.momentum)
        self.updates += 1

    def snapshot(self) -> dict:
        mean = self.start if self.mean is None else float(self.mean)
        return {"mean": mean, "updates": self.updates, "momentum": self.momentum}


class _BoxTerm:
    """Drop-in for ultralytics' ``BboxLoss`` / ``RotatedBboxLoss`` with a losskit IoU term.

    ``stock`` is the criterion's own box term: it still computes the DFL / L1 term (its IoU
    output is discarded; it gets the predicted boxes detached, so that discarded part builds
    no graph). ``trains``: whether this is the training model's criterion (the only side that
    updates a running mean).
    """

    def __init__(self, stock, spec: _Spec, state: _RunningMean | None, *, trains: bool, branch: str):
        self.stock = stock
        self.spec = spec
        self.state = state
        self.trains = trains
        self.branch = branch

    def __call__(self, pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores, target_scores_sum, fg_mask, *rest):
        import torch

        _, loss_dfl = self.stock(
            pred_dist, pred_bboxes.detach(), anchor_points, target_bboxes, target_scores,
            target_scores_sum, fg_mask, *rest,
        )
        weight = target_scores[fg_mask].sum(-1)
        p = pred_bboxes[fg_mask]
        t = target_bboxes[fg_mask]
        image_size = None
        if self.spec.pixels:
            imgsz, stride = rest[0], rest[1]
            s = stride.reshape(1, -1).expand(fg_mask.shape[0], -1)[fg_mask].unsqueeze(-1).to(p.dtype)
            if self.spec.kind == "xywhr":
                p = torch.cat((p[..., :4] * s, p[..., 4:]), -1)
                t = torch.cat((t[..., :4] * s, t[..., 4:]), -1)
            else:
                p, t = p * s, t * s
            if self.spec.image_size:
                # imgsz is (height, width) in pixels; the losses take (W, H).
                image_size = (float(imgsz[1]), float(imgsz[0]))
        iou_mean = None
        if self.state is not None:
            # Only a training step of the training model moves the mean; validation (no
            # gradient) and the EMA copy read it.
            if self.trains and torch.is_grad_enabled() and p.shape[0] > 0:
                self.state.update(p, t)
            iou_mean = self.state.value(p)
        per_box = self.spec(p, t, image_size=image_size, iou_mean=iou_mean)
        loss_iou = (per_box * weight).sum() / target_scores_sum
        return loss_iou, loss_dfl

    def __repr__(self) -> str:
        return f"losskit box term ({self.spec.name}, {self.branch}, {'train' if self.trains else 'ema'})"


def _assigner_iou(spec: _Spec):
    def iou_calculation(gt_bboxes, pd_bboxes):
        # The assigner ranks anchors by a similarity in [0, 1]: 1 - loss, clamped as
        # ultralytics clamps its CIoU.
        return (1.0 - spec(pd_bboxes, gt_bboxes)).clamp_(0)

    return iou_calculation


def _unwrap(model):
    try:
        from ultralytics.utils.torch_utils import unwrap_model
    except ImportError:  # before 8.4
        from ultralytics.utils.torch_utils import de_parallel as unwrap_model
    return unwrap_model(model)


def _branches(criterion) -> dict:
    """The criterion's box-loss owners by branch name (``main``, or ``one2many`` / ``one2one``)."""
    if hasattr(criterion, "bbox_loss"):
        return {"main": criterion}
    if hasattr(criterion, "one2many") and hasattr(criterion, "one2one"):
        out = {}
        for name in ("one2many", "one2one"):
            sub = getattr(criterion, name)
            if not hasattr(sub, "bbox_loss"):
                break
            out[name] = sub
        else:
            return out
    raise RuntimeError(
        f"losskit.integrations.ultralytics: the criterion {type(criterion).__name__} has no box "
        "term it knows (expected a bbox_loss, or one2many / one2one criteria with one)"
    )


def _criterion(model):
    if getattr(model, "criterion", None) is None:
        model.criterion = model.init_criterion()
    return model.criterion


def _stock(owner):
    term = owner.bbox_loss
    return term.stock if isinstance(term, _BoxTerm) else term


def _install(trainer, spec: _Spec) -> None:
    task = getattr(trainer.args, "task", None)
    _check_task(task, spec)
    model = _unwrap(trainer.model)
    train_branches = _branches(_criterion(model))
    ema = getattr(getattr(trainer, "ema", None), "ema", None)
    ema_branches = _branches(_criterion(ema)) if ema is not None else {}
    momentum = spec.momentum
    if spec.stateful and momentum is None:
        n = max(len(trainer.train_loader), 1)
        momentum = wiou_momentum(n, max(int(trainer.epochs), 1))
    restored = _restored_means(trainer) if spec.stateful else {}
    for name, owner in train_branches.items():
        stock = _stock(owner)
        if spec.pixels and not {"imgsz", "stride"} <= _forward_parameters(stock):
            import ultralytics

            raise RuntimeError(
                f"{spec.name}: needs pixel boxes and the image size, which ultralytics "
                f"{ultralytics.__version__} does not pass to its box term (from 8.4 it does)"
            )
        state = None
        if spec.stateful:
            state = _RunningMean(momentum)
            if name in restored:
                state.start = float(restored[name]["mean"])
                state.updates = int(restored[name].get("updates", 0))
        owner.bbox_loss = _BoxTerm(stock, spec, state, trains=True, branch=name)
        if spec.assigner:
            owner.assigner.iou_calculation = _assigner_iou(spec)
        if name in ema_branches:
            ema_owner = ema_branches[name]
            ema_owner.bbox_loss = _BoxTerm(_stock(ema_owner), spec, state, trains=False, branch=name)
            if spec.assigner:
                ema_owner.assigner.iou_calculation = _assigner_iou(spec)
    trainer.losskit_box_loss = spec.name


def _forward_parameters(stock) -> frozenset:
    return frozenset(inspect.signature(type(stock).forward).parameters)


def _terms(model) -> dict:
    criterion = getattr(model, "criterion", None) if model is not None else None
    if criterion is None:
        return {}
    try:
        branches = _branches(criterion)
    except RuntimeError:
        return {}
    return {k: v.bbox_loss for k, v in branches.items() if isinstance(v.bbox_loss, _BoxTerm)}


def _state_dict(trainer) -> dict:
    terms = _terms(_unwrap(trainer.model))
    out: dict = {"loss": getattr(trainer, "losskit_box_loss", None), "wiou_mean": {}}
    for name, term in terms.items():
        if term.state is not None:
            out["wiou_mean"][name] = term.state.snapshot()
    return out


def _restored_means(trainer) -> dict:
    """The running means saved in the checkpoint a resumed run starts from ({} otherwise)."""
    if not getattr(trainer, "resume", False):
        return {}
    path = getattr(trainer.args, "resume", None) or getattr(trainer.args, "model", None)
    if not isinstance(path, str) or not path.endswith(".pt"):
        return {}
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    ema = ckpt.get("ema") if isinstance(ckpt, dict) else None
    state = getattr(ema, "losskit_state", None) or {}
    return dict(state.get("wiou_mean", {}))


def _check_task(task, spec: _Spec) -> None:
    if task not in _TASKS:
        raise ValueError(
            f"losskit.integrations.ultralytics: task {task!r} has no box loss to replace "
            f"(expected one of {', '.join(_TASKS)})"
        )
    if task == "obb" and spec.kind != "xywhr":
        rotated = ", ".join(k for k, v in _TABLE.items() if v[1] == "xywhr")
        raise ValueError(f"name: an OBB model needs a rotated-box loss ({rotated}), got {spec.name!r}")
    if task != "obb" and spec.kind == "xywhr":
        raise ValueError(f"name: {spec.name!r} is a rotated-box loss; a {task} model takes an axis-aligned one")


class _OnPretrainRoutineEnd:
    """The trainer callback (a picklable object: DDP workers receive it with cloudpickle)."""

    def __init__(self, spec: _Spec):
        self.spec = spec

    def __call__(self, trainer) -> None:
        _install(trainer, self.spec)


class _OnTrainEpochEnd:
    """Writes the running means onto the EMA model before ultralytics saves it (the
    checkpoint's ``ema``), as a plain dict of numbers: loading needs no losskit."""

    def __call__(self, trainer) -> None:
        ema = getattr(getattr(trainer, "ema", None), "ema", None)
        if ema is not None and getattr(trainer, "losskit_box_loss", None):
            ema.losskit_state = _state_dict(trainer)


def use_box_loss(model_or_trainer: Any, name: str, *, assigner: bool = False, momentum: float | None = None, **options) -> None:
    r"""Make every later ``train()`` of a YOLO model use a losskit box loss.

    Args:
        model_or_trainer: an ``ultralytics.YOLO`` model (the usual case: the callback is
            added to the model and reaches the trainer each ``train()`` builds) or a trainer.
        name: the loss, one of :data:`LOSSES` (with or without the ``_loss`` suffix):
            ``iou``, ``giou``, ``diou``, ``ciou``, ``eiou``, ``focal_eiou``, ``siou``,
            ``alpha_iou``, ``wiou`` (v1-v3), ``mpdiou``, ``shape_iou``, ``piou``, ``nwd``,
            the modifiers ``inner_iou`` / ``focaler_iou`` (with ``base=`` and
            ``base_options=``), and for OBB models ``probiou``, ``kld``, ``gwd``,
            ``kfiou``, ``rotated_iou``.
        assigner: also rank the assigner's candidate anchors with the loss's similarity
            ``1 - loss`` (ultralytics' own CIoU / ProbIoU otherwise). Not for Wise-IoU
            v2/v3 or MPDIoU.
        momentum: Wise-IoU v2/v3's running-mean momentum; default the paper's
            ``1 - 0.05 ** (1 / (batches_per_epoch * epochs))`` of the run.
        **options: the loss's own options (``version=3``, ``constant=12.8``, ``ratio=0.8``,
            ``base="wiou", base_options={"version": 3}``, ``floor=0.01``, ...). ``fmt``,
            ``reduction``, ``iou_mean`` and ``image_size`` are set by this module.

    Raises:
        RuntimeError: an unsupported ultralytics version, or one that does not pass what the
            loss needs.
        ValueError / TypeError: an unknown loss, bad options, a task without boxes
            (classify, ...), an axis-aligned loss on an OBB model or the reverse.

    Notes:
        ultralytics' ``BboxLoss`` keeps its DFL / L1 term, its per-box weights (summed target
        scores) and its normalisation; the box gain ``box`` still multiplies the result. The
        loss is checked once on two tiny boxes here, so a bad option fails before training.
    """
    _check_version()
    spec = _Spec(name, options, momentum=momentum, assigner=assigner)
    spec.check()
    from ultralytics.engine.trainer import BaseTrainer

    if isinstance(model_or_trainer, BaseTrainer):
        _check_task(getattr(model_or_trainer.args, "task", None), spec)
    else:
        if not hasattr(model_or_trainer, "add_callback") or not hasattr(model_or_trainer, "task"):
            raise TypeError(
                "model_or_trainer: expected an ultralytics YOLO model or trainer, got "
                f"{type(model_or_trainer).__name__}"
            )
        _check_task(model_or_trainer.task, spec)
    model_or_trainer.add_callback("on_pretrain_routine_end", _OnPretrainRoutineEnd(spec))
    model_or_trainer.add_callback("on_train_epoch_end", _OnTrainEpochEnd())
    if isinstance(model_or_trainer, BaseTrainer) and getattr(model_or_trainer, "ema", None) is not None:
        # The trainer is past its setup (called from a later callback): install now.
        _install(model_or_trainer, spec)


def box_loss_state(model_or_trainer: Any) -> dict:
    """What :func:`use_box_loss` installed, as plain numbers.

    Returns:
        ``{"loss": name, "train": {branch: term}, "ema": {branch: term}}`` where ``term`` is
        ``{"wiou_mean": float or None, "updates": int}`` (``updates``: training batches that
        moved the mean) for each criterion branch (``main``, or ``one2many`` / ``one2one``).
    """
    trainer = getattr(model_or_trainer, "trainer", None) or model_or_trainer
    out: dict = {"loss": getattr(trainer, "losskit_box_loss", None), "train": {}, "ema": {}}
    sides = {"train": _unwrap(trainer.model), "ema": getattr(getattr(trainer, "ema", None), "ema", None)}
    for side, model in sides.items():
        for branch, term in _terms(model).items():
            snap = term.state.snapshot() if term.state is not None else {"mean": None, "updates": 0}
            out[side][branch] = {"wiou_mean": snap["mean"], "updates": snap["updates"]}
    return out
