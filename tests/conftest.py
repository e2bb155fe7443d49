"""Shared fixtures: small synthetic datasets written once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csum.data.eccv16 import load_eccv16  # noqa: E402
from csum.data.synthetic import FEATURE_KEYS, ensure_synthetic  # noqa: E402

SMALL = {"n_videos": 12, "dim": 32, "min_seconds": 20, "max_seconds": 60}


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture(scope="session")
def small_h5(synthetic_dir) -> Path:
    """A 12-video TVSum-like file with 3 sources of 32 features."""
    return ensure_synthetic(synthetic_dir, "tvsum", seed=3, **SMALL)


@pytest.fixture(scope="session")
def small_videos(small_h5):
    return load_eccv16(small_h5, FEATURE_KEYS)
