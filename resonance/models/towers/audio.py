"""Audio tower: a CNN on log-mel spectrograms, trained from scratch, for speech and music alike.

Input contract: log-mel power spectrograms in dB (``librosa.power_to_db``), shape (B, 1, n_mels, T),
mel on axis -2 and time on the last axis. A long clip (an EMOPIA excerpt, ~40 s) is cut into
windows by the data pipeline and given as (B, W, 1, n_mels, T) with a boolean window mask (B, W);
its embedding is the mean over its valid windows (:func:`mean_over_windows`).

Augmentations (:class:`SpecAugment`, :class:`RandomGain`, :class:`RandomNoise`, :class:`RandomShift`)
are modules that act only in training mode, per sample, on the dB spectrogram.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from resonance.errors import ParameterError


def _per_sample(b: int, p: float, device: torch.device) -> torch.Tensor:
    return torch.rand(b, device=device) < p


class SpecAugment(nn.Module):
    """Frequency and time masking (Park et al. 2019, "SpecAugment").

    ``freq_masks`` bands of up to ``freq_fraction`` of the mel bins and ``time_masks`` spans of up to
    ``time_fraction`` of the frames are set to the sample's mean value (fractions, so that the same
    setting suits 64 or 128 mels and 1 s or 10 s windows; Park et al.'s LibriSpeech policy is about
    0.2 of 80 mels and 0.1 of the frames).
    """

    def __init__(self, freq_masks: int = 2, freq_fraction: float = 0.15, time_masks: int = 2,
                 time_fraction: float = 0.1) -> None:
        super().__init__()
        for name, value in (("freq_fraction", freq_fraction), ("time_fraction", time_fraction)):
            if not 0 <= value < 1:
                raise ParameterError(f"{name} must be in [0, 1), got {value}")
        self.freq_masks, self.freq_fraction = freq_masks, freq_fraction
        self.time_masks, self.time_fraction = time_masks, time_fraction

    def _mask(self, x: torch.Tensor, axis: int, count: int, fraction: float) -> torch.Tensor:
        b, size = x.shape[0], x.shape[axis]
        width = int(fraction * size)
        if count == 0 or width == 0:
            return x
        fill = x.mean(dim=(-2, -1), keepdim=True)
        positions = torch.arange(size, device=x.device)
        for _ in range(count):
            w = torch.randint(0, width + 1, (b,), device=x.device)
            start = (torch.rand(b, device=x.device) * (size - w + 1).to(torch.float32)).long()
            band = (positions[None] >= start[:, None]) & (positions[None] < (start + w)[:, None])  # (B, size)
            shape = [b, 1, 1, 1]
            shape[axis] = size
            x = torch.where(band.view(shape), fill, x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        x = self._mask(x, -2, self.freq_masks, self.freq_fraction)
        return self._mask(x, -1, self.time_masks, self.time_fraction)


class RandomGain(nn.Module):
    """Add a gain drawn uniformly in ``[-max_db, max_db]`` dB (a constant offset of a dB spectrogram)."""

    def __init__(self, max_db: float = 6.0, p: float = 0.5) -> None:
        super().__init__()
        self.max_db, self.p = max_db, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.max_db == 0:
            return x
        b = x.shape[0]
        gain = (torch.rand(b, device=x.device) * 2 - 1) * self.max_db
        gain = torch.where(_per_sample(b, self.p, x.device), gain, torch.zeros_like(gain))
        return x + gain.view(b, 1, 1, 1).to(x.dtype)


class RandomNoise(nn.Module):
    """Add stationary white noise at an SNR in ``snr_db`` (relative to the sample's peak bin power).

    Powers add: ``10 log10(10^(x/10) + 10^(n/10))``, computed stably as a log-add-exp in dB.
    """

    def __init__(self, snr_db: tuple[float, float] = (20.0, 40.0), p: float = 0.3) -> None:
        super().__init__()
        self.snr_db, self.p = snr_db, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        b = x.shape[0]
        low, high = self.snr_db
        snr = low + (high - low) * torch.rand(b, device=x.device)
        noise_db = x.amax(dim=(-3, -2, -1)) - snr
        scale = 10.0 / torch.log(torch.tensor(10.0, device=x.device))
        noisy = scale * torch.logaddexp(x / scale, (noise_db / scale).view(b, 1, 1, 1))
        return torch.where(_per_sample(b, self.p, x.device).view(b, 1, 1, 1), noisy.to(x.dtype), x)


class RandomShift(nn.Module):
    """Circularly shift in time by up to ``max_frames`` frames either way."""

    def __init__(self, max_frames: int = 10, p: float = 0.5) -> None:
        super().__init__()
        self.max_frames, self.p = max_frames, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.max_frames == 0:
            return x
        b, t = x.shape[0], x.shape[-1]
        shift = torch.randint(-self.max_frames, self.max_frames + 1, (b,), device=x.device)
        shift = torch.where(_per_sample(b, self.p, x.device), shift, torch.zeros_like(shift))
        index = (torch.arange(t, device=x.device)[None] - shift[:, None]) % t  # (B, T)
        return torch.gather(x, -1, index.view(b, 1, 1, t).expand_as(x))


def mean_over_windows(encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                      window_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Clip embeddings as the mean of window embeddings.

    Parameters
    ----------
    encode : callable
        Maps (N, 1, M, T) to (N, D).
    x : torch.Tensor of shape (B, W, 1, M, T)
        W windows per clip (padded).
    window_mask : torch.Tensor of shape (B, W), bool, optional
        True for real windows; padding windows are never encoded (they would shift BatchNorm
        statistics). Every clip needs at least one real window. ``None``: all windows are real.

    Returns
    -------
    torch.Tensor of shape (B, D)
    """
    if x.dim() != 5:
        raise ParameterError(f"windowed input must be (B, W, 1, n_mels, T), got {tuple(x.shape)}")
    b, w = x.shape[:2]
    if window_mask is None:
        window_mask = torch.ones(b, w, dtype=torch.bool, device=x.device)
    window_mask = window_mask.to(torch.bool)
    counts = window_mask.sum(1)
    if bool((counts == 0).any()):
        raise ParameterError("every clip needs at least one real window (window_mask row of zeros)")
    encoded = encode(x[window_mask])  # (N, D)
    out = encoded.new_zeros(b, w, encoded.shape[-1])
    out[window_mask] = encoded
    return out.sum(1) / counts.unsqueeze(1).to(encoded.dtype)


class AudioCNN(nn.Module):
    """A CNN on log-mel spectrograms: input standardisation, four conv blocks, mean+max pooling over time.

    Each block is conv3x3-BN-ReLU-conv3x3-BN-ReLU then 2x2 average pooling (the "short-chunk CNN"
    pattern of Won et al. 2020), channels ``width * (1, 2, 4, 8)``; the frequency axis is averaged and
    time summarised by mean + max, so any T (and n_mels >= 16) works; ``out_dim = 8 * width``.

    Parameters
    ----------
    width : int
        Channels of the first block.
    augment : bool
        Train-time SpecAugment, gain, noise and shift.
    """

    def __init__(self, width: int = 32, augment: bool = True) -> None:
        super().__init__()
        if width < 1:
            raise ParameterError(f"width must be >= 1, got {width}")
        self.input_norm = nn.BatchNorm2d(1)  # log-mel dB are far from unit scale
        blocks: list[nn.Module] = []
        cin = 1
        for mult in (1, 2, 4, 8):
            cout = width * mult
            blocks += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                       nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                       nn.AvgPool2d(2, ceil_mode=True)]
            cin = cout
        self.net = nn.Sequential(*blocks)
        self.augment = nn.Sequential(RandomGain(), RandomNoise(), RandomShift(), SpecAugment()
                                     ) if augment else nn.Identity()
        self.out_dim = cin

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, M, T) log-mel dB -> (N, out_dim)."""
        if x.dim() != 4 or x.shape[1] != 1:
            raise ParameterError(f"log-mels must be (B, 1, n_mels, T), got {tuple(x.shape)}")
        h = self.net(self.input_norm(self.augment(x))).mean(dim=-2)  # (N, C, T')
        return h.mean(-1) + h.amax(-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = batch["input"]
        if x.dim() == 5:
            return mean_over_windows(self.encode, x, batch.get("window_mask"))
        return self.encode(x)
