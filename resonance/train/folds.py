"""Cross-validation folds: disjoint by group (actor, speaker, artist, song), deterministic.

A fold names the groups it *tests* and the groups it *validates* on; every other item of a folded
group trains. Items of groups that no fold names (the paintings of a speech-emotion run, a music
corpus with an official split) keep the manifest's split in every fold.

* From a file (``--folds FILE``): a CSV with the columns ``fold`` and ``group``, one row per tested
  group (a ``group`` cell may hold several groups joined by ``;``). Fold k validates on the groups of
  the next fold in the file (k + 1, cyclically), so validation is group-disjoint from both test and
  train; with only two folds that would leave nothing to train on, so a two-fold plan validates on
  nothing but the non-folded groups' manifest ``val`` split.
* Default (:func:`default_folds`): every speech corpus of the dataset (:data:`SPEECH_CORPORA`) gets
  ``n_folds`` actor-disjoint folds of consecutive actors in natural order: RAVDESS's 24 actors give 6
  folds of 4 (Actor_01-04, 05-08, ...), each holding two male (odd) and two female (even) actors;
  validation again takes the next fold's actors, so every training fold has 16 actors. A speech
  corpus with fewer groups than folds (TESS has two speakers) cannot be folded by speaker and keeps
  the manifest's split (:class:`FoldPlan` says so in its notes).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from resonance.errors import DatasetError, ParameterError

#: Corpora whose groups are speakers: folded by actor by default.
SPEECH_CORPORA: frozenset[str] = frozenset({"ravdess", "tess", "cremad", "savee", "emodb", "kaggle"})
DEFAULT_N_FOLDS = 6


@dataclass(frozen=True)
class Fold:
    """One fold: the groups it tests and the (disjoint) groups it validates on."""

    index: int
    test_groups: frozenset[str]
    val_groups: frozenset[str]


@dataclass(frozen=True)
class FoldPlan:
    """Folds plus what they cover (``groups``: every group some fold names) and notes for the user."""

    folds: tuple[Fold, ...]
    groups: frozenset[str]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.folds)


def natural_key(text: str) -> list[object]:
    """Sort key that orders ``Actor_2`` before ``Actor_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(text))]


def _plan(tests: Sequence[frozenset[str]], notes: Iterable[str] = ()) -> FoldPlan:
    n = len(tests)
    folds = tuple(Fold(k, tests[k], tests[(k + 1) % n] if n >= 3 else frozenset()) for k in range(n))
    return FoldPlan(folds, frozenset().union(*tests) if tests else frozenset(), tuple(notes))


def default_folds(frame: pd.DataFrame, n_folds: int = DEFAULT_N_FOLDS) -> FoldPlan:
    """Actor-disjoint folds of the speech corpora of a manifest (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Manifest rows (columns ``corpus``, ``modality``, ``group``).
    n_folds : int
        Folds per speech corpus (>= 2); fold k of every corpus is tested together.

    Returns
    -------
    FoldPlan
        Empty (no folds) when the manifest holds no foldable speech corpus.
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ParameterError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    tests: list[set[str]] = [set() for _ in range(n_folds)]
    notes: list[str] = []
    audio = frame[frame["modality"] == "audio"]
    for corpus in sorted(set(audio["corpus"].astype(str))):
        if corpus.lower() not in SPEECH_CORPORA:
            continue
        groups = sorted(set(audio.loc[audio["corpus"] == corpus, "group"].astype(str)), key=natural_key)
        if len(groups) < n_folds:
            notes.append(f"{corpus} has {len(groups)} speakers, fewer than {n_folds} folds: it keeps the "
                         "manifest's split")
            continue
        size, extra = divmod(len(groups), n_folds)
        start = 0
        for k in range(n_folds):
            stop = start + size + (1 if k < extra else 0)
            tests[k].update(groups[start:stop])
            start = stop
    if not any(tests):
        return FoldPlan((), frozenset(), tuple(notes))
    return _plan([frozenset(t) for t in tests], notes)


def read_folds_file(path: str | os.PathLike[str], known_groups: Iterable[str] | None = None) -> FoldPlan:
    """Folds from a CSV of ``fold,group`` rows (see the module docstring).

    Raises
    ------
    DatasetError
        The file is missing or malformed, names a group twice, names fewer than two folds, or (with
        ``known_groups``) names a group the dataset does not hold.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no folds file at {path}; pass a CSV with the columns fold,group")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            fields = [f.strip().lower() for f in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"folds file {path} is not a readable CSV ({error})") from None
    if "fold" not in fields or "group" not in fields:
        raise DatasetError(f"folds file {path} needs the columns fold and group (one row per tested group), "
                           f"it has {fields or 'no rows'}")
    by_fold: dict[str, set[str]] = {}
    owner: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        fold, cell = row["fold"], row["group"]
        if not fold or not cell:
            raise DatasetError(f"folds file {path} line {line}: empty fold or group")
        for group in (g.strip() for g in cell.split(";") if g.strip()):
            if group in owner and owner[group] != fold:
                raise DatasetError(f"folds file {path}: group {group!r} is tested in folds {owner[group]} and "
                                   f"{fold}; a group may be tested once")
            owner[group] = fold
            by_fold.setdefault(fold, set()).add(group)
    if len(by_fold) < 2:
        raise DatasetError(f"folds file {path} names {len(by_fold)} fold(s); cross-validation needs at least two")
    if known_groups is not None:
        unknown = sorted(set(owner) - set(map(str, known_groups)), key=natural_key)
        if unknown:
            raise DatasetError(f"folds file {path} names groups the dataset does not hold: {unknown[:5]}; use the "
                               "manifest's group names (column group)")
    order = sorted(by_fold, key=natural_key)
    return _plan([frozenset(by_fold[f]) for f in order])


def fold_splits(frame: pd.DataFrame, plan: FoldPlan, fold: Fold) -> pd.Series:
    """The split ("train", "val", "test") of every row in ``fold``: folded groups by the fold, others by
    the manifest's ``split``."""
    group = frame["group"].astype(str)
    split = frame["split"].astype(str).copy()
    folded = group.isin(plan.groups)
    split[folded] = "train"
    split[folded & group.isin(fold.val_groups)] = "val"
    split[folded & group.isin(fold.test_groups)] = "test"
    return split
