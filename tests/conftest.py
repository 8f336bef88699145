"""Session fixtures shared across test modules: offline mode, the sample pack, tiny models."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic sample pack (4 samples per task), written once per session."""
    from ibench.data import write_sample_pack

    root = tmp_path_factory.mktemp("pack")
    write_sample_pack(root, per_task=4)
    return root


@pytest.fixture(scope="session")
def ibench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private IBENCH_CACHE, so tiny-* aliases build into the session's tmp dir."""
    root = tmp_path_factory.mktemp("ibench-cache")
    os.environ["IBENCH_CACHE"] = str(root)
    return root
