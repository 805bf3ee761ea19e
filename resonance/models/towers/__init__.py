"""Towers, one per modality: each maps the modality's batch dict to a (B, out_dim) feature tensor."""

from resonance.models.towers.audio import AudioCNN, RandomGain, RandomNoise, RandomShift, SpecAugment, mean_over_windows
from resonance.models.towers.descriptor import DescriptorTower, HybridTower, descriptor_names
from resonance.models.towers.efficientnet import EfficientNetLite0, efficientnet_lite0
from resonance.models.towers.image import EfficientNetTower, ImageAugment, SmallImageCNN

__all__ = ["AudioCNN", "DescriptorTower", "EfficientNetLite0", "EfficientNetTower", "HybridTower", "ImageAugment",
           "RandomGain", "RandomNoise", "RandomShift", "SmallImageCNN", "SpecAugment", "descriptor_names",
           "efficientnet_lite0", "mean_over_windows"]
