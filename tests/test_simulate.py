"""`losskit simulate boxes`: the DIoU paper's simulation set-up and its qualitative findings."""

import csv

import numpy as np
import pytest

from losskit.cli import main
from losskit.experiments import box_simulation as sim

torch = pytest.importorskip("torch")


def test_cases_follow_the_paper():
    anchors, targets = sim.make_cases(points=3, seed=1)
    assert anchors.shape == targets.shape == (3 * 7 * 7 * 7, 4)
    assert sim.cases_count(5000) == 1_715_000
    # targets: centred at (10, 10), area 1, the 7 aspect ratios
    np.testing.assert_allclose(targets[:, :2], 10.0)
    np.testing.assert_allclose(targets[:, 2] * targets[:, 3], 1.0)
    np.testing.assert_allclose(sorted(set(np.round(targets[:, 2] / targets[:, 3], 6))), np.round(sim.ASPECT_RATIOS, 6))
    # anchors: centres within radius 3 of (10, 10); areas are the 7 scales; 7 aspect ratios
    assert np.all(np.hypot(anchors[:, 0] - 10, anchors[:, 1] - 10) <= 3.0)
    np.testing.assert_allclose(sorted(set(np.round(anchors[:, 2] * anchors[:, 3], 6))), sim.SCALES)
    # every point carries all 7 x 7 x 7 combinations
    assert len(set(map(tuple, np.round(anchors[:343, 2:], 6)))) == 49


def test_learning_rate_schedule():
    assert [sim.learning_rate(i) for i in (1, 160, 161, 180, 181, 200)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


def test_iou_loss_stalls_without_overlap_while_the_others_converge():
    runs = {name: sim.simulate(name, points=4, iterations=200, seed=0) for name in ("iou", "giou", "diou", "ciou")}
    start = runs["iou"].errors[0]
    assert all(r.errors[0] == start for r in runs.values())  # same cases for every loss
    # IoU loss has no gradient for non-overlapping cases: most of the error never moves.
    assert runs["iou"].errors[-1] > 0.5 * start
    # The penalty terms give every case a gradient: GIoU, DIoU and CIoU all converge.
    for name in ("giou", "diou", "ciou"):
        assert runs[name].errors[-1] < 0.02 * start, name
    # CIoU's aspect-ratio term fixes the shape DIoU leaves: lowest final error.
    assert runs["ciou"].errors[-1] < runs["diou"].errors[-1]
    assert all(r.nan_cases == 0 for r in runs.values())


def test_cli_writes_csv_png_and_summary(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["simulate", "boxes", "--losses", "giou,diou", "--points", "2", "--iterations", "12",
                 "--out", str(out)])
    assert code == 0
    rows = list(csv.reader(open(out / "simulation.csv")))
    assert rows[0] == ["iteration", "giou_loss", "diou_loss"]
    assert len(rows) == 13 + 1
    back = sim.read_csv(out / "simulation.csv")
    assert [r.loss for r in back] == ["giou_loss", "diou_loss"]
    assert back[0].errors[0] == pytest.approx(float(rows[1][1])) and len(back[0].errors) == 13
    assert (out / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "error@1" in text and "NaN cases" in text


def test_cli_unknown_loss_is_a_one_line_error(tmp_path, capsys):
    code = main(["simulate", "boxes", "--losses", "giou,mse", "--out", str(tmp_path)])
    assert code == 2
    assert "expected box losses" in capsys.readouterr().err
