"""Shared test fixtures.

Reference data lives in ``../shared/data`` beside the checkout (real TLE catalogs, city and gateway
lists, measured latency). Tests that need it skip with a clear reason where it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Path to a file in ../shared/data, or skip the test with a clear reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data {p} is absent (it lives in ../shared/data beside the checkout)")
    return p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (../shared/data beside the checkout)")
    return SHARED_DATA
