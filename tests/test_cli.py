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


# --------------------------------------------------------------------------- malformed and unsupported files
# One test per class of bad file (issue 20, class 14): exit 2, one line naming the file and
# what is wrong, no traceback; never a silent wrong answer.


def _npy_bytes(arr) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _expect_one_line_error(capsys, path, *fragments, argv=None):
    code, out, err = run(capsys, *(argv or ["eval", "mse", str(path), "[0.0]"]))
    assert code == 2, (code, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert str(path) in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_empty_npy(tmp_path, capsys):
    p = tmp_path / "empty.npy"
    p.write_bytes(b"")
    _expect_one_line_error(capsys, p, "empty file")


def test_corrupt_npz(tmp_path, capsys):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.arange(3.0))
    p = tmp_path / "corrupt.npz"
    p.write_bytes(good.read_bytes()[:40])  # a zip cut short: no central directory
    _expect_one_line_error(capsys, p, "cannot read an array")
    p.write_bytes(b"not a zip at all")
    _expect_one_line_error(capsys, p, "not a .npz archive")


def test_npz_member_that_is_not_npy(tmp_path, capsys):
    import zipfile

    p = tmp_path / "member.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("x.npy", b"hello, this is not an array")
    _expect_one_line_error(capsys, p, "not a .npy file")


def test_zip_content_named_npy(tmp_path, capsys):
    p = tmp_path / "archive.npy"
    np.savez(tmp_path / "a.npz", x=np.arange(3.0))
    p.write_bytes((tmp_path / "a.npz").read_bytes())
    _expect_one_line_error(capsys, p, "a zip archive, not a .npy file")
    q = tmp_path / "array.npz"  # and the other way round
    q.write_bytes(_npy_bytes(np.arange(3.0)))
    _expect_one_line_error(capsys, q, "a .npy file, not a .npz archive")


def test_huge_or_lying_npy_header(tmp_path, capsys):
    # a header of 60 kB (numpy refuses to parse it; it used to print a multi-line message)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), " + " " * 60000 + "}\n"
    p = tmp_path / "huge_header.npy"
    p.write_bytes(b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header.encode() + b"\0" * 24)
    _expect_one_line_error(capsys, p, "corrupt .npy header")
    # a header declaring 10^12 float64 values over 24 bytes of data (was a MemoryError)
    data = bytearray(_npy_bytes(np.zeros(3)))
    text = data.decode("latin1").replace("(3,)", "(10**12,)".replace("10**12", "1000000000000"))
    q = tmp_path / "lying.npy"
    q.write_bytes(text.encode("latin1"))
    _expect_one_line_error(capsys, q, "truncated or corrupt", "(1000000000000,)")


@pytest.mark.parametrize("arr, fragment", [
    (np.array([1 + 2j, 3 - 1j]), "complex"),
    (np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"), "dates"),
    (np.array([1, 2], dtype="timedelta64[s]"), "time spans"),
    (np.array(["a", "b"]), "text"),
    (np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]), "structured"),
], ids=["complex", "datetime", "timedelta", "str", "structured"])
def test_arrays_that_are_not_real_numbers_are_refused(tmp_path, capsys, arr, fragment):
    p = tmp_path / "bad.npy"
    np.save(p, arr)
    _expect_one_line_error(capsys, p, "expected real numbers", fragment)
    q = tmp_path / "bad.npz"
    np.savez(q, x=arr)
    _expect_one_line_error(capsys, q, "expected real numbers", fragment)
    # as the target too (not only the prediction, which is cast to float64)
    _expect_one_line_error(capsys, p, fragment, argv=["eval", "mse", "[0.0, 0.0]", str(p)])


def test_object_arrays_are_never_unpickled(tmp_path, capsys):
    p = tmp_path / "objects.npy"
    np.save(p, np.array([1, "x", None], dtype=object), allow_pickle=True)
    _expect_one_line_error(capsys, p, "Python objects")
    q = tmp_path / "objects.npz"
    np.savez(q, x=np.array([{"a": 1}], dtype=object))
    _expect_one_line_error(capsys, q, "Python objects")


def test_csv_integer_beyond_int64(tmp_path, capsys):
    p = tmp_path / "big.csv"
    p.write_text("1,12345678901234567890123\n")
    _expect_one_line_error(capsys, p, "12345678901234567890123 does not fit in 64 bits")
    p.write_text("0,1\n9223372036854775807,-9223372036854775808\n")  # the int64 range itself loads
    code, out, err = run(capsys, "eval", "mse", "[[0.0, 0.0], [0.0, 0.0]]", str(p))
    assert code == 0, err
    # a ragged CSV: one line
    p.write_text("1,2\n3\n")
    _expect_one_line_error(capsys, p, "rows of different lengths")
    # literals: an integer beyond int64 and a complex number are refused as well
    code, _, err = run(capsys, "eval", "mse", "[0.0]", "[12345678901234567890123]")
    assert code == 2 and "do not fit in 64 bits" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "eval", "mse", "[0.0]", "[1j]")
    assert code == 2 and "complex" in err


def test_simulate_out_pointing_at_a_file(tmp_path, capsys):
    p = tmp_path / "taken"
    p.write_text("x")
    code, _, err = run(capsys, "simulate", "boxes", "--points", "1", "--iterations", "1", "--out", str(p), "--no-plot")
    assert code == 2 and "exists and is not a folder" in err and str(p) in err
    assert len(err.strip().splitlines()) == 1 and p.read_text() == "x"


def test_malformed_file_through_the_console_script_has_no_traceback(tmp_path):
    p = tmp_path / "empty.npy"
    p.write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "losskit", "eval", "mse", str(p), "[0.0]"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


# --------------------------------------------------------------------------- NumPy-only losses


def test_textbook_eval_grad_uses_the_hand_derived_gradient(capsys):
    code, out, err = run(capsys, "eval", "mean_squared_error", "[0.5, 1.0]", "[0.0, 1.0]", "--grad")
    assert code == 0, err
    # 0.5 * 0.5^2 = 0.125; gradient y - t = [0.5, 0]
    assert "= 0.125" in out and "[0.5 0. ]" in out
    code, out, err = run(capsys, "eval", "cross_entropy_error", "[0.5, 0.5]", "1", "--grad")
    assert code == 0, err
    assert "gradient with respect to y" in out


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_numpy_only_loss_on_another_backend_is_a_one_line_error(capsys, backend):
    code, _, err = run(capsys, "eval", "mean_squared_error", "[0.5]", "[0.0]", "--backend", backend)
    assert code == 2 and "runs on numpy arrays only; --backend " + backend in err
    assert len(err.strip().splitlines()) == 1


def test_info_of_a_textbook_loss_names_its_numpy_backend_and_import_path(capsys):
    code, out, _ = run(capsys, "info", "mean_squared_error")
    assert code == 0 and "backends: numpy" in out and "losskit.textbook.mean_squared_error" in out
