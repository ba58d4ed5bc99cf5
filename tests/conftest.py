"""Test-wide settings: offline hub, a temporary HF_HOME, and the shared paper data (skipped when absent)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="cotlit-hf-home-"))

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("COTLIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The paper's vendored data folder (``../shared/data``); tests using it skip when it is absent."""
    if not (SHARED_DATA / "train" / "dataset_info.json").is_file():
        pytest.skip(f"paper data not found at {SHARED_DATA}")
    return SHARED_DATA
