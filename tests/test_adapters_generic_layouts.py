"""Generic corpora end to end: names of one's own, manifest columns and formats, layouts that used to be
lost or misread (issue 11 items 6, 7, 17 and 18)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.data.adapters import detect_adapter
from resonance.data.adapters.generic import GenericAdapter
from resonance.data.prepare import PrepareConfig, SourceSpec, prepare_dataset
from resonance.data.records import UnknownGroupWarning, partition_records
from resonance.errors import ParameterError


def _tone(path: Path, freq: float = 440.0, seconds: float = 1.0, sr: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)), sr)
    return path


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _prepare(sources, out, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGroupWarning)
        return prepare_dataset(sources, out, PrepareConfig(workers=1, **config))


def test_source_spec_names_a_generic_corpus():
    spec = SourceSpec.parse("MyCorpus=generic:/data/mine")
    assert (spec.corpus, spec.adapter, spec.path) == ("mycorpus", "generic", Path("/data/mine"))
    assert SourceSpec.parse("tess=/data/tess") == SourceSpec(Path("/data/tess"), "tess")
    assert SourceSpec.parse("/data/x=y/z").corpus is None
    with pytest.raises(ParameterError, match="corpus name"):
        SourceSpec.parse("9lives=generic:/data")


def test_an_unknown_corpus_prefix_names_the_choices(tmp_path):
    (tmp_path / "sad").mkdir()
    with pytest.raises(ParameterError, match=r"unknown corpus 'mystuff'.*emodb.*NAME=generic:PATH"):
        _prepare([f"mystuff={tmp_path}"], tmp_path / "out")


def test_two_named_generic_corpora_and_a_case_insensitive_holdout(tmp_path):
    for corpus in ("a", "b"):
        for i, (emotion, freq) in enumerate((("angry", 300), ("sad", 200), ("happy", 500), ("calm", 250))):
            _tone(tmp_path / corpus / emotion / f"spk{i % 2}" / f"{corpus}{i}.wav", freq + (corpus == "b") * 7)
    result = _prepare([f"mine=generic:{tmp_path / 'a'}", f"theirs=generic:{tmp_path / 'b'}"], tmp_path / "out",
                      holdout_corpus="MINE")
    assert result.counts == {"mine": 4, "theirs": 4}
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert set(manifest.loc[manifest["corpus"] == "mine", "split"]) == {"test"}
    assert set(manifest.loc[manifest["corpus"] == "theirs", "split"]) != {"test"}
    assert manifest["id"].str.startswith(("mine:", "theirs:")).all()
    with pytest.raises(ParameterError, match="matches no corpus"):
        _prepare([f"mine=generic:{tmp_path / 'a'}"], tmp_path / "out2", holdout_corpus="nothing")
    assert not (tmp_path / "out2" / "manifest.parquet").exists()


def test_manifest_corpus_gender_and_group_columns(tmp_path):
    for name in ("a.wav", "b.wav", "c.wav"):
        _touch(tmp_path / name, name.encode())
    _touch(tmp_path / "manifest.csv", b"path\tEmotion\tGender\tspeaker\tcorpus\n"
                                      b"a.wav\tangry\tF\ts1\tStudio\nb.wav\tsad\tmale\ts2\t\n"
                                      b"c.wav\tcalm\t\t\tbad name\n")
    items, rejections = partition_records(GenericAdapter(corpus="mine").scan(tmp_path))
    got = {i.id: i for i in items}
    assert set(got) == {"studio:a", "mine:b"}
    assert got["studio:a"].attributes["gender"] == "female" and got["mine:b"].attributes["gender"] == "male"
    assert got["studio:a"].group == "s1" and got["mine:b"].flags == ()
    assert [r.reason for r in rejections] == ["malformed_label"] and "corpus name" in rejections[0].detail


def test_manifest_format_errors_are_one_line_parameter_errors(tmp_path):
    _touch(tmp_path / "a.wav")
    cases = {
        b"path,emotion,emotion\na.wav,angry,sad\n": "names the column 'emotion' twice",
        b"": "is empty",
        b"path,emotion\n": "has a header but no rows",
        b"file,emotion\na.wav,sad\n": r"lacks the column\(s\) \['path'\]",
        b"path,label\na.wav,sad\n": "needs an 'emotion' column",
    }
    for content, message in cases.items():
        _touch(tmp_path / "manifest.csv", content)
        with pytest.raises(ParameterError, match=message) as error:
            list(GenericAdapter().scan(tmp_path))
        assert "\n" not in str(error.value)
    # through prepare, before any decoding, and through the CLI as one line with exit code 2
    _touch(tmp_path / "manifest.csv", b"path,emotion,emotion\na.wav,angry,sad\n")
    with pytest.raises(ParameterError, match="twice"):
        _prepare([str(tmp_path)], tmp_path / "out")
    run = CliRunner().invoke(app, ["data", "prepare", str(tmp_path), "--out", str(tmp_path / "out")])
    assert run.exit_code == 2 and "twice" in run.output and "Traceback" not in run.output


def test_semicolon_manifest_and_a_bare_csv_path(tmp_path):
    _tone(tmp_path / "clips" / "x.wav")
    _tone(tmp_path / "clips" / "y.wav", 220)
    csv_path = _touch(tmp_path / "labels.csv", b"path;emotion;group\nclips/x.wav;angry;s1\nclips/y.wav;sad;s2\n")
    assert detect_adapter(csv_path).name == "generic"  # a CSV path without a prefix is a manifest
    result = _prepare([str(csv_path)], tmp_path / "out")
    assert result.counts == {"generic": 2} and result.detections == [(str(csv_path), "generic")]


def test_a_flat_folder_is_a_clear_error_naming_the_fix(tmp_path):
    _tone(tmp_path / "flat" / "one.wav")
    _tone(tmp_path / "flat" / "two.wav")
    with pytest.raises(ParameterError, match=r"2 file\(s\) directly in it but no class folder.*manifest.csv"):
        list(GenericAdapter().scan(tmp_path / "flat"))
    with pytest.raises(ParameterError, match="no class folder"):
        _prepare([f"generic={tmp_path / 'flat'}"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no class folder and no manifest.csv"):
        list(GenericAdapter().scan(tmp_path / "empty"))


def test_prepare_keeps_going_past_bad_names_loops_and_links(tmp_path):
    """Issue 11 item 6 end to end (fault-repros D5, D6, D12): nothing aborts, nothing vanishes."""
    root = tmp_path / "tree"
    _tone(root / "Sad" / "good.wav", 220)
    _tone(root / "Angry" / "spk0" / "x.wav")
    with open(os.fsencode(root / "Angry") + b"/bad\xff.wav", "wb") as handle:
        handle.write((root / "Angry" / "spk0" / "x.wav").read_bytes())
    os.symlink("q.wav", root / "Angry" / "p.wav")
    os.symlink("p.wav", root / "Angry" / "q.wav")
    os.symlink(tmp_path / "nothing.wav", root / "Angry" / "missing.wav")
    _tone(tmp_path / "elsewhere" / "linked.wav", 330)
    os.symlink(tmp_path / "elsewhere", root / "Sad" / "spk1")
    result = _prepare([str(root)], tmp_path / "out")
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    reasons = dict(zip(rejected["path"].map(lambda p: p.rsplit("/", 1)[-1]), rejected["reason"], strict=True))
    assert reasons == {"bad\\xff.wav": "bad_file_name", "p.wav": "symlink_loop", "q.wav": "symlink_loop",
                       "missing.wav": "dangling_symlink"}
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert sorted(manifest["id"]) == ["generic:Angry/spk0/x", "generic:Sad/good", "generic:Sad/spk1/linked"]
    assert result.n_items == 3

    # a Latin-1 manifest is read (with a warning), and a row naming a non-UTF-8 file is rejected by name
    _touch(root / "manifest.csv", "path,emotion,group\nSad/good.wav,sad,a\nAngry/bad\xff.wav,angry,b\n"
                                  "caf\xe9.wav,calm,c\n".replace("\xff", "\xe9").encode("latin-1"))
    with open(os.fsencode(root) + b"/caf\xe9.wav", "wb") as handle:
        handle.write((root / "Sad" / "good.wav").read_bytes())
    adapter = GenericAdapter()
    with pytest.warns(UserWarning, match="not valid UTF-8; read as cp1252"):
        items, rejections = partition_records(adapter.scan(root))
    assert any("read as cp1252" in w for w in adapter.warnings)
    assert [i.local_id for i in items] == ["Sad/good"] and items[0].attributes["manifest_encoding"] == "cp1252"
    assert sorted((r.reason, r.path.rsplit("/", 1)[-1]) for r in rejections) == [
        ("bad_file_name", "caf\\xe9.wav"), ("file_not_found", "bad\xe9.wav")]
    result = _prepare([str(root)], tmp_path / "out_manifest")
    assert result.n_items == 1


def test_unknown_groups_warn_and_the_datasheet_says_so(tmp_path):
    """Issue 11 item 7: files of no known speaker are their own group, warned about, and the datasheet does
    not claim speaker-disjoint splits for them; a group pattern fixes it."""
    for i, emotion in enumerate(("angry", "sad", "happy", "calm")):
        for take in range(2):
            _tone(tmp_path / "tree" / emotion / f"spk{take}_{emotion}.wav", 200 + 40 * i + 5 * take)
    with pytest.warns(UnknownGroupWarning, match="8 of 8 generic items"):
        prepare_dataset([str(tmp_path / "tree")], tmp_path / "out", PrepareConfig(workers=1))
    sheet = (tmp_path / "out" / "datasheet.md").read_text()
    assert "8 items have no known group" in sheet and "*not* speaker-disjoint" in sheet
    assert "Splits are group-disjoint: no speaker" not in sheet
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert manifest["flags"].str.contains("unknown_group").all()

    run = CliRunner().invoke(app, ["data", "prepare", str(tmp_path / "tree"), "--out", str(tmp_path / "out2"),
                                   "--workers", "1", "--group-pattern", r"(?P<group>spk\d+)_"])
    assert run.exit_code == 0, run.output
    manifest = pd.read_parquet(tmp_path / "out2" / "manifest.parquet")
    assert sorted(set(manifest["group"])) == ["spk0", "spk1"]
    assert not manifest["flags"].str.contains("unknown_group").any()
    assert "Splits are group-disjoint: no speaker" in (tmp_path / "out2" / "datasheet.md").read_text()
    with pytest.raises(ParameterError, match="named group"):
        PrepareConfig(group_pattern=r"spk\d+")
    with pytest.raises(ParameterError, match="not a regular expression"):
        PrepareConfig(group_pattern=r"(?P<group>")
