"""The Gaussian view of rotated boxes and the losses built on it: ProbIoU, GWD, KLD, KFIoU.

A rotated box ``(cx, cy, w, h, angle)`` becomes the 2-D Gaussian N(mu, Sigma) with
mu = (cx, cy) and Sigma = R diag(k w^2, k h^2) R^T, R = R(angle) = [[cos, -sin], [sin, cos]]:

* ``variance="uniform"``, k = 1/12: the covariance of the uniform distribution over the box
  (ProbIoU, Llerena et al.; ultralytics' ``_get_covariance_matrix``);
* ``variance="gwd"``, k = 1/4: the box's half sizes as standard deviations (GWD, KLD and
  KFIoU, Yang et al.; mmrotate's ``xy_wh_r_2_xy_sigma``).

Every quantity below is written in the boxes' own frames -- variances p = k w^2, q = k h^2
along each box's width and height axes, and the relative angle phi = angle_pred -
angle_target -- instead of through the 2 x 2 matrices. Determinants then come out as sums
of non-negative terms (det(S1 + S2) = p1 q1 + p2 q2 + q1 (p2 c^2 + q2 s^2) + p1 (p2 s^2 +
q2 c^2), c = cos phi, s = sin phi) rather than ``a b - c^2`` differences that rounding
drives negative (ultralytics #10108, mmrotate #204/#240), and each distance is exactly 0
at pred == target.
"""

from __future__ import annotations

import math

from .._checks import check_bool, check_choice, check_number
from .._fastpath import fast_path, select
from .._reduce import reduce_loss
from .._xp import backend_name, subgrad_abs
from ._common import loss
from ._geometry import prepare, prepare_one, safe_sqrt, unpack

__all__ = ["rotated_box_to_gaussian", "probiou_loss", "gwd_loss", "kld_loss", "kfiou_loss"]

VARIANCES = {"uniform": 1.0 / 12.0, "gwd": 1.0 / 4.0}
FUNS = ("log1p", "sqrt", "none")
KLD_DIRECTIONS = ("pred_target", "target_pred", "symmetric", "max", "min")
KFIOU_FORMS = ("normalized", "linear", "exp", "ln")

_REF_PROBIOU = ("Llerena et al., Gaussian Bounding Boxes and Probabilistic Intersection-over-Union "
                "for Object Detection, 2021, arXiv:2106.06072")
_REF_GWD = ("Yang et al., Rethinking Rotated Object Detection with Gaussian Wasserstein Distance Loss, "
            "ICML 2021, arXiv:2101.11952")
_REF_KLD = ("Yang et al., Learning High-Precision Bounding Box for Rotated Object Detection via "
            "Kullback-Leibler Divergence, NeurIPS 2021, arXiv:2106.01883")
_REF_KFIOU = ("Yang et al., The KFIoU Loss for Rotated Object Detection, ICLR 2023, arXiv:2201.12558")


