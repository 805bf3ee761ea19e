"""Who an item belongs to (its group: speaker, actor, artist), wherever a layout does not say it.

* :func:`recognise_native_name` tries every speech corpus's own naming (RAVDESS, CREMA-D, TESS, SAVEE,
  EMO-DB) on a file stem; each corpus's short emotion codes apply only inside its own parser.
* :func:`compile_group_pattern` / :func:`group_from_pattern`: a user-given regular expression with a
  named group ``group`` (or ``speaker``), searched in the file's path relative to the corpus folder
  (POSIX form, with extension), e.g. ``r"^[^/]+/(?P<group>spk\\d+)_"``.
* :func:`warn_unknown_groups`: items whose group is still unknown are each their own group, so their
  speaker may sit in train, val and test; this says so loudly (an
  :class:`~resonance.data.records.UnknownGroupWarning`), and the datasheet says so too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resonance.data.records import UnknownGroupWarning
from resonance.errors import ParameterError

_GROUP_NAMES = ("group", "speaker")


def compile_group_pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    """``pattern`` compiled and checked: it must have a named group ``group`` or ``speaker``.

    Raises
    ------
    ParameterError
        If the expression does not compile or has neither named group.
    """
    if pattern is None or pattern == "":
        return None
    try:
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as error:
        raise ParameterError(f"group pattern {pattern!r} is not a regular expression: {error}") from None
    if not any(name in compiled.groupindex for name in _GROUP_NAMES):
        raise ParameterError(f"group pattern {compiled.pattern!r} needs a named group, e.g. "
                             r"'(?P<group>spk\d+)'")
    return compiled


def group_from_pattern(pattern: re.Pattern[str] | None, relative: str) -> str | None:
    """The named group of the first match of ``pattern`` in ``relative``, or None."""
    if pattern is None:
        return None
    match = pattern.search(relative)
    if match is None:
        return None
    for name in _GROUP_NAMES:
        if name in pattern.groupindex and match.group(name):
            return match.group(name)
    return None


def recognise_native_name(stem: str, demographics: Mapping[str, Mapping[str, Any]] | None = None
                          ) -> dict[str, Any] | None:
    """Try the RAVDESS, CREMA-D, TESS, SAVEE and EMO-DB parsers in turn; the first that accepts wins.

    The five schemes cannot match the same stem (different separators and field shapes), so the
    order only matters for speed. Returns the parser's dict (``corpus``, ``local_id``, ``speaker``,
    ``emotion``, ``original_labels``, ``attributes``) or None.
    """
    from resonance.data.adapters.cremad import parse_cremad_name
    from resonance.data.adapters.emodb import parse_emodb_name
    from resonance.data.adapters.ravdess import parse_ravdess_name
    from resonance.data.adapters.savee import parse_savee_name
    from resonance.data.adapters.tess import parse_tess_name

    for parse in (parse_ravdess_name, lambda s: parse_cremad_name(s, demographics),
                  parse_tess_name, parse_savee_name, parse_emodb_name):
        parsed = parse(stem)
        if parsed is not None:
            return parsed
    return None


#: Emotion words that name the same label though they differ in form (compared by :func:`same_emotion`).
_SAME_WORD = {"bored": "boredom", "langeweile": "boredom"}


def emotion_key(word: str) -> str:
    """A comparable key of an emotion word: its category where it has one, else the word itself."""
    from resonance.data.emotion import canonical_category

    try:
        return canonical_category(word)
    except KeyError:
        key = word.strip().lower()
        return _SAME_WORD.get(key, key)


def same_emotion(a: str, b: str) -> bool:
    """Whether two emotion words (a class folder and a native name's emotion) agree."""
    return emotion_key(a) == emotion_key(b)


def warn_unknown_groups(corpus: str, root: Path | str, n_unknown: int, n_total: int) -> str | None:
    """Warn (:class:`~resonance.data.records.UnknownGroupWarning`) when items have no known group;
    returns the message (None when there is nothing to say)."""
    if not n_unknown:
        return None
    message = (f"{n_unknown:,} of {n_total:,} {corpus} items under {root} have no known speaker or artist "
               f"(flag unknown_group): each is its own group, so one speaker can sit in train, val and test "
               f"and the splits are not speaker-disjoint for them. Give a group pattern (group_pattern / "
               f"--group-pattern, a regex with a named group 'group') or a 'group' column in a manifest.")
    warnings.warn(message, UnknownGroupWarning, stacklevel=3)
    return message


__all__ = ["compile_group_pattern", "emotion_key", "group_from_pattern", "recognise_native_name",
           "same_emotion", "warn_unknown_groups"]
