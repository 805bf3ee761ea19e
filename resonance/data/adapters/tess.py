"""TESS adapter: the corpus in its upstream layout, labels and speaker facts from the native names.

Naming scheme
-------------
TESS (Dupuis & Pichora-Fuller, 2010, Toronto Emotional Speech Set, doi:10.5683/SP2/E8H2MF)
    ``<SPK>_<emotion>/<SPK>_<word>_<emo>.wav``; speakers OAF (older adult female, 64) and YAF
    (younger adult female, 26); emotions angry, disgust, fear, happy, neutral, pleasant surprise
    (file suffix ``ps``; folders spelled ``pleasant_surprise`` or ``pleasant_surprised``), sad; folder
    case varies between copies (``OAF_Fear``). One upstream file is ``OAF_neutral/OA_bite_neutral``:
    the speaker is taken from the folder and the word from the second ``_`` field.
    ``local_id`` is ``<SPK>_<word>_<emo>`` (``OAF_bite_neutral``). Each file says "Say the word ___".

Rejection reasons: see :mod:`resonance.data.adapters.speech`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resonance.data.adapters._speech_common import (
    NameProblem,
    attempt,
    detect_by_names,
    malformed,
    scan_with,
)
from resonance.data.emotion import canonical_category
from resonance.data.records import Item, Modality, Rejection

TESS_SPEAKERS = {"OAF": {"age": 64, "age_group": "older"}, "YAF": {"age": 26, "age_group": "younger"}}
#: Known speaker-prefix quirks in file names (upstream ``OAF_neutral/OA_bite_neutral.wav``).
TESS_PREFIX_QUIRKS = {"OA": "OAF"}
#: Emotion spellings of TESS folders and file suffixes (lower case).
TESS_EMOTIONS = frozenset({"angry", "disgust", "fear", "happy", "neutral", "sad", "ps",
                           "pleasant_surprise", "pleasant_surprised"})
#: TESS's own short code (``ps`` = pleasant surprise); it is no global synonym.
TESS_CODES = {"ps": "surprise"}
_TESS_FOLDER_RE = re.compile(r"^(OAF|YAF)_(.+)$", re.IGNORECASE)


def _tess_emotion(value: str, where: str) -> str:
    if value.lower() not in TESS_EMOTIONS:
        raise malformed(f"{where}: {value!r} is not a TESS emotion "
                         "(angry, disgust, fear, happy, neutral, ps/pleasant_surprise, sad)")
    return canonical_category(TESS_CODES.get(value.lower(), value))


def _tess(stem: str, folder: str | None = None) -> dict[str, Any]:
    fields = stem.split("_")
    if len(fields) != 3 or not all(fields):
        raise malformed(f"{stem!r} is not TESS <SPK>_<word>_<emotion>")
    prefix, word, suffix = fields
    prefix = prefix.upper()
    speaker = TESS_PREFIX_QUIRKS.get(prefix, prefix)
    if speaker not in TESS_SPEAKERS:
        raise malformed(f"{stem!r}: speaker {fields[0]!r} is not OAF or YAF")
    category = _tess_emotion(suffix, repr(stem))
    folder_emotion = None
    if folder is not None:
        match = _TESS_FOLDER_RE.match(folder)
        if match is None:
            raise malformed(f"folder {folder!r} is not TESS <SPK>_<emotion>")
        folder_speaker, folder_emotion = match.group(1).upper(), match.group(2)
        if _tess_emotion(folder_emotion, f"folder {folder!r}") != category:
            raise NameProblem("inconsistent_name", f"{stem!r} says {suffix!r} but lies in folder {folder!r}")
        if folder_speaker != speaker:
            raise NameProblem("inconsistent_name", f"{stem!r} names speaker {fields[0]!r} but lies in "
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
    return attempt(_tess, stem, folder)


class TessAdapter:
    """Toronto Emotional Speech Set (Dupuis & Pichora-Fuller, 2010): two female speakers."""

    name = "tess"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return detect_by_names(root, lambda p: parse_tess_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        # The folder is authoritative for speaker and emotion when the upstream folder is there;
        # a flat copy (no <SPK>_<emotion> folder) is read from the name alone.
        folder = path.parent.name if _TESS_FOLDER_RE.match(path.parent.name) else None
        return _tess(path.stem, folder)
