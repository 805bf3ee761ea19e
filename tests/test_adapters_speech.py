"""Speech corpus adapters: real RAVDESS/TESS counts, and fixture trees in the CREMA-D, SAVEE and
Kaggle layouts built from real recordings (see tests/speech_fixtures.py)."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest

from resonance.data.adapters.speech import (
    SPEECH_ADAPTERS,
    CremadAdapter,
    KaggleAudioEmotionsAdapter,
    RavdessAdapter,
    SaveeAdapter,
    TessAdapter,
    parse_cremad_name,
    parse_ravdess_name,
    parse_savee_name,
    parse_tess_name,
    recognise_native_name,
)
from resonance.data.records import Adapter, Item, Rejection, UnknownGroupWarning, partition_records
from resonance.errors import ParameterError

try:  # tests/ is a rootdir-relative folder, not a package, unless the lead makes it one
    from speech_fixtures import build_tree, source_recordings, write_text
except ImportError:  # pragma: no cover
    from tests.speech_fixtures import build_tree, source_recordings, write_text


def split(results):
    items, rejections = partition_records(results)
    assert all(isinstance(r, Rejection) for r in rejections)
    return items, rejections


def by_reason(rejections):
    return Counter(r.reason for r in rejections)


@pytest.fixture(scope="module")
def ravdess_scan(shared_data):
    return split(RavdessAdapter().scan(shared_data / "ravdess"))


@pytest.fixture(scope="module")
def tess_scan(shared_data):
    return split(TessAdapter().scan(shared_data / "tess"))


@pytest.fixture()
def sources(tmp_path):
    return source_recordings(16, tmp_path / "_sources")


# ------------------------------------------------------------------------------ protocol


@pytest.mark.parametrize("cls", SPEECH_ADAPTERS)
def test_adapters_follow_the_protocol(cls):
    adapter = cls()
    assert isinstance(adapter, Adapter)
    assert adapter.modality == "audio"
    assert adapter.name in {"ravdess", "tess", "cremad", "savee", "emodb", "kaggle"}


@pytest.mark.parametrize("cls", SPEECH_ADAPTERS)
def test_scan_of_a_missing_folder_raises_and_detect_says_no(cls, tmp_path):
    with pytest.raises(ParameterError, match="not a folder"):
        list(cls().scan(tmp_path / "absent"))
    assert cls().detect(tmp_path / "absent") is False
    assert cls().detect(tmp_path) is False  # empty folder


# ------------------------------------------------------------------------------ real RAVDESS


def test_real_ravdess_counts(ravdess_scan):
    items, rejections = ravdess_scan
    assert rejections == []
    assert len(items) == 1440
    assert len({i.local_id for i in items}) == 1440
    groups = Counter(i.group for i in items)
    assert len(groups) == 24 and set(groups.values()) == {60}
    # Design of the corpus (README §4): 4 neutral + 8 of each other emotion per actor.
    emotions = Counter(i.label.emotion for i in items)
    assert emotions["neutral"] == 96
    assert {emotions[e] for e in ("calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise")} == {192}
    genders = Counter(i.attributes["gender"] for i in items if i.attributes["repetition"] == 1
                      and i.local_id.startswith("03-01-01-01-01"))
    assert genders == {"male": 12, "female": 12}
    assert all(i.corpus == "ravdess" and i.modality == "audio" and i.path.is_file() for i in items)


def test_real_ravdess_known_names(ravdess_scan):
    items = {i.local_id: i for i in ravdess_scan[0]}
    item = items["03-01-06-02-01-02-07"]
    assert item.label.emotion == "fear"
    assert item.group == "ravdess:Actor_07"
    assert item.attributes["gender"] == "male"
    assert item.attributes["intensity"] == "strong"
    assert item.attributes["sentence"] == "Kids are talking by the door"
    assert item.attributes["repetition"] == 2
    assert item.original_labels == {"emotion": "fearful", "emotion_code": "06",
                                    "intensity": "strong", "intensity_code": "02"}
    item = items["03-01-02-01-02-01-12"]
    assert (item.label.emotion, item.attributes["gender"], item.attributes["statement"]) == ("calm", "female", "02")
    assert item.attributes["sentence"] == "Dogs are sitting by the door"
    assert item.path.parent.name == "Actor_12"


def test_real_ravdess_flac_ids_match_ogg(shared_data, ravdess_scan):
    flac, rejections = split(RavdessAdapter().scan(shared_data / "ravdess_flac"))
    assert rejections == [] and len(flac) == 120
    assert all(i.path.suffix == ".flac" for i in flac)
    ogg = {i.local_id: i for i in ravdess_scan[0]}
    assert {i.local_id for i in flac} <= set(ogg)
    assert {i.group for i in flac} == {"ravdess:Actor_01", "ravdess:Actor_02"}
    for item in flac:
        twin = ogg[item.local_id]
        assert (item.id, item.group, item.label, dict(item.attributes)) == \
            (twin.id, twin.group, twin.label, dict(twin.attributes))


# ------------------------------------------------------------------------------ real TESS


def test_real_tess_counts_and_oa_quirk(tess_scan):
    items, rejections = tess_scan
    assert rejections == []
    assert len(items) == 1400 and len({i.local_id for i in items}) == 1400
    assert Counter(i.group for i in items) == {"tess:OAF": 700, "tess:YAF": 700}
    assert set(Counter(i.label.emotion for i in items).values()) == {200}
    assert len({i.attributes["word"] for i in items}) == 100
    quirk = {i.local_id: i for i in items}["OAF_bite_neutral"]
    assert quirk.path.stem == "OA_bite_neutral"
    assert quirk.group == "tess:OAF" and quirk.attributes["age"] == 64
    assert quirk.attributes["word"] == "bite" and quirk.label.emotion == "neutral"
    ps = [i for i in items if i.original_labels["emotion_code"] == "ps"]
    assert len(ps) == 200 and {i.label.emotion for i in ps} == {"surprise"}
    assert {i.attributes["gender"] for i in items} == {"female"}
    assert {(i.attributes["speaker"], i.attributes["age_group"]) for i in items} == {("OAF", "older"),
                                                                                     ("YAF", "younger")}


def test_real_detection(shared_data):
    expected = {"ravdess": RavdessAdapter, "ravdess_flac": RavdessAdapter, "tess": TessAdapter}
    for folder, cls in expected.items():
        found = [c for c in SPEECH_ADAPTERS if c().detect(shared_data / folder)]
        assert found == [cls], folder


# ------------------------------------------------------------------------------ parsers


def test_parsers_recover_fields():
    song = parse_ravdess_name("03-02-03-02-02-02-23")
    assert song["attributes"]["vocal_channel"] == "song" and song["attributes"]["gender"] == "male"
    assert song["emotion"] == "happy" and song["attributes"]["intensity"] == "strong"
    crema = parse_cremad_name("1091_ITH_SAD_LO")
    assert crema["speaker"] == "1091" and crema["attributes"]["intensity"] == "low"
    assert crema["attributes"]["sentence"] == "I think I have a doctor's appointment"
    assert crema["attributes"]["gender"] is None  # no demographics given: unknown, not guessed
    assert parse_cremad_name("1001_DFA_ANG_XX", {"1001": {"gender": "male", "age": 51}})["attributes"]["age"] == 51
    assert parse_savee_name("a01", "jk")["local_id"] == "JK_a01"
    assert parse_savee_name("KL_su15")["emotion"] == "surprise"
    assert parse_savee_name("DC_n30")["emotion"] == "neutral"
    assert parse_tess_name("YAF_bar_ps", "YAF_pleasant_surprised")["emotion"] == "surprise"
    assert recognise_native_name("OA_bite_neutral")["local_id"] == "OAF_bite_neutral"


@pytest.mark.parametrize("parse, stem", [
    (parse_ravdess_name, "03-01-05-01-01-01"),      # six fields
    (parse_ravdess_name, "03-01-09-01-01-01-01"),   # emotion 09
    (parse_ravdess_name, "03-01-01-02-01-01-01"),   # strong neutral does not exist
    (parse_ravdess_name, "03-02-07-01-01-01-01"),   # song has no disgust
    (parse_ravdess_name, "03-01-05-01-01-01-25"),   # actor 25
    (parse_cremad_name, "1000_DFA_ANG_XX"),         # actor outside 1001-1091
    (parse_cremad_name, "1001_XYZ_ANG_XX"),         # unknown sentence
    (parse_cremad_name, "1001_DFA_SUR_XX"),         # CREMA-D has no surprise
    (parse_cremad_name, "1001_DFA_ANG"),
    (parse_savee_name, "a01"),                      # no speaker
    (parse_savee_name, "XX_a01"),
    (parse_savee_name, "DC_a16"),                   # only 15 anger utterances
    (parse_savee_name, "DC_x01"),
    (parse_tess_name, "OAF_bar"),
    (parse_tess_name, "ZAF_bar_angry"),
    (parse_tess_name, "OAF_bar_bored"),
])
def test_parsers_reject_malformed_names(parse, stem):
    assert parse(stem) is None
    assert recognise_native_name(stem) is None


# ------------------------------------------------------------------------------ RAVDESS edge cases


def test_ravdess_tree_quirks(tmp_path, sources):
    root = tmp_path / "ravdess"
    build_tree(root, [
        "Actor_02/03-01-05-01-01-01-02",
        "Actor_05/03-01-05-01-01-01-02",     # the stray file of a shared copy: actor 02 in Actor_05
        "Actor_02/03-02-04-01-01-01-02",     # song is accepted
        "Actor_02/01-01-04-01-01-01-02",     # audio-video: not used
        "Actor_02/03-01-04-01-01-01-02.WAV",  # upper-case extension
        "Actor_02/take 3",
        "Actor_02/03-01-05-01-01-01-02 (1)",
    ], sources)
    write_text(root / "README.md", "notes")
    write_text(root / "Actor_02" / ".DS_Store", "")
    write_text(root / "Actor_02" / "session.docx", "?")
    items, rejections = split(RavdessAdapter().scan(root))
    assert sorted(i.local_id for i in items) == ["03-01-04-01-01-01-02", "03-01-05-01-01-01-02",
                                                 "03-02-04-01-01-01-02"]
    assert {i.attributes["vocal_channel"] for i in items} == {"speech", "song"}
    assert by_reason(rejections) == {"inconsistent_name": 1, "not_audio_only": 1, "malformed_name": 2,
                                     "unsupported_format": 1}
    inconsistent = next(r for r in rejections if r.reason == "inconsistent_name")
    assert "Actor_05" in inconsistent.path and "actor 02" in inconsistent.detail
    assert next(r for r in rejections if r.reason == "unsupported_format").path.endswith("session.docx")
    assert all(r.corpus == "ravdess" and r.detail for r in rejections)
    assert [i.path for i in RavdessAdapter().scan(root) if isinstance(i, Item)] == [i.path for i in items]


# ------------------------------------------------------------------------------ TESS variants


def test_tess_original_case_folders(tmp_path, sources):
    root = tmp_path / "TESS"
    build_tree(root, [
        "OAF_Fear/OAF_back_fear",
        "OAF_Pleasant_surprise/OAF_back_ps",
        "YAF_pleasant_surprised/YAF_back_ps",
        "YAF_angry/YAF_Back_Angry",
        "OAF_neutral/OA_bite_neutral",
        "OAF_Fear/OAF_bath_sad",              # suffix contradicts folder
        "YAF_angry/OAF_bean_angry",           # speaker contradicts folder
        "YAF_angry/YAF_bean",                 # two fields
    ], sources)
    assert TessAdapter().detect(root)
    assert not RavdessAdapter().detect(root) and not KaggleAudioEmotionsAdapter().detect(root)
    items, rejections = split(TessAdapter().scan(root))
    ids = {i.local_id: i for i in items}
    assert set(ids) == {"OAF_back_fear", "OAF_back_ps", "YAF_back_ps", "YAF_back_angry", "OAF_bite_neutral"}
    assert ids["YAF_back_ps"].label.emotion == "surprise"
    assert ids["YAF_back_ps"].original_labels == {"emotion": "pleasant_surprised", "emotion_code": "ps"}
    assert ids["OAF_back_fear"].group == "tess:OAF" and ids["YAF_back_angry"].attributes["word"] == "back"
    assert by_reason(rejections) == {"inconsistent_name": 2, "malformed_name": 1}


# ------------------------------------------------------------------------------ CREMA-D


CREMAD_NAMES = [
    "1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_SAD_LO", "1002_IOM_NEU_XX", "1003_IWW_FEA_MD",
    "1003_TAI_DIS_XX", "1004_MTI_ANG_HI", "1004_IWL_SAD_XX", "1091_WSI_HAP_XX", "1091_TSI_NEU_XX",
]


def test_cremad_layout(tmp_path, sources):
    root = tmp_path / "CREMA-D"
    build_tree(root, [f"AudioWAV/{n}" for n in CREMAD_NAMES]
               + ["AudioWAV/1092_DFA_ANG_XX", "AudioWAV/1001_DFA_ANG"], sources)
    assert [c for c in SPEECH_ADAPTERS if c().detect(root)] == [CremadAdapter]
    items, rejections = split(CremadAdapter().scan(root))
    assert sorted(i.local_id for i in items) == sorted(CREMAD_NAMES)
    assert by_reason(rejections) == {"malformed_name": 2}
    assert Counter(i.group for i in items) == {"cremad:1001": 2, "cremad:1002": 2, "cremad:1003": 2,
                                               "cremad:1004": 2, "cremad:1091": 2}
    assert {i.attributes["gender"] for i in items} == {None}
    item = next(i for i in items if i.local_id == "1003_IWW_FEA_MD")
    assert item.label.emotion == "fear" and item.attributes["intensity"] == "medium"
    assert item.original_labels == {"emotion": "FEA", "intensity": "MD"}

    # With upstream's demographics file the actors' sex and age are read, never guessed otherwise.
    write_text(root / "VideoDemographics.csv", "ActorID,Age,Sex,Race,Ethnicity\n"
               "1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n")
    items, _ = split(CremadAdapter().scan(root))
    gender = {i.attributes["speaker"]: (i.attributes["gender"], i.attributes["age"]) for i in items}
    assert gender == {"1001": ("male", 51), "1002": ("female", 21), "1003": (None, None),
                      "1004": (None, None), "1091": (None, None)}


# ------------------------------------------------------------------------------ SAVEE


SAVEE_UTTERANCES = ["a01", "d02", "f03", "h04", "n30", "sa05", "su15"]


def test_savee_flat_and_folder_layouts_agree(tmp_path, sources):
    flat = tmp_path / "savee_flat"
    folders = tmp_path / "savee_folders"
    build_tree(flat, [f"ALL/{s}_{u}" for s, u in zip(("DC", "JE", "JK", "KL", "DC", "JE", "JK"),
                                                     SAVEE_UTTERANCES, strict=True)], sources)
    build_tree(folders, [f"AudioData/{s}/{u}" for s, u in zip(("DC", "JE", "JK", "KL", "DC", "JE", "JK"),
                                                               SAVEE_UTTERANCES, strict=True)]
               + ["AudioData/DC/JE_a02", "AudioData/KL/a16", "AudioData/misc/a01"], sources)
    for root in (flat, folders):
        assert [c for c in SPEECH_ADAPTERS if c().detect(root)] == [SaveeAdapter], root
    flat_items, flat_rej = split(SaveeAdapter().scan(flat))
    folder_items, folder_rej = split(SaveeAdapter().scan(folders))
    assert flat_rej == []
    assert by_reason(folder_rej) == {"inconsistent_name": 1, "malformed_name": 2}
    assert sorted(i.local_id for i in flat_items) == sorted(i.local_id for i in folder_items)
    assert {i.attributes["gender"] for i in flat_items} == {"male"}
    assert {i.group for i in flat_items} == {"savee:DC", "savee:JE", "savee:JK", "savee:KL"}
    emotions = {i.local_id: i.label.emotion for i in folder_items}
    assert emotions == {"DC_a01": "anger", "JE_d02": "disgust", "JK_f03": "fear", "KL_h04": "happiness",
                        "DC_n30": "neutral", "JE_sa05": "sadness", "JK_su15": "surprise"}


# ------------------------------------------------------------------------------ Kaggle


def test_kaggle_mixed_tree(tmp_path, sources):
    root = tmp_path / "audio_emotions"
    build_tree(root, [
        "Emotions/Angry/03-01-05-01-01-01-02",   # RAVDESS, agrees
        "Emotions/Angry/1001_DFA_ANG_XX",        # CREMA-D, agrees
        "Emotions/Disgusted/DC_d01",             # SAVEE, agrees
        "Emotions/Fearful/OAF_back_fear",        # TESS, agrees
        "Emotions/Happy/03-01-04-01-01-01-01",   # RAVDESS sad under Happy: flagged, folder kept
        "Emotions/Neutral/mystery_clip",         # unrecognised
        "Emotions/Sad/1002_TIE_SAD_LO",
        "Emotions/Suprised/YAF_bar_ps",          # upstream spelling
        "Emotions/SURPRISED/OA_bite_neutral",    # other spelling + case; TESS quirk; disagrees
        "Emotions/Sad/03-01-06-01-01-01-03",     # the same recording under two classes ...
        "Emotions/Fearful/03-01-06-01-01-01-03",  # ... is rejected in both places
        "Emotions/stray_clip",                   # no class folder
    ], sources)
    assert [c for c in SPEECH_ADAPTERS if c().detect(root)] == [KaggleAudioEmotionsAdapter]
    with pytest.warns(UnknownGroupWarning, match="1 of 8 kaggle items"):
        items, rejections = split(KaggleAudioEmotionsAdapter().scan(root))
    # A name whose emotion contradicts its class folder is rejected (which is right cannot be known);
    # of one recording under two classes, the copy whose folder agrees with its name is kept.
    assert by_reason(rejections) == {"conflicting_labels": 3, "unlabelled": 1}
    conflicts = sorted(r.path.split("/")[-2] + "/" + r.path.rsplit("/", 1)[-1].split(".")[0]
                       for r in rejections if r.reason == "conflicting_labels")
    assert conflicts == ["Happy/03-01-04-01-01-01-01", "SURPRISED/OA_bite_neutral", "Sad/03-01-06-01-01-01-03"]
    disagree = next(r for r in rejections if "03-01-04-01-01-01-01" in r.path)
    assert "says sad" in disagree.detail and "'Happy'" in disagree.detail
    got = {i.local_id: i for i in items}
    assert set(got) == {"ravdess:03-01-05-01-01-01-02", "cremad:1001_DFA_ANG_XX", "savee:DC_d01",
                        "tess:OAF_back_fear", "unknown:mystery_clip", "cremad:1002_TIE_SAD_LO", "tess:YAF_bar_ps",
                        "ravdess:03-01-06-01-01-01-03"}
    assert got["ravdess:03-01-06-01-01-01-03"].label.emotion == "fear"
    assert all(i.corpus == "kaggle" for i in items)
    rav = got["ravdess:03-01-05-01-01-01-02"]
    assert rav.attributes["source_corpus"] == "ravdess" and rav.group == "ravdess:Actor_02"
    assert rav.attributes["gender"] == "female" and rav.flags == ()
    assert got["cremad:1001_DFA_ANG_XX"].group == "cremad:1001"
    assert got["savee:DC_d01"].group == "savee:DC" and got["savee:DC_d01"].label.emotion == "disgust"
    assert got["tess:OAF_back_fear"].attributes["speaker"] == "OAF"
    unknown = got["unknown:mystery_clip"]
    assert unknown.group == "kaggle:unknown:mystery_clip" and unknown.attributes["source_corpus"] is None
    assert unknown.flags == ("unrecognised_name", "unknown_group")
    assert got["tess:YAF_bar_ps"].label.emotion == "surprise" and got["tess:YAF_bar_ps"].flags == ()
    assert got["cremad:1002_TIE_SAD_LO"].original_labels["class_folder"] == "Sad"
    # The same RAVDESS recording is recognisable across the native and the Kaggle tree.
    assert rav.local_id.split(":", 1)[1] == parse_ravdess_name("03-01-05-01-01-01-02")["local_id"]
    # A group pattern gives the unrecognised names their speaker; then nothing is unknown.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownGroupWarning)
        items, _ = split(KaggleAudioEmotionsAdapter(group_pattern=r"(?P<group>mystery)_").scan(root))
    mystery = next(i for i in items if i.local_id == "unknown:mystery_clip")
    assert mystery.group == "kaggle:mystery" and "unknown_group" not in mystery.flags


def test_kaggle_files_ravdess_calm_under_neutral_and_keeps_it_as_calm(tmp_path, sources):
    # The Kaggle mix has no Calm folder; rejecting every calm RAVDESS file as a conflict would lose them.
    root = tmp_path / "audio_emotions"
    build_tree(root, ["Emotions/Neutral/03-01-02-01-01-01-05", "Emotions/Neutral/03-01-01-01-01-01-05",
                      "Emotions/Angry/03-01-05-01-01-01-05", "Emotions/Sad/03-01-04-01-01-01-05",
                      "Emotions/Happy/03-01-03-01-01-01-05"], sources)
    items, rejections = split(KaggleAudioEmotionsAdapter().scan(root))
    assert rejections == []
    calm = next(i for i in items if i.local_id.endswith("03-01-02-01-01-01-05"))
    assert calm.label.emotion == "calm" and "label_from_name" in calm.flags
    assert calm.original_labels["class_folder"] == "Neutral"
    neutral = next(i for i in items if i.local_id.endswith("03-01-01-01-01-01-05"))
    assert neutral.label.emotion == "neutral" and neutral.flags == ()
