#!/usr/bin/env python
"""Which audio descriptors does Opus coding distort? FLAC vs Ogg Opus copies of the same recordings.

The shared data holds RAVDESS actors 01-02 (120 recordings) twice: lossless FLAC
(``ravdess_flac/``) and Ogg Opus at ~32 kbit/s VBR (``ravdess/``), made with the same resampler, so
the only difference is the codec. For every audio descriptor this script computes, across the 120
clips:

* **Spearman's rho** between the FLAC and the Opus values (does the codec keep the clips' order?);
* **ICC(A,1)** -- two-way, absolute agreement, single measurement, McGraw & Wong (1996) case 2A,
  = Shrout & Fleiss (1979) ICC(2,1) -- and **ICC(C,1)** -- consistency, = Shrout & Fleiss ICC(3,1)
  (does the codec keep the *values*, up to a shift for C?);
* the **standardised bias**: mean(Opus - FLAC) / SD of the FLAC values across clips.

A descriptor is *codec-sensitive* when rho < 0.9 or ICC(A,1) < 0.9 (:data:`THRESHOLD`): the codec
then moves clips by a large fraction of the spread between clips, so Opus-coded and lossless corpora
must not be pooled on it without care. Pairs where either value is NaN (a documented undefined case,
e.g. F0 of an unvoiced clip) are left out of that descriptor's statistics; ``n`` says how many remain.

Writes ``docs/codec_robustness.md`` (the table) and ``handcrafted/codec_sensitive.txt`` (one name a
line), which the registry's ``codec_sensitive`` flag is set from. Run from the repository root::

    python benchmarks/codec_robustness.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

THRESHOLD = 0.9
#: Bootstrap resamples for the 95 % intervals.
BOOTSTRAP = 2000
ROOT = Path(__file__).resolve().parents[1]


def icc(ratings: np.ndarray) -> tuple[float, float]:
    """ICC(A,1) and ICC(C,1) of ``(n_subjects, k_raters)`` ratings, by ``pingouin.intraclass_corr``.

    ICC(A,1): two-way random effects, absolute agreement, single measurement (pingouin's ``ICC(A,1)``, ``ICC2`` before 0.7,
    Shrout & Fleiss ICC(2,1), McGraw & Wong case 2A); ICC(C,1): consistency (``ICC(C,1)``/``ICC3``, Shrout & Fleiss
    ICC(3,1)). References: Shrout & Fleiss (1979), Psychol. Bull. 86(2):420-428; McGraw & Wong
    (1996), Psychol. Methods 1(1):30-46. NaN where the ratings have no variance at all.
    """
    import pingouin

    x = np.asarray(ratings, dtype=np.float64)
    n, k = x.shape
    if not np.ptp(x) > 0:
        return float("nan"), float("nan")
    long = pd.DataFrame({"subject": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
                         "rating": x.ravel()})
    table = pingouin.intraclass_corr(long, targets="subject", raters="rater", ratings="rating").set_index("Type")
    # pingouin >= 0.7 labels them ICC(A,1) / ICC(C,1), earlier versions ICC2 / ICC3
    agreement, consistency = (("ICC(A,1)", "ICC(C,1)") if "ICC(A,1)" in table.index else ("ICC2", "ICC3"))
    return float(table.loc[agreement, "ICC"]), float(table.loc[consistency, "ICC"])


def _icc_agreement_batch(x: np.ndarray) -> np.ndarray:
    """ICC(A,1) of ``(..., n_subjects, k_raters)`` ratings from the two-way ANOVA mean squares, over
    any leading (bootstrap) axes at once; pingouin computes one table per call, 2000 resamples x 54
    descriptors would take minutes. :func:`_check_icc` holds it equal to pingouin.

    ICC(A,1) = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)
    """
    n, k = x.shape[-2:]
    grand = x.mean(axis=(-2, -1), keepdims=True)
    rows, cols = x.mean(axis=-1, keepdims=True), x.mean(axis=-2, keepdims=True)
    msr = k * ((rows - grand) ** 2).sum(axis=(-2, -1)) / (n - 1)
    msc = n * ((cols - grand) ** 2).sum(axis=(-2, -1)) / (k - 1)
    mse = ((x - rows - cols + grand) ** 2).sum(axis=(-2, -1)) / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (msr - mse) / denominator, np.nan)


def bootstrap_ci(a: np.ndarray, b: np.ndarray, *, n_resamples: int = BOOTSTRAP, seed: int = 0
                 ) -> tuple[tuple[float, float], tuple[float, float]]:
    """95 % percentile bootstrap intervals of Spearman's rho and ICC(A,1), resampling clips (pairs),
    by ``scipy.stats.bootstrap`` (paired, vectorised over the resamples)."""
    from scipy.stats import bootstrap, rankdata

    def spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        rx, ry = rankdata(x, axis=axis), rankdata(y, axis=axis)
        rx -= rx.mean(axis=axis, keepdims=True)
        ry -= ry.mean(axis=axis, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rx * ry).sum(axis) / np.sqrt((rx * rx).sum(axis) * (ry * ry).sum(axis))

    def agreement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return _icc_agreement_batch(np.stack([np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)], axis=-1))

    intervals = []
    for statistic in (spearman, agreement):
        result = bootstrap((a, b), statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                           method="percentile", confidence_level=0.95, rng=np.random.default_rng(seed))
        intervals.append((float(result.confidence_interval.low), float(result.confidence_interval.high)))
    return intervals[0], intervals[1]


def _check_icc() -> None:
    """Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(2,1) = .29, ICC(3,1) = .71; and the
    batch formula of the bootstrap equal to pingouin on random ratings."""
    table = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    agreement, consistency = icc(table)
    if not (abs(agreement - 0.29) < 0.005 and abs(consistency - 0.71) < 0.005):
        raise AssertionError(f"ICC broken: got {agreement:.3f}, {consistency:.3f}; expected .29, .71")
    ratings = np.random.default_rng(0).normal(size=(40, 2)) + np.linspace(0, 3, 40)[:, None]
    if not abs(float(_icc_agreement_batch(ratings)) - icc(ratings)[0]) < 1e-12:
        raise AssertionError("the bootstrap's ICC(A,1) formula disagrees with pingouin")


def pairs(data: Path) -> pd.DataFrame:
    """The 120 recordings: ``id`` (actor/stem), the FLAC path and the Opus path."""
    rows = []
    for flac in sorted((data / "ravdess_flac").rglob("*.flac")):
        relative = flac.relative_to(data / "ravdess_flac").with_suffix(".ogg")
        opus = data / "ravdess" / relative
        if opus.is_file():
            rows.append({"id": relative.with_suffix("").as_posix(), "flac": str(flac), "opus": str(opus)})
    if not rows:
        raise SystemExit(f"no FLAC/Opus pairs under {data} (ravdess_flac/ and ravdess/)")
    return pd.DataFrame(rows)


def features(paths: pd.DataFrame, column: str, work: Path) -> pd.DataFrame:
    """Audio descriptors of every file in ``paths[column]``, through the extraction pipeline."""
    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.io import sha256_file

    manifest = pd.DataFrame({"id": paths["id"], "modality": "audio", "path": paths[column]})
    manifest["sha256"] = [sha256_file(p) for p in manifest["path"]]
    work.mkdir(parents=True, exist_ok=True)
    manifest.to_parquet(work / f"manifest_{column}.parquet", index=False)
    out = work / f"features_{column}.parquet"
    result = extract_features(work / f"manifest_{column}.parquet", out,
                              ExtractConfig(modality="audio", progress=False))
    print(f"{column}: {result.summary()}", file=sys.stderr)
    if result.failed:
        print(pd.read_csv(result.failures_file).to_string(), file=sys.stderr)
    return pd.read_parquet(out).set_index("id")


def agreement(flac: pd.DataFrame, opus: pd.DataFrame) -> pd.DataFrame:
    """One row per descriptor: n, Spearman rho, ICC(A,1), ICC(C,1), standardised bias, sensitive."""
    from scipy.stats import spearmanr

    from handcrafted.registry import REGISTRY

    common = flac.index.intersection(opus.index)
    rows = []
    for descriptor in REGISTRY.select("audio"):
        a = flac.loc[common, descriptor.name].to_numpy(np.float64)
        b = opus.loc[common, descriptor.name].to_numpy(np.float64)
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
        degenerate = a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0
        rho = float("nan") if degenerate else float(spearmanr(a, b).statistic)
        icc_a, icc_c = (float("nan"), float("nan")) if degenerate else icc(np.column_stack([a, b]))
        nan2 = (float("nan"), float("nan"))
        rho_ci, icc_ci = (nan2, nan2) if degenerate else bootstrap_ci(a, b)
        spread = a.std(ddof=1) if a.size > 1 else float("nan")
        bias = float((b - a).mean() / spread) if spread > 0 else float("nan")
        # degenerate (constant) descriptors cannot be judged: they are not flagged, but marked
        sensitive = (not degenerate) and (rho < THRESHOLD or icc_a < THRESHOLD)
        rows.append({"descriptor": descriptor.name, "group": descriptor.group, "n": int(a.size),
                     "rho": rho, "rho_lo": rho_ci[0], "rho_hi": rho_ci[1], "icc_a1": icc_a,
                     "icc_lo": icc_ci[0], "icc_hi": icc_ci[1], "icc_c1": icc_c, "bias_sd": bias,
                     "sensitive": sensitive, "degenerate": degenerate})
    return pd.DataFrame(rows)


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def render(table: pd.DataFrame, n_pairs: int) -> str:
    from importlib.metadata import version

    sensitive = table[table["sensitive"]]
    lines = [
        "# Codec robustness of the audio descriptors",
        "",
        "*Generated by `python benchmarks/codec_robustness.py`; do not edit by hand.*",
        "",
        f"**Data.** The {n_pairs} RAVDESS recordings of actors 01 and 02, decoded from lossless FLAC "
        "(`ravdess_flac/`) and from Ogg Opus at about 32 kbit/s VBR (`ravdess/`), both 16 kHz mono from the "
        "same resampler, so the only difference is the Opus coding. Every descriptor of "
        "`handcrafted.REGISTRY.select(\"audio\")` was computed on both copies with "
        "`handcrafted.extract.extract_features` (librosa "
        f"{version('librosa')}, numpy {version('numpy')}).",
        "",
        "**Statistics**, per descriptor across the clips (pairs with a NaN on either side, a documented "
        "undefined case, are left out; `n` is what remains):",
        "",
        "* `rho`: Spearman rank correlation between the FLAC and the Opus values (scipy.stats.spearmanr).",
        "* `ICC(A,1)`: two-way intraclass correlation, absolute agreement, single measurement "
        "(McGraw & Wong 1996, case 2A; Shrout & Fleiss 1979 ICC(2,1)), and `ICC(C,1)` the consistency "
        "version (Shrout & Fleiss ICC(3,1)), both from the two-way ANOVA mean squares "
        "(`pingouin.intraclass_corr`, checked against Shrout & Fleiss's Table 2).",
        "* `bias (SD)`: mean(Opus - FLAC) divided by the SD of the FLAC values across clips.",
        f"* Brackets: 95 % percentile bootstrap intervals (`scipy.stats.bootstrap`, {BOOTSTRAP} paired "
        "resamples of the clips, seed 0). "
        "The rule uses the point estimates; an interval that straddles the threshold marks a borderline "
        "descriptor, whose flag another sample of recordings could flip.",
        "",
        f"**Rule.** A descriptor is *codec-sensitive* when `rho < {THRESHOLD}` or `ICC(A,1) < {THRESHOLD}`: "
        "then the codec moves clips by a sizeable fraction of the differences between clips, and "
        "lossless and Opus-coded audio should not be pooled or compared on it without care. 0.9 is the "
        "usual lower bound of *excellent* reliability (Koo & Li 2016, J. Chiropr. Med. 15(2):155-163). "
        "A descriptor constant across the clips cannot be judged and is marked `n/a`, not flagged.",
        "",
        f"**Result.** {len(sensitive)} of {len(table)} audio descriptors are codec-sensitive"
        + (": " + ", ".join(f"`{n}`" for n in sensitive["descriptor"]) + "." if len(sensitive) else "."),
        "Their names are in `handcrafted/codec_sensitive.txt`, from which the registry's `codec_sensitive` "
        "flag is set.",
        "",
        "| descriptor | group | n | rho [95 % CI] | ICC(A,1) [95 % CI] | ICC(C,1) | bias (SD) | codec-sensitive |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in table.itertuples(index=False):
        flag = "n/a (constant)" if row.degenerate else ("**yes**" if row.sensitive else "no")
        borderline = (row.rho_lo < THRESHOLD <= row.rho_hi) or (row.icc_lo < THRESHOLD <= row.icc_hi)
        if borderline and not row.degenerate:
            flag += " (borderline)"
        lines.append(f"| `{row.descriptor}` | {row.group} | {row.n} | {_fmt(row.rho)} "
                     f"[{_fmt(row.rho_lo)}, {_fmt(row.rho_hi)}] | {_fmt(row.icc_a1)} "
                     f"[{_fmt(row.icc_lo)}, {_fmt(row.icc_hi)}] | "
                     f"{_fmt(row.icc_c1)} | {_fmt(row.bias_sd, 2)} | {flag} |")
    lines += ["", f"*{n_pairs} pairs. The table is regenerated by the script; the feature tables it "
              "computes are kept (and reused) in `outputs/codec_robustness/`.*", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $RESONANCE_DATA)")
    parser.add_argument("--work", type=Path, default=ROOT / "outputs" / "codec_robustness",
                        help="where the two feature tables are kept (reused on a re-run)")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "codec_robustness.md")
    parser.add_argument("--names", type=Path, default=ROOT / "handcrafted" / "codec_sensitive.txt")
    args = parser.parse_args(argv)

    from resonance.io import write_text_atomic
    from resonance.paths import data_root

    _check_icc()
    paths = pairs(args.data or data_root())
    flac = features(paths, "flac", args.work)
    opus = features(paths, "opus", args.work)
    table = agreement(flac, opus)
    write_text_atomic(args.doc, render(table, len(paths)))
    names = table.loc[table["sensitive"], "descriptor"].tolist()
    write_text_atomic(args.names, "".join(f"{n}\n" for n in names))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(names)} of {len(table)} descriptors codec-sensitive -> {args.names}; table -> {args.doc}")


if __name__ == "__main__":
    main()
