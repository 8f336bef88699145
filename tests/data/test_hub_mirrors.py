"""Hub parquet mirrors (lmms-lab/VizWiz-VQA so far): parquet files in the card's schema with
embedded images, laid out as `hf download --local-dir` and as the hub cache lay them out, read
with HF_HUB_OFFLINE=1; the same samples as the official files give the same predictions and
metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import run_cli

from ibench.data import DataError, read_samples
from ibench.protocol.suite import load_tasks

COMMIT = "d428a2d0" + "0" * 32
# the lmms-lab/VizWiz-VQA card's features: question_id, image, question, answers, category
SCHEMA = pa.schema([
    ("question_id", pa.string()),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("question", pa.string()),
    ("answers", pa.list_(pa.string())),
    ("category", pa.string()),
])


def _mirror_rows(pack: Path) -> list[dict]:
    """The pack's official VizWiz val samples as the mirror's rows."""
    records = json.loads((pack / "vizwiz/Annotations/val.json").read_text())
    rows = []
    for rec in records:
        image = pack / "vizwiz/val" / rec["image"]
        rows.append({"question_id": Path(rec["image"]).stem,
                     "image": {"bytes": image.read_bytes(), "path": rec["image"]},
                     "question": rec["question"],
                     "answers": [a["answer"] for a in rec["answers"]],
                     "category": rec["answer_type"]})
    return rows


SHARD = "data/val-00000-of-00001-a1b2.parquet"


def _write_parquet(folder: Path, rows: list[dict], name: str = SHARD) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, row_group_size=3)
    return path


def _local_dir(root: Path, rows: list[dict], repo: str = "lmms-lab/VizWiz-VQA") -> Path:
    folder = root / "hub" / repo
    path = _write_parquet(folder, rows)
    meta = folder / ".cache/huggingface/download" / f"{path.relative_to(folder)}.metadata"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(f"{COMMIT}\n0123abcd\n1700000000.0\n")
    return path


def test_local_dir_mirror_is_read_with_the_official_ids(sample_pack, tmp_path):
    rows = _mirror_rows(sample_pack)
    path = _local_dir(tmp_path, rows)
    samples = list(read_samples(load_tasks()["vizwiz"], tmp_path))
    official = list(read_samples(load_tasks()["vizwiz"], sample_pack))
    assert [s.id for s in samples] == [s.id for s in official]
    assert [s.fields for s in samples] == [s.fields for s in official]
    assert [s.references["answers"] for s in samples] == [
        s.references["answers"] for s in official]
    assert samples[3].media == path and samples[3].media_row == (1, 0, "image")  # 3 per group


def test_same_samples_either_way_give_the_same_predictions_and_metrics(
        capsys, sample_pack, ibench_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _local_dir(tmp_path / "mirror", _mirror_rows(sample_pack))
    runs = {}
    for name, root in (("official", sample_pack), ("mirror", tmp_path / "mirror")):
        code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "vizwiz",
                               "--data-root", str(root), "--output", str(tmp_path / "out"),
                               "--run-name", name)
        assert code == 0, err
        runs[name] = tmp_path / "out" / name

    def predictions(run: Path) -> dict:
        lines = (run / "predictions/vizwiz.jsonl").read_text().splitlines()
        return {x["sample_id"]: x["prediction"] for x in map(json.loads, lines)}
    assert predictions(runs["official"]) == predictions(runs["mirror"])
    metric = {k: json.loads((r / "metrics.json").read_text())["tasks"]["vizwiz"]
              for k, r in runs.items()}
    for key in ("value", "ci95", "n", "failures"):
        assert metric["official"][key] == metric["mirror"][key]
    source = json.loads((runs["mirror"] / "manifest.json").read_text())["settings"][
        "data_sources"]["vizwiz"]
    assert source["layout"] == "hub" and source["repo"] == "lmms-lab/VizWiz-VQA"
    assert source["revision"] == COMMIT and source["found_in"] == "local-dir"
    assert json.loads((runs["official"] / "manifest.json").read_text())["settings"][
        "data_sources"]["vizwiz"]["layout"] == "official"


def test_hub_cache_mirror_under_the_new_org(sample_pack, tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = cache / "datasets--lmms-lab-encoder--VizWiz-VQA"
    path = _write_parquet(base / "snapshots" / COMMIT, _mirror_rows(sample_pack))
    (base / "refs").mkdir(parents=True)
    (base / "refs/main").write_text(COMMIT)
    from ibench.data.source import data_source

    samples = list(read_samples(load_tasks()["vizwiz"], tmp_path / "empty-root"))
    assert len(samples) == 4 and samples[0].media == path
    source = data_source(load_tasks()["vizwiz"], tmp_path / "empty-root")
    assert source == {"layout": "hub", "format": "hub_vizwiz",
                      "repo": "lmms-lab-encoder/VizWiz-VQA", "revision": COMMIT, "pinned": None,
                      "found_in": "hub-cache", "root": str(base / "snapshots" / COMMIT)}


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    folder = tmp_path / "hub/lmms-lab/VizWiz-VQA"
    path = folder / "data/val-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"question_id": ["VizWiz_val_00000000"], "question": ["what?"]}),
                   path)
    with pytest.raises(DataError) as info:
        list(read_samples(load_tasks()["vizwiz"], tmp_path))
    assert str(path) in str(info.value) and "field 'answers'" in str(info.value)


def test_a_row_without_image_is_a_recorded_media_failure(capsys, sample_pack, ibench_cache,
                                                         tmp_path):
    rows = _mirror_rows(sample_pack)
    rows[1]["image"] = None
    rows[3]["answers"] = None
    _local_dir(tmp_path / "mirror", rows)
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "vizwiz",
                           "--data-root", str(tmp_path / "mirror"), "--output",
                           str(tmp_path / "out"), "--run-name", "r")
    assert code == 0, err
    lines = [json.loads(x) for x in (tmp_path / "out/r/predictions/vizwiz.jsonl").read_text()
             .splitlines()]
    by_status = {x["status"]: x for x in lines if x["status"] != "ok"}
    assert "row 1 of row group 0" in by_status["media_error"]["reason"]
    assert "row 0 of row group 1" in by_status["bad_record"]["reason"]
    assert "field 'answers'" in by_status["bad_record"]["reason"]


def _equal_runs(capsys, tmp_path, task: str, official: Path, mirror: Path) -> None:
    """eval the task on both roots: same predictions per sample, same metrics."""
    # the mirror's revision is not the pinned one: refused, until --hub-revision names it
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", task,
                           "--data-root", str(mirror), "--output", str(tmp_path / "out"),
                           "--run-name", f"{task}-refused")
    pinned = load_tasks()[task].hub["revision"]
    said = " ".join(err.split())  # the terminal may fold the line
    assert code == 1 and f"is revision {COMMIT}, not the pinned {pinned}" in said
    assert f"pass --hub-revision {COMMIT} to use it" in said
    runs = {}
    for name, root in (("official", official), ("mirror", mirror)):
        code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", task,
                               "--data-root", str(root), "--output", str(tmp_path / "out"),
                               "--run-name", f"{task}-{name}", "--hub-revision", COMMIT)
        assert code == 0, err
        runs[name] = tmp_path / "out" / f"{task}-{name}"
    lines = {k: [json.loads(x) for x in (r / f"predictions/{task}.jsonl").read_text()
                 .splitlines()] for k, r in runs.items()}
    assert {x["sample_id"]: (x["prompt"], x["prediction"]) for x in lines["official"]} == {
        x["sample_id"]: (x["prompt"], x["prediction"]) for x in lines["mirror"]}
    metric = {k: json.loads((r / "metrics.json").read_text())["tasks"][task]
              for k, r in runs.items()}
    assert all(metric["official"][k] == metric["mirror"][k] for k in ("value", "ci95", "n"))
    source = json.loads((runs["mirror"] / "manifest.json").read_text())["settings"][
        "data_sources"][task]
    assert source["layout"] == "hub" and source["revision"] == COMMIT
    assert source["pinned"] == pinned  # differs: recorded, and the leaderboard says so
    if task in ("textvqa",):  # a held-out task: in the leaderboard's notes
        board = (runs["mirror"] / "leaderboard.md").read_text()
        assert f"read lmms-lab/textvqa at revision {COMMIT}, not the pinned {pinned}" in board


def _image_struct(path: Path) -> dict:
    return {"bytes": path.read_bytes(), "path": path.name}


def test_textvqa_mirror_equals_the_official_files(capsys, sample_pack, ibench_cache, tmp_path):
    spec = load_tasks()["textvqa"]
    data = json.loads((sample_pack / spec.data.files["annotations"]).read_text())["data"]
    ocr = {r["image_id"]: r["ocr_tokens"] for r in json.loads(
        (sample_pack / spec.data.files["ocr"]).read_text())["data"]}
    # the lmms-lab/textvqa card: question_id int32, image, question, answers, ocr_tokens, ...
    schema = pa.schema([("image_id", pa.string()), ("question_id", pa.int32()),
                        ("question", pa.string()), ("image", SCHEMA.field("image").type),
                        ("answers", pa.list_(pa.string())), ("ocr_tokens", pa.list_(pa.string()))])
    rows = [{"image_id": r["image_id"], "question_id": r["question_id"],
             "question": r["question"], "answers": r["answers"], "ocr_tokens": ocr[r["image_id"]],
             "image": _image_struct(sample_pack / spec.data.media_dir / f"{r['image_id']}.jpg")}
            for r in data]
    folder = tmp_path / "mirror/hub/lmms-lab/textvqa"
    path = folder / "data/validation-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=2)
    meta = folder / ".cache/huggingface/download/data/validation-00000-of-00001.parquet.metadata"
    meta.parent.mkdir(parents=True)
    meta.write_text(f"{COMMIT}\nx\n0\n")
    _equal_runs(capsys, tmp_path, "textvqa", sample_pack, tmp_path / "mirror")


def test_okvqa_mirror_equals_the_official_files(capsys, sample_pack, ibench_cache, tmp_path):
    spec = load_tasks()["okvqa"]
    questions = json.loads((sample_pack / spec.data.files["questions"]).read_text())["questions"]
    answers = {a["question_id"]: [x["answer"] for x in a["answers"]] for a in json.loads(
        (sample_pack / spec.data.files["annotations"]).read_text())["annotations"]}
    # the lmms-lab/OK-VQA card: question_id string, image, question, answers, ...
    schema = pa.schema([("question_id", pa.string()), ("image", SCHEMA.field("image").type),
                        ("question", pa.string()), ("answers", pa.list_(pa.string()))])
    rows = [{"question_id": str(q["question_id"]), "question": q["question"],
             "answers": answers[q["question_id"]],
             "image": _image_struct(sample_pack / spec.data.media_dir /
                                    f"val2014/COCO_val2014_{q['image_id']:012d}.jpg")}
            for q in questions]
    folder = tmp_path / "mirror/hub/lmms-lab-encoder/OK-VQA"
    for k, part in enumerate((rows[:2], rows[2:])):
        name = f"data/val2014-0000{k}-of-00002.parquet"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=schema), path)
        meta = folder / ".cache/huggingface/download" / f"{name}.metadata"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(f"{COMMIT}\nx\n0\n")
    _equal_runs(capsys, tmp_path, "okvqa", sample_pack, tmp_path / "mirror")


def test_a_hand_copied_mirror_is_read_with_its_revision_unknown(capsys, sample_pack,
                                                                 ibench_cache, tmp_path):
    _write_parquet(tmp_path / "mirror/hub/lmms-lab/VizWiz-VQA", _mirror_rows(sample_pack))
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "vizwiz",
                           "--data-root", str(tmp_path / "mirror"), "--output",
                           str(tmp_path / "out"), "--run-name", "r")
    assert code == 0, err
    source = json.loads((tmp_path / "out/r/manifest.json").read_text())["settings"][
        "data_sources"]["vizwiz"]
    assert source["revision"] is None and source["found_in"] == "local-dir"
    board = (tmp_path / "out/r/leaderboard.md").read_text()
    assert "vizwiz read a hub mirror of lmms-lab/VizWiz-VQA of unknown revision" in board


def test_data_check_shows_the_hub_copy_or_what_to_run(capsys, sample_pack, tmp_path):
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path / "none"),
                           "--tasks", "vizwiz")
    said = " ".join(out.split())
    assert code == 1 and ("vizwiz: or its hub mirror, the split only: ibench data download "
                          f"vizwiz --data-root {tmp_path / 'none'}") in said
    _local_dir(tmp_path / "mirror", _mirror_rows(sample_pack))
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path / "mirror"),
                           "--tasks", "vizwiz")
    said = " ".join(out.split())
    assert code == 0 and "0 of 4 bad" in said  # the embedded images decode
    assert f"vizwiz: hub copy lmms-lab/VizWiz-VQA at revision {COMMIT} (4 rows, local-dir)" in said


def test_gqa_mirror_joins_its_two_configs_and_equals_the_official_file(
        capsys, sample_pack, ibench_cache, tmp_path):
    spec = load_tasks()["gqa"]
    questions = json.loads((sample_pack / spec.data.files["questions"]).read_text())
    # lmms-lab/GQA: testdev_balanced_instructions (id, imageId, question, answer, ...) and
    # testdev_balanced_images (id, image), joined on imageId
    instructions = [{"id": qid, "imageId": q["imageId"], "question": q["question"],
                     "answer": q["answer"], "fullAnswer": q.get("fullAnswer", "")}
                    for qid, q in questions.items()]
    image_ids = sorted({q["imageId"] for q in questions.values()}, reverse=True)
    images = [{"id": i, "image": _image_struct(sample_pack / spec.data.media_dir / f"{i}.jpg")}
              for i in image_ids]
    folder = tmp_path / "mirror/hub/lmms-lab/GQA"
    for config, rows in (("testdev_balanced_instructions", instructions),
                         ("testdev_balanced_images", images)):
        name = f"{config}/testdev-00000-of-00001.parquet"
        path = folder / name
        path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
        meta = folder / ".cache/huggingface/download" / f"{name}.metadata"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(f"{COMMIT}\nx\n0\n")
    _equal_runs(capsys, tmp_path, "gqa", sample_pack, tmp_path / "mirror")


def test_nocaps_and_scienceqa_mirrors(sample_pack, tmp_path):
    # lmms-lab/NoCaps: image, image_id (the official id), annotations_captions, ...
    nocaps = load_tasks()["nocaps"]
    data = json.loads((sample_pack / nocaps.data.files["annotations"]).read_text())
    captions: dict = {}
    for ann in data["annotations"]:
        captions.setdefault(ann["image_id"], []).append(ann["caption"])
    rows = [{"image_id": im["id"], "annotations_captions": captions[im["id"]],
             "image_open_images_id": im.get("open_images_id", "x"),
             "image": _image_struct(sample_pack / nocaps.data.media_dir / im["file_name"])}
            for im in data["images"]]
    path = tmp_path / "hub/lmms-lab/NoCaps/data/validation-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    official = list(read_samples(nocaps, sample_pack))
    mirror = list(read_samples(nocaps, tmp_path))
    assert [s.id for s in mirror] == [s.id for s in official]
    assert [s.references["captions"] for s in mirror] == [
        s.references["captions"] for s in official]
    assert all("domain" not in s.references for s in mirror)  # the card has no domain column
    # lmms-lab/ScienceQA, config ScienceQA-IMG: image, question, choices, answer (int8), hint
    rows = [{"question": "Which is a mammal?", "choices": ["cat", "trout"], "answer": 0,
             "hint": "", "image": {"bytes": b"x", "path": "image.png"}}]
    schema = pa.schema([("question", pa.string()), ("choices", pa.list_(pa.string())),
                        ("answer", pa.int8()), ("hint", pa.string()),
                        ("image", SCHEMA.field("image").type)])
    path = tmp_path / "hub/lmms-lab/ScienceQA/ScienceQA-IMG/test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    [sample] = read_samples(load_tasks()["scienceqa_img"], tmp_path)
    assert sample.id == "test-00000-of-00001-0-0"  # no pid: named by its place
    assert sample.candidates == ("cat", "trout") and sample.references["answer"] == "cat"
    assert sample.fields == {"question": "Which is a mammal?", "context": "",
                             "options": "(a) cat (b) trout"}


def test_data_download_fetches_only_the_split_and_the_card(capsys, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import huggingface_hub

    siblings = [SimpleNamespace(rfilename=name, size=size) for name, size in (
        ("README.md", 2048), ("testdev_balanced_instructions/testdev-00000-of-00001.parquet",
                              2 * 2**20),
        ("testdev_balanced_images/testdev-00000-of-00001.parquet", 3 * 2**20),
        ("train_balanced_instructions/train-00000-of-00010.parquet", 9 * 2**20))]
    asked: dict = {}

    def dataset_info(self, repo, revision=None, files_metadata=False):
        asked["info"] = (repo, revision, files_metadata)
        return SimpleNamespace(siblings=siblings)

    def snapshot_download(repo, **kwargs):
        asked["download"] = (repo, kwargs)
        return kwargs["local_dir"]

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", dataset_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    code, out, _ = run_cli(capsys, "data", "download", "gqa", "--data-root", str(tmp_path))
    pinned = load_tasks()["gqa"].hub["revision"]
    said = " ".join(out.split())
    assert code == 0 and f"gqa: lmms-lab/GQA at {pinned}: 3 files, 5.0 MiB" in said
    assert asked["info"] == ("lmms-lab/GQA", pinned, True)
    repo, kwargs = asked["download"]
    assert repo == "lmms-lab/GQA" and kwargs["repo_type"] == "dataset"
    assert kwargs["local_dir"] == str(tmp_path / "hub/lmms-lab/GQA")
    assert kwargs["allow_patterns"] == ["testdev_balanced_instructions/testdev-*.parquet",
                                        "testdev_balanced_images/testdev-*.parquet", "README.md"]


def test_data_download_offline_is_one_line_per_task(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run_cli(capsys, "data", "download", "vizwiz", "vsr", "--data-root",
                             str(tmp_path))
    said = " ".join(out.split())
    assert code == 1 and "vizwiz: cannot download lmms-lab/VizWiz-VQA:" in said
    assert "vsr: no hub mirror; download it from" in said
    assert "Traceback" not in out + err


def test_iconqa_mirror_keeps_choose_txt_and_refuses_an_ambiguous_split(tmp_path):
    # lmms-lab/ICON-QA test: every sub-task; choices joined with commas
    struct = {"bytes": b"x", "path": "image.png"}
    rows = [
        {"question_id": "98", "question": "How likely?", "choices": "certain,unlikely,impossible",
         "answer": "2", "ques_type": "choose_txt", "query_image": struct},
        {"question_id": "99", "question": "Which picture?", "choices": "", "answer": "0",
         "ques_type": "choose_img", "query_image": struct},
        {"question_id": "100", "question": "How many?", "choices": "1,000,2,000",
         "answer": "1,000", "ques_type": "choose_txt", "query_image": struct},
        {"question_id": "101", "question": "What time?", "choices": "noon, night",
         "answer": "night", "ques_type": "choose_txt", "query_image": struct},
    ]
    path = tmp_path / "hub/lmms-lab/ICON-QA/data/test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    samples = list(read_samples(load_tasks()["iconqa"], tmp_path))
    assert [s.id for s in samples if s.failure is None] == ["98", "101"]  # choose_img dropped
    assert samples[0].candidates == ("certain", "unlikely", "impossible")
    assert samples[0].references == {"answer_index": 2, "answer": "impossible"}
    assert samples[0].fields["options"] == "(a) certain (b) unlikely (c) impossible"
    [bad] = [s for s in samples if s.failure is not None]
    assert "question_id 100" in str(bad.failure) and "field 'answer'" in str(bad.failure)
    assert samples[-1].references["answer_index"] == 1 and samples[-1].media_row[2] == (
        "query_image")


def test_vqav2_mirror_with_answer_structs_reads_like_the_official_files(sample_pack, tmp_path):
    spec = load_tasks()["vqav2"]
    questions = json.loads((sample_pack / spec.data.files["questions"]).read_text())["questions"]
    answers = {a["question_id"]: a["answers"] for a in json.loads(
        (sample_pack / spec.data.files["annotations"]).read_text())["annotations"]}
    # lmms-lab/VQAv2: question_id int64, question, answers [{answer, answer_confidence,
    # answer_id}], image, ...
    rows = [{"question_id": q["question_id"], "question": q["question"],
             "answers": [{"answer": a["answer"], "answer_confidence": a["answer_confidence"],
                          "answer_id": a["answer_id"]} for a in answers[q["question_id"]]],
             "image": _image_struct(sample_pack / spec.data.media_dir /
                                    f"val2014/COCO_val2014_{q['image_id']:012d}.jpg")}
            for q in questions]
    path = tmp_path / "hub/lmms-lab-encoder/VQAv2/data/validation-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    official = list(read_samples(spec, sample_pack))
    mirror = list(read_samples(spec, tmp_path))
    assert [(s.id, s.fields, s.references["answers"]) for s in mirror] == [
        (s.id, s.fields, s.references["answers"]) for s in official]


def test_textcaps_mirror_takes_its_ocr_from_the_official_file(capsys, sample_pack, tmp_path):
    # lmms-lab/TextCaps, split val: one row per image with image_id, caption_str (list),
    # reference_strs (list) and the image; no OCR column (lmms-eval tasks/textcaps/utils.py
    # scores against doc["caption_str"])
    spec = load_tasks()["textcaps"]
    entries = json.loads((sample_pack / spec.data.files["annotations"]).read_text())["data"]
    rows: dict = {}
    for e in entries:
        row = rows.setdefault(e["image_id"], {
            "image_id": e["image_id"], "caption_str": [], "reference_strs": e["reference_strs"],
            "image": _image_struct(sample_pack / spec.data.media_dir / f"{e['image_id']}.jpg")})
        row["caption_str"].append(e["caption_str"])
    schema = pa.schema([("image_id", pa.string()), ("caption_str", pa.list_(pa.string())),
                        ("reference_strs", pa.list_(pa.string())),
                        ("image", SCHEMA.field("image").type)])
    root = tmp_path / "mirror"
    path = root / "hub/lmms-lab/TextCaps/data/val-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(list(rows.values()), schema=schema), path)
    # without the official OCR file the mirror is incomplete, and data check names the file
    code, out, _ = run_cli(capsys, "data", "check", "--tasks", "textcaps", "--data-root",
                           str(root))
    assert code == 1 and "TextVQA_Rosetta_OCR_v0.2_val.json" in " ".join(out.split())
    ocr = root / spec.data.files["ocr"]
    ocr.parent.mkdir(parents=True)
    ocr.write_bytes((sample_pack / spec.data.files["ocr"]).read_bytes())
    official = list(read_samples(spec, sample_pack))
    mirror = list(read_samples(spec, root))
    assert [(s.id, s.fields, s.references) for s in mirror] == [
        (s.id, s.fields, s.references) for s in official]
    assert all(s.fields["ocr_tokens"] for s in mirror)
    assert mirror[0].media_row == (0, 0, "image")