def rotated_box_to_gaussian(boxes, *, variance: str = "uniform", angle_unit: str = "radians"):
    r"""The 2-D Gaussian of rotated boxes: mean and covariance.

    .. math::

        \mu = (c_x, c_y), \qquad
        \Sigma = R(\theta) \begin{pmatrix} k w^2 & 0 \\ 0 & k h^2 \end{pmatrix} R(\theta)^T

    where :math:`R(\theta) = [[\cos\theta, -\sin\theta], [\sin\theta, \cos\theta]]` and
    :math:`k = 1/12` for ``variance="uniform"`` (the covariance of the uniform distribution
    over the box: ProbIoU, ultralytics) or :math:`k = 1/4` for ``variance="gwd"`` (half
    sizes as standard deviations: GWD, KLD, KFIoU, mmrotate).

    Args:
        boxes: rotated boxes of shape ``(..., 5)``: ``cx, cy, w, h, angle``.
        variance: ``"uniform"`` (default) or ``"gwd"``.
        angle_unit: ``"radians"`` (default) or ``"degrees"``.

    Returns:
        ``(mean, cov)`` of shapes ``(..., 2)`` and ``(..., 2, 2)``; float64 for float64
        boxes, float32 otherwise.

    References:
        Llerena et al., 2021, arXiv:2106.06072; Yang et al., 2021, arXiv:2101.11952.

    Example:
        >>> import numpy as np, losskit
        >>> mean, cov = losskit.rotated_box_to_gaussian(np.array([1.0, 2.0, 6.0, 2.0, np.pi / 2]), variance="gwd")
        >>> mean.tolist(), (np.round(cov, 4) + 0.0).tolist()  # w^2/4 = 9 now along y
        ([1.0, 2.0], [[1.0, 0.0], [0.0, 9.0]])
    """
    check_choice("variance", variance, tuple(VARIANCES))
    xp, b = prepare_one(boxes, angle_unit)
    cx, cy, w, h, c, s = unpack(b, xp)
    k = VARIANCES[variance]
    p, q = k * w * w, k * h * h
    sxx = p * c * c + q * s * s
    syy = p * s * s + q * c * c
    sxy = (p - q) * c * s
    mean = xp.stack([cx, cy], axis=-1)
    cov = xp.stack([xp.stack([sxx, sxy], axis=-1), xp.stack([sxy, syy], axis=-1)], axis=-2)
    return mean, cov


# --------------------------------------------------------------------------- shared terms


def _pair(p, t, xp, k, *, floor=0.0, min_size=None):
    """The two boxes in their frames: centre offset projected on each box's axes, the
    standard deviations (a, b) of pred and (A, B) of target, and cos/sin of the relative
    angle. ``floor`` is added to the variances; ``min_size`` clamps w and h from below."""
    cxp, cyp, wp, hp, cp, sp = unpack(p, xp)
    cxt, cyt, wt, ht, ct, st = unpack(t, xp)
    if min_size is not None:
        wp, hp = xp.clip(wp, min=min_size), xp.clip(hp, min=min_size)
        wt, ht = xp.clip(wt, min=min_size), xp.clip(ht, min=min_size)
    r = math.sqrt(k)
    if floor:
        a, b = xp.sqrt(k * wp * wp + floor), xp.sqrt(k * hp * hp + floor)
        A, B = xp.sqrt(k * wt * wt + floor), xp.sqrt(k * ht * ht + floor)
    else:  # sqrt(k w^2) = sqrt(k) |w|, with abs's finite gradient at w = 0
        a, b, A, B = r * wp, r * hp, r * wt, r * ht
    dx, dy = cxp - cxt, cyp - cyt
    # cos / sin of phi = angle_p - angle_t from the angle sum formulas: no more
    # transcendental calls than the two boxes' own (they dominate the CPU time).
    # Only their squares are used; cos^2 = 1 - sin^2 keeps identical angles exactly at
    # (1, 0), so identical boxes give exactly 0 in float32 too.
    s = sp * ct - cp * st
    s2 = s * s
    return dict(dx=dx, dy=dy, a=a, b=b, A=A, B=B, c2=1.0 - s2, s2=s2,
                cp=cp, sp=sp, ct=ct, st=st)


def _det_sum(g):
    """det(Sigma_p + Sigma_t) as a sum of non-negative terms (see the module docstring)."""
    p1, q1, p2, q2 = g["a"] ** 2, g["b"] ** 2, g["A"] ** 2, g["B"] ** 2
    c2, s2 = g["c2"], g["s2"]
    return p1 * q1 + p2 * q2 + q1 * (p2 * c2 + q2 * s2) + p1 * (p2 * s2 + q2 * c2)


def _project(g, which):
    """The centre offset on a box's width and height axes."""
    c, s = (g["cp"], g["sp"]) if which == "pred" else (g["ct"], g["st"])
    return c * g["dx"] + s * g["dy"], -s * g["dx"] + c * g["dy"]


