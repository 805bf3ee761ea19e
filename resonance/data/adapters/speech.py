"""Adapters for the emotional-speech corpora: RAVDESS, TESS, CREMA-D, SAVEE and the Kaggle mix.

Every adapter reads a corpus in its *upstream* layout, recovers labels and speaker facts from the
native file names, and yields :class:`~resonance.data.records.Item` or
:class:`~resonance.data.records.Rejection` without decoding audio (the prepare step decodes,
hashes and rejects corrupt files). One walker (:func:`iter_corpus_files`) and one parser per
naming scheme (``parse_*_name``) serve all five adapters; the Kaggle adapter reuses the four
native parsers to find out where each of its files came from.

Naming schemes
--------------
RAVDESS (Livingstone & Russo, 2018, PLoS ONE 13(5): e0196391)
    ``Actor_AA/MM-VV-EE-II-SS-RR-AA.wav``. ``MM`` modality (01 audio-video, 02 video-only,
    03 audio-only), ``VV`` vocal channel (01 speech, 02 song), ``EE`` emotion (01 neutral, 02 calm,
    03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), ``II`` intensity (01 normal,
    02 strong; neutral has no strong), ``SS`` statement (01 "Kids are talking by the door",
    02 "Dogs are sitting by the door"), ``RR`` repetition (01, 02), ``AA`` actor 01-24 (odd male,
    even female). Song has no disgust or surprised. Only audio-only (03) files are kept; a name whose
    actor code disagrees with its ``Actor_AA`` folder is rejected (one such stray file exists in a
    widely shared copy). ``local_id`` is the stem.
TESS (Dupuis & Pichora-Fuller, 2010, Toronto Emotional Speech Set, doi:10.5683/SP2/E8H2MF)
    ``<SPK>_<emotion>/<SPK>_<word>_<emo>.wav``; speakers OAF (older adult female, 64) and YAF
    (younger adult female, 26); emotions angry, disgust, fear, happy, neutral, pleasant surprise
    (file suffix ``ps``; folders spelled ``pleasant_surprise`` or ``pleasant_surprised``), sad; folder
    case varies between copies (``OAF_Fear``). One upstream file is ``OAF_neutral/OA_bite_neutral``:
    the speaker is taken from the folder and the word from the second ``_`` field.
    ``local_id`` is ``<SPK>_<word>_<emo>`` (``OAF_bite_neutral``). Each file says "Say the word ___".
CREMA-D (Cao, Cooper, Keutmann, Gur, Nenkova & Verma, 2014, IEEE Trans. Affective Computing 5(4))
    ``AAAA_SSS_EEE_LL.wav``: actor 1001-1091, one of 12 sentence codes, emotion ANG DIS FEA HAP NEU
    SAD, level LO MD HI or XX (unspecified). Actor sex and age are not in the names: they are read from
    upstream's ``VideoDemographics.csv`` when that file is anywhere under the root; otherwise gender
    and age are ``None`` (unknown), never guessed. ``local_id`` is the upper-cased stem.
SAVEE (Haq & Jackson, 2009, Proc. AVSP; Surrey Audio-Visual Expressed Emotion)
    ``AudioData/<SPK>/<e><nn>.wav`` upstream, or flat ``<SPK>_<e><nn>.wav`` as redistributed;
    speakers DC JE JK KL (all male); emotion codes a (anger) d (disgust) f (fear) h (happiness)
    n (neutral, 01-30) sa (sadness) su (surprise), 01-15 each. ``local_id`` is ``<SPK>_<e><nn>``.
Kaggle "Audio Emotions" (a redistribution merging the four corpora above)
    One folder per class: ``Angry Disgusted Fearful Happy Neutral Sad Suprised`` (upstream spelling;
    ``Surprised`` and any case are accepted). The folder gives the label. Each native name is tried
    against the four parsers; when one recognises it, ``attributes['source_corpus']`` and the group
    come from it and ``local_id`` is ``<source_corpus>:<native id>``, so a RAVDESS recording inside a
    Kaggle tree is recognisably that recording. A name the folder contradicts gets the flag
    ``label_disagrees_with_name`` (the folder label is kept). Unrecognised names cannot be grouped
    by speaker: their group is ``kaggle:unknown:<stem>`` (each file its own group). One native id
    under two different class folders is rejected (``conflicting_labels``) in every copy.

Rejection reasons
-----------------
``unsupported_format`` (a file that is neither audio nor obviously documentation),
``malformed_name`` (the name does not parse in the corpus's naming), ``inconsistent_name`` (name and
folder disagree), ``not_audio_only`` (RAVDESS modality 01/02), ``unlabelled`` (Kaggle file outside
any class folder), ``conflicting_labels`` (Kaggle, see above). Hidden files and folders (``.DS_Store``,
AppleDouble ``._x.wav``, ``.git``), ``__MACOSX`` and documentation files (README, LICENSE, ``.txt``,
``.csv``, ``.json``, ``.md``, checksums ...) are skipped silently: they are not data.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.emotion import canonical_category, from_category
from resonance.data.records import Item, Modality, Rejection
from resonance.errors import ParameterError

#: Extensions (lower case) taken as audio; the decoder, not the extension, has the last word.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff"}
)
#: Extensions of files that are documentation or metadata, skipped without a rejection.
DOCUMENT_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".csv", ".tsv", ".json", ".md", ".rst", ".pdf", ".html", ".sha256", ".md5", ".xlsx", ".xls"}
)
#: File names (lower case, without extension) that are documentation whatever their extension.
DOCUMENT_STEMS: frozenset[str] = frozenset({"readme", "license", "licence", "copying", "thumbs", "desktop"})

# ----------------------------------------------------------------------------------------------
# Walking
# ----------------------------------------------------------------------------------------------


def _check_root(root: Path | str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"corpus root {str(root)!r} is not a folder; pass the folder holding the corpus")
    return root


def _skipped(name: str) -> bool:
    """Hidden entries and macOS archive debris are never data."""
    return name.startswith(".") or name == "__MACOSX"


def iter_corpus_files(root: Path | str) -> Iterator[Path]:
    """Every non-hidden file under ``root`` at any depth, in sorted (deterministic) order.

    Folders are visited depth-first with names sorted by code point, so two scans of the same tree
    yield the same sequence on every platform.
    """
    root = _check_root(root)
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d))
        for name in sorted(filenames):
            if not _skipped(name):
                yield Path(folder) / name


def is_audio(path: Path) -> bool:
    """Whether ``path`` has an audio extension (any case)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def _is_document(path: Path) -> bool:
    return path.suffix.lower() in DOCUMENT_EXTENSIONS or path.stem.lower() in DOCUMENT_STEMS


