"""RAVDESS adapter: the corpus in its upstream layout, labels and speaker facts from the native names.

Naming scheme
-------------
RAVDESS (Livingstone & Russo, 2018, PLoS ONE 13(5): e0196391)
    ``Actor_AA/MM-VV-EE-II-SS-RR-AA.wav``. ``MM`` modality (01 audio-video, 02 video-only,
    03 audio-only), ``VV`` vocal channel (01 speech, 02 song), ``EE`` emotion (01 neutral, 02 calm,
    03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), ``II`` intensity (01 normal,
    02 strong; neutral has no strong), ``SS`` statement (01 "Kids are talking by the door",
    02 "Dogs are sitting by the door"), ``RR`` repetition (01, 02), ``AA`` actor 01-24 (odd male,
    even female). Song has no disgust or surprised. Only audio-only (03) files are kept; a name whose
    actor code disagrees with its ``Actor_AA`` folder is rejected (one such stray file exists in a
    widely shared copy). ``local_id`` is the stem.

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
    code,
    detect_by_names,
    malformed,
    scan_with,
)
from resonance.data.records import Item, Modality, Rejection

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


def _ravdess(stem: str) -> dict[str, Any]:
    match = _RAVDESS_RE.match(stem)
    if match is None:
        raise malformed(f"{stem!r} is not RAVDESS MM-VV-EE-II-SS-RR-AA (seven two-digit fields)")
    mod, chan, emo, inten, stmt, rep, actor = match.groups()
    modality = code(RAVDESS_MODALITIES, mod, "modality", stem)
    channel = code(RAVDESS_CHANNELS, chan, "vocal channel", stem)
    emotion = code(RAVDESS_EMOTIONS, emo, "emotion", stem)
    intensity = code(RAVDESS_INTENSITIES, inten, "intensity", stem)
    code(RAVDESS_STATEMENTS, stmt, "statement", stem)
    code({"01": "", "02": ""}, rep, "repetition", stem)
    actor_no = int(actor)
    if not 1 <= actor_no <= 24:
        raise malformed(f"{stem!r}: actor {actor} is outside 01-24")
    # Constraints of the published design; a name breaking them is not a RAVDESS recording.
    if emotion == "neutral" and intensity == "strong":
        raise malformed(f"{stem!r}: RAVDESS has no strong-intensity neutral")
    if channel == "song" and emotion in ("disgust", "surprised"):
        raise malformed(f"{stem!r}: RAVDESS song has no {emotion}")
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
    return attempt(_ravdess, stem)


class RavdessAdapter:
    """RAVDESS speech and song, audio-only files (Livingstone & Russo, 2018)."""

    name = "ravdess"
    modality: Modality = "audio"

    def detect(self, root: Path) -> bool:
        return detect_by_names(root, lambda p: parse_ravdess_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return scan_with(root, self.name, self._parse)

    @staticmethod
    def _parse(path: Path) -> dict[str, Any]:
        parsed = _ravdess(path.stem)
        attrs = parsed["attributes"]
        if attrs["modality"] != "audio-only":
            raise NameProblem("not_audio_only", f"{path.stem!r} is {attrs['modality']} (modality "
                               f"{path.stem[:2]}); only audio-only (03) recordings are used")
        folder = _RAVDESS_FOLDER_RE.match(path.parent.name)
        if folder and int(folder.group(1)) != attrs["actor"]:
            raise NameProblem("inconsistent_name", f"{path.stem!r} names actor {attrs['actor']:02d} "
                               f"but lies in folder {path.parent.name!r}")
        return parsed
