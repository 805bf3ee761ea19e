"""Labels outside the 12 categories (issue 11 item 9): lexicon words map through their VAD with the word
kept and a flag; a user map overrides; boredom is never silently "sadness"."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from resonance.data.adapters.generic import GenericAdapter
from resonance.data.emotion import CATEGORIES, CATEGORY_VAD, LabelResolver, Lexicon, from_va
from resonance.data.records import partition_records
from resonance.errors import ParameterError

#: The 20 emotions of WikiArt Emotions (Mohammad & Kiritchenko, LREC 2018), a painting-emotion label set.
WIKIART_EMOTIONS = ("agreeableness", "anger", "anticipation", "arrogance", "disagreeableness", "disgust", "fear",
                    "gratitude", "happiness", "humility", "love", "optimism", "pessimism", "regret", "sadness",
                    "shame", "shyness", "surprise", "trust", "neutral")


def _lexicon(tmp_path: Path) -> Path:
    folder = tmp_path / "lexicons"
    folder.mkdir(exist_ok=True)
    (folder / "NRC-VAD-Lexicon.txt").write_text(
        "Word\tValence\tArousal\tDominance\nboredom\t0.167\t0.139\t0.255\nagreeable\t0.906\t0.500\t0.620\n"
        "speaker\t0.604\t0.660\t0.723\n", encoding="utf-8")
    return folder


def test_all_twenty_painting_emotions_map_with_the_real_lexicon(shared_data):
    resolver = LabelResolver(lexicon=shared_data / "lexicons")
    outside = []
    for word in WIKIART_EMOTIONS:
        resolved = resolver.resolve(word)  # never a KeyError
        assert sum(resolved.label.distribution.values()) == pytest.approx(1.0)
        if word in CATEGORIES:
            assert resolved.flags == () and resolved.label.emotion == word
        else:
            outside.append(word)
            assert resolved.flags[0] == "label_from_lexicon" and resolved.original == word
            assert "NRC-VAD" in resolved.label.vad_source
    assert len(outside) == 13
    # folder names too: these are names of emotions
    assert resolver.resolve("Shyness", declared=False).flags[0] == "label_from_lexicon"
    assert resolver.resolve("love").label.valence == 1.0  # NRC-VAD v1: love 1.000 / .519 / .673


def test_lexicon_lookup_rules(tmp_path):
    lexicon = Lexicon(_lexicon(tmp_path))
    assert lexicon.available and not Lexicon(tmp_path / "absent").available
    (v, a, d), source = lexicon.lookup("Agreeableness")
    assert (v, a) == (0.906, 0.5) and "'agreeable' (for 'agreeableness')" in source
    resolver = LabelResolver(lexicon=lexicon)
    with pytest.raises(KeyError, match="nor a known emotion name"):
        resolver.resolve("speaker", declared=False)  # a folder named after a lexicon word that is no emotion
    for code in ("A", "f", "sa", "ps", "su"):
        with pytest.raises(KeyError, match="short code"):
            resolver.resolve(code)
    with pytest.raises(KeyError, match="not in the lexicon"):
        resolver.resolve("blorf")


def test_boredom_is_flagged_whether_a_word_or_a_va_point(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"a")
    (tmp_path / "b.wav").write_bytes(b"b")
    (tmp_path / "c.wav").write_bytes(b"c")
    (tmp_path / "manifest.csv").write_text("path,emotion,valence,arousal,group\na.wav,boredom,,,s1\n"
                                           "b.wav,,0.167,0.139,s1\nc.wav,,0.06,0.29,s2\n", encoding="utf-8")
    items, rejections = partition_records(GenericAdapter(lexicon=_lexicon(tmp_path)).scan(tmp_path))
    assert rejections == []
    got = {i.local_id: i for i in items}
    word, point, sad = got["a"], got["b"], got["c"]
    assert word.flags == ("label_from_lexicon", "va_far_from_categories")
    assert word.original_labels["emotion"] == "boredom"
    # boredom given as valence/arousal: its nearest category is sadness, but it is flagged as far from it
    assert point.label.emotion == "sadness"
    assert point.flags == ("emotion_from_va", "va_far_from_categories")
    # a point at the sadness prototype is only flagged as derived from VA
    assert sad.flags == ("emotion_from_va",)
    assert math.dist((word.label.valence, word.label.arousal), CATEGORY_VAD["sadness"][:2]) > 0.15


def test_user_label_map_overrides_categories_and_lexicon(tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text("word;valence;arousal\nboredom;0.40;0.10\ncalm;0.60;0.20\n", encoding="utf-8")
    resolver = LabelResolver(mapping, lexicon=_lexicon(tmp_path))
    bored = resolver.resolve("Boredom")
    assert (bored.label.valence, bored.label.arousal) == (0.40, 0.10) and math.isnan(bored.label.dominance)
    assert bored.flags[:2] == ("label_from_user_mapping", "emotion_from_va") and "map.csv" in bored.label.vad_source
    assert resolver.resolve("calm").label.valence == 0.60  # overrides even a category
    assert resolver.resolve("anger").flags == ()
    assert LabelResolver({"bored": "neutral"}).resolve("BORED").label.emotion == "neutral"
    bad = tmp_path / "bad.csv"
    bad.write_text("word,category\nmeh,boredish\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="entry 'meh'"):
        LabelResolver(bad)
    bad.write_text("word,valence,arousal\nmeh,1.5,0.2\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="outside"):
        LabelResolver(bad)
    with pytest.raises(ParameterError, match="not found"):
        LabelResolver(tmp_path / "nope.csv")


def test_class_folder_names_map_through_the_lexicon(tmp_path):
    for folder in ("boredom", "speaker", "sad"):
        (tmp_path / "tree" / folder).mkdir(parents=True)
        (tmp_path / "tree" / folder / "spk1").mkdir()
        (tmp_path / "tree" / folder / "spk1" / f"{folder}.wav").write_bytes(folder.encode())
    items, rejections = partition_records(GenericAdapter(lexicon=_lexicon(tmp_path)).scan(tmp_path / "tree"))
    assert [(Path(r.path).name, r.reason) for r in rejections] == [("speaker.wav", "unknown_label")]
    got = {i.local_id: i for i in items}
    assert got["boredom/spk1/boredom"].flags == ("label_from_lexicon", "va_far_from_categories")
    assert got["boredom/spk1/boredom"].original_labels == {"class": "boredom"}
    assert got["sad/spk1/sad"].flags == ()
    assert from_va(0.167, 0.139, vad_source="t").emotion == "sadness"  # what an unflagged fold would say
