"""Image corpus adapters (D-ViSA, FeelingBlue) and the generic class-tree / manifest adapter.

Real-data checks use the ``shared_data`` fixture (skipped without the bundle); everything else runs on
small synthetic folders in ``tmp_path``. Scans never decode, so synthetic "images" are a few bytes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from resonance.data.adapters.dvisa import DvisaAdapter, annotator_distribution, parse_vad
from resonance.data.adapters.feelingblue import FeelingBlueAdapter, bws_weight
from resonance.data.adapters.generic import GenericAdapter, modality_of
from resonance.data.emotion import CATEGORIES
from resonance.data.records import Adapter, Rejection, partition_records
from resonance.errors import ParameterError


def _split(results):
    items, rejections = partition_records(results)
    assert all(isinstance(r, Rejection) for r in rejections)
    return items, rejections


def _check_items(items):
    for item in items:
        assert 0.0 <= item.label.valence <= 1.0 and 0.0 <= item.label.arousal <= 1.0, item.id
        assert math.isclose(sum(item.label.distribution.values()), 1.0, abs_tol=1e-9), item.id
        assert set(item.label.distribution) <= set(CATEGORIES)
        assert item.path.is_file(), item.path
        json.dumps(dict(item.original_labels))  # the manifest stores them as JSON
    assert len({i.local_id for i in items}) == len(items), "local_id must be unique within a corpus"


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("adapter", [DvisaAdapter(), FeelingBlueAdapter(), GenericAdapter()])
def test_adapters_satisfy_protocol(adapter):
    assert isinstance(adapter, Adapter)


# -- D-ViSA: real data ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dvisa_scan(shared_data):
    return _split(DvisaAdapter().scan(shared_data / "d-visa"))


def test_dvisa_real_counts(dvisa_scan):
    items, rejections = dvisa_scan
    assert len(items) == 2782
    assert rejections == []
    assert len({i.group for i in items}) == 141
    _check_items(items)
    assert all(i.label.vad_source.startswith("D-ViSA final_vad") for i in items)
    assert all(i.group == i.attributes["artist"] == i.local_id.split("_")[0] for i in items)


def test_dvisa_detect_is_lenient_about_nesting(shared_data):
    assert DvisaAdapter().detect(shared_data / "d-visa")
    assert DvisaAdapter().detect(shared_data)
    assert not DvisaAdapter().detect(shared_data / "feelingblue")


def test_dvisa_apostrophe_files_resolved(dvisa_scan):
    items, _ = dvisa_scan
    keeffe = {i.original_labels["artwork"]: i for i in items if i.group == "georgia-okeeffe"}
    assert "georgia-o'keeffe_green-yellow-and-orange.jpg" in keeffe
    assert "georgia-o'keeffe_it-was-yellow-and-pink-ii.jpg" in keeffe
    for artwork, item in keeffe.items():
        assert item.path.name == artwork.replace("'", "") and item.path.is_file()


def test_dvisa_outlier_and_empty_annotations_flagged(dvisa_scan):
    items, _ = dvisa_scan
    outliers = [i for i in items if any(f.endswith("_vad_out_of_range") for f in i.flags)]
    assert [i.path.name for i in outliers] == ["jackson-pollock_untitled-o-connor-thaw-770(1).jpg"]
    assert outliers[0].flags.count("annotator2_vad_out_of_range") == 1
    assert outliers[0].original_labels["annotator_vad"][1][0] == 100.0  # kept verbatim
    assert outliers[0].label.valence == outliers[0].original_labels["final_vad"][0]  # and not used

    empty = [(i, f) for i in items for f in i.flags if f.endswith("_empty")]
    assert len(empty) == 18
    for item, flag in empty:
        n = int(flag.removeprefix("annotator").removesuffix("_empty"))
        assert [x for x in item.original_labels["annotator_emotions"][n - 1] if x.strip()] == []
        # the empty annotator contributes nothing: agreement is over the non-empty ones only
        non_empty = [e for e in item.original_labels["annotator_emotions"] if any(x.strip() for x in e)]
        assert len(non_empty) == 2


def test_dvisa_final_emo_kept_and_wins_ties(dvisa_scan):
    items, _ = dvisa_scan
    for item in items:
        final = item.original_labels["final_emo"]
        assert final in CATEGORIES
        if "final_emo_not_argmax" in item.flags:
            assert item.label.emotion != final
            assert item.label.distribution.get(final, 0.0) < max(item.label.distribution.values())
        else:
            assert item.label.emotion == final, item.id
    # the real data has disagreement: this measure must vary
    agreement = [i.original_labels["agreement"] for i in items]
    assert min(agreement) < 1.0 and max(agreement) == 1.0


# -- D-ViSA: synthetic ------------------------------------------------------------------------------------

_DVISA_ANNOTATORS = ",artwork,emo1,emo2,emo3,vad1,vad2,vad3,final_emo,final_vad\n"


def _dvisa_tree(root: Path, rows: list[tuple[str, str, str]], annotator_rows: list[str], files: list[str]) -> Path:
    base = root / "d-visa"
    lines = ["artwork,final_emo,final_vad"] + [f'{a},{e},"{v}"' for a, e, v in rows]
    _touch(base / "D-ViSA.csv", ("\n".join(lines) + "\n").encode())
    _touch(base / "art_emo_vad_dataset.csv", (_DVISA_ANNOTATORS + "".join(annotator_rows)).encode())
    for name in files:
        _touch(base / "data" / name)
    return base


def test_dvisa_synthetic_labels_and_rejections(tmp_path):
    rows = [
        ("ann-a_one.jpg", "fear", "[0.2, 0.30000000000000004, 0.2]"),
        ("ann-a_two.jpg", "excitement", "[0.6, 0.7, 0.5]"),
        ("bob-b_bad-vad.jpg", "fear", "[0.2, 0.3"),
        ("bob-b_range.jpg", "fear", "[1.5, 0.3, 0.2]"),
        ("bob-b_label.jpg", "joyfulness", "[0.2, 0.3, 0.2]"),
        ("bob-b_absent.jpg", "fear", "[0.2, 0.3, 0.2]"),
        ("o'hara_x.jpg", "awe", "[0.5, 0.5, 0.5]"),
    ]
    annotators = [
        '0,ann-a_one.jpg,"[\'sadness\', \'fear\']",[\'fear\'],[\'\'],"[0.1, 0.2, 0.3]","[100.0, 0.4, 0.3]",'
        '"[0.1, 0.2, 0.3]",fear,"[0.2, 0.3, 0.2]"\n',
        '1,ann-a_two.jpg,[\'awe\'],[\'excitement\'],[\'fear\'],"[0.1, 0.2, 0.3]","[0.1, 0.2, 0.3]",'
        '"[0.1, 0.2, 0.3]",excitement,"[0.6, 0.7, 0.5]"\n',
    ]
    files = ["ann-a_one.jpg", "ann-a_two.jpg", "bob-b_bad-vad.jpg", "bob-b_range.jpg", "bob-b_label.jpg",
             "ohara_x.jpg", "stray_unlabelled.jpg"]
    base = _dvisa_tree(tmp_path, rows, annotators, files)
    items, rejections = _split(DvisaAdapter().scan(tmp_path))  # the parent of d-visa/ works too
    _check_items(items)
    reasons = {Path(r.path).name: r.reason for r in rejections}
    assert reasons == {"bob-b_bad-vad.jpg": "malformed_label", "bob-b_range.jpg": "malformed_label",
                       "bob-b_label.jpg": "malformed_label", "bob-b_absent.jpg": "file_not_found",
                       "stray_unlabelled.jpg": "unlabelled"}
    by_id = {i.local_id: i for i in items}
    assert set(by_id) == {"ann-a_one", "ann-a_two", "ohara_x"}

    one = by_id["ann-a_one"]  # (0.5 sadness + 0.5 fear) and (1 fear) averaged; the empty one excluded
    assert one.label.distribution == pytest.approx({"fear": 0.75, "sadness": 0.25})
    assert (one.label.valence, one.label.arousal, one.label.dominance) == pytest.approx((0.2, 0.3, 0.2))
    assert {"annotator3_empty", "annotator2_vad_out_of_range"} <= set(one.flags)
    assert one.original_labels["agreement"] == 1.0
    assert one.group == "ann-a" and one.attributes == {"artist": "ann-a", "title": "one"}

    two = by_id["ann-a_two"]  # a three-way tie: final_emo wins it, by a negligible mass
    assert two.label.emotion == "excitement" and "final_emo_tie_break" in two.flags
    assert two.label.distribution == pytest.approx({"awe": 1 / 3, "excitement": 1 / 3, "fear": 1 / 3}, abs=1e-5)
    assert two.original_labels["agreement"] == pytest.approx(1 / 3)

    # no annotator row: one-hot final_emo, flagged
    assert by_id["ohara_x"].label.distribution == {"awe": 1.0}
    assert "no_annotator_labels" in by_id["ohara_x"].flags
    assert (base / "data" / "ohara_x.jpg") == by_id["ohara_x"].path


def test_dvisa_helpers():
    assert parse_vad("[0.2, 0.30000000000000004, 0.2]") == pytest.approx((0.2, 0.3, 0.2))
    for bad in ("[0.2, 0.3", "[0.2, 0.3]", "['a', 0.3, 0.2]", "0.5", "[nan, 0.1, 0.1]"):
        with pytest.raises(ValueError):
            parse_vad(bad)
    assert annotator_distribution([["awe"], [], ["awe", "fear"]]) == pytest.approx({"awe": 0.75, "fear": 0.25})
    assert annotator_distribution([[], []]) == {}


def test_dvisa_scan_without_corpus_raises(tmp_path):
    assert not DvisaAdapter().detect(tmp_path)
    with pytest.raises(ParameterError, match="D-ViSA.csv"):
        list(DvisaAdapter().scan(tmp_path))


# -- FeelingBlue ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def feelingblue_scan(shared_data):
    return _split(FeelingBlueAdapter().scan(shared_data / "feelingblue"))


def test_feelingblue_real_counts(feelingblue_scan):
    items, rejections = feelingblue_scan
    assert len(items) == 230
    assert Counter(r.reason for r in rejections) == {"file_not_found": 682}
    assert Counter(i.official_split for i in items) == {"train": 182, "val": 48}
    _check_items(items)
    assert all(i.group == i.local_id for i in items)
    assert all(i.attributes["artist"] == i.local_id.split("_")[0] for i in items)


def test_feelingblue_unscored_emotions_missing(feelingblue_scan):
    items, _ = feelingblue_scan
    for item in items:
        scores = item.original_labels["scores"]
        assert 1 <= len(scores) <= 2 and all(-1.0 <= s <= 1.0 for s in scores.values())
        assert set(item.label.distribution) <= set(scores)  # never a weight for an unscored emotion
        total = sum((s + 1) / 2 for s in scores.values())
        for emotion, score in scores.items():
            assert item.label.distribution.get(emotion, 0.0) == pytest.approx((score + 1) / 2 / total)
    assert any(len(i.original_labels["scores"]) == 1 for i in items)


def test_feelingblue_nesting(shared_data):
    adapter = FeelingBlueAdapter()
    for root in (shared_data / "feelingblue", shared_data / "feelingblue" / "corpora", shared_data):
        assert adapter.detect(root)
    items, _ = _split(adapter.scan(shared_data / "feelingblue" / "corpora"))
    assert len(items) == 230


def test_feelingblue_official_split_is_not_artist_disjoint(shared_data):
    splits = json.loads((shared_data / "feelingblue/corpora/feelingblue_splits.json").read_text())
    artists = {k: {name.split("_")[0] for name in v} for k, v in splits.items()}
    assert len(artists["train"] & artists["valid"]) == 112


def test_feelingblue_synthetic(tmp_path):
    corpora = tmp_path / "corpora"
    _touch(corpora / "feelingblue_relative_scores.csv", (
        b"emotion,image_id,filename,score\n"
        b"fear,image_0,a_one.jpg,0.5\n"
        b"sadness,image_0,a_one.jpg,-0.5\n"
        b"anger,image_1,b_two.jpg,-1\n"
        b"happiness,image_2,c_three.jpg,1.7\n"
        b"disgust,image_3,d_absent.jpg,0.1\n"
        b"fear,image_4,e_five.jpg,zero\n"
    ))
    _touch(corpora / "feelingblue_splits.json",
           json.dumps({"train": ["a_one.jpg", "c_three.jpg"], "valid": ["b_two.jpg"]}).encode())
    for name in ("a_one.jpg", "b_two.jpg", "c_three.jpg", "e_five.jpg", "f_stray.jpg"):
        _touch(corpora / "wikiart" / name)
    items, rejections = _split(FeelingBlueAdapter().scan(tmp_path))
    reasons = {Path(r.path).name: r.reason for r in rejections}
    assert reasons == {"b_two.jpg": "malformed_label", "c_three.jpg": "malformed_label",
                       "d_absent.jpg": "file_not_found", "e_five.jpg": "malformed_label",
                       "f_stray.jpg": "unlabelled"}
    [item] = items
    assert item.original_labels["scores"] == {"fear": 0.5, "sadness": -0.5}
    assert item.label.distribution == pytest.approx({"fear": 0.75, "sadness": 0.25})
    assert item.official_split == "train" and item.group == "a_one"
    assert bws_weight(-1.0) == 0.0 and bws_weight(1.0) == 1.0
    with pytest.raises(ValueError):
        bws_weight(1.01)


# -- Generic ----------------------------------------------------------------------------------------------

def test_generic_class_tree(tmp_path):
    _touch(tmp_path / "Angry" / "spk1" / "a1.wav", b"angry-1")
    _touch(tmp_path / "Angry" / "spk1" / "a2.WAV", b"angry-2")
    _touch(tmp_path / "happy" / "001.wav", b"happy-1")
    _touch(tmp_path / "sad" / "001.wav", b"sad-1")           # same name as happy/001, other bytes: fine
    _touch(tmp_path / "Suprised" / "x.flac", b"surprise-1")  # upstream misspelling, via canonical_category
    _touch(tmp_path / "stuff" / "b.wav", b"stuff")            # unknown class (no emotion name)
    _touch(tmp_path / "happy" / "notes.txt", b"notes")        # unsupported
    _touch(tmp_path / "happy" / "cover.jpg", b"jpeg")         # other modality in an audio corpus
    _touch(tmp_path / "happy" / ".DS_Store", b"junk")         # hidden: skipped
    _touch(tmp_path / "README.md", b"loose files in root are ignored")
    adapter = GenericAdapter()
    assert adapter.detect(tmp_path)
    items, rejections = _split(adapter.scan(tmp_path))
    _check_items(items)
    assert {Path(r.path).name: r.reason for r in rejections} == {
        "b.wav": "unknown_label", "notes.txt": "unsupported_format", "cover.jpg": "unsupported_format"}
    by_id = {i.local_id: i for i in items}
    assert set(by_id) == {"Angry/spk1/a1", "Angry/spk1/a2", "happy/001", "sad/001", "Suprised/x"}
    assert by_id["Angry/spk1/a1"].label.emotion == "anger" and by_id["Angry/spk1/a1"].group == "spk1"
    assert by_id["happy/001"].group == "happy/001"  # no folder below the class: the item itself
    assert by_id["Suprised/x"].label.distribution == {"surprise": 1.0}
    assert all(i.modality == "audio" and i.corpus == "generic" for i in items)
    assert by_id["sad/001"].original_labels == {"class": "sad"}
    # No folder below the class and no native name: the group is unknown, flagged (and warned).
    assert "unknown_group" in by_id["happy/001"].flags and by_id["Angry/spk1/a1"].flags == ()


def test_generic_conflicting_bytes(tmp_path):
    _touch(tmp_path / "happy" / "p.png", b"same-bytes")
    _touch(tmp_path / "sad" / "q.png", b"same-bytes")
    _touch(tmp_path / "sad" / "r.png", b"same-size!")      # same size, other bytes: kept
    _touch(tmp_path / "sad" / "s.png", b"happy-twin")
    _touch(tmp_path / "sad" / "t.png", b"happy-twin")      # identical bytes, same label: not a conflict
    items, rejections = _split(GenericAdapter(modality="image").scan(tmp_path))
    assert sorted((Path(r.path).name, r.reason) for r in rejections) == [
        ("p.png", "conflicting_labels"), ("q.png", "conflicting_labels")]
    assert sorted(i.local_id for i in items) == ["sad/r", "sad/s", "sad/t"]


def test_generic_manifest(tmp_path):
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg", "g.jpg", "h.jpg", "i.bin"):
        _touch(tmp_path / "img" / name, name.encode())
    _touch(tmp_path / "manifest.csv", (
        b"path,emotion,valence,arousal,dominance,group\n"
        b"img/a.jpg,happy,,,,artist1\n"          # 2 category
        b"img/b.jpg,,0.2,0.9,,\n"                # 3 VA only
        b"img/c.jpg,fear,0.1,0.8,0.3,artist1\n"  # 4 category + VAD
        b",happy,,,,\n"                          # 5 missing path
        b"img/d.jpg,,0.2,high,,\n"               # 6 unparseable
        b"img/e.jpg,,1.2,0.5,,\n"                # 7 outside [0, 1]
        b"img/f.jpg,,,,,\n"                      # 8 no label
        b"img/missing.jpg,sad,,,,\n"             # 9 file absent
        b"img/g.jpg,happy,,,,\n"                 # 10 conflicting with 11
        b"img/g.jpg,sad,,,,\n"                   # 11
        b"img/h.jpg,blorf,,,,\n"                 # 12 unknown label
        b"img/i.bin,sad,,,,\n"                   # 13 unsupported
        b"img/a.jpg,happy,,,,artist1\n"          # 14 duplicate row, same label
    ))
    _touch(tmp_path / "happy" / "ignored.jpg")  # a manifest wins over class folders
    adapter = GenericAdapter()
    assert adapter.detect(tmp_path)
    items, rejections = _split(adapter.scan(tmp_path))
    _check_items(items)
    got = sorted((Path(r.path).name, r.reason) for r in rejections)
    assert got == sorted([
        ("manifest.csv:5", "malformed_label"), ("d.jpg", "malformed_label"), ("e.jpg", "malformed_label"),
        ("f.jpg", "malformed_label"), ("missing.jpg", "file_not_found"), ("g.jpg", "conflicting_labels"),
        ("g.jpg", "conflicting_labels"), ("h.jpg", "unknown_label"), ("i.bin", "unsupported_format"),
        ("a.jpg", "duplicate")])
    by_id = {i.local_id: i for i in items}
    assert set(by_id) == {"img/a", "img/b", "img/c"}
    assert by_id["img/a"].label.distribution == {"happiness": 1.0} and by_id["img/a"].group == "artist1"
    b = by_id["img/b"]
    assert (b.label.valence, b.label.arousal) == (0.2, 0.9) and math.isnan(b.label.dominance)
    assert b.group == "img/b" and b.label.vad_source == "generic manifest"
    c = by_id["img/c"]
    assert c.label.distribution == {"fear": 1.0}
    assert (c.label.valence, c.label.arousal, c.label.dominance) == (0.1, 0.8, 0.3)
    assert all(i.modality == "image" for i in items)


def test_generic_manifest_given_path_and_bad_header(tmp_path):
    _touch(tmp_path / "x.wav")
    _touch(tmp_path / "labels.csv", b"path,emotion\nx.wav,calm\n")
    [item] = GenericAdapter(manifest="labels.csv").scan(tmp_path)
    assert item.label.emotion == "calm" and item.modality == "audio"
    [item] = GenericAdapter().scan(tmp_path / "labels.csv")  # a CSV file as root works too
    assert item.local_id == "x"
    _touch(tmp_path / "bad.csv", b"file,emotion\nx.wav,calm\n")
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['path'\]"):
        list(GenericAdapter().scan(tmp_path / "bad.csv"))
    with pytest.raises(ParameterError, match="not found"):
        list(GenericAdapter(manifest="nope.csv").scan(tmp_path))


def test_generic_detect_and_modality(tmp_path):
    assert not GenericAdapter().detect(tmp_path)
    _touch(tmp_path / "misc" / "a.wav")
    assert not GenericAdapter().detect(tmp_path)  # no folder names a category
    _touch(tmp_path / "calm" / "a.png")
    _touch(tmp_path / "calm" / "b.wav")
    assert GenericAdapter().detect(tmp_path)
    with pytest.raises(ParameterError, match="modality"):
        list(GenericAdapter().scan(tmp_path))  # one image, one audio (misc/ is unknown_label): a tie
    assert modality_of("x.TIFF") == "image" and modality_of("x.opus") == "audio" and modality_of("x.mid") is None
    with pytest.raises(ParameterError):
        GenericAdapter(modality="video")
