"""CREMA-D adapter: the corpus in its upstream layout, labels and speaker facts from the native names.

Naming scheme
-------------
CREMA-D (Cao, Cooper, Keutmann, Gur, Nenkova & Verma, 2014, IEEE Trans. Affective Computing 5(4))
    ``AAAA_SSS_EEE_LL.wav``: actor 1001-1091, one of 12 sentence codes, emotion ANG DIS FEA HAP NEU
    SAD, level LO MD HI or XX (unspecified). Actor sex and age are not in the names: they are read from
    upstream's ``VideoDemographics.csv`` when that file is anywhere under the root; otherwise gender
    and age are ``None`` (unknown), never guessed. ``local_id`` is the upper-cased stem.

Rejection reasons: see :mod:`resonance.data.adapters.speech`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import read_csv
from resonance.data.adapters._speech_common import (
    attempt,
    code,
    detect_by_names,
    iter_corpus_files,
    malformed,
    scan_with,
)
from resonance.data.records import Item, Modality, Rejection

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
    for row in read_csv(path, ["actorid"], allow_empty=True).rows:
        actor = row.get("actorid", "")
        if not actor:
            continue
        sex = row.get("sex", "").lower()
        age = row.get("age", "")
        table[actor] = {
            "gender": sex if sex in ("male", "female") else None,
            "age": int(age) if age.isdigit() else None,
            "race": row.get("race") or None,
            "ethnicity": row.get("ethnicity") or None,
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
        raise malformed(f"{stem!r} is not CREMA-D AAAA_SSS_EEE_LL")
    actor, sentence, emo, level = (g.upper() for g in match.groups())
    if not 1001 <= int(actor) <= 1091:
        raise malformed(f"{stem!r}: actor {actor} is outside 1001-1091")
    code(CREMAD_SENTENCES, sentence, "sentence", stem)
    emotion = code(CREMAD_EMOTIONS, emo, "emotion", stem)
    intensity = code(CREMAD_LEVELS, level, "level", stem)
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
    return attempt(_cremad, stem, demographics)


class CremadAdapter:
    """CREMA-D (Cao et al., 2014): 91 actors, 12 sentences, 6 emotions, 4 levels."""

    name = "cremad"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return detect_by_names(root, lambda p: parse_cremad_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        demographics = find_cremad_demographics(root)
        return scan_with(root, self.name, lambda path: _cremad(path.stem, demographics))
