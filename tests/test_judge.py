"""resonance.judge without a browser: the headphone stimuli, the design (trials, media, schedules, plan),
the store's rules, the analysis on simulated raters (a planted agreement recovered within its interval,
random raters finding none), the exclusion rule, and the CLI (design, simulate, export, analyze)."""

from __future__ import annotations

import json
import os
import re
import stat

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from judge_fixtures import DESIGN, copy_study
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.judge import RaterModel, Refused, load_study, open_store, planted_truth, rater_schedule
from resonance.judge.analyze import analyze_study
from resonance.judge.headphone import generate_headphone_trials, pass_threshold
from resonance.judge.simulate import simulate_into_store

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
runner = CliRunner()


def test_headphone_trials_follow_woods_2017(tmp_path):
    trials = generate_headphone_trials(tmp_path, 6, seed=3, tone_s=0.5, gap_s=0.25)
    assert pass_threshold(6) == 5 and pass_threshold(3) == 3
    assert {t.answer for t in trials} <= {1, 2, 3} and len({t.order for t in trials}) > 1
    for t in trials:
        y, sr = sf.read(t.path)
        assert y.shape[1] == 2 and sr == 44_100 and t.duration_s == pytest.approx(len(y) / sr)
        n, gap = int(0.5 * sr), int(0.25 * sr)
        tones = [y[k * (n + gap): k * (n + gap) + n] for k in range(3)]
        rms = {kind: np.sqrt(np.mean(tone ** 2)) for kind, tone in zip(t.order, tones)}
        assert rms["soft"] / rms["plain"] == pytest.approx(10 ** (-6 / 20), rel=1e-3)  # 6 dB down
        anti = tones[t.order.index("antiphase")]
        assert np.allclose(anti[:, 0], -anti[:, 1], atol=1e-4)  # cancels over loudspeakers
        plain = tones[t.order.index("plain")]
        assert np.allclose(plain[:, 0], plain[:, 1]) and np.abs(anti.sum(axis=1)).max() < 1e-3
        assert t.order[t.answer - 1] == "soft"


def test_design_selects_stratified_trials_and_opaque_media(judge_study):
    folder = judge_study["study"]
    study = load_study(folder)
    kinds = pd.Series([t["kind"] for t in study["trials"]]).value_counts().to_dict()
    assert kinds == {"rating": 40, "2afc": 12, "catch": 4, "repeat": 4, "headphone": 3}
    rating = [t for t in study["trials"] if t["kind"] == "rating"]
    assert len({(t["image"], t["sound"]) for t in rating}) == 40
    assert {t["stratum"].split("/")[1] for t in rating} == {"bin1", "bin2", "bin3", "bin4"}  # the score range
    assert {t["emotion"] for t in rating} == {"anger", "sadness", "happiness", "calm"}
    strata = pd.Series([t["stratum"] for t in rating]).value_counts()
    assert strata.max() - strata.min() <= 2  # round-robin over emotion x score-bin cells
    afc = [t for t in study["trials"] if t["kind"] == "2afc"]
    conf = [abs(t["model"][0] - t["model"][1]) for t in afc if t["confidence"] == "confident"]
    unsure = [abs(t["model"][0] - t["model"][1]) for t in afc if t["confidence"] == "unsure"]
    assert len(conf) == len(unsure) == 6 and min(conf) > max(unsure)
    for t in (t for t in study["trials"] if t["kind"] == "catch"):
        media = study["media"]
        d = [np.hypot(media[i]["valence"] - media[t["sound"]]["valence"],
                      media[i]["arousal"] - media[t["sound"]]["arousal"]) for i in t["images"]]
        assert int(np.argmin(d)) == t["answer"] and abs(d[0] - d[1]) >= 0.25
    assert all(t.get("baseline") is not None for t in rating)  # the descriptor-only baseline beside
    # media: opaque ids, nothing of the source names, hard links or copies of the study's own items
    names = sorted(os.listdir(folder / "media"))
    assert all(re.fullmatch(r"[0-9a-f]{20}\.(png|wav)", n) for n in names), names
    assert len(names) == len(study["media"])
    assert stat.S_IMODE(os.stat(folder / "links.txt").st_mode) == 0o600
    links = (folder / "links.txt").read_text().split()
    assert len(links) == DESIGN["raters"] and all(re.fullmatch(r"/r/[A-Za-z0-9_-]{32}", x) for x in links)
    store = open_store(folder)
    try:
        assert store.count("raters") == DESIGN["raters"]  # only hashes of the tokens are stored
        assert all(store.rater(x.rsplit("/", 1)[1]) for x in links)
        assert not any(x.rsplit("/", 1)[1] in (folder / "judge.sqlite").read_bytes().decode("latin-1")
                       for x in links)
    finally:
        store.close()
    plan = study["plan"]
    assert plan["planned_raters"] in [c["raters"] for c in plan["candidates"]]
    rel = [c["median_reliability"] for c in plan["candidates"]]
    assert rel == sorted(rel) and plan["recruit"] >= plan["planned_raters"]
    assert study["dataset"]["data_version"] == "test-v1" and study["checkpoint"]["sha256"]
    assert "numpy" in study["versions"]


