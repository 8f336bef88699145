"""Template library: the paper's templates verbatim, counts per dataset, strict rendering."""

from pathlib import Path

import pytest
import yaml

from ibench.protocol.prompts import select_templates, zero_shot_template
from ibench.protocol.suite import load_tasks
from ibench.protocol.templates import (
    Template,
    TemplateError,
    load_families,
    load_family_file,
    render,
)

# protocol.md section 6, copied from the spec (the paper's appendix).
PAPER_CAPTIONING = [
    "A short image caption:",
    "A short image description:",
    "A photo of",
    "An image that shows",
    "Write a short description for the image.",
    "Write a description for the photo.",
    "Provide a description of what is presented in the photo.",
    "Briefly describe the content of the image.",
    "Can you briefly explain what you see in the image?",
    "Could you use a few words to describe what you perceive in the photo?",
    "Please provide a short depiction of the picture.",
    "Using language, provide a short account of the image.",
    "Use a few words to illustrate what is happening in the picture.",
]
PAPER_VQA = [
    "{question}",
    "Question: {question}",
    "{question} A short answer to the question is",
    "Q: {question} A:",
    "Question: {question} Short answer:",
    "Given the image, answer the following question with no more than three words. {question}",
    "Based on the image, respond to this question with a short answer: {question}. Answer:",
    "Use the provided image to answer the question: {question} Provide your answer as short as "
    "possible:",
    'What is the answer to the following question? "{question}"',
    'The question "{question}" can be answered using the image. A short answer is',
]
PAPER_VQG = [
    "Given the image, generate a question whose answer is: {answer}. Question:",
    "Based on the image, provide a question with the answer: {answer}. Question:",
    'Given the visual representation, create a question for which the answer is "{answer}".',
    "From the image provided, craft a question that leads to the reply: {answer}. Question:",
    "Considering the picture, come up with a question where the answer is: {answer}.",
    "Taking the image into account, generate an question that has the answer: {answer}. "
    "Question:",
]


def _paper_texts(family: str) -> list[str]:
    return [t.text for t in load_families()[family].templates if t.source == "paper"]


def test_paper_templates_verbatim():
    assert _paper_texts("captioning") == PAPER_CAPTIONING
    assert _paper_texts("vqa") == PAPER_VQA
    assert _paper_texts("vqg") == PAPER_VQG
    ocr = [t.removeprefix("OCR tokens: {ocr_tokens}. ") for t in _paper_texts("vqa_ocr")]
    assert ocr == PAPER_VQA


def test_every_dataset_has_enough_templates():
    families = load_families()
    for task in load_tasks().values():
        family = families[task.templates]
        wanted = 1 if task.id.startswith("llava_") else 10
        assert wanted <= len(family.templates) <= 15, task.id
        assert zero_shot_template(task, families).text == task.prompt


def test_ibench_templates_are_marked():
    families = load_families()
    assert families["true_false"].sources() == {"paper": 1, "ibench": 11}
    assert families["llava"].sources() == {"dataset": 1}


SAMPLE_FIELDS = {
    "question": "What colour is the square?",
    "caption": "The cat is under the table.",
    "options": "(a) red (b) blue",
    "context": "A hint.",
    "ocr_tokens": "stop, sign",
    "history": "A red square. Q: is it big? A: yes",
    "text": "some meme text",
    "answer": "red",
}


def test_every_template_renders_with_its_fields():
    for family in load_families().values():
        fields = {f: SAMPLE_FIELDS[f] for f in family.fields}
        for template in family.templates:
            text = render(template, fields)
            assert "{" not in text and text.strip(), template.id


def test_render_missing_field_names_template_and_field():
    template = Template(id="vqa-05", text="Question: {question} Short answer:", source="paper")
    with pytest.raises(TemplateError, match="vqa-05 needs field 'question'"):
        render(template, {"caption": "x"})
    assert render(template, {"question": "Why?"}) == "Question: Why? Short answer:"


def test_select_templates():
    tasks, families = load_tasks(), load_families()
    assert [t.id for t in select_templates(tasks["gqa"], families, "eval")] == ["vqa-05"]
    assert len(select_templates(tasks["gqa"], families, "all")) == 10
    assert [t.id for t in select_templates(tasks["gqa"], families, "2")] == ["vqa-01", "vqa-02"]
    with pytest.raises(TemplateError):
        select_templates(tasks["gqa"], families, "vqa-99")


def test_bad_family_file_is_named(tmp_path):
    path = tmp_path / "vqa.yaml"
    raw = yaml.safe_load(Path(load_families()["vqa"].source).read_text())
    raw["templates"][0]["text"] = "{unknown_field}"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(TemplateError, match=r"templates\[0\]\.text") as err:
        load_family_file(path)
    assert str(path) in str(err.value)
