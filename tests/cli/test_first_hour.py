"""The commands of a researcher's first hour (issue 25): ibench's own multi-line messages keep
their line breaks; FlanT5 against Vicuna is the protocol's own comparison (no protocol
warning); compare leads with the numbers and fits 80 columns; a folder of runs is a
leaderboard; a task skipped whole is recorded; a user's own task reaches a table."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.protocol.suite import in_table_order, load_tasks


@pytest.fixture(scope="module")
def held_out(tmp_path_factory, sample_pack, ibench_cache):
    """Held-out runs of both tiny models, each on its architecture's protocol, and a Vicuna run
    whose decoding departs from it (--gen-kwargs num_beams=1)."""
    root = tmp_path_factory.mktemp("first-hour")

    class Quiet:  # run_cli reads what was printed from a capsys-like object
        def readouterr(self):
            return type("Out", (), {"out": "", "err": ""})()

    for name, args in (("t5", ["--model", "tiny-t5"]), ("vicuna", ["--model", "tiny-vicuna"]),
                       ("greedy", ["--model", "tiny-vicuna", "--gen-kwargs", "num_beams=1"])):
        code, _, _ = run_cli(Quiet(), "eval", *args, "--split", "held-out", "--data-root",
                             str(sample_pack), "--output", str(root), "--run-name", name)
        assert code == 0
    return root


# ---------------------------------------------------------------------------- line breaks


def test_a_model_not_in_the_cache_is_a_message_of_real_lines(capsys, tmp_path, sample_pack,
                                                            monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    code, _, err = run_cli(capsys, "eval", "--model", "Salesforce/instructblip-vicuna-7b",
                           "--tasks", "gqa", "--data-root", str(sample_pack), "--output",
                           str(tmp_path / "out"))
    assert code == 1 and "\\n" not in err
    lines = err.splitlines()
    assert lines[0].startswith("error: model 'Salesforce/instructblip-vicuna-7b' is not in the "
                               "local Hugging Face cache")
    assert "  hf download Salesforce/instructblip-vicuna-7b" in lines
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_resume_refusal_is_a_message_of_real_lines(capsys, tmp_path, sample_pack,
                                                      ibench_cache):
    common = ["--model", "tiny-t5", "--tasks", "gqa", "--data-root", str(sample_pack),
              "--output", str(tmp_path), "--run-name", "r"]
    assert run_cli(capsys, "eval", *common)[0] == 0
    code, _, err = run_cli(capsys, "eval", *common, "--limit", "2")
    assert code == 1 and "\\n" not in err
    lines = err.splitlines()
    assert lines[0].endswith("was made with other settings and cannot be resumed:")
    assert "  limit: stored None, now 2" in lines
    assert lines[-1] == "Use another --run-name for a new run."


def test_data_check_missing_lines_are_real_lines(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path), "--tasks",
                           "vsr")
    assert code == 1 and "\\n" not in out
    lines = out.splitlines()
    at = lines.index(f"vsr: missing {tmp_path / 'vsr/zeroshot/test.jsonl'} (annotations)")
    assert lines[at + 1].startswith("    published at https://github.com/cambridgeltl")


def test_text_from_a_run_folder_keeps_its_line_breaks_escaped(capsys, tmp_path):
    run = tmp_path / "x\nerror: forged"
    run.mkdir()
    (run / "manifest.json").write_text("{not json")
    code, _, err = run_cli(capsys, "leaderboard", str(run))
    assert code == 1 and err.count("\n") == 1 and "x\\nerror: forged" in err


# ------------------------------------------------------------------------------- compare


def test_flant5_against_vicuna_is_no_protocol_change(capsys, held_out):
    data = json.loads(run_cli(capsys, "compare", str(held_out / "t5"), str(held_out / "vicuna"),
                              "--json")[1])
    assert not any("protocol" in w for w in data["warnings"]), data["warnings"]
    differing = {d["setting"] for d in data["manifest_diff"]}
    # the architecture's own decoding values differ, leaf by leaf, and nothing else but the model
    assert "model" in differing and "decoding.gqa.effective.length_penalty" in differing
    assert all(s == "model" or s.startswith("decoding.") and ".effective." in s
               for s in differing), differing
    data = json.loads(run_cli(capsys, "compare", str(held_out / "t5"), str(held_out / "greedy"),
                              "--json")[1])
    assert any("protocol settings (gen_kwargs)" in w for w in data["warnings"])
    html = held_out / "both.html"
    assert run_cli(capsys, "report", str(held_out / "t5"), str(held_out / "vicuna"), "-o",
                   str(html))[0] == 0
    assert "not directly comparable" not in html.read_text(encoding="utf-8")


def test_compare_at_80_columns_leads_with_the_numbers(capsys, held_out, monkeypatch):
    from rich.console import Console

    import ibench.cli.display as display

    screen = io.StringIO()
    console = Console(file=screen, width=80, soft_wrap=False, color_system=None)
    monkeypatch.setattr(display, "console", lambda stderr=False: console)
    code, _, _ = run_cli(capsys, "compare", str(held_out / "t5"), str(held_out / "vicuna"))
    lines = screen.getvalue().splitlines()
    assert code == 0 and len(lines) <= 60 and max(map(len, lines)) <= 80
    header = next(line for line in lines if "task" in line)
    assert header.split() == ["┃", "task", "┃", "A", "┃", "B", "┃", "B", "-", "A", "┃", "95%",
                              "interval", "┃", "p", "┃"]
    assert "B - A (A = t5, B = vicuna)" in " ".join(lines[:3])  # the short run names
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    assert [r[0].strip() for r in rows] == in_table_order(
        [t for t, s in load_tasks().items() if s.split == "held-out"])
    for row in rows:  # every number whole on its line: A, B, B - A, [low, high], p
        assert all(cell.strip() for cell in row)
        float(row[1]), float(row[2]), float(row[3]), float(row[5])
        low, high = row[4].strip().strip("[]").split(",")
        float(low), float(high)


# ------------------------------------------------------------------------- leaderboards


def test_a_folder_of_runs_is_a_leaderboard(capsys, held_out, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("t5", "vicuna"):
        shutil.copytree(held_out / name, folder / name)
    (folder / "failed").mkdir()
    (folder / "failed" / ".lock").write_text("{}")  # what a failed model load once left
    (folder / "notes.txt").write_text("stray")
    code, out, err = run_cli(capsys, "leaderboard", str(folder), "--format", "csv")
    assert code == 0, err
    names = [row[0] for row in csv.reader(io.StringIO(out))]
    assert "t5 (tiny-t5, DEMO)" in names and "vicuna (tiny-vicuna, DEMO)" in names
    assert f"note: skipped {folder / 'failed'}: not an ibench run" in err
    assert f"note: skipped {folder / 'notes.txt'}: not an ibench run (a file)" in err
    code, out, err = run_cli(capsys, "leaderboard", *sorted(map(str, folder.iterdir())),
                             "--format", "csv")
    assert code == 0 and "t5 (tiny-t5, DEMO)" in out


def test_the_average_of_a_board_has_no_float_noise(capsys, held_out):
    out = run_cli(capsys, "leaderboard", "--format", "csv")[1]
    row = next(r for r in csv.reader(io.StringIO(out)) if r[0] == "BLIP-2 (FlanT5XL)")
    assert row[-1] == "49.8"  # the mean of Table 1's 13 values (649.4 / 13), not 49.800000000000004


def test_a_skipped_task_is_recorded_with_its_reason(capsys, sample_pack, ibench_cache,
                                                   tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_pack, data)
    (data / load_tasks()["vsr"].data.files["annotations"]).unlink()
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                             "--data-root", str(data), "--output", str(tmp_path), "--run-name",
                             "part")
    assert code == 0, err
    run = tmp_path / "part"
    entry = json.loads((run / "metrics.json").read_text())["tasks"]["vsr"]
    assert entry["status"] == "skipped" and "vsr: data missing" in entry["reason"]
    assert "vsr skipped: vsr: data missing" in (run / "leaderboard.md").read_text()
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Tasks not run" in html and "<b>vsr</b> skipped: vsr: data missing" in html
    assert not (run / ".lock").exists()  # a finished run keeps no lock file
    # eval shows the run's two columns, not the 13 of Table 1 (the full table: leaderboard)
    header = next(line for line in out.splitlines() if "model" in line and "┃" in line)
    assert "gqa" in header and "vsr" in header and "nocaps" not in header


def test_a_users_own_task_and_template_reach_a_table(capsys, sample_pack, ibench_cache,
                                                    tmp_path, monkeypatch):
    import ibench.resources

    monkeypatch.setattr(ibench.resources, "_INCLUDED", [])  # this test's folder, then none
    mine = tmp_path / "mine"
    (mine / "tasks").mkdir(parents=True)
    (mine / "templates").mkdir()
    (mine / "templates" / "my_vqa.yaml").write_text(
        "family: my_vqa\ntitle: My VQA prompts\nfields: [question]\ntemplates:\n"
        "  - id: my_vqa-01\n    text: 'Q: {question} A:'\n    source: our lab\n",
        encoding="utf-8")
    text = Path(load_tasks()["gqa"].source).read_text(encoding="utf-8")
    text = text.replace("id: gqa\n", "id: my_gqa\n").replace("templates: vqa",
                                                              "templates: my_vqa")
    text = text.replace("prompt: 'Question: {question} Short answer:'",
                        "prompt: 'Q: {question} A:'")
    text = text[:text.index("reference:")] + text[text.index("decisions:"):]
    (mine / "tasks" / "my_gqa.yaml").write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "--include-path", str(mine), "eval", "--model", "tiny-t5",
                             "--tasks", "my_gqa", "--data-root", str(sample_pack), "--output",
                             str(tmp_path), "--run-name", "own")
    assert code == 0, err
    assert "Other tasks (not in the paper's tables)" in " ".join(out.split())
    out = run_cli(capsys, "leaderboard", str(tmp_path / "own"), "--table", "others",
                  "--format", "csv")[1]
    rows = list(csv.reader(io.StringIO(out)))
    stored = json.loads((tmp_path / "own" / "metrics.json").read_text())["tasks"]["my_gqa"]
    assert rows[0] == ["model", "my_gqa"] and float(rows[1][1]) == stored["value"]
    # "paper" stays the paper's: a user template may not claim it
    (mine / "templates" / "my_vqa.yaml").write_text(
        (mine / "templates" / "my_vqa.yaml").read_text().replace("our lab", "paper"))
    code, _, err = run_cli(capsys, "--include-path", str(mine), "templates", "list")
    assert code == 1 and "any name but 'paper'" in err


# --------------------------------------------------------------------------- the smaller


def test_data_check_on_an_empty_root_names_the_download_of_the_split(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path), "--tasks",
                           "iconqa,textvqa,scienceqa_img")
    assert code == 1 and "None" not in out
    for task in ("iconqa", "textvqa", "scienceqa_img"):
        assert (f"{task}: or its hub mirror, the split only: ibench data download {task} "
                f"--data-root {tmp_path}") in out


def test_a_half_present_lavis_layout_names_its_own_missing_file(capsys, tmp_path):
    lavis = tmp_path / "coco" / "annotations" / "coco_karpathy_test.json"
    lavis.parent.mkdir(parents=True)
    lavis.write_text("[]")
    out = run_cli(capsys, "data", "check", "--data-root", str(tmp_path), "--tasks",
                  "coco_caption")[1]
    assert f"coco_caption: missing {lavis.parent / 'coco_karpathy_test_gt.json'}" in out
    assert f"coco_caption: missing {lavis.parent / 'dataset_coco.json'}" not in out


def test_counts_agree_and_tasks_list_is_understood(capsys):
    assert "26 datasets as 28 tasks" in " ".join(run_cli(capsys, "tasks", "--help")[1].split())
    out = run_cli(capsys, "tasks", "list")[1]
    assert "27 tasks (held-in and held-out; --split server: VizWiz test-dev)" in out
    code, out, _ = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "list")
    assert code == 0 and "27 tasks" in out and "gqa" in out


def test_notes_come_a_line_each_with_the_run_named_once(capsys, held_out, monkeypatch):
    from rich.console import Console

    import ibench.cli.display as display

    screen = io.StringIO()
    console = Console(file=screen, width=200, soft_wrap=False, color_system=None)
    monkeypatch.setattr(display, "console", lambda stderr=False: console)
    run_cli(capsys, "leaderboard", str(held_out / "t5"))
    lines = screen.getvalue().splitlines()
    at = lines.index("t5 (tiny-t5, DEMO):")
    assert lines[at + 1].startswith("  - a DEMO run") and all(
        line.startswith("  - ") for line in lines[at + 1:] if line.strip())
    assert sum("t5 (tiny-t5, DEMO)" in line for line in lines[at:]) == 1


def test_the_run_says_where_it_is_and_a_process_names_its_share():
    from ibench.cli.progress import RichHooks

    hooks = RichHooks()
    hooks.err = __import__("ibench.cli.display", fromlist=["SafeConsole"]).SafeConsole(
        file=io.StringIO(), width=200)
    hooks.suite_started({"gqa": 10, "vsr": 6}, (0, 2))
    hooks.task_begins(1, 2, "gqa")
    advance = hooks.task_started("gqa", 5, 0)
    advance(5)
    hooks.task_finished("gqa")
    hooks.task_begins(2, 2, "vsr")
    text = hooks.err.file.getvalue()
    assert "task 1 of 2: gqa; the run: 0 requests done, ~16 left" in text
    # gqa came to 5 of the 10 requests its split size promised: vsr's 6 are estimated at 3
    assert "task 2 of 2: vsr; the run: 5 requests done, ~3 left, about " in text
    assert "gqa (process 0's share, 1/2)" in text
