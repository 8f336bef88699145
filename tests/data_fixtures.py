"""Shared fixtures for the dataset-layer tests: the sample pack, hand-written data roots, and
verbatim copies of the published sample files (formats.md "Real files")."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ibench.protocol.suite import load_tasks
from ibench.protocol.taskspec import DataSpec, TaskSpec

PER_TASK = 8

# /work/shared/spec/samples/vsr/test.jsonl: the first lines of the official zero-shot test file.
VSR_TEST_JSONL = (
    '{"image": "000000017697.jpg", "image_link": "http://images.cocodataset.org/train2017/'
    '000000017697.jpg", "caption": "The car is behind the suitcase.", "label": 1, "relation": '
    '"behind", "subj": "car", "obj": "suitcase", "annotator_id": 2, "vote_true_validator_id": '
    '"[18, 2]", "vote_false_validator_id": "[1]"}\n'
    '{"image": "000000199940.jpg", "image_link": "http://images.cocodataset.org/train2017/'
    '000000199940.jpg", "caption": "The cat is under the backpack.", "label": 0, "relation": '
    '"under", "subj": "cat", "obj": "backpack", "annotator_id": 1, "vote_true_validator_id": '
    '"[]", "vote_false_validator_id": "[2, 51, 26]"}\n'
    '{"image": "000000470862.jpg", "image_link": "http://images.cocodataset.org/train2017/'
    '000000470862.jpg", "caption": "The handbag is right of the cat.", "label": 0, "relation": '
    '"right of", "subj": "andbag", "obj": "cat", "annotator_id": 29, "vote_true_validator_id": '
    '"[2]", "vote_false_validator_id": "[53, 19]"}\n'
    '{"image": "000000218142.jpg", "image_link": "http://images.cocodataset.org/train2017/'
    '000000218142.jpg", "caption": "The sink is touching the cat.", "label": 1, "relation": '
    '"touching", "subj": "sink", "obj": "cat", "annotator_id": 35, "vote_true_validator_id": '
    '"[2, 62, 20]", "vote_false_validator_id": "[]"}\n'
)

# /work/shared/spec/samples/scienceqa/pid_splits.json (official file, lists cut short).
SCIENCEQA_PID_SPLITS = (
    '{"train": ["1", "2", "3", "9", "10"], "val": ["6", "7", "8", "13", "14"], "test": ["4", '
    '"5", "11", "15", "22"], "trainval": ["1", "2", "3", "9", "10"], "minitrain": ["15683", '
    '"915", "11769", "13254", "15847"], "minival": ["2144", "19468", "11978", "1827", "14432"],'
    ' "minitest": ["16810", "12979", "11202", "18743", "21025"]}'
)

# Publishers' files copied verbatim into the repository (tests/data/publisher_samples/README.md).
SHARED_SAMPLES = Path(__file__).resolve().parent / "data" / "publisher_samples"


_PACK: dict[str, Any] = {}


@pytest.fixture(scope="session", name="tasks")
def tasks_fixture() -> dict[str, TaskSpec]:
    """The shipped task files."""
    return load_tasks()


@pytest.fixture(scope="session", name="pack_info")
def pack_info_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample pack, written once per session (a module-level cache: test modules import
    this fixture, and pytest would otherwise run it once per module): root, counts, seconds."""
    if not _PACK:
        from ibench.data import write_sample_pack

        root = tmp_path_factory.mktemp("sample-pack")
        start = time.perf_counter()
        counts = write_sample_pack(root, per_task=PER_TASK, seed=0)
        _PACK.update(root=root, counts=counts, seconds=time.perf_counter() - start)
    return dict(_PACK)


@pytest.fixture(scope="session", name="pack_root")
def pack_root_fixture(pack_info: dict[str, Any]) -> Path:
    """Root of the session's sample pack (read-only by convention: copy before changing)."""
    return pack_info["root"]


def with_data(task: TaskSpec, **changes: Any) -> TaskSpec:
    """A copy of a task whose data block has some fields replaced (files, options, ...)."""
    data = dataclasses.replace(task.data, **changes)
    assert isinstance(data, DataSpec)
    return dataclasses.replace(task, data=data)


def write_text(root: Path, rel: str, text: str) -> Path:
    """Write a text file under root (parents created) and return its path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(root: Path, rel: str, data: Any) -> Path:
    """Write a JSON file under root."""
    return write_text(root, rel, json.dumps(data))


def write_image(root: Path, rel: str, color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """Write a small solid-colour image (format from the suffix) under root."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)
    return path


def frames(n: int, size: int = 32) -> list[np.ndarray]:
    """n frames whose red channel encodes the frame number (10 * index), for decode checks."""
    out = []
    for i in range(n):
        array = np.zeros((size, size, 3), np.uint8)
        array[:, :, 0] = 10 * i
        out.append(array)
    return out


def write_video(path: Path, n: int, container: str = "mp4") -> Path:
    """An MPEG-4 video of n frames (see frames()) written with PyAV."""
    from ibench.data.synth import encode_video

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_video(frames(n), container))
    return path
