"""`losskit plot`: one PNG per plot kind, derivatives, one-line errors with exit code 2.

The curve values are checked against closed forms derived by hand (in the comments), not
against our own output.
"""

import numpy as np
import pytest

import losskit
from losskit.cli import main
from losskit.experiments import curves

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    import matplotlib.image

    raw = path.read_bytes()
    assert raw.startswith(PNG_SIGNATURE)
    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].std()) > 0.01  # not a blank canvas


@pytest.mark.parametrize(
    "names",
    [
        ["mse", "huber_loss"],  # residual
        ["binary_cross_entropy_with_logits", "hinge_loss"],  # margin
        ["giou_loss", "diou_loss"],  # box: offset and scale panels
        ["dice_loss", "jaccard_loss"],  # dice
        ["mse", "hinge_loss", "giou_loss", "dice_loss"],  # every kind on one figure
    ],
    ids=["residual", "margin", "box", "dice", "mixed"],
)
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
def test_plot_writes_a_png_per_kind(tmp_path, capsys, names, grad):
    out = tmp_path / "sub" / "fig.png"
    argv = ["plot", *names, "--out", str(out)] + (["--grad"] if grad else [])
    assert main(argv) == 0
    _assert_png(out)
    assert str(out) in capsys.readouterr().out


def test_option_goes_to_the_losses_that_have_it(tmp_path):
    # delta is huber's option, not mse's: both are drawn, no error.
    assert main(["plot", "mse", "huber", "--option", "delta=0.5", "--out", str(tmp_path / "a.png")]) == 0
    # Box format given as a bare word (parsed as a string, not eval'ed).
    assert main(["plot", "giou", "--option", "fmt=cxcywh", "--out", str(tmp_path / "b.png")]) == 0


def test_residual_curves_match_hand_derivatives():
    r, v, g = _curve("mse_loss")
    np.testing.assert_allclose(v, r**2, atol=1e-12)  # (r - 0)^2
    np.testing.assert_allclose(g, 2 * r, atol=1e-12)  # d r^2 / dr
    r, v, g = _curve("huber_loss", delta=0.5)
    # Huber: r^2/2 inside |r| <= delta, delta (|r| - delta/2) outside; derivative clip(r).
    np.testing.assert_allclose(v, np.where(np.abs(r) <= 0.5, r**2 / 2, 0.5 * (np.abs(r) - 0.25)), atol=1e-12)
    np.testing.assert_allclose(g, np.clip(r, -0.5, 0.5), atol=1e-12)


def test_margin_curves_match_hand_derivatives():
    m, v, g = _curve("binary_cross_entropy_with_logits")
    # -log sigmoid(m) = softplus(-m); derivative -sigmoid(-m).
    np.testing.assert_allclose(v, np.logaddexp(0, -m), rtol=1e-10)
    np.testing.assert_allclose(g, -1 / (1 + np.exp(m)), rtol=1e-9, atol=1e-12)
    m, v, g = _curve("hinge_loss")
    np.testing.assert_allclose(v, np.maximum(0, 1 - m), atol=1e-12)
    off_kink = np.abs(m - 1) > 1e-9
    np.testing.assert_allclose(g[off_kink], np.where(m < 1, -1.0, 0.0)[off_kink], atol=1e-12)


def test_probability_losses_are_drawn_through_the_sigmoid():
    # binary_cross_entropy takes probabilities: drawn at p = sigmoid(m), so its curve is
    # softplus(-m) again and the chain rule dp/dm = p (1 - p) gives -sigmoid(-m).
    import dataclasses

    info = dataclasses.replace(losskit.get("binary_cross_entropy"), plot="margin")  # its plot kind is None
    (c,) = curves.loss_curves(info, grad=True)
    assert c.note.startswith("probabilities")
    np.testing.assert_allclose(c.value, np.logaddexp(0, -c.x), rtol=1e-6)
    np.testing.assert_allclose(c.grad, -1 / (1 + np.exp(c.x)), rtol=1e-5, atol=1e-9)


