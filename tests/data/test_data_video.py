"""Video QA readers (MSVD-QA, MSRVTT-QA, iVQA), the answer vocabulary and its coverage, and
the LLaVA reader, on hand-written records (formats.md sections 16-18, 21)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
from data_fixtures import tasks_fixture, with_data, write_json, write_text  # noqa: F401 - fixtures

from ibench.data import (
    DataError,
    answer_vocabulary,
    check_task,
    read_samples,
    vocabulary_coverage,
)
from ibench.protocol.taskspec import RankSpec, TaskSpec

MSVD_TEST = [
    {"answer": "man", "id": 30933, "question": "who is slicing a tomato?", "video_id": 1301},
    {"answer": "tomato", "id": 30934, "question": "what is a man slicing?", "video_id": 1301},
    {"answer": "chair", "id": 30935, "question": "what is the cat on?", "video_id": 1302},
]
TRAIN_ANSWERS = ["man", "woman", "man", "tomato", "dog", "cat", "dog"]
# counts: dog 2, man 2, cat 1, tomato 1, woman 1 -> most frequent first, ties alphabetical
VOCABULARY = ("dog", "man", "cat", "tomato", "woman")


def _train(answers: list[str], msrvtt: bool = False) -> list[dict]:
    out = []
    for i, answer in enumerate(answers):
        record = {"answer": answer, "id": i, "question": "what?", "video_id": 1 + i}
        if msrvtt:
            record["category_id"] = 3
        out.append(record)
    return out


def _write_msvd(root: Path) -> None:
    write_json(root, "msvd/test_qa.json", MSVD_TEST)
    write_json(root, "msvd/train_qa.json", _train(TRAIN_ANSWERS))


def test_msvd_qa_as_published(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    # The MSVD-QA release: YouTubeClips/<youtube_id>_<start>_<end>.avi, and youtube_mapping.txt
    # lines "<youtube_id>_<start>_<end> vid<N>" for the video_id N of the QA files.
    _write_msvd(tmp_path)
    write_text(tmp_path, "msvd/youtube_mapping.txt",
               "-4wsuPCjDBc_5_15 vid1\nbQJQGoJF7_k_162_169 vid1301\n-8y1Q0rA3n8_108_115 vid1302\n")
    samples = list(read_samples(tasks["msvd_qa"], tmp_path))
    assert samples[0].media == tmp_path / "msvd/YouTubeClips/bQJQGoJF7_k_162_169.avi"
    assert samples[2].media == tmp_path / "msvd/YouTubeClips/-8y1Q0rA3n8_108_115.avi"
    assert samples[0].references == {"answer": "man"}


def test_msvd_mapping_without_the_video_is_named(tmp_path: Path,
                                                 tasks: dict[str, TaskSpec]) -> None:
    _write_msvd(tmp_path)
    path = write_text(tmp_path, "msvd/youtube_mapping.txt", "bQJQGoJF7_k_162_169 vid1301\n")
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["msvd_qa"], tmp_path, strict=True))
    assert str(path) in str(info.value) and "vid1302" in str(info.value)
    write_text(tmp_path, "msvd/youtube_mapping.txt", "bQJQGoJF7_k_162_169\n")
    with pytest.raises(DataError, match="line 1"):
        list(read_samples(tasks["msvd_qa"], tmp_path, strict=True))


def test_msvd_qa_renamed_clips(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_msvd(tmp_path)  # no youtube_mapping.txt: the clips renamed vid<N>.avi
    samples = list(read_samples(tasks["msvd_qa"], tmp_path))
    assert [s.id for s in samples] == ["30933", "30934", "30935"]
    assert samples[0].media == tmp_path / "msvd/videos/vid1301.avi"  # video_id N -> vid<N>.avi
    assert samples[2].media == tmp_path / "msvd/videos/vid1302.avi"
    assert samples[0].fields == {"question": "who is slicing a tomato?"}
    assert samples[0].references == {"answer": "man"}
    assert samples[0].candidates == VOCABULARY
    assert all(s.candidates is samples[0].candidates for s in samples)  # one shared tuple


def test_vocabulary_and_coverage(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_msvd(tmp_path)
    vocabulary = answer_vocabulary(tasks["msvd_qa"], tmp_path)
    assert vocabulary.answers == VOCABULARY and vocabulary.distinct == 5
    # test answers: man (in), tomato (in), chair (out) -> 2 / 3
    assert vocabulary_coverage(tasks["msvd_qa"], tmp_path) == pytest.approx(2 / 3)


def _with_top_k(task: TaskSpec, top_k: int | None) -> TaskSpec:
    rank = dataclasses.replace(task.rank, vocabulary={"source": "train", "top_k": top_k})
    assert isinstance(rank, RankSpec)
    return dataclasses.replace(task, rank=rank)


def test_msrvtt_qa_and_top_k(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(
        tmp_path,
        "msrvtt/test_qa.json",
        [
            {
                "answer": "man",
                "category_id": 2,
                "id": 158581,
                "question": "who is singing?",
                "video_id": 7010,
            }
        ],
    )
    write_json(tmp_path, "msrvtt/train_qa.json", _train(TRAIN_ANSWERS, msrvtt=True))
    [sample] = read_samples(tasks["msrvtt_qa"], tmp_path)  # top_k 1500: all 5
    assert sample.id == "158581"
    assert sample.media == tmp_path / "msrvtt/videos/video7010.mp4"
    assert sample.candidates == VOCABULARY
    [sample] = read_samples(_with_top_k(tasks["msrvtt_qa"], 2), tmp_path)
    assert sample.candidates == ("dog", "man")
    assert vocabulary_coverage(_with_top_k(tasks["msrvtt_qa"], 1), tmp_path) == 0.0


def test_candidates_file_role_replaces_the_train_file(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    write_json(tmp_path, "msvd/test_qa.json", MSVD_TEST)
    write_text(tmp_path, "msvd/answer_set.txt", "man\nchair\n\nman\ntable\n")
    files = {"test": "msvd/test_qa.json", "train": "msvd/train_qa.json",
             "candidates": "msvd/answer_set.txt"}
    task = with_data(tasks["msvd_qa"], files=files, media_dir="msvd/videos",
                     options={"video_name": "vid{video_id}.avi"})
    [first, *_] = read_samples(task, tmp_path)  # no train file on disk: not needed
    assert first.candidates == ("man", "chair", "table")
    assert vocabulary_coverage(task, tmp_path) == pytest.approx(2 / 3)
    check = check_task(task, tmp_path)
    assert check.usable
    train = next(f for f in check.files if f.role == "train")
    assert not train.exists and not train.required


def test_candidates_file_argument(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_msvd(tmp_path)
    answers = tmp_path / "elsewhere" / "train_ans2label.json"
    write_json(tmp_path, "elsewhere/train_ans2label.json", {"tomato": 1, "man": 0, "cat": 2})
    [first, *_] = read_samples(tasks["msvd_qa"], tmp_path, candidates_file=answers)
    assert first.candidates == ("man", "tomato", "cat")  # ans2label: in label order


def test_train_record_without_answer(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "msvd/test_qa.json", MSVD_TEST)
    path = write_json(tmp_path, "msvd/train_qa.json", [{"id": 0, "question": "q", "video_id": 1}])
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["msvd_qa"], tmp_path, strict=True))
    assert str(info.value) == f"{path}: record #0: field 'answer': missing"


IVQA_CSV = (
    "video_id,start,end,question,answer1,answer2,answer3,answer4,answer5\n"
    "aBcD3fGh1jk,12,27,what is the man cutting?,bread,bread,loaf,bread,cake\n"
    'Zz9_yY8-xX7,0,15,"what color, roughly, is the bowl?",red,red,red,red,red\n'
)


def test_ivqa(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_text(tmp_path, "ivqa/test.csv", IVQA_CSV)
    samples = list(read_samples(tasks["ivqa"], tmp_path))
    assert [s.id for s in samples] == ["0", "1"]
    assert samples[0].media == tmp_path / "ivqa/videos/aBcD3fGh1jk.mp4"
    assert samples[0].fields == {"question": "what is the man cutting?"}
    assert samples[0].references == {"answers": ["bread", "bread", "loaf", "bread", "cake"]}
    assert samples[1].fields == {"question": "what color, roughly, is the bowl?"}
    assert samples[1].candidates is None


def test_ivqa_clip_name_pattern(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_text(tmp_path, "ivqa/test.csv", IVQA_CSV)
    task = with_data(tasks["ivqa"], options={"video_name": "{video_id}_{start}_{end}.mp4"})
    first = next(iter(read_samples(task, tmp_path)))
    assert first.media == tmp_path / "ivqa/videos/aBcD3fGh1jk_12_27.mp4"


def test_ivqa_missing_column(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(tmp_path, "ivqa/test.csv", "video_id,question,answer1\nabc,what?,x\n")
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["ivqa"], tmp_path, strict=True))
    assert str(path) in str(info.value) and "field 'answer2'" in str(info.value)


def test_ivqa_empty_answer(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    text = IVQA_CSV.replace(",cake\n", ",\n")
    write_text(tmp_path, "ivqa/test.csv", text)
    with pytest.raises(DataError, match="record row 0: field 'answer5': is empty"):
        list(read_samples(tasks["ivqa"], tmp_path, strict=True))


LLAVA_RECORD = {
    "id": "000000033471",
    "image": "000000033471.jpg",
    "conversations": [
        {"from": "human", "value": "<image>\nWhat are the colors of the bus in the image?"},
        {"from": "gpt", "value": "The bus in the image is white and red."},
        {"from": "human", "value": "What feature can be seen on the back of the bus?"},
        {"from": "gpt", "value": "The back of the bus features an advertisement."},
    ],
}


def test_llava_first_exchange(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    image_last = {
        "id": "000000052846",
        "image": "000000052846.jpg",
        "conversations": [
            {"from": "human", "value": "Where is the cat sitting?\n<image>"},
            {"from": "gpt", "value": "On a laptop."},
        ],
    }
    write_json(tmp_path, "llava/conversation_58k.json", [LLAVA_RECORD, image_last])
    samples = list(read_samples(tasks["llava_conv"], tmp_path))
    assert [s.id for s in samples] == ["000000033471", "000000052846"]
    assert samples[0].media == tmp_path / "coco/images/train2017/000000033471.jpg"
    assert samples[0].fields == {"question": "What are the colors of the bus in the image?"}
    assert samples[0].references == {"captions": ["The bus in the image is white and red."]}
    assert samples[1].fields == {"question": "Where is the cat sitting?"}


def test_llava_seeded_slice(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    records = [dict(LLAVA_RECORD, id=f"{i:012d}", image=f"{i:012d}.jpg") for i in range(10)]
    write_json(tmp_path, "llava/detail_23k.json", records)
    task = with_data(tasks["llava_detail"], options={"slice": 4, "seed": 0})
    chosen = sorted(random.Random(0).sample(range(10), 4))  # the documented rule
    assert [s.id for s in read_samples(task, tmp_path)] == [f"{i:012d}" for i in chosen]


def test_llava_same_image_twice_gets_distinct_ids(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    write_json(tmp_path, "llava/complex_reasoning_77k.json", [LLAVA_RECORD, LLAVA_RECORD])
    samples = list(read_samples(tasks["llava_reasoning"], tmp_path))
    assert [s.id for s in samples] == ["000000033471", "000000033471#1"]


def test_llava_gpt_first_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    bad = json.loads(json.dumps(LLAVA_RECORD))
    bad["conversations"].reverse()
    write_json(tmp_path, "llava/conversation_58k.json", [bad])
    with pytest.raises(DataError, match=r"field 'conversations\[0\].from'"):
        list(read_samples(tasks["llava_conv"], tmp_path, strict=True))


def test_ivqa_clip_bounds_come_with_the_sample(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_text(tmp_path, "ivqa/test.csv", IVQA_CSV)
    samples = list(read_samples(tasks["ivqa"], tmp_path))
    assert [s.clip for s in samples] == [(12.0, 27.0), (0.0, 15.0)]


def test_ivqa_bad_clip_bound_names_row_and_column(tmp_path: Path,
                                                  tasks: dict[str, TaskSpec]) -> None:
    path = write_text(tmp_path, "ivqa/test.csv", IVQA_CSV.replace(",12,27,", ",12,soon,"))
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["ivqa"], tmp_path, strict=True))
    assert str(path) in str(info.value) and "row 0" in str(info.value)
    assert "field 'end'" in str(info.value) and "'soon'" in str(info.value)


def test_clip_frame_range_by_hand() -> None:
    from ibench.media import clip_frame_range

    # 40 s at 8 fps = 320 frames, clip 12-27 s: frames floor(96) .. ceil(216) -> 120 frames
    assert clip_frame_range(320, 8.0, (12.0, 27.0), 1.0) == (96, 120, "clip_window")
    # a 15 s file (120 frames) for a 15 s clip is the clip itself: the whole file
    assert clip_frame_range(120, 8.0, (12.0, 27.0), 1.0) == (0, 120, "file_is_clip")
    assert clip_frame_range(124, 8.0, (12.0, 27.0), 1.0) == (0, 124, "file_is_clip")  # 15.5 s
    assert clip_frame_range(320, 8.0, None, 1.0) == (0, 320, "whole_file")
    # a clip running past the end is cut at the last frame: 30-38 s of a 36 s video
    assert clip_frame_range(288, 8.0, (30.0, 38.0), 1.0) == (240, 48, "clip_window")
    with pytest.raises(ValueError, match="outside the video"):
        clip_frame_range(80, 8.0, (30.0, 45.0), 1.0)


def test_frames_are_sampled_inside_the_clip_of_a_full_video(tmp_path: Path) -> None:
    from ibench.data import synth
    from ibench.media import load_clip_frames

    path = tmp_path / "full.mp4"
    path.write_bytes(synth.encode_video(synth.moving_frames("circle", "red", "right", 32), "mp4"))
    # 32 frames at 8 fps (4 s), clip 1-3 s: frames 8..23, 4 uniform ones: 8 + [0, 4, 8, 12]
    _, indices, window = load_clip_frames(path, 4, clip=(1.0, 3.0))
    assert (indices, window) == ([8, 12, 16, 20], "clip_window")
    _, indices, window = load_clip_frames(path, 4, clip=(10.0, 14.0))  # the file is the clip
    assert (indices, window) == ([0, 8, 16, 24], "file_is_clip")


def test_annotations_saved_with_a_bom_read_as_without(tmp_path: Path,
                                                      tasks: dict[str, TaskSpec]) -> None:
    # Excel and Windows editors start a re-saved CSV or JSON with U+FEFF
    write_text(tmp_path, "ivqa/test.csv", "\ufeff" + IVQA_CSV)
    samples = list(read_samples(tasks["ivqa"], tmp_path))
    assert samples[0].media == tmp_path / "ivqa/videos/aBcD3fGh1jk.mp4"
    questions = [{"answer": "yes", "id": 7, "question": "is it red?", "video_id": 3}]
    spec = tasks["msvd_qa"]
    for role in ("test", "train"):
        path = tmp_path / spec.data.files[role]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\ufeff" + json.dumps(questions), encoding="utf-8")
    task = dataclasses.replace(spec, mode="generate", rank=None)
    [sample] = list(read_samples(task, tmp_path))
    assert sample.id == "7" and sample.fields == {"question": "is it red?"}
