"""VQAv2 / OK-VQA: the official question and annotation files joined on question_id (and
question generation from them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.hub import hub_samples
from ibench.data.packkit import (
    Pack,
    scene_qa,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def answers_of(rec: Record) -> list[str]:
    """The `answer` of each of a record's `answers` (VQA, VizWiz): a non-empty list."""
    out = []
    for j, item in enumerate(rec.list("answers")):
        text = item.get("answer") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise rec.error(f"answers[{j}].answer", f"must be a string, got {text!r}")
        out.append(text)
    return out


def _vqa_each(source: Source, build: Callable[[str, Path, str, Record], Sample]
              ) -> Iterator[Sample]:
    """build(question id, image path, question, annotation record) per question, in question
    order; a bad record becomes its stand-in (record.guarded).

    The two official files are joined on question_id; the image is
    `<split>/COCO_<split>_<image_id:012d>.jpg` with split = options.image_split or the
    questions file's data_subtype. An annotation whose question_id is unreadable is left out
    of the join, so its question fails as having no annotation.
    """
    qpath, apath = source.path("questions"), source.path("annotations")
    qdata, adata = source.json("questions"), source.json("annotations")
    questions = record_list(qdata, "questions", qpath, "questions")
    annotations = record_list(adata, "annotations", apath, "annotations")
    split = source.option("image_split") or qdata.get("data_subtype")
    if not isinstance(split, str) or not split:
        raise DataError(qpath, "no image split: set data.options.image_split", field="data_subtype")
    by_id: dict[int, Record] = {}
    for j, raw in enumerate(annotations):
        try:
            rec = Record(raw, apath, f"#{j}")
            qid = rec.int("question_id")
        except DataError:
            continue
        by_id[qid] = rec.rename(f"#{j} (question_id {qid})")
    for i, raw in enumerate(questions):
        yield guarded(qpath, f"#{i}", partial(_vqa_one, source, split, by_id, i, raw, build))