def _check_post(fun, tau):
    check_choice("fun", fun, FUNS)
    if tau is not None:
        check_number("tau", tau, low=1.0)


def _post(d, fun, tau, xp):
    """mmrotate's post-processing ``1 - 1 / (tau + f(d))``; ``tau=None``: ``f(d)`` alone."""
    if fun == "log1p":
        d = xp.log1p(d)
    elif fun == "sqrt":
        d = safe_sqrt(d, xp)
    if tau is None:
        return d
    return 1.0 - 1.0 / (tau + d)


# --------------------------------------------------------------------------- fast paths

_TORCH_FLOATS = ("torch.float32", "torch.float64")


def _compiled_dtypes(p, t, **_):
    return p.dtype == t.dtype and str(p.dtype) in _TORCH_FLOATS


def _compiled_path(name, *, kernel, impl, options):
    """The fast path of ``kernel``: loss and local gradient in one compiled pass per box pair
    (:mod:`losskit.rotated_boxes._numba`) for every one of the loss's ``options``; the
    reference below everywhere else."""
    return fast_path(
        name, kernel=kernel, impl=impl, backend="torch", devices=("cpu",), requires="numba",
        when=f"float32 / float64 tensors, every {options}: loss and hand-derived gradient in one "
             "compiled pass per box pair, split over torch's intra-op threads",
        eligible=_compiled_dtypes,
    )


PROBIOU_NUMBA = _compiled_path("rotated_boxes.probiou_numba", kernel="rotated_boxes.probiou",
                               impl="losskit.rotated_boxes._numba:probiou", options="mode / floor / eps")
KLD_NUMBA = _compiled_path("rotated_boxes.kld_numba", kernel="rotated_boxes.kld",
                           impl="losskit.rotated_boxes._numba:kld",
                           options="direction / fun / tau / sqrt / eps")


# --------------------------------------------------------------------------- ProbIoU


def _bhattacharyya(p, t, xp, *, floor, eps):
    g = _pair(p, t, xp, VARIANCES["uniform"], floor=floor)
    det = _det_sum(g)
    # Delta^T adj(S) Delta with adj linear for 2 x 2: the sum over both boxes of
    # q (u . Delta)^2 + p (v . Delta)^2, each term >= 0.
    up, vp = _project(g, "pred")
    ut, vt = _project(g, "target")
    mahal = (g["b"] ** 2 * up * up + g["a"] ** 2 * vp * vp + g["B"] ** 2 * ut * ut + g["A"] ** 2 * vt * vt)
    # eps: the denominators of ultralytics' probiou, which keep zero-area boxes finite.
    t1 = 0.25 * mahal / (det + eps)
    t3 = 0.5 * xp.log((det + eps) / (4.0 * g["a"] * g["b"] * g["A"] * g["B"] + eps))
    # ultralytics clamps B_D to at most 100 (exp(-100) is 0 in float32); at least 0 here so
    # that identical boxes give exactly 0.
    return xp.clip(t1 + t3, min=0.0, max=100.0)


def _one_minus_exp_neg(x, xp):
    """1 - exp(-x) for x >= 0, accurate at small x (its Taylor series below 1e-3, where
    rounding 1 - exp(-x) would lose the digits the square root then magnifies). Not
    ``-expm1(-x)``: torch's CPU backward of expm1 is an order of magnitude slower than exp's."""
    small = x < 1e-3
    series = x * (1.0 - x * (0.5 - x / 6.0))
    return xp.where(small, series, 1.0 - xp.exp(-x))


