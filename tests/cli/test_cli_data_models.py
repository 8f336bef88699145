"""CLI over data and models: sample-pack + check, a deleted file named; models list, make-tiny."""

from __future__ import annotations

from cli_helpers import run_cli, run_json

from ibench.protocol.suite import load_tasks


def test_sample_pack_then_check_finds_all(capsys, tmp_path):
    pack = tmp_path / "pack"
    code, out, _ = run_cli(capsys, "data", "sample-pack", str(pack), "--per-task", "3")
    assert code == 0 and "wrote the data of 28 tasks" in out
    checks = run_json(capsys, "data", "check", "--data-root", str(pack), "--json")
    assert len(checks) == 27 and all(c["usable"] for c in checks)  # all: not the server split
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(pack))
    assert code == 0 and out.count("found") >= 27
    checks = run_json(capsys, "data", "check", "--data-root", str(pack), "--split", "server",
                      "--json")
    assert [c["task"] for c in checks] == ["vizwiz_test"] and checks[0]["usable"]

    victim = pack / load_tasks()["textvqa"].data.files["ocr"]
    victim.unlink()
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(pack))
    assert code == 1
    assert f"textvqa: missing {victim} (ocr)" in out
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(pack), "--tasks", "gqa")
    assert code == 0  # only the requested tasks decide the exit code


def test_models_list_and_make_tiny(capsys, tmp_path):
    aliases = {a["alias"]: a for a in run_json(capsys, "models", "list", "--json")}
    assert aliases["vicuna-7b"]["hub_id"] == "Salesforce/instructblip-vicuna-7b"
    assert aliases["blip2-flan-t5-xl"]["hub_id"] == "Salesforce/blip2-flan-t5-xl"
    assert {"tiny-t5", "tiny-vicuna", "flan-t5-xxl", "vicuna-13b"} <= set(aliases)
    code, out, _ = run_cli(capsys, "models", "make-tiny", "vicuna", str(tmp_path / "tiny"))
    assert code == 0 and "random weights" in out
    from transformers import InstructBlipForConditionalGeneration

    model = InstructBlipForConditionalGeneration.from_pretrained(tmp_path / "tiny")
    assert model.config.text_config.model_type == "llama"


def test_unknown_model_is_a_clear_error(capsys, tmp_path, sample_pack):
    code, _, err = run_cli(capsys, "eval", "--model", str(tmp_path / "nowhere"), "--tasks",
                           "gqa", "--data-root", str(sample_pack), "--output", str(tmp_path))
    assert code == 1 and "error:" in err and "Traceback" not in err


def test_an_annotation_file_with_no_samples_is_not_found(capsys, tmp_path, monkeypatch):
    gqa = load_tasks()["gqa"]
    path = tmp_path / gqa.data.files["questions"]
    path.parent.mkdir(parents=True)
    path.write_text("{}", encoding="utf-8")  # GQA with 0 of 12,578 questions
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path), "--tasks", "gqa")
    assert code == 1 and "UNUSABLE" in out and "no samples in" in out and "12578" in out
    ivqa = load_tasks()["ivqa"]
    empty = tmp_path / ivqa.data.files["test"]
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")  # a 0-byte file
    monkeypatch.setenv("IBENCH_DATA_ROOT", str(tmp_path))  # honoured as eval honours it
    code, out, _ = run_cli(capsys, "data", "check", "--tasks", "ivqa,gqa", "--json")
    checks = __import__("json").loads(out)
    assert code == 1 and [c["usable"] for c in checks] == [False, False]
    assert all(c["data_root"] == str(tmp_path) for c in checks)
    errors = {c["task"]: c["error"] for c in checks}
    assert "no samples in" in errors["gqa"] and "missing column" in errors["ivqa"]


def test_a_wrong_data_root_fails_before_the_model_loads_and_claims_no_name(
        capsys, tmp_path, sample_pack, ibench_cache, monkeypatch):
    import time

    import ibench.models as models

    loads: list[str] = []
    real = models.load_model
    monkeypatch.setattr(models, "load_model", lambda name, **kw: loads.append(name) or real(
        name, **kw))
    output = tmp_path / "out"
    began = time.monotonic()
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                             "--data-root", str(tmp_path / "nonexistent"), "--output",
                             str(output))
    assert code == 1 and time.monotonic() - began < 10 and loads == []
    assert err.startswith("error: --data-root ") and "no such folder" in err
    assert err.count("\n") == 1 and "Traceback" not in out + err
    assert list(output.iterdir()) == []  # no run folder
    (tmp_path / "empty").mkdir()  # a folder, but no asked task's files in it
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                           "--data-root", str(tmp_path / "empty"), "--output", str(output))
    assert code == 1 and loads == [] and list(output.iterdir()) == []
    lines = err.splitlines()
    assert lines[0] == f"error: none of the 2 tasks asked has its data under {tmp_path / 'empty'}:"
    assert lines[1].startswith("  gqa: missing ") and lines[2].startswith("  vsr: missing ")
    # the corrected command runs under the same (default) run name
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                           "--data-root", str(sample_pack), "--output", str(output))
    assert code == 0, err
    assert loads == ["tiny-t5"] and [p.name for p in output.iterdir()] == ["tiny-t5_gqa+vsr_eval"]


def test_eval_skips_a_task_whose_file_has_no_samples(capsys, tmp_path, ibench_cache):
    gqa = load_tasks()["gqa"]
    path = tmp_path / "data" / gqa.data.files["questions"]
    path.parent.mkdir(parents=True)
    path.write_text("{}", encoding="utf-8")
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(tmp_path / "data"), "--output",
                             str(tmp_path / "out"))
    assert code == 1 and f"gqa: no samples in {path}" in (out + err).replace("\n", "")
    assert "no task was scored" in err
    assert list((tmp_path / "out").iterdir()) == []  # a run that scored nothing is not kept
