"""Controlled synthetic probe stimuli: abstract images and sounds whose emotional cues vary on a grid.

The probes are the embedded default dataset. Every stimulus is generated from a handful of named
parameters, and its emotion label follows from those parameters by a published rule, so a model (or a
descriptor) can be checked against cues that are known by construction.

Images
------
Abstract compositions (a colour field and a few soft or hard-edged shapes) of one hue family. Mean
HSV brightness (value) and mean HSV saturation are *controlled*: the pixels vary around them, and the
mean of the decoded image equals the parameter to within 8-bit quantisation. Textures:

* ``gradient`` -- a smooth linear brightness ramp and soft-edged shapes;
* ``blobs`` -- low-pass filtered noise (soft blobs) modulating brightness and saturation;
* ``stripes`` -- sharp square-wave stripes and fine pixel noise, hard-edged shapes.

Sounds
------
Short melodies (eighth notes, the tonic triad first so the mode is heard) and single steady tones.
Tempo, mode, RMS level, register (tonic MIDI note) and timbre brightness (the spectral roll-off of
the harmonics) vary on a grid. Notes have raised-cosine attacks and releases, so nothing clicks.

Labels
------
Colour: the regression equations of Valdez & Mehrabian (1994) for standardised variables, see
:func:`colour_vad`. Sound: a linear cue model with equal unit weights on the cue directions reported
by Juslin & Laukka (2003) and Gabrielsson & Lindström (2010), see :func:`sound_va`. Both map their
standardised score to [0, 1] with the standard normal CDF. Every label is marked ``synthetic``.

Modules: :mod:`~resonance.data.probes.rules` (the label rules), :mod:`~resonance.data.probes.grid`
(the configuration and its table), :mod:`~resonance.data.probes.images` and
:mod:`~resonance.data.probes.sounds` (the renderers); this module writes them (:func:`generate_probes`).

References
----------
.. [1] Valdez, P., & Mehrabian, A. (1994). Effects of color on emotions. Journal of Experimental
       Psychology: General, 123(4), 394-409. https://doi.org/10.1037/0096-3445.123.4.394
.. [2] Juslin, P. N., & Laukka, P. (2003). Communication of emotions in vocal expression and music
       performance: Different channels, same code? Psychological Bulletin, 129(5), 770-814.
.. [3] Gabrielsson, A., & Lindström, E. (2010). The role of structure in the musical expression of
       emotions. In P. N. Juslin & J. A. Sloboda (Eds.), Handbook of Music and Emotion (pp. 367-400).
       Oxford University Press.
"""

from __future__ import annotations

import time
from pathlib import Path

from resonance.data.probes.grid import CONFIG_FILE, CSV_COLUMNS, ProbeConfig, ProbeSet, probe_table
from resonance.data.probes.images import render_image, write_png
from resonance.data.probes.rules import (
    COLOUR_RULE,
    MODES,
    RULES,
    SOUND_CUE_RANGES,
    SOUND_RULE,
    TEXTURES,
    VALDEZ_MEHRABIAN_WEIGHTS,
    colour_vad,
    sound_va,
    standardise_uniform,
)
from resonance.data.probes.sounds import melody_degrees, render_sound, write_flac
from resonance.errors import ParameterError
from resonance.io.atomic import write_text_atomic

__all__ = ["COLOUR_RULE", "CSV_COLUMNS", "MODES", "RULES", "SOUND_CUE_RANGES", "SOUND_RULE", "TEXTURES",
           "VALDEZ_MEHRABIAN_WEIGHTS", "ProbeConfig", "ProbeSet", "colour_vad", "generate_probes",
           "melody_degrees", "probe_table", "render_image", "render_sound", "sound_va", "standardise_uniform"]


def generate_probes(out_dir: str | Path, config: ProbeConfig = ProbeConfig(), *,  # noqa: B008 (frozen)
                    overwrite: bool = False) -> ProbeSet:
    """Write the probe images, sounds and ``probes.csv`` for ``config`` into ``out_dir``.

    Layout: ``out_dir/images/*.png`` (lossless RGB), ``out_dir/sounds/*.flac`` (16-bit mono),
    ``out_dir/probes.csv`` (one row per stimulus, columns :data:`CSV_COLUMNS`) and
    ``out_dir/probes_config.json``. The same config gives byte-identical files. Every write is atomic.

    Parameters
    ----------
    out_dir : path-like
        Folder to fill; created if missing.
    config : ProbeConfig
        The grid and seed.
    overwrite : bool, keyword-only
        If False (default), stimulus files that already exist are kept (a re-run is fast), and a
        folder made with a different config is refused. If True, every listed file is rewritten
        (files of an earlier config that the new grid does not list are left in place).

    Returns
    -------
    ProbeSet

    Raises
    ------
    ParameterError
        If ``out_dir`` holds probes of another config and ``overwrite`` is False.
    """
    start = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_FILE
    if config_path.is_file() and not overwrite:
        if config_path.read_text(encoding="utf-8") != config.to_json():
            raise ParameterError(
                f"{root} holds probes of a different ProbeConfig ({config_path}); "
                "pass overwrite=True or choose an empty folder"
            )
    table = probe_table(config)
    written = skipped = 0
    # Record the config first: an interrupted run leaves a folder whose files all match it.
    write_text_atomic(config_path, config.to_json())
    for row in table.itertuples(index=False):
        target = root / row.file
        if target.is_file() and not overwrite:
            skipped += 1
            continue
        if row.modality == "image":
            rgb = render_image(hue_deg=row.hue_deg, saturation=row.saturation,
                               brightness=row.brightness, texture=row.texture, layout=int(row.layout),
                               size=config.image_size, seed=config.seed)
            write_png(target, rgb)
        else:
            y = render_sound(kind=row.kind, register_midi=int(row.register_midi),
                             timbre_brightness=row.timbre_brightness,
                             loudness_dbfs=row.loudness_dbfs,
                             tempo_bpm=None if row.kind == "tone" else row.tempo_bpm,
                             mode=row.mode or None, melody=int(row.melody),
                             duration_s=config.duration_s, sr=config.sample_rate, seed=config.seed)
            write_flac(target, y, config.sample_rate)
        written += 1
    write_text_atomic(root / "probes.csv", table.to_csv(index=False, float_format="%.6f",
                                                        lineterminator="\n"))
    return ProbeSet(root, config, table, written, skipped, time.perf_counter() - start)
