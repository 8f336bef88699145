"""Bad configuration and damaged run folders: one line naming the file and the field or line,
a non-zero exit, no traceback (issue 15, defects 5 and 7)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from cli_helpers import run_cli
from run_fixtures import make_run

import ibench.protocol.suite
import ibench.protocol.taskfile
import ibench.protocol.taskspec
import ibench.protocol.templates
from ibench.data.data_error import DataError
from ibench.data.source import read_csv
from ibench.metrics import MetricError, ptb_tokenize
from ibench.protocol.templates import TemplateError, load_family_file
from ibench.resources import resource_dir
from ibench.run.folder import RunDir

LABELS = [1, 0, 1, 0]


def one_line_error(code: int, out: str, err: str, *parts: str) -> str:
    """The CLI failed with one error line that holds every part; return that line."""
    assert code != 0, out + err
    assert "Traceback" not in out + err
    text = err.strip()
    assert text.startswith("error: ") and "\n" not in text, err
    for part in parts:
        assert part in text, (part, text)
    return text


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the shipped tasks/ and templates/ that the CLI loads instead."""
    root = tmp_path / "shipped"
    for name in ("tasks", "templates"):
        shutil.copytree(resource_dir(name), root / name)
    monkeypatch.setattr(ibench.protocol.suite, "resource_dir", lambda name: root / name)
    monkeypatch.setattr(ibench.protocol.templates, "resource_dir", lambda name: root / name)
    ibench.protocol.suite._shipped_tasks.cache_clear()
    ibench.protocol.templates._shipped_families.cache_clear()
    yield root
    ibench.protocol.suite._shipped_tasks.cache_clear()
    ibench.protocol.templates._shipped_families.cache_clear()


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line_of(path: Path, prefix: str, nth: int = 1) -> int:
    numbers = [i for i, line in enumerate(path.read_bytes().splitlines(), 1)
               if line.startswith(prefix.encode())]
    return numbers[nth - 1]


# ------------------------------------------------------------------------ task and template files


def test_task_file_not_utf8(capsys, shipped):
    path = shipped / "tasks" / "gqa.yaml"
    data = path.read_bytes().replace(b"title: GQA", b"title: GQA caf\xe9", 1)
    assert b"\xe9" in data
    path.write_bytes(data)
    line = _line_of(path, "title:")
    one_line_error(*run_cli(capsys, "tasks", "list"), str(path), f"line {line}", "not UTF-8")


def test_template_file_not_utf8(capsys, shipped):
    path = shipped / "templates" / "vqa.yaml"
    path.write_bytes(path.read_bytes().replace(b"Q: {question} A:", b"Q: {question} \xff A:"))
    line = _line_of(path, '    text: "Q: ')
    one_line_error(*run_cli(capsys, "templates", "list"), str(path), f"line {line}",
                   "not UTF-8")


def test_task_file_duplicate_key(capsys, shipped):
    path = shipped / "tasks" / "gqa.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nmetric: exact_match\n",
                                 "\nmetric: exact_match\nmetric: accuracy\n", 1))
    first, second = _line_of(path, "metric:"), _line_of(path, "metric:", 2)
    one_line_error(*run_cli(capsys, "tasks", "list"), str(path), f"line {second}",
                   "duplicate key 'metric'", f"first given on line {first}")


def test_nested_duplicate_key_and_yaml_syntax_error_are_one_line(shipped):
    path = shipped / "tasks" / "gqa.yaml"
    _replace(path, "  kind: image\n", "  kind: image\n  kind: video\n")
    with pytest.raises(ibench.protocol.taskspec.TaskError, match="duplicate key 'kind'") as err:
        ibench.protocol.taskfile.load_task_file(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    path.write_text("id: [unclosed\n")
    with pytest.raises(ibench.protocol.taskspec.TaskError,
                       match=r"line 2, column 1: not valid YAML") as err:
        ibench.protocol.taskfile.load_task_file(path)
    assert "\n" not in str(err.value)


def test_template_without_the_question(capsys, shipped):
    path = shipped / "templates" / "vqa.yaml"
    _replace(path, '"{question} A short answer to the question is"',
             '"A short answer to the question is"')
    one_line_error(*run_cli(capsys, "templates", "list"), str(path), "templates[2]",
                   "vqa-03", "{question}")


def test_template_dropping_one_of_two_fields(shipped):
    path = shipped / "templates" / "visual_dialog.yaml"
    family = load_family_file(path)
    first = family.templates[0]
    without = first.text.replace("{history}", "").replace("  ", " ")
    _replace(path, json.dumps(first.text)[1:-1], json.dumps(without)[1:-1])
    with pytest.raises(TemplateError, match=rf"{first.id} has no placeholder \{{history\}}"):
        load_family_file(path)


def test_duplicate_template_id_is_named(capsys, shipped):
    path = shipped / "templates" / "vqa.yaml"
    _replace(path, "id: vqa-04", "id: vqa-02")
    one_line_error(*run_cli(capsys, "templates", "list"), str(path), "templates[3].id",
                   "duplicate template id 'vqa-02'", "templates[1]")


# ---------------------------------------------------------------------------- damaged manifests


@pytest.mark.parametrize(("content", "field"), [
    ([], "must be a JSON object"),
    ({"sessions": []}, "field 'settings'"),
    ({"settings": {"model": "m"}, "sessions": []}, "field 'settings.tasks'"),
])
def test_damaged_manifest_in_leaderboard_and_compare(capsys, tmp_path, content, field):
    good = make_run(tmp_path, "good", [1, 1, 0, 0], LABELS)
    bad = make_run(tmp_path, "bad", [1, 0, 1, 0], LABELS)
    manifest = RunDir(bad).manifest
    manifest.write_text(json.dumps(content))
    one_line_error(*run_cli(capsys, "leaderboard", str(bad)), str(manifest), field)
    one_line_error(*run_cli(capsys, "compare", str(good), str(bad)), str(manifest), field)


@pytest.mark.parametrize(("content", "field"), [
    ([{"settings": {}}], "must be a JSON object"),
    ({"settings": {"tasks": ["vsr"]}, "tasks": {}}, "field 'sessions'"),
])
def test_damaged_manifest_on_resume(capsys, sample_pack, ibench_cache, tmp_path, content,
                                    field):
    manifest = tmp_path / "r" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(content))
    result = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "vsr",
                     "--data-root", str(sample_pack), "--output", str(tmp_path),
                     "--run-name", "r", "--limit", "1")
    one_line_error(*result, str(manifest), field)
    assert json.loads(manifest.read_text()) == content  # left as it was


