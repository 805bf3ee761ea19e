"""The dual encoder (torch lives here): towers, heads, losses and the model factory.

Public API:

- :func:`create_model`, :func:`list_models`, :class:`ModelConfig`, :class:`TowerConfig`
- :class:`DualEncoder` -- ``forward(batch)`` returns a dict per modality (embedding, va, category logits)
- :class:`DualEncoderLoss`, :class:`LossConfig`, :func:`soft_similarity`

Importing reads only local files: nothing downloads, nothing is seeded.
"""

from resonance.models.factory import (
                                      DEFAULT_MODEL,
                                      ModelConfig,
                                      TowerConfig,
                                      build_tower,
                                      create_model,
                                      get_model_config,
                                      list_models,
)
from resonance.models.losses import DualEncoderLoss, LossConfig, ccc, soft_similarity
from resonance.models.model import MODALITIES, DualEncoder

__all__ = ["DEFAULT_MODEL", "MODALITIES", "DualEncoder", "DualEncoderLoss", "LossConfig", "ModelConfig",
           "TowerConfig", "build_tower", "ccc", "create_model", "get_model_config", "list_models",
           "soft_similarity"]
