"""EMO-DB adapter: the Berlin Database of Emotional Speech in its upstream layout.

Reference
---------
Felix Burkhardt, Astrid Paeschke, Miriam Rolfes, Walter Sendlmeier, Benjamin Weiss. *A Database of German
Emotional Speech.* Interspeech 2005, pp. 1517-1520.

Naming scheme
-------------
``wav/SSTTTEV.wav``, e.g. ``03a01Fa.wav``: ``SS`` speaker (03 08 09 10 11 12 13 14 15 16; 03 10 11 12 15
male, the others female), ``TTT`` text code (a01 a02 a04 a05 a07 b01 b02 b03 b09 b10), ``E`` the emotion
letter of the German word, ``V`` the version (a, b, c ...). ``local_id`` is the stem, the group
``emodb:<SS>``. Any other folder (``lablaut/``, ``silb/`` ...) holds no audio; only audio files are read.

Emotion letters (German initial -> category)
    ``W`` Wut = anger, ``L`` Langeweile = boredom, ``E`` Ekel = disgust, ``A`` Angst = fear,
    ``F`` Freude = happiness, ``T`` Trauer = sadness, ``N`` neutral.
These letters apply here only: in SAVEE ``a`` is anger and ``f`` fear, so no letter is a global synonym.

Boredom is not one of the 12 shared categories (see :mod:`resonance.data.emotion`): a boredom item takes
its valence/arousal/dominance from the affective lexicon in ``$RESONANCE_DATA/lexicons`` (NRC-VAD:
.167/.139/.255), keeps ``boredom`` in ``original_labels`` and is flagged ``label_from_lexicon`` (and
``va_far_from_categories``: its nearest category, sadness, is more than a kernel width away). A user
label map may place it elsewhere. Without a lexicon (and no map) boredom files are rejected
``unknown_label`` with the fix in the detail, never folded into another emotion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._speech_common import (
    NameProblem,
    attempt,
    detect_by_names,
    malformed,
    scan_with,
)
from resonance.data.emotion import LabelResolver
from resonance.data.records import Item, Modality, Rejection

CORPUS = "emodb"
#: Speaker code -> gender (Burkhardt et al. 2005).
EMODB_SPEAKERS: dict[str, str] = {
    "03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
    "12": "male", "13": "female", "14": "female", "15": "male", "16": "female",
}
EMODB_TEXTS: frozenset[str] = frozenset({"a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"})
#: Emotion letter -> (German word, emotion word).
EMODB_EMOTIONS: dict[str, tuple[str, str]] = {
    "W": ("Wut", "anger"), "L": ("Langeweile", "boredom"), "E": ("Ekel", "disgust"), "A": ("Angst", "fear"),
    "F": ("Freude", "happiness"), "T": ("Trauer", "sadness"), "N": ("neutral", "neutral"),
}
_EMODB_RE = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")


def _emodb(stem: str) -> dict[str, Any]:
    match = _EMODB_RE.match(stem)
    if match is None:
        raise malformed(f"{stem!r} is not EMO-DB SSTTTEV (speaker, text, emotion letter, version)")
    speaker, text, letter, version = match.groups()
    if speaker not in EMODB_SPEAKERS:
        raise malformed(f"{stem!r}: speaker {speaker} is not one of {', '.join(EMODB_SPEAKERS)}")
    if text not in EMODB_TEXTS:
        raise malformed(f"{stem!r}: text {text} is not one of {', '.join(sorted(EMODB_TEXTS))}")
    if letter not in EMODB_EMOTIONS:
        raise malformed(f"{stem!r}: emotion letter {letter!r} is not one of {', '.join(EMODB_EMOTIONS)}")
    german, emotion = EMODB_EMOTIONS[letter]
    return {
        "corpus": CORPUS,
        "local_id": stem,
        "speaker": speaker,
        "emotion": emotion,
        "original_labels": {"emotion": emotion, "emotion_code": letter, "emotion_de": german},
        "attributes": {
            "source_corpus": CORPUS, "speaker": speaker, "gender": EMODB_SPEAKERS[speaker],
            "text": text, "version": version, "native_name": stem,
        },
    }


def parse_emodb_name(stem: str) -> dict[str, Any] | None:
    """Parse an EMO-DB stem ``SSTTTEV`` (e.g. ``'03a01Fa'``: speaker 03, text a01, Freude, version a).

    ``emotion`` is the emotion word (``'happiness'``; ``'boredom'`` for ``L``, which is no shared
    category). Returns None when the stem is not a valid EMO-DB name.

    Examples
    --------
    >>> parse_emodb_name("03a01Fa")["emotion"], parse_emodb_name("03a01Fa")["attributes"]["gender"]
    ('happiness', 'male')
    """
    return attempt(_emodb, stem)


class EmodbAdapter:
    """EMO-DB (Burkhardt et al., 2005): ten German actors, seven emotions including boredom.

    Parameters
    ----------
    label_map : path or mapping, optional
        A user label map (see :class:`~resonance.data.emotion.LabelResolver`), e.g. to place boredom.
    lexicon : path, optional
        The ``lexicons/`` folder; default ``$RESONANCE_DATA/lexicons``.
    """

    name = CORPUS
    modality: Modality = "audio"

    def __init__(self, *, label_map: str | Path | Mapping | None = None, lexicon: str | Path | None = None) -> None:
        self._resolver_args = (label_map, lexicon)
        self._resolver: LabelResolver | None = None

    @property
    def resolver(self) -> LabelResolver:
        if self._resolver is None:
            self._resolver = LabelResolver(*self._resolver_args)
        return self._resolver

    def detect(self, root: Path) -> bool:
        return detect_by_names(root, lambda p: parse_emodb_name(p.stem) is not None)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        return scan_with(root, self.name, self._parse)

    def _parse(self, path: Path) -> dict[str, Any]:
        parsed = _emodb(path.stem)
        try:
            resolved = self.resolver.resolve(parsed["emotion"])
        except KeyError as error:
            raise NameProblem("unknown_label", error.args[0]) from None
        return {**parsed, "label": resolved.label, "flags": resolved.flags}


__all__ = ["EMODB_EMOTIONS", "EMODB_SPEAKERS", "EMODB_TEXTS", "EmodbAdapter", "parse_emodb_name"]
