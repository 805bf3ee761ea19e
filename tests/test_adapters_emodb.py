"""EMO-DB: its own adapter, its letters only inside it, boredom through the lexicon, and its names
recognised inside folder-per-class trees (issue 11 items 7 and 8)."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest

from resonance.data.adapters import detect_adapter, get_adapter
from resonance.data.adapters.emodb import EmodbAdapter, parse_emodb_name
from resonance.data.adapters.generic import GenericAdapter
from resonance.data.adapters.kaggle import KaggleAudioEmotionsAdapter
from resonance.data.adapters.speech import SPEECH_ADAPTERS, recognise_native_name
from resonance.data.records import UnknownGroupWarning, partition_records

try:
    from speech_fixtures import build_tree, source_recordings
except ImportError:  # pragma: no cover
    from tests.speech_fixtures import build_tree, source_recordings

EMODB_NAMES = ["03a01Wa", "03a01Fa", "03a02Lb", "08b01Ea", "09a04Aa", "10b10Ta", "16a07Nc", "13b09Lb"]


def lexicon_folder(tmp_path: Path) -> Path:
    """A tiny NRC-VAD-format lexicon (values copied from NRC-VAD v1 for these words)."""
    folder = tmp_path / "lexicons"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "NRC-VAD-Lexicon.txt").write_text(
        "Word\tValence\tArousal\tDominance\nboredom\t0.167\t0.139\t0.255\nlove\t1.000\t0.519\t0.673\n"
        "trust\t0.888\t0.547\t0.741\naudio\t0.709\t0.425\t0.370\n", encoding="utf-8")
    return folder


@pytest.fixture()
def sources(tmp_path):
    return source_recordings(12, tmp_path / "_sources")


def test_parse_emodb_names():
    parsed = parse_emodb_name("03a01Fa")
    assert (parsed["speaker"], parsed["emotion"], parsed["attributes"]["text"]) == ("03", "happiness", "a01")
    assert parsed["attributes"]["gender"] == "male" and parsed["attributes"]["version"] == "a"
    assert parsed["original_labels"] == {"emotion": "happiness", "emotion_code": "F", "emotion_de": "Freude"}
    assert parse_emodb_name("09a04Aa")["emotion"] == "fear"      # A = Angst, not anger
    assert parse_emodb_name("08b01Wa")["emotion"] == "anger"     # W = Wut
    assert parse_emodb_name("13b09Lb")["emotion"] == "boredom"   # L = Langeweile
    assert parse_emodb_name("08b01Ea")["attributes"]["gender"] == "female"
    for bad in ("04a01Fa", "03a03Fa", "03a01Xa", "03a01fa", "03a01F", "DC_a01"):
        assert parse_emodb_name(bad) is None, bad
    assert recognise_native_name("16a07Nc")["corpus"] == "emodb"


def test_emodb_adapter_and_boredom_via_lexicon(tmp_path, sources):
    root = tmp_path / "emodb"
    build_tree(root, [f"wav/{n}" for n in EMODB_NAMES] + ["wav/03a01Xa"], sources)
    assert [c for c in SPEECH_ADAPTERS if c().detect(root)] == [EmodbAdapter]
    assert detect_adapter(root).name == "emodb"
    items, rejections = partition_records(EmodbAdapter(lexicon=lexicon_folder(tmp_path)).scan(root))
    assert [r.reason for r in rejections] == ["malformed_name"]
    got = {i.local_id: i for i in items}
    assert Counter(i.group for i in items) == {"emodb:03": 3, "emodb:08": 1, "emodb:09": 1, "emodb:10": 1,
                                               "emodb:16": 1, "emodb:13": 1}
    assert got["03a01Fa"].label.emotion == "happiness" and got["09a04Aa"].label.emotion == "fear"
    bored = got["03a02Lb"]
    # boredom is no category: placed by its lexicon VAD, flagged, the word kept; never silently sadness
    assert (bored.label.valence, bored.label.arousal, bored.label.dominance) == (0.167, 0.139, 0.255)
    assert bored.flags == ("label_from_lexicon", "va_far_from_categories")
    assert bored.original_labels["emotion"] == "boredom" and "NRC-VAD" in bored.label.vad_source
    assert got["03a01Wa"].flags == ()
    # without a lexicon, boredom files are rejected with the fix, not folded into another emotion
    items, rejections = partition_records(EmodbAdapter(lexicon=tmp_path / "none").scan(root))
    unknown = [r for r in rejections if r.reason == "unknown_label"]
    assert len(unknown) == 2 and all("no lexicon was found" in r.detail for r in unknown)
    # a user label map places boredom where the user says
    items, _ = partition_records(EmodbAdapter(label_map={"boredom": "neutral"}, lexicon=tmp_path / "none").scan(root))
    bored = next(i for i in items if i.local_id == "03a02Lb")
    assert bored.label.emotion == "neutral" and bored.flags == ("label_from_user_mapping",)
    assert get_adapter("emodb", {"label_map": {"boredom": "calm"}, "group_pattern": "x"}).name == "emodb"


def test_emodb_names_inside_class_trees_give_speakers_and_are_checked(tmp_path, sources):
    """Issue 11 item 7: in a folder-per-class tree, EMO-DB names give the speaker (no leak across splits)
    and the folder label is checked against the name's (mismatch -> conflicting_labels)."""
    root = tmp_path / "classes"
    build_tree(root, ["anger/03a01Wa", "happy/03a01Fa", "fear/09a04Aa", "sad/10b10Ta", "sad/08b01Ea",
                      "boredom/13b09Lb", "neutral/16a07Nc", "neutral/clip_7"], sources)
    adapter = GenericAdapter(lexicon=lexicon_folder(tmp_path))
    with pytest.warns(UnknownGroupWarning, match="1 of 7 generic items"):
        items, rejections = partition_records(adapter.scan(root))
    assert [(Path(r.path).stem, r.reason) for r in rejections] == [("08b01Ea", "conflicting_labels")]
    assert "says disgust" in rejections[0].detail
    got = {i.local_id: i for i in items}
    assert got["anger/03a01Wa"].group == got["happy/03a01Fa"].group == "emodb:03"
    assert got["anger/03a01Wa"].attributes["gender"] == "male"
    assert got["boredom/13b09Lb"].group == "emodb:13" and "label_from_lexicon" in got["boredom/13b09Lb"].flags
    assert got["neutral/clip_7"].flags == ("unknown_group",) and got["neutral/clip_7"].group == "neutral/clip_7"
    # a group pattern gives the rest a group
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownGroupWarning)
        items, _ = partition_records(GenericAdapter(group_pattern=r"clip_(?P<group>\d+)",
                                                    lexicon=lexicon_folder(tmp_path)).scan(root))
    assert {i.local_id: i.group for i in items}["neutral/clip_7"] == "7"
    # Kaggle trees read EMO-DB names too, and reject the letter that contradicts the folder
    kaggle = tmp_path / "kaggle"
    build_tree(kaggle, ["Angry/03a01Wa", "Happy/09a04Aa", "Fearful/x", "Sad/y", "Neutral/16a07Nc"], sources)
    with pytest.warns(UnknownGroupWarning):
        items, rejections = partition_records(KaggleAudioEmotionsAdapter().scan(kaggle))
    assert {i.local_id: i.group for i in items if i.local_id.startswith("emodb")} == {
        "emodb:03a01Wa": "emodb:03", "emodb:16a07Nc": "emodb:16"}
    assert [(Path(r.path).stem, r.reason) for r in rejections] == [("09a04Aa", "conflicting_labels")]


def test_other_corpora_letters_are_not_global_synonyms(tmp_path):
    """Issue 11 item 8: a CSV using EMO-DB's letters (A = Angst = fear, F = Freude = happiness) is not
    silently read with SAVEE's (a = anger, f = fear)."""
    for name in ("a.wav", "f.wav", "w.wav"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "manifest.csv").write_text("path,emotion\na.wav,A\nf.wav,F\nw.wav,ANG\n", encoding="utf-8")
    items, rejections = partition_records(GenericAdapter(lexicon=lexicon_folder(tmp_path)).scan(tmp_path))
    assert items == []
    assert [r.reason for r in rejections] == ["unknown_label"] * 3
    assert "short code is never guessed" in rejections[0].detail
    # with a label map naming the corpus's letters, the same CSV is read correctly
    mapping = tmp_path / "emodb_letters.csv"
    mapping.write_text("word,category\nA,fear\nF,happiness\nANG,anger\n", encoding="utf-8")
    items, rejections = partition_records(GenericAdapter(label_map=mapping).scan(tmp_path))
    assert rejections == []
    assert {i.local_id: i.label.emotion for i in items} == {"a": "fear", "f": "happiness", "w": "anger"}
    assert all(i.flags[0] == "label_from_user_mapping" for i in items)
