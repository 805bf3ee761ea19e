"""SAVEE adapter: the corpus in its upstream layout, labels and speaker facts from the native names.

Naming scheme
-------------
SAVEE (Haq & Jackson, 2009, Proc. AVSP; Surrey Audio-Visual Expressed Emotion)
    ``AudioData/<SPK>/<e><nn>.wav`` upstream, or flat ``<SPK>_<e><nn>.wav`` as redistributed;
    speakers DC JE JK KL (all male); emotion codes a (anger) d (disgust) f (fear) h (happiness)
    n (neutral, 01-30) sa (sadness) su (surprise), 01-15 each. ``local_id`` is ``<SPK>_<e><nn>``.

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
from resonance.data.records import Item, Modality, Rejection

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness",
                  "n": "neutral", "sa": "sadness", "su": "surprise"}
#: Utterances per speaker and emotion: 15, and 30 for neutral (Haq & Jackson, 2009).
SAVEE_COUNTS = {code: (30 if code == "n" else 15) for code in SAVEE_EMOTIONS}
_SAVEE_RE = re.compile(r"^(?:([A-Za-z]{2})_)?(sa|su|a|d|f|h|n)(\d{2})$", re.IGNORECASE)


def _savee(stem: str, speaker: str | None = None) -> dict[str, Any]:
    match = _SAVEE_RE.match(stem)
    if match is None:
        raise malformed(f"{stem!r} is not SAVEE [<SPK>_]<emotion><nn> (emotion a d f h n sa su)")
    prefix, code, number = match.group(1), match.group(2).lower(), int(match.group(3))
    prefix = prefix.upper() if prefix else None
    folder = speaker.upper() if speaker else None
    if prefix is not None and folder is not None and prefix != folder:
        raise NameProblem("inconsistent_name", f"{stem!r} names speaker {prefix} but lies in folder {speaker!r}")
    spk = prefix or folder
    if spk is None:
        raise malformed(f"{stem!r} names no SAVEE speaker (neither a <SPK>_ prefix nor a speaker folder)")
    if spk not in SAVEE_SPEAKERS:
        raise malformed(f"{stem!r}: speaker {spk!r} is not one of {', '.join(SAVEE_SPEAKERS)}")
    if not 1 <= number <= SAVEE_COUNTS[code]:
        raise malformed(f"{stem!r}: SAVEE has {code}01-{code}{SAVEE_COUNTS[code]:02d} only")
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
    return attempt(_savee, stem, speaker)


class SaveeAdapter:
    """SAVEE (Haq & Jackson, 2009): four male speakers, flat or per-speaker folders."""

    name = "savee"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return detect_by_names(root, lambda p: attempt(self._parse, p) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        parent = path.parent.name.upper()
        return _savee(path.stem, parent if parent in SAVEE_SPEAKERS else None)
