"""The cache folder ($IBENCH_CACHE or ~/.cache/ibench) and the sample pack made on first use."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

SAMPLE_PACK_VERSION = "1"


def pack_fingerprint() -> str:
    """A short hash of the code and task files that shape the sample pack, so a pack written
    by another version of ibench is never reused."""
    from ibench.resources import resource_dir

    package = Path(__file__).resolve().parent
    files = sorted((package / "data").glob("*.py")) + sorted(resource_dir("tasks").glob("*.yaml"))
    digest = hashlib.sha256(SAMPLE_PACK_VERSION.encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    """Where tiny checkpoints and the demo sample pack are built."""
    return Path(os.environ.get("IBENCH_CACHE") or Path.home() / ".cache" / "ibench")


def default_sample_pack(per_task: int = 8) -> Path:
    """The synthetic sample pack in the cache, written on first use (atomically)."""
    from ibench.data.samplepack import write_sample_pack

    target = cache_dir() / f"sample-pack-{pack_fingerprint()}-n{per_task}"
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-pack-", dir=target.parent))
    try:
        try:
            write_sample_pack(tmp, per_task=per_task)
            (tmp / ".complete").write_text(SAMPLE_PACK_VERSION)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            from ibench.run.folder import RunError

            raise RunError(f"cannot write the sample pack in {target.parent}: the disk is full "
                           f"({exc.strerror}); free space there or point IBENCH_CACHE at another "
                           f"disk (nothing partial was kept)") from exc
        try:
            tmp.rename(target)
        except OSError:
            if not (target / ".complete").exists():  # not a concurrent writer that won
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