@loss(
    formula=r"\mathcal{L}_{1} = \sqrt{1 - e^{-B_D(\mathcal{N}_p, \mathcal{N}_t)}}",
    reference=_REF_PROBIOU,
    aliases=("probiou",),
    fast_paths=(PROBIOU_NUMBA.name,),
)
def probiou_loss(pred, target, *, mode: str = "l1", floor: float = 0.0, angle_unit: str = "radians",
                 eps: float = 1e-7, reduction: str = "mean"):
    r"""ProbIoU loss: the Hellinger distance between the boxes' uniform-variance Gaussians.

    .. math::

        B_D = \tfrac{1}{8} \Delta^T \bar\Sigma^{-1} \Delta
              + \tfrac{1}{2} \ln \frac{\det \bar\Sigma}{\sqrt{\det\Sigma_p \det\Sigma_t}}, \qquad
        H_D = \sqrt{1 - e^{-B_D}}, \qquad
        \mathcal{L}_1 = H_D, \quad \mathcal{L}_2 = -\ln(1 - H_D^2) = B_D

    where :math:`\Sigma_p, \Sigma_t` are the covariances R diag(w^2/12 + f, h^2/12 + f) R^T
    of pred and target (:func:`rotated_box_to_gaussian` with ``variance="uniform"``, f the
    ``floor``), :math:`\bar\Sigma = (\Sigma_p + \Sigma_t) / 2`, :math:`\Delta` the centre
    offset, :math:`B_D` the Bhattacharyya distance (clamped to [0, 100]) and :math:`H_D` the
    Hellinger distance; ProbIoU is :math:`1 - H_D`.

    Args:
%(boxes)s
        mode: ``"l1"`` (default, :math:`H_D`, the paper's L1 and ultralytics' ``1 -
            probiou``) or ``"l2"`` (:math:`B_D`).
        floor: non-negative constant added to both variances of both boxes (ultralytics'
            ``floor``, PR #25007; its OBB loss passes 0.01): it bounds the gradient of
            sub-stride boxes. 0 (default) is the paper's Gaussian.
%(angle_unit)s
        eps: positive guard in the denominators, where ultralytics puts it.
%(reduction)s

    Returns:
        The per-box loss (``l1`` in [0, 1], ``l2`` in [0, 100]) of shape
        ``broadcast(pred, target).shape[:-1]`` for ``reduction="none"``, else its mean or sum
        (0 for an empty batch). float64 for float64 ``pred``, float32 otherwise (float16
        input, as under AMP, is computed in float32: ultralytics #18119).

    Notes:
        Matches ultralytics 8.4.190 ``1 - probiou(pred, target, floor=floor)`` except that
        ultralytics clamps :math:`B_D` at ``eps`` and adds ``eps`` under the square root, so
        its loss at pred == target is about 4.5e-4 rather than 0; here the square root has
        a finite (zero) gradient at 0 instead. Determinants are computed without the
        cancellation that makes ultralytics' covariance "not positive definite"
        (ultralytics #10108); zero width or height stays finite with ``floor=0``.

    References:
        Llerena et al., Gaussian Bounding Boxes and Probabilistic Intersection-over-Union for
        Object Detection, 2021, arXiv:2106.06072.

    Example:
        >>> import numpy as np, losskit
        >>> t = np.array([0.0, 0.0, 4.0, 2.0, 0.3]); p = np.array([1.0, 0.0, 4.0, 2.0, 0.3])
        >>> # same shape, so B_D = d^T S^-1 d / 8 = (cos^2 0.3 / (4/3) + sin^2 0.3 / (1/3)) / 8
        >>> round(float(losskit.probiou_loss(p, t, mode="l2")), 4)
        0.1183
    """
    check_choice("mode", mode, ("l1", "l2"))
    check_number("floor", floor, low=0.0)
    xp, p, t = prepare(pred, target, angle_unit, eps, reduction)
    impl = select("rotated_boxes.probiou", backend_name(xp), p, t)
    if impl is not None:
        out = impl(*xp.broadcast_arrays(p, t), mode=mode, floor=floor, eps=eps, k=VARIANCES["uniform"])
        return reduce_loss(out, reduction, xp)
    bd = _bhattacharyya(p, t, xp, floor=floor, eps=eps)
    out = bd if mode == "l2" else safe_sqrt(_one_minus_exp_neg(bd, xp), xp)
    return reduce_loss(out, reduction, xp)


