"""Descriptor baselines of the encoder's anchor table (docs/encoder_results.md), on the same splits as the model.

* RAVDESS 8 classes, the 6 default actor-disjoint folds: multinomial logistic regression on the audio
  descriptors (:func:`resonance.evaluate.baselines.fit_modality`, the descriptor baseline of
  ``resonance evaluate``), UA and WA per fold and mean +- sd.
* EMOPIA 4 quadrants, the official song-disjoint split (``official_split``; train -> test): logistic
  regression on the 26 MFCC descriptors (13 means, 13 standard deviations) and on every audio descriptor.
* D-ViSA valence and arousal from images, the manifest's artist-disjoint split: ridge regression on the
  image descriptors (colour, texture, composition); the ridge penalty is chosen on ``val`` (train -> val),
  then the model fit on train is scored once on ``test`` (Pearson r, CCC).

Nothing here reads the test side before the settings are fixed; no setting is tuned on test::

    python benchmarks/encoder_baselines.py /tmp/enc/full --out /tmp/enc/baselines.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

QUADRANTS = {"excitement": "Q1", "anger": "Q2", "sadness": "Q3", "calm": "Q4"}


def _ua_wa(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {"UA": float(np.mean([(pred[true == c] == c).mean() for c in np.unique(true)])),
            "WA": float((pred == true).mean()), "n": int(true.size)}


def _logistic(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    return model.fit(train_x, train_y).predict(test_x)


def ravdess_folds(dataset: Path, audio: pd.DataFrame, manifest: pd.DataFrame) -> dict:
    from resonance.data.emotion import CATEGORIES
    from resonance.evaluate.baselines import fit_modality
    from resonance.train.folds import default_folds, fold_splits

    m = manifest.copy()
    m["category"] = np.array(CATEGORIES)[m[[f"p_{c}" for c in CATEGORIES]].fillna(0).to_numpy().argmax(1)]
    plan = default_folds(m)
    rows = []
    for fold in plan.folds:
        split = fold_splits(m, plan, fold)
        a = m[(m.modality == "audio") & (m.corpus == "ravdess")]
        tr, te = a[split[a.index] == "train"], a[split[a.index] == "test"]
        probs, _, _ = fit_modality(audio.loc[tr.id].to_numpy(), tr.category.to_numpy(),
                                   tr[["valence", "arousal"]].to_numpy(), audio.loc[te.id].to_numpy())
        pred = np.array(CATEGORIES)[probs.argmax(1)]
        rows.append({"fold": fold.index, **_ua_wa(te.category.to_numpy(), pred)})
    ua = np.array([r["UA"] for r in rows])
    wa = np.array([r["WA"] for r in rows])
    return {"folds": rows, "UA_mean": float(ua.mean()), "UA_sd": float(ua.std(ddof=1)),
            "WA_mean": float(wa.mean()), "WA_sd": float(wa.std(ddof=1))}


def emopia(audio: pd.DataFrame, manifest: pd.DataFrame) -> dict:
    e = manifest[(manifest.corpus == "emopia") & manifest.official_split.isin(["train", "test"])]
    y = e.emotion.map(QUADRANTS).to_numpy()
    tr, te = (e.official_split == "train").to_numpy(), (e.official_split == "test").to_numpy()
    out = {"n_train": int(tr.sum()), "n_test": int(te.sum())}
    mfcc = [c for c in audio.columns if c.startswith("mfcc_")]
    for name, cols in (("mfcc_lr", mfcc), ("all_audio_descriptors_lr", list(audio.columns))):
        x = audio.loc[e.id, cols].to_numpy()
        out[name] = {**_ua_wa(y[te], _logistic(x[tr], y[tr], x[te])), "n_features": len(cols)}
    return out


def dvisa_ridge(image: pd.DataFrame, manifest: pd.DataFrame) -> dict:
    from scipy.stats import pearsonr
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from resonance.evaluate.probes import concordance_correlation

    d = manifest[manifest.corpus == "dvisa"]
    part = {s: d[d.split == s] for s in ("train", "val", "test")}
    x = {s: image.loc[p.id].to_numpy() for s, p in part.items()}
    out: dict = {"n": {s: len(p) for s, p in part.items()},
                 "groups": {s: int(p.group.nunique()) for s, p in part.items()}}
    for target in ("valence", "arousal"):
        y = {s: p[target].to_numpy(dtype=float) for s, p in part.items()}

        def fit(alpha: float, y: dict = y):
            model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), Ridge(alpha=alpha))
            return model.fit(x["train"], y["train"])

        alphas = [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]
        val_r = {a: float(pearsonr(y["val"], fit(a).predict(x["val"]))[0]) for a in alphas}
        best = max(val_r, key=val_r.get)
        pred = fit(best).predict(x["test"])
        out[target] = {"alpha_chosen_on_val": best, "val_r": val_r, "test_r": float(pearsonr(y["test"], pred)[0]),
                       "test_ccc": float(concordance_correlation(y["test"], pred))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--features", type=Path, default=None)
    args = parser.parse_args()

    from resonance.data.manifest import read_manifest
    from resonance.evaluate.protocol import read_descriptor_tables

    started = time.perf_counter()
    manifest = read_manifest(args.dataset)
    features = args.features or args.dataset / "features.parquet"
    tables, _ = read_descriptor_tables(features, set(manifest["id"]))
    result: dict = {"dataset": str(args.dataset), "data_version": manifest.attrs["manifest"].data_version}
    corpora = set(manifest.corpus)
    if "ravdess" in corpora:
        result["ravdess_6_actor_folds_lr"] = ravdess_folds(args.dataset, tables["audio"], manifest)
    if "emopia" in corpora:
        result["emopia_official_split"] = emopia(tables["audio"], manifest)
    if "dvisa" in corpora:
        result["dvisa_va_ridge"] = dvisa_ridge(tables["image"], manifest)
    result["seconds"] = round(time.perf_counter() - started, 1)
    from resonance.io.atomic import write_text_atomic

    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
