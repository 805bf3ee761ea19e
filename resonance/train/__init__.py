"""Training of the dual encoder (torch lives here): config, sampler, loop, checkpoints, logging, DDP.

Public API:

- :class:`TrainConfig`, :func:`load_config`, :func:`config_from_dict` -- validated configs (TOML/YAML, ``--set``)
- :func:`train` -> :class:`TrainResult`
- :class:`BalancedBatchSampler`, :class:`ItemDataset`, :class:`SyntheticEmotionDataset`, :func:`collate`
- :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_model`
"""

from resonance.train.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, load_model, save_checkpoint
from resonance.train.config import DataConfig, TrainConfig, config_from_dict, load_config, parse_override, to_dict
from resonance.train.data import ItemDataset, SyntheticEmotionDataset, build_datasets, collate
from resonance.train.loop import TrainResult, train, validate
from resonance.train.sampler import BalancedBatchSampler

__all__ = ["CHECKPOINT_FORMAT", "BalancedBatchSampler", "DataConfig", "ItemDataset", "SyntheticEmotionDataset",
           "TrainConfig", "TrainResult", "build_datasets", "collate", "config_from_dict", "load_checkpoint",
           "load_config", "load_model", "parse_override", "save_checkpoint", "to_dict", "train", "validate"]
