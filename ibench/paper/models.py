"""The paper's Table 1 models that were published, and `--models ALIAS[=DIR],...`: which
checkpoint each row runs, and whether it is on this machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ibench.errors import IbenchError
from ibench.models.base import ModelLoadError, check_weights
from ibench.models.families import find_alias, list_aliases
from ibench.protocol.paper import reference_rows

# Rows of Table 1 whose checkpoints were never released: the paper's own BLIP-2 Vicuna models
# (Salesforce published BLIP-2 with FlanT5 and OPT language models only).
UNPUBLISHED = ("BLIP-2 (Vicuna-7B)", "BLIP-2 (Vicuna-13B)")
UNPUBLISHED_NOTE = ("BLIP-2 (Vicuna-7B) and BLIP-2 (Vicuna-13B): the paper's own baselines, "
                    "never released; their rows show the paper's numbers only")
ABLATION = "no-qformer-instruction"


class PaperError(IbenchError, ValueError):
    """A `paper` option that names no published Table 1 model, or a paper folder that is not
    one."""


@dataclass(frozen=True)
class PaperModel:
    """One Table 1 row to run: its alias, hub id and row, the local copy it runs from (None:
    the hub cache), and whether it is the Table 2 ablation (no Q-Former instruction)."""

    alias: str
    hub_id: str
    row: str
    local: Path | None = None
    ablation: bool = False

    @property
    def run_name(self) -> str:
        """Its run folder's name in the paper folder."""
        return f"{self.alias}-{ABLATION}" if self.ablation else self.alias

    @property
    def model_arg(self) -> str:
        """What `eval --model` gets."""
        return str(self.local) if self.local is not None else self.alias

    @property
    def label(self) -> str:
        if self.ablation:
            return (f"{self.row}, no instruction to the Q-Former (Table 2 ablation, an "
                    "inference-time approximation of the paper's retrained model)")
        return self.row


def published_models() -> list[PaperModel]:
    """The published checkpoints of Table 1's InstructBLIP and BLIP-2 rows, in its order."""
    rows = [name for name, _ in reference_rows()]
    found = [PaperModel(a.alias, a.hub_id, a.paper_row) for a in list_aliases()
             if a.hub_id and a.paper_row in rows]
    return sorted(found, key=lambda m: rows.index(m.row))


def parse_models(text: str | None) -> list[PaperModel]:
    """`ALIAS[=DIR],...` (default: every published one): a DIR is a local copy of the
    published checkpoint (`hf download REPO --local-dir DIR`), recorded as such."""
    known = {m.alias: m for m in published_models()}
    if not text:
        return list(known.values())
    out = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, folder = item.partition("=")
        alias = find_alias(name.strip())
        model = known.get(alias.alias) if alias is not None else None
        if model is None:
            raise PaperError(f"--models {name.strip()!r}: not a published Table 1 checkpoint; "
                             f"expected one of {', '.join(known)} (optionally =DIR, a local "
                             f"copy)")
        local = Path(folder.strip()).expanduser() if folder.strip() else None
        if any(m.alias == model.alias for m in out):
            raise PaperError(f"--models names {model.alias} twice")
        out.append(PaperModel(model.alias, model.hub_id, model.row, local))
    return out


def with_ablation(models: list[PaperModel]) -> list[PaperModel]:
    """The models plus Table 2's ablation row (FlanT5XL, no Q-Former instruction), run from
    the same checkpoint as the FlanT5XL row."""
    base = next((m for m in models if m.alias == "flan-t5-xl"), None)
    if base is None:
        base = next(m for m in published_models() if m.alias == "flan-t5-xl")
    return [*models, PaperModel(base.alias, base.hub_id, base.row, base.local, ablation=True)]


@dataclass(frozen=True)
class CheckpointState:
    """Whether a row's checkpoint is on this machine: where, or the command that fetches it."""

    ready: bool
    where: str
    fix: tuple[str, ...] = ()


def checkpoint_state(model: PaperModel) -> CheckpointState:
    """A local copy: a folder with config.json and safetensors weights; otherwise the hub
    cache (HF_HOME), looked up without downloading."""
    if model.local is not None:
        folder = model.local
        try:
            check_weights(folder, allow_pickle=False)
            found = (folder / "config.json").is_file()
        except ModelLoadError:
            found = False
        if found:
            return CheckpointState(True, f"{folder} (a local copy of {model.hub_id})")
        return CheckpointState(False, f"{folder}: no checkpoint there (config.json and "
                               f"*.safetensors)",
                               (f"hf download {model.hub_id} --local-dir {folder}",))
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(model.hub_id, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss means "not cached"
        return CheckpointState(False, f"{model.hub_id}: not in the Hugging Face cache", (
            f"hf download {model.hub_id}",
            f"or: hf download {model.hub_id} --local-dir DIR, then --models "
            f"{model.alias}=DIR"))
    return CheckpointState(True, f"{path} (the Hugging Face cache)")
