"""CLI over data and models: sample-pack + check, a deleted file named; models list, make-tiny."""

from __future__ import annotations

from cli_helpers import run_cli, run_json

from ibench.tasks import load_tasks


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
