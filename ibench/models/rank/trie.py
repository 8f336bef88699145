"""Candidates as a token trie: candidates that share leading tokens share the tokens fed for them.

A candidate of tokens t0..tn scores log p(t0 | prefix) (the prefix's last logits) plus, for
k = 1..n, log p(tk | prefix, t0..tk-1): the output after feeding t0..tk-1. Those fed prefixes
are the trie's nodes, one fed token each, so "a red bus" and "a red car" feed `a` and `red` once.
A node sits at depth d (position prefix + d) and sees the prefix and its ancestors only.

Pure Python: the plan depends on the candidates alone, so it is built once per candidate list
and the same for every sample, batch and process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_NODES = 1024  # fed tokens per chunk at most (a chunk's attention mask is nodes x nodes)


@dataclass(frozen=True)
class TrieChunk:
    """A group of candidates and the trie nodes they need, parents before children."""

    candidates: tuple[int, ...]  # indices into the candidate list
    tokens: tuple[int, ...]  # per node, the token fed
    parents: tuple[int, ...]  # per node, its parent node (-1: it follows the prefix)
    depths: tuple[int, ...]  # per node, its depth (0: a candidate's first token)
    steps: tuple[tuple[int, int, int], ...]  # (candidate's place in `candidates`, node, target)


@dataclass(frozen=True)
class CandidatePlan:
    """A candidate list's token rows and its trie chunks: built once per list."""

    rows: tuple[tuple[int, ...], ...]
    chunks: tuple[TrieChunk, ...]

    @property
    def fed_tokens(self) -> int:
        """Tokens fed with the trie (its nodes)."""
        return sum(len(c.tokens) for c in self.chunks)

    @property
    def flat_tokens(self) -> int:
        """Tokens fed without it: every candidate's tokens but its last."""
        return sum(len(r) - 1 for r in self.rows)


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common leading part of two token sequences."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _chunk(rows: Sequence[Sequence[int]], members: list[int]) -> TrieChunk:
    """The trie of some candidates (given in sorted order of their fed tokens)."""
    node_of: dict[tuple[int, ...], int] = {}
    tokens: list[int] = []
    parents: list[int] = []
    depths: list[int] = []
    steps: list[tuple[int, int, int]] = []
    for place, i in enumerate(members):
        row = tuple(rows[i])
        parent = -1
        for k in range(len(row) - 1):
            key = row[: k + 1]
            node = node_of.get(key)
            if node is None:
                node = node_of[key] = len(tokens)
                tokens.append(row[k])
                parents.append(parent)
                depths.append(k)
            steps.append((place, node, row[k + 1]))
            parent = node
    return TrieChunk(tuple(members), tuple(tokens), tuple(parents), tuple(depths), tuple(steps))


def plan_candidates(rows: Sequence[Sequence[int]], max_candidates: int | None = None,
                    max_nodes: int = MAX_NODES) -> CandidatePlan:
    """Candidates sorted by their fed tokens and cut into chunks of at most max_nodes trie
    nodes (a longer candidate gets a chunk of its own) and max_candidates candidates."""
    if any(len(r) == 0 for r in rows):
        raise ValueError("a candidate tokenizes to no tokens; empty candidates cannot be ranked")
    if max_candidates is not None and max_candidates < 1:
        raise ValueError(f"chunk_size must be at least 1, got {max_candidates}")
    order = sorted(range(len(rows)), key=lambda i: (tuple(rows[i][:-1]), i))
    chunks: list[TrieChunk] = []
    members: list[int] = []
    nodes = 0
    previous: Sequence[int] = ()
    for i in order:
        fed = rows[i][:-1]
        new = len(fed) - _common(fed, previous)
        full = max_candidates is not None and len(members) >= max_candidates
        if members and (full or nodes + new > max_nodes):
            chunks.append(_chunk(rows, members))
            members, nodes, new = [], 0, len(fed)
        members.append(i)
        nodes += new
        previous = fed
    if members:
        chunks.append(_chunk(rows, members))
    return CandidatePlan(tuple(tuple(r) for r in rows), tuple(chunks))