def _vqa_one(source: Source, split: str, by_id: dict[int, Record], i: int, raw: object,
             build: Callable[[str, Path, str, Record], Sample]) -> Sample:
    qpath, apath = source.path("questions"), source.path("annotations")
    rec = Record(raw, qpath, f"#{i}")
    qid = rec.int("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    question = rec.str("question")
    image_id = rec.int("image_id")
    if qid not in by_id:
        raise DataError(apath, "no annotation for this question", f"question_id {qid}",
                        "question_id")
    rel = f"{split}/COCO_{split}_{image_id:012d}.jpg"
    return build(str(qid), source.media(rel, qpath, rec.name, "image_id"), question, by_id[qid])


def _vqa_sample(qid: str, media: Path, question: str, ann: Record) -> Sample:
    refs = {"answers": answers_of(ann)}
    for key in ("answer_type", "question_type"):
        if isinstance(ann.get(key), str):
            refs[key] = ann.get(key)
    return Sample(qid, media, {"question": question}, refs)


def read_vqa(source: Source) -> Iterator[Sample]:
    """VQAv2 / OK-VQA: references `{"answers": [10 str]}` (OK-VQA: the stemmed `answer`)."""
    return _vqa_each(source, _vqa_sample)


def most_frequent(answers: list[str]) -> str:
    """The most frequent answer; ties go to the one that appears first."""
    counts = Counter(answers)
    return max(dict.fromkeys(answers), key=lambda a: counts[a])


def _vqg_sample(qid: str, media: Path, question: str, ann: Record) -> Sample:
    if ann.has("multiple_choice_answer"):
        answer = ann.str("multiple_choice_answer")
    else:
        answer = most_frequent(answers_of(ann))
    return Sample(qid, media, {"answer": answer}, {"captions": [question]})


def read_vqg(source: Source) -> Iterator[Sample]:
    """Question generation from VQAv2 / OK-VQA: field `answer`, reference = the real question.

    The answer is `multiple_choice_answer` (VQAv2); OK-VQA has none, so the most frequent of
    the 10 answers (ties: the first).
    """
    return _vqa_each(source, _vqg_sample)


def _vqa_files(pack: Pack, task: TaskSpec, n: int) -> None:
    """VQAv2 or OK-VQA val questions + annotations (two questions per image)."""
    okvqa = "okvqa" in task.data.files["questions"]
    rng = pack.rng(task.data.files["questions"])
    split = task.data.options.get("image_split", "val2014")
    questions, annotations = [], []
    base = 297147 if okvqa else 262148
    for i in range(n):
        image_id = base + (i // 2) * 13
        if i % 2 == 0:
            scene = synth.random_scene(pack.rng(f"{task.data.files['questions']}/{image_id}"))
            pack.image(task.data.media_dir, f"{split}/COCO_{split}_{image_id:012d}.jpg", scene)
        question, answer = scene_qa(scene, i)
        qid = image_id * 10 + i % 2 if okvqa else image_id * 1000 + i % 2
        others = [answer] * 8 + [rng.choice(["maybe", answer + "s", "not sure"])] * 2
        rng.shuffle(others)
        if okvqa:
            answers = [
                {
                    "answer_id": k + 1,
                    "raw_answer": a,
                    "answer_confidence": "yes",
                    "answer": a.rstrip("s") if a != "yes" else a,
                }
                for k, a in enumerate(others)
            ]
            ann = {
                "image_id": image_id,
                "answer_type": "other",
                "question_type": "four",
                "question_id": qid,
                "answers": answers,
                "confidence": 3,
            }
        else:
            answers = [
                {"answer": a, "answer_confidence": "yes", "answer_id": k + 1}
                for k, a in enumerate(others)
            ]
            ann = {
                "question_type": question.split()[0] + " " + question.split()[1],
                "multiple_choice_answer": answer,
                "answers": answers,
                "image_id": image_id,
                "answer_type": "yes/no" if answer == "yes" else "other",
                "question_id": qid,
            }
        questions.append(
            {
                "image_id": image_id,
                "question": question[0].upper() + question[1:],
                "question_id": qid,
            }
        )
        annotations.append(ann)
    info = {"description": "ibench synthetic sample", "version": "2.0", "year": 2017}
    license_ = {
        "name": "Creative Commons Attribution 4.0 International License",
        "url": "http://creativecommons.org/licenses/by/4.0/",
    }
    pack.write_json(
        task.data.files["questions"],
        {
            "info": info,
            "task_type": "Open-Ended",
            "data_type": "mscoco",
            "license": license_,
            "data_subtype": split,
            "questions": questions,
        },
    )
    pack.write_json(
        task.data.files["annotations"],
        {"info": info, "license": license_, "data_subtype": split, "annotations": annotations},
    )


def read_hub_vqa(source: Source) -> Iterator[Sample]:
    """The lmms-lab/OK-VQA (val2014), lmms-lab/VQAv2 (validation) and lmms-lab/VizWiz-VQA (val)
    parquet mirrors: question_id (VizWiz: the image file stem, the official id), question,
    answers (10 strings; VQAv2: 10 `{answer, answer_confidence, answer_id}` records), image
    (embedded, decoded by the media workers). Only the text columns are read here."""
    return hub_samples(source, ["question_id", "question", "answers"], _hub_sample)


def _hub_sample(path: Path, group: int, row: int, name: str, record: dict) -> Sample:
    rec = Record(record, path, name)
    qid = rec.id("question_id")
    rec.rename(f"{name} (question_id {qid})")
    return Sample(qid, path, {"question": rec.str("question")},
                  {"answers": answers_of(rec)}, media_row=(group, row, "image"))


FORMATS = (
    Format(
        "vqa", read_vqa, _vqa_files,
        (
            "v2_OpenEnded_mscoco_val2014_questions.json + v2_mscoco_val2014_annotations.json "
            "(OK-VQA: OpenEnded_mscoco_val2014_questions.json + mscoco_val2014_annotations.json),"
            " COCO val2014 images",
        ),
    ),
    Format(
        "vqg_vqa", read_vqg, _vqa_files,
        (
            "the same VQA files; the question becomes the reference",
        ),
    ),
    Format(
        "hub_vqa", read_hub_vqa, None,
        (
            "the lmms-lab/OK-VQA (data/val2014-*.parquet) and lmms-lab/VQAv2 "
            "(data/validation-*.parquet) parquet mirrors, or their lmms-lab-encoder copies, "
            "images embedded",
        ),
    ),
)
