"""Shared fixtures. Real data is read from $RESONANCE_DATA (default ../shared/data), never written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Numba's on-disk cache is not safe for concurrent writers (numba issue 10128): two test sessions (or a
# session and a user's run) compiling librosa into the same __pycache__ can poison it for every later
# run. Each test session compiles into a cache of its own unless the caller chose one.
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="resonance-test-numba-"))

from resonance.paths import data_root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpora folder; tests that need it are skipped with a reason when it is absent."""
    root = data_root()
    if not (root / "README.md").is_file():
        pytest.skip(f"real data not found at {root} (set RESONANCE_DATA)")
    return root


@pytest.fixture(scope="session")
def judge_study(tmp_path_factory) -> dict[str, Path]:
    """A small rating study (`resonance judge design` over a tiny trained checkpoint), built once; copy its
    folder (tests/judge_fixtures.py: copy_study) before writing to it."""
    from judge_fixtures import make_judge_study

    return make_judge_study(tmp_path_factory.mktemp("judge"))
