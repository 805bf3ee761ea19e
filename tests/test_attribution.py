"""Attribution (issue 14): the planted-cause acceptance test, completeness of IG and integrated
Jacobians, baselines in input space, surrogate fidelity, regression, sanity checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from attribution import (  # noqa: E402
    adaptive_integrated_gradients,
    alignment,
    cascading_randomisation,
    category_logit,
    deletion_insertion,
    descriptor_ranking,
    faithfulness_correlation,
    integrated_gradients,
    integrated_jacobians,
    layer_integrated_gradients,
    make_baseline,
    pair_ranking,
    pair_table,
    prototype_alignment,
    shap_surrogate,
    standardised_regression,
    valence,
)
from attribution.planted import PLANTED, train_planted  # noqa: E402
from resonance.errors import ParameterError  # noqa: E402
from resonance.train.data import collate  # noqa: E402

IMAGE_CAUSE, AUDIO_CAUSE = PLANTED


def _pairs(items, n=48, seed=0):
    imgs = [it for it in items if it["modality"] == "image"][:n]
    auds = [it for it in items if it["modality"] == "audio"][:n]
    order = np.random.default_rng(seed).permutation(len(auds))
    auds = [auds[i] for i in order]
    return {"image": collate(imgs)["image"], "audio": collate(auds)["audio"]}


def _rankings(model, test):
    """First-ranked image descriptor, sound descriptor and pair by SHAP, regression and integrated Jacobians."""
    tab = pair_table(model, test, 500)
    blocks = {"image": tab["image"], "audio": tab["audio"]}
    shap_r = shap_surrogate(blocks, tab["score"], tab["names"], max_explain=120, n_estimators=150)
    reg = standardised_regression(blocks, tab["score"], tab["names"], interactions=True)
    ij = integrated_jacobians(model, _pairs(test, 64), n_steps=16)
    return {
        "shap": (shap_r.ranking("image")[0], shap_r.ranking("audio")[0], pair_ranking(shap_r)[0][:2]),
        "regression": (descriptor_ranking(reg, "image")[0], descriptor_ranking(reg, "audio")[0],
                       tuple(reg.ranking()[0].replace("image:", "").replace("audio:", "").split(" x "))),
        "pairwise": (pair_ranking(ij)[0][0], pair_ranking(ij)[0][1], pair_ranking(ij)[0][:2]),
        "fidelity_r2": shap_r.extras["fidelity_r2"], "interpretable": shap_r.extras["interpretable"],
        "shap_local_accuracy": float(np.abs(shap_r.delta).max()), "ij": ij,
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return train_planted(str(tmp_path_factory.mktemp("planted")), steps=300, seed=0)


def test_planted_cause_is_ranked_first_by_shap_regression_and_pair_matrix(planted):
    model, test = planted
    r = _rankings(model, test)
    for method in ("shap", "regression", "pairwise"):
        image_top, audio_top, pair_top = r[method]
        assert image_top == IMAGE_CAUSE, (method, r[method])
        assert audio_top == AUDIO_CAUSE, (method, r[method])
        assert tuple(pair_top) == (IMAGE_CAUSE, AUDIO_CAUSE), (method, r[method])
    assert r["interpretable"] and r["fidelity_r2"] >= 0.5
    assert r["shap_local_accuracy"] < 1e-6  # TreeSHAP is exact: its "delta" is rounding only
    ij = r["ij"]
    assert np.all(np.abs(ij.delta) <= 1e-2 * np.abs(ij.score).max())


def test_shuffled_labels_rank_the_planted_pair_no_better_than_chance(tmp_path):
    firsts = []
    low_fidelity = 0
    for seed in (1, 2, 3):
        model, test = train_planted(str(tmp_path / f"s{seed}"), steps=300, seed=seed, shuffle=True)
        r = _rankings(model, test)
        firsts.append(sum(tuple(r[m][2]) == PLANTED for m in ("shap", "regression", "pairwise")))
        low_fidelity += not r["interpretable"]
    # with 8 x 8 candidate pairs, chance puts the planted pair first 1/64 of the time; demand that it is
    # not first for most methods on most seeds (the planted model has it first 3/3)
    assert sum(firsts) <= 3, firsts


def test_ig_completeness_delta_is_small_and_reported(planted):
    model, test = planted
    parts = _pairs(test)
    r = integrated_gradients(model, alignment(), parts, n_steps=64)
    assert r.delta.shape == (48,)
    assert np.median(r.relative_delta) < 1e-2
    assert np.quantile(r.relative_delta, 0.9) < 1e-2
    # Captum's delta is sum(attr) - (f(x) - f(baseline)): check it against our own bookkeeping
    total = r.attributions["image"]["descriptors"].sum(1) + r.attributions["audio"]["descriptors"].sum(1)
    np.testing.assert_allclose(total - (r.score - r.baseline_score), r.delta, atol=1e-5)
    coarse = integrated_gradients(model, alignment(), parts, n_steps=2, integration="riemann_trapezoid")
    assert np.abs(coarse.delta).mean() > np.abs(r.delta).mean()  # the error is measured, not assumed
    s = r.summary()
    assert s["relative_delta_median"] is not None and "image_mean_abs" in s


def test_ig_on_prototype_va_category_targets_concentrates_on_the_cause(planted):
    model, test = planted
    parts = {"image": _pairs(test)["image"]}
    proto = prototype_alignment("happiness", "image", model, test)
    r = integrated_gradients(model, proto, parts, n_steps=32)
    assert r.ranking("image")[0] == IMAGE_CAUSE
    assert "happiness prototype" in r.target
    for target in (valence("image"), category_logit("happiness", "image")):
        out = integrated_gradients(model, target, parts, n_steps=32)
        assert np.median(out.relative_delta) < 1e-2
    with pytest.raises(ParameterError, match="no audio items of emotion 'anger'"):
        prototype_alignment("anger", "image", model, test)


def test_layer_ig_on_projection_head(planted):
    model, test = planted
    r = layer_integrated_gradients(model, alignment(), _pairs(test, 16), "image", n_steps=32)
    assert r.attributions["image"]["layer"].shape == (16, model.towers["image"].out_dim)
    assert np.all(np.isfinite(r.delta)) and np.abs(r.delta).max() < 1e-2


def test_pair_matrix_completeness_improves_with_steps(planted):
    model, test = planted
    parts = _pairs(test, 16)
    coarse = integrated_jacobians(model, parts, n_steps=2)
    fine = integrated_jacobians(model, parts, n_steps=32)
    assert fine.attributions["pair"]["matrix"].shape == (16, 8, 8)
    assert np.abs(fine.delta).mean() < np.abs(coarse.delta).mean()
    assert np.abs(fine.delta).max() < 1e-2 * np.abs(fine.score).max()


def test_randomisation_lowers_rank_correlation_and_deletion_beats_random(planted):
    model, test = planted
    parts = {"image": _pairs(test)["image"]}

    def explain(m):
        return integrated_gradients(m, prototype_alignment("happiness", "image", m, test), parts,
                                    n_steps=16).attributions["image"]["descriptors"]

    rows = cascading_randomisation(model, explain)
    assert rows[-1]["spearman"] < 0.6 and rows[-1]["spearman"] < max(r["spearman"] for r in rows)
    proto = prototype_alignment("happiness", "image", model, test)
    r = integrated_gradients(model, proto, parts, n_steps=32)
    di = deletion_insertion(model, proto, parts, r, n_boot=200)
    assert di["deletion"]["auc_gap_ci"][0] > 0  # deleting top-attributed descriptors lowers the score faster
    assert di["insertion"]["auc_gap"] > 0
    assert faithfulness_correlation(model, proto, parts, r)["faithfulness_correlation"] > 0.3


def test_baselines_live_in_input_space(planted):
    model, _ = planted
    img = torch.rand(2, 3, 16, 16)
    mel = torch.full((2, 1, 16, 20), -30.0)
    assert torch.all(make_baseline("black", "image", "input", img, model) == 0)
    blurred = make_baseline("blurred", "image", "input", img, model)
    assert blurred.shape == img.shape and blurred.std() < img.std()
    assert torch.all(make_baseline("silence", "audio", "input", mel, model) == -100.0)  # log-mel floor, not 0 dB
    pink = make_baseline("pink", "audio", "input", mel, model)
    assert abs(float(pink.mean()) + 30.0) < 1e-3 and pink[0, 0, 0, 0] > pink[0, 0, -1, 0]  # 1/f: more low energy
    desc = torch.zeros(2, 8)
    np.testing.assert_allclose(make_baseline("mean", "image", "descriptors", desc, model)[0].numpy(),
                               model.towers["image"].mean.numpy())
    with pytest.raises(ParameterError, match="unknown image input baseline"):
        make_baseline("silence", "image", "input", img, model)


def test_surrogate_below_threshold_is_flagged():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    r = shap_surrogate({"image": x}, rng.normal(size=200), {"image": list("abcd")}, interactions=False)
    assert not r.extras["interpretable"] and r.extras["fidelity_r2"] < 0.5


def test_regression_with_group_random_effects():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 10)
    x = rng.normal(size=(200, 3))
    y = 2 * x[:, 1] + rng.normal(size=20)[groups] * 2 + rng.normal(size=200) * 0.5
    table = standardised_regression({"audio": x}, y, {"audio": ["a", "b", "c"]}, outcome="human valence",
                                    groups=groups)
    assert table.model.startswith("mixedlm") and table.ranking()[0] == "audio:b"
    low, high = table.ci_low[1], table.ci_high[1]
    assert low < table.coef[1] < high and low > 0
    assert table.to_dict()["n_groups"] == 20


def _tiny_raw_model(n=6):
    """A tiny deep model (ReLU CNNs on 16 x 16 pixels and 16 x 32 log-mel bins) and n synthetic pairs."""
    from resonance.models import TowerConfig, create_model
    from resonance.train.data import SyntheticEmotionDataset

    torch.manual_seed(0)
    model = create_model("tiny", image=TowerConfig("small_cnn", width=4, augment=False),
                         audio=TowerConfig("audio_cnn", width=4, augment=False)).eval()
    ds = SyntheticEmotionDataset(16, image_size=16, n_mels=16, frames=32)
    imgs = [it for it in ds.items if it["modality"] == "image"][:n]
    auds = [it for it in ds.items if it["modality"] == "audio"][:n]
    return model, {"image": collate(imgs)["image"], "audio": collate(auds)["audio"]}


def test_ig_on_raw_pixels_and_log_mel_with_every_baseline_and_grouping():
    from attribution import group_audio_attributions, group_image_attributions

    model, parts = _tiny_raw_model()
    r = integrated_gradients(model, alignment(), parts, field="input", n_steps=64, internal_batch_size=128)
    assert r.baseline == "black+silence,blurred+pink,mean"
    assert r.attributions["image"]["input"].shape == (6, 3, 16, 16)
    assert r.attributions["audio"]["input"].shape == (6, 1, 16, 32)
    assert set(r.extras["delta_per_baseline"]) == {"black+silence", "blurred+pink", "mean"}
    assert np.median(r.relative_delta) < 1e-2
    g = group_image_attributions(r.attributions["image"]["input"], parts["image"]["input"].numpy())
    np.testing.assert_allclose(g["edge"] + g["flat"], r.attributions["image"]["input"].sum((1, 2, 3)), atol=1e-9)
    ga = group_audio_attributions(r.attributions["audio"]["input"], parts["audio"]["input"].numpy())
    assert set(ga) >= {"mel_low", "onset", "harmonic", "voiced"}
    with pytest.raises(ParameterError, match="has no descriptor inputs"):
        integrated_gradients(model, alignment(), parts, field="descriptors")


def test_regression_leaves_out_collinear_descriptors():
    rng = np.random.default_rng(0)
    a, c = rng.normal(size=200), rng.normal(size=200)
    x = np.column_stack([a, 2 * a + 1, c, a - c])  # columns 1 and 3 are linear combinations of 0 and 2
    y = a + 0.1 * rng.normal(size=200)
    table = standardised_regression({"image": x}, y, {"image": ["a", "a2", "c", "a_minus_c"]}, max_vif=10)
    assert len(table.extras["dropped_collinear"]) == 2 and len(table.terms) == 2
    assert np.all(np.abs(table.coef) < 2) and np.all(table.ci_high - table.ci_low < 1)


def test_adaptive_ig_refines_the_path_only_where_completeness_misses():
    """Pixel IG through a ReLU CNN: too few steps miss 1 % completeness; halving the worst segments of
    the path, per example, fixes it, and the piecewise attributions are the path integral's."""
    model, parts = _tiny_raw_model(8)
    kw = {"field": "input", "baselines": {"image": ["blurred"], "audio": ["silence"]},
          "integration": "riemann_trapezoid"}
    plain = integrated_gradients(model, alignment(), parts, n_steps=2, **kw)
    assert (plain.relative_delta >= 1e-2).any()  # 2 steps miss 1 % somewhere: the case to fix
    r = adaptive_integrated_gradients(model, alignment(), parts, n_steps=2, max_steps=512, tolerance=1e-2, **kw)
    steps, segments = np.asarray(r.extras["n_steps"]), np.asarray(r.extras["segments"])
    assert all(r.extras["converged"]) and np.all(r.relative_delta < 1e-2)
    first = plain.relative_delta < 1e-2
    assert np.all(steps[first] == 2) and np.all(segments[first] == 1) and segments.max() > 1
    np.testing.assert_allclose(np.asarray(r.extras["abs_error_sum"])[first], plain.relative_delta[first], rtol=1e-6)
    # examples that met the tolerance at once keep plain IG's attributions; refined ones approach the
    # integral (plain IG at many steps), which plain IG at the same number of steps does not do as well
    np.testing.assert_allclose(r.attributions["image"]["input"][first], plain.attributions["image"]["input"][first])
    fine = integrated_gradients(model, alignment(), parts, n_steps=4096, **{**kw, "integration": "riemann_middle"})
    i = int(np.argmax(steps))
    same = integrated_gradients(model, alignment(), parts, n_steps=int(steps[i]), **kw)
    err = {name: np.abs(res.attributions["image"]["input"][i] - fine.attributions["image"]["input"][i]).sum()
           for name, res in (("adaptive", r), ("same_steps", same))}
    assert err["adaptive"] < err["same_steps"], err
    capped = adaptive_integrated_gradients(model, alignment(), parts, n_steps=2, max_steps=2, **kw)
    assert not all(capped.extras["converged"]) and max(capped.extras["n_steps"]) <= 2
    with pytest.raises(ParameterError, match="mean of the batch"):  # a batch-mean baseline would change on the subset
        adaptive_integrated_gradients(model, alignment(), parts, n_steps=2, max_steps=8,
                                      **{**kw, "baselines": ["mean"]})


def test_randomisation_ranks_within_feature_groups_as_well_as_pooled():
    """Two groups on different scales make any two rankings of the pooled features agree; within each
    group the (here random) rankings do not: the per-group numbers show it."""
    from attribution import cascading_randomisation

    rng = np.random.default_rng(0)
    model = torch.nn.ModuleDict({"heads": torch.nn.Linear(2, 2)})  # one layer to re-initialise
    explain = lambda m: np.concatenate([10 + rng.random((20, 50)), rng.random((20, 50))], 1)  # noqa: E731
    rows = cascading_randomisation(model, explain, feature_groups={"image": slice(0, 50), "audio": slice(50, None)})
    last = rows[-1]
    assert last["spearman_importance"] > 0.6
    assert abs(last["spearman_importance_image"]) < 0.5 and abs(last["spearman_importance_audio"]) < 0.5
