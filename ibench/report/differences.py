"""What differs between two runs' settings, key by key, and which differences change the
protocol, so that a difference in scores is not the model's alone.

The protocol is compared as it is resolved for each run's architecture: LAVIS's decoding
arguments give FlanT5 and Vicuna different effective values (length penalty, minimum new
tokens), which is the paper's own comparison, not a change. A run departs from the protocol
when its own settings do: --gen-kwargs, another template or template file, another task file,
frame count, candidate ranking, subset, seed, the Q-Former ablation, or other data. Per-task
settings are compared on the tasks both runs have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The settings shown when they differ (leaf by leaf).
SHOWN = ("model", "model_revision", "dtype", "device", "qformer_instruction", "templates",
         "limit", "seed", "frames", "data_root", "task_hashes", "template_hashes", "decoding",
         "gen_kwargs", "ranking")
# The settings a run chooses that change the protocol (decoding: LAVIS's arguments, not their
# effective values, which depend on the architecture).
PROTOCOL = ("limit", "seed", "frames", "qformer_instruction", "templates", "template_hashes",
            "task_hashes", "data_fingerprints", "ranking", "gen_kwargs", "decoding.lavis")


def for_tasks(value: Any, tasks: set[str], known: set[str]) -> Any:
    """A per-task setting ({task: ...}, its keys among the `known` task ids) restricted to
    `tasks`; other settings as they are. Runs of different task sets are compared on the
    tasks they share."""
    if isinstance(value, dict) and value and all(k in known for k in value):
        return {k: v for k, v in value.items() if k in tasks}
    return value


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf of a nested setting (an empty mapping has none)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, str(key)))
    else:
        yield path, value


def _setting(settings: dict[str, Any], key: str, tasks: set[str], known: set[str]) -> Any:
    """A setting restricted to the shared tasks; `decoding.lavis`: each task's LAVIS
    arguments alone."""
    if key == "decoding.lavis":
        decoding = for_tasks(settings.get("decoding"), tasks, known) or {}
        return {t: d.get("lavis") for t, d in decoding.items() if isinstance(d, dict)}
    value = for_tasks(settings.get(key), tasks, known)
    return {} if key == "gen_kwargs" and value is None else value


def setting_differences(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...] = SHOWN
                        ) -> list[tuple[str, Any, Any]]:
    """(setting, A's value, B's value) for every leaf that differs, a per-task value's task
    named in the key (`decoding.gqa.effective.num_beams`)."""
    tasks_a, tasks_b = set(a.get("tasks", [])), set(b.get("tasks", []))
    both, known = tasks_a & tasks_b, tasks_a | tasks_b
    out = []
    for key in keys:
        va, vb = _setting(a, key, both, known), _setting(b, key, both, known)
        if va == vb:
            continue
        leaves_a, leaves_b = dict(_leaves(va, (key,))), dict(_leaves(vb, (key,)))
        for path in dict.fromkeys([*leaves_a, *leaves_b]):
            if leaves_a.get(path, "(none)") != leaves_b.get(path, "(none)"):
                out.append((".".join(path), leaves_a.get(path, "(none)"),
                            leaves_b.get(path, "(none)")))
    return out


def protocol_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The protocol settings in which the runs differ (each run's protocol as resolved for its
    own architecture)."""
    return list(dict.fromkeys(key.split(".")[0] if key != "decoding.lavis" else "decoding"
                              for key, _, _ in setting_differences(a, b, PROTOCOL)))


def grouped(differences: list[tuple[str, Any, Any]], tasks: set[str]) -> list[str]:
    """The differences as lines `key: A -> B`, the same change of several tasks on one line
    (`decoding.effective.length_penalty: -1.0 -> 0.0 (gqa, textvqa)`)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for key, a, b in differences:
        parts = key.split(".")
        task = next((p for p in parts[1:] if p in tasks), None)
        general = ".".join(p for p in parts if p != task)
        groups.setdefault((general, _shown(a), _shown(b)), []).append(task or "")
    lines = []
    for (key, a, b), members in groups.items():
        named = [m for m in members if m]
        lines.append(f"{key}: {a} -> {b}" + (f" ({', '.join(named)})" if named else ""))
    return lines


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