# --------------------------------------------------------------------------- GWD


def _wasserstein2(p, t, xp):
    """Squared 2-Wasserstein distance and the sqrt(det Sp det St) of the GWD Gaussians."""
    g = _pair(p, t, xp, VARIANCES["gwd"])
    a, b, A, B, c2, s2 = g["a"], g["b"], g["A"], g["B"], g["c2"], g["s2"]
    x, y = a * A + b * B, a * B + b * A
    root = safe_sqrt(c2 * x * x + s2 * y * y, xp)  # Tr((Sp^1/2 St Sp^1/2)^1/2)
    den = c2 * x + s2 * y + root
    den = xp.where(den > 0, den, xp.ones_like(den))
    # Tr(Sp + St - 2 (Sp^1/2 St Sp^1/2)^1/2) without the cancellation of the trace form:
    # exactly 0 at equal shapes; the last term is 0 for aligned boxes and for squares.
    bures = (c2 * ((a - A) ** 2 + (b - B) ** 2) + s2 * ((a - B) ** 2 + (b - A) ** 2)
             - 2.0 * c2 * s2 * ((a - b) * (A - B)) ** 2 / den)
    return g["dx"] ** 2 + g["dy"] ** 2 + xp.clip(bures, min=0.0), a * b * A * B


@loss(
    formula=r"\mathcal{L}_{GWD} = 1 - \frac{1}{\tau + f(d^2)}",
    reference=_REF_GWD,
    aliases=("gwd",),
)
def gwd_loss(pred, target, *, fun: str = "log1p", tau: float | None = 1.0, sqrt: bool = False,
             normalize: bool = False, angle_unit: str = "radians", reduction: str = "mean"):
    r"""Gaussian Wasserstein distance loss between rotated boxes.

    .. math::

        d^2 = \lVert \mu_p - \mu_t \rVert^2
              + \mathrm{Tr}\big(\Sigma_p + \Sigma_t - 2 (\Sigma_p^{1/2} \Sigma_t \Sigma_p^{1/2})^{1/2}\big),
        \qquad \mathcal{L} = 1 - \frac{1}{\tau + f(d^2)}

    where :math:`\mu, \Sigma` are the boxes' Gaussians with half sizes as standard
    deviations (:func:`rotated_box_to_gaussian`, ``variance="gwd"``), :math:`d^2` the
    squared 2-Wasserstein distance, :math:`f` the ``fun`` (``log1p``: ln(1 + x); ``sqrt``;
    ``none``: x) and :math:`\tau` the ``tau``.

    Args:
%(boxes)s
%(fun)s
        tau: ``>= 1`` (default 1); ``None`` returns :math:`f` of the distance alone
            (mmrotate's ``tau < 1``).
        sqrt: apply :math:`f` to the distance :math:`d` instead of :math:`d^2`.
        normalize: divide the distance by mmrotate's scale
            :math:`2 (\det\Sigma_p \det\Sigma_t)^{1/8}` (:math:`d^2` by its square).
%(angle_unit)s
%(reduction)s

    Returns:
%(tau_returns)s

    Notes:
        The default follows the paper: :math:`f` applies to the squared distance
        :math:`d^2`. mmrotate's ``gwd_loss`` (``GDLoss(loss_type="gwd", fun="log1p",
        tau=1.0)``) applies it to the normalised distance: ``gwd_loss(..., sqrt=True,
        normalize=True)``. The trace term is computed in a cancellation-free form, so the
        loss is exactly 0 at pred == target and finite for zero-size boxes.

    References:
        Yang et al., Rethinking Rotated Object Detection with Gaussian Wasserstein Distance
        Loss, ICML 2021, arXiv:2101.11952.

    Example:
        >>> import numpy as np, losskit
        >>> t = np.array([0.0, 0.0, 4.0, 2.0, 0.0]); p = np.array([3.0, 4.0, 4.0, 2.0, 0.0])
        >>> round(float(losskit.gwd_loss(p, t, fun="none")), 4)  # d^2 = 25: 1 - 1 / 26
        0.9615
    """
    _check_post(fun, tau)
    check_bool("sqrt", sqrt)
    check_bool("normalize", normalize)
    xp, p, t = prepare(pred, target, angle_unit, None, reduction)
    d2, det_root = _wasserstein2(p, t, xp)
    if normalize:
        # mmrotate's scale 2 (det Sp det St)^(1/8), clamped at 1e-7 as there.
        scale = xp.clip(2.0 * safe_sqrt(safe_sqrt(det_root, xp), xp), min=1e-7)
        d2 = d2 / (scale * scale)
    d = safe_sqrt(d2, xp) if sqrt else d2
    return reduce_loss(_post(d, fun, tau, xp), reduction, xp)