# ------------------------------------------------------------------------ damaged predictions


def test_prediction_line_without_sample_id(capsys, tmp_path):
    good = make_run(tmp_path, "good", [1, 1, 0, 0], LABELS)
    bad = make_run(tmp_path, "bad", [1, 0, 1, 0], LABELS)
    path = RunDir(bad).predictions("vsr")
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    del record["sample_id"]
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    text = one_line_error(*run_cli(capsys, "compare", str(good), str(bad)), str(path),
                          "line 3", "'sample_id'")
    assert "sample None" not in text


def test_prediction_line_not_json(capsys, tmp_path):
    good = make_run(tmp_path, "good", [1, 1, 0, 0], LABELS)
    bad = make_run(tmp_path, "bad", [1, 0, 1, 0], LABELS)
    path = RunDir(bad).predictions("vsr")
    lines = path.read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]  # cut, but not the last line: not a torn write
    path.write_text("\n".join(lines) + "\n")
    one_line_error(*run_cli(capsys, "compare", str(good), str(bad)), str(path),
                   "line 2 is not valid JSON")


def test_prediction_line_missing_status_names_sample(tmp_path):
    from ibench.run.folder import RunError
    from ibench.run.predictions import load_predictions

    run = RunDir(tmp_path / "run")
    run.predictions("gqa").parent.mkdir(parents=True)
    run.predictions("gqa").write_text(
        '{"sample_id": "a", "template_id": "vqa-05", "status": "ok"}\n'
        '{"sample_id": "b", "template_id": "vqa-05", "status": null}\n')
    with pytest.raises(RunError, match=r"gqa.jsonl: line 2 \(sample 'b'\): has no field "
                                       r"'status' \(it is null\)"):
        load_predictions(run, "gqa")


def test_reference_line_without_references(tmp_path):
    from ibench.run.folder import RunError, load_references

    run = RunDir(tmp_path / "run")
    run.references("gqa").parent.mkdir(parents=True)
    run.references("gqa").write_text('{"sample_id": "a", "references": {}}\n'
                                     '{"sample_id": "b"}\n')
    with pytest.raises(RunError, match=r"references/gqa.jsonl: line 2.*'references'"):
        load_references(run, "gqa")


# ------------------------------------------------------------------------------ Java's reason


def test_ptb_failure_passes_on_java_stderr(tmp_path, monkeypatch):
    pytest.importorskip("pycocoevalcap")
    fake = tmp_path / "java"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space' >&2\n"
        "echo '\tat edu.stanford.nlp.process.PTBTokenizer.main(PTBTokenizer.java:1)' >&2\n"
        "exit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name, *a, **k: str(fake) if name == "java" else real_which(name))
    with pytest.raises(MetricError) as err:
        ptb_tokenize(["a dog on a bench"])
    text = str(err.value)
    assert "exit 1" in text and "java.lang.OutOfMemoryError: Java heap space" in text
    assert "PTBTokenizer.main" not in text and "\n" not in text


def test_ptb_failure_with_silent_java_says_so(tmp_path, monkeypatch):
    pytest.importorskip("pycocoevalcap")
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'Error: Could not create the Java Virtual Machine.'\n"
                    "exit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(MetricError, match="Java's stdout: Error: Could not create the Java"):
        ptb_tokenize(["a dog"])


# --------------------------------------------------------------------------------- CSV with BOM


def test_csv_with_bom_reads_its_first_column(tmp_path):
    path = tmp_path / "test.csv"
    path.write_bytes(b"\xef\xbb\xbfvideo_id,question\nv1,what is it?\n")
    assert list(read_csv(path, ("video_id", "question"))) == [
        (0, {"video_id": "v1", "question": "what is it?"})]
    path.write_bytes(b"video,question\nv1,q\n")
    with pytest.raises(DataError, match=r"test.csv: record header: field 'video_id'"):
        list(read_csv(path, ("video_id", "question")))