def iter_audio_files(root: Path | str, corpus: str) -> Iterator[Path | Rejection]:
    """Audio files under ``root`` (sorted), and a ``unsupported_format`` rejection for every file that
    is neither audio nor documentation."""
    for path in iter_corpus_files(root):
        if is_audio(path):
            yield path
        elif not _is_document(path):
            yield Rejection(corpus, str(path), "unsupported_format",
                            f"extension {path.suffix or '(none)'!r} is not an audio format")


def _sample_audio(root: Path, *, limit: int = 24, max_dirs: int = 64, max_depth: int = 4) -> list[Path]:
    """Up to ``limit`` audio files near the top of ``root``, breadth-first: cheap layout sniffing."""
    sample: list[Path] = []
    queue: list[tuple[Path, int]] = [(root, 0)]
    listed = 0
    while queue and len(sample) < limit and listed < max_dirs:
        folder, depth = queue.pop(0)
        listed += 1
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if _skipped(entry.name):
                continue
            if entry.is_dir():
                if depth < max_depth:
                    queue.append((Path(entry.path), depth + 1))
            elif is_audio(Path(entry.name)) and len(sample) < limit:
                sample.append(Path(entry.path))
    return sample


def _subfolder_names(root: Path, *, max_depth: int = 2) -> set[str]:
    """Lower-cased names of folders at depth 1..``max_depth`` below ``root``."""
    names: set[str] = set()
    level = [root]
    for _ in range(max_depth):
        following = []
        for folder in level:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir() and not _skipped(entry.name):
                    names.add(entry.name.lower())
                    following.append(Path(entry.path))
        level = following
    return names


def _detect_by_names(root: Path | str, recognise: Callable[[Path], bool]) -> bool:
    """A layout is detected when audio exists and at least half of a small sample parses."""
    root = Path(root)
    if not root.is_dir() or _looks_like_kaggle(root):
        return False
    sample = _sample_audio(root)
    return bool(sample) and 2 * sum(recognise(p) for p in sample) >= len(sample)


