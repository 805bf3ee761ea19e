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

    def __post_init__(self) -> None:
        from resonance.errors import ParameterError

        object.__setattr__(self, "out", Path(self.out))
        for name, low in (("seed", 0), ("workers", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")


def run_demo(config: DemoConfig = DemoConfig(), log: Callable[[str], None] = print) -> dict[str, Path]:
    """Run every stage on the probe stimuli and return the artefacts' paths."""
    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.data.prepare import PrepareConfig, prepare_dataset
    from resonance.data.probes import ProbeConfig, generate_probes

    probes_dir = config.out / "probes"
    dataset_dir = config.out / "dataset"
    features_file = config.out / "features.parquet"

    log("1/3 generating probe stimuli")
    probes = generate_probes(probes_dir, ProbeConfig(seed=config.seed))
    log(f"    {probes.summary()}")
    log("2/3 preparing the probe dataset")
    prepared = prepare_dataset([f"probes={probes_dir}"], dataset_dir,
                               PrepareConfig(seed=config.seed, workers=config.workers))
    log(f"    {prepared.summary()}")
    log("3/3 extracting handcrafted descriptors")
    extracted = extract_features(dataset_dir, features_file, ExtractConfig(workers=config.workers))
    log(f"    {extracted.summary()}")
    return {"probes": probes_dir, "dataset": dataset_dir, "features": features_file}
