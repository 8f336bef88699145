"""Runner faults with a stub model: out-of-memory halving, one bad sample, media failures,
missing data, resume refusal, unwritable output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ibench.protocol.suite import load_tasks
from ibench.records import Request
from ibench.run.evaluate import evaluate as run_evaluate
from ibench.run.execute import TaskRunner
from ibench.run.folder import RunDir, RunError, read_lines
from ibench.run.hooks import EvalHooks
from ibench.run.safety import check_output_writable
from ibench.run.settings import EvalRequest, Runtime


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError."""


class StubModel:
    """Answers 'yes', scores candidates by length; fails as told."""

    architecture = "decoder-only"

    def __init__(self, max_batch: int = 1000, poison: str | None = None) -> None:
        self.max_batch, self.poison, self.batches = max_batch, poison, []

    def _check(self, inputs):
        self.batches.append(len(inputs))
        if len(inputs) > self.max_batch:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if self.poison and any(self.poison in i.prompt for i in inputs):
            raise ValueError("bad token")

    def generate(self, inputs, settings):
        self._check(inputs)
        return ["yes" for _ in inputs]

    def rank(self, inputs):
        self._check(inputs)
        return [[-float(len(c)) for c in i.candidates] for i in inputs]

    def info(self):
        return {"model_id": "stub", "dtype": "fp32", "device": "cpu"}


def _requests(n: int) -> list[Request]:
    return [Request("gqa", f"q{i}", "vqa-05", f"Question: q{i}? Short answer:", "generate",
                    Path("/nowhere.jpg")) for i in range(n)]


def test_out_of_memory_halves_the_batch_and_loses_nothing(tmp_path, monkeypatch):
    import ibench.run.execute as execute

    monkeypatch.setattr(execute, "load_image", lambda path: object())
    model = StubModel(max_batch=3)
    runner = TaskRunner(load_tasks()["gqa"], model, tmp_path / "p.jsonl", batch_size=None,
                        frames=None)
    counts = runner.run(_requests(40))
    assert counts == {"ok": 40}
    # auto starts at 64 for image generation; the 40 requests split 40 -> 20 -> 10 -> 5 -> 3
    assert runner.current == 3 and runner.oom_events == 4
    lines = list(read_lines(tmp_path / "p.jsonl"))
    assert sorted(r["sample_id"] for r in lines) == sorted(f"q{i}" for i in range(40))
    assert max(b for b in model.batches[-5:]) <= 3


def test_one_bad_sample_is_isolated(tmp_path, monkeypatch):
    import ibench.run.execute as execute

    monkeypatch.setattr(execute, "load_image", lambda path: object())
    runner = TaskRunner(load_tasks()["gqa"], StubModel(poison="q7?"), tmp_path / "p.jsonl",
                        batch_size=4, frames=None)
    assert runner.run(_requests(10)) == {"ok": 9, "model_error": 1}
    bad = [r for r in read_lines(tmp_path / "p.jsonl") if r["status"] != "ok"]
    assert [r["sample_id"] for r in bad] == ["q7"] and "bad token" in bad[0]["reason"]


@pytest.fixture()
def pack(sample_pack, tmp_path):
    """A private copy of the sample pack that a test may damage."""
    import shutil

    target = tmp_path / "pack"
    shutil.copytree(sample_pack, target)
    return target


def _options(pack: Path, tmp_path: Path, tasks: list[str], **kw) -> tuple[EvalRequest, Runtime]:
    """(request, runtime) of a stub model's run named r; keyword arguments go where they
    belong."""
    all_tasks = load_tasks()
    runtime_fields = {"strict", "resume"}
    request = EvalRequest(model="stub", tasks=tuple(all_tasks[t] for t in tasks), data_root=pack,
                          **{k: v for k, v in kw.items() if k not in runtime_fields})
    runtime = Runtime(output=tmp_path / "results", run_name="r", batch_size=4,
                      **{k: v for k, v in kw.items() if k in runtime_fields})
    return request, runtime


def evaluate(options: tuple[EvalRequest, Runtime], hooks, loader):
    """The run's evaluate over a (request, runtime) pair."""
    return run_evaluate(*options, hooks, loader)


def test_media_failure_and_missing_data_are_recorded(pack, tmp_path):
    from ibench.data import read_samples

    gqa = load_tasks()["gqa"]
    samples = list(read_samples(gqa, pack))
    victim = samples[0]
    sharing = sorted(s.id for s in samples if s.media == victim.media)  # GQA shares images
    victim.media.unlink()
    (pack / load_tasks()["vsr"].data.files["annotations"]).unlink()
    messages = []

    class Hooks(EvalHooks):
        def message(self, text):
            messages.append(text)

    run, metrics, outcomes = evaluate(_options(pack, tmp_path, ["gqa", "vsr"]), Hooks(),
                                      lambda *a, **k: StubModel())
    assert [o.status for o in outcomes] == ["ran", "skipped"]
    assert any("vsr: data missing" in m and "test.jsonl" in m for m in messages)
    failed = [r for r in read_lines(run.predictions("gqa")) if r["status"] != "ok"]
    assert sorted(r["sample_id"] for r in failed) == sharing
    assert {r["status"] for r in failed} == {"media_error"}
    assert str(victim.media) in failed[0]["reason"]
    assert metrics["tasks"]["gqa"]["failures"] == {"media_error": len(sharing)}
    manifest = json.loads(run.manifest.read_text())
    assert manifest["status"] == "partial" and manifest["tasks"]["vsr"]["status"] == "skipped"


