"""Shares of one run (`--shard i/N`): N independent processes (a Slurm job array, jobs on
preemptible nodes) each run one deterministic share of every task's requests into the same run
folder, with no coordinator.

- Which share runs a request depends only on the request's media item (a stable hash of its
  path, row and clip, modulo N), never on what is done or on the other shares: a share resumed
  later, or on another machine, takes the same requests, and the requests of one image or video
  stay together (its vision encoder runs once).
- A share appends to its own part, `predictions/TASK.part-sIofN.jsonl`, and holds its own lock
  (run/lock.py): the same share started twice is refused; different shares run side by side.
- A share that finishes writes `shares/IofN.json`; the share that finds all N there (the last
  to finish, whichever it is) merges the parts into `predictions/TASK.jsonl` in sample order and
  scores the run, and removes the markers. Merged files and scores do not depend on N or on the
  order shares finish. A run without --shard on the same folder also merges what is there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ibench.records import Request
from ibench.run.folder import RunDir, RunError, write_json

SHARE = re.compile(r"([1-9][0-9]*)/([1-9][0-9]*)")


@dataclass(frozen=True)
class Share:
    """Share `index` (1-based) of `count`."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def part(self) -> str:
        """The suffix of this share's prediction parts (`TASK.part-sIofN.jsonl`)."""
        return f"part-s{self.index}of{self.count}"

    def takes(self, request: Request) -> bool:
        """Whether this share runs the request: by its media item, stable across runs."""
        return self._owns(f"{request.media}\0{request.media_row}\0{request.clip}")

    def takes_sample(self, sample_id: str) -> bool:
        """Whether this share records a request that never reaches the model (a bad record)."""
        return self._owns(sample_id)

    def _owns(self, key: str) -> bool:
        digest = hashlib.sha256(key.encode()).digest()[:8]
        return int.from_bytes(digest, "big") % self.count == self.index - 1


def parse_share(text: str) -> Share:
    """'I/N' with 1 <= I <= N; a RunError saying the form otherwise."""
    match = SHARE.fullmatch(text.strip())
    if not match or not int(match[1]) <= int(match[2]):
        raise RunError(f"--shard {text!r}: expected I/N, this process's share I of N "
                       f"(1 <= I <= N), e.g. --shard 2/8")
    return Share(int(match[1]), int(match[2]))


def marker(run: RunDir, share: Share) -> Path:
    return run.path / "shares" / f"{share.index}of{share.count}.json"


def clear_marker(run: RunDir, share: Share) -> None:
    """This share is working (again): not finished until it says so."""
    marker(run, share).unlink(missing_ok=True)


def finish_share(run: RunDir, share: Share) -> list[int]:
    """Record that this share is done (call under manifest_guard); the shares of this N done,
    this one included."""
    write_json(marker(run, share), {
        "share": share.label, "pid": os.getpid(),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    done = []
    for index in range(1, share.count + 1):
        path = marker(run, Share(index, share.count))
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        done.append(index)
    return done


def clear_markers(run: RunDir) -> None:
    """After the merge: no share of any N is pending."""
    folder = run.path / "shares"
    if folder.is_dir() and not folder.is_symlink():
        for path in folder.glob("*.json"):
            path.unlink(missing_ok=True)


def check_alone(world: int) -> None:
    """Shares are separate processes; torchrun's processes already split one run."""
    if world > 1:
        raise RunError("--shard under torchrun: use one or the other (torchrun splits one job "
                       "over the GPUs of a machine; --shard splits a run over separate jobs)")
