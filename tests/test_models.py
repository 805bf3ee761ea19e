"""Towers, heads and the model factory of the dual encoder (tiny inputs, CPU, one thread)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from resonance.errors import ParameterError
from resonance.models import TowerConfig, create_model, list_models
from resonance.models.heads import CLIP_LOGIT_SCALE_INIT, LogitScale, ProjectionHead
from resonance.models.towers import (
    AudioCNN,
    DescriptorTower,
    EfficientNetTower,
    HybridTower,
    ImageAugment,
    RandomGain,
    RandomNoise,
    RandomShift,
    SmallImageCNN,
    SpecAugment,
    efficientnet_lite0,
    mean_over_windows,
)
from resonance.models.towers.efficientnet import weights_path

torch.set_num_threads(1)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_efficientnet_tower_loads_packaged_weights_without_network(no_network):
    tower = EfficientNetTower(frozen=True, pretrained=True).eval()
    packaged = torch.load(weights_path(), map_location="cpu", weights_only=True)
    state = tower.backbone.state_dict()
    assert torch.equal(state["_conv_stem.weight"], packaged["_conv_stem.weight"])
    assert torch.equal(state["_blocks.15._project_conv.weight"], packaged["_blocks.15._project_conv.weight"])
    out = tower({"input": torch.rand(2, 3, 64, 64)})
    assert out.shape == (2, 1280) and torch.isfinite(out).all()
    model = create_model("deep", embed_dim=16).eval()
    z = model.encode("image", {"input": torch.rand(2, 3, 64, 64)})
    assert z.shape == (2, 16)
    assert torch.allclose(z.norm(dim=1), torch.ones(2), atol=1e-5)


def test_efficientnet_imagenet_head_is_a_trained_classifier():
    # random weights give near-uniform logits on any input; the packaged weights do not
    torch.manual_seed(0)
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        trained = efficientnet_lite0(pretrained=True).eval()(x).softmax(-1).max()
        random_init = efficientnet_lite0(pretrained=False).eval()(x).softmax(-1).max()
    assert trained > 5 * random_init


def test_frozen_backbone_features_are_cacheable_and_untouched_by_training():
    tower = EfficientNetTower(frozen=True, pretrained=False, augment=True)
    tower.train()
    assert not tower.backbone.training  # BatchNorm statistics stay fixed
    assert not any(p.requires_grad for p in tower.backbone.parameters())
    images = torch.rand(2, 3, 48, 48)
    cached = tower.embed_backbone(images)
    assert torch.equal(tower({"input": cached}), cached)  # cached features skip the backbone
    tower.eval()
    assert torch.allclose(tower({"input": images}), cached)
    with pytest.raises(ParameterError, match="cached image features"):
        tower({"input": torch.zeros(2, 7)})
    finetune = EfficientNetTower(frozen=False, pretrained=False)
    assert all(p.requires_grad for p in finetune.backbone.parameters())


def test_image_augment_is_geometric_only():
    """A flat-colour painting keeps exactly its colour: no hue, saturation or brightness change."""
    torch.manual_seed(0)
    augment = ImageAugment().train()
    flat = torch.tensor([0.8, 0.2, 0.1]).view(1, 3, 1, 1).expand(8, 3, 32, 32).contiguous()
    assert torch.allclose(augment(flat), flat, atol=1e-6)
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(4, 3, 32, 32).contiguous()
    moved = augment(ramp)
    assert not torch.allclose(moved, ramp)  # it does move pixels
    assert moved.min() >= -1e-6 and moved.max() <= 1 + 1e-6
    assert torch.equal(augment.eval()(ramp), ramp)
    with pytest.raises(ParameterError):
        ImageAugment(max_rotation=90)


def test_audio_augmentations_act_only_in_training():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 32, 50) * 10 - 40
    for module in (SpecAugment(), RandomGain(p=1.0), RandomNoise(snr_db=(0.0, 5.0), p=1.0), RandomShift(p=1.0)):
        module.train()
        y = module(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
        assert not torch.equal(y, x), type(module).__name__
        assert torch.equal(module.eval()(x), x), type(module).__name__
    # noise adds power: never lowers a bin; gain shifts every bin by one constant per sample
    noisy = RandomNoise(p=1.0).train()(x)
    assert (noisy >= x - 1e-4).all()
    gained = RandomGain(p=1.0).train()(x) - x
    assert torch.allclose(gained, gained[:, :, :1, :1].expand_as(gained), atol=1e-5)
    # shift is a circular roll in time
    shifted = RandomShift(p=1.0).train()(x)
    assert torch.allclose(torch.sort(shifted, dim=-1).values, torch.sort(x, dim=-1).values)


def test_spec_augment_masks_bands_with_the_mean():
    torch.manual_seed(1)
    x = torch.arange(40 * 100, dtype=torch.float32).view(1, 1, 40, 100)
    y = SpecAugment(freq_masks=1, freq_fraction=0.2, time_masks=0).train()(x)
    changed_rows = (y != x).any(-1).squeeze()
    assert changed_rows.sum() <= 8  # at most 0.2 * 40 mel bins
    if changed_rows.any():
        assert torch.allclose(y[0, 0, changed_rows], x.mean().expand(int(changed_rows.sum()), 100))


def test_clip_embedding_is_mean_over_real_windows():
    torch.manual_seed(0)
    tower = AudioCNN(width=4, augment=False).eval()
    windows = torch.randn(2, 3, 1, 16, 24)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    clip = tower({"input": windows, "window_mask": mask})
    expected0 = tower.encode(windows[0, :2]).mean(0)
    assert clip.shape == (2, tower.out_dim)
    assert torch.allclose(clip[0], expected0, atol=1e-5)
    garbage = windows.clone()
    garbage[0, 2] = 1e6  # padding content must not matter
    assert torch.allclose(tower({"input": garbage, "window_mask": mask}), clip, atol=1e-5)
    with pytest.raises(ParameterError, match="at least one real window"):
        mean_over_windows(tower.encode, windows, torch.zeros(2, 3, dtype=torch.bool))
    assert tower({"input": torch.randn(3, 1, 16, 40)}).shape == (3, tower.out_dim)  # any T


def test_descriptor_tower_standardises_on_train_and_masks_missing_values():
    torch.manual_seed(0)
    tower = DescriptorTower(["a", "b", "c", "d"], hidden=8).eval()
    train = np.array([[1.0, 10.0, np.nan, 5.0], [3.0, 30.0, np.nan, 5.0], [5.0, np.nan, np.nan, 5.0]])
    tower.fit(train)
    assert torch.allclose(tower.mean, torch.tensor([3.0, 20.0, 0.0, 5.0]))
    assert torch.allclose(tower.std, torch.tensor([float(np.sqrt(8 / 3)), 10.0, 1.0, 1.0]))  # all-NaN, constant -> 1
    values = torch.tensor([[3.0, float("nan"), 2.0, 5.0]])
    feats = tower.features(values)
    assert torch.equal(feats[0, 4:], torch.tensor([1.0, 0.0, 1.0, 1.0]))  # the mask channel
    assert feats[0, 1] == 0 and torch.isfinite(feats).all()
    # an explicitly masked value is ignored whatever it holds
    mask = torch.tensor([[True, True, False, True]])
    a = tower({"descriptors": torch.tensor([[3.0, 1.0, 2.0, 5.0]]), "mask": mask})
    b = tower({"descriptors": torch.tensor([[3.0, 1.0, 99.0, 5.0]]), "mask": mask})
    assert torch.equal(a, b)
    with pytest.raises(ParameterError):
        tower.fit(np.zeros((3, 2)))
    state = tower.state_dict()
    assert {"mean", "std", "fitted"} <= set(state)  # statistics travel with checkpoints


def test_hybrid_and_descriptor_towers_through_the_factory():
    from resonance.models.towers.descriptor import descriptor_names

    names = descriptor_names("image")[:5]
    model = create_model("tiny", image=TowerConfig("hybrid", deep="small_cnn", width=4, hidden=8, descriptors=names),
                         audio=TowerConfig("descriptor", hidden=8)).eval()
    assert isinstance(model.towers["image"], HybridTower)
    n_audio = len(descriptor_names("audio"))
    batch = {"image": {"input": torch.rand(3, 3, 16, 16), "descriptors": torch.randn(3, 5)},
             "audio": {"input": torch.zeros(3, 1), "descriptors": torch.randn(3, n_audio)}}
    out = model(batch)
    assert out["image"]["embedding"].shape == (3, 32) and out["audio"]["category_logits"].shape == (3, 12)
    with pytest.raises(ParameterError, match="unknown descriptors"):
        create_model("tiny", image=TowerConfig("descriptor", descriptors=("no_such_descriptor",)))
    with pytest.raises(ParameterError, match="not one of"):
        create_model("tiny", audio=TowerConfig("efficientnet"))


def test_heads_give_a_normalised_space_and_a_clamped_temperature():
    head = ProjectionHead(10, 6, hidden=0)
    z = head(torch.randn(4, 10))
    assert torch.allclose(z.norm(dim=1), torch.ones(4), atol=1e-6)
    scale = LogitScale()
    assert torch.isclose(scale(), torch.tensor(1 / 0.07))
    assert abs(scale.value.item() - CLIP_LOGIT_SCALE_INIT) < 1e-6
    with torch.no_grad():
        scale.value.fill_(50.0)
    assert torch.isclose(scale(), torch.tensor(100.0))
    with pytest.raises(ParameterError):
        LogitScale(init=10.0)


def test_factory_lists_models_and_returns_dicts():
    assert {"deep", "deep-finetune", "scratch", "descriptor", "hybrid", "tiny"} <= set(list_models())
    with pytest.raises(ParameterError, match="unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(ParameterError, match="unknown model option"):
        create_model("tiny", embed=3)
    model = create_model("tiny").eval()
    assert isinstance(model.towers["image"], SmallImageCNN)
    out = model({"audio": {"input": torch.randn(2, 1, 16, 32)}})
    assert set(out) == {"audio", "logit_scale"}  # an absent modality is absent, not None
    assert set(out["audio"]) == {"embedding", "va", "category_logits"}
    assert ((out["audio"]["va"] > 0) & (out["audio"]["va"] < 1)).all()
    with pytest.raises(ParameterError):
        model.encode("video", {})


def test_checkpoints_without_the_head_scale_load_as_the_original_head():
    from resonance.models import create_model
    from resonance.train.checkpoint import legacy_state

    torch.manual_seed(0)
    old = create_model("tiny", head_scale_init=1.0)
    state = {k: v for k, v in old.state_dict().items() if k != "heads.log_scale"}  # as written before the scale
    new = create_model("tiny")
    assert new.heads.log_scale.exp().item() == pytest.approx(32 ** 0.5)  # sqrt(embed_dim) by default
    new.load_state_dict(legacy_state(state))
    z = torch.nn.functional.normalize(torch.randn(5, 32), dim=1)
    torch.testing.assert_close(new.heads(z)["category_logits"], old.heads(z)["category_logits"])
