"""Training configuration: dataclasses read from TOML or YAML, validated before any work.

A config file mirrors :class:`TrainConfig`; nested tables are ``[model]`` (a preset ``name`` and any
field to override, ``[model.image]``, ``[model.audio]``), ``[loss]`` and ``[data]``::

    seed = 0
    epochs = 20
    batch_size = 64
    [model]
    name = "hybrid"
    embed_dim = 128
    [model.image]
    frozen = false
    [loss]
    targets = "soft"

Every key is checked: an unknown key raises :class:`~resonance.errors.ParameterError` naming it and
the known ones; a value of the wrong type names the key and the expected type. ``--set key=value``
overrides (``model.image.kind=small_cnn``, ``lr=3e-4``) go through the same validation; values are
read as TOML literals (``true``, ``3``, ``"x"``, ``["a", "b"]``), else taken as strings.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resonance.errors import ParameterError
from resonance.models.factory import DEFAULT_MODEL, ModelConfig, get_model_config
from resonance.models.losses import LossConfig

#: Where items can come from (``data.kind``).
DATA_KINDS: tuple[str, ...] = ("synthetic", "manifest")


@dataclass(frozen=True)
class DataConfig:
    """Where the items come from.

    ``kind="synthetic"``: the in-memory task of :class:`resonance.train.data.SyntheticEmotionDataset`
    (tests, smoke runs):

    categories : the synthetic task's categories (names of :data:`resonance.data.emotion.CATEGORIES`)
    n_train, n_val : items per modality
    noise : standard deviation of the noise around each category's hidden pattern
    frames : log-mel frames of a synthetic sound

    ``kind="manifest"``: a prepared dataset (:class:`resonance.train.manifest_data.ManifestDataset`,
    inputs as in :mod:`resonance.train.inputs`):

    dataset : the dataset folder (``resonance data prepare``) or its ``manifest.parquet``
    features : the features table (``resonance features extract``) the descriptor and hybrid towers read;
        "" = ``features.parquet`` in or beside the dataset folder
    cache_dir : the content-hash cache of preprocessed inputs; "" = ``$RESONANCE_CACHE/inputs``, else
        ``RUN_DIR/.cache/inputs``
    train_splits, val_split : manifest splits that train and validate (when no folds apply)
    image_size : side S of the (3, S, S) images (0 = 16 for synthetic, 224 for manifest)
    n_mels : mel bands (0 = 16 for synthetic, 64 for manifest); n_fft, hop_length : the STFT, in samples
    window_s, window_hop_s, long_clip_s : audio windows of ``window_s`` seconds; clips longer than
        ``long_clip_s`` are cut into windows every ``window_hop_s`` seconds, shorter ones are one window
    cache_features : cache the frozen EfficientNet-Lite0 features of the images (when the image tower
        is frozen and pretrained) instead of feeding pixels
    folds : "" = the speech corpora's default actor-disjoint folds (:func:`resonance.train.folds.default_folds`)
        when the dataset has any, else the manifest split; "split" = always the manifest split; or the path
        of a folds CSV (``fold,group``)
    fold : run only this fold (0-based); -1 = every fold
    n_folds : folds of the default speech folds
    """

    kind: str = "synthetic"
    n_train: int = 128
    n_val: int = 64
    image_size: int = 0
    n_mels: int = 0
    frames: int = 32
    noise: float = 0.5
    categories: tuple[str, ...] = ("anger", "sadness", "happiness", "calm")
    seed: int = 1234
    dataset: str = ""
    features: str = ""
    cache_dir: str = ""
    train_splits: tuple[str, ...] = ("train",)
    val_split: str = "val"
    n_fft: int = 1024
    hop_length: int = 256
    window_s: float = 4.0
    window_hop_s: float = 2.0
    long_clip_s: float = 10.0
    cache_features: bool = True
    folds: str = ""
    fold: int = -1
    n_folds: int = 6

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise ParameterError(f"data.kind must be one of {list(DATA_KINDS)}, got {self.kind!r}")
        if self.kind == "manifest" and not self.dataset:
            raise ParameterError("data.kind 'manifest' needs data.dataset, the folder `resonance data prepare` "
                                 "wrote (e.g. --set data.dataset=outputs/dataset)")
        for name in ("image_size", "n_mels"):
            if getattr(self, name) < 0:
                raise ParameterError(f"data.{name} must be >= 0 (0 = the kind's default), got {getattr(self, name)}")
        if self.fold < -1:
            raise ParameterError(f"data.fold must be -1 (every fold) or a fold number >= 0, got {self.fold}")

    @property
    def resolved_image_size(self) -> int:
        return self.image_size or (224 if self.kind == "manifest" else 16)

    @property
    def resolved_n_mels(self) -> int:
        return self.n_mels or (64 if self.kind == "manifest" else 16)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (recorded in every checkpoint).

    batch_size : items per process and step (split evenly between the modalities)
    schedule : "cosine" (after ``warmup_steps`` of linear warm-up) or "constant"
    device : "auto" (CUDA if available, else CPU), "cpu" or "cuda"
    amp : mixed precision (autocast + GradScaler) when on CUDA; ignored on CPU
    resume : "" (start fresh), "latest" (``run_dir/checkpoints/latest.pt`` if it exists) or a path
    checkpoint_every : steps between checkpoints (plus one at every epoch end)
    early_stopping_metric, early_stopping_mode, patience : stop after ``patience`` epochs without
        improvement of the validation metric (0 = never stop early)
    max_steps : stop after this many optimiser steps in total (0 = no limit)
    data_version : the prepared data's version (recorded; resuming checks it matches)
    """

    seed: int = 0
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    schedule: str = "cosine"
    warmup_steps: int = 0
    grad_clip: float = 1.0
    device: str = "auto"
    amp: bool = True
    num_workers: int = 0
    run_dir: str = "runs/default"
    resume: str = ""
    checkpoint_every: int = 100
    log_every: int = 10
    early_stopping_metric: str = "val_loss"
    early_stopping_mode: str = "min"
    patience: int = 5
    max_steps: int = 0
    progress: bool = True
    tensorboard: bool = True
    data_version: str = ""
    model: ModelConfig = field(default_factory=lambda: get_model_config(DEFAULT_MODEL))
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "checkpoint_every", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 4:
            raise ParameterError(f"batch_size must be >= 4 (at least 2 items per modality), got {self.batch_size}")
        for name in ("warmup_steps", "num_workers", "patience", "max_steps"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ParameterError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ParameterError("weight_decay and grad_clip must be >= 0")
        choices = {"schedule": ("cosine", "constant"), "device": ("auto", "cpu", "cuda"),
                   "early_stopping_mode": ("min", "max")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ParameterError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(tp: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ParameterError(f"config key {key!r} must be a table of {_type_name(tp)} fields, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ParameterError(f"config key {key!r} must be a list of {_type_name(item)}, got {value!r}")
        return tuple(_coerce(item, v, key) for v in value)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(option, value, key)
            except ParameterError as error:
                errors.append(error)
        raise errors[-1]
    if tp is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"config key {key!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"config key {key!r} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParameterError(f"config key {key!r} must be a string, got {value!r}")
        return value
    return value


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types (recursively)."""
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise ParameterError(f"unknown config key '{prefix}{key}'; known keys"
                                 f"{' of [' + prefix.rstrip('.') + ']' if prefix else ''}: {', '.join(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], data[name], prefix + name) for name in known if name in data}
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain dicts, lists and scalars (TOML/JSON/torch.save-safe)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(config))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"model.image.kind=small_cnn"`` -> (["model", "image", "kind"], "small_cnn") (TOML literal values)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ParameterError(f"--set expects key=value (e.g. lr=3e-4 or model.image.kind=small_cnn), got {text!r}")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw table of a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config file."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ParameterError(f"config file {path} is not valid TOML: {error}") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ParameterError(f"config file {path} is not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ParameterError(f"config file {path} must hold a mapping at top level")
        return data
    raise ParameterError(f"config file {path} must end in .toml, .yaml or .yml")


def config_from_dict(data: Mapping[str, Any], overrides: Iterable[str] = ()) -> TrainConfig:
    """Validate a raw config table plus ``--set`` overrides into a :class:`TrainConfig`.

    The ``[model]`` table starts from the preset it names (``name``, default
    :data:`~resonance.models.factory.DEFAULT_MODEL`); its other keys override the preset's.
    """
    raw: dict[str, Any] = _merge({}, data)
    for text in overrides:
        keys, value = parse_override(text)
        node = raw
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
        node[keys[-1]] = value
    model = raw.get("model", {})
    if isinstance(model, str):
        model = {"name": model}
    if not isinstance(model, Mapping):
        raise ParameterError(f"config key 'model' must be a table or a preset name, got {model!r}")
    name = model.get("name", DEFAULT_MODEL)
    if not isinstance(name, str):
        raise ParameterError(f"config key 'model.name' must be a string, got {name!r}")
    raw["model"] = _merge(to_dict(get_model_config(name)), model)
    return from_dict(TrainConfig, raw)


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read and validate a training config (TOML or YAML) with ``--set key=value`` overrides."""
    return config_from_dict(read_config_file(path) if path is not None else {}, overrides)
