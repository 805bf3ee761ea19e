"""The small rating study that tests/test_judge*.py share (built once per session by the ``judge_study``
fixture of tests/conftest.py): the tiny dataset and checkpoint of tests/test_evaluate_protocol.py (16
paintings and 16 sounds in the test split, four emotions), designed with short headphone tones."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_evaluate_protocol import make_dataset, train_checkpoint

#: The study's design: 40 rating, 12 2AFC, 4 catch, 4 repeat and 3 headphone trials (63 per rater).
DESIGN = dict(n_rating=40, n_2afc=12, n_catch=4, n_repeat=4, n_headphone=3, headphone_tone_s=0.2,
              plan_simulations=20, raters=4)


def make_judge_study(root: Path) -> dict[str, Path]:
    import torch

    from resonance.judge.design import DesignConfig, design_study

    torch.set_num_threads(1)
    dataset = make_dataset(root / "dataset", per_category=4)
    checkpoint = train_checkpoint(dataset, root / "run")
    study = root / "study"
    design_study(checkpoint, dataset, study, DesignConfig(**DESIGN), device="cpu", progress=False)
    return {"dataset": dataset, "checkpoint": checkpoint, "study": study, "root": root}


def copy_study(study: Path, target: Path) -> Path:
    """A writable copy of the pristine study (its database included)."""
    shutil.copytree(study, target)
    return target
