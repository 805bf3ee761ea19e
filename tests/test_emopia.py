"""EMOPIA adapter (real counts, song-disjoint splits, the 27 unsplit clips) and MIDI rendering."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from resonance.data.adapters.emopia import EmopiaAdapter, parse_clip_id, song_overlap
from resonance.data.records import Item, Rejection
from resonance.errors import DecodeError, ParameterError, ResonanceError
from resonance.io import midi as midi_io


def _have_renderer() -> bool:
    try:
        midi_io.find_fluidsynth()
        midi_io.find_soundfont()
    except ResonanceError:
        return False
    return True


needs_renderer = pytest.mark.skipif(not _have_renderer(), reason="fluidsynth or a GM SoundFont is not installed")


@pytest.fixture(scope="module")
def emopia_root(shared_data: Path) -> Path:
    root = shared_data / "emopia"
    if not (root / "EMOPIA_1.0" / "label.csv").is_file():
        pytest.skip("EMOPIA is not in the shared data")
    return root


@pytest.fixture(scope="module")
def scanned(emopia_root: Path) -> list[Item | Rejection]:
    return list(EmopiaAdapter().scan(emopia_root))


# ------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("clip_id", "expected"),
    [
        ("Q1_0vLPYiPN7qY_0", (1, "0vLPYiPN7qY", 0)),
        ("Q3_-vAz_HTFEXs_0", (3, "-vAz_HTFEXs", 0)),
        ("Q4_FyK_c-TIcCA_2", (4, "FyK_c-TIcCA", 2)),
        ("Q2_Ie5koh4qvJc_30", (2, "Ie5koh4qvJc", 30)),
        ("Q2_a_1_7", (2, "a_1", 7)),  # a YouTube ID ending in "_<digits>" keeps them
    ],
)
def test_parse_clip_id(clip_id: str, expected: tuple[int, str, int]) -> None:
    assert parse_clip_id(clip_id) == expected


@pytest.mark.parametrize("bad", ["Q5_abc_1", "abc_1", "Q1_abc", "Q1__1", "Q1_abc_x"])
def test_parse_clip_id_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="EMOPIA clip ID"):
        parse_clip_id(bad)


# ---------------------------------------------------------------------------------- real data


def test_real_counts(scanned: list[Item | Rejection]) -> None:
    items = [x for x in scanned if isinstance(x, Item)]
    assert len(items) == 1078 and len(scanned) == 1078  # nothing rejected in the real copy
    assert Counter(i.original_labels["quadrant"] for i in items) == {"Q1": 250, "Q2": 265, "Q3": 253, "Q4": 310}
    assert len({i.group for i in items}) == 387
    assert len({i.id for i in items}) == 1078
    assert all(i.modality == "audio" and i.source_kind == "midi" and i.path.suffix == ".mid" for i in items)
    assert all(i.group == f"emopia:{i.attributes['youtube_id']}" for i in items)
    file_splits = Counter(i.original_labels["official_split"] for i in items)
    assert file_splits == {"train": 767, "val": 198, "test": 86, None: 27}
    # label semantics: Q1 high valence/high arousal, Q3 low/low (Russell 1980)
    by_q = {i.original_labels["quadrant"]: i.label for i in items}
    assert by_q["Q1"].valence > 0.5 and by_q["Q1"].arousal > 0.5
    assert by_q["Q2"].valence < 0.5 and by_q["Q2"].arousal > 0.5
    assert by_q["Q3"].valence < 0.5 and by_q["Q3"].arousal < 0.5
    assert by_q["Q4"].valence > 0.5 and by_q["Q4"].arousal < 0.5


def test_real_split_rules_keep_songs_disjoint(scanned: list[Item | Rejection]) -> None:
    items = [x for x in scanned if isinstance(x, Item)]
    official = {i.local_id: i.original_labels["official_split"] for i in items
                if i.original_labels["official_split"] is not None}
    assert song_overlap(official) == {}  # the official split itself is song-disjoint
    final = {i.local_id: i.official_split for i in items if i.official_split is not None}
    assert song_overlap(final) == {}  # ... and stays so after placing the unsplit clips

    songs_official = {i.group: i.official_split for i in items if i.attributes["split_rule"] == "official"}
    rules = Counter(i.attributes["split_rule"] for i in items)
    assert rules["official"] == 1051 and rules["song_of_official"] + rules["unassigned"] == 27
    for item in items:
        rule = item.attributes["split_rule"]
        if rule == "official":
            assert item.official_split == item.original_labels["official_split"]
        elif rule == "song_of_official":
            assert item.original_labels["official_split"] is None
            assert item.official_split == songs_official[item.group]
        else:
            assert rule == "unassigned" and item.official_split is None and item.group not in songs_official


def test_root_may_be_emopia_1_0(emopia_root: Path, scanned: list[Item | Rejection]) -> None:
    adapter = EmopiaAdapter()
    assert adapter.detect(emopia_root) and adapter.detect(emopia_root / "EMOPIA_1.0")
    assert list(adapter.scan(emopia_root / "EMOPIA_1.0")) == scanned


# ------------------------------------------------------------------------------ synthetic layouts


def _write_layout(root: Path, labels: list[str], midis: list[str], splits: dict[str, list[str]]) -> Path:
    data = root / "EMOPIA_1.0"
    (data / "midis").mkdir(parents=True)
    (data / "label.csv").write_text("ID,4Q,annotator\n" + "".join(f"{row}\n" for row in labels))
    for stem in midis:
        (data / "midis" / f"{stem}.mid").write_bytes(b"MThd")  # scan never parses MIDI
    (root / "split").mkdir()
    for name, ids in splits.items():
        (root / "split" / f"{name}.csv").write_text("fname,label\n" + "".join(f"{i},{i[:2]}\n" for i in ids))
    return root


def test_rejections_and_split_rules(tmp_path: Path) -> None:
    root = _write_layout(
        tmp_path,
        labels=["Q1_song_A_0,1,C", "Q1_song_A_1,1,C", "Q2_x-y_0,2,D", "Q3_gone_0,3,A", "Q4_wrong_0,3,B",
                "Q1_song_A_0,1,C", "bad-id,1,C", "Q2_odd_0,7,C"],
        midis=["Q1_song_A_0", "Q1_song_A_1", "Q2_x-y_0", "Q4_wrong_0", "Q1_nolabel_0", "bad-id", "Q2_odd_0"],
        splits={"train": [], "val": ["Q1_song_A_0"], "test": []},
    )
    results = list(EmopiaAdapter().scan(root))
    items = {x.local_id: x for x in results if isinstance(x, Item)}
    reasons = {Path(x.path).stem: x.reason for x in results if isinstance(x, Rejection)}
    assert reasons == {"Q3_gone_0": "file_not_found", "Q4_wrong_0": "inconsistent_label",
                       "Q1_song_A_0": "duplicate_label", "bad-id": "malformed_label",
                       "Q2_odd_0": "malformed_label", "Q1_nolabel_0": "unlabelled"}
    assert set(items) == {"Q1_song_A_0", "Q1_song_A_1", "Q2_x-y_0"}
    assert items["Q1_song_A_0"].attributes["split_rule"] == "official"
    assert items["Q1_song_A_1"].attributes["split_rule"] == "song_of_official"
    assert items["Q1_song_A_1"].official_split == "val"
    assert items["Q1_song_A_1"].original_labels["official_split"] is None
    assert items["Q2_x-y_0"].attributes["split_rule"] == "unassigned"
    assert items["Q2_x-y_0"].official_split is None and items["Q2_x-y_0"].group == "emopia:x-y"
    # EMOPIA_1.0 itself as root finds split/ beside it
    again = list(EmopiaAdapter().scan(root / "EMOPIA_1.0"))
    assert [x for x in again if isinstance(x, Item)] == [x for x in results if isinstance(x, Item)]


def test_scan_refuses_other_folders(tmp_path: Path) -> None:
    assert not EmopiaAdapter().detect(tmp_path)
    with pytest.raises(ParameterError, match="EMOPIA_1.0"):
        list(EmopiaAdapter().scan(tmp_path))


# ---------------------------------------------------------------------------------- rendering


@pytest.fixture(scope="module")
def short_clip(emopia_root: Path) -> Path:
    # the smallest MIDI file is among the shortest clips; chosen from the data, not by name
    return min((emopia_root / "EMOPIA_1.0" / "midis").glob("*.mid"), key=lambda p: (p.stat().st_size, p.name))


@pytest.fixture(scope="module")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render-cache")


@needs_renderer
def test_render_real_clip(short_clip: Path, tmp_path: Path) -> None:
    import mido

    out = tmp_path / "clip.flac"
    info = midi_io.render_midi(short_clip, out)
    y, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == 16_000 and y.shape[1] == 1
    midi_length = mido.MidiFile(short_clip).length
    duration = y.shape[0] / sr
    assert info.duration_s == pytest.approx(duration, abs=1e-3)
    assert 0.0 <= duration - midi_length <= 2.0  # the release tail, nothing more
    rms_db = 20 * np.log10(np.sqrt(np.mean(y**2)) + 1e-12)
    assert rms_db > -50.0 and info.peak <= 1.0  # audible, not clipped
    # the music is in the first seconds, not only in the tail
    assert np.abs(y[: sr * 2]).max() > 1e-3
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


@needs_renderer
def test_render_cached_reuses(short_clip: Path, render_cache: Path) -> None:
    first = midi_io.render_cached(short_clip, render_cache)
    assert first.parent == render_cache and first.suffix == ".flac"
    mtime = first.stat().st_mtime_ns
    start = time.perf_counter()
    second = midi_io.render_cached(short_clip, render_cache)
    assert second == first and second.stat().st_mtime_ns == mtime
    assert time.perf_counter() - start < 0.5
    # a change that shapes the bytes is a different cache entry; the key ignores the file's name
    assert midi_io.render_cache_key(short_clip, {"gain": 0.3}) != first.stem
    assert midi_io.render_cache_key(short_clip, {}) == first.stem


@needs_renderer
def test_render_cache_key_ignores_path(short_clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.mid"
    shutil.copyfile(short_clip, copy)
    assert midi_io.render_cache_key(copy) == midi_io.render_cache_key(short_clip)
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert midi_io.render_cache_key(copy) != midi_io.render_cache_key(short_clip)


@pytest.fixture()
def bad_midis(short_clip: Path, tmp_path: Path) -> dict[str, Path]:
    import mido

    data = short_clip.read_bytes()
    files = {"truncated": data[: len(data) // 2], "garbage": b"not a midi file at all" * 4, "empty": b""}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.mid"
        paths[name].write_bytes(content)
    silent = mido.MidiFile()
    track = mido.MidiTrack([mido.Message("program_change", program=0, time=0),
                            mido.MetaMessage("end_of_track", time=480)])
    silent.tracks.append(track)
    paths["no_notes"] = tmp_path / "no_notes.mid"
    silent.save(paths["no_notes"])
    return paths


@needs_renderer
@pytest.mark.parametrize(("name", "reason"), [("truncated", "decode_error"), ("garbage", "decode_error"),
                                              ("empty", "empty_file"), ("no_notes", "empty_midi")])
def test_bad_midi_is_decode_error(bad_midis: dict[str, Path], tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        midi_io.render_midi(bad_midis[name], tmp_path / "out.flac")
    assert info.value.reason == reason
    assert not (tmp_path / "out.flac").exists()


@needs_renderer
def test_render_many_keeps_going(short_clip: Path, bad_midis: dict[str, Path], render_cache: Path) -> None:
    results = midi_io.render_many([short_clip, bad_midis["garbage"]], render_cache, workers=2, progress=False)
    assert isinstance(results[0], Path) and results[0].is_file()
    assert isinstance(results[1], DecodeError) and results[1].reason == "decode_error"
    with pytest.raises(ParameterError, match="workers"):
        midi_io.render_many([short_clip], render_cache, workers=0)


def test_missing_soundfont_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nothing.sf2"
    with pytest.raises(ResonanceError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        midi_io.find_soundfont(missing)
    monkeypatch.setenv(midi_io.SOUNDFONT_ENV, str(missing))
    with pytest.raises(ResonanceError, match=midi_io.SOUNDFONT_ENV):  # no silent fallback to another one
        midi_io.find_soundfont()
    monkeypatch.delenv(midi_io.SOUNDFONT_ENV)
    monkeypatch.setattr(midi_io, "DEFAULT_SOUNDFONTS", (missing,))
    with pytest.raises(ResonanceError, match="no General-MIDI SoundFont.*apt-get install"):
        midi_io.find_soundfont()


@needs_renderer
def test_render_without_soundfont_fails_before_work(short_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ResonanceError, match="apt-get install"):
        midi_io.render_midi(short_clip, tmp_path / "out.flac", soundfont=tmp_path / "nothing.sf2")
    assert not list(tmp_path.iterdir())


def test_missing_fluidsynth_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no fluidsynth on PATH
    with pytest.raises(ResonanceError, match="apt-get install fluidsynth"):
        midi_io.render_midi(tmp_path / "any.mid", tmp_path / "out.flac")


def test_bad_settings() -> None:
    with pytest.raises(ParameterError, match="gain"):
        midi_io.render_midi("x.mid", "x.flac", gain=0)
    with pytest.raises(ParameterError, match="synth_rate"):
        midi_io.render_midi("x.mid", "x.flac", synth_rate=1)
