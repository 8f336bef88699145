"""Nothing outside the run folder is touched, nothing inside it is lost (issue 26): links in a run
folder refused, control characters shown as data in every output, decoding values and ids
bounded, a torn line of a finished run repaired or reported, a worker thread's allocation
failure recorded or a one-line stop, and a torchrun run stopped as a single process is."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.protocol.suite import load_tasks

OSC = "\x1b]0;pwned\x07"


@pytest.fixture(scope="module")
def made(tmp_path_factory, sample_pack, ibench_cache):
    """A finished tiny-t5 run of gqa and vsr, to copy and damage."""
    root = tmp_path_factory.mktemp("hostile-folders")

    class Quiet:
        def readouterr(self):
            return type("Out", (), {"out": "", "err": ""})()

    code, _, _ = run_cli(Quiet(), "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                         "--data-root", str(sample_pack), "--output", str(root), "--run-name",
                         "r")
    assert code == 0
    return root / "r"


def _copy(made: Path, tmp_path: Path) -> Path:
    run = tmp_path / "out" / "r"
    shutil.copytree(made, run)
    return run


def _eval_again(capsys, sample_pack, run: Path, *more: str):
    return run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr", "--data-root",
                   str(sample_pack), "--output", str(run.parent), "--run-name", run.name, *more)


# ------------------------------------------------------------------------ links and the lock


def test_a_linked_lock_is_refused_and_its_target_untouched(capsys, made, sample_pack, tmp_path):
    run = _copy(made, tmp_path)
    target = tmp_path / "outside.txt"
    target.write_text("keep me")
    (run / ".lock").symlink_to(target)
    code, _, err = _eval_again(capsys, sample_pack, run, "--limit", "1")
    assert code == 1 and err.count("\n") == 1 and "is a symbolic link" in err
    assert target.read_text() == "keep me"
    (run / ".lock").unlink()
    (run / ".lock").mkdir()
    code, _, err = _eval_again(capsys, sample_pack, run)
    assert code == 1 and err.count("\n") == 1 and ".lock is a folder" in err


@pytest.mark.parametrize("command", ["report", "leaderboard", "compare", "resume"])
def test_a_linked_prediction_file_is_refused_by_every_reader(capsys, made, sample_pack,
                                                            tmp_path, command):
    run = _copy(made, tmp_path)
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"sample_id": "s", "template_id": "t", "status": "ok", "prediction": '
                      '"THE SECRET"}\n')
    gqa = run / "predictions" / "gqa.jsonl"
    gqa.unlink()
    gqa.symlink_to(secret)
    if command == "resume":
        code, out, err = _eval_again(capsys, sample_pack, run)
    elif command == "compare":
        code, out, err = run_cli(capsys, "compare", str(made), str(run))
    elif command == "report":
        code, out, err = run_cli(capsys, "report", str(run), "-o", str(tmp_path / "r.html"))
    else:
        code, out, err = run_cli(capsys, "leaderboard", str(run))
    assert code == 1 and "is a symbolic link" in err and err.count("\n") == 1
    assert "THE SECRET" not in out + err
    assert not (tmp_path / "r.html").exists()
    assert secret.read_text().count("\n") == 1  # nothing appended through the link


def test_a_linked_predictions_folder_is_never_written_through(capsys, made, sample_pack,
                                                             tmp_path):
    run = _copy(made, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(run / "predictions")
    (run / "predictions").symlink_to(outside)
    code, _, err = _eval_again(capsys, sample_pack, run)
    assert code == 1 and "is a symbolic link" in err
    assert list(outside.iterdir()) == []


# ------------------------------------------------------------------------ control characters


def _poison(run: Path) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["settings"]["model_alias"] = f"evil{OSC}\x9b"
    (run / "manifest.json").write_text(json.dumps(manifest))
    gqa = run / "predictions" / "gqa.jsonl"
    lines = [json.loads(x) for x in gqa.read_text().splitlines()]
    lines[0]["prediction"] = f"ans{OSC}wer"
    gqa.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_csv_reaching_a_terminal_or_pipe_shows_control_bytes_a_file_keeps_them(made,
                                                                              tmp_path):
    run = _copy(made, tmp_path)
    _poison(run)
    piped = subprocess.run([sys.executable, "-m", "ibench", "leaderboard", str(run), "--format",
                            "csv"], capture_output=True, timeout=120)
    assert piped.returncode == 0 and b"\x1b" not in piped.stdout and b"\xc2\x9b" not in (
        piped.stdout)
    assert b"evil\\x1b]0;pwned\\x07\\x9b" in piped.stdout
    with (tmp_path / "board.csv").open("wb") as file:
        subprocess.run([sys.executable, "-m", "ibench", "leaderboard", str(run), "--format",
                        "csv"], stdout=file, timeout=120, check=True)
    assert f"evil{OSC}\x9b".encode() in (tmp_path / "board.csv").read_bytes()  # exact, in a file


def test_report_html_holds_no_control_bytes(capsys, made, tmp_path):
    run = _copy(made, tmp_path)
    _poison(run)
    other = tmp_path / "other"
    shutil.copytree(run, other)
    code, _, err = run_cli(capsys, "report", str(run), str(other), "-o", str(tmp_path / "c.html"))
    assert code == 0, err
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert not any(ch in html for ch in "\x1b\x07\x9b")
    assert "ans\\x1b]0;pwned\\x07wer" in html and "evil\\x1b]0;pwned\\x07\\x9b" in html


def test_a_library_warning_quoting_a_model_arg_is_shown_as_data(capsys, sample_pack,
                                                                ibench_cache, tmp_path,
                                                                monkeypatch):
    import logging

    import ibench.models as models

    real = models.load_model

    def load(name, **kw):  # a library saying something about the value ibench passed it
        value = (kw.get("model_args") or {}).get("note", "")
        warnings.warn(f"unused argument note={value}", UserWarning, stacklevel=1)
        logging.getLogger("transformers.modeling_utils").error(f"ignored note={value}")
        logging.getLogger("huggingface_hub.utils").warning(f"hub: note={value}")
        return real(name, **{k: v for k, v in kw.items() if k != "model_args"})

    monkeypatch.setattr(models, "load_model", load)
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "vsr",
                             "--data-root", str(sample_pack), "--output", str(tmp_path),
                             "--model-args", f"note=x{OSC}")
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "unused argument note=x\\x1b]0;pwned\\x07" in err


# ---------------------------------------------------------------------------- bounded values


@pytest.mark.parametrize(("given", "says"), [
    ("length_penalty=inf", "length_penalty must be a finite number from -10 to 10"),
    ("length_penalty=nan", "length_penalty must be a finite number from -10 to 10"),
    ("repetition_penalty=-inf", "repetition_penalty must be a finite number above 0"),
    ("max_new_tokens=1000000000", "max_new_tokens must be an integer from 1 to 1024"),
    ("num_beams=1000", "num_beams must be an integer from 1 to 32"),
    ("min_new_tokens=20", "gqa: min_new_tokens 20 is above max_new_tokens 10"),
])
def test_decoding_values_are_finite_and_bounded(capsys, sample_pack, tmp_path, given, says):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa", "--data-root",
                           str(sample_pack), "--output", str(tmp_path), "--gen-kwargs", given)
    assert code == 1 and says in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # refused before any run folder or model


def test_a_decoding_length_beyond_the_models_context_is_refused(capsys, sample_pack,
                                                               ibench_cache, tmp_path):
    # tiny-vicuna's LLaMA holds 1,024 positions (its config's max_position_embeddings)
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa",
                           "--data-root", str(sample_pack), "--output", str(tmp_path),
                           "--gen-kwargs", "max_new_tokens=1024")
    assert code == 1 and "does not fit the model's context of 1024 tokens" in err


def test_json_is_written_strict():
    from ibench.run.folder import append_lines, write_json

    with pytest.raises(ValueError, match="Out of range float"):
        write_json(Path("/tmp/never-written.json"), {"x": float("nan")})
    with pytest.raises(ValueError, match="Out of range float"):
        append_lines(Path("/tmp/never-written.jsonl"), [{"x": float("inf")}])


def test_a_minus_infinite_score_is_written_as_the_lowest_float(tmp_path):
    from ibench.run.folder import append_lines, read_lines
    from ibench.run.schema import PredictionLine

    line = PredictionLine(task="t", sample_id="s", template_id="x", prompt="p", prediction="a",
                          choice=0, scores=[-1.0, float("-inf")], status="ok", reason=None)
    append_lines(tmp_path / "p.jsonl", [line.to_json()])
    (stored,) = read_lines(tmp_path / "p.jsonl")
    assert stored["scores"] == [-1.0, -sys.float_info.max]


def test_long_or_unsafe_ids_are_refused_when_a_task_file_loads(capsys, tmp_path, monkeypatch):
    import ibench.resources

    monkeypatch.setattr(ibench.resources, "_INCLUDED", [])
    text = Path(load_tasks()["gqa"].source).read_text(encoding="utf-8")
    name = "t" * 240
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / f"{name}.yaml").write_text(text.replace("id: gqa\n", f"id: {name}\n"))
    code, _, err = run_cli(capsys, "--include-path", str(tmp_path), "tasks", "list")
    assert code == 1 and "field 'id': must be letters, digits" in err and err.count("\n") == 1


def test_make_tiny_onto_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "a-file").write_text("x")
    code, _, err = run_cli(capsys, "models", "make-tiny", "llava", str(tmp_path / "a-file"))
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "cannot make the checkpoint's folder there" in err


def test_a_chat_template_the_sandbox_refuses_is_one_line(capsys, sample_pack, ibench_cache,
                                                        tmp_path):
    from ibench.models.tiny.checkpoints import ensure_tiny

    copy = tmp_path / "llava"
    shutil.copytree(ensure_tiny("llava"), copy)
    (copy / "chat_template.jinja").write_text("{{ ''.__class__.__mro__ }}")
    for name in ("chat_template.json", "processor_config.json", "tokenizer_config.json"):
        path = copy / name
        if path.is_file():
            data = json.loads(path.read_text())
            if isinstance(data, dict) and "chat_template" in data:
                data.pop("chat_template")
                path.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "eval", "--model", str(copy), "--tasks", "vsr", "--data-root",
                           str(sample_pack), "--output", str(tmp_path / "out"))
    assert code == 1 and "its chat template cannot be rendered" in err
    assert "Traceback" not in err and err.count("\n") == 1


# --------------------------------------------------------------------------- faults mid-run


def test_a_torn_last_line_of_a_finished_run_is_reported_then_repaired(capsys, made,
                                                                     sample_pack, tmp_path):
    run = _copy(made, tmp_path)
    gqa = run / "predictions" / "gqa.jsonl"
    whole = gqa.read_bytes()
    gqa.write_bytes(whole[:-20])  # the last line cut short: no newline at its end
    torn = f"{gqa}: line 4 is torn"
    code, _, err = run_cli(capsys, "compare", str(made), str(run))
    assert code == 0 and torn in " ".join(err.split())
    out = run_cli(capsys, "leaderboard", str(run), "--format", "md")[1]
    assert f"damaged: {torn}" in out
    code, _, err = _eval_again(capsys, sample_pack, run)
    assert code == 0 and "its last line was torn" in err and "already complete" not in err
    assert gqa.read_text().count("\n") == 4
    assert (run / "metrics.json").read_bytes() == (made / "metrics.json").read_bytes()


def _stub_requests(n: int):
    from ibench.records import Request

    return [Request("gqa", f"q{i}", "vqa-05", f"Question: q{i}? Short answer:", "generate",
                    Path(f"/nowhere/{i}.jpg")) for i in range(n)]


class _Yes:
    architecture = "decoder-only"

    def generate(self, inputs, settings):
        return ["yes" for _ in inputs]


def test_a_media_worker_out_of_memory_is_a_recorded_failure(tmp_path, monkeypatch):
    import ibench.run.execute as execute
    from ibench.run.execute import TaskRunner
    from ibench.run.folder import read_lines

    def load(path):
        if path.name == "2.jpg":
            raise MemoryError("cannot allocate 800 MiB")
        return object()

    monkeypatch.setattr(execute, "load_image", load)
    runner = TaskRunner(load_tasks()["gqa"], _Yes(), tmp_path / "p.jsonl", batch_size=2,
                        frames=None)
    assert runner.run(_stub_requests(5)) == {"ok": 4, "out_of_memory": 1}
    (failed,) = [x for x in read_lines(tmp_path / "p.jsonl") if x["status"] != "ok"]
    assert failed["sample_id"] == "q2" and "out of memory while loading it" in failed["reason"]


def test_the_writer_running_out_of_memory_stops_in_one_error(tmp_path, monkeypatch):
    import ibench.run.execute as execute
    from ibench.run.execute import TaskRunner, WorkerStuck

    monkeypatch.setattr(execute, "load_image", lambda path: object())

    def no_memory(path, records):
        raise MemoryError()

    monkeypatch.setattr(execute, "append_lines", no_memory)
    runner = TaskRunner(load_tasks()["gqa"], _Yes(), tmp_path / "p.jsonl", batch_size=1,
                        frames=None)
    with pytest.raises(WorkerStuck, match="out of memory while writing"):
        runner.run(_stub_requests(4))


def test_a_stuck_media_worker_is_a_one_line_stop_not_a_hang(tmp_path, monkeypatch):
    import threading

    import ibench.run.execute as execute
    from ibench.run.execute import TaskRunner, WorkerStuck

    release = threading.Event()
    monkeypatch.setattr(execute, "load_image", lambda path: release.wait(30) and object())
    monkeypatch.setattr(execute, "MEDIA_WATCHDOG_S", 0.5)
    runner = TaskRunner(load_tasks()["gqa"], _Yes(), tmp_path / "p.jsonl", batch_size=1,
                        frames=None)
    began = time.monotonic()
    try:
        with pytest.raises(WorkerStuck, match="a media worker gave no result for 0 s"):
            runner.run(_stub_requests(2))
    finally:
        release.set()
    assert time.monotonic() - began < 20


# -------------------------------------------------------------------------------- torchrun


def _launch(pack: Path, out: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "IBENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    launcher = Path(sys.executable).parent / "ibench-torchrun"
    return subprocess.Popen(
        [str(launcher), "--standalone", "--nproc-per-node", "2", "-m", "ibench", "eval",
         "--model", "tiny-vicuna", "--split", "held-out", "--data-root", str(pack), "--output",
         str(out), "--run-name", "r", "--batch-size", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


@pytest.mark.parametrize(("sig", "whole_group"), [(signal.SIGINT, True),
                                                  (signal.SIGTERM, False)])
def test_a_torchrun_run_stops_as_a_single_process_does(sample_pack, ibench_cache, tmp_path,
                                                        sig, whole_group):
    """Ctrl-C reaches the whole process group (the launcher passes it on too); a scheduler's
    SIGTERM reaches the launcher alone. Either way: each worker saves its batch, one line,
    the shell's status, and the same command finishes the run."""
    proc = _launch(sample_pack, tmp_path, ibench_cache)
    predictions = tmp_path / "r" / "predictions"
    began = time.monotonic()
    while not (predictions.is_dir() and any(p.stat().st_size for p in predictions.iterdir())):
        assert time.monotonic() - began < 180 and proc.poll() is None
        time.sleep(0.2)
    (os.killpg if whole_group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=180)
    what = "interrupted" if sig == signal.SIGINT else "stopped by SIGTERM"
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and f"{what}: each process saved its finished batches" in err
    assert err.count("run the same command to resume") == 1
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    for path in predictions.iterdir():  # every line whole
        assert path.read_bytes().endswith(b"\n")
    again = _launch(sample_pack, tmp_path, ibench_cache)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "complete"
