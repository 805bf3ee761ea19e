"""Every kind of broken or edge-case input in ``tests/corpus_of_faults`` gets its one expected outcome
from ONE ``prepare`` run: a rejection reason in ``rejected.csv``, or a manifest row with its flags."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from resonance.data.prepare import PrepareConfig, load_manifest, prepare_dataset

#: every generated item is its own group (no speaker in the names): the adapter says so, rightly
pytestmark = pytest.mark.filterwarnings("ignore::resonance.data.records.UnknownGroupWarning")

try:
    from corpus_of_faults import FAULTS, MEDIA_FLAGS, generate, markdown_table
except ImportError:
    from tests.corpus_of_faults import FAULTS, MEDIA_FLAGS, generate, markdown_table


def test_the_corpus_has_at_least_40_kinds_with_unique_names():
    assert len(FAULTS) >= 40
    assert len({f.filename for f in FAULTS}) == len(FAULTS)
    assert {f.modality for f in FAULTS} == {"audio", "image"}
    assert all(set(f.flags) <= MEDIA_FLAGS for f in FAULTS)
    table = markdown_table()
    assert table.count("\n") == len(FAULTS) + 1 and "rejected `truncated`" in table


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    made = generate(root / "in")
    sources = [f"generic={root / 'in' / 'audio'}", f"generic={root / 'in' / 'image'}"]
    prepare_dataset(sources, root / "out", PrepareConfig(workers=1))
    rejected = pd.read_csv(root / "out" / "rejected.csv")
    manifest = load_manifest(root / "out")
    return made, rejected, manifest


def test_every_kind_gets_its_one_expected_outcome(prepared):
    made, rejected, manifest = prepared
    reasons: dict[str, list[str]] = {}
    for path, reason in zip(rejected["path"], rejected["reason"], strict=True):
        reasons.setdefault(Path(str(path)).name, []).append(reason)
    kept = {Path(str(p)).name: str(f) if isinstance(f, str) else "" for p, f in
            zip(manifest["source_path"], manifest["flags"], strict=True)}
    wrong = []
    for path, fault in sorted(made.items(), key=lambda kv: kv[1].name):
        name = path.name
        got_reasons = reasons.get(name, [])
        if fault.outcome == "accepted":
            flags = set(kept.get(name, "").split(";")) & MEDIA_FLAGS
            if name not in kept or got_reasons or flags != set(fault.flags):
                wrong.append(f"{name}: expected accepted {fault.flags}, got rejected {got_reasons} / "
                             f"kept={name in kept} flags={sorted(flags)}")
        elif got_reasons != [fault.outcome] or name in kept:
            wrong.append(f"{name}: expected {fault.outcome}, got {got_reasons or 'accepted'}")
    assert not wrong, "\n".join(wrong)
    # the good files of each class are kept, and nothing else is lost or invented
    goods = {"good_audio.wav", "good_audio.flac", "good_image.png", "good_image.jpg"}
    assert goods <= set(kept)
    expected_kept = goods | {p.name for p, f in made.items() if f.outcome == "accepted"}
    assert set(kept) == expected_kept


def test_kept_items_are_within_the_limits(prepared):
    _, _, manifest = prepared
    audio = manifest[manifest["modality"] == "audio"]
    images = manifest[manifest["modality"] == "image"]
    assert (audio["duration_s"] >= 0.5).all() and audio["sample_rate"].between(8000, 384_000).all()
    assert (images[["width", "height"]].min(axis=1) >= 32).all()
