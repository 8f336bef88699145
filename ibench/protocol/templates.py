"""Instruction template families from templates/*.yaml, and strict rendering.

A template is plain text with named `{placeholders}`; rendering with a missing field is an
error naming the template and the field, never a silent blank (protocol.md section 6).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ibench.errors import IbenchError
from ibench.protocol.taskspec import NAME, NAME_RULE
from ibench.protocol.yamlfile import read_catalog, read_yaml
from ibench.resources import included, resource_dir

# Where a shipped template comes from. A user's own template file (--include-path) may name any
# source of its own, except "paper": only the paper's published templates are the paper's.
SOURCES = ("paper", "ibench", "dataset")


class TemplateError(IbenchError, ValueError):
    """A template file is malformed, or a template cannot be rendered."""


@dataclass(frozen=True)
class Template:
    """One instruction template: id (`family-NN`), its text and where it comes from."""

    id: str
    text: str
    source: str

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The field names the text uses, in order of first use."""
        return placeholders(self.text)


@dataclass(frozen=True)
class TemplateFamily:
    """A family of templates for one task category."""

    name: str
    title: str
    description: str
    fields: tuple[str, ...]
    templates: tuple[Template, ...]
    source: Path | None = None

    def get(self, template_id: str) -> Template:
        """The template with this id (TemplateError when there is none)."""
        for template in self.templates:
            if template.id == template_id:
                return template
        raise TemplateError(f"family {self.name} has no template {template_id!r}")

    def find_text(self, text: str) -> Template | None:
        """The template whose text is exactly `text`, if any."""
        return next((t for t in self.templates if t.text == text), None)

    def sources(self) -> dict[str, int]:
        """How many templates come from each source."""
        counts: dict[str, int] = {}
        for template in self.templates:
            counts[template.source] = counts.get(template.source, 0) + 1
        return counts


def placeholders(text: str) -> tuple[str, ...]:
    """Named fields of a format string; TemplateError for positional or formatted fields."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"template text {text!r} is not a valid format string: {exc}") from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"template text {text!r}: field {{{name}}} must be a plain name")
        if name not in names:
            names.append(name)
    return tuple(names)


def render(template: Template, fields: dict[str, Any]) -> str:
    """Fill a template; a field it needs that `fields` lacks is a TemplateError."""
    missing = [name for name in template.placeholders if name not in fields]
    if missing:
        raise TemplateError(
            f"template {template.id} needs field {missing[0]!r}, which is missing "
            f"(given: {', '.join(sorted(fields)) or 'none'})"
        )
    return template.text.format(**{name: fields[name] for name in template.placeholders})


def parse_family(raw: Any, path: Path, shipped: bool = True) -> TemplateFamily:
    """Validate one family file and build its TemplateFamily."""
    if not isinstance(raw, dict):
        raise TemplateError(f"{path}: must be a YAML mapping at the top level")
    allowed = {"family", "title", "description", "fields", "templates"}
    for key in raw:
        if key not in allowed:
            raise TemplateError(f"{path}: field '{key}': unknown; allowed: {', '.join(allowed)}")
    for key in ("family", "title", "fields", "templates"):
        if key not in raw:
            raise TemplateError(f"{path}: field '{key}': is required")
    if not isinstance(raw["family"], str) or not NAME.fullmatch(raw["family"]):
        raise TemplateError(f"{path}: field 'family': must be {NAME_RULE}, got "
                            f"{str(raw['family'])[:80]!r}")
    if raw["family"] != path.stem:
        raise TemplateError(f"{path}: field 'family': must equal the file name {path.stem!r}")
    fields = raw["fields"]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise TemplateError(f"{path}: field 'fields': must be a list of names")
    items = raw["templates"]
    if not isinstance(items, list) or not items:
        raise TemplateError(f"{path}: field 'templates': must be a non-empty list")
    templates: list[Template] = []
    for i, item in enumerate(items):
        templates.append(_parse_template(item, i, path, raw["family"], fields, shipped))
    seen: dict[str, int] = {}
    for i, template in enumerate(templates):
        if template.id in seen:
            raise TemplateError(f"{path}: field 'templates[{i}].id': duplicate template id "
                                f"{template.id!r} (also templates[{seen[template.id]}])")
        seen[template.id] = i
    return TemplateFamily(
        name=raw["family"],
        title=str(raw["title"]),
        description=str(raw.get("description", "")),
        fields=tuple(fields),
        templates=tuple(templates),
        source=path,
    )


def _parse_template(item: Any, i: int, path: Path, family: str, fields: list[str],
                    shipped: bool = True) -> Template:
    where = f"{path}: field 'templates[{i}]"
    if not isinstance(item, dict) or set(item) != {"id", "text", "source"}:
        raise TemplateError(f"{where}': must have exactly id, text and source")
    if not str(item["id"]).startswith(f"{family}-"):
        raise TemplateError(f"{where}.id': must start with '{family}-', got {item['id']!r}")
    if not NAME.fullmatch(str(item["id"])):
        raise TemplateError(f"{where}.id': must be {NAME_RULE}, got {str(item['id'])[:80]!r}")
    source = item["source"]
    if shipped and source not in SOURCES:
        raise TemplateError(f"{where}.source': must be one of {', '.join(SOURCES)}")
    if not shipped and (not isinstance(source, str) or not source.strip() or source == "paper"):
        raise TemplateError(f"{where}.source': name where the template comes from (any name "
                            f"but 'paper', which marks the paper's own templates), got "
                            f"{source!r}")
    if not isinstance(item["text"], str) or not item["text"].strip():
        raise TemplateError(f"{where}.text': must be a non-empty string")
    try:
        used = placeholders(item["text"])
    except TemplateError as exc:
        raise TemplateError(f"{where}.text': {exc}") from exc
    unknown = [name for name in used if name not in fields]
    if unknown:
        raise TemplateError(f"{where}.text': uses {{{unknown[0]}}}, not among the family's fields")
    # A field the family's tasks give but the text drops never reaches the model (a VQA
    # template without {question} asks nothing).
    dropped = [name for name in fields if name not in used]
    if dropped:
        raise TemplateError(f"{where}.text': template {item['id']} has no placeholder "
                            f"{{{dropped[0]}}}; every template of the family must use each of "
                            f"its fields ({', '.join(fields)})")
    return Template(id=str(item["id"]), text=item["text"], source=item["source"])


def load_user_family_file(path: Path) -> TemplateFamily:
    """Read and validate a user's own family file (an --include-path folder's)."""
    return parse_family(read_yaml(path, TemplateError), path, shipped=False)


def load_family_file(path: Path) -> TemplateFamily:
    """Read and validate one template family file."""
    return parse_family(read_yaml(path, TemplateError), path)


def load_families(folder: Path | None = None) -> dict[str, TemplateFamily]:
    """Every family of a folder, keyed by name; by default the shipped templates/, then those
    of the --include-path folders (a name given twice is an error naming both files)."""
    if folder is not None:
        return read_catalog([folder], load_family_file, "template families", "family",
                            TemplateError)
    return read_catalog(included("templates"), load_user_family_file, "template families",
                        "family", TemplateError, dict(_shipped_families()))


@cache
def _shipped_families() -> dict[str, TemplateFamily]:
    return read_catalog([resource_dir("templates")], load_family_file, "template families",
                        "family", TemplateError)
