"""Why does this painting align with this sound? One pair explained from the files themselves
(``resonance attribute pair``): IG over both descriptor vectors (train-mean baseline) and the
integrated-Jacobian pair matrix where the towers read descriptors (descriptor or hybrid), and IG maps on
the pixels and log-mel bins where they read raw inputs (hybrid or deep), drawn over the painting and the
spectrogram and grouped into named features. Every number carries its completeness error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def explain_pair(checkpoint: str | Path, image: str | Path, sound: str | Path, *, n_steps: int = 64,
                 overlay_steps: int = 32, overlay_max_steps: int = 256, top: int = 5,
                 html: str | Path | None = None) -> dict[str, Any]:
    """The numbers of one pair (and, with ``html``, a self-contained page with the overlays)."""
    import pandas as pd

    from attribution.encode import has_descriptor_inputs, has_raw_inputs
    from attribution.ig import integrated_gradients
    from attribution.overlays import OVERLAY_BASELINE, grouped, overlay_figure, raw_input_attributions
    from attribution.pairwise import integrated_jacobians
    from attribution.run import load_for_attribution
    from attribution.targets import alignment
    from resonance.errors import ParameterError
    from resonance.evaluate.embed import FrameDataset, input_params, model_descriptor_names
    from resonance.evaluate.protocol import train_config_of
    from resonance.train.data import collate

    for path in (image, sound):
        if not Path(path).is_file():
            raise ParameterError(f"{path} is not a file")
    model, ckpt = load_for_attribution(checkpoint)
    frame = pd.DataFrame([{"id": "image", "modality": "image", "path": str(Path(image).resolve())},
                          {"id": "sound", "modality": "audio", "path": str(Path(sound).resolve())}])
    image_params, audio_params = input_params(train_config_of(ckpt))
    dataset = FrameDataset(frame, image_params, audio_params, descriptor_names=model_descriptor_names(model),
                           describe=True)
    items = [dataset[0], dataset[1]]
    parts = {"image": collate([items[0]])["image"], "audio": collate([items[1]])["audio"]}
    out: dict[str, Any] = {"image": str(image), "sound": str(sound)}
    figures: list[str] = []
    if all(has_descriptor_inputs(model, m) for m in ("image", "audio")):
        ig = integrated_gradients(model, alignment(), parts, n_steps=n_steps)
        ij = integrated_jacobians(model, parts, n_steps=n_steps)
        out.update({"alignment": float(ig.score[0]), "baseline_alignment": float(ig.baseline_score[0]),
                    "ig_delta": float(ig.delta[0]), "ig_relative_delta": float(ig.relative_delta[0]),
                    "pair_delta": float(ij.delta[0]), "interaction_part": float(ij.score[0])})
        for m in ("image", "audio"):
            a = ig.attributions[m]["descriptors"][0]
            order = np.argsort(-np.abs(a))[:top]
            out[f"top_{m}"] = [(ig.feature_names[m][i], float(a[i])) for i in order]
        mat = ij.attributions["pair"]["matrix"][0]
        order = np.argsort(-np.abs(mat), axis=None)[:top]
        out["top_pairs"] = [(ij.feature_names["image"][k // mat.shape[1]],
                             ij.feature_names["audio"][k % mat.shape[1]], float(mat.flat[k])) for k in order]
    if all(has_raw_inputs(model, m) for m in ("image", "audio")):
        raw = raw_input_attributions(model, alignment(), parts, n_steps=overlay_steps,
                                     max_steps=max(overlay_max_steps, overlay_steps))
        out.setdefault("alignment", float(raw.score[0]))
        out["raw"] = {"baselines": dict(OVERLAY_BASELINE), "n_steps": int(raw.extras["n_steps"][0]),
                      "converged": bool(raw.extras["converged"][0]),
                      "baseline_alignment": float(raw.baseline_score[0]), "delta": float(raw.delta[0]),
                      "relative_delta": float(raw.relative_delta[0])}
        for m in ("image", "audio"):
            a, x = raw.attributions[m]["input"], parts[m]["input"].numpy()
            out["raw"][f"grouped_{m}"] = {g: float(v[0]) for g, v in grouped(m, a, x).items()}
            if html is not None:
                from attribution.report_pages import png

                figures.append(png(overlay_figure(m, x[0], a[0], f"{m}: IG from {OVERLAY_BASELINE[m]} "
                                                  f"(completeness error {100 * raw.relative_delta[0]:.2f} % at "
                                                  f"{out['raw']['n_steps']} steps)")))
    if html is not None:
        _write_page(out, figures, html)
    return out


def _write_page(out: dict[str, Any], figures: list[str], html: str | Path) -> None:
    from attribution.report_pages import document, esc, grouped_bars
    from resonance.io import write_text_atomic

    body = [f"<h1>s({esc(Path(out['image']).name)}, {esc(Path(out['sound']).name)}) = {out['alignment']:+.3f}</h1>"]
    for m in ("image", "audio"):
        if f"top_{m}" in out:
            body.append(f"<p>{m} descriptors (IG): " + ", ".join(f"{esc(n)} {v:+.3f}" for n, v in out[f"top_{m}"])
                        + "</p>")
    if "top_pairs" in out:
        body.append("<p>pairs (integrated Jacobians): " + ", ".join(f"{esc(a)} x {esc(b)} {v:+.3f}"
                                                                   for a, b, v in out["top_pairs"]) + "</p>")
    body += [f"<img src='{f}'>" for f in figures]
    if "raw" in out:
        body += [f"<img src='{grouped_bars(out['raw'][f'grouped_{m}'], f'{m}: grouped IG')}'>"
                 for m in ("image", "audio")]
    write_text_atomic(html, document("attribution: one pair", "".join(body)))