def test_schedules_are_deterministic_balanced_and_repeat_late(judge_study):
    study = load_study(judge_study["study"])
    a, b = rater_schedule(study, 0), rater_schedule(study, 1)
    assert a == rater_schedule(study, 0) and a != b
    assert [t for t, _ in a[:3]] == ["H01", "H02", "H03"]
    assert sorted(t for t, _ in a) == sorted(t["id"] for t in study["trials"])
    for rep in (t for t in study["trials"] if t["kind"] == "repeat"):
        order = [t for t, _ in a]
        assert order.index(rep["id"]) - order.index(rep["of"]) > DESIGN.get("min_repeat_lag", 3)
    flips_a, flips_b = dict(a), dict(b)
    choice = [t["id"] for t in study["trials"] if t["kind"] in ("2afc", "catch")]
    assert all(flips_a[t] != flips_b[t] for t in choice)  # each trial's sides swap from rater to rater
    assert sum(flips_a[t] for t in choice) == len(choice) // 2  # half left, half right within a rater


def test_store_refuses_what_the_rules_forbid(judge_study, tmp_path):
    folder = copy_study(judge_study["study"], tmp_path / "study")
    study = load_study(folder)
    store = open_store(folder)
    try:
        tok_a, tok_b = store.add_raters(study, 2)
        a, b = store.rater(tok_a)["id"], store.rater(tok_b)["id"]
        assert store.rater("nope") is None
        trial = store.current(a, now=100.0)
        other = store.current(b, now=100.0)
        with pytest.raises(Refused) as e:
            store.mark_ended(a, trial["uid"], now=100.0 + trial["duration_s"] / 2)  # sooner than the clip
        assert e.value.status == 409
        with pytest.raises(Refused) as e:
            store.answer(a, trial["uid"], 1, now=100.0 + trial["duration_s"] + 1)  # never reported ended
        assert e.value.status == 409
        with pytest.raises(Refused) as e:
            store.answer(a, other["uid"], 1, now=200.0)  # another rater's trial
        assert e.value.status == 404
        store.mark_ended(a, trial["uid"], now=100.0 + trial["duration_s"])
        for bad in (0, 4, True, 2.0, "1", None):  # a headphone trial takes 1..3
            with pytest.raises(Refused) as e:
                store.answer(a, trial["uid"], bad, now=110.0)
            assert e.value.status == 422
        with pytest.raises(Refused):
            store.answer(a, trial["uid"], 1, valence=10, now=110.0)
        store.answer(a, trial["uid"], 2, now=110.0)
        with pytest.raises(Refused) as e:
            store.answer(a, trial["uid"], 2, now=111.0)
        assert e.value.status == 409 and "already" in str(e.value)
        assert store.count("answers") == 1 and store.progress(a) == (1, 63)
    finally:
        store.close()


def _simulated(judge_study, tmp_path, model: RaterModel, n: int = 30):
    folder = copy_study(judge_study["study"], tmp_path / "study")
    study = load_study(folder)
    store = open_store(folder, durable=False)
    try:
        simulate_into_store(store, study, n, model, start=1_000.0)
    finally:
        store.close()
    return study, analyze_study(folder, tmp_path / "report", n_resamples=300, seed=1)


def test_planted_agreement_is_recovered_within_its_interval(judge_study, tmp_path):
    model = RaterModel(model_weight=0.7, item_sd=0.3, seed=5)
    study, result = _simulated(judge_study, tmp_path, model)
    truth = planted_truth(study, model)
    rho = result["agreement"]["model"]["spearman"]
    assert rho["low"] <= truth["spearman_model"] <= rho["high"], (rho, truth)
    assert rho["low"] > 0 and rho["p"] < 0.01
    afc = result["agreement"]["model"]["afc"]
    assert afc["low"] <= truth["afc_agreement"] <= afc["high"] and afc["p"] < 0.01, (afc, truth)
    base = result["agreement"]["baseline"]["spearman"]
    assert base["low"] <= truth["spearman_baseline"] <= base["high"], (base, truth)
    alpha = result["reliability"]["krippendorff_alpha"]
    assert alpha["low"] > 0 and result["reliability"]["ICC(A,k)"]["low"] > 0.5
    assert set(result["agreement"]["model"]["spearman_by_emotion"]) == {"anger", "sadness", "happiness", "calm"}
    assert result["raters"]["kept"] >= 25
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "http" not in page.replace("http-equiv", "")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["study"]["checkpoint"]["sha256"] == study["checkpoint"]["sha256"] and report["versions"]


