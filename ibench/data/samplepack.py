"""write_sample_pack: a small synthetic copy of all 26 datasets in their official on-disk formats.

Every annotation file has its real name, structure and quirks (formats.md), at exactly the
paths the task files name; images are small coloured shapes whose captions, questions and
answers describe them; videos are a shape moving across the frame. Same arguments, same bytes.
`per_task` is the number of evaluation samples of every task (Visual Dialog: rounds, written
as dialogs of at most 4 rounds). Non-evaluation records (train splits, text-only ScienceQA
problems, other IconQA sub-tasks) are added so the readers' filters are exercised.
"""

from __future__ import annotations

import csv
import io
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

from ibench.data import synth
from ibench.data.synth import Scene
from ibench.data.video_qa import video_name
from ibench.tasks import TaskSpec, load_tasks

VISDIAL_ROUNDS = 4
VISDIAL_OPTIONS = 100


class _Pack:
    """Writes files under the pack root, refusing to write one path twice with other bytes."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.seed = seed
        self.written: dict[Path, bytes] = {}
        self.ocr: dict[Path, list[tuple[str, str]]] = {}

    def rng(self, name: str) -> random.Random:
        """A generator of its own per dataset, so datasets do not shift each other."""
        return random.Random(f"ibench-sample-pack/{self.seed}/{name}")

    def write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        if path in self.written:
            if self.written[path] != data:
                raise RuntimeError(f"sample pack writes {rel} twice with different content")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written[path] = data

    def write_json(self, rel: str, data: object) -> None:
        self.write_bytes(rel, json.dumps(data).encode("utf-8"))

    def rosetta(self, rel: str, image_words: list[tuple[str, str]], split: str) -> None:
        """Add images to a Rosetta OCR file that several datasets share (TextVQA val and
        TextCaps val: both use TextVQA_Rosetta_OCR_v0.2_val.json) and rewrite it."""
        path = self.root / rel
        words = self.ocr.setdefault(path, [])
        words.extend(image_words)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(_rosetta(words, split)).encode("utf-8")
        path.write_bytes(data)
        self.written[path] = data

    def write_lines(self, rel: str, lines: list[str]) -> None:
        self.write_bytes(rel, "".join(f"{line}\n" for line in lines).encode("utf-8"))

    def image(self, media_dir: str, rel: str, scene: Scene) -> None:
        suffix = Path(rel).suffix
        self.write_bytes(f"{media_dir}/{rel}", synth.encode_image(synth.render(scene), suffix))

    def video(self, media_dir: str, rel: str, frames: list) -> None:
        container = "avi" if rel.endswith(".avi") else "mp4"
        self.write_bytes(f"{media_dir}/{rel}", synth.encode_video(frames, container))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _tokens(text: str) -> list[str]:
    return text.lower().rstrip(".?").replace(",", "").split()


def _qa(scene: Scene, k: int) -> tuple[str, str]:
    """The k-th question about a one-shape scene and its answer."""
    shape = scene.shapes[0]
    questions = [
        (f"what color is the {shape.kind}?", shape.color),
        ("what shape is in the picture?", shape.kind),
        ("what color is the background?", scene.background),
        (f"is there a {shape.kind} in the image?", "yes"),
    ]
    return questions[k % len(questions)]


def _captions(scene: Scene, n: int) -> list[str]:
    """n different captions of a scene."""
    shape = scene.shapes[0]
    forms = [
        f"A {shape.name} on a {scene.background} background.",
        f"a {shape.color} {shape.kind} in front of a plain {scene.background} backdrop",
        f"A simple picture of a {shape.kind} colored {shape.color}.",
        f"The image shows one {shape.color} {shape.kind}.",
        f"A {scene.background} picture with a {shape.name} in it.",
    ]
    return [forms[i % len(forms)] + ("" if i < len(forms) else f" ({i})") for i in range(n)]


# ----------------------------------------------------------------------------------- captions


def _karpathy(pack: _Pack, task: TaskSpec, n: int, coco: bool) -> None:
    rng = pack.rng(task.id)
    media_dir = task.data.media_dir
    splits = ["test"] * n + ["train", "train", "val", "restval" if coco else "val"]
    images, sentid = [], 100000 if coco else 0
    for imgid, split in enumerate(splits):
        scene = synth.random_scene(rng)
        if coco:
            cocoid = 391895 + imgid * 17
            folder = "val2014" if split in ("test", "val", "restval") else "train2014"
            filename = f"COCO_{folder}_{cocoid:012d}.jpg"
        else:
            filename = f"{1000092795 + imgid * 31}.jpg"
        sentences = []
        for raw in _captions(scene, 5):
            raw = raw + " " if sentid % 2 == 0 else raw  # `raw` may keep a trailing space
            sentences.append({"tokens": _tokens(raw), "raw": raw, "imgid": imgid, "sentid": sentid})
            sentid += 1
        record: dict = {}
        if coco:
            record["filepath"] = folder
        record |= {
            "sentids": [s["sentid"] for s in sentences],
            "filename": filename,
            "imgid": imgid,
            "split": split,
            "sentences": sentences,
        }
        if coco:
            record["cocoid"] = cocoid
        images.append(record)
        if split == "test":
            pack.image(media_dir, f"{folder}/{filename}" if coco else filename, scene)
    pack.write_json(
        task.data.files["annotations"],
        {"images": images, "dataset": "coco" if coco else "flickr30k"},
    )


def _coco_caption(pack: _Pack, task: TaskSpec, n: int) -> None:
    _karpathy(pack, task, n, coco=True)


def _flickr(pack: _Pack, task: TaskSpec, n: int) -> None:
    _karpathy(pack, task, n, coco=False)


def _nocaps(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    images, annotations = [], []
    domains = ("in-domain", "near-domain", "out-domain")
    for i in range(n):
        scene = synth.random_scene(rng)
        open_id = _hex(rng, 16)
        images.append(
            {
                "id": i,
                "open_images_id": open_id,
                "height": 64,
                "width": 64,
                "coco_url": f"https://s3.amazonaws.com/nocaps/val/{open_id}.jpg",
                "file_name": f"{open_id}.jpg",
                "license": 0,
                "date_captured": "2018-11-06 11:04:33",
                "domain": domains[i % 3],
            }
        )
        for caption in _captions(scene, 10):
            annotations.append({"image_id": i, "id": len(annotations), "caption": caption})
        pack.image(task.data.media_dir, f"{open_id}.jpg", scene)
    info = {
        "url": "http://nocaps.org",
        "date_created": "2018/11/06",
        "version": "0.1",
        "description": "nocaps validation dataset",
        "contributor": "nocaps team",
        "year": 2018,
    }
    pack.write_json(
        task.data.files["annotations"],
        {"licenses": [], "info": info, "images": images, "annotations": annotations},
    )


def _rosetta(image_words: list[tuple[str, str]], split: str) -> dict:
    """A Rosetta OCR file: per image its tokens and their boxes."""
    data = []
    for image_id, word in image_words:
        tokens = [word, "ibench"]
        info = [
            {
                "word": t,
                "bounding_box": {
                    "top_left_x": 0.05,
                    "top_left_y": 0.03,
                    "width": 0.4,
                    "height": 0.15,
                    "rotation": 0,
                    "roll": 0,
                    "pitch": 0,
                    "yaw": 0,
                },
            }
            for t in tokens
        ]
        data.append({"image_id": image_id, "ocr_tokens": tokens, "ocr_info": info})
    return {
        "dataset_name": "textvqa",
        "dataset_type": split,
        "dataset_version": "0.2",
        "data": data,
    }


def _textcaps(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    entries, ocr = [], []
    for i in range(n):
        word = synth.WORDS[i % len(synth.WORDS)]
        scene = synth.random_scene(rng, text=word)
        image_id = _hex(rng, 16)
        shape = scene.shapes[0]
        refs = [
            f"A sign that says {word} above a {shape.name}.",
            f"The word {word} is written over a {shape.kind}.",
            f"A {scene.background} sign reading {word}.",
            f"A {shape.color} shape under the text {word}.",
            f"{word.upper()} is printed at the top of the picture.",
        ]
        for k, caption in enumerate(refs):
            entries.append(
                {
                    "image_id": image_id,
                    "image_classes": ["Sign", "Poster"],
                    "flickr_original_url": f"https://farm1.staticflickr.com/{image_id}_o.jpg",
                    "flickr_300k_url": f"https://c1.staticflickr.com/{image_id}_z.jpg",
                    "image_width": 64,
                    "image_height": 64,
                    "set_name": "val",
                    "image_name": image_id,
                    "image_path": f"train/{image_id}.jpg",
                    "caption_id": 5 * i + k,
                    "caption_str": caption,
                    "caption_tokens": ["<s>", *_tokens(caption), "</s>"],
                    "reference_strs": refs,
                    "reference_tokens": [_tokens(r) for r in refs],
                }
            )
        ocr.append((image_id, word))
        pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
    pack.write_json(
        task.data.files["annotations"],
        {
            "dataset_type": "val",
            "dataset_name": "textcaps",
            "dataset_version": 0.1,
            "data": entries,
        },
    )
    # TextCaps val images are TextVQA val images: their OCR is in the TextVQA val file
    pack.rosetta(task.data.files["ocr"], ocr, "val")


def _capfilt(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    records = []
    for i in range(n):
        scene = synth.random_scene(rng)
        image = f"cc3m/{i // 4:05d}/{1000 + i:09d}.jpg"
        records.append({"image": image, "caption": scene.caption()})
        pack.image(task.data.media_dir, image, scene)
    pack.write_json(task.data.files["annotations"], records)


# --------------------------------------------------------------------------------------- VQA


def _vqa_files(pack: _Pack, task: TaskSpec, n: int) -> None:
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
        question, answer = _qa(scene, i)
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


def _vizwiz(pack: _Pack, task: TaskSpec, n: int) -> None:
    """val.json (answers, answer_type, answerable) or, for the server's split, test.json:
    VizWiz publishes only `image` and `question` there."""
    rng = pack.rng(task.id)
    records = []
    split = "val" if task.data.options.get("answers", True) else "test"
    for i in range(n):
        scene = synth.random_scene(rng)
        image = f"VizWiz_{split}_{i:08d}.jpg"
        if split == "test":
            question, _ = _qa(scene, i)
            records.append({"image": image, "question": question[0].upper() + question[1:]})
            pack.image(task.data.media_dir, f"test/{image}", scene)
            continue
        unanswerable = i == n - 1
        question, answer = _qa(scene, i)
        if unanswerable:
            question, answer = "Can you tell me what the label on this bottle says?", "unanswerable"
        answers = [{"answer": answer, "answer_confidence": "yes"} for _ in range(9)]
        answers.append(
            {"answer": "unsuitable" if unanswerable else answer, "answer_confidence": "maybe"}
        )
        records.append(
            {
                "image": image,
                "question": question[0].upper() + question[1:],
                "answers": answers,
                "answer_type": "unanswerable"
                if unanswerable
                else ("yes/no" if answer == "yes" else "other"),
                "answerable": 0 if unanswerable else 1,
            }
        )
        pack.image(task.data.media_dir, f"val/{image}", scene)
    pack.write_json(task.data.files["annotations"], records)


def _textvqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    data, ocr = [], []
    for i in range(n):
        if i % 2 == 0:
            word = synth.WORDS[(i // 2 + 3) % len(synth.WORDS)]
            scene = synth.random_scene(rng, text=word)
            image_id = _hex(rng, 16)
            ocr.append((image_id, word))
            pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
            question, answer = "what word is written at the top?", word
        else:
            question, answer = f"what color is the {scene.shapes[0].kind}?", scene.shapes[0].color
        answers = [answer] * 7 + [f"{answer} sign", answer, answer.upper()]
        data.append(
            {
                "question": question,
                "image_id": image_id,
                "image_classes": ["Sign", "Street sign"],
                "flickr_original_url": f"https://farm2.staticflickr.com/{image_id}_o.jpg",
                "flickr_300k_url": f"https://farm2.staticflickr.com/{image_id}_o.jpg",
                "image_width": 64,
                "image_height": 64,
                "answers": answers,
                "question_tokens": _tokens(question),
                "question_id": 34602 + i,
                "set_name": "val",
            }
        )
    pack.write_json(
        task.data.files["annotations"],
        {
            "dataset_type": "val",
            "dataset_name": "textvqa",
            "dataset_version": "0.5.1",
            "data": data,
        },
    )
    pack.rosetta(task.data.files["ocr"], ocr, "val")


def _ocrvqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", 3)
    genres = ("Cookbooks, Food & Wine", "Travel", "Science & Math", "Humor & Entertainment")
    books: dict = {}
    plan = [(split, 2)] * (n // 2) + ([(split, 1)] if n % 2 else [])  # (split code, questions)
    others = [(code, 1) for code in (1, 2, 3) if code != split]
    plan[1:1] = others  # books outside the evaluation split, between evaluation books
    first = rng.randint(10**8, 10**9)
    for b, (code, k) in enumerate(plan, start=1):
        book_id = f"{first + 7919 * b:010d}"
        word = synth.WORDS[b % len(synth.WORDS)]
        title, author, genre = (
            f"The {word.title()} Book",
            f"Ann {word.title()}son",
            genres[b % len(genres)],
        )
        qas = [
            ("Who wrote this book?", author),
            ("What is the title of this book?", title),
            ("What is the genre of this book?", genre),
        ][:k]
        books[book_id] = {
            "imageURL": f"http://ecx.images-amazon.com/images/I/{_hex(rng, 10)}.jpg",
            "questions": [q for q, _ in qas],
            "answers": [a for _, a in qas],
            "title": title,
            "authorName": author,
            "genre": genre,
            "split": code,
        }
        if code == split:
            pack.image(task.data.media_dir, f"{book_id}.jpg", synth.random_scene(rng, text=word))
    pack.write_json(task.data.files["annotations"], books)


def _gqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    data = {}
    first = rng.randint(100000, 900000)
    for i in range(n):
        if i % 2 == 0:
            image_id = f"n{first + 37 * i}"
            scene = synth.random_scene(rng)
            pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
        question, answer = _qa(scene, i)
        qid = f"{20000000 + i * 7:08d}"
        data[qid] = {
            "semantic": [
                {"operation": "select", "dependencies": [], "argument": "shape (0)"},
                {"operation": "query", "dependencies": [0], "argument": "color"},
            ],
            "entailed": [],
            "equivalent": [qid],
            "question": question[0].upper() + question[1:],
            "imageId": image_id,
            "isBalanced": True,
            "groups": {"global": None, "local": f"10q-shape_{answer}"},
            "answer": answer,
            "semanticStr": "select: shape (0)->query: color [0]",
            "annotations": {"answer": {}, "question": {}, "fullAnswer": {}},
            "types": {"detailed": "objAttr", "semantic": "attr", "structural": "query"},
            "fullAnswer": f"The answer is {answer}.",
        }
    pack.write_json(task.data.files["questions"], data)


# ------------------------------------------------------------------------- reasoning, choices


def _vsr(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    lines = []
    for i in range(n):
        scene = synth.random_scene(rng, shapes=2)
        left, right = scene.shapes
        label = i % 2
        relation = "left of" if label else "right of"
        image = f"{17697 + i * 101:012d}.jpg"
        true_votes = [18, 2] if label else []
        false_votes = [1] if label else [2, 51, 26]
        lines.append(
            json.dumps(
                {
                    "image": image,
                    "image_link": f"http://images.cocodataset.org/train2017/{image}",
                    "caption": f"The {left.name} is {relation} the {right.name}.",
                    "label": label,
                    "relation": relation,
                    "subj": left.kind,
                    "obj": right.kind,
                    "annotator_id": 2 + i,
                    "vote_true_validator_id": json.dumps(true_votes),
                    "vote_false_validator_id": json.dumps(false_votes),
                }
            )
        )
        pack.image(task.data.media_dir, image, scene)
    pack.write_lines(task.data.files["annotations"], lines)


def _choice(scene: Scene, k: int) -> tuple[str, list[str], int]:
    """A multiple-choice question about a one-shape scene: (question, choices, answer index)."""
    shape = scene.shapes[0]
    if k % 2 == 0:
        choices = sorted(synth.SHAPES)
        return "What shape is shown?", choices, choices.index(shape.kind)
    others = [c for c in sorted(synth.COLORS) if c != shape.color][: 2 + k % 2]
    choices = sorted([shape.color, *others])
    return f"What color is the {shape.kind}?", choices, choices.index(shape.color)


def _iconqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", "test")
    subtask = task.data.options.get("subtask", "choose_txt")
    problems: dict = {}
    # the published pid_splits.json: `<subtask>_<split>` for every sub-task and split
    splits: dict[str, list[str]] = {
        f"{t}_{s}": []
        for t in ("choose_img", "choose_txt", "fill_in_blank")
        for s in ("train", "val", "test", "trainval", "minitrain", "minival", "minitest")
    }
    plan = [(split, subtask)] * n + [
        ("train", "choose_txt"),
        ("test", "choose_img"),
        ("test", "fill_in_blank"),
    ]
    for i, (part, kind) in enumerate(plan):
        pid = str(10 + i * 3)
        scene = synth.random_scene(rng)
        question, choices, answer = _choice(scene, i)
        if kind == "fill_in_blank":
            record = {
                "question": "How many shapes are there?",
                "choices": [],
                "answer": "1",
                "ques_type": kind,
                "grade": "grade1",
                "label": "S1",
            }
        else:
            record = {
                "question": question,
                "choices": choices,
                "answer": answer,
                "ques_type": kind,
                "grade": "grade1",
                "label": "S2",
            }
        problems[pid] = record
        splits[f"{kind}_{part}"].append(pid)
        if (part, kind) == (split, subtask):
            folder = f"{task.data.media_dir}/{part}/{kind}/{pid}"
            pack.image(folder, "image.png", scene)
            pack.write_json(f"{folder}/data.json", record)
    pack.write_json(task.data.files["problems"], problems)
    pack.write_json(task.data.files["pid_splits"], splits)


def _scienceqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", "test")
    problems: dict = {}
    names = ("train", "val", "test", "trainval", "minitrain", "minival", "minitest")
    splits: dict[str, list[str]] = {name: [] for name in names}
    plan = [(split, True)] * n + [(split, False), (split, False), ("train", True), ("val", True)]
    rng.shuffle(plan)
    for i, (part, with_image) in enumerate(plan):
        pid = str(4 + i)
        scene = synth.random_scene(rng)
        question, choices, answer = _choice(scene, i)
        if not with_image:
            question, choices, answer = (
                "Which word would you find on a dictionary page between shape and square?",
                ["shore", "stamp"],
                0,
            )
        problems[pid] = {
            "question": question,
            "choices": choices,
            "answer": answer,
            "hint": "" if i % 3 == 0 else f"The picture shows a {scene.background} card.",
            "image": "image.png" if with_image else None,
            "task": "closed choice",
            "grade": "grade2",
            "subject": "natural science",
            "topic": "shapes",
            "category": "Identify shapes and colors",
            "skill": "Identify shapes",
            "lecture": "Shapes have names and colors.",
            "solution": f"The answer is {choices[answer]}.",
            "split": part,
        }
        splits[part].append(pid)
        if part in ("train", "val"):
            splits["trainval"].append(pid)
        if with_image and part == split:
            pack.image(task.data.media_dir, f"{part}/{pid}/image.png", scene)
    pack.write_json(task.data.files["problems"], problems)
    pack.write_json(task.data.files["pid_splits"], splits)


def _aokvqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.data.files["annotations"])
    split = task.data.options.get("image_split", "val2017")
    records = []
    for i in range(n):
        image_id = 461751 + i * 29
        scene = synth.random_scene(rng)
        shape = scene.shapes[0]
        choices = [c for c in sorted(synth.COLORS) if c != shape.color][:3] + [shape.color]
        rng.shuffle(choices)
        qid = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))
        records.append(
            {
                "split": "val",
                "image_id": image_id,
                "question_id": qid,
                "question": f"What color is the {shape.kind} in the picture?",
                "choices": choices,
                "correct_choice_idx": choices.index(shape.color),
                "direct_answers": [shape.color] * 9 + [f"light {shape.color}"],
                "difficult_direct_answer": False,
                "rationales": [
                    f"The {shape.kind} is {shape.color}.",
                    f"It is painted {shape.color}.",
                    f"Its color is {shape.color}.",
                ],
            }
        )
        pack.image(task.data.media_dir, f"{split}/{image_id:012d}.jpg", scene)
    pack.write_json(task.data.files["annotations"], records)


def _visdial_answers() -> list[str]:
    """The shared answer list: enough distinct short answers for 100 options per round."""
    answers = ["yes", "no", "maybe", "i can't tell", "not sure"]
    answers += [str(k) for k in range(60)]
    answers += sorted(synth.COLORS) + list(synth.SHAPES) + sorted(synth.BACKGROUNDS)
    answers += [f"{c} {s}" for c in sorted(synth.COLORS) for s in synth.SHAPES]
    answers += [f"about {k}" for k in range(1, 11)]
    return answers


def _visdial(pack: _Pack, task: TaskSpec, n: int) -> None:
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


def _hateful_memes(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    lines, used = [], set()
    for i in range(n):
        # Ids below 10000 have zero-padded file names (id 8291 -> img/08291.png).
        meme_id = (
            8291
            if i == 0
            else rng.randrange(1000, 10000)
            if i % 2 == 0
            else rng.randrange(10000, 100000)
        )
        while meme_id in used:
            meme_id += 1
        used.add(meme_id)
        word = synth.WORDS[i % len(synth.WORDS)]
        scene = synth.random_scene(rng, text=word)
        img = f"img/{meme_id:05d}.png"
        text = f"when the {scene.shapes[0].kind} says {word}"
        record = {"id": meme_id, "img": img, "label": i % 2, "text": text}
        # Written without spaces and with escaped slashes, as the official files are.
        lines.append(json.dumps(record, separators=(",", ":")).replace("/", "\\/"))
        pack.image(task.data.media_dir, img, scene)
    pack.write_lines(task.data.files["annotations"], lines)


# ------------------------------------------------------------------------------------- video


def _video_question(rng: random.Random, k: int) -> tuple[tuple[str, str, str], str, str]:
    kind, color = rng.choice(synth.SHAPES), rng.choice(sorted(synth.COLORS))
    direction = rng.choice(synth.DIRECTIONS)
    question, answer = [
        (f"what color is the moving {kind}?", color),
        ("what is moving?", kind),
        (f"which way does the {kind} move?", direction),
    ][k % 3]
    return (kind, color, direction), question, answer


def _video_record(qid: int, question: str, answer: str, video_id: int, msrvtt: bool) -> dict:
    """One QA record: MSVD-QA {answer, id, question, video_id}; MSRVTT-QA adds category_id."""
    if msrvtt:
        return {
            "answer": answer,
            "category_id": qid % 20,
            "id": qid,
            "question": question,
            "video_id": video_id,
        }
    return {"answer": answer, "id": qid, "question": question, "video_id": video_id}


def _video_json(pack: _Pack, task: TaskSpec, n: int, msrvtt: bool) -> None:
    rng = pack.rng(task.id)
    default = "video{video_id}.mp4" if msrvtt else "vid{video_id}.avi"
    pattern = task.data.options.get("video_name", default)
    # train: every answer the test questions can have, 1-3 times (videos never written)
    train = []
    answers = [
        *((c, "what color is the moving shape?") for c in sorted(synth.COLORS)),
        *((s, "what is moving?") for s in synth.SHAPES),
        *((d, "which way does the shape move?") for d in synth.DIRECTIONS),
    ]
    for j, (answer, question) in enumerate(answers):
        for _ in range(1 + j % 3):
            train.append(_video_record(len(train), question, answer, 1 + len(train) // 2, msrvtt))
    test = []
    mapping = []  # MSVD as published: YouTubeClips/<youtube_id>_<start>_<end>.avi + a mapping
    for i in range(n):
        video_id = (7010 if msrvtt else 1301) + i // 2
        if i % 2 == 0:
            look, question, answer = _video_question(rng, i)
            if "mapping" in task.data.files:
                youtube = "".join(rng.choice(string.ascii_letters + string.digits + "-_")
                                  for _ in range(11))
                clip = f"{youtube}_{i + 3}_{i + 9}"
                mapping.append(f"{clip} vid{video_id}")
                name = f"{clip}.avi"
            else:
                name = video_name(pattern, {"video_id": video_id}, Path(pattern), i)
            pack.video(task.data.media_dir, name, synth.moving_frames(*look))
        else:  # a second question about the same video
            kind, color, direction = look
            question, answer = [
                (f"what color is the moving {kind}?", color),
                ("what is moving?", kind),
                (f"which way does the {kind} move?", direction),
            ][(i + 1) % 3]
        test.append(_video_record(len(train) + i, question, answer, video_id, msrvtt))
    pack.write_json(task.data.files["test"], test)
    if mapping:
        pack.write_lines(task.data.files["mapping"], mapping)
    if "train" in task.data.files:
        pack.write_json(task.data.files["train"], train)


def _msvd(pack: _Pack, task: TaskSpec, n: int) -> None:
    _video_json(pack, task, n, msrvtt=False)


def _msrvtt(pack: _Pack, task: TaskSpec, n: int) -> None:
    _video_json(pack, task, n, msrvtt=True)


def _ivqa(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    pattern = task.data.options.get("video_name", "{video_id}.mp4")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video_id", "start", "end", "question", *(f"answer{k}" for k in range(1, 6))])
    # `start`/`end` are seconds of the clip inside the YouTube video. Even rows: the full video
    # (4 s at 8 fps), the clip 1-3 s inside it; odd rows: a file that is the clip itself (2 s
    # for a 5-7 s clip), as a user who cut the clips would have it.
    for i in range(n):
        video_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(11))
        look, question, answer = _video_question(rng, i)
        name = video_name(pattern, {"video_id": video_id}, Path(pattern), i)
        full = i % 2 == 0
        frames = synth.moving_frames(*look, frames=32 if full else 16)
        pack.video(task.data.media_dir, name, frames)
        answers = [answer, answer, answer, f"the {answer}" if i % 2 else answer, "not sure"]
        start, end = (1, 3) if full else (5, 7)
        writer.writerow([video_id, start, end, question, *answers])
    pack.write_bytes(task.data.files["test"], buffer.getvalue().encode("utf-8"))


# ------------------------------------------------------------------------------------- LLaVA


def _llava(pack: _Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    records = []
    kind = task.data.files["annotations"]
    for i in range(n):
        image_id = f"{33471 + i * 11:012d}"
        scene = synth.random_scene(pack.rng(f"llava/{image_id}"))
        shape = scene.shapes[0]
        if "detail" in kind:
            question, answer = (
                "Describe the following image in detail.",
                (
                    f"The image shows a single {shape.name} placed on a plain {scene.background} "
                    f"background. There is nothing else in the picture."
                ),
            )
        elif "reasoning" in kind:
            question, answer = (
                f"Why might someone draw a {shape.kind} like this?",
                (
                    f"A {shape.color} {shape.kind} on a {scene.background} background is easy to "
                    "see, so it could be used to teach shapes and colors."
                ),
            )
        else:
            question, answer = (
                f"What color is the {shape.kind} in the image?",
                (f"The {shape.kind} in the image is {shape.color}."),
            )
        first = f"<image>\n{question}" if rng.random() < 0.5 else f"{question}\n<image>"
        records.append(
            {
                "id": image_id,
                "image": f"{image_id}.jpg",
                "conversations": [
                    {"from": "human", "value": first},
                    {"from": "gpt", "value": answer},
                    {"from": "human", "value": "Is there anything else?"},
                    {"from": "gpt", "value": "No, that is all."},
                ],
            }
        )
        pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
    pack.write_json(task.data.files["annotations"], records)


WRITERS: dict[str, Callable[[_Pack, TaskSpec, int], None]] = {
    "coco_karpathy": _coco_caption,
    "flickr_karpathy": _flickr,
    "coco_captions": _nocaps,
    "textcaps": _textcaps,
    "capfilt": _capfilt,
    "vqa": _vqa_files,
    "vqg_vqa": _vqa_files,
    "vizwiz": _vizwiz,
    "textvqa": _textvqa,
    "ocrvqa": _ocrvqa,
    "gqa": _gqa,
    "vsr": _vsr,
    "iconqa": _iconqa,
    "scienceqa": _scienceqa,
    "aokvqa": _aokvqa,
    "aokvqa_da": _aokvqa,
    "vqg_aokvqa": _aokvqa,
    "visdial": _visdial,
    "hateful_memes": _hateful_memes,
    "msvd_qa": _msvd,
    "msrvtt_qa": _msrvtt,
    "ivqa": _ivqa,
    "llava": _llava,
}


def write_sample_pack(
    root: Path, per_task: int = 8, seed: int = 0, tasks: dict[str, TaskSpec] | None = None
) -> dict[str, int]:
    """Write the pack under root (same bytes for the same arguments); samples per task id.

    Tasks that share annotation files (VQAv2 and question generation from it, ...) share them.
    """
    if per_task < 1:
        raise ValueError(f"per_task must be at least 1, got {per_task}")
    tasks = load_tasks() if tasks is None else tasks
    pack = _Pack(Path(root), seed)
    done: set[tuple] = set()
    counts = {}
    for task_id in sorted(tasks):
        task = tasks[task_id]
        key = (tuple(sorted(task.data.files.items())), task.data.media_dir)
        if key not in done:
            WRITERS[task.data.format](pack, task, per_task)
            done.add(key)
        counts[task_id] = per_task
    return counts