# --------------------------------------------------------------------------- KLD


def _kl(p, t, xp, *, min_size, reverse=False):
    """KL(N_p || N_t) of the GWD Gaussians (``reverse``: KL(N_t || N_p))."""
    if reverse:
        p, t = t, p
    g = _pair(p, t, xp, VARIANCES["gwd"], min_size=min_size)
    p1, q1, p2, q2 = g["a"] ** 2, g["b"] ** 2, g["A"] ** 2, g["B"] ** 2
    c2, s2 = g["c2"], g["s2"]
    ut, vt = _project(g, "target")
    mahal = ut * ut / p2 + vt * vt / q2
    # Tr(St^-1 Sp) - 2 - ln(det Sp / det St), grouped as sums of x - 1 - ln x >= 0.
    lr1, lr2 = xp.log(p1 / p2), xp.log(q1 / q2)
    shape = (c2 * ((p1 / p2 - 1.0 - lr1) + (q1 / q2 - 1.0 - lr2))
             + s2 * ((p1 / q2 - 1.0 - lr1) + (q1 / p2 - 1.0 - lr2)))
    return 0.5 * (mahal + xp.clip(shape, min=0.0))


@loss(
    formula=r"\mathcal{L}_{KLD} = 1 - \frac{1}{\tau + f(D_{KL}(\mathcal{N}_p \Vert \mathcal{N}_t))}",
    reference=_REF_KLD,
    aliases=("kld",),
    fast_paths=(KLD_NUMBA.name,),
)
def kld_loss(pred, target, *, fun: str = "log1p", tau: float | None = 1.0, sqrt: bool = False,
             direction: str = "pred_target", angle_unit: str = "radians", eps: float = 1e-7,
             reduction: str = "mean"):
    r"""Kullback-Leibler divergence loss between the Gaussians of rotated boxes.

    .. math::

        D_{KL}(\mathcal{N}_p \Vert \mathcal{N}_t) = \tfrac{1}{2} \Big(
            \Delta^T \Sigma_t^{-1} \Delta + \mathrm{Tr}(\Sigma_t^{-1} \Sigma_p) - 2
            + \ln \frac{\det \Sigma_t}{\det \Sigma_p} \Big),
        \qquad \mathcal{L} = 1 - \frac{1}{\tau + f(D_{KL})}

    where :math:`\mathcal{N}_p, \mathcal{N}_t` are the boxes' Gaussians with half sizes as
    standard deviations (:func:`rotated_box_to_gaussian`, ``variance="gwd"``),
    :math:`\Delta = \mu_p - \mu_t`, :math:`f` the ``fun`` and :math:`\tau` the ``tau``.

    Args:
%(boxes)s
%(fun)s
        tau: ``>= 1`` (default 1); ``None`` returns :math:`f` of the divergence alone.
        sqrt: apply :math:`f` to :math:`\sqrt{D}` instead of :math:`D` (mmrotate's default).
        direction: ``"pred_target"`` (default, the paper's :math:`D_{KL}(N_p \Vert N_t)`),
            ``"target_pred"`` (:math:`D_{KL}(N_t \Vert N_p)`, mmrotate's ``kld_loss``),
            ``"symmetric"`` (their mean, mmrotate's ``jd_loss``), ``"max"`` / ``"min"``
            (mmrotate's ``kld_symmax_loss`` / ``kld_symmin_loss``).
%(angle_unit)s
        eps: widths and heights are clamped to at least ``eps`` (as mmrotate's 1e-7), so
            a zero-size box has an invertible covariance.
%(reduction)s

    Returns:
%(tau_returns)s

    Notes:
        The default follows the paper: :math:`f` applies to the divergence itself, in the
        direction :math:`D_{KL}(N_p \Vert N_t)`. mmrotate's ``GDLoss(loss_type="kld",
        fun="log1p", tau=1.0)`` is ``kld_loss(..., sqrt=True, direction="target_pred")``.
        The trace and log-determinant terms are grouped as sums of :math:`x - 1 - \ln x
        \ge 0`, so the loss is exactly 0 at pred == target.

    References:
        Yang et al., Learning High-Precision Bounding Box for Rotated Object Detection via
        Kullback-Leibler Divergence, NeurIPS 2021, arXiv:2106.01883.

    Example:
        >>> import numpy as np, losskit
        >>> t = np.array([0.0, 0.0, 4.0, 2.0, 0.0]); p = np.array([2.0, 0.0, 4.0, 2.0, 0.0])
        >>> round(float(losskit.kld_loss(p, t, fun="none")), 4)  # D = 1/2 * 2^2 / 4 = 0.5
        0.3333
    """
    _check_post(fun, tau)
    check_bool("sqrt", sqrt)
    check_choice("direction", direction, KLD_DIRECTIONS)
    xp, p, t = prepare(pred, target, angle_unit, eps, reduction)
    impl = select("rotated_boxes.kld", backend_name(xp), p, t)
    if impl is not None:
        out = impl(*xp.broadcast_arrays(p, t), direction=direction, sqrt=sqrt, fun=fun, tau=tau, eps=eps,
                   k=VARIANCES["gwd"])
        return reduce_loss(out, reduction, xp)
    if direction in ("pred_target", "target_pred"):
        d = _kl(p, t, xp, min_size=eps, reverse=direction == "target_pred")
    else:
        fwd, rev = _kl(p, t, xp, min_size=eps), _kl(p, t, xp, min_size=eps, reverse=True)
        d = {"symmetric": 0.5 * (fwd + rev), "max": xp.maximum(fwd, rev), "min": xp.minimum(fwd, rev)}[direction]
    if sqrt:
        d = safe_sqrt(d, xp)
    return reduce_loss(_post(d, fun, tau, xp), reduction, xp)


