"""The per-task sample gallery: which samples to show (seeded choice, all failures, flips)
and one card per sample with each run's answer."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from ibench.report.html.runs import ReportRun, TaskLines
from ibench.report.html.thumbs import Media, task_media

MAX_FAILURE_CARDS = 50  # per task: failures shown as cards (the failures table lists more)
MAX_TEXT = 2000  # characters of a prompt, prediction or reference shown
TOP_CANDIDATES = 5  # a rank card's best candidates shown with their scores
# The reference fields a card shows: what the metrics read (not a reader's bookkeeping, such as
# VSR's validator ids or the cluster a sample is resampled with).
SHOWN_REFERENCES = ("answer", "answers", "captions", "label", "answer_index")


@dataclass
class Answer:
    """One run's answer on a sample."""

    run: str
    template: str
    prediction: str
    score: float | None
    status: str
    reason: str | None
    frames: list[int] | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)  # the best, ranked


@dataclass
class Card:
    """One sample of the gallery."""

    sample_id: str
    prompt: str
    references: list[tuple[str, str]]
    media: Media
    answers: list[Answer]
    wrong: bool = False
    failed: bool = False
    flip: str = ""  # "a" (better in A) / "b" (better in B) / ""


@dataclass
class Gallery:
    """The cards of one task, and counts over all of its samples."""

    task: str
    metric: str
    template: str
    total: int
    cards: list[Card] = field(default_factory=list)
    wrong_defined: bool = True
    counts: dict[str, int] = field(default_factory=dict)  # wrong, failed, flip_a, flip_b
    problems: list[str] = field(default_factory=list)

    def flipped(self, way: str) -> list[Card]:
        return [c for c in self.cards if c.flip == way]


def choose(ids: list[str], n: int, seed: int, task: str, always: list[str]) -> list[str]:
    """A seeded choice of n sample ids (the same for every run of the task) plus `always`,
    in the samples' order."""
    picked = set(random.Random(f"{seed}:{task}").sample(ids, min(n, len(ids))))
    picked.update(always)
    order = {sid: i for i, sid in enumerate(ids)}
    return sorted(picked, key=lambda s: (order.get(s, len(order)), s))


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"… ({len(text)} characters)"


def _references(refs: dict[str, Any], candidates: tuple[str, ...] | None = None
                ) -> list[tuple[str, str]]:
    out = []
    for key, value in refs.items():
        if key not in SHOWN_REFERENCES:
            continue
        if key == "answer_index" and candidates and isinstance(value, int) and (
                0 <= value < len(candidates)):
            value = f"{value}: {candidates[value]}"
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = " | ".join(value)
        out.append((str(key), _text(value)))
    return out


def _answer(label: str, lines: TaskLines, sid: str,
            candidates: tuple[str, ...] | None = None) -> Answer | None:
    line = lines.predictions.get(sid)
    if line is None:
        return None
    frames = line.get("frames")
    return Answer(
        run=label, template=str(line.get("template_id", "")),
        prediction=_text(line.get("prediction", "")), score=lines.scores.get(sid),
        status=str(line.get("status")), reason=None if line.get("reason") is None else
        _text(line["reason"]), frames=frames if isinstance(frames, list) else None,
        candidates=_best_candidates(line, candidates))


def _best_candidates(line: dict[str, Any], candidates: tuple[str, ...] | None
                     ) -> list[tuple[str, float]]:
    """A rank line's best candidates with their scores: its `top` (a vocabulary's ten best),
    or its `scores` named by the sample's candidates (the option number when they are not
    at hand)."""
    top = line.get("top")
    if isinstance(top, list):
        return [(_text(c), float(s)) for c, s in top[:TOP_CANDIDATES]]
    scores = line.get("scores")
    if not isinstance(scores, list) or not scores:
        return []
    names = candidates if candidates and len(candidates) == len(scores) else None
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))[:TOP_CANDIDATES]
    return [(_text(names[i]) if names else f"option {i}", float(scores[i])) for i in order]


def _is_wrong(answer: Answer | None, corpus_level: bool) -> bool:
    if answer is None or answer.status != "ok":
        return True
    return not corpus_level and answer.score is not None and answer.score < 100.0


def build_gallery(task: str, runs: list[ReportRun], lines: list[TaskLines], n: int,
                  seed: int) -> Gallery:
    """The gallery of one task over one or two runs (the first run's samples lead)."""
    first = lines[0]
    ids = list(first.references) or sorted(first.predictions)
    failed = [str(line["sample_id"]) for part in lines for line in part.failures]
    failed = list(dict.fromkeys(failed))
    flips: dict[str, str] = {}
    if len(lines) == 2:
        a, b = lines
        for sid in ids:
            sa, sb = a.scores.get(sid), b.scores.get(sid)
            if sa is not None and sb is not None and sa != sb:
                flips[sid] = "a" if sa > sb else "b"
    chosen_flips = [sid for way in ("a", "b")
                    for sid in [s for s in ids if flips.get(s) == way][:n]]
    entry = runs[0].tasks.get(task, {})
    gallery = Gallery(task=task, metric=str(entry.get("metric_title") or entry.get("metric", "")),
                      template=str(first.template), total=len(ids),
                      wrong_defined=not first.corpus_level)
    shown = choose(ids, n, seed, task, failed[:MAX_FAILURE_CARDS] + chosen_flips)
    media = task_media(runs[0].settings, task, shown)
    for sid in shown:
        candidates = media[sid].candidates
        answers = [a for run, part in zip(runs, lines, strict=True)
                   if (a := _answer(run.label, part, sid, candidates)) is not None]
        line = next((p.predictions[sid] for p in lines if sid in p.predictions), {})
        refs = next((p.references[sid] for p in lines if sid in p.references), {})
        gallery.cards.append(Card(
            sample_id=sid, prompt=_text(line.get("prompt", "")),
            references=_references(refs, candidates),
            media=media[sid], answers=answers,
            wrong=_is_wrong(answers[0] if answers else None, first.corpus_level),
            failed=sid in failed, flip=flips.get(sid, "")))
    gallery.counts = {
        "wrong": sum(_is_wrong(_answer("", first, sid), first.corpus_level) for sid in ids),
        "failed": len(failed),
        "flip_a": sum(w == "a" for w in flips.values()),
        "flip_b": sum(w == "b" for w in flips.values()),
    }
    gallery.problems = [p for part in lines for p in part.problems]
    return gallery
