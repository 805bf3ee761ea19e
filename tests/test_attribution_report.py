"""The attribution report (issue 14): pages, JSON, resumability, bad input; pixel/bin grouping."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from attribution import group_audio_attributions, group_image_attributions  # noqa: E402
from attribution.planted import PLANTED, train_planted  # noqa: E402
from attribution.report import attribution_report  # noqa: E402
from resonance.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return train_planted(str(tmp_path_factory.mktemp("planted_report")), steps=300, seed=0, n_per_modality=160)


def test_report_writes_pages_json_and_resumes(planted, tmp_path):
    model, test = planted
    out = tmp_path / "report"
    report = attribution_report(model, test, out, n_pairs=300, n_steps=16, max_items=40, progress=False)
    assert (out / "index.html").exists() and set(report["emotions"]) == {"happiness", "sadness"}
    page = (out / "emotions" / "happiness.html").read_text()
    assert "data:image/png;base64" in page and "http" not in page.replace("http-equiv", "")
    saved = json.loads((out / "report.json").read_text())
    top = saved["emotions"]["happiness"]["pair_matrix"]["top_pairs"][0]
    assert tuple(top[:2]) == PLANTED
    assert saved["emotions"]["happiness"]["image"]["top_descriptors"][0][0] == PLANTED[0]
    assert saved["emotions"]["sadness"]["completeness_descriptors"]["median"] < 1e-2
    assert "regression_human" in saved["emotions"]["sadness"]["audio"]
    logs = []
    attribution_report(model, test, out, n_pairs=300, n_steps=16, max_items=40, progress=False, log=logs.append)
    assert logs == ["happiness: already done, skipped", "sadness: already done, skipped"]


def test_report_rejects_an_emotion_with_no_items(planted, tmp_path):
    model, test = planted
    with pytest.raises(ParameterError, match=r"no items of emotion \['anger'\]"):
        attribution_report(model, test, tmp_path / "r", emotions=["anger"], progress=False)
    assert not (tmp_path / "r").exists()


def test_grouping_sums_to_the_total_attribution():
    rng = np.random.default_rng(0)
    img = rng.random((2, 3, 24, 24))
    a = rng.normal(size=(2, 3, 24, 24))
    g = group_image_attributions(a, img)
    total = a.sum((1, 2, 3))
    hue = sum(g[f"hue_{k:02d}"] for k in range(12)) + g["hue_achromatic"]
    for parts in (hue, g["saturation_low"] + g["saturation_mid"] + g["saturation_high"],
                  g["sf_low"] + g["sf_mid"] + g["sf_high"], g["edge"] + g["flat"]):
        np.testing.assert_allclose(parts, total, atol=1e-9)
    red = np.zeros((1, 3, 8, 8))
    red[:, 0] = 1.0
    assert group_image_attributions(np.ones((1, 3, 8, 8)), red)["hue_00"][0] == 192
    mel = rng.normal(-40, 10, (2, 1, 24, 40))
    am = rng.normal(size=mel.shape)
    ga = group_audio_attributions(am, mel)
    for x, y in (("mel_low", ("mel_mid", "mel_high")), ("onset", ("steady",)), ("harmonic", ("percussive",)),
                 ("voiced", ("unvoiced",))):
        np.testing.assert_allclose(ga[x] + sum(ga[k] for k in y), am.sum((1, 2, 3)), atol=1e-9)


def test_streamed_ig_matches_one_pass_and_keeps_only_summaries(planted):
    from attribution import alignment, integrated_gradients, streamed_integrated_gradients
    from resonance.train.data import collate

    model, test = planted
    imgs = [it for it in test if it["modality"] == "image"][:40]
    auds = [it for it in test if it["modality"] == "audio"][:40]
    whole = integrated_gradients(model, alignment(), {"image": collate(imgs)["image"], "audio": collate(auds)["audio"]},
                                 n_steps=16)
    chunks = ({"image": collate(imgs[s:s + 16])["image"], "audio": collate(auds[s:s + 16])["audio"]}
              for s in range(0, 40, 16))
    streamed = streamed_integrated_gradients(model, alignment(), chunks, n_steps=16)
    assert streamed.n == 40 and not streamed.kept
    for m in ("image", "audio"):
        np.testing.assert_allclose(streamed.mean_abs(m), whole.mean_abs(m), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.concatenate(streamed.delta), whole.delta, atol=1e-6)
    assert streamed.top("image", 1)[0][0] == PLANTED[0]


@pytest.mark.parametrize("n_img,n_aud,n_pairs,enumerate_max", [(30, 40, 200, 2_000_000), (600, 600, 2000, 1000)])
def test_emotion_pairs_are_distinct_uniform_pairs_with_an_item_of_the_emotion(n_img, n_aud, n_pairs, enumerate_max,
                                                                              monkeypatch):
    import attribution.report
    from attribution.items import ItemTable
    from attribution.report import _emotion_pairs

    monkeypatch.setattr(attribution.report, "ENUMERATE_PAIRS", enumerate_max)  # the second case is drawn

    rng = np.random.default_rng(0)
    n = n_img + n_aud
    modality = np.array(["image"] * n_img + ["audio"] * n_aud)
    label = np.where(rng.random(n) < 1 / 6, "fear", "calm")
    table = ItemTable(source=[], modality=modality, label=label, p=np.zeros((n, 1)), ids=[str(i) for i in range(n)],
                      embedding=rng.normal(size=(n, 4)),
                      descriptors={"image": rng.normal(size=(n_img, 3)), "audio": rng.normal(size=(n_aud, 2))},
                      names={"image": ["a", "b", "c"], "audio": ["d", "e"]})
    pairs = _emotion_pairs(table, "fear", n_pairs, seed=1)
    ii, aa = pairs["pairs"].T
    fi, fa = label[:n_img][ii] == "fear", label[n_img:][aa] == "fear"
    assert len(ii) == n_pairs and len({(i, a) for i, a in zip(ii, aa, strict=True)}) == n_pairs
    assert np.all(fi | fa)
    # uniform over the union: the share of pairs with both items of the emotion matches its share of the union
    ei, ea = (label[:n_img] == "fear").sum(), (label[n_img:] == "fear").sum()
    both = ei * ea / (ei * n_aud + n_img * ea - ei * ea)
    assert abs(np.mean(fi & fa) - both) < 4 * np.sqrt(both * (1 - both) / n_pairs) + 0.01
    np.testing.assert_allclose(pairs["score"], (table.embedding[:n_img][ii] * table.embedding[n_img:][aa]).sum(1))
    again = _emotion_pairs(table, "fear", n_pairs, seed=1)
    np.testing.assert_array_equal(again["pairs"], pairs["pairs"])  # seeded
