"""`losskit list`, `info` and `eval`: output, safe loading, one-line errors with exit 2."""

import subprocess
import sys

import numpy as np
import pytest

import losskit
from losskit.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_loss_by_family(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in losskit.names():
        assert name in out
    assert "regression" in out and "classification" in out


def test_list_markdown_and_family_filter(capsys):
    code, out, _ = run(capsys, "list", "--family", "regression", "--markdown")
    assert code == 0
    assert out.startswith("| loss | family |")
    assert "`mse_loss`" in out and "`cross_entropy`" not in out
    code, _, err = run(capsys, "list", "--family", "nope")
    assert code == 2 and "family: expected one of" in err


def test_info_by_alias(capsys):
    code, out, _ = run(capsys, "info", "mse")
    assert code == 0
    assert "mse_loss" in out and "reduction" in out and "formula" in out


def test_eval_inline_literals(capsys):
    # mean of squared residuals (1^2 + 2^2) / 2 = 2.5
    code, out, _ = run(capsys, "eval", "mse", "[1.0, 2.0]", "[0.0, 0.0]")
    assert code == 0
    assert "= 2.5" in out


def test_eval_files_options_reduction_and_grad(tmp_path, capsys):
    x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    y = np.array([0, 2])
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "y.npz", labels=y)
    code, out, _ = run(
        capsys, "eval", "cross_entropy", str(tmp_path / "x.npy"), str(tmp_path / "y.npz") + ":labels",
        "--reduction", "none", "--grad",
    )
    assert code == 0
    lse = np.log(np.exp(x).sum(axis=1))
    expected = lse - x[np.arange(2), y]
    for v in expected:
        assert f"{v:.6f}"[:6] in out
    assert "gradient with respect to" in out
    csv = tmp_path / "t.csv"
    csv.write_text("0.5,1.5\n")
    code, out, _ = run(capsys, "eval", "huber", "[0.0, 0.0]", str(csv), "--option", "delta=1.0")
    # huber(0.5) = 0.125, huber(1.5) = 1.5 - 0.5 = 1.0 -> mean 0.5625
    assert code == 0 and "= 0.5625" in out


def test_csv_labels_with_a_comment_line_load_as_integers(tmp_path, capsys):
    # The integer test reads the numbers only: a '# ...' line with an 'e' or a '.' in it
    # must not turn class labels into floats (which cross_entropy rejects as targets).
    labels = tmp_path / "labels.csv"
    labels.write_text("# true classes, one per sample.\n0,2\n")
    code, out, err = run(capsys, "eval", "cross_entropy", "[[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]]", str(labels))
    assert code == 0, err
    x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    expected = np.mean(np.log(np.exp(x).sum(axis=1)) - x[[0, 1], [0, 2]])
    assert float(out.split("=")[1]) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["info", "not_a_loss"], "expected a registered loss"),
        (["eval", "mse", "missing.npy", "[0.0]"], "no such file"),
        (["eval", "mse", "[1.0]", "[0.0]", "--option", "nokey"], "expected key=value"),
        (["eval", "mse", "[1.0]", "[0.0]", "--option", "delta=2"], "unknown option(s) delta"),
        (["eval", "mse", "[1.0]"], "takes 2 array(s)"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_csv_without_numbers_is_a_one_line_error(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("# no data rows\n\n")
    code, _, err = run(capsys, "eval", "mse", str(empty), "[0.0]")
    assert code == 2 and "no numbers" in err
    assert len(err.strip().splitlines()) == 1


def test_pickled_npy_is_refused(tmp_path, capsys):
    obj = np.array([{"a": 1}], dtype=object)
    np.save(tmp_path / "evil.npy", obj, allow_pickle=True)
    code, _, err = run(capsys, "eval", "mse", str(tmp_path / "evil.npy"), "[0.0]")
    assert code == 2 and "cannot read an array" in err


def test_console_script_runs_without_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "losskit", "info", "no_such_loss"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_eval_list_options_become_arrays_and_tuples_stay(capsys):
    # weighted cross-entropy: per-sample losses l0, l1 weighted by class weights w[y]
    x = np.array([[2.0, 0.0], [0.0, 1.0]])
    lse = np.log(np.exp(x).sum(axis=1))
    l = lse - np.array([x[0, 0], x[1, 1]])
    expected = (1.0 * l[0] + 3.0 * l[1]) / 4.0
    code, out, err = run(capsys, "eval", "cross_entropy", "[[2.0, 0.0], [0.0, 1.0]]", "[0, 1]",
                         "--option", "weight=[1.0, 3.0]")
    assert code == 0, err
    assert f"= {expected:.6g}" in out
    # MPDIoU: IoU 1/7; both corner distances squared are 2; W^2 + H^2 = 640^2 + 480^2
    code, out, err = run(capsys, "eval", "mpdiou", "[[0.0, 0.0, 2.0, 2.0]]", "[[1.0, 1.0, 3.0, 3.0]]",
                         "--option", "image_size=(640, 480)")
    assert code == 0, err
    assert float(out.split("=")[1]) == pytest.approx(1 - (1 / 7 - 4 / (640**2 + 480**2)), rel=1e-5)