def test_random_raters_find_no_agreement_beyond_chance(judge_study, tmp_path):
    _, result = _simulated(judge_study, tmp_path, RaterModel(agreement=0.0, seed=6))
    assert result["raters"]["kept"] >= 25  # they pass the checks; their ratings follow nothing
    for system in ("model", "baseline"):
        rho, afc = result["agreement"][system]["spearman"], result["agreement"][system]["afc"]
        assert rho["low"] < 0 < rho["high"] and rho["p"] > 0.05, rho
        assert afc["low"] < 0.5 < afc["high"] and afc["p"] > 0.05, afc
    alpha = result["reliability"]["krippendorff_alpha"]
    assert alpha["low"] < 0.05 and abs(alpha["estimate"]) < 0.1


def test_exclusion_rule_drops_careless_and_loudspeaker_raters(judge_study, tmp_path):
    _, result = _simulated(judge_study, tmp_path, RaterModel(careless=0.3, no_headphones=0.3, seed=7), n=30)
    table = result["exclusions"]
    from resonance.judge.simulate import SimulatedRater

    study = load_study(tmp_path / "study")
    people = {r: SimulatedRater(study, RaterModel(careless=0.3, no_headphones=0.3, seed=7), r) for r in table["rater"]}
    loud = [r for r, p in people.items() if p.no_headphones and not p.careless]
    careless = [r for r, p in people.items() if p.careless]
    fine = [r for r, p in people.items() if not p.no_headphones and not p.careless]
    assert loud and careless and fine
    by = table.set_index("rater")
    assert all(by.loc[r, "excluded"] and "headphones" in by.loc[r, "reasons"] for r in loud)
    # a random responder passes 3 headphone trials, 3 of 4 catches and the repeats by luck now and then
    # (about 1 in 200 with this small design): most, not all, are caught
    assert np.mean([by.loc[r, "excluded"] for r in careless]) >= 0.8
    assert np.mean([not by.loc[r, "excluded"] for r in fine]) >= 0.8


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_cli_design_simulate_export_analyze(judge_study, tmp_path):
    study = tmp_path / "study"
    out = _ok(runner.invoke(app, ["judge", "design", "--checkpoint", str(judge_study["checkpoint"]), "--data",
                                  str(judge_study["dataset"]), "--out", str(study), "--n-rating", "12", "--n-2afc",
                                  "4", "--n-catch", "2", "--n-repeat", "2", "--n-headphone", "2",
                                  "--headphone-tone-s", "0.1", "--plan-simulations", "5", "--raters", "2",
                                  "--no-progress", "--device", "cpu"]))
    assert "12 rating, 4 2afc, 2 catch, 2 repeat, 2 headphone" in out and "2 rater links" in out
    again = runner.invoke(app, ["judge", "design", "--checkpoint", str(judge_study["checkpoint"]), "--data",
                                str(judge_study["dataset"]), "--out", str(study), "--device", "cpu"])
    assert again.exit_code == 2 and "already holds a study" in again.output
    assert "8 simulated raters" in _ok(runner.invoke(app, ["judge", "simulate", str(study), "--raters", "8",
                                                            "--model-weight", "0.5"]))
    for name in ("answers.parquet", "answers.csv"):
        assert "answers of 8 raters" in _ok(runner.invoke(app, ["judge", "export", str(study), "--out",
                                                                 str(tmp_path / name)]))
    frame = pd.read_parquet(tmp_path / "answers.parquet")
    assert len(frame) == 8 * 22 and not frame.duplicated(["rater", "position"]).any()
    assert "token" not in " ".join(frame.columns) and set(frame["trial_kind"]) == {"rating", "2afc", "catch",
                                                                                  "repeat", "headphone"}
    assert len(pd.read_csv(tmp_path / "answers.csv")) == len(frame)
    out = _ok(runner.invoke(app, ["judge", "analyze", str(study), "--out", str(tmp_path / "r"), "--resamples",
                                  "100"]))
    assert "Krippendorff's alpha" in out and "model: Spearman" in out and (tmp_path / "r" / "report.html").is_file()
    bad = runner.invoke(app, ["judge", "analyze", str(tmp_path), "--out", str(tmp_path / "r2")])
    assert bad.exit_code == 2 and "not a study folder" in bad.output
