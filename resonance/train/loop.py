"""The training loop: one function, :func:`train`, from a validated :class:`TrainConfig` and abstract
datasets to a trained model, with checkpoints, metrics, early stopping and exact resumption.

Determinism (what makes ``resume="latest"`` after a kill -9 end with the same weights as an
uninterrupted run on CPU): the model is initialised from ``seed`` (identical on every rank), then
every generator is seeded with ``seed + rank``; the batch order is a pure function of
``(seed, epoch)`` (:class:`~resonance.train.sampler.BalancedBatchSampler`), and the DataLoader draws
its worker seeds from a private generator, never from the global one; a checkpoint holds the RNG
states of every rank as they were after its step, and resuming skips the batches already consumed.
Validation runs in eval mode under ``no_grad`` and draws no random numbers; under DDP every rank
validates the whole validation set on the same weights (buffers are broadcast from rank 0 first), so
all ranks take the same early-stopping decision without exchanging it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from resonance.errors import ParameterError
from resonance.models import DualEncoderLoss, create_model
from resonance.models.model import DualEncoder
from resonance.provenance import package_versions
from resonance.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from resonance.train.config import TrainConfig, to_dict
from resonance.train.data import build_datasets, collate, dataset_index, descriptor_matrix, move_batch
from resonance.train.distributed import DistInfo, barrier, broadcast_buffers, cleanup, gather_to_main, init_distributed
from resonance.train.logging import MetricsLogger
from resonance.train.sampler import BalancedBatchSampler

Hook = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    """What a run returns: the trained (unwrapped) model and its record."""

    model: DualEncoder
    run_dir: Path
    steps: int
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)
    best_metric: float | None = None
    best_epoch: int | None = None
    stopped_early: bool = False
    items_per_second: float = 0.0
    steps_per_second: float = 0.0
    device: str = "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto": CUDA (this rank's GPU) when available, else CPU."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ParameterError("device 'cuda' was asked for but no CUDA device is available; use device='auto'")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on biases, norms and the temperature (as open_clip does)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.dim() < 2 or "logit_scale" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _lr_lambda(config: TrainConfig, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if config.warmup_steps and step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        if config.schedule == "constant":
            return 1.0
        span = max(1, total_steps - config.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - config.warmup_steps) / span)))

    return factor


def _labels(batch: dict[str, dict[str, torch.Tensor]]) -> dict[str, dict[str, torch.Tensor]]:
    return {m: {"p": part["p"], "va": part["va"]} for m, part in batch.items()}


def optimiser_step(net: torch.nn.Module, model: torch.nn.Module, loss_fn: DualEncoderLoss,
                   batch: dict[str, dict[str, torch.Tensor]], optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler, grad_clip: float, use_amp: bool) -> tuple[dict, dict]:
    """One training step on a batch already on the device: forward (autocast when ``use_amp``), loss,
    backward, gradient clipping, optimiser step; returns the model's outputs and the loss terms.
    ``net`` is the model or its DDP wrapper; ``benchmarks/bench_train.py`` times this same step."""
    device_type = next(model.parameters()).device.type
    with torch.autocast(device_type=device_type, dtype=torch.float16, enabled=use_amp):
        out = net(batch)
    terms = loss_fn(out, _labels(batch), out["logit_scale"].float())
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms["loss"]).backward()
    if grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return out, terms


@torch.no_grad()
def validate(model: DualEncoder, loss_fn: DualEncoderLoss, dataset: Dataset, config: TrainConfig,
             device: torch.device) -> dict[str, float]:
    """Validation loss (balanced batches, fixed order) and the congruence gap of the embeddings.

    ``gap`` = mean cosine of image/sound pairs with the same top category minus that of pairs with
    different ones; ``i2a_p1`` = share of images whose nearest sound has the same top category;
    ``modality_gap`` = distance between the two modalities' centroids (Liang et al. 2022; 0 = mixed,
    up to 2); ``image_ua`` / ``audio_ua`` = mean per-class recall of the category head against the top
    category (a head that answers one class for a whole modality shows as 1 / classes present).
    """
    was_training = model.training
    model.eval()
    index = dataset_index(dataset)
    cats = index["p"].argmax(1)
    sampler = BalancedBatchSampler(index["modality"], cats, config.batch_size, seed=config.seed)
    totals: dict[str, float] = {}
    n = 0
    for ids in sampler:
        batch = move_batch(collate([dataset[i] for i in ids]), device)
        out = model(batch)
        terms = loss_fn(out, _labels(batch), out["logit_scale"])
        for k, v in terms.items():
            totals[k] = totals.get(k, 0.0) + float(v)
        n += 1
    metrics = {("val_loss" if k == "loss" else f"val_{k}"): v / max(n, 1) for k, v in totals.items()}
    embeddings: dict[str, list[torch.Tensor]] = {"image": [], "audio": []}
    labels: dict[str, list[int]] = {"image": [], "audio": []}
    order = {m: [i for i, mm in enumerate(index["modality"]) if mm == m] for m in embeddings}
    for m, ids in order.items():
        for start in range(0, len(ids), config.batch_size):
            chunk = ids[start:start + config.batch_size]
            part = move_batch(collate([dataset[i] for i in chunk]), device)[m]
            embeddings[m].append(model.encode(m, part).float().cpu())
            labels[m].extend(int(cats[i]) for i in chunk)
    if all(embeddings.values()):
        zi, za = torch.cat(embeddings["image"]), torch.cat(embeddings["audio"])
        li, la = torch.tensor(labels["image"]), torch.tensor(labels["audio"])
        cos = zi @ za.T
        same = li[:, None] == la[None, :]
        if bool(same.any()) and bool((~same).any()):
            metrics["val_gap"] = float(cos[same].mean() - cos[~same].mean())
        metrics["val_i2a_p1"] = float((la[cos.argmax(1)] == li).float().mean())
        metrics["val_modality_gap"] = float((zi.mean(0) - za.mean(0)).norm())
    for m, chunks in embeddings.items():
        if chunks:
            pred = model.heads(torch.cat(chunks).to(device))["category_logits"].argmax(1).cpu()
            true = torch.tensor(labels[m])
            metrics[f"val_{m}_ua"] = float(torch.stack([(pred[true == c] == c).float().mean()
                                                        for c in true.unique()]).mean())
    model.train(was_training)
    return metrics


def _resume_path(config: TrainConfig) -> Path | None:
    if not config.resume:
        return None
    if config.resume == "latest":
        path = Path(config.run_dir) / "checkpoints" / "latest.pt"
        return path if path.exists() else None
    return Path(config.resume)


def train(config: TrainConfig, train_set: Dataset | None = None, val_set: Dataset | None = None, *,
          hooks: Sequence[Hook] = ()) -> TrainResult:
    """Train a dual encoder.

    Parameters
    ----------
    config : TrainConfig
        Validated configuration (:func:`~resonance.train.config.load_config`).
    train_set, val_set : torch Dataset, optional
        Datasets of item dicts (see :mod:`resonance.train.data`); default: built from ``config.data``.
    hooks : callables
        Called after every optimiser step with ``{"step", "epoch", "loss", "checkpoint"}`` (the path
        written at that step, or None).

    Returns
    -------
    TrainResult
    """
    info = init_distributed()
    try:
        return _train(config, train_set, val_set, hooks, info)
    finally:
        cleanup(info)


def _train(config: TrainConfig, train_set: Dataset | None, val_set: Dataset | None, hooks: Sequence[Hook],
           info: DistInfo) -> TrainResult:
    if train_set is None:
        train_set, built_val = build_datasets(config)
        val_set = built_val if val_set is None else val_set
    device = resolve_device(config.device, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL and pinned copies go to this rank's GPU
    use_amp = config.amp and device.type == "cuda"
    run_dir = Path(config.run_dir)
    ckpt_dir = run_dir / "checkpoints"

    index = dataset_index(train_set)
    present = set(index["modality"])
    if present != {"image", "audio"}:
        missing = sorted({"image", "audio"} - present)
        raise ParameterError(f"the training data lacks the {', '.join(missing)} modality: the dual encoder needs "
                             "paintings and sounds; add a dataset of that modality")
    resume = _resume_path(config)
    ckpt = load_checkpoint(resume, data_version=config.data_version) if resume is not None else None

    seed_everything(config.seed)  # identical initialisation on every rank
    model = create_model(config.model)
    model.fit_descriptor_stats({m: descriptor_matrix(train_set, m) for m in ("image", "audio")
                                if getattr(config.model, m).kind in ("descriptor", "hybrid")})
    model.to(device)
    seed_everything(config.seed + info.rank)

    sampler = BalancedBatchSampler(index["modality"], index["p"].argmax(1), config.batch_size, seed=config.seed,
                                   num_replicas=info.world_size, rank=info.rank)
    steps_per_epoch = sampler.num_batches
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    loss_fn = DualEncoderLoss(config.loss)
    optimizer = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, total_steps))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    net: torch.nn.Module = model
    if info.enabled:
        weights = (config.loss.contrastive_weight, config.loss.intra_weight, config.loss.va_weight,
                   config.loss.category_weight)
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=any(w == 0 for w in weights))  # a switched-off head has no gradient

    epoch, batch_in_epoch, step = 0, 0, 0
    stopping = {"best": None, "best_epoch": None, "bad_epochs": 0, "stopped": False}
    history: list[dict[str, float]] = []
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        epoch, batch_in_epoch, step = ckpt["epoch"], ckpt["batch_in_epoch"], ckpt["step"]
        stopping = dict(ckpt["early_stopping"])
        history = list(ckpt.get("history", []))
        states = ckpt["rng"]
        if len(states) != info.world_size:
            raise ParameterError(f"{resume} was written by {len(states)} processes, this run has {info.world_size}: "
                                 "resume with the same number of processes (torchrun --nproc_per_node)")
        set_rng_state(states[info.rank])

    logger = MetricsLogger(run_dir, enabled=info.is_main, tensorboard=config.tensorboard,
                           resume_step=step if ckpt is not None else None)
    meta = {"config": to_dict(config), "data_version": config.data_version, "package_versions": package_versions()}

    def checkpoint(name: str, epoch_: int, batch_: int) -> Path | None:
        states = gather_to_main(info, rng_state())  # a collective: every rank calls it
        if not info.is_main:
            return None
        return save_checkpoint(ckpt_dir / name, {
            **meta, "epoch": epoch_, "batch_in_epoch": batch_, "step": step,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "early_stopping": dict(stopping), "history": list(history), "loss_window": list(window),
            "rng": states})

    if ckpt is None and info.is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    progress = None
    if config.progress and info.is_main:
        from tqdm.auto import tqdm

        progress = tqdm(total=total_steps, initial=step, desc="train", unit="step", leave=False)
    loader_gen = torch.Generator()
    net.train()
    items, t0, steps0 = 0, time.perf_counter(), step
    window: list[float] = list(ckpt.get("loss_window", [])) if ckpt is not None else []
    done = stopping["stopped"] or step >= total_steps
    while not done and epoch < config.epochs:
        sampler.set_epoch(epoch, start=batch_in_epoch)
        loader_gen.manual_seed(config.seed * 1_000_003 + epoch * 101 + info.rank)
        loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate, num_workers=config.num_workers,
                            generator=loader_gen, pin_memory=device.type == "cuda")
        for batch in loader:
            batch = move_batch(batch, device)
            out, terms = optimiser_step(net, model, loss_fn, batch, optimizer, scaler, config.grad_clip, use_amp)
            scheduler.step()
            step += 1
            batch_in_epoch += 1
            items += sum(part["p"].shape[0] for part in batch.values())
            loss_value = float(terms["loss"].detach())
            if not math.isfinite(loss_value) and not use_amp:
                raise ParameterError(f"the loss became {loss_value} at step {step}; lower lr (now {config.lr}) "
                                     "or check the inputs for NaN")
            window.append(loss_value)
            if step % config.log_every == 0:
                logger.log(step, epoch, "train", {"loss": sum(window) / len(window),
                                                  "logit_scale": float(out["logit_scale"].detach()),
                                                  "lr": scheduler.get_last_lr()[0],
                                                  **{k: float(v.detach()) for k, v in terms.items() if k != "loss"}})
                window = []
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{loss_value:.3f}", epoch=epoch)
            written = None
            end_of_epoch = batch_in_epoch == steps_per_epoch
            if step % config.checkpoint_every == 0 and not end_of_epoch:
                written = checkpoint("latest.pt", epoch, batch_in_epoch)
            for hook in hooks:
                hook({"step": step, "epoch": epoch, "loss": loss_value, "checkpoint": written})
            if step >= total_steps:
                break
        finished_epoch = batch_in_epoch == steps_per_epoch
        broadcast_buffers(info, model)
        record: dict[str, float] = {"epoch": float(epoch), "step": float(step)}
        improved = False
        if finished_epoch and val_set is not None:
            metrics = validate(model, loss_fn, val_set, config, device)
            record.update(metrics)
            logger.log(step, epoch, "val", metrics)
            if config.early_stopping_metric not in metrics:
                raise ParameterError(f"early_stopping_metric {config.early_stopping_metric!r} is not computed; "
                                     f"known: {sorted(metrics)}")
            value = metrics[config.early_stopping_metric]
            best = stopping["best"]
            improved = best is None or (value < best if config.early_stopping_mode == "min" else value > best)
            if improved:
                stopping.update(best=value, best_epoch=epoch, bad_epochs=0)
            else:
                stopping["bad_epochs"] += 1
                if config.patience and stopping["bad_epochs"] >= config.patience:
                    stopping["stopped"] = True
        if finished_epoch:
            history.append(record)
            epoch, batch_in_epoch = epoch + 1, 0
        done = stopping["stopped"] or step >= total_steps
        checkpoint("latest.pt", epoch, batch_in_epoch)
        if improved:
            checkpoint("best.pt", epoch, batch_in_epoch)
    barrier(info)
    if progress is not None:
        progress.close()
    logger.close()
    elapsed = max(time.perf_counter() - t0, 1e-9)
    return TrainResult(model=model, run_dir=run_dir, steps=step, epochs_run=epoch, history=history,
                       best_metric=stopping["best"], best_epoch=stopping["best_epoch"],
                       stopped_early=bool(stopping["stopped"]), items_per_second=items / elapsed,
                       steps_per_second=(step - steps0) / elapsed, device=str(device))
