"""What researchers coming from lm-eval and lmms-eval reach for (issue 17): --gen-kwargs,
--include-path, and the dependencies that are really used."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli

import ibench.resources as resources
from ibench.protocol.decoding import parse_gen_kwargs
from ibench.protocol.suite import load_tasks
from ibench.protocol.taskspec import TaskError


@pytest.fixture
def clean_includes(monkeypatch):
    monkeypatch.setattr(resources, "_INCLUDED", [])


def test_gen_kwargs_override_decoding_and_are_recorded(capsys, sample_pack, ibench_cache,
                                                       tmp_path, clean_includes):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa,vsr",
                           "--data-root", str(sample_pack), "--output", str(tmp_path),
                           "--gen-kwargs", "num_beams=1,max_new_tokens=3", "--limit", "2")
    assert code == 0, err
    [run] = list(tmp_path.iterdir())
    assert "_gen-" in run.name  # another run than the task's own decoding
    settings = json.loads((run / "manifest.json").read_text())["settings"]
    assert settings["gen_kwargs"] == {"gqa": {"num_beams": 1, "max_new_tokens": 3}}  # vsr ranks
    effective = settings["decoding"]["gqa"]["effective"]
    assert effective["num_beams"] == 1 and effective["max_new_tokens"] == 3
    assert settings["decoding"]["gqa"]["lavis"]["num_beams"] == 5  # the task's own, kept


@pytest.mark.parametrize("text, said", [
    ("temperature=0", "ibench decodes by beam search"), ("beams=2", "unknown setting 'beams'"),
    ("num_beams=two", "num_beams must be an integer"), ("num_beams", "is not name=value"),
    ("num_beams=0", "num_beams must be an integer from 1 to 32")])
def test_bad_gen_kwargs_are_one_line(capsys, text, said, tmp_path):
    with pytest.raises(TaskError, match=said):
        parse_gen_kwargs(text)
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa",
                           "--gen-kwargs", text, "--output", str(tmp_path))
    assert code == 1 and said in err and len(err.strip().splitlines()) == 1


def _user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "tasks").mkdir(parents=True)
    (folder / "templates").mkdir()
    raw = yaml.safe_load(Path(load_tasks()["gqa"].source).read_text())
    raw.update(id="gqa_short", title="GQA, my short-answer templates", templates="short_vqa")
    (folder / "tasks" / "gqa_short.yaml").write_text(yaml.safe_dump(raw))
    (folder / "templates" / "short_vqa.yaml").write_text(yaml.safe_dump({
        "family": "short_vqa", "title": "Short VQA", "description": "mine",
        "fields": ["question"],
        "templates": [{"id": "short_vqa-01", "text": raw["prompt"], "source": "ibench"},
                      {"id": "short_vqa-02", "text": "{question} One word:",
                       "source": "ibench"}]}))
    return folder


def test_include_path_adds_the_users_tasks_and_templates(capsys, sample_pack, ibench_cache,
                                                        tmp_path, clean_includes):
    folder = _user_folder(tmp_path)
    code, out, err = run_cli(capsys, "--include-path", str(folder), "tasks", "list")
    assert code == 0, err
    assert "gqa_short" in out
    code, _, err = run_cli(capsys, "eval", "--include-path", str(folder), "--model",
                           "tiny-vicuna", "--tasks", "gqa_short", "--templates", "all",
                           "--data-root", str(sample_pack), "--output", str(tmp_path / "out"),
                           "--run-name", "mine")
    assert code == 0, err
    run = tmp_path / "out" / "mine"
    settings = json.loads((run / "manifest.json").read_text())["settings"]
    assert settings["include_paths"] == [str(folder.resolve())]
    lines = [json.loads(x) for x in (run / "predictions" / "gqa_short.jsonl").read_text()
             .splitlines()]
    assert {x["template_id"] for x in lines} == {"short_vqa-01", "short_vqa-02"}


def test_a_bad_included_task_is_validated_like_a_shipped_one(capsys, tmp_path, clean_includes):
    folder = _user_folder(tmp_path)
    path = folder / "tasks" / "gqa_short.yaml"
    path.write_text(path.read_text().replace("metric: exact_match", "metric: exact-ish"))
    code, _, err = run_cli(capsys, "--include-path", str(folder), "tasks", "list")
    assert code == 1 and str(path) in err and "'metric'" in err
    resources._INCLUDED.clear()
    raw = yaml.safe_load(Path(load_tasks()["gqa"].source).read_text())
    path.unlink()
    (folder / "tasks" / "gqa.yaml").write_text(yaml.safe_dump(raw))  # id gqa: already shipped
    code, _, err = run_cli(capsys, "--include-path", str(folder), "tasks", "list")
    assert code == 1 and "task id 'gqa' is already defined" in err
    code, _, err = run_cli(capsys, "--include-path", str(tmp_path / "nowhere"), "tasks", "list")
    assert code != 0 and "no such folder" in err


def test_a_model_alias_typo_gets_a_suggestion(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "vicuna7b", "--tasks", "gqa",
                           "--output", str(tmp_path))
    assert code != 0 and "unknown model 'vicuna7b'; did you mean vicuna-7b" in err


def test_cuda_without_a_gpu_is_one_line(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa",
                           "--device", "cuda", "--output", str(tmp_path))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "--device cuda:" in err and f"torch {torch.__version__}" in err
    assert "--device cpu" in err and "Traceback" not in err


def test_the_not_cached_message_names_the_hf_command_that_is_installed(monkeypatch):
    import shutil

    from ibench.models.loading import _not_cached

    message = str(_not_cached("Salesforce/instructblip-vicuna-7b", "offline"))
    assert "hf download Salesforce/instructblip-vicuna-7b" in message
    assert "huggingface-cli" not in message
    assert shutil.which("hf") is not None or (Path(sys.executable).parent / "hf").exists()


def _local_copy(tmp_path: Path, ibench_cache: Path) -> Path:
    """A copy of the tiny Vicuna checkpoint laid out as `hf download --local-dir` leaves it."""
    import shutil

    from ibench.models.tiny.checkpoints import ensure_tiny

    folder = tmp_path / "instructblip-vicuna-7b"
    shutil.copytree(ensure_tiny("vicuna", ibench_cache), folder)
    meta = folder / ".cache" / "huggingface" / "download" / "config.json.metadata"
    meta.parent.mkdir(parents=True)
    meta.write_text("0123456789abcdef0123456789abcdef01234567\netag\n1700000000.0\n")
    return folder


def test_a_local_copy_says_which_published_checkpoint_it_is(capsys, sample_pack, ibench_cache,
                                                             tmp_path):
    folder = _local_copy(tmp_path, ibench_cache)
    code, out, err = run_cli(capsys, "eval", "--model", str(folder), "--published-as",
                             "vicuna-7b", "--tasks", "gqa", "--data-root", str(sample_pack),
                             "--output", str(tmp_path / "out"), "--run-name", "local",
                             "--model-args", "attn_implementation=eager")
    assert code == 0, err
    settings = json.loads((tmp_path / "out" / "local" / "manifest.json").read_text())[
        "settings"]
    assert settings["published_as"] == "Salesforce/instructblip-vicuna-7b"
    assert settings["model_revision"] == "0123456789abcdef0123456789abcdef01234567"
    assert settings["model_args"] == {"attn_implementation": "eager"}
    board = (tmp_path / "out" / "local" / "leaderboard.md").read_text()
    assert "difference to InstructBLIP (Vicuna-7B)" in board  # the row the hub id gets
    code, _, err = run_cli(capsys, "eval", "--model", str(folder), "--published-as", "gpt-4",
                           "--tasks", "gqa", "--data-root", str(sample_pack), "--output",
                           str(tmp_path / "out"), "--run-name", "bad")
    assert code == 1 and "not a published checkpoint" in err


def test_revision_and_model_args_reach_the_hub_and_from_pretrained(monkeypatch):
    import huggingface_hub

    from ibench.models.loading import ModelLoadError, parse_model_args, resolve_source

    seen = {}

    def snapshot(repo, revision=None, local_files_only=False, **kw):
        seen.update(repo=repo, revision=revision)
        raise FileNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    with pytest.raises(ModelLoadError, match="Salesforce/instructblip-vicuna-7b@abc123"):
        resolve_source("vicuna-7b", revision="abc123")
    assert seen == {"repo": "Salesforce/instructblip-vicuna-7b", "revision": "abc123"}
    assert parse_model_args("attn_implementation=sdpa,low_cpu_mem_usage=true,max_memory=none"
                            ) == {"attn_implementation": "sdpa", "low_cpu_mem_usage": True,
                                  "max_memory": None}
    with pytest.raises(ModelLoadError, match="trust_remote_code is set by ibench"):
        parse_model_args("trust_remote_code=true")


def _narrow(monkeypatch, width: int = 80):
    import io

    from rich.console import Console

    import ibench.cli.display as display

    buffer = io.StringIO()
    screen = Console(file=buffer, width=width, soft_wrap=False, color_system=None)
    monkeypatch.setattr(display, "console", lambda stderr=False: screen)
    return buffer


def test_the_leaderboard_at_80_columns_folds_no_number(monkeypatch):
    import re

    from ibench.cli.display import print_board
    from ibench.protocol.paper import reference_rows
    from ibench.report.leaderboard import build_leaderboard

    buffer = _narrow(monkeypatch)
    print_board(build_leaderboard([]))
    text = buffer.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) < 90  # was 138 screen lines for 12 rows
    for model, values in reference_rows():
        for value in values.values():
            if value is not None:  # every number whole, on one line
                assert re.search(rf"(?<![\d.]){re.escape(f'{value:.1f}')}(?![\d.])", text), (
                    model, value)
    assert "part 1" in text and "of 4)" in text


def test_compare_takes_the_leaderboards_formats_and_fits_80_columns(capsys, sample_pack,
                                                                    ibench_cache, tmp_path,
                                                                    monkeypatch):
    import csv
    import io

    for name in ("a", "b"):
        code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                               "--data-root", str(sample_pack), "--output", str(tmp_path),
                               "--run-name", name, "--templates", "2")
        assert code == 0, err
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    code, out, _ = run_cli(capsys, "compare", a, b, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0][:4] == ["task", "metric", "template_a", "template_b"]
    assert len(rows) == 5 and [r[2] for r in rows[1:]] == ["vqa-01", "vqa-02", "true_false-01",
                                                          "true_false-02"]
    code, out, _ = run_cli(capsys, "compare", a, b, "--format", "md")
    assert out.startswith("| task | A | B | B - A |") and out.count("\n| gqa (vqa-0") == 2
    code, out, _ = run_cli(capsys, "compare", a, b, "--format", "latex")
    assert "\\begin{tabular}" in out and "gqa (vqa-01)" in out
    assert json.loads(run_cli(capsys, "compare", a, b, "--format", "json")[1])["rows"]
    buffer = _narrow(monkeypatch)
    code, _, _ = run_cli(capsys, "compare", a, b)
    lines = buffer.getvalue().splitlines()
    assert code == 0 and max(len(line) for line in lines) <= 80
    assert any("[" in line and "]" in line and "," in line for line in lines)  # an interval
    for line in lines:  # no interval cut in half
        assert line.count("[") == line.count("]") or "━" in line or "─" in line


def test_a_subset_run_is_compared_on_the_tasks_both_have(capsys, sample_pack, ibench_cache,
                                                         tmp_path):
    for name, tasks in (("full", "gqa,vsr,msvd_qa"), ("subset", "gqa,vsr")):
        code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", tasks,
                               "--data-root", str(sample_pack), "--output", str(tmp_path),
                               "--run-name", name)
        assert code == 0, err
    data = json.loads(run_cli(capsys, "compare", str(tmp_path / "full"),
                              str(tmp_path / "subset"), "--json")[1])
    assert not any("protocol settings" in w for w in data["warnings"]), data["warnings"]
    assert {d["setting"] for d in data["manifest_diff"]} <= {"model"}
    assert any("tasks only in run A" in w for w in data["warnings"])


def test_demo_rows_are_flagged_in_every_format(capsys, sample_pack, ibench_cache, tmp_path):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(sample_pack), "--output", str(tmp_path),
                             "--run-name", "demo")
    assert code == 0, err
    assert "DEMO" in out
    run = str(tmp_path / "demo")
    for fmt in ("md", "csv", "json", "latex"):
        code, text, _ = run_cli(capsys, "leaderboard", run, "--format", fmt)
        assert "DEMO" in text, fmt
    manifest = json.loads((tmp_path / "demo" / "manifest.json").read_text())
    assert manifest["demo"] == ["a tiny random-weight model", "the synthetic sample pack"]
    assert "a DEMO run" in (tmp_path / "demo" / "leaderboard.md").read_text()
    data = json.loads(run_cli(capsys, "compare", run, run, "--json")[1])
    assert any("run A is a DEMO run" in w for w in data["warnings"])


def test_a_held_in_run_shows_the_held_in_and_fine_tuned_tables(capsys, sample_pack,
                                                               ibench_cache, tmp_path):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "okvqa,ocrvqa",
                             "--data-root", str(sample_pack), "--output", str(tmp_path),
                             "--run-name", "held-in", "--limit", "2")
    assert code == 0, err
    assert "94.1" in out and "72.8" in out  # Table 2's held-in average, Table 3's rows
    assert "79.5" not in out  # eval shows the run's columns (Table 3's scienceqa_img is not)
    board = (tmp_path / "held-in" / "leaderboard.md").read_text()
    assert "## Held-in datasets" in board and "| InstructBLIP (FlanT5XL) (Table 2) |" in board
    assert "## Fine-tuned evaluation" in board and "(fine-tuned, as summarised)" in board
    assert "held-out" not in board and "Zero-shot" not in out  # no all-"-" Table 1 row
    code, text, _ = run_cli(capsys, "leaderboard", str(tmp_path / "held-in"), "--table",
                            "finetuned", "--format", "csv")
    rows = list(__import__("csv").reader(__import__("io").StringIO(text)))
    assert rows[0] == ["model", "scienceqa_img", "ocrvqa", "okvqa", "aokvqa"]
    assert ["InstructBLIP (Vicuna-7B) (fine-tuned, as summarised)", "79.5", "72.8", "64.0",
            "73.4"] in rows
