"""One CLI error path: every user error exits 2 with one line ``error: ...`` that names the fix, and
choices are checked before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from cli_helpers import one_error_line
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.errors import ParameterError, ResonanceError

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def manifests(tmp_path: Path) -> dict[str, Path]:
    rows = pd.DataFrame({"id": ["a"], "modality": ["audio"], "path": [str(tmp_path / "a.wav")],
                         "sha256": ["0" * 64]})
    rows.drop(columns="sha256").to_parquet(tmp_path / "no_sha.parquet")
    rows.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    return {"no_sha": tmp_path / "no_sha.parquet", "empty": tmp_path / "empty.parquet"}


@pytest.mark.parametrize(("args", "expected"), [
    (("features", "extract", "/nowhere/at/all", "--out", "{tmp}/f.parquet"), "run `resonance data prepare` first"),
    (("features", "extract", "{no_sha}", "--out", "{tmp}/f.parquet"), "lacks the columns ['sha256']"),
    (("features", "extract", "{empty}", "--out", "{tmp}/f.parquet"), "has no items"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--limit", "-1"), "--limit"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--limit", "0"), "--limit"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--modality", "imag"), "'image', 'audio'"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--workers", "0"), "--workers"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--scheduler", "localhost"), "tcp://"),
    (("features", "extract", "{tmp}", "--out", "{tmp}/f.parquet", "--group", "nope"), "unknown descriptor groups"),
    (("features", "extract", "{tmp}", "--out", "{tmp}"), "is a folder"),
    (("features", "describe", "--modality", "imag"), "'image', 'audio'"),
    (("features", "describe", "--format", "xml"), "'table', 'csv'"),
    (("features", "describe", "--group", "nope"), "unknown descriptor groups"),
    (("data", "prepare", "{tmp}/nowhere", "--out", "{tmp}/o"), "does not exist"),
    (("data", "prepare", "{tmp}", "--out", "{tmp}/o", "--limit", "-1"), "--limit"),
    (("data", "prepare", "{tmp}", "--out", "{tmp}/o", "--seed", "-3"), "--seed"),
])
def test_user_errors_are_one_line_and_exit_2(args, expected, tmp_path, manifests):
    filled = [a.format(tmp=tmp_path, **manifests) for a in args]
    line = one_error_line(_run(*filled))
    assert expected in line, line
    assert not (tmp_path / "f.parquet").exists() and not (tmp_path / "o" / "manifest.parquet").exists()


def test_prepare_of_nothing_usable_names_the_reasons(tmp_path):
    (tmp_path / "src" / "Angry").mkdir(parents=True)
    (tmp_path / "src" / "Angry" / "x.wav").write_bytes(b"")
    line = one_error_line(_run("data", "prepare", f"generic={tmp_path / 'src'}", "--out", str(tmp_path / "o"),
                                "--workers", "1"))
    assert "empty_file" in line and "rejected.csv" not in line


def test_a_successful_run_says_rejected_csv_only_when_something_was_rejected(tmp_path):
    src = tmp_path / "src"
    (src / "Angry").mkdir(parents=True)
    (src / "Sad").mkdir()
    for name, freq in (("Angry/a.wav", 440), ("Sad/b.wav", 220)):
        t = np.arange(8000) / 16000
        sf.write(src / name, 0.3 * np.sin(2 * np.pi * freq * t), 16000)
    result = _run("data", "prepare", f"generic={src}", "--out", str(tmp_path / "o"), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "0 rejected;" in result.output and "see rejected.csv" not in result.output


def test_registry_select_rejects_an_unknown_modality():
    import handcrafted

    with pytest.raises(ParameterError):
        handcrafted.REGISTRY.select(modality="imag")
    with pytest.raises(ResonanceError):
        handcrafted.REGISTRY.select(groups=["nope"])
    with pytest.raises(KeyError):  # still a KeyError for old callers
        handcrafted.REGISTRY["nope"]


def test_no_arguments_still_show_the_help():
    result = _run()
    assert "Usage" in result.output and "error:" not in result.output
