"""The probes' label rules (pure functions): colour -> valence/arousal/dominance, sound cues ->
valence/arousal, and the names of the grid's factor levels.

Colour: the regression equations of Valdez & Mehrabian (1994) for standardised variables, see
:func:`colour_vad`. Sound: a linear cue model with equal unit weights on the cue directions reported
by Juslin & Laukka (2003) and Gabrielsson & Lindström (2010), see :func:`sound_va`. Both map their
standardised score to [0, 1] with the standard normal CDF (``scipy.special.ndtr``).
"""

from __future__ import annotations

import math

import numpy as np

from resonance.errors import ParameterError

__all__ = ["COLOUR_RULE", "MODES", "RULES", "SOUND_CUE_RANGES", "SOUND_RULE", "TEXTURES",
           "VALDEZ_MEHRABIAN_WEIGHTS", "colour_vad", "sound_va", "standardise_uniform"]

#: Names of the image textures, in grid order.
TEXTURES: tuple[str, ...] = ("gradient", "blobs", "stripes")
#: Names of the musical modes, in grid order.
MODES: tuple[str, ...] = ("major", "minor")

#: Rule ids as written to ``probes.csv``'s ``rule`` column, with the full ``vad_source`` text.
COLOUR_RULE = "valdez_mehrabian_1994"
SOUND_RULE = "juslin_laukka_2003_cue_model"
RULES: dict[str, str] = {
    COLOUR_RULE: (
        "Valdez & Mehrabian (1994) colour regression on standardised HSV brightness and saturation, "
        "rescaled to [0, 1] by the standard normal CDF (synthetic probe rule)"
    ),
    SOUND_RULE: (
        "Equal-weight linear cue model on the cue directions of Juslin & Laukka (2003) and "
        "Gabrielsson & Lindström (2010), rescaled to [0, 1] by the standard normal CDF "
        "(synthetic probe rule)"
    ),
}

#: Valdez & Mehrabian (1994) standardised regression weights (brightness, saturation).
VALDEZ_MEHRABIAN_WEIGHTS: dict[str, tuple[float, float]] = {
    "pleasure": (0.69, 0.22),
    "arousal": (-0.31, 0.60),
    "dominance": (-0.76, 0.32),
}

#: Reference ranges that standardise the sound cues (see :func:`standardise_uniform`). They are fixed
#: here, not taken from the generated grid, so a label does not depend on which levels are generated.
SOUND_CUE_RANGES: dict[str, tuple[float, float]] = {
    "tempo_bpm": (60.0, 160.0),
    "loudness_dbfs": (-36.0, -12.0),  # RMS level of the clip in dB re full scale
    "pitch_midi": (48.0, 72.0),  # tonic, C3 .. C5
    "timbre_brightness": (0.0, 1.0),
}


def standardise_uniform(x: float | np.ndarray, *, low: float, high: float) -> float | np.ndarray:
    """Standardise ``x`` against a uniform distribution on ``[low, high]``.

    ``z = (x - (low + high) / 2) / ((high - low) / sqrt(12))``: the mean of the uniform maps to 0 and
    its standard deviation to 1, so the design range spans about ``[-1.73, 1.73]``.

    Parameters
    ----------
    x : float or np.ndarray
        Values in the units of the range.
    low, high : float, keyword-only
        The reference range, ``low < high``.
    """
    if not high > low:
        raise ParameterError(f"reference range needs low < high, got [{low}, {high}]")
    return (np.asarray(x, dtype=np.float64) - (low + high) / 2.0) / ((high - low) / math.sqrt(12.0))


def _phi(z: float) -> float:
    """Standard normal CDF (``scipy.special.ndtr``): maps a standardised score to (0, 1), 0 to 0.5."""
    from scipy.special import ndtr  # on first use: importing the probes' adapter stays light

    return float(ndtr(float(z)))


