"""load_model: aliases, local directories, the hub cache, and clear errors for bad checkpoints."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from models_fixtures import tiny_dirs_fixture  # noqa: F401 - fixture

from ibench.models import ModelLoadError, find_alias, list_aliases, load_model
from ibench.models.base import resolve_dtype


def test_alias_table():
    table = {a.alias: a for a in list_aliases()}
    assert table["flan-t5-xl"].hub_id == "Salesforce/instructblip-flan-t5-xl"
    assert table["flan-t5-xxl"].hub_id == "Salesforce/instructblip-flan-t5-xxl"
    assert table["vicuna-7b"].hub_id == "Salesforce/instructblip-vicuna-7b"
    assert table["vicuna-13b"].hub_id == "Salesforce/instructblip-vicuna-13b"
    assert table["blip2-flan-t5-xl"].hub_id == "Salesforce/blip2-flan-t5-xl"
    assert table["blip2-flan-t5-xxl"].family == "blip2"
    assert table["vicuna-7b"].architecture == "decoder-only"
    assert table["flan-t5-xl"].architecture == "encoder-decoder"
    assert table["tiny-t5"].tiny == "t5" and table["tiny-vicuna"].tiny == "vicuna"
    assert find_alias("Vicuna-7B") is table["vicuna-7b"]
    assert find_alias("Salesforce/instructblip-vicuna-7b") is None
    assert set(table["tiny-t5"].as_dict()) >= {"alias", "hub_id", "family", "llm", "resolves_to"}


def test_load_local_directory(tiny_dirs):
    model = load_model(str(tiny_dirs["vicuna"]), device="cpu")
    info = model.info()
    assert model.architecture == "decoder-only" and model.name == str(tiny_dirs["vicuna"])
    assert info["dtype"] == "fp32" and info["device"] == "cpu"
    assert info["path"] == str(tiny_dirs["vicuna"].resolve())
    assert info["qformer_instruction"] is True and info["parameters"] > 0
    assert load_model(tiny_dirs["t5"], device="cpu").architecture == "encoder-decoder"


def test_dtype_choice(tiny_dirs):
    model = load_model(str(tiny_dirs["t5"]), device="cpu", dtype="bf16")
    assert model.info()["dtype"] == "bf16"
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("int3", "cpu")
    assert str(resolve_dtype(None, "cuda")) == "torch.bfloat16"
    assert str(resolve_dtype(None, "cpu")) == "torch.float32"


def test_tiny_alias_builds_into_ibench_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IBENCH_CACHE", str(tmp_path))
    model = load_model("tiny-t5", device="cpu")
    assert (tmp_path / "tiny-t5" / "config.json").is_file()
    assert model.info()["model_id"] == "ibench/tiny-t5" and model.architecture == "encoder-decoder"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-t5"]  # no temp dirs left


def test_uncached_hub_name_fails_fast_with_guidance(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as err:
        load_model("ibench-tests/no-such-model", device="cpu")
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "--model /path/to/dir" in message and "hf download" in message
    assert "HF_HOME" in message


def test_unknown_name_and_missing_directory():
    with pytest.raises(ModelLoadError, match="alias"):
        load_model("not a model", device="cpu")
    with pytest.raises(ModelLoadError, match="neither"):
        load_model("./no/such/dir", device="cpu")


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_bad_checkpoints_give_clear_errors(tiny_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(str(empty), device="cpu")

    pickled = _copy(tiny_dirs["t5"], tmp_path / "pickled")
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="allow_pickle"):
        load_model(str(pickled), device="cpu")

    other = _copy(tiny_dirs["t5"], tmp_path / "other")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(ModelLoadError, match="InstructBLIP-family"):
        load_model(str(other), device="cpu")

    corrupt = _copy(tiny_dirs["t5"], tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_model(str(corrupt), device="cpu")


def test_hub_cache_snapshot_gives_revision(tiny_dirs, tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--ibench-tests--tiny"
    _copy(tiny_dirs["vicuna"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    info = load_model("ibench-tests/tiny", device="cpu").info()
    assert info["revision"] == commit and info["model_id"] == "ibench-tests/tiny"
