"""The training loop: config validation, the balanced sampler, checkpoints, exact resumption after
kill -9, and the DDP path with two CPU processes (gloo)."""

from __future__ import annotations

import os
import signal
import socket
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from resonance.errors import ParameterError
from resonance.models import create_model
from resonance.train import (
    BalancedBatchSampler,
    SyntheticEmotionDataset,
    config_from_dict,
    load_checkpoint,
    load_config,
    load_model,
    save_checkpoint,
    train,
)
from resonance.train.logging import read_metrics
from resonance.train.loop import seed_everything

torch.set_num_threads(1)


def _tiny(tmp_path: Path, name: str = "run", **extra) -> dict:
    cfg = {"model": {"name": "tiny", "image": {"width": 4}, "audio": {"width": 4}}, "epochs": 3, "batch_size": 16,
           "lr": 3e-3, "run_dir": str(tmp_path / name), "progress": False, "tensorboard": False,
           "checkpoint_every": 3, "log_every": 2, "patience": 0, "data": {"n_train": 32, "n_val": 16}}
    for key, value in extra.items():
        cfg[key] = value
    return cfg


# ---------------------------------------------------------------------------------------------- config


def test_unknown_config_key_names_the_key_and_the_known_ones(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('epochs = 2\nlearning_rate = 0.1\n')
    with pytest.raises(ParameterError, match=r"unknown config key 'learning_rate'; known keys: seed, epochs.*\blr\b"):
        load_config(path)
    path.write_text('[model]\nname = "tiny"\n[model.image]\nkind = "small_cnn"\nwidht = 3\n')
    with pytest.raises(ParameterError, match=r"unknown config key 'model.image.widht'.*width"):
        load_config(path)
    with pytest.raises(ParameterError, match=r"unknown config key 'loss.temperature'"):
        load_config(None, ["loss.temperature=0.1"])
    with pytest.raises(ParameterError, match=r"'epochs' must be an integer"):
        load_config(None, ["epochs=2.5"])
    with pytest.raises(ParameterError, match="key=value"):
        load_config(None, ["epochs"])
    with pytest.raises(ParameterError, match="unknown model 'huge'"):
        load_config(None, ["model.name=huge"])


def test_config_from_toml_yaml_and_overrides(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('epochs = 4\n[model]\nname = "tiny"\nembed_dim = 16\n[model.audio]\nwidth = 6\n'
                    '[loss]\ntargets = "hard"\n')
    cfg = load_config(toml, ["lr=3e-4", "model.image.kind=descriptor", 'data.categories=["fear", "calm"]',
                             "tensorboard=false"])
    assert (cfg.epochs, cfg.lr, cfg.model.embed_dim, cfg.model.audio.width) == (4, 3e-4, 16, 6)
    assert cfg.model.audio.kind == "audio_cnn"  # the rest of the tiny preset is kept
    assert cfg.model.image.kind == "descriptor" and cfg.loss.targets == "hard" and cfg.tensorboard is False
    assert cfg.data.categories == ("fear", "calm")
    yaml = tmp_path / "c.yaml"
    yaml.write_text("epochs: 4\nmodel:\n  name: tiny\n  embed_dim: 16\n  audio:\n    width: 6\n"
                    "loss:\n  targets: hard\n")
    from_yaml = load_config(yaml, ["lr=3e-4", "model.image.kind=descriptor", 'data.categories=["fear", "calm"]',
                                   "tensorboard=false"])
    assert from_yaml == cfg
    with pytest.raises(ParameterError, match="batch_size must be >= 4"):
        load_config(None, ["batch_size=2"])
    with pytest.raises(ParameterError, match="loss.va_loss"):
        load_config(None, ["loss.va_loss=l1"])


# --------------------------------------------------------------------------------------------- sampler


def test_sampler_balances_modalities_and_emotions_deterministically():
    rng = np.random.default_rng(0)
    modalities = ["image"] * 60 + ["audio"] * 30
    categories = list(rng.choice([0, 1, 2], 60, p=[0.7, 0.2, 0.1])) + list(rng.integers(0, 3, 30))
    sampler = BalancedBatchSampler(modalities, categories, batch_size=12, seed=5)
    sampler.set_epoch(0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 10  # 60 images / 6 per batch
    for batch in batches:
        assert Counter(modalities[i] for i in batch) == {"image": 6, "audio": 6}
        for m in ("image", "audio"):
            counts = Counter(categories[i] for i in batch if modalities[i] == m)
            assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 3  # every emotion, evenly
    again = BalancedBatchSampler(modalities, categories, batch_size=12, seed=5)
    assert list(again) == batches
    sampler.set_epoch(1)
    assert list(sampler) != batches
    sampler.set_epoch(0, start=4)
    assert list(sampler) == batches[4:] and len(sampler) == 6  # resumption skips consumed batches


def test_sampler_replicas_split_the_same_sequence():
    modalities = ["image"] * 40 + ["audio"] * 40
    categories = [i % 4 for i in range(80)]
    whole = list(BalancedBatchSampler(modalities, categories, 8, seed=1))
    parts = [list(BalancedBatchSampler(modalities, categories, 8, seed=1, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == len(whole) // 2
    assert parts[0] == whole[0::2] and parts[1] == whole[1::2]
    with pytest.raises(ParameterError):
        BalancedBatchSampler(modalities, categories, 8, num_replicas=2, rank=2)


# ------------------------------------------------------------------------------------ loop, checkpoints


def test_training_writes_metrics_checkpoints_and_stops_early(tmp_path):
    cfg = config_from_dict(_tiny(tmp_path, epochs=6, patience=1, early_stopping_mode="max", tensorboard=True))
    result = train(cfg)
    # val_loss falls, so in "max" mode it never improves after epoch 0: stop after epoch 1
    assert result.stopped_early and result.epochs_run == 2 and result.best_epoch == 0
    ckpt = load_checkpoint(Path(cfg.run_dir) / "checkpoints" / "latest.pt")
    for key in ("model", "optimizer", "scheduler", "scaler", "rng", "epoch", "step", "config", "taxonomy",
                "data_version", "package_versions", "early_stopping"):
        assert key in ckpt, key
    assert set(ckpt["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    assert ckpt["package_versions"]["torch"] == torch.__version__ and ckpt["config"]["epochs"] == 6
    assert (Path(cfg.run_dir) / "checkpoints" / "best.pt").is_file()
    rows = read_metrics(cfg.run_dir)
    assert {r["split"] for r in rows} == {"train", "val"} and any(r["name"] == "val_gap" for r in rows)
    assert any((Path(cfg.run_dir) / "tensorboard").iterdir())
    assert not list(Path(cfg.run_dir).rglob("*.tmp"))  # nothing half-written
    model, _ = load_model(Path(cfg.run_dir) / "checkpoints" / "latest.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), result.model.state_dict().values()))


def test_checkpoint_from_another_taxonomy_or_version_is_refused_with_the_fix(tmp_path):
    good = {"model": {}, "config": {}, "data_version": "v1"}
    path = save_checkpoint(tmp_path / "a.pt", good)
    assert load_checkpoint(path, data_version="v1")["data_version"] == "v1"
    with pytest.raises(ParameterError, match="data version 'v1'.*resume only on the same data"):
        load_checkpoint(path, data_version="v2")
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "taxonomy": ["happy", "sad"]}, tmp_path / "b.pt")
    with pytest.raises(ParameterError, match=r"taxonomy \['happy', 'sad'\].*retrain on the current taxonomy"):
        load_checkpoint(tmp_path / "b.pt")
    torch.save({**payload, "format": 99, "resonance_version": "9.0"}, tmp_path / "c.pt")
    with pytest.raises(ParameterError, match="format 99.*retrain with this version, or install resonance 9.0"):
        load_checkpoint(tmp_path / "c.pt")
    (tmp_path / "d.pt").write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(ParameterError, match="not a readable resonance checkpoint"):
        load_checkpoint(tmp_path / "d.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "e.pt")
    with pytest.raises(ParameterError, match="not a resonance checkpoint"):
        load_checkpoint(tmp_path / "e.pt")
    with pytest.raises(ParameterError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def test_dataset_lacking_a_modality_is_refused_before_any_work(tmp_path):
    cfg = config_from_dict(_tiny(tmp_path))
    data = SyntheticEmotionDataset(16)
    data.items = [it for it in data.items if it["modality"] == "image"]
    with pytest.raises(ParameterError, match="lacks the audio modality"):
        train(cfg, data)
    assert not (Path(cfg.run_dir) / "checkpoints").exists()


def _killed_worker(cfg: dict, kill_at: int) -> None:
    """A training process that kills itself with SIGKILL (kill -9) right after step ``kill_at``."""
    torch.set_num_threads(1)

    def hook(event):
        if event["step"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    train(config_from_dict(cfg), hooks=[hook])


@pytest.fixture()
def one_thread():
    # A forked child computes on one intra-op thread once the parent has used torch's thread pool (as
    # earlier tests in a session do), and float sums in another order differ in the last bit: the
    # killed child, the resumed run and the reference all compute on one thread.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_kill_9_then_resume_latest_reproduces_the_uninterrupted_weights(tmp_path, one_thread):
    # 32 items per modality, 8 per modality per batch: 4 steps per epoch, 12 in all; checkpoints every
    # 3 steps (3, 6, 9) and at epoch ends. Killed at step 7: the last checkpoint is step 6, mid-epoch 1.
    killed = _tiny(tmp_path, "killed", log_every=4)  # step 6's checkpoint holds a half-full loss window
    import multiprocessing

    torch.optim.SGD([torch.zeros(1, requires_grad=True)])  # import the optimiser machinery before forking
    # a forked child inherits the imports (a fresh interpreter would spend most of the test importing torch)
    proc = multiprocessing.get_context("fork").Process(target=_killed_worker, args=(killed, 7))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL
    latest = load_checkpoint(tmp_path / "killed" / "checkpoints" / "latest.pt")
    assert (latest["step"], latest["epoch"], latest["batch_in_epoch"]) == (6, 1, 2)

    resumed = train(config_from_dict({**killed, "resume": "latest"}))
    reference = train(config_from_dict(_tiny(tmp_path, "reference", log_every=4)))
    assert resumed.steps == reference.steps == 12
    ref_state, res_state = reference.model.state_dict(), resumed.model.state_dict()
    assert ref_state.keys() == res_state.keys()
    unequal = [k for k in ref_state if not torch.equal(ref_state[k], res_state[k])]
    assert not unequal, unequal[:5]
    # the metrics of the resumed run are those of an uninterrupted one: no step logged twice
    rows = [tuple(r.values()) for r in read_metrics(tmp_path / "killed")]
    assert len({r[:4] for r in rows}) == len(rows)
    assert rows == [tuple(r.values()) for r in read_metrics(tmp_path / "reference")]  # values too
    # a mismatching data version is refused on resume, with the fix
    with pytest.raises(ParameterError, match="resume only on the same data"):
        train(config_from_dict({**killed, "resume": "latest", "data_version": "other"}))


def _ddp_worker(rank: int, port: int, cfg: dict, out: str) -> None:
    """One rank, as torchrun would start it (the environment variables are torchrun's)."""
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    result = train(config_from_dict(cfg))
    torch.save(result.model.state_dict(), Path(out) / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_with_two_cpu_processes_keeps_ranks_in_sync(tmp_path):
    import torch.multiprocessing as mp

    cfg = _tiny(tmp_path, "ddp", epochs=2)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)])  # import the optimiser machinery once, before forking
    # fork: the two ranks inherit the imported modules (spawn would re-import torch twice: ~10 s on 2 cores)
    mp.start_processes(_ddp_worker, args=(_free_port(), cfg, str(tmp_path)), nprocs=2, start_method="fork")
    states = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])  # identical after training
    seed_everything(0)
    initial = create_model(config_from_dict(cfg).model).state_dict()
    assert not all(torch.equal(states[0][k], initial[k]) for k in states[0])  # it trained
    ckpt = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "latest.pt")
    assert len(ckpt["rng"]) == 2 and ckpt["step"] == 4  # 2 epochs x (4 global batches / 2 ranks)
    assert not torch.equal(ckpt["rng"][0]["torch"], ckpt["rng"][1]["torch"])  # seed + rank
    assert len(list((tmp_path / "ddp").glob("metrics.csv"))) == 1  # rank 0 alone logs


def test_collate_groups_modalities_and_pads_windowed_clips():
    from resonance.train import collate

    items = [{"modality": "audio", "input": torch.zeros(3, 1, 8, 10), "p": torch.ones(12) / 12, "va": torch.zeros(2),
              "descriptors": torch.tensor([1.0, float("nan")])},
             {"modality": "image", "input": torch.zeros(3, 4, 4), "p": torch.ones(12) / 12, "va": torch.zeros(2),
              "descriptors": torch.zeros(0), "mask": torch.zeros(0, dtype=torch.bool)},
             {"modality": "audio", "input": torch.ones(1, 8, 10), "p": torch.ones(12) / 12, "va": torch.zeros(2),
              "descriptors": torch.tensor([2.0, 3.0])}]
    batch = collate(items)
    assert batch["audio"]["input"].shape == (2, 3, 1, 8, 10)
    assert batch["audio"]["window_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert batch["audio"]["mask"].tolist() == [[True, False], [True, True]]  # NaN -> masked
    assert batch["image"]["input"].shape == (1, 3, 4, 4) and "window_mask" not in batch["image"]


def test_descriptor_and_hybrid_towers_train_with_train_split_statistics(tmp_path):
    cfg = config_from_dict(_tiny(tmp_path, max_steps=2, tensorboard=False),
                           ["model.image.kind=hybrid", "model.image.deep=small_cnn", "model.audio.kind=descriptor"])
    result = train(cfg)
    tower = result.model.towers["audio"]
    assert tower.fitted and tower.mean.abs().sum() > 0 and (tower.std != 1).any()
    ckpt = load_checkpoint(Path(cfg.run_dir) / "checkpoints" / "latest.pt")
    assert torch.equal(ckpt["model"]["towers.audio.mean"], tower.mean)


def test_module_entry_point_reports_one_line_errors(tmp_path, capsys):
    from resonance.train.__main__ import main

    path = tmp_path / "c.toml"
    path.write_text('epochs = 1\nbatch_sise = 8\n')
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown config key 'batch_sise'" in err[0]
    path.write_text('epochs = 1\nbatch_size = 16\nprogress = false\ntensorboard = false\n'
                    f'run_dir = "{tmp_path / "r"}"\n[model]\nname = "tiny"\n[data]\nn_train = 16\nn_val = 8\n')
    assert main([str(path), "--set", "model.image.width=4", "--set", "model.audio.width=4"]) == 0
    assert (tmp_path / "r" / "checkpoints" / "latest.pt").is_file()
