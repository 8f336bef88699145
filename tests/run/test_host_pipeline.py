"""The host pipeline (issue 14): preprocessing in the media workers with the same pixels, each
media item loaded and run through the vision encoder once (counted in the manifest), requests
grouped by media item deterministically, lines written by a writer thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from cli_helpers import run_cli
from models_fixtures import (  # noqa: F401 - fixtures
    images,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

import ibench.run.execute as execute
from ibench.protocol.suite import load_tasks
from ibench.records import ModelInput, Request
from ibench.run.execute import LineWriter, TaskRunner
from ibench.run.folder import read_lines
from ibench.run.taskrun import grouped_by_media


def _requests(task: str, media: list[str], templates: int) -> list[Request]:
    return [Request(task, f"s{i}", f"t{k}", f"Question: q{i} {k}? Short answer:", "generate",
                    Path(m)) for i, m in enumerate(media) for k in range(templates)]


@pytest.mark.parametrize("kind", ["t5", "vicuna"])
def test_preprocessing_runs_in_the_workers_and_gives_the_same_pixels(tiny_models, kind):
    model = tiny_models[kind]
    frame = images(1, seed=3)[0]
    for resize in ("square", "shorter_side_center_crop"):
        item = ModelInput("x", [frame], image_resize=resize)
        expected = model._pixels(model._geometry(item))  # the processor on the batch path
        assert torch.equal(model.preprocess([frame], resize).to(expected.dtype), expected)


def test_the_model_thread_only_runs_the_model(tiny_models, tmp_path, monkeypatch):
    model = tiny_models["vicuna"]
    pictures = images(2, seed=5)
    monkeypatch.setattr(execute, "load_image", lambda path: pictures[int(path.stem)])
    threads = []
    real = model.image_processor.__class__.__call__

    def spy(self, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(model.image_processor.__class__, "__call__", spy)
    runner = TaskRunner(load_tasks()["gqa"], model, tmp_path / "p.jsonl", batch_size=2,
                        frames=None)
    counts = runner.run(_requests("gqa", ["/x/0.jpg", "/x/1.jpg"], 3))
    assert counts == {"ok": 6}
    assert threads and all(t.startswith("ibench-media") for t in threads)
    assert len(threads) == 2  # once per image, not per template


def test_each_media_item_is_loaded_and_encoded_once(tiny_models, tmp_path, monkeypatch):
    model = tiny_models["t5"]
    pictures = images(3, seed=7)
    loads = []

    def load(path):
        loads.append(path)
        return pictures[int(path.stem)]

    monkeypatch.setattr(execute, "load_image", load)
    media = ["/x/0.jpg", "/x/1.jpg", "/x/0.jpg", "/x/2.jpg"]  # a shared image
    requests = list(grouped_by_media(iter(_requests("gqa", media, 3))))
    runner = TaskRunner(load_tasks()["gqa"], model, tmp_path / "p.jsonl", batch_size=4,
                        frames=None)
    runner.run(requests)
    assert len(loads) == 3 and runner.work["media_loads"] == 3
    assert runner.work["vision_encoder_calls"] == 3
    assert runner.work["vision_encoder_reused"] == 12 - 3
    # the same answers as each request alone, without any reuse
    lines = {(r["sample_id"], r["template_id"]): r["prediction"]
             for r in read_lines(tmp_path / "p.jsonl")}
    settings = load_tasks()["gqa"].generation_settings(model.architecture)
    for request in requests:
        alone = ModelInput(request.prompt, [pictures[int(Path(request.media).stem)]])
        assert model.generate([alone], settings) == [lines[(request.sample_id,
                                                            request.template_id)]]


def test_a_video_is_decoded_once_for_all_its_questions(tmp_path, monkeypatch):
    decodes = []

    def decode(path, frames, clip=None, tolerance_s=1.0):
        decodes.append(path)
        return [object()] * frames, list(range(frames)), "whole video"

    monkeypatch.setattr(execute, "load_clip_frames", decode)

    class Counting:
        architecture = "decoder-only"

        def generate(self, inputs, settings):
            return ["yes" for _ in inputs]

    runner = TaskRunner(load_tasks()["ivqa"], Counting(), tmp_path / "p.jsonl", batch_size=3,
                        frames=4)
    runner.run(_requests("ivqa", ["/v/a.mp4"] * 5 + ["/v/b.mp4"] * 2, 1))
    assert sorted(str(p) for p in decodes) == ["/v/a.mp4", "/v/b.mp4"]


def test_requests_are_grouped_by_media_deterministically():
    requests = _requests("gqa", ["a", "b", "a", "c", "b"], 2)
    grouped = list(grouped_by_media(iter(requests)))
    assert [r.media.name for r in grouped] == ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    assert [r.sample_id for r in grouped[:4]] == ["s0", "s0", "s2", "s2"]  # plan order kept
    assert grouped == list(grouped_by_media(iter(requests)))
    # a bounded window: groups never reach across it
    assert [r.media.name for r in grouped_by_media(iter(requests), window=4)] == [
        "a", "a", "b", "b", "a", "a", "c", "c", "b", "b"]


def test_the_writer_thread_keeps_order_and_reports_a_write_error(tmp_path, monkeypatch):
    from ibench.run.schema import PredictionLine

    def line(i: int) -> PredictionLine:
        return PredictionLine(task="t", sample_id=str(i), template_id="x", prompt=None,
                              prediction=None, status="ok", reason=None)

    writer = LineWriter(tmp_path / "p.jsonl")
    for i in range(50):
        writer.put([line(i)])
    writer.close()
    assert [int(r["sample_id"]) for r in read_lines(tmp_path / "p.jsonl")] == list(range(50))
    assert 1 <= writer.commits <= 50  # batches waiting together share one fsync

    def full(path, records):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(execute, "append_lines", full)
    writer = LineWriter(tmp_path / "q.jsonl")
    writer.put([line(0)])
    with pytest.raises(OSError, match="No space"):
        writer.close()


def test_the_manifest_records_vision_encoder_calls_per_task(capsys, sample_pack, ibench_cache,
                                                            tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa",
                           "--templates", "all", "--data-root", str(sample_pack), "--output",
                           str(tmp_path), "--run-name", "counted", "--batch-size", "4")
    assert code == 0, err
    manifest = json.loads((tmp_path / "counted" / "manifest.json").read_text())
    work = manifest["sessions"][-1]["tasks"]["gqa"]
    questions = json.loads((sample_pack / load_tasks()["gqa"].data.files["questions"])
                           .read_text())
    distinct = {q["imageId"] for q in questions.values()}
    assert work["vision_encoder_calls"] == len(distinct)
    assert work["vision_encoder_calls"] + work["vision_encoder_reused"] == work["requests_run"]


@pytest.mark.parametrize("kind", ["t5", "vicuna"])
def test_scores_and_answers_do_not_depend_on_the_batch(tiny_models, kind):
    from models_fixtures import CANDIDATES, PROMPTS

    from ibench.records import GenerationSettings

    model = tiny_models[kind]
    pictures = images(16, seed=11)
    inputs = [ModelInput(PROMPTS[i % len(PROMPTS)], [pictures[i]], candidates=CANDIDATES)
              for i in range(16)]
    alone = [model.rank([item])[0] for item in inputs]
    settings = GenerationSettings(num_beams=3, max_new_tokens=6, min_new_tokens=1)
    answers = [model.generate([item], settings)[0] for item in inputs]
    for size in (3, 8, 16):  # and the batch compositions these sizes make
        scores = [s for i in range(0, 16, size) for s in model.rank(inputs[i:i + size])]
        worst = max(abs(a - b) for got, ref in zip(scores, alone, strict=True)
                    for a, b in zip(got, ref, strict=True))
        assert worst <= 1e-6, (size, worst)
        texts = [t for i in range(0, 16, size)
                 for t in model.generate(inputs[i:i + size], settings)]
        assert texts == answers, size


def test_a_candidate_list_is_tokenized_once(tiny_models):
    from models_fixtures import CANDIDATES

    model = tiny_models["vicuna"]
    vocabulary = tuple(f"answer {k}" for k in range(300))
    before = model.candidate_tokenizations
    pictures = images(4, seed=2)
    inputs = [ModelInput("Question: q? Short answer:", [p], candidates=vocabulary)
              for p in pictures]
    first = model.rank(inputs[:2])
    second = model.rank(inputs[2:])
    assert model.candidate_tokenizations - before == 1  # one list, 4 samples
    assert model.candidate_token_ids(vocabulary) == [model.candidate_ids(c) for c in vocabulary]
    alone = [model.rank([item])[0] for item in inputs]
    assert first + second == alone
    model.rank([ModelInput("x", [pictures[0]], candidates=(*CANDIDATES, "a new one"))])
    assert model.candidate_tokenizations - before == 2  # another list


def test_the_media_key_names_the_clip_tolerance_of_a_clip():
    """Two tasks that sample one clip of a video under different tolerances may get different
    frames (the clip window or the whole file), so their vision-cache keys differ; an image or
    a whole video has no window, so the tolerance does not enter its key."""
    from ibench.records import Request
    from ibench.run.execute import media_key

    clip = Request("t", "s", "x", "p", "rank", Path("v.mp4"), clip=(1.0, 3.0))
    whole = Request("t", "s", "x", "p", "rank", Path("v.mp4"))
    assert media_key(clip, 4, "square", 1.0) != media_key(clip, 4, "square", 0.5)
    assert media_key(whole, 4, "square", 1.0) == media_key(whole, 4, "square", 0.5)
    assert media_key(clip, 4, "square", 1.0) != media_key(clip, 8, "square", 1.0)