# --------------------------------------------------------------------------- KFIoU


def _kfiou(p, t, xp, *, eps):
    g = _pair(p, t, xp, VARIANCES["gwd"])
    a, b, A, B = g["a"], g["b"], g["A"], g["B"]
    vp, vt = 4.0 * a * b, 4.0 * A * B  # V = 4 sqrt(det Sigma): the box areas
    # det of the Kalman product Sp - Sp (Sp + St)^-1 Sp = Sp (Sp + St)^-1 St:
    # det Sp det St / det(Sp + St), so V(S) = 4 a b A B / sqrt(det(Sp + St)).
    root = safe_sqrt(_det_sum(g), xp)
    v = 4.0 * a * b * A * B / xp.where(root > 0, root, xp.ones_like(root))
    # eps: two zero-area boxes give 0 / eps = 0 instead of 0 / 0.
    return v / (vp + vt - v + eps)


@loss(
    formula=r"\mathcal{L}_{KFIoU} = 1 - 3\,\frac{V_S}{V_p + V_t - V_S}",
    reference=_REF_KFIOU,
    aliases=("kfiou",),
)
def kfiou_loss(pred, target, *, form: str = "normalized", center_beta: float | None = None,
               angle_unit: str = "radians", eps: float = 1e-7, reduction: str = "mean"):
    r"""KFIoU loss: the Kalman-filter overlap of the boxes' Gaussians, normalised to 0 at a match.

    .. math::

        \Sigma_S = \Sigma_p - \Sigma_p (\Sigma_p + \Sigma_t)^{-1} \Sigma_p, \qquad
        \mathrm{KFIoU} = \frac{V_S}{V_p + V_t - V_S + \epsilon}, \qquad
        \mathcal{L} = 1 - 3\,\mathrm{KFIoU}

    where :math:`\Sigma_p, \Sigma_t` are the boxes' covariances with half sizes as standard
    deviations (:func:`rotated_box_to_gaussian`, ``variance="gwd"``), :math:`V = 4
    \sqrt{\det \Sigma}` (for a box: its area) and :math:`\epsilon` the ``eps`` guard.

    Args:
%(boxes)s
        form: ``"normalized"`` (default, :math:`1 - 3\,\mathrm{KFIoU}`, 0 at pred ==
            target since KFIoU's maximum is 1/3 there) or mmrotate's un-normalised forms
            ``"linear"`` (:math:`1 - \mathrm{KFIoU}`, its default), ``"exp"``
            (:math:`e^{1 - \mathrm{KFIoU}} - 1`) and ``"ln"`` (:math:`-\ln(\mathrm{KFIoU} +
            \epsilon)`).
        center_beta: ``None`` (default) or the ``beta`` of a smooth-L1 term on the centre
            offsets added to the loss (mmrotate adds one with beta 1/9 on its encoded
            offsets): KFIoU alone does not see the centres.
%(angle_unit)s
        eps: positive guard in the denominator.
%(reduction)s

    Returns:
        The per-box loss (``normalized``: in [0, 1]) of shape
        ``broadcast(pred, target).shape[:-1]`` for ``reduction="none"``, else its mean or
        sum (0 for an empty batch). float64 for float64 ``pred``, float32 otherwise.

    Notes:
        The Kalman product's determinant is :math:`\det\Sigma_p \det\Sigma_t /
        \det(\Sigma_p + \Sigma_t)`, computed from the boxes' sizes without a matrix
        inverse (mmrotate #205 reports NaN from ``inverse`` and ``sqrt`` of a negative
        determinant).

    References:
        Yang et al., The KFIoU Loss for Rotated Object Detection, ICLR 2023, arXiv:2201.12558.

    Example:
        >>> import numpy as np, losskit
        >>> t = np.array([0.0, 0.0, 4.0, 2.0, 0.0]); p = np.array([0.0, 0.0, 2.0, 2.0, 0.0])
        >>> # V_S = 4 * 1 * 1 * 2 * 1 / sqrt(det(diag(5, 2))) = 8 / sqrt(10); KFIoU = V_S / (4 + 8 - V_S)
        >>> round(float(losskit.kfiou_loss(p, t)), 4)
        0.1986
    """
    check_choice("form", form, KFIOU_FORMS)
    if center_beta is not None:
        check_number("center_beta", center_beta, low=0.0, low_open=True)
    xp, p, t = prepare(pred, target, angle_unit, eps, reduction)
    k = _kfiou(p, t, xp, eps=eps)
    if form == "normalized":
        out = 1.0 - 3.0 * k
    elif form == "linear":
        out = 1.0 - k
    elif form == "exp":
        out = xp.exp(1.0 - k) - 1.0
    else:
        out = -xp.log(k + eps)
    if center_beta is not None:
        for dc in (p[..., 0] - t[..., 0], p[..., 1] - t[..., 1]):
            ad = subgrad_abs(dc, xp)
            out = out + xp.where(ad < center_beta, 0.5 * ad * ad / center_beta, ad - 0.5 * center_beta)
    return reduce_loss(out, reduction, xp)
