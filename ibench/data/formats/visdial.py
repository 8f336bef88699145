"""Visual Dialog v1.0: visdial_1.0_val.json (indices into shared question/answer lists)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data import synth
from ibench.data.annotation import Record, guarded_many
from ibench.data.candidates import check_candidates
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def _texts(data: dict, key: str, path) -> list[str]:
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise DataError(path, "must be a list of strings", field=f"data.{key}")
    return items


def history(caption: str, rounds: list[tuple[str, str]]) -> str:
    """The caption, then each earlier round as `Q: {question} A: {answer}`, single spaces."""
    return " ".join([caption, *(f"Q: {q} A: {a}" for q, a in rounds)])


def read_visdial(source: Source) -> Iterator[Sample]:
    """One sample per round (all rounds of every dialog), id `<image_id>_r<round>` (1-based).

    Candidates: the texts of the round's answer options; reference `{"answer_index": gt_index}`.
    Image: `<image_prefix>_<image_id:012d>.jpg`, prefix `VisualDialog_val2018` by default.
    """
    path = source.path("annotations")
    top = source.json("annotations")
    if not isinstance(top, dict) or not isinstance(top.get("data"), dict):
        raise DataError(path, "must be a JSON object with a 'data' object")
    data = top["data"]
    questions, answers = _texts(data, "questions", path), _texts(data, "answers", path)
    dialogs = data.get("dialogs")
    if not isinstance(dialogs, list):
        raise DataError(path, "must be a list of dialogs", field="data.dialogs")
    prefix = source.option("image_prefix", "VisualDialog_val2018")
    for i, raw in enumerate(dialogs):
        yield from guarded_many(path, f"dialog #{i}", partial(
            _dialog_samples, source, questions, answers, prefix, i, raw))


def _dialog_samples(source: Source, questions: list[str], answers: list[str], prefix: str,
                    i: int, raw: object) -> list[Sample]:
    """The samples of one dialog's rounds (a bad round makes the whole dialog a bad record:
    its history would be wrong for the rounds after it)."""
    path = source.path("annotations")
    dialog = Record(raw, path, f"dialog #{i}")
    image_id = dialog.int("image_id")
    dialog.rename(f"dialog #{i} (image_id {image_id})")
    caption = dialog.str("caption", allow_empty=True)
    media = source.media(f"{prefix}_{image_id:012d}.jpg", path, dialog.name, "image_id")
    done: list[tuple[str, str]] = []
    out = []
    for r, raw_round in enumerate(dialog.list("dialog"), start=1):
        turn = Record(raw_round, path, f"{dialog.name} round {r}")
        question = questions[turn.index("question", len(questions))]
        answer = answers[turn.index("answer", len(answers))]
        options = turn.list("answer_options", min_len=2)
        for j, option in enumerate(options):
            if (
                isinstance(option, bool)
                or not isinstance(option, int)
                or not (0 <= option < len(answers))
            ):
                raise turn.error(
                    f"answer_options[{j}]", f"must index the answers list, got {option!r}"
                )
        gt = turn.index("gt_index", len(options))
        candidates = check_candidates(turn, "answer_options", (answers[o] for o in options))
        if candidates[gt] != answer:
            raise turn.error(
                "gt_index",
                f"option {gt} is {candidates[gt]!r}, but the round's answer is {answer!r}",
            )
        out.append(Sample(
            f"{image_id}_r{r}",
            media,
            {"question": question, "history": history(caption, done)},
            # the 10 rounds of a dialog are correlated: intervals resample whole dialogs
            {"answer_index": gt, "cluster": str(image_id)},
            candidates,
        ))
        done.append((question, answer))
    return out


VISDIAL_ROUNDS = 4


VISDIAL_OPTIONS = 100


def _visdial_answers() -> list[str]:
    """The shared answer list: enough distinct short answers for 100 options per round."""
    answers = ["yes", "no", "maybe", "i can't tell", "not sure"]
    answers += [str(k) for k in range(60)]
    answers += sorted(synth.COLORS) + list(synth.SHAPES) + sorted(synth.BACKGROUNDS)
    answers += [f"{c} {s}" for c in sorted(synth.COLORS) for s in synth.SHAPES]
    answers += [f"about {k}" for k in range(1, 11)]
    return answers


def _visdial(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    answers = _visdial_answers()
    questions: list[str] = []
    dialogs = []
    full, rest = divmod(n, VISDIAL_ROUNDS)
    sizes = [VISDIAL_ROUNDS] * full + ([rest] if rest else [])
    for d, rounds in enumerate(sizes):
        image_id = 185565 + d * 7
        scene = synth.random_scene(rng)
        shape = scene.shapes[0]
        script = [
            (f"what color is the {shape.kind}", shape.color),
            ("is it a photo", "no"),
            ("how many shapes are there", "1"),
            ("what color is the background", scene.background),
        ]
        turns = []
        for question, answer in script[:rounds]:
            if question not in questions:
                questions.append(question)
            gt = answers.index(answer)
            others = rng.sample([k for k in range(len(answers)) if k != gt], VISDIAL_OPTIONS - 1)
            position = rng.randrange(VISDIAL_OPTIONS)
            options = others[:position] + [gt] + others[position:]
            turns.append(
                {
                    "question": questions.index(question),
                    "answer": gt,
                    "answer_options": options,
                    "gt_index": position,
                }
            )
        dialogs.append({"image_id": image_id, "caption": scene.caption(), "dialog": turns})
        prefix = task.data.options.get("image_prefix", "VisualDialog_val2018")
        pack.image(task.data.media_dir, f"{prefix}_{image_id:012d}.jpg", scene)
    pack.write_json(
        task.data.files["annotations"],
        {
            "version": "1.0",
            "split": "val2018",
            "data": {"questions": questions, "answers": answers, "dialogs": dialogs},
        },
    )


FORMATS = (
    Format(
        "visdial", read_visdial, _visdial,
        (
            "visdial_1.0_val.json; VisualDialog_val2018_<image_id:012d>.jpg",
        ),
    ),
)
