"""`ibench paper` end to end, offline (issue 24): tiny stand-ins passed as local copies of two
published checkpoints over the synthetic sample pack: plan (ready and missing items, each with
its command), run (resumed), shares 1/2 and 2/2 as separate processes give the table one
process gives, the table in every format (cells, intervals, verdicts, the stand-in flag) and
explain."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.protocol.paper import held_out_order, reference_rows
from ibench.protocol.suite import load_tasks

TABLE1 = dict(reference_rows())


@pytest.fixture(scope="module", name="stand_ins")
def _stand_ins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from ibench.models.tiny.checkpoints import make_tiny

    root = tmp_path_factory.mktemp("stand-ins")
    return {"vicuna-7b": make_tiny("vicuna", root / "A"), "flan-t5-xl": make_tiny("t5", root / "B")}


@pytest.fixture(scope="module", name="paper_folder")
def _paper_folder(tmp_path_factory, stand_ins, sample_pack, ibench_cache) -> Path:
    """`paper run --limit 2` of the two stand-ins, in one process: the first model alone,
    then both (the first's run is found complete and kept)."""
    out = tmp_path_factory.mktemp("paper") / "P"
    models = f"vicuna-7b={stand_ins['vicuna-7b']},flan-t5-xl={stand_ins['flan-t5-xl']}"
    for chosen in (f"vicuna-7b={stand_ins['vicuna-7b']}", models):
        result = _cli("paper", "run", "--models", chosen, "--data-root", str(sample_pack),
                      "--output", str(out), "--limit", "2", cache=ibench_cache)
        assert result.returncode == 0, result.stderr[-2000:]
    assert "is already complete with these settings" in result.stdout + result.stderr
    return out


def _env(cache: Path, hf_home: Path | None = None) -> dict[str, str]:
    """A separate ibench process's environment: offline, the session's cache, one thread."""
    env = {**os.environ, "IBENCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    return env


def _cli(*args: str, cache: Path, hf_home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ibench", *args], env=_env(cache, hf_home),
                          capture_output=True, text=True, timeout=600)


def _cells(capsys, folder: Path) -> list[dict]:
    """`paper table --format json`'s cells, less where each run folder is."""
    code, text, _ = run_cli(capsys, "paper", "table", "--output", str(folder), "--format",
                            "json")
    assert code == 0
    return [{k: v for k, v in c.items() if k != "run"} for c in json.loads(text)["cells"]]


def test_plan_on_an_empty_data_root_lists_everything_missing(tmp_path, ibench_cache):
    (tmp_path / "data").mkdir()
    result = _cli("paper", "plan", "--data-root", str(tmp_path / "data"), "--json",
                  cache=ibench_cache, hf_home=tmp_path / "hf")
    assert result.returncode == 1, result.stderr
    plan = json.loads(result.stdout)
    missing = plan["missing"]
    datasets = [i["name"] for i in missing if i["kind"] == "dataset"]
    checkpoints = [i["name"] for i in missing if i["kind"] == "checkpoint"]
    assert datasets == list(held_out_order())
    assert sorted(checkpoints) == ["blip2-flan-t5-xl", "blip2-flan-t5-xxl", "flan-t5-xl",
                                   "flan-t5-xxl", "vicuna-13b", "vicuna-7b"]
    assert all(item["fix"] for item in missing)
    fixes = {i["name"]: i["fix"] for i in missing}
    assert fixes["vicuna-7b"][0] == "hf download Salesforce/instructblip-vicuna-7b"
    assert fixes["gqa"][0] == f"ibench data download gqa --data-root {tmp_path / 'data'}"
    assert "visualdialog.org" in fixes["visdial"][0]  # no mirror: the publisher and layout
    assert "visdial/visdial_1.0_val.json" in fixes["visdial"][0]
    assert "never released" in plan["not_published"]
    # the projection: every dataset's requests are its split's size; a stated estimate
    tasks = load_tasks()
    assert {d["task"]: d["requests"] for d in plan["datasets"]} == {
        t: tasks[t].eval_size for t in held_out_order()}
    assert plan["throughput"].startswith("estimated")
    assert plan["projected_hours_total"] > 0


def test_plan_on_a_half_filled_root(tmp_path, sample_pack, stand_ins, ibench_cache, capsys):
    root = tmp_path / "data"
    for task in ("gqa", "vsr"):
        spec = load_tasks()[task]
        folder = spec.data.files[next(iter(spec.data.files))].split("/")[0]
        shutil.copytree(sample_pack / folder, root / folder)
    code, out, err = run_cli(capsys, "paper", "plan", "--data-root", str(root), "--models",
                             f"vicuna-7b={stand_ins['vicuna-7b']},flan-t5-xl={tmp_path / 'no'}",
                             "--json")
    assert code == 1, err
    plan = json.loads(out)
    ready = {i["name"] for i in plan["items"] if i["ready"]}
    assert ready == {"gqa", "vsr", "vicuna-7b"}
    fixes = {i["name"]: i["fix"] for i in plan["missing"]}
    assert fixes["flan-t5-xl"] == [
        f"hf download Salesforce/instructblip-flan-t5-xl --local-dir {tmp_path / 'no'}"]
    code, out, err = run_cli(capsys, "paper", "plan", "--data-root", str(root), "--models",
                             f"vicuna-7b={stand_ins['vicuna-7b']}", "--tasks", "gqa,vsr")
    assert code == 0, err
    assert "ready: everything asked is here" in out


def test_a_measured_throughput_file_is_used_and_named(tmp_path, capsys, monkeypatch):
    from ibench.paper.throughput import write_throughput

    path = tmp_path / "throughput.json"
    write_throughput(path, "NVIDIA H100", "2026-12-01", {"vicuna": {"short": 0.5},
                                                         "t5": {"short": 0.25}})
    monkeypatch.setenv("IBENCH_THROUGHPUT", str(path))
    code, out, _ = run_cli(capsys, "paper", "plan", "--data-root", str(tmp_path), "--tasks",
                           "gqa", "--models", "vicuna-7b,vicuna-13b,flan-t5-xl", "--json")
    plan = json.loads(out)
    assert plan["throughput"].startswith("measured by bench/gpu.py on NVIDIA H100")
    requests = load_tasks()["gqa"].eval_size
    seconds = plan["projected_seconds"]
    assert seconds["vicuna-7b"]["gqa"] == pytest.approx(requests * 0.5, abs=0.1)
    assert seconds["vicuna-13b"]["gqa"] == pytest.approx(requests * 0.5 * 13.0 / 6.7, abs=0.1)
    assert seconds["flan-t5-xl"]["gqa"] == pytest.approx(requests * 0.25, abs=0.1)


def test_table_json_has_2_x_13_cells_with_numbers_intervals_and_verdicts(paper_folder, capsys):
    code, out, err = run_cli(capsys, "paper", "table", "--output", str(paper_folder),
                             "--format", "json")
    assert code == 0, err
    table = json.loads(out)
    cells = table["cells"]
    assert len(cells) == 26
    assert [c["task"] for c in cells[:13]] == list(held_out_order())
    assert [r["model"] for r in table["rows"]] == ["flan-t5-xl", "vicuna-7b"]  # Table 1 order
    paper = {(c["model"], c["task"]): c["paper"] for c in cells}
    # the paper's Table 1 (arXiv 2305.06500), copied by hand
    assert paper["vicuna-7b", "gqa"] == 49.2 and paper["vicuna-7b", "textvqa"] == 50.1
    assert paper["flan-t5-xl", "nocaps"] == 119.9 and paper["flan-t5-xl", "ivqa"] == 53.1
    for cell in cells:
        assert cell["paper"] == TABLE1[cell["row"]][cell["task"]]
        assert cell["ours"] is not None and cell["low"] <= cell["ours"] <= cell["high"]
        assert cell["diff"] == pytest.approx(cell["ours"] - cell["paper"])
        # stand-ins on the sample pack, two samples: scored, never comparable, and why
        assert cell["verdict"] == "not comparable"
        assert any(w.startswith("a stand-in model") for w in cell["why"])
        assert "a subset (--limit 2), not the whole split" in cell["why"]
    vizwiz = next(c for c in cells if c["task"] == "vizwiz")
    assert any("test-dev" in w for w in vizwiz["why"])
    # the row average is the paper's: the mean of the 13 cells
    first = table["rows"][0]
    ours = [c["ours"] for c in cells if c["model"] == first["model"]]
    assert first["average"]["ours"] == pytest.approx(sum(ours) / 13)


def test_a_verdict_within_or_off_from_the_interval(paper_folder, tmp_path, capsys):
    # the same run made comparable by hand (a copy whose manifest has no stand-in, full
    # split, publisher data): within when the paper's number is in the interval, else off
    import ibench.paper.table as table_module
    from ibench.paper.models import PaperModel
    from ibench.run.schema import TaskMetrics

    model = PaperModel("vicuna-7b", "Salesforce/instructblip-vicuna-7b",
                       "InstructBLIP (Vicuna-7B)")

    class Plain:
        settings: dict = {}
        demo: list = []

    def scores(value, low, high):
        return {"gqa": TaskMetrics("gqa", "scored", "vqa", value, low, high, 10,
                                   headline_is_zero_shot=True)}

    within = table_module.cell_for(model, tmp_path, Plain(), "gqa", scores(48.0, 45.0, 51.0),
                                   {"gqa": 49.2})
    off = table_module.cell_for(model, tmp_path, Plain(), "gqa", scores(40.0, 38.0, 42.0),
                                {"gqa": 49.2})
    missing = table_module.cell_for(model, tmp_path, Plain(), "gqa", {}, {"gqa": 49.2})
    assert (within.verdict, off.verdict, missing.verdict) == ("within", "off", "not run")
    assert off.diff == pytest.approx(-9.2)


def test_table_in_every_format(paper_folder, capsys):
    code, out, _ = run_cli(capsys, "paper", "table", "--output", str(paper_folder))
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "InstructBLIP (Vicuna-7B)" in out and "95% interval" in out
    assert "every scored cell: a stand-in model" in out
    code, out, _ = run_cli(capsys, "paper", "table", "--output", str(paper_folder),
                           "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 26 and rows[0]["verdict"] == "not comparable"
    code, out, _ = run_cli(capsys, "paper", "table", "--output", str(paper_folder),
                           "--format", "md")
    assert out.count("| nocaps |") == 2
    code, out, _ = run_cli(capsys, "paper", "table", "--output", str(paper_folder),
                           "--format", "latex")
    assert r"\begin{tabular}" in out and "InstructBLIP (FlanT5XL) &" in out
    code, out, _ = run_cli(capsys, "paper", "table", "--output", str(paper_folder),
                           "--format", "html")
    page = (paper_folder / "table.html").read_text()
    assert page.count('href="vicuna-7b/report.html#leaderboard"') == 13
    assert "background:rgb(" in page


def test_explain_a_cell(paper_folder, capsys):
    code, out, err = run_cli(capsys, "paper", "explain", "vicuna-7b", "gqa", "--output",
                             str(paper_folder), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["template"]["id"] and record["template"]["text"] == load_tasks()["gqa"].prompt
    assert {row["argument"] for row in record["decoding"]} >= {"num_beams", "max_length"}
    assert all("lavis" in row["source"].lower() for row in record["decoding"])
    assert record["checkpoint"]["stand_in"]
    assert record["run"]["predictions"].endswith("vicuna-7b/predictions/gqa.jsonl")
    assert record["data"]["fingerprint"]
    code, out, err = run_cli(capsys, "paper", "explain", "vicuna-13b", "gqa", "--output",
                             str(paper_folder))
    assert code == 1 and "no run of 'vicuna-13b'" in err


def test_two_shares_as_separate_processes_give_the_same_table(paper_folder, stand_ins,
                                                              sample_pack, ibench_cache,
                                                              tmp_path, capsys):
    out = tmp_path / "S"
    models = f"vicuna-7b={stand_ins['vicuna-7b']},flan-t5-xl={stand_ins['flan-t5-xl']}"
    args = ["paper", "run", "--models", models, "--data-root", str(sample_pack), "--output",
            str(out), "--limit", "2"]
    env = _env(ibench_cache)
    shares = [subprocess.Popen([sys.executable, "-m", "ibench", *args, "--shard", share],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for share in ("1/2", "2/2")]
    results = [p.communicate(timeout=600) for p in shares]
    assert all(p.returncode == 0 for p in shares), [r[1][-1500:] for r in results]
    assert not list(out.glob("*/predictions/*.part-*"))  # merged by the last share

    assert _cells(capsys, out) == _cells(capsys, paper_folder)
    for model in ("vicuna-7b", "flan-t5-xl"):
        for task in held_out_order():
            one = (paper_folder / model / "predictions" / f"{task}.jsonl").read_text()
            two = (out / model / "predictions" / f"{task}.jsonl").read_text()
            assert [json.loads(x) | {"seconds": 0} for x in one.splitlines()] == [
                json.loads(x) | {"seconds": 0} for x in two.splitlines()], (model, task)


def test_bad_models_option_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "paper", "plan", "--data-root", str(tmp_path), "--models",
                           "tiny-t5")
    assert code == 1 and "not a published Table 1 checkpoint" in err
    code, _, err = run_cli(capsys, "paper", "plan", "--data-root", str(tmp_path), "--tasks",
                           "okvqa")
    assert code == 1 and "not a Table 1 dataset" in err


def test_an_interrupted_paper_run_resumes_to_the_same_table(paper_folder, stand_ins,
                                                            sample_pack, ibench_cache,
                                                            tmp_path, capsys):
    import signal
    import time

    out = tmp_path / "I"
    models = f"vicuna-7b={stand_ins['vicuna-7b']},flan-t5-xl={stand_ins['flan-t5-xl']}"
    args = [sys.executable, "-m", "ibench", "paper", "run", "--models", models, "--data-root",
            str(sample_pack), "--output", str(out), "--limit", "2"]
    env = _env(ibench_cache)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("*/predictions/*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the batch in flight is saved
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-1500:]
    assert "run the same command to resume" in err
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-1500:]

    assert _cells(capsys, out) == _cells(capsys, paper_folder)


def test_text_from_a_run_folder_is_escaped_in_every_format(tmp_path):
    # a reason quoting run-folder text (a mirror's repo name) with each format's specials
    from ibench.paper.formats import RENDERERS
    from ibench.paper.models import PaperModel
    from ibench.paper.table import Cell, PaperTable

    model = PaperModel("vicuna-7b", "Salesforce/instructblip-vicuna-7b",
                       "InstructBLIP (Vicuna-7B)")
    hostile = "repo a|b_$x&{y}% <script>\x1b[31m"
    table = PaperTable(tmp_path, rows=[(model, tmp_path / "run\x1b[2J", None)],
                       cells=[Cell("vicuna-7b", model.row, task, 49.2, 40.0, 38.0, 42.0,
                                   "not comparable", [hostile], str(tmp_path))
                              for task in held_out_order()])
    md = RENDERERS["md"](table)
    assert "a\\|b" in md and "&lt;script&gt;" in md and "\x1b" not in md
    latex = RENDERERS["latex"](table)
    assert "\x1b" not in latex and "InstructBLIP (Vicuna-7B) &" in latex
    page = RENDERERS["html"](table)
    assert "<script>" not in page and "&lt;script&gt;" in page
    text = RENDERERS["text"](table)
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert "\n" in text  # ibench's own line breaks kept
    rows = list(csv.DictReader(io.StringIO(RENDERERS["csv"](table))))
    assert rows[0]["why"] == hostile  # csv is exact (a file's content)
