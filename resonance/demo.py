"""The main job on the embedded probe stimuli: generate them, prepare them as a dataset, describe them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoConfig:
    """Where the demo writes, its seed (>= 0) and its worker processes (>= 1); checked on construction."""

    out: Path = Path("outputs/demo")
    seed: int = 0
    workers: int = 2
    model: bool = True  # also train, evaluate, map and query a small dual encoder

    def __post_init__(self) -> None:
        from resonance.errors import ParameterError

        object.__setattr__(self, "out", Path(self.out))
        for name, low in (("seed", 0), ("workers", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")


#: The demo's encoder: the project's default towers (``resonance.models.DEFAULT_MODEL``, the descriptor
#: MLPs, which measured best on real validation data: docs/encoder_results.md), 10 epochs on the probes'
#: manifest split, as the real-data configs; seconds on 2 CPU cores. ``configs/probes_small.toml`` trains
#: the deep ``tiny`` preset on the same probes (64-px images, 32-band log-mels) instead.
DEMO_TRAIN = {
    "epochs": 10, "batch_size": 32, "lr": 2e-3, "checkpoint_every": 50, "log_every": 5, "patience": 0,
    "early_stopping_metric": "val_loss", "model": {"name": "descriptor"},
    "data": {"kind": "manifest", "image_size": 64, "n_mels": 32, "window_s": 2.5, "window_hop_s": 1.25,
             "folds": "split"},
}


def run_demo(config: DemoConfig = DemoConfig(), log: Callable[[str], None] = print) -> dict[str, Path]:
    """Run every stage on the probe stimuli and return the artefacts' paths.

    Stages: generate the probes, prepare them as a dataset, extract the handcrafted descriptors; then
    (``config.model``) train a small dual encoder, evaluate it on the test split beside its baselines,
    map the test embeddings, build a gallery index and answer one sound-to-painting query.
    """
    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.data.prepare import PrepareConfig, prepare_dataset
    from resonance.data.probes import ProbeConfig, generate_probes
    from studies import run_and_report

    probes_dir = config.out / "probes"
    dataset_dir = config.out / "dataset"
    features_file = config.out / "features.parquet"

    n = 7 if config.model else 3
    log(f"1/{n} generating probe stimuli")
    probes = generate_probes(probes_dir, ProbeConfig(seed=config.seed))
    log(f"    {probes.summary()}")
    log(f"2/{n} preparing the probe dataset")
    prepared = prepare_dataset([f"probes={probes_dir}"], dataset_dir,
                               PrepareConfig(seed=config.seed, workers=config.workers))
    log(f"    {prepared.summary()}")
    log(f"3/{n} extracting handcrafted descriptors")
    extracted = extract_features(dataset_dir, features_file, ExtractConfig(workers=config.workers))
    log(f"    {extracted.summary()}")
    study = run_and_report("probe_cues", dataset_dir, features_file, config.out / "study")  # issue 15
    log(f"    {study.summary()} (the probes' label rules measured back; labels only) -> {config.out / 'study'}")
    paths = {"probes": probes_dir, "dataset": dataset_dir, "features": features_file, "study": config.out / "study"}
    if config.model:
        paths.update(_model_stages(config, dataset_dir, features_file, log))
    return paths


def _model_stages(config: DemoConfig, dataset_dir: Path, features_file: Path,
                  log: Callable[[str], None]) -> dict[str, Path]:
    """Train, evaluate, map, index and match (stages 4-7 of the demo)."""
    import copy

    from resonance.data.manifest import read_manifest
    from resonance.evaluate.gallery import build_index, match
    from resonance.evaluate.maps import run_map
    from resonance.evaluate.protocol import evaluate
    from resonance.train.config import config_from_dict
    from resonance.train.manifest_data import run_manifest

    run_dir = config.out / "run"
    raw = copy.deepcopy(DEMO_TRAIN)
    raw.update(seed=config.seed, run_dir=str(run_dir))
    raw["data"].update(dataset=str(dataset_dir), features=str(features_file))
    train_config = config_from_dict(raw)
    log("4/7 training a small dual encoder on the probes")
    results, _ = run_manifest(train_config, log=lambda line: log(f"    {line}"))
    checkpoint = run_dir / "checkpoints" / "best.pt"
    if not checkpoint.is_file():
        checkpoint = run_dir / "checkpoints" / "latest.pt"
    log(f"    {results[0].steps} steps -> {checkpoint}")
    log("5/7 evaluating on the test split beside chance, the untrained model and the descriptors")
    report_dir = config.out / "evaluation"
    result = evaluate(checkpoint, dataset_dir, "test", out=report_dir, features=features_file)
    summary = result["summary"]
    shown = [r for r in summary.index if r.endswith((" P@1", " MRR")) or r.startswith("pairwise")]
    log("\n    " + summary.loc[shown or list(summary.index[:6])].to_string(
        float_format=lambda v: f"{v:.3f}", na_rep="n/a").replace("\n", "\n    "))
    log(f"    -> {report_dir / 'evaluation.md'}")
    log("6/7 mapping the test embeddings")
    map_dir = config.out / "map"
    written = run_map(checkpoint, dataset_dir, map_dir, seed=config.seed, progress=False)
    log(f"    -> {', '.join(str(p) for p in written)}")
    log("7/7 building a gallery index and asking one sound for its closest paintings")
    index_dir = config.out / "index"
    build_index(checkpoint, dataset_dir, index_dir, features=features_file, progress=False)
    frame = read_manifest(dataset_dir)
    sound = frame[(frame["modality"] == "audio") & (frame["split"] == "test")].iloc[0]
    sheet = config.out / "match.png"
    found = match(sound["path"], index_dir, k=5, sheet=sheet)
    log(f"    query {sound['id']} ({sound['emotion']}): the {len(found.hits)} closest {found.target_modality} items")
    for row in found.hits.itertuples(index=False):
        log(f"      {row.rank:2d}  {row.score:+.3f}  {row.id}  {row.label}")
    log(f"    -> {sheet}")
    from attribution import demo_report  # issue 14: what carries the probe model's alignment, per emotion

    attribution_dir = demo_report(checkpoint, dataset_dir, config.out / "attribution", features=features_file, log=log)
    return {"run": run_dir, "checkpoint": checkpoint, "evaluation": report_dir, "map": map_dir,
            "index": index_dir, "match": sheet, "attribution": attribution_dir}
