"""Deterministic, group-disjoint train/val/test splits, stratified by emotion as far as groups allow.

Why not ``sklearn.model_selection.StratifiedGroupKFold``: it makes k equal folds, while a dataset needs
ratio splits (70/15/15), must honour official splits where a corpus has one, and must cope with
corpora of two groups (TESS has two speakers), where k folds are impossible. The greedy rule below is
the usual one for stratified group splitting: groups, largest first (ties in a seeded order), each go
to the split whose per-emotion counts move closest to their targets.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resonance.errors import ParameterError

SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class SplitConfig:
    """``fractions`` of train/val/test; ``holdout_corpus`` sends one whole corpus to test (its name is
    matched case-insensitively)."""

    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    seed: int = 0
    holdout_corpus: str | None = None

    def __post_init__(self) -> None:
        if len(self.fractions) != 3 or min(self.fractions) < 0 or not np.isclose(sum(self.fractions), 1.0):
            raise ParameterError(f"fractions must be three non-negative numbers summing to 1, got {self.fractions}")


def assign_splits(items: pd.DataFrame, config: SplitConfig = SplitConfig()) -> pd.Series:
    """A split for every row of ``items`` (columns ``corpus``, ``group``, ``emotion``, ``official_split``).

    Rules, per corpus: the hold-out corpus goes wholly to ``test``; a group with an official split
    keeps it; the remaining groups are assigned greedily (see the module docstring). No group is ever
    in two splits. The result is a function of the rows and the seed only.

    Raises
    ------
    ParameterError
        If ``holdout_corpus`` names no corpus of ``items`` (the message lists them).
    """
    result = pd.Series(index=items.index, dtype=object)
    holdout = config.holdout_corpus.strip().lower() if config.holdout_corpus else None
    corpora = sorted({str(c) for c in items["corpus"]})
    if holdout is not None and holdout not in {c.lower() for c in corpora}:
        raise ParameterError(f"hold-out corpus {config.holdout_corpus!r} matches no corpus; the items hold "
                             f"{', '.join(corpora)}")
    for corpus, corpus_rows in items.groupby("corpus", sort=True):
        if str(corpus).lower() == holdout:
            result.loc[corpus_rows.index] = "test"
            continue
        for key, rows in _split_units(str(corpus), corpus_rows):
            official = _official_group_splits(rows)
            fixed = rows["group"].map(official)
            result.loc[fixed.dropna().index] = fixed.dropna()
            free = rows[fixed.isna()]
            if len(free):
                rng = np.random.default_rng([config.seed, zlib.crc32(key.encode())])
                result.loc[free.index] = _greedy_groups(free, config.fractions, rng, already=rows[fixed.notna()])
    return result


def _split_units(corpus: str, rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The parts of one corpus that are split on their own, each with the key that seeds its split.

    A corpus of one modality is one unit (keyed by its name). A corpus holding both modalities (the
    probes, a user's mixed folder) is split per modality, so that every split holds paintings *and*
    sounds -- unless a group spans both modalities, in which case the corpus stays one unit, because no
    group may sit in two splits.
    """
    if "modality" not in rows or rows["modality"].nunique() < 2:
        return [(corpus, rows)]
    modalities_per_group = rows.groupby("group")["modality"].nunique()
    if (modalities_per_group > 1).any():
        return [(corpus, rows)]
    return [(f"{corpus}/{modality}", part) for modality, part in rows.groupby("modality", sort=True)]


def _official_group_splits(rows: pd.DataFrame) -> dict[str, str]:
    """Official split per group; a group whose items disagree cannot be honoured whole."""
    official = rows.dropna(subset=["official_split"])
    per_group = official.groupby("group")["official_split"].unique()
    conflicts = [g for g, splits in per_group.items() if len(splits) > 1]
    if conflicts:
        raise ParameterError(f"groups {conflicts[:5]} span several official splits; use a finer group")
    return {g: splits[0] for g, splits in per_group.items()}


def _greedy_groups(rows: pd.DataFrame, fractions: tuple[float, float, float], rng: np.random.Generator,
                   already: pd.DataFrame) -> pd.Series:
    emotions = sorted(set(rows["emotion"]) | set(already["emotion"]))
    counts = pd.crosstab(rows["group"], rows["emotion"]).reindex(columns=emotions, fill_value=0)
    totals = counts.sum(axis=1)
    order = list(counts.index)
    rng.shuffle(order)  # seeded tie-break, then a stable sort puts the largest groups first
    order = sorted(order, key=lambda g: -totals[g])

    grand = counts.sum(axis=0).to_numpy(float) + _split_counts(already, emotions).sum(axis=0)
    targets = np.outer(fractions, grand)  # (3 splits, n emotions)
    current = _split_counts(already, emotions)
    chosen: dict[str, int] = {}
    for group in order:
        vector = counts.loc[group].to_numpy(float)
        costs = []
        for s in range(3):
            trial = current.copy()
            trial[s] += vector
            costs.append(((trial - targets) ** 2).sum())
        best = int(np.argmin(costs))
        chosen[group] = best
        current[best] += vector
    _ensure_evaluation_splits(chosen, order, fractions)
    return rows["group"].map(lambda g: SPLITS[chosen[g]])


def _split_counts(rows: pd.DataFrame, emotions: list[str]) -> np.ndarray:
    table = np.zeros((3, len(emotions)))
    if len(rows):
        crosstab = pd.crosstab(rows["official_split"], rows["emotion"]).reindex(
            index=list(SPLITS), columns=emotions, fill_value=0)
        table += crosstab.to_numpy(float)
    return table


def _ensure_evaluation_splits(chosen: dict[str, int], order: list[str], fractions) -> None:
    """With few groups the greedy rule may leave test (or val) empty: move the smallest train
    groups there, test first, so that a corpus of two speakers still has a held-out speaker."""
    for split in (2, 1):
        if fractions[split] == 0 or split in chosen.values():
            continue
        train_groups = [g for g in reversed(order) if chosen[g] == 0]
        if len(train_groups) > 1:
            chosen[train_groups[0]] = split
