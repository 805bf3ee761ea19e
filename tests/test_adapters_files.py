"""The one walker and the one CSV reader every adapter uses: nothing lost without a reason, nothing crashes.

Covers issue 11 item 6 (bad names, symlink loops, dangling links, symlinked folders), item 17 (duplicated
header, ``;``/tab CSV) and item 18 (empty CSV, missing column)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resonance.data.adapters._files import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    is_hidden,
    modality_of,
    read_csv,
    sample_files,
    subfolder_names,
    walk_files,
)
from resonance.data.records import Rejection
from resonance.errors import ParameterError


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _walk(root: Path):
    files, rejections = [], []
    for entry in walk_files(root, "c"):
        (rejections if isinstance(entry, Rejection) else files).append(entry)
    return files, {Path(r.path).name: r.reason for r in rejections}, rejections


def test_one_place_for_extensions_and_hidden_names():
    from resonance.data.adapters import dvisa, emopia, feelingblue, generic, speech

    assert generic.AUDIO_EXTENSIONS is AUDIO_EXTENSIONS is speech.AUDIO_EXTENSIONS
    assert generic.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS
    for module in (dvisa, feelingblue, emopia):
        assert not hasattr(module, "_IMAGE_SUFFIXES") and not hasattr(module, "_read_rows")
    assert is_hidden(".DS_Store") and is_hidden("__MACOSX") and not is_hidden("a.wav")
    assert modality_of("x.TIFF") == "image" and modality_of("x.opus") == "audio" and modality_of("x.mid") is None


def test_non_utf8_names_are_rejected_by_name_not_fatal(tmp_path):
    _touch(tmp_path / "Angry" / "good.wav")
    bad_file = os.fsencode(tmp_path / "Angry") + b"/bad\xff.wav"
    with open(bad_file, "wb") as handle:
        handle.write(b"x")
    bad_dir = os.fsencode(tmp_path) + b"/spk\xe9"
    os.mkdir(bad_dir)
    with open(bad_dir + b"/inside.wav", "wb") as handle:
        handle.write(b"x")
    files, reasons, rejections = _walk(tmp_path)
    assert [f.name for f in files] == ["good.wav"]
    assert reasons == {"bad\\xff.wav": "bad_file_name", "spk\\xe9": "bad_file_name"}
    for r in rejections:  # every field can be written as UTF-8 (rejected.csv, parquet)
        (r.path + r.detail).encode("utf-8")
        assert "\\x" in r.path


def test_symlink_loops_dangling_links_and_linked_folders(tmp_path):
    root = tmp_path / "tree"
    _touch(root / "Sad" / "good.wav")
    os.symlink("y.wav", root / "Sad" / "x.wav")          # x -> y -> x
    os.symlink("x.wav", root / "Sad" / "y.wav")
    os.symlink(tmp_path / "nothing.wav", root / "Sad" / "missing.wav")
    elsewhere = _touch(tmp_path / "speaker1" / "take.wav").parent
    os.symlink(elsewhere, root / "Sad" / "spk1")           # a linked speaker folder: followed
    os.symlink(root, root / "Sad" / "loop")                # a link to a parent: cut
    os.symlink(elsewhere, root / "Sad" / "again")          # the same folder twice: scanned once
    os.mkfifo(root / "Sad" / "pipe.wav")
    files, reasons, rejections = _walk(root)
    # sorted walk: 'again' is met first and scanned; 'spk1' is the same folder again
    assert [f.relative_to(root).as_posix() for f in files] == ["Sad/again/take.wav", "Sad/good.wav"]
    assert reasons == {"x.wav": "symlink_loop", "y.wav": "symlink_loop", "missing.wav": "dangling_symlink",
                       "loop": "symlink_loop", "pipe.wav": "not_a_regular_file", "spk1": "duplicate_folder"}
    assert all(r.detail for r in rejections)
    # layout sniffing never raises on the same tree
    assert {p.name for p in sample_files(root)} >= {"good.wav"}
    assert "sad" in subfolder_names(root)


def test_unreadable_folder_is_a_rejection(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    _touch(tmp_path / "Sad" / "locked" / "a.wav")
    os.chmod(tmp_path / "Sad" / "locked", 0)
    try:
        _, reasons, _ = _walk(tmp_path)
    finally:
        os.chmod(tmp_path / "Sad" / "locked", 0o755)
    assert reasons == {"locked": "unreadable"}


def test_csv_encodings_delimiters_and_header_errors(tmp_path):
    latin = _touch(tmp_path / "latin.csv", "path,emotion\ncafé.wav,sad\n".encode("latin-1"))
    table = read_csv(latin, ["path"])
    assert table.rows == [{"path": "café.wav", "emotion": "sad"}] and table.encoding == "cp1252"
    assert any("not valid UTF-8" in n for n in table.notes)
    for sep in (";", "\t", "|"):
        path = _touch(tmp_path / "sep.csv", f"Path{sep}Emotion{sep}group\na, b.wav{sep}sad{sep}g1\n".encode())
        table = read_csv(path, ["path", "emotion"])
        assert table.delimiter == sep and table.rows == [{"path": "a, b.wav", "emotion": "sad", "group": "g1"}]
    bom = _touch(tmp_path / "bom.csv", "\ufeffpath,emotion\nx.wav,calm\n".encode())
    assert read_csv(bom, ["path"]).columns == {"path": "path", "emotion": "emotion"}
    quoted = _touch(tmp_path / "q.csv", b'path,emotion\n"a,b.wav",sad\n\n"c.wav",calm\n')
    table = read_csv(quoted, ["path"])
    assert [r["path"] for r in table.rows] == ["a,b.wav", "c.wav"] and table.lines == [2, 4]
    with pytest.raises(ParameterError, match="names the column 'Emotion' twice"):
        read_csv(_touch(tmp_path / "dup.csv", b"path,emotion,Emotion\na.wav,angry,sad\n"))
    with pytest.raises(ParameterError, match="is empty"):
        read_csv(_touch(tmp_path / "empty.csv", b"\n \n"))
    with pytest.raises(ParameterError, match="no rows"):
        read_csv(_touch(tmp_path / "header.csv", b"path,emotion\n"))
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['path'\]"):
        read_csv(_touch(tmp_path / "nopath.csv", b"file,emotion\na.wav,sad\n"), ["path"])
