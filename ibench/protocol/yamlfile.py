"""The one YAML reader of ibench's configuration files (tasks, templates, mixture sizes): UTF-8,
safe YAML (no code runs), no key given twice, every problem one error naming the file and line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

T = TypeVar("T")


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping key given twice (plain PyYAML keeps the last)."""


def _unique_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    """SafeLoader's mapping constructor, after checking that no key is given twice."""
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = first_line.get(key)
        except TypeError:  # an unhashable key: SafeLoader's own error names it
            continue
        if seen is not None:
            raise ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {seen})",
                key_node.start_mark)
        first_line[key] = key_node.start_mark.line + 1
    yield from loader.construct_yaml_map(node)


UniqueKeyLoader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)


def read_yaml(path: Path, error: Callable[[str], Exception]) -> Any:
    """Parse a configuration file (UTF-8, safe YAML, no duplicate keys); any problem is one
    `error(message)` naming the file and the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}: line {line}: not UTF-8 text (byte {data[exc.start]:#04x} at "
                    f"offset {exc.start}); save the file as UTF-8") from exc
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no code execution
    except yaml.YAMLError as exc:
        raise error(f"{path}: {_yaml_problem(exc)}") from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: where, then what (PyYAML's own text spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {what}"
        return f"not valid YAML: {what}"
    return f"not valid YAML: {' '.join(str(exc).split())}"


def read_catalog(folders: list[Path], load: Callable[[Path], T], what: str, kind: str,
                 error: Callable[[str], Exception], out: dict[str, T] | None = None
                 ) -> dict[str, T]:
    """Every *.yaml file (`what`) of the folders, each loaded by `load` and keyed by its `id`
    (a task) or `name` (a template family), added to `out`: a folder with none is an error,
    and so is a `kind` (task id, family) given twice, naming both files."""
    out = {} if out is None else out
    for folder in folders:
        paths = sorted(folder.glob("*.yaml"))
        if not paths:
            raise error(f"{folder}: no {what} (*.yaml) found")
        for path in paths:
            item = load(path)
            key = str(getattr(item, "id", None) or item.name)
            if key in out:
                raise error(f"{path}: {kind} {key!r} is already defined in "
                            f"{getattr(out[key], 'source', '?')}; give it another name")
            out[key] = item
    return out
