"""Requests from samples, prediction lines from model outputs, torn-line recovery."""

import hashlib
import math
from pathlib import Path

import pytest

from ibench.protocol.suite import load_tasks
from ibench.protocol.templates import load_families
from ibench.records import Request, Sample
from ibench.run.folder import append_lines, read_lines, repair_torn_tail
from ibench.run.plan import PlanFailure, chosen_ids, plan_items
from ibench.run.predictions import logsumexp, rank_line


def _samples(n: int) -> list[Sample]:
    return [Sample(id=f"q{i}", media=Path(f"/x/{i}.jpg"), fields={"question": f"Q{i}?"},
                   references={"answer": "a"}) for i in range(n)]


def test_seeded_subset_same_whatever_the_order():
    samples = _samples(50)
    first = chosen_ids(samples, "gqa", 10, seed=3)
    assert first == chosen_ids(list(reversed(samples)), "gqa", 10, seed=3) and len(first) == 10
    assert chosen_ids(samples, "gqa", 10, seed=4) != first
    assert chosen_ids(samples, "gqa", None, seed=0) is None
    # the 10 smallest sha256 keys, computed here directly from the definition
    keys = sorted((hashlib.sha256(f"3\0gqa\0{s.id}".encode()).hexdigest(), s.id) for s in samples)
    assert first == {sid for _, sid in keys[:10]}


def test_plan_renders_and_records_bad_samples():
    task = load_tasks()["gqa"]
    templates = list(load_families()["vqa"].templates[:2])
    bad = Sample(id="bad", media=Path("/x.jpg"), fields={}, references={"answer": "a"})
    items = list(plan_items(task, [*_samples(2), bad], templates))
    requests = [i for i in items if isinstance(i, Request)]
    failures = [i for i in items if isinstance(i, PlanFailure)]
    assert [(r.sample_id, r.template_id) for r in requests] == [
        ("q0", "vqa-01"), ("q0", "vqa-02"), ("q1", "vqa-01"), ("q1", "vqa-02")]
    assert requests[1].prompt == "Question: Q0?"
    assert [(f.sample_id, f.status) for f in failures] == [("bad", "render_error")] * 2
    assert "needs field 'question'" in failures[0].reason


def test_verbalizer_record_hand_computed():
    task = load_tasks()["hateful_memes"]
    request = Request("hateful_memes", "1", "hateful-01", "p", "rank", Path("/x"),
                      candidates=("yes", "true", "no", "false"))
    scores = [math.log(0.2), math.log(0.1), math.log(0.3), math.log(0.3)]
    record = rank_line(task, request, scores).to_json()
    # positive: log(0.2 + 0.1), negative: log(0.3 + 0.3) -> score log(0.5) < 0 -> "no"
    assert record["score"] == pytest.approx(math.log(0.5))
    assert record["choice"] == 0 and record["prediction"] == "no"
    assert logsumexp([0.0, 0.0]) == pytest.approx(math.log(2))


def test_vocabulary_record_keeps_top_and_first_max():
    task = load_tasks()["msrvtt_qa"]
    candidates = tuple(f"a{i}" for i in range(150))
    scores = [-float(i % 7) for i in range(150)]
    request = Request("msrvtt_qa", "1", "video_qa-01", "p", "rank", Path("/x"), candidates)
    record = rank_line(task, request, scores).to_json()
    assert record["choice"] == 0 and record["prediction"] == "a0"  # first of the ties at 0
    assert "scores" not in record and len(record["top"]) == 10 and record["top"][1][0] == "a7"


def test_torn_last_line_is_dropped_and_repaired(tmp_path):
    path = tmp_path / "p.jsonl"
    append_lines(path, [{"a": 1}, {"a": 2}])
    with path.open("a") as handle:
        handle.write('{"a": 3, "b"')
    assert [r["a"] for r in read_lines(path)] == [1, 2]
    repair_torn_tail(path)
    append_lines(path, [{"a": 4}])
    assert [r["a"] for r in read_lines(path)] == [1, 2, 4]


def test_nan_scores_are_failures_not_predictions():
    task = load_tasks()["vsr"]
    request = Request("vsr", "1", "true_false-01", "p", "rank", Path("/x"),
                      candidates=("yes", "true", "no", "false"))
    record = rank_line(task, request, [-1.0, float("nan"), -2.0, -3.0]).to_json()
    assert record["status"] == "nan_score" and "'true'" in record["reason"]
    assert record["prediction"] is None


def test_damaged_lines_are_named(tmp_path):
    from ibench.run.folder import RunDir, RunError
    from ibench.run.predictions import load_predictions

    path = tmp_path / "p.jsonl"
    path.write_bytes('{"a": 1}\n{"a": "é'.encode()[:-1])  # torn inside a UTF-8 character
    assert list(read_lines(path)) == [{"a": 1}]
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(RunError, match="p.jsonl: line 2 is not valid JSON"):
        list(read_lines(path))
    run = RunDir(tmp_path / "run")
    append_lines(run.predictions("gqa"), [{"template_id": "vqa-05", "status": "ok"}])
    with pytest.raises(RunError, match="has no field 'sample_id'"):
        load_predictions(run, "gqa")


def test_ok_line_beats_an_older_or_newer_failure(tmp_path):
    from ibench.run.folder import RunDir
    from ibench.run.predictions import load_predictions

    run = RunDir(tmp_path)
    line = {"sample_id": "1", "template_id": "t"}
    append_lines(run.predictions("gqa"), [{**line, "status": "ok", "prediction": "a"}])
    append_lines(run.predictions("gqa", "part-0"), [{**line, "status": "media_error"}])
    assert load_predictions(run, "gqa")[("1", "t")].status == "ok"

