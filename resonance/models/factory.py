"""Model configurations (dataclasses), named presets, :func:`create_model` and :func:`list_models`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from torch import nn

from resonance.errors import ParameterError
from resonance.models.heads import CLIP_LOGIT_SCALE_INIT, CLIP_LOGIT_SCALE_MAX, LogitScale
from resonance.models.model import DualEncoder

IMAGE_KINDS = ("efficientnet", "small_cnn", "descriptor", "hybrid")
AUDIO_KINDS = ("audio_cnn", "descriptor", "hybrid")


@dataclass(frozen=True)
class TowerConfig:
    """One modality's tower.

    kind : "efficientnet" | "small_cnn" (image), "audio_cnn" (audio), "descriptor", "hybrid" (both)
    deep : the deep half of a hybrid tower ("" = the modality's default: efficientnet / audio_cnn)
    frozen : EfficientNet backbone frozen (features cacheable) or fine-tuned
    pretrained : EfficientNet starts from the packaged ImageNet weights
    width : channels of the first block of the from-scratch CNNs
    hidden : width of the descriptor MLP (and of the hybrid fusion MLP, times 2)
    dropout : dropout of the MLPs
    augment : train-time augmentations (images: geometric only; audio: SpecAugment, gain, noise, shift)
    descriptors : descriptor names; empty = every registry descriptor of the modality
    """

    kind: str
    deep: str = ""
    frozen: bool = True
    pretrained: bool = True
    width: int = 32
    hidden: int = 128
    dropout: float = 0.1
    augment: bool = True
    descriptors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    """The dual encoder: two towers, the shared space's dimension, the temperature's range and the initial
    input scale of the emotion heads (``head_scale_init``, 0 = sqrt(embed_dim); see
    :class:`~resonance.models.heads.EmotionHeads`)."""

    name: str = "hybrid"
    image: TowerConfig = field(default_factory=lambda: TowerConfig("efficientnet"))
    audio: TowerConfig = field(default_factory=lambda: TowerConfig("audio_cnn"))
    embed_dim: int = 128
    proj_hidden: int = 256
    logit_scale_init: float = CLIP_LOGIT_SCALE_INIT
    logit_scale_max: float = CLIP_LOGIT_SCALE_MAX
    head_scale_init: float = 0.0


_PRESETS: dict[str, ModelConfig] = {
    "deep": ModelConfig("deep", TowerConfig("efficientnet"), TowerConfig("audio_cnn")),
    "deep-finetune": ModelConfig("deep-finetune", TowerConfig("efficientnet", frozen=False), TowerConfig("audio_cnn")),
    "scratch": ModelConfig("scratch", TowerConfig("small_cnn"), TowerConfig("audio_cnn")),
    "descriptor": ModelConfig("descriptor", TowerConfig("descriptor"), TowerConfig("descriptor")),
    "hybrid": ModelConfig("hybrid", TowerConfig("hybrid"), TowerConfig("hybrid")),
    # small enough to train in seconds on a CPU: tests and the demo
    "tiny": ModelConfig("tiny", TowerConfig("small_cnn", width=8, hidden=32),
                        TowerConfig("audio_cnn", width=8, hidden=32), embed_dim=32, proj_hidden=64),
}
#: The default is whichever tower measures best on validation (issue 13). Measured (docs/encoder_results.md,
#: 2-core CPU, RAVDESS fold 0's validation actors + D-ViSA val, 3 epochs each): the descriptor towers beat
#: the hybrid ones on validation loss, image->sound P@1, congruence gap, sound UA and modality gap, and lost
#: only on painting UA (0.248 vs 0.268), at 2.4x less time. A small measurement: revisit with more epochs.
DEFAULT_MODEL = "descriptor"


def list_models() -> list[str]:
    """Names of the model presets, sorted."""
    return sorted(_PRESETS)


def get_model_config(name: str) -> ModelConfig:
    """The preset ``name`` (see :func:`list_models`)."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise ParameterError(f"unknown model {name!r}; known: {list_models()}") from None


def _deep_tower(kind: str, cfg: TowerConfig) -> nn.Module:
    from resonance.models.towers import AudioCNN, EfficientNetTower, SmallImageCNN

    if kind == "efficientnet":
        return EfficientNetTower(frozen=cfg.frozen, pretrained=cfg.pretrained, augment=cfg.augment)
    if kind == "small_cnn":
        return SmallImageCNN(width=cfg.width, augment=cfg.augment)
    if kind == "audio_cnn":
        return AudioCNN(width=cfg.width, augment=cfg.augment)
    raise ParameterError(f"unknown deep tower {kind!r}")


def build_tower(modality: str, cfg: TowerConfig) -> nn.Module:
    """The tower that ``cfg`` describes for ``modality``."""
    from resonance.models.towers import DescriptorTower, HybridTower, descriptor_names

    kinds = IMAGE_KINDS if modality == "image" else AUDIO_KINDS
    if cfg.kind not in kinds:
        raise ParameterError(f"{modality} tower kind {cfg.kind!r} is not one of {list(kinds)}")
    if cfg.kind in ("descriptor", "hybrid"):
        known = descriptor_names(modality)
        names = tuple(cfg.descriptors) or known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ParameterError(f"{modality} tower: unknown descriptors {unknown[:5]}; see "
                                 "`resonance features describe` for the registry's names")
        descriptor = DescriptorTower(names, hidden=cfg.hidden, dropout=cfg.dropout)
        if cfg.kind == "descriptor":
            return descriptor
        deep = cfg.deep or ("efficientnet" if modality == "image" else "audio_cnn")
        if deep not in kinds or deep in ("descriptor", "hybrid"):
            raise ParameterError(f"{modality} hybrid tower: deep must be one of "
                                 f"{[k for k in kinds if k not in ('descriptor', 'hybrid')]}, got {deep!r}")
        return HybridTower(_deep_tower(deep, cfg), descriptor, hidden=2 * cfg.hidden, dropout=cfg.dropout)
    return _deep_tower(cfg.kind, cfg)


def create_model(config: str | ModelConfig = DEFAULT_MODEL, **overrides: object) -> DualEncoder:
    """Build a :class:`DualEncoder` from a preset name or a :class:`ModelConfig`.

    ``overrides`` replace top-level fields (``embed_dim=64``, ``image=TowerConfig("small_cnn")``).
    Nothing is downloaded: the EfficientNet weights are read from the installed package.
    """
    cfg = get_model_config(config) if isinstance(config, str) else config
    if overrides:
        known = {f.name for f in dataclasses.fields(ModelConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ParameterError(f"unknown model option {unknown[0]!r}; known: {sorted(known)}")
        cfg = dataclasses.replace(cfg, **overrides)
    towers = {"image": build_tower("image", cfg.image), "audio": build_tower("audio", cfg.audio)}
    return DualEncoder(towers, embed_dim=cfg.embed_dim, proj_hidden=cfg.proj_hidden,
                       logit_scale=LogitScale(cfg.logit_scale_init, cfg.logit_scale_max),
                       head_scale_init=cfg.head_scale_init)
