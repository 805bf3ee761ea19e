"""Shared fixtures. Real data is read from $RESONANCE_DATA (default ../shared/data), never written."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.paths import data_root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpora folder; tests that need it are skipped with a reason when it is absent."""
    root = data_root()
    if not (root / "README.md").is_file():
        pytest.skip(f"real data not found at {root} (set RESONANCE_DATA)")
    return root