def test_resume_refuses_other_settings(pack, tmp_path):
    evaluate(_options(pack, tmp_path, ["gqa"]), EvalHooks(), lambda *a, **k: StubModel())
    with pytest.raises(RunError, match=r"limit: stored None, now 2"):
        evaluate(_options(pack, tmp_path, ["gqa"], limit=2), EvalHooks(),
                 lambda *a, **k: StubModel())


def test_unwritable_or_full_output_fails_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot write to the output folder"):
        check_output_writable(blocker / "results")
    with pytest.raises(RunError, match="MiB free"):
        check_output_writable(tmp_path / "ok", min_free=2**62)
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(RunError):
            check_output_writable(ro / "results")


def test_strict_stops_at_missing_data(pack, tmp_path):
    from ibench.run.execute import StrictStop

    (pack / load_tasks()["gqa"].data.files["questions"]).unlink()
    with pytest.raises(StrictStop, match="gqa: data missing"):  # vsr's data is there
        evaluate(_options(pack, tmp_path, ["gqa", "vsr"], strict=True), EvalHooks(),
                 lambda *a, **k: StubModel())
    assert not RunDir(tmp_path / "results" / "r").predictions("gqa").exists()


def test_unscorable_task_does_not_sink_the_run(pack, tmp_path):
    """AUC over a subset with one class cannot be computed: that task says why, others score."""
    run, metrics, _ = evaluate(_options(pack, tmp_path, ["hateful_memes", "gqa"], limit=1),
                               EvalHooks(), lambda *a, **k: StubModel())
    entry = metrics["tasks"]["hateful_memes"]
    assert entry["status"] == "not scored" and "class" in entry["reason"]
    assert metrics["tasks"]["gqa"]["n"] == 1
    assert len(list(read_lines(run.predictions("hateful_memes")))) == 1


def test_failures_are_retried_on_resume(pack, tmp_path):
    from ibench.data import read_samples

    sample = next(iter(read_samples(load_tasks()["gqa"], pack)))
    saved = sample.media.read_bytes()
    sample.media.unlink()
    _, first, _ = evaluate(_options(pack, tmp_path, ["gqa"]), EvalHooks(),
                           lambda *a, **k: StubModel())
    assert first["tasks"]["gqa"]["failures"].get("media_error", 0) >= 1
    sample.media.write_bytes(saved)  # the user fixes the data root, then resumes
    run, again, _ = evaluate(_options(pack, tmp_path, ["gqa"]), EvalHooks(),
                             lambda *a, **k: StubModel())
    assert again["tasks"]["gqa"]["failures"] == {}
    manifest = json.loads(run.manifest.read_text())
    assert manifest["tasks"]["gqa"]["counts"] == {"ok": again["tasks"]["gqa"]["n"]}


def test_changed_data_refuses_resume(pack, tmp_path):
    evaluate(_options(pack, tmp_path, ["vsr"]), EvalHooks(), lambda *a, **k: StubModel())
    path = pack / load_tasks()["vsr"].data.files["annotations"]
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    with pytest.raises(RunError, match="data_fingerprints"):
        evaluate(_options(pack, tmp_path, ["vsr"]), EvalHooks(), lambda *a, **k: StubModel())


def test_resume_of_a_run_that_does_not_exist(pack, tmp_path):
    with pytest.raises(RunError, match="no run at .* to continue"):
        evaluate(_options(pack, tmp_path, ["vsr"], resume=True), EvalHooks(),
                 lambda *a, **k: StubModel())


def test_strict_model_error_names_the_request(tmp_path, monkeypatch):
    import ibench.run.execute as execute
    from ibench.run.execute import StrictStop

    monkeypatch.setattr(execute, "load_image", lambda path: object())
    runner = TaskRunner(load_tasks()["gqa"], StubModel(poison="q2?"), tmp_path / "p.jsonl",
                        batch_size=4, frames=None, strict=True)
    with pytest.raises(StrictStop, match="gqa sample q2 template vqa-05: ValueError: bad token"):
        runner.run(_requests(4))


def test_resume_refuses_other_decoding(pack, tmp_path):
    """Decoding decides the numbers: a run resumed with other decoding values (--gen-kwargs)
    is refused, however the run is named (RunSpec's `decoding` field)."""
    from dataclasses import replace

    class Resolving(StubModel):
        def info(self):
            return {**super().info(), "architecture": "decoder-only"}

    request, runtime = _options(pack, tmp_path, ["gqa"])
    run_evaluate(request, runtime, EvalHooks(), lambda *a, **k: Resolving())
    greedy = replace(request.tasks[0], decoding_overrides={"num_beams": 1})
    with pytest.raises(RunError, match="decoding: stored"):
        run_evaluate(replace(request, tasks=(greedy,)), runtime, EvalHooks(),
                     lambda *a, **k: Resolving())
