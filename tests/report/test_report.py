"""Leaderboard formats and compare on runs with known per-sample differences."""

import csv
import io
import json

import pytest
from run_fixtures import make_run

from ibench.protocol.paper import held_out_order, reference_rows
from ibench.protocol.suite import load_tasks
from ibench.report.compare import compare_runs
from ibench.report.leaderboard import build_leaderboard
from ibench.report.render import render_board

LABELS = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
# A right on samples 0-4; B right on 0-3 and 5-7: B better on 5, 6, 7; A better on 4.
A = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
B = [1, 1, 1, 1, 0, 1, 1, 1, 0, 0]


def test_reference_table_matches_task_files():
    tasks = load_tasks()
    for model, values in reference_rows():
        for task_id in held_out_order():
            assert values[task_id] == tasks[task_id].reference.get(model), (model, task_id)


def test_compare_hand_checked(tmp_path):
    a = make_run(tmp_path, "a", A, LABELS)
    b = make_run(tmp_path, "b", B, LABELS, template="true_false-02",
                 settings={"templates": "true_false-02"})
    result = compare_runs(a, b, n_resamples=500)
    (row,) = [r.result for r in result.rows]
    assert (row.value_a, row.value_b, row.difference) == (50.0, 70.0, 20.0)
    assert (row.better_in_a, row.better_in_b, row.ties, row.n) == (1, 3, 6, 10)
    assert row.low <= 20.0 <= row.high and row.low < row.high
    assert ("templates", "eval", "true_false-02") in result.manifest_diff


def test_compare_p_value_is_the_two_sided_bootstrap_probability(tmp_path):
    """B - A per sample is +100 on 3 samples, -100 on 1, 0 on 6. A bootstrap resample draws 10
    of them: its mean difference is <= 0 when it draws at most as many +100 as -100, with the
    multinomial probability P = sum over k- >= k+ of 10!/(k-! k+! k0!) 0.1^k- 0.3^k+ 0.6^k0
    = 0.2122. The two-sided p-value is 2P = 0.4244; 4,000 resamples estimate it within 0.013
    (one standard deviation)."""
    from math import factorial

    exact = sum(factorial(10) / (factorial(m) * factorial(p) * factorial(10 - m - p))
                * 0.1 ** m * 0.3 ** p * 0.6 ** (10 - m - p)
                for m in range(11) for p in range(11 - m) if p <= m)
    assert round(2 * exact, 4) == 0.4244
    a = make_run(tmp_path, "a", A, LABELS)
    b = make_run(tmp_path, "b", B, LABELS)
    (row,) = [r.result for r in compare_runs(a, b, n_resamples=4000, seed=3).rows]
    assert abs(row.p_value - 2 * exact) < 0.05


def test_compare_identical_runs_not_significant(tmp_path):
    a = make_run(tmp_path, "a", A, LABELS)
    b = make_run(tmp_path, "b", A, LABELS)
    (row,) = [r.result for r in compare_runs(a, b, n_resamples=300).rows]
    assert row.difference == 0 and row.p_value == 1.0 and row.better_in_a == row.better_in_b == 0


def test_compare_warns_on_protocol_and_sample_differences(tmp_path):
    a = make_run(tmp_path, "a", A, LABELS)
    b = make_run(tmp_path, "b", A[:8], LABELS[:8], settings={"limit": 8})
    result = compare_runs(a, b, n_resamples=200)
    text = " ".join(result.warnings)
    assert "protocol settings (limit)" in text
    assert "run A scored 10 samples, run B 8; compared on the 8" in text
    assert result.rows[0].result.n == 8


def test_compare_names_another_models_protocol(tmp_path):
    a = make_run(tmp_path, "a", A, LABELS)
    b = make_run(tmp_path, "b", B, LABELS, model="llava-hf/llava-1.5-7b-hf")
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["model_info"] = {"family": "llava", "protocol_differences": [
        "the prompt is the user turn of its chat template", "576 image tokens"]}
    (b / "manifest.json").write_text(json.dumps(manifest))
    text = " | ".join(compare_runs(a, b, n_resamples=100).warnings)
    assert ("run B is llava, not InstructBLIP; its protocol differs: the prompt is the user "
            "turn of its chat template; 576 image tokens") in text
    assert "mixes the model change with a change of prompt format" in text
    assert "run A is llava" not in text and "run A is tiny" not in text
    same = compare_runs(b, b, n_resamples=100).warnings  # the same model: listed, not mixed
    assert any("run A is llava" in w for w in same) and not any("mixes" in w for w in same)


def test_leaderboard_formats(tmp_path):
    run = make_run(tmp_path, "a", A, LABELS, model="Salesforce/instructblip-vicuna-7b")
    board = build_leaderboard([run])
    names = [name for name, _ in board.rows]
    assert names[0] == "Flamingo-3B" and any(n.startswith("a (") for n in names)
    diff = dict(board.rows)["  difference to InstructBLIP (Vicuna-7B)"]
    assert diff["vsr"] == pytest.approx(50.0 - 54.3)
    parsed = json.loads(render_board(board, "json"))
    assert parsed["columns"][:2] == ["nocaps", "flickr30k"] and parsed["columns"][-1] == "average"
    rows = list(csv.reader(io.StringIO(render_board(board, "csv"))))
    assert rows[0][0] == "model" and len(rows) == len(board.rows) + 1
    md = render_board(board, "md")
    assert md.startswith("| model | nocaps |") and "| 50.0 |" in md
    latex = render_board(board, "latex")
    assert "\\begin{tabular}" in latex and "InstructBLIP (Vicuna-7B)" in latex
    no_ref = build_leaderboard([run], include_reference=False)
    assert not any(n.startswith("Flamingo") for n, _ in no_ref.rows)
    # paper average over the 13 columns: InstructBLIP (FlanT5XL), hand-summed from Table 1
    values = dict(board.rows)["InstructBLIP (FlanT5XL)"]
    assert values["average"] == pytest.approx(742.0 / 13)  # 119.9+84.5+...+53.1


def test_leaderboard_notes_what_a_reader_must_know(tmp_path):
    run = make_run(tmp_path, "lim", A, LABELS, template="true_false-02",
                   settings={"limit": 10})
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["tasks"]["vsr"]["headline_is_zero_shot"] = False
    metrics["tasks"]["vsr"]["failures"] = {"media_error": 2}
    (run / "metrics.json").write_text(json.dumps(metrics))
    other = make_run(tmp_path, "full", A, LABELS)
    notes = " | ".join(build_leaderboard([run, other]).notes)
    assert "--limit 10: a seeded subset" in notes
    assert "vsr is scored with template true_false-02, not the zero-shot prompt" in notes
    assert "vsr: 2 failed requests scored as wrong" in notes
    assert "the runs differ in limit" in notes
