"""ibench.media: frame indices (protocol.md section 2), image loading and decord frame loading."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import write_video
from PIL import Image

from ibench.media import MediaError, frame_indices, load_frames, load_image


@pytest.mark.parametrize(
    ("total", "n", "expected"),
    [
        (10, 4, [0, 2, 5, 7]),  # 0, 2.5, 5, 7.5
        (16, 4, [0, 4, 8, 12]),
        (7, 4, [0, 1, 3, 5]),  # 0, 1.75, 3.5, 5.25
        (5, 4, [0, 1, 2, 3]),  # 0, 1.25, 2.5, 3.75
        (4, 4, [0, 1, 2, 3]),
        (100, 8, [0, 12, 25, 37, 50, 62, 75, 87]),  # steps of 12.5
        (17, 7, [0, 2, 4, 7, 9, 12, 14]),  # 17/7 = 2.43: 0, 2.43, 4.86, 7.29, 9.71, 12.14, 14.57
        (9, 1, [0]),
    ],
)
def test_frame_indices_by_hand(total: int, n: int, expected: list[int]) -> None:
    assert frame_indices(total, n) == expected


@pytest.mark.parametrize(("total", "expected"), [(1, [0]), (2, [0, 1]), (3, [0, 1, 2])])
def test_shorter_video_gives_all_its_frames(total: int, expected: list[int]) -> None:
    assert frame_indices(total, 4) == expected


def test_frame_indices_match_the_float_formula_where_it_is_exact() -> None:
    # With n a power of two, total/n is exact in floating point, so numpy's formula is exact.
    for n in (1, 2, 4, 8):
        for total in range(n, 600):
            reference = np.floor(np.arange(0, total, total / n)).astype(int).tolist()
            assert frame_indices(total, n) == reference, (total, n)


@pytest.mark.parametrize(("total", "n"), [(0, 4), (-1, 4), (10, 0), (True, 4), (3.0, 4)])
def test_frame_indices_reject_bad_counts(total: object, n: object) -> None:
    with pytest.raises(ValueError):
        frame_indices(total, n)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ images


def test_load_image_converts_to_rgb(tmp_path: Path) -> None:
    path = tmp_path / "gray.png"
    Image.new("L", (5, 3), 77).save(path)
    image = load_image(path)
    assert image.mode == "RGB"
    assert image.size == (5, 3)
    assert image.getpixel((0, 0)) == (77, 77, 77)


def test_load_image_missing(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        load_image(tmp_path / "nope.jpg")
    assert info.value.path == tmp_path / "nope.jpg"
    assert info.value.reason == "file not found"


def test_load_image_empty_and_corrupt(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as info:
        load_image(empty)
    assert info.value.path == empty and "empty" in info.value.reason
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(os.urandom(2000))
    with pytest.raises(MediaError) as info:
        load_image(corrupt)
    assert info.value.path == corrupt and "unreadable image" in info.value.reason


def test_load_image_truncated(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (64, 64, 3), np.uint8)).save(full)
    cut = tmp_path / "cut.png"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(MediaError) as info:
        load_image(cut)
    assert info.value.path == cut


# ------------------------------------------------------------------------------------ videos


@pytest.mark.parametrize("container", ["mp4", "avi"])
def test_load_frames_returns_the_sampled_frames(tmp_path: Path, container: str) -> None:
    path = write_video(tmp_path / f"v.{container}", 10, container)
    images, indices = load_frames(path, 4)
    assert indices == [0, 2, 5, 7]
    assert all(im.mode == "RGB" and im.size == (32, 32) for im in images)
    # frame k has red = 10 * k (lossy codec: allow a small error)
    reds = [np.asarray(im)[:, :, 0].mean() for im in images]
    assert np.allclose(reds, [0, 20, 50, 70], atol=6)


def test_load_frames_short_video_gives_fewer_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.mp4", 2)
    images, indices = load_frames(path, 4)
    assert indices == [0, 1] and len(images) == 2


def test_load_frames_too_short_for_a_minimum(tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.mp4", 2)
    with pytest.raises(MediaError) as info:
        load_frames(path, 4, min_frames=4)
    assert info.value.path == path
    assert info.value.reason == "video has 2 frames, fewer than the 4 required"


def test_load_frames_missing(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        load_frames(tmp_path / "none.mp4", 4)
    assert info.value.reason == "file not found"


def test_load_frames_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(MediaError) as info:
        load_frames(path, 4)
    assert info.value.path == path and info.value.reason == "empty file (0 bytes)"


def test_load_frames_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(np.random.RandomState(1).bytes(8000))
    with pytest.raises(MediaError) as info:
        load_frames(path, 4)
    assert info.value.path == path and "unreadable video" in info.value.reason


def test_load_frames_truncated_mp4(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.mp4", 24)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(MediaError) as info:
        load_frames(cut, 4)
    assert info.value.path == cut and info.value.reason


class _FakeDecordError(Exception):
    pass


def _fake_decord(total: int, batch: object) -> types.ModuleType:
    """A stand-in decord whose reader claims `total` frames; get_batch raises or returns batch."""

    class Reader:
        def __init__(self, path: str, ctx: object = None, num_threads: int = 0) -> None:
            pass

        def __len__(self) -> int:
            return total

        def get_batch(self, indices: list[int]) -> object:
            if isinstance(batch, Exception):
                raise batch
            return types.SimpleNamespace(asnumpy=lambda: batch)

    module = types.ModuleType("decord")
    module.VideoReader = Reader  # type: ignore[attr-defined]
    module.DECORDError = _FakeDecordError  # type: ignore[attr-defined]
    module.cpu = lambda index: index  # type: ignore[attr-defined]
    return module


def test_load_frames_file_that_claims_frames_it_cannot_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A truncated file can open with its full frame count and fail only when frames decode.
    path = tmp_path / "claims.avi"
    path.write_bytes(b"not empty")
    error = _FakeDecordError("[12:00:00] threaded_decoder.cc:292: Check failed\nstack trace")
    monkeypatch.setitem(sys.modules, "decord", _fake_decord(24, error))
    with pytest.raises(MediaError) as info:
        load_frames(path, 4)
    assert info.value.path == path
    assert info.value.reason.startswith("cannot decode frames [0, 6, 12, 18] of 24 (truncated?)")
    assert "stack trace" not in info.value.reason


def test_load_frames_short_batch_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "short.avi"
    path.write_bytes(b"not empty")
    monkeypatch.setitem(sys.modules, "decord", _fake_decord(24, np.zeros((3, 8, 8, 3), np.uint8)))
    with pytest.raises(MediaError) as info:
        load_frames(path, 4)
    assert "instead of 4 RGB frames" in info.value.reason


def test_load_frames_zero_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "zero.mp4"
    path.write_bytes(b"not empty")
    monkeypatch.setitem(sys.modules, "decord", _fake_decord(0, np.zeros((0,), np.uint8)))
    with pytest.raises(MediaError) as info:
        load_frames(path, 4)
    assert info.value.reason == "video has no frames"


def test_media_error_names_path_and_reason() -> None:
    error = MediaError("a/b.mp4", "video has no frames")
    assert error.path == Path("a/b.mp4") and error.reason == "video has no frames"
    assert str(error) == "a/b.mp4: video has no frames"


def test_decord_and_av_are_imported_only_for_video() -> None:
    import subprocess

    code = (
        "import sys, ibench.media, ibench.data\n"
        "from PIL import Image\n"
        "import tempfile, pathlib\n"
        "p = pathlib.Path(tempfile.mkdtemp()) / 'x.png'\n"
        "Image.new('RGB', (2, 2)).save(p)\n"
        "ibench.media.load_image(p)\n"
        "print(sorted(m for m in ('decord', 'av') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