class _NameProblem(Exception):
    """Internal: a name that cannot be used, with the rejection reason and detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _malformed(detail: str) -> _NameProblem:
    return _NameProblem("malformed_name", detail)


def _try(parse: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
    """``parse(*args)``, or None where the name cannot be used."""
    try:
        return parse(*args)
    except _NameProblem:
        return None


def _make_item(parsed: Mapping[str, Any], path: Path, *, corpus: str | None = None,
               flags: tuple[str, ...] = ()) -> Item:
    corpus = corpus or parsed["corpus"]
    return Item(
        corpus=corpus,
        local_id=parsed["local_id"],
        modality="audio",
        path=path,
        group=f"{parsed['corpus']}:{parsed['speaker']}",
        label=from_category(parsed["emotion"]),
        original_labels=dict(parsed["original_labels"]),
        source_kind="audio",
        attributes=dict(parsed["attributes"]),
        flags=flags,
    )


def _scan_with(root: Path | str, corpus: str, parse_path: Callable[[Path], dict[str, Any]]
               ) -> Iterator[Item | Rejection]:
    """The shared scan loop: walk, parse each audio file, turn name problems into rejections."""
    for entry in iter_audio_files(root, corpus):
        if isinstance(entry, Rejection):
            yield entry
            continue
        try:
            yield _make_item(parse_path(entry), entry)
        except _NameProblem as problem:
            yield Rejection(corpus, str(entry), problem.reason, problem.detail)


# ----------------------------------------------------------------------------------------------
# RAVDESS
# ----------------------------------------------------------------------------------------------

RAVDESS_MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
RAVDESS_CHANNELS = {"01": "speech", "02": "song"}
RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}
RAVDESS_INTENSITIES = {"01": "normal", "02": "strong"}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
_RAVDESS_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_FOLDER_RE = re.compile(r"^actor_(\d+)$", re.IGNORECASE)


def _code(table: Mapping[str, str], value: str, field: str, stem: str) -> str:
    if value not in table:
        raise _malformed(f"{stem!r}: {field} code {value!r} is not one of {', '.join(table)}")
    return table[value]


def _ravdess(stem: str) -> dict[str, Any]:
    match = _RAVDESS_RE.match(stem)
    if match is None:
        raise _malformed(f"{stem!r} is not RAVDESS MM-VV-EE-II-SS-RR-AA (seven two-digit fields)")
    mod, chan, emo, inten, stmt, rep, actor = match.groups()
    modality = _code(RAVDESS_MODALITIES, mod, "modality", stem)
    channel = _code(RAVDESS_CHANNELS, chan, "vocal channel", stem)
    emotion = _code(RAVDESS_EMOTIONS, emo, "emotion", stem)
    intensity = _code(RAVDESS_INTENSITIES, inten, "intensity", stem)
    _code(RAVDESS_STATEMENTS, stmt, "statement", stem)
    _code({"01": "", "02": ""}, rep, "repetition", stem)
    actor_no = int(actor)
    if not 1 <= actor_no <= 24:
        raise _malformed(f"{stem!r}: actor {actor} is outside 01-24")
    # Constraints of the published design; a name breaking them is not a RAVDESS recording.
    if emotion == "neutral" and intensity == "strong":
        raise _malformed(f"{stem!r}: RAVDESS has no strong-intensity neutral")
    if channel == "song" and emotion in ("disgust", "surprised"):
        raise _malformed(f"{stem!r}: RAVDESS song has no {emotion}")
    speaker = f"Actor_{actor}"
    return {
        "corpus": "ravdess",
        "local_id": stem,
        "speaker": speaker,
        "emotion": emotion,
        "original_labels": {"emotion": emotion, "emotion_code": emo,
                            "intensity": intensity, "intensity_code": inten},
        "attributes": {
            "source_corpus": "ravdess", "speaker": speaker, "actor": actor_no,
            "gender": "male" if actor_no % 2 else "female",
            "modality": modality, "vocal_channel": channel,
            "statement": stmt, "sentence": RAVDESS_STATEMENTS[stmt],
            "intensity": intensity, "repetition": int(rep), "native_name": stem,
        },
    }


def parse_ravdess_name(stem: str) -> dict[str, Any] | None:
    """Parse a RAVDESS stem ``MM-VV-EE-II-SS-RR-AA``.

    Returns
    -------
    dict or None
        ``corpus``, ``local_id`` (the stem), ``speaker`` (``'Actor_AA'``), ``emotion`` (native name,
        e.g. ``'fearful'``), ``original_labels`` and ``attributes`` (actor, gender, modality,
        vocal_channel, statement, sentence, intensity, repetition); None if the stem is not a valid
        RAVDESS name (wrong shape, unknown code, or a combination the corpus does not contain).

    Examples
    --------
    >>> parse_ravdess_name("03-01-05-02-01-01-12")["attributes"]["gender"]
    'female'
    """
    return _try(_ravdess, stem)


class RavdessAdapter:
    """RAVDESS speech and song, audio-only files (Livingstone & Russo, 2018)."""

    name = "ravdess"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return _detect_by_names(root, lambda p: parse_ravdess_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return _scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        parsed = _ravdess(path.stem)
        attrs = parsed["attributes"]
        if attrs["modality"] != "audio-only":
            raise _NameProblem("not_audio_only", f"{path.stem!r} is {attrs['modality']} (modality "
                               f"{path.stem[:2]}); only audio-only (03) recordings are used")
        folder = _RAVDESS_FOLDER_RE.match(path.parent.name)
        if folder and int(folder.group(1)) != attrs["actor"]:
            raise _NameProblem("inconsistent_name", f"{path.stem!r} names actor {attrs['actor']:02d} "
                               f"but lies in folder {path.parent.name!r}")
        return parsed


# ----------------------------------------------------------------------------------------------
# TESS
# ----------------------------------------------------------------------------------------------

TESS_SPEAKERS = {"OAF": {"age": 64, "age_group": "older"}, "YAF": {"age": 26, "age_group": "younger"}}
#: Known speaker-prefix quirks in file names (upstream ``OAF_neutral/OA_bite_neutral.wav``).
TESS_PREFIX_QUIRKS = {"OA": "OAF"}
#: Emotion spellings of TESS folders and file suffixes (lower case).
TESS_EMOTIONS = frozenset({"angry", "disgust", "fear", "happy", "neutral", "sad", "ps",
                           "pleasant_surprise", "pleasant_surprised"})
_TESS_FOLDER_RE = re.compile(r"^(OAF|YAF)_(.+)$", re.IGNORECASE)


def _tess_emotion(value: str, where: str) -> str:
    if value.lower() not in TESS_EMOTIONS:
        raise _malformed(f"{where}: {value!r} is not a TESS emotion "
                         "(angry, disgust, fear, happy, neutral, ps/pleasant_surprise, sad)")
    return canonical_category(value)


def _tess(stem: str, folder: str | None = None) -> dict[str, Any]:
    fields = stem.split("_")
    if len(fields) != 3 or not all(fields):
        raise _malformed(f"{stem!r} is not TESS <SPK>_<word>_<emotion>")
    prefix, word, suffix = fields
    prefix = prefix.upper()
    speaker = TESS_PREFIX_QUIRKS.get(prefix, prefix)
    if speaker not in TESS_SPEAKERS:
        raise _malformed(f"{stem!r}: speaker {fields[0]!r} is not OAF or YAF")
    category = _tess_emotion(suffix, repr(stem))
    folder_emotion = None
    if folder is not None:
        match = _TESS_FOLDER_RE.match(folder)
        if match is None:
            raise _malformed(f"folder {folder!r} is not TESS <SPK>_<emotion>")
        folder_speaker, folder_emotion = match.group(1).upper(), match.group(2)
        if _tess_emotion(folder_emotion, f"folder {folder!r}") != category:
            raise _NameProblem("inconsistent_name", f"{stem!r} says {suffix!r} but lies in folder {folder!r}")
        if folder_speaker != speaker:
            raise _NameProblem("inconsistent_name", f"{stem!r} names speaker {fields[0]!r} but lies in "
                               f"folder {folder!r}")
    word, suffix = word.lower(), suffix.lower()
    return {
        "corpus": "tess",
        "local_id": f"{speaker}_{word}_{suffix}",
        "speaker": speaker,
        "emotion": category,
        "original_labels": {"emotion": folder_emotion or suffix, "emotion_code": suffix},
        "attributes": {
            "source_corpus": "tess", "speaker": speaker, "gender": "female",
            **TESS_SPEAKERS[speaker], "word": word, "sentence": f"Say the word {word}",
            "native_name": stem,
        },
    }


def parse_tess_name(stem: str, folder: str | None = None) -> dict[str, Any] | None:
    """Parse a TESS stem ``<SPK>_<word>_<emo>`` (optionally with its ``<SPK>_<emotion>`` folder).

    The speaker prefix ``OA`` (an upstream typo) is read as OAF. With ``folder`` given, the folder's
    speaker and emotion must agree with the name. ``local_id`` is ``<SPK>_<word>_<emo>`` in
    canonical case, e.g. ``'OAF_bite_neutral'`` for ``'OA_bite_neutral'``. Returns None when the stem
    is not a valid TESS name or disagrees with the folder.
    """
    return _try(_tess, stem, folder)


class TessAdapter:
    """Toronto Emotional Speech Set (Dupuis & Pichora-Fuller, 2010): two female speakers."""

    name = "tess"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return _detect_by_names(root, lambda p: parse_tess_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return _scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        # The folder is authoritative for speaker and emotion when the upstream folder is there;
        # a flat copy (no <SPK>_<emotion> folder) is read from the name alone.
        folder = path.parent.name if _TESS_FOLDER_RE.match(path.parent.name) else None
        return _tess(path.stem, folder)


# ----------------------------------------------------------------------------------------------
# CREMA-D
# ----------------------------------------------------------------------------------------------

CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
CREMAD_DEMOGRAPHICS_FILE = "VideoDemographics.csv"
_CREMAD_RE = re.compile(r"^(\d{4})_([A-Za-z]{3})_([A-Za-z]{3})_([A-Za-z]{2})$")


def read_cremad_demographics(path: Path | str) -> dict[str, dict[str, Any]]:
    """Read upstream ``VideoDemographics.csv`` (``ActorID,Age,Sex,Race,Ethnicity``).

    Returns
    -------
    dict
        Actor id (``'1001'``) to ``{'gender': 'male'|'female'|None, 'age': int|None, 'race': str,
        'ethnicity': str}``.
    """
    table: dict[str, dict[str, Any]] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            actor = (row.get("ActorID") or "").strip()
            if not actor:
                continue
            sex = (row.get("Sex") or "").strip().lower()
            age = (row.get("Age") or "").strip()
            table[actor] = {
                "gender": sex if sex in ("male", "female") else None,
                "age": int(age) if age.isdigit() else None,
                "race": (row.get("Race") or "").strip() or None,
                "ethnicity": (row.get("Ethnicity") or "").strip() or None,
            }
    return table


def find_cremad_demographics(root: Path | str) -> dict[str, dict[str, Any]]:
    """The demographics table from the first ``VideoDemographics.csv`` under ``root`` (sorted walk),
    or an empty dict when there is none."""
    for path in iter_corpus_files(root):
        if path.name.lower() == CREMAD_DEMOGRAPHICS_FILE.lower():
            return read_cremad_demographics(path)
    return {}


def _cremad(stem: str, demographics: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    match = _CREMAD_RE.match(stem)
    if match is None:
        raise _malformed(f"{stem!r} is not CREMA-D AAAA_SSS_EEE_LL")
    actor, sentence, emo, level = (g.upper() for g in match.groups())
    if not 1001 <= int(actor) <= 1091:
        raise _malformed(f"{stem!r}: actor {actor} is outside 1001-1091")
    _code(CREMAD_SENTENCES, sentence, "sentence", stem)
    emotion = _code(CREMAD_EMOTIONS, emo, "emotion", stem)
    intensity = _code(CREMAD_LEVELS, level, "level", stem)
    facts = dict((demographics or {}).get(actor, {}))
    return {
        "corpus": "cremad",
        "local_id": f"{actor}_{sentence}_{emo}_{level}",
        "speaker": actor,
        "emotion": emotion,
        "original_labels": {"emotion": emo, "intensity": level},
        "attributes": {
            "source_corpus": "cremad", "speaker": actor, "actor": int(actor),
            "gender": facts.get("gender"), "age": facts.get("age"),
            "statement": sentence, "sentence": CREMAD_SENTENCES[sentence],
            "intensity": intensity, "native_name": stem,
        },
    }


def parse_cremad_name(stem: str, demographics: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any] | None:
    """Parse a CREMA-D stem ``AAAA_SSS_EEE_LL`` (e.g. ``'1001_DFA_ANG_XX'``).

    ``demographics`` (from :func:`read_cremad_demographics`) supplies gender and age; without it
    both are None. Returns None when the stem is not a valid CREMA-D name.
    """
    return _try(_cremad, stem, demographics)


class CremadAdapter:
    """CREMA-D (Cao et al., 2014): 91 actors, 12 sentences, 6 emotions, 4 levels."""

    name = "cremad"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return _detect_by_names(root, lambda p: parse_cremad_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        demographics = find_cremad_demographics(root)
        return _scan_with(root, self.name, lambda path: _cremad(path.stem, demographics))


# ----------------------------------------------------------------------------------------------
# SAVEE
# ----------------------------------------------------------------------------------------------

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness",
                  "n": "neutral", "sa": "sadness", "su": "surprise"}
#: Utterances per speaker and emotion: 15, and 30 for neutral (Haq & Jackson, 2009).
SAVEE_COUNTS = {code: (30 if code == "n" else 15) for code in SAVEE_EMOTIONS}
_SAVEE_RE = re.compile(r"^(?:([A-Za-z]{2})_)?(sa|su|a|d|f|h|n)(\d{2})$", re.IGNORECASE)


def _savee(stem: str, speaker: str | None = None) -> dict[str, Any]:
    match = _SAVEE_RE.match(stem)
    if match is None:
        raise _malformed(f"{stem!r} is not SAVEE [<SPK>_]<emotion><nn> (emotion a d f h n sa su)")
    prefix, code, number = match.group(1), match.group(2).lower(), int(match.group(3))
    prefix = prefix.upper() if prefix else None
    folder = speaker.upper() if speaker else None
    if prefix is not None and folder is not None and prefix != folder:
        raise _NameProblem("inconsistent_name", f"{stem!r} names speaker {prefix} but lies in folder {speaker!r}")
    spk = prefix or folder
    if spk is None:
        raise _malformed(f"{stem!r} names no SAVEE speaker (neither a <SPK>_ prefix nor a speaker folder)")
    if spk not in SAVEE_SPEAKERS:
        raise _malformed(f"{stem!r}: speaker {spk!r} is not one of {', '.join(SAVEE_SPEAKERS)}")
    if not 1 <= number <= SAVEE_COUNTS[code]:
        raise _malformed(f"{stem!r}: SAVEE has {code}01-{code}{SAVEE_COUNTS[code]:02d} only")
    utterance = f"{code}{number:02d}"
    return {
        "corpus": "savee",
        "local_id": f"{spk}_{utterance}",
        "speaker": spk,
        "emotion": SAVEE_EMOTIONS[code],
        "original_labels": {"emotion": SAVEE_EMOTIONS[code], "emotion_code": code},
        "attributes": {
            "source_corpus": "savee", "speaker": spk, "gender": "male",
            "sentence": utterance, "native_name": stem,
        },
    }


def parse_savee_name(stem: str, speaker: str | None = None) -> dict[str, Any] | None:
    """Parse a SAVEE stem: flat ``'DC_a01'`` or, with ``speaker`` (its folder), ``'a01'``.

    Returns None when the stem is not a valid SAVEE name, names no speaker, or its prefix disagrees
    with ``speaker``. ``attributes['sentence']`` is the utterance code (``'a01'``), which indexes the
    per-emotion TIMIT sentence list of the corpus.
    """
    return _try(_savee, stem, speaker)


class SaveeAdapter:
    """SAVEE (Haq & Jackson, 2009): four male speakers, flat or per-speaker folders."""

    name = "savee"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return _detect_by_names(root, lambda p: _try(self._parse, p) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return _scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        parent = path.parent.name.upper()
        return _savee(path.stem, parent if parent in SAVEE_SPEAKERS else None)


# ----------------------------------------------------------------------------------------------
# Kaggle "Audio Emotions"
# ----------------------------------------------------------------------------------------------

#: Class folders of the Kaggle tree (lower case), with upstream's ``Suprised`` spelling.
KAGGLE_CLASSES = frozenset({"angry", "disgusted", "fearful", "happy", "neutral", "sad", "suprised", "surprised"})
#: How many distinct class folders make a Kaggle layout.
KAGGLE_MIN_CLASSES = 4


def _looks_like_kaggle(root: Path) -> bool:
    return len(_subfolder_names(root) & KAGGLE_CLASSES) >= KAGGLE_MIN_CLASSES


def recognise_native_name(stem: str, demographics: Mapping[str, Mapping[str, Any]] | None = None
                          ) -> dict[str, Any] | None:
    """Try the RAVDESS, CREMA-D, TESS and SAVEE parsers in turn; the first that accepts wins.

    The four schemes cannot match the same stem (different separators and field shapes), so the
    order only matters for speed. Returns the parser's dict or None.
    """
    for parse in (parse_ravdess_name, lambda s: parse_cremad_name(s, demographics),
                  parse_tess_name, parse_savee_name):
        parsed = parse(stem)
        if parsed is not None:
            return parsed
    return None


class KaggleAudioEmotionsAdapter:
    """Kaggle "Audio Emotions": class folders over a mix of RAVDESS, CREMA-D, TESS and SAVEE files."""

    name = "kaggle"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        root = Path(root)
        return root.is_dir() and _looks_like_kaggle(root)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        # Conflicts can only be seen once the whole tree is read, so items are buffered.
        root = _check_root(root)
        demographics = find_cremad_demographics(root)
        items: list[Item] = []
        for entry in iter_audio_files(root, self.name):
            if isinstance(entry, Rejection):
                yield entry
                continue
            item = self._item(entry, root, demographics)
            if isinstance(item, Rejection):
                yield item
            else:
                items.append(item)
        folders: dict[str, set[str]] = {}
        for item in items:
            folders.setdefault(item.local_id, set()).add(item.label.emotion)
        for item in items:
            if len(folders[item.local_id]) > 1:
                yield Rejection(self.name, str(item.path), "conflicting_labels",
                                f"{item.local_id!r} lies in class folders of different emotions "
                                f"({', '.join(sorted(folders[item.local_id]))})")
            else:
                yield item

    def _item(self, path: Path, root: Path, demographics: Mapping[str, Mapping[str, Any]]
              ) -> Item | Rejection:
        class_folder = next((p.name for p in path.relative_to(root).parents
                             if p.name.lower() in KAGGLE_CLASSES), None)
        if class_folder is None:
            return Rejection(self.name, str(path), "unlabelled",
                             f"not inside a class folder ({', '.join(sorted(KAGGLE_CLASSES))})")
        label = canonical_category(class_folder)
        native = recognise_native_name(path.stem, demographics)
        if native is None:
            # Without a recognised name the speaker is unknown: each such file is its own group,
            # so it cannot leak across splits but cannot be grouped with its speaker either.
            native = {
                "corpus": "kaggle:unknown", "local_id": path.stem, "speaker": path.stem,
                "original_labels": {}, "attributes": {"source_corpus": None, "native_name": path.stem},
            }
            local_id = f"unknown:{path.stem}"
            flags: tuple[str, ...] = ("unrecognised_name",)
        else:
            local_id = f"{native['corpus']}:{native['local_id']}"
            agrees = canonical_category(native["emotion"]) == label
            flags = () if agrees else ("label_disagrees_with_name",)
        parsed = {**native, "local_id": local_id, "emotion": label,
                  "original_labels": {"class_folder": class_folder, **native["original_labels"]}}
        return _make_item(parsed, path, corpus=self.name, flags=flags)


#: All speech adapters, Kaggle first: the native detectors decline a Kaggle class-folder tree.
SPEECH_ADAPTERS: tuple[type, ...] = (KaggleAudioEmotionsAdapter, RavdessAdapter, TessAdapter,
                                     CremadAdapter, SaveeAdapter)

__all__ = [
    "AUDIO_EXTENSIONS", "CremadAdapter", "KaggleAudioEmotionsAdapter", "RavdessAdapter", "SaveeAdapter",
    "SPEECH_ADAPTERS", "TessAdapter", "find_cremad_demographics", "is_audio", "iter_audio_files",
    "iter_corpus_files", "parse_cremad_name", "parse_ravdess_name", "parse_savee_name", "parse_tess_name",
    "read_cremad_demographics", "recognise_native_name",
]
