"""rank through a token trie, several samples per forward: equal to one full HF forward per
candidate, the same scores whatever the batch, fewer tokens fed."""

from __future__ import annotations

import pytest
import torch
from models_fixtures import (  # noqa: F401 - fixtures
    CANDIDATES,
    PROMPTS,
    hf_processors_fixture,
    images,
    naive_scores,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

from ibench.models.rank import loglik as scoring
from ibench.models.rank import prefix
from ibench.models.rank.trie import plan_candidates
from ibench.records import ModelInput

KINDS = ("t5", "vicuna")
# Candidates that share leading tokens (and one that is another's prefix).
SHARED = ("a red bus", "a red car", "a red", "a blue bus", "red", "two cats",
          "two dogs on a bed", "yes", "no", "a")


def _close(a: list[float], b: list[float], tol: float, rel: float = 0.0) -> bool:
    """Element-wise |a - b| <= tol + rel * |b|."""
    pairs = zip(a, b, strict=True)
    return len(a) == len(b) and all(abs(x - y) <= tol + rel * abs(y) for x, y in pairs)


def test_trie_of_a_hand_worked_example():
    rows = [(5, 6, 7), (5, 6, 8), (5, 9), (4,), (5, 6, 7, 1)]
    plan = plan_candidates(rows)
    (chunk,) = plan.chunks
    # fed prefixes: (5, 6) twice, (5,), none, (5, 6, 7): the trie holds 5 -> 6 -> 7
    assert chunk.tokens == (5, 6, 7) and chunk.parents == (-1, 0, 1) and chunk.depths == (0, 1, 2)
    assert chunk.candidates == (3, 2, 0, 1, 4)  # sorted by fed tokens
    assert chunk.steps == ((1, 0, 9), (2, 0, 6), (2, 1, 7), (3, 0, 6), (3, 1, 8),
                           (4, 0, 6), (4, 1, 7), (4, 2, 1))
    assert (plan.flat_tokens, plan.fed_tokens) == (8, 3)
    # at most 2 nodes per chunk: the 3-node candidate goes alone, its prefix fed again
    small = plan_candidates(rows, max_nodes=2)
    assert [c.candidates for c in small.chunks] == [(3, 2, 0, 1), (4,)]
    assert [c.tokens for c in small.chunks] == [(5, 6), (5, 6, 7)]
    assert [c.candidates for c in plan_candidates(rows, max_candidates=2).chunks] == [
        (3, 2), (0, 1), (4,)]


@pytest.mark.parametrize("kind", KINDS)
def test_trie_rank_equals_naive_full_forward(tiny_models, hf_processors, kind):
    model, proc = tiny_models[kind], hf_processors[kind]
    rows = [model.candidate_ids(c) for c in SHARED]
    plan = plan_candidates(rows)
    assert plan.fed_tokens < plan.flat_tokens  # the shared leading tokens are fed once
    frames = images(3, seed=5)
    inputs = [ModelInput(PROMPTS[0], [frames[0]], SHARED),
              ModelInput(PROMPTS[2], frames[1:], SHARED[3:])]  # and a 2-frame video
    for chunk in (None, 1, 3):
        for item, got in zip(inputs, model.rank(inputs, chunk_size=chunk), strict=True):
            expected = naive_scores(model, proc, item.prompt, item.frames, item.candidates)
            assert _close(got, expected, 1e-4), (chunk, got, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_trie_and_expanded_layouts_agree_to_1e5(tiny_models, kind):
    model = tiny_models[kind]
    item = ModelInput(PROMPTS[3], images(1, seed=8), SHARED)
    rows = [model.candidate_ids(c) for c in SHARED]
    state = prefix.prefix_state(model.lm, model.prefix_embeds([item])[0])
    expanded = scoring.score_candidates(model.lm, state, rows, None, 0, packed=False)
    for max_nodes in (2, 5, 1024):  # chunks that cut the trie, and one chunk
        plan = plan_candidates(rows, max_nodes=max_nodes)
        got = scoring.score_batch(model.lm, [state], [plan])[0]
        assert _close(got, expanded, 1e-5, rel=1e-6), (max_nodes, got, expanded)


def _inputs(n: int) -> list[ModelInput]:
    """n inputs with varied prompts, candidate lists and frame counts."""
    pictures = images(n + 2, seed=21)
    # and lists whose trie is a token or two (a forward of a few rows rounds differently)
    lists = (SHARED, CANDIDATES, ("yes", "a red", "no"), SHARED[2:7], ("red", "yes"))
    return [ModelInput(PROMPTS[i % len(PROMPTS)], pictures[i:i + 1 + (i % 6 == 4) * 2],
                       lists[i % len(lists)]) for i in range(n)]


@pytest.mark.parametrize("kind", KINDS)
def test_scores_and_choices_do_not_depend_on_the_batch(tiny_models, kind):
    model = tiny_models[kind]
    inputs = _inputs(16)
    alone = [model.rank([item])[0] for item in inputs]
    choice = [max(range(len(s)), key=s.__getitem__) for s in alone]
    for size in (1, 3, 8, 16):
        for order in (inputs, inputs[::-1]):  # other batch compositions too
            got = [s for i in range(0, 16, size) for s in model.rank(order[i:i + size])]
            if order is not inputs:
                got = got[::-1]
            worst = max(abs(a - b) for g, r in zip(got, alone, strict=True)
                        for a, b in zip(g, r, strict=True))
            assert worst <= 1e-6, (size, worst)
            assert [max(range(len(s)), key=s.__getitem__) for s in got] == choice


@pytest.mark.parametrize("kind", KINDS)
def test_candidates_of_several_samples_share_a_forward(tiny_models, kind, monkeypatch):
    model = tiny_models[kind]
    inputs = _inputs(8)
    expected = [model.rank([item])[0] for item in inputs]
    calls: list[int] = []
    forward = scoring._tree_forward

    def counted(lm, states, chunks, pad_id):
        calls.append(len(chunks))
        return forward(lm, states, chunks, pad_id)

    monkeypatch.setattr(scoring, "_tree_forward", counted)
    assert model.rank(inputs) == expected
    plans = [plan_candidates([model.candidate_ids(c) for c in x.candidates]) for x in inputs]
    rows = sum(len(c.tokens) > 0 for p in plans for c in p.chunks)  # one-token lists feed none
    assert rows >= 6 and calls == [rows]  # one forward, a row per sample's chunk
    calls.clear()
    states = [prefix.prefix_state(model.lm, p) for p in model.prefix_embeds(inputs)]
    tight = scoring.score_batch(model.lm, states, plans, budget_bytes=1)  # a row per forward
    assert calls == [1] * rows and tight == expected


def test_a_task_candidate_list_is_planned_once(tiny_models, monkeypatch):
    model = tiny_models["vicuna"]
    vocabulary = tuple(f"{w} {v}" for w in ("red", "blue") for v in ("bus", "car", "cat"))
    planned: list[int] = []
    plan = scoring.plan_candidates

    def counted(rows, *args, **kwargs):
        planned.append(len(rows))
        return plan(rows, *args, **kwargs)

    monkeypatch.setattr(scoring, "plan_candidates", counted)
    pictures = images(5, seed=2)
    for start in (0, 2):
        model.rank([ModelInput(PROMPTS[i], [pictures[i]], vocabulary)
                    for i in range(start, start + 3)])
    assert planned == [len(vocabulary)]


def test_near_ties_are_scored_again_alone(tiny_models, monkeypatch):
    # A backend whose batched kernels round differently (GPUs): the batched scores of sample 0
    # flip its near tie; the guard takes sample 0's scores from a forward of its own.
    truth = {0: [1.0, 1.0004, -3.0], 1: [2.0, 0.0, -1.0]}

    def fake(lm, states, plans, pad_id, budget_bytes):
        if len(states) == 1:
            return [truth[states[0]]]
        return [[1.0006, 1.0004, -3.0], [2.0001, 0.0, -1.0]]

    monkeypatch.setattr(scoring, "_tree_scores", fake)
    lm = tiny_models["vicuna"].lm
    got = scoring.score_batch(lm, [0, 1], [[[5], [6], [7]]] * 2)  # states stand-ins
    assert got == [truth[0], [2.0001, 0.0, -1.0]]  # the clear decision keeps its batch scores
    assert scoring.near_tie([1.0, 1.0004, -3.0], 1e-3) and not scoring.near_tie([2.0, 0.0], 1e-3)


def test_empty_candidate_is_still_an_error(tiny_models):
    with pytest.raises(ValueError, match="empty"):
        tiny_models["vicuna"].rank([ModelInput(PROMPTS[0], images(1), ("a red", ""))])


@torch.no_grad()
def test_msrvtt_like_vocabulary_feeds_about_half_the_tokens(tiny_models):
    # 1- to 3-word answers over a small word list, as a video-QA vocabulary: most share their
    # first word with others, and a one-token answer feeds nothing at all.
    model = tiny_models["vicuna"]
    words = ("man", "woman", "dog", "cat", "red", "blue", "two", "car", "ball", "food")
    vocabulary = list(words) + [f"{a} {b}" for a in words for b in words if a != b]
    rows = [model.candidate_ids(c) for c in vocabulary]
    plan = plan_candidates(rows)
    flat = sum(len(r) - 1 for r in rows)
    distinct_fed = len({tuple(r[:k]) for r in rows for k in range(1, len(r))})
    assert plan.flat_tokens == flat and plan.fed_tokens == distinct_fed
    assert plan.fed_tokens < 0.6 * plan.flat_tokens
