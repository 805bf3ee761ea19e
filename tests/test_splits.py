"""Group-disjoint, stratified, deterministic splits."""

import pandas as pd
import pytest

from resonance.data.splits import SplitConfig, assign_splits


def _frame(n_groups, per_group=10, corpus="c", emotions=("anger", "sadness")):
    rows = []
    for g in range(n_groups):
        for i in range(per_group):
            rows.append({"corpus": corpus, "group": f"g{g}", "emotion": emotions[i % len(emotions)],
                         "official_split": None})
    return pd.DataFrame(rows)


def test_groups_never_straddle_splits_and_ratios_are_close():
    frame = _frame(40)
    splits = assign_splits(frame, SplitConfig(seed=3))
    assert (frame.assign(split=splits).groupby("group")["split"].nunique() == 1).all()
    shares = splits.value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.70, abs=0.05)
    assert shares["test"] == pytest.approx(0.15, abs=0.05)


def test_same_seed_same_splits_other_seed_differs():
    frame = _frame(40)
    assert assign_splits(frame, SplitConfig(seed=1)).equals(assign_splits(frame, SplitConfig(seed=1)))
    assert not assign_splits(frame, SplitConfig(seed=1)).equals(assign_splits(frame, SplitConfig(seed=2)))


def test_two_groups_still_get_a_held_out_group():
    splits = assign_splits(_frame(2), SplitConfig())
    assert set(splits) == {"train", "test"}


def test_official_splits_are_honoured_and_holdout_corpus_goes_to_test():
    frame = pd.concat([_frame(10, corpus="a"), _frame(10, corpus="b")], ignore_index=True)
    frame.loc[frame["group"] == "g0", "official_split"] = "val"
    splits = assign_splits(frame, SplitConfig(holdout_corpus="b"))
    assert (splits[frame["corpus"] == "b"] == "test").all()
    assert (splits[(frame["corpus"] == "a") & (frame["group"] == "g0")] == "val").all()


def test_a_group_across_official_splits_is_an_error():
    frame = _frame(3)
    frame.loc[0, "official_split"] = "train"
    frame.loc[1, "official_split"] = "test"
    with pytest.raises(ValueError, match="span several official splits"):
        assign_splits(frame)


def test_bad_fractions_are_rejected():
    with pytest.raises(ValueError, match="fractions"):
        SplitConfig(fractions=(0.5, 0.5, 0.5))


def test_holdout_corpus_matches_case_insensitively_and_unknown_names_fail():
    """Issue 11 item 17: ``TESS`` picks corpus ``tess``; a name matching no corpus is an error listing them."""
    from resonance.errors import ParameterError

    frame = pd.concat([_frame(6, corpus="tess"), _frame(6, corpus="mycorpus")], ignore_index=True)
    splits = assign_splits(frame, SplitConfig(holdout_corpus="TESS"))
    assert (splits[frame["corpus"] == "tess"] == "test").all()
    assert set(splits[frame["corpus"] == "mycorpus"]) == {"train", "val", "test"}
    with pytest.raises(ParameterError, match="matches no corpus.*mycorpus, tess"):
        assign_splits(frame, SplitConfig(holdout_corpus="ravdess"))