def colour_vad(*, brightness: float, saturation: float) -> tuple[float, float, float]:
    """Valence, arousal and dominance of a colour from its brightness and saturation.

    Valdez & Mehrabian (1994) regressed standardised pleasure, arousal and dominance ratings of
    Munsell colour chips on standardised brightness ``B`` and saturation ``S``::

        Pleasure  =  .69 B + .22 S
        Arousal   = -.31 B + .60 S
        Dominance = -.76 B + .32 S

    Here ``B`` and ``S`` are the HSV value and saturation proportions in [0, 1] (a proxy for Munsell
    value and chroma), standardised against a uniform distribution on [0, 1] (mean 1/2, sd 1/sqrt 12;
    :func:`standardise_uniform`). Each predicted standardised score ``z`` is rescaled to [0, 1] by the
    standard normal CDF ``Phi(z)``: the share of a standard-normal population below ``z``. The rescaling
    keeps the sign and order of every effect and puts the population mean at 0.5. Hue effects reported
    in the paper are left out: its abstract gives their ranks, not coefficients.

    Parameters
    ----------
    brightness, saturation : float, keyword-only
        Proportions in [0, 1].

    Returns
    -------
    (valence, arousal, dominance) : tuple of float, each in (0, 1)

    Examples
    --------
    >>> v_dark, *_ = colour_vad(brightness=0.2, saturation=0.5)
    >>> v_bright, *_ = colour_vad(brightness=0.8, saturation=0.5)
    >>> v_bright > v_dark
    True
    """
    for name, value in (("brightness", brightness), ("saturation", saturation)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name}={value} must be a proportion in [0, 1]")
    zb = float(standardise_uniform(brightness, low=0.0, high=1.0))
    zs = float(standardise_uniform(saturation, low=0.0, high=1.0))
    out = []
    for key in ("pleasure", "arousal", "dominance"):
        wb, ws = VALDEZ_MEHRABIAN_WEIGHTS[key]
        out.append(_phi(wb * zb + ws * zs))
    return out[0], out[1], out[2]


def sound_va(*, loudness_dbfs: float, pitch_midi: float, timbre_brightness: float,
             tempo_bpm: float | None = None, mode: str | None = None) -> tuple[float, float]:
    """Valence and arousal of a sound from its acoustic cues, by an equal-weight linear cue model.

    Cue directions from Juslin & Laukka (2003, Table 11) and Gabrielsson & Lindström (2010):

    * arousal rises with tempo, loudness, pitch height and timbre brightness (high-frequency energy);
    * valence rises with major (vs minor) mode, faster tempo and higher pitch.

    The literature gives directions, not coefficients, so every cue has the same unit weight by
    design. Cues are standardised against a uniform distribution over the fixed reference ranges of
    :data:`SOUND_CUE_RANGES` (mode: major = +1, minor = -1, the standardised two-point uniform);
    the sum of ``k`` cues is divided by ``sqrt(k)`` (a sum of ``k`` independent standardised cues is
    standardised again) and rescaled to [0, 1] by the standard normal CDF. A cue a sound does not have
    (a steady tone has no tempo and no mode) enters as its mean, 0.

    Parameters
    ----------
    loudness_dbfs : float, keyword-only
        RMS level in dB re full scale (not a perceptual loudness).
    pitch_midi : float, keyword-only
        Pitch register as a MIDI note number (the tonic of a melody).
    timbre_brightness : float, keyword-only
        0 (dark: steep harmonic roll-off) .. 1 (bright: shallow roll-off).
    tempo_bpm : float or None, keyword-only
        Beats per minute; None for a sound without a beat.
    mode : {'major', 'minor'} or None, keyword-only
        None for a sound without a mode.

    Returns
    -------
    (valence, arousal) : tuple of float, each in (0, 1)
    """
    if mode is not None and mode not in MODES:
        raise ParameterError(f"mode={mode!r}; expected one of {MODES} or None")
    if not 0.0 <= timbre_brightness <= 1.0:
        raise ParameterError(f"timbre_brightness={timbre_brightness} must be in [0, 1]")

    def z(name: str, value: float | None) -> float:
        if value is None:
            return 0.0
        low, high = SOUND_CUE_RANGES[name]
        return float(standardise_uniform(value, low=low, high=high))

    z_tempo = z("tempo_bpm", tempo_bpm)
    z_loud = z("loudness_dbfs", loudness_dbfs)
    z_pitch = z("pitch_midi", pitch_midi)
    z_timbre = z("timbre_brightness", timbre_brightness)
    z_mode = 0.0 if mode is None else (1.0 if mode == "major" else -1.0)
    arousal_cues = (z_tempo, z_loud, z_pitch, z_timbre)
    valence_cues = (z_mode, z_tempo, z_pitch)
    valence = _phi(sum(valence_cues) / math.sqrt(len(valence_cues)))
    arousal = _phi(sum(arousal_cues) / math.sqrt(len(arousal_cues)))
    return valence, arousal