def test_box_curves_match_hand_derivations():
    # eps (default 1e-7, added to the union and enclosing areas) made negligible so the
    # closed forms hold to 1e-9.
    offset, scale = curves.loss_curves(losskit.get("giou_loss"), {"eps": 1e-12}, grad=True)
    d = np.abs(offset.x)
    # Unit box shifted by d: IoU = (1 - d)/(1 + d) while d < 1, enclosing box 1 + d, union
    # 1 + d (2 for d >= 1): GIoU loss = 2d / (1 + d) for every d, derivative 2 / (1 + d)^2.
    np.testing.assert_allclose(offset.value, 2 * d / (1 + d), atol=1e-9)
    away = d > 1e-6
    np.testing.assert_allclose(offset.grad[away], (np.sign(offset.x) * 2 / (1 + d) ** 2)[away], rtol=1e-6)
    s = scale.x
    # Scaled about the centre by s: IoU = s^2 (s < 1) or 1/s^2 (s > 1), enclosing = union.
    np.testing.assert_allclose(scale.value, np.where(s < 1, 1 - s**2, 1 - 1 / s**2), atol=1e-9)
    smooth = np.abs(np.log(s)) > 1e-9  # s = 1 is the kink: any subgradient will do there
    np.testing.assert_allclose(scale.grad[smooth], np.where(s < 1, -2 * s, 2 / s**3)[smooth], rtol=1e-6)


def test_box_format_option_draws_the_same_curve():
    ref = curves.loss_curves(losskit.get("giou_loss"), grad=True)
    for fmt in ("xywh", "cxcywh"):
        other = curves.loss_curves(losskit.get("giou_loss"), {"fmt": fmt}, grad=True)
        for a, b in zip(ref, other):
            np.testing.assert_allclose(a.value, b.value, atol=1e-9)
            np.testing.assert_allclose(a.grad, b.grad, atol=1e-7)


def test_dice_curve_matches_hand_derivation():
    (c,) = curves.loss_curves(losskit.get("dice_loss"), grad=True)
    p, s = c.x, 1e-5  # MONAI-style smooth_nr = smooth_dr = 1e-5
    # One foreground pixel: 1 - (2p + s)/(p + 1 + s); derivative -(2(1 + s) - (2p + s))... =
    # -(2 + s) / (p + 1 + s)^2.
    np.testing.assert_allclose(c.value, 1 - (2 * p + s) / (p + 1 + s), atol=1e-9)
    np.testing.assert_allclose(c.grad, -(2 + s) / (p + 1 + s) ** 2, rtol=1e-6)


def _curve(name, **options):
    (c,) = curves.loss_curves(losskit.get(name), options, grad=True)
    return c.x, c.value, c.grad


@pytest.mark.parametrize(
    "argv, message",
    [
        (["plot", "no_such_loss"], "expected a registered loss"),
        (["plot", "mse", "--option", "delta=1.0"], "unknown option 'delta'"),
        (["plot", "mse", "--option", "reduction='sum'"], "unknown option 'reduction'"),
        (["plot", "mse", "--option", "novalue"], "expected key=value"),
        (["plot", "cross_entropy"], "no 1-D curve"),
        (["plot", "mpdiou_loss"], "needs --option image_size"),
        (["plot", "huber", "--option", "delta=-1.0"], "delta"),
        (["plot", "mse", "--out", "figure.svg"], "expected a .png"),
    ],
    ids=["unknown-name", "unknown-option", "reduction", "no-equals", "no-curve", "required-option",
         "bad-value", "bad-out"],
)
def test_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("losskit plot: error:")
    assert message in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_option_values_are_literals_never_evaluated(tmp_path, monkeypatch, capsys):
    # A string that would do something if eval'ed is just a (bad) option value.
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "huber", "--option", "delta=__import__('os').getcwd()"]) == 2
    assert "delta" in capsys.readouterr().err


def test_required_option_given_draws(tmp_path):
    out = tmp_path / "mpdiou.png"
    assert main(["plot", "mpdiou_loss", "--grad", "--option", "image_size=(4.0, 4.0)", "--out", str(out)]) == 0
    _assert_png(out)


def test_without_torch_or_jax_derivatives_fall_back_to_central_differences(monkeypatch):
    """With only the `demo` extra installed (no torch, no jax), losses without a hand-derived
    gradient still get their derivative curve, numerically, and it matches autograd's."""
    import importlib.util

    names = [i.name for i in losskit.registry.infos() if i.plot == "residual" and i.grad is None]
    assert names  # e.g. quantile_loss, charbonnier_loss, msle_loss
    with_autograd = {n: curves.loss_curves(losskit.get(n), grad=True)[0] for n in names}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in ("torch", "jax") else real(name, *a))
    for n in names:
        (c,) = curves.loss_curves(losskit.get(n), grad=True)
        ref = with_autograd[n]
        assert "numerical derivative" in c.note
        # Values: NumPy here, torch float64 in the autograd path; equal to the last ulp or so.
        np.testing.assert_allclose(c.value, ref.value, rtol=1e-14)
        smooth = np.abs(c.x) > 1e-3  # central differences average the two sides of a kink at 0
        np.testing.assert_allclose(c.grad[smooth], ref.grad[smooth], atol=1e-7)
