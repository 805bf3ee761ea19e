"""Simulated raters: noisy people whose sense of emotional fit follows valence-arousal distance.

A rater's *congruence* of a painting and a sound is (standardised over the pairs of the study)::

    c = (1 - model_weight) * z(-|VA_painting - VA_sound|) + model_weight * z(model score) + item_sd * e_pair

where VA are the items' labelled valence and arousal and ``e_pair`` an idiosyncrasy of the pair that every
rater shares (drawn once from ``seed``). ``model_weight`` > 0 *plants* agreement with the model, for
testing the analysis; 0 (the default) makes people follow VA distance only, which is what the rater plan
assumes. A rating is ``clip(round(4 + agreement * c + bias_r + d_r,pair + noise * e), 1, 7)`` with a
per-rater offset ``bias_r ~ N(0, bias_sd)``, a rater's own stable view of the pair
``d_r,pair ~ N(0, rater_item_sd)`` (the same when a trial is repeated) and trial-to-trial noise ``e``;
the defaults give a single-rater reliability near 0.2, typical of affective ratings. A 2AFC choice takes
the painting with the larger ``agreement * c + choice_noise * e``. ``agreement = 0`` gives raters whose
ratings and choices have nothing to do with the stimuli but who pass the checks (catch trials are obvious
by design, so attentive raters answer them by the labels' VA distance). ``careless`` raters answer
everything at random; ``no_headphones`` raters listen over loudspeakers and pick the antiphase tone in
the headphone check (Woods et al., 2017). Felt valence/arousal (the optional SAM sliders, 1-9) follow the
sound's labels with noise.

:func:`expected_ratings` gives the mean rating of each rating trial over infinitely many raters (the
planted truth the analysis must recover, :func:`planted_truth`). :func:`simulate_into_store` answers
through :class:`~resonance.judge.store.Store` (with simulated timestamps that respect the clips'
durations); :func:`simulate_http` answers over HTTP like a browser, concurrently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm, spearmanr

from resonance.errors import ParameterError

__all__ = ["RaterModel", "SimulatedRater", "expected_ratings", "planted_truth", "simulate_http",
           "simulate_into_store", "simulate_rating_matrix"]


@dataclass(frozen=True)
class RaterModel:
    """The assumptions of the simulated raters (see the module docstring)."""

    agreement: float = 1.0
    noise: float = 1.0
    rater_item_sd: float = 1.7
    bias_sd: float = 0.5
    choice_noise: float = 0.7
    model_weight: float = 0.0
    item_sd: float = 0.0
    careless: float = 0.0
    no_headphones: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("agreement", "noise", "rater_item_sd", "bias_sd", "choice_noise", "item_sd"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("model_weight", "careless", "no_headphones"):
            if not 0 <= getattr(self, name) <= 1:
                raise ParameterError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def _pairs(study: dict[str, Any]) -> list[tuple[str, str, float]]:
    """Every (painting, sound, model score) pair the study shows."""
    pairs: dict[tuple[str, str], float] = {}
    for t in study["trials"]:
        if t["kind"] == "rating":
            pairs[(t["image"], t["sound"])] = float(t["model"])
        elif t["kind"] in ("2afc", "catch"):
            for image, score in zip(t["images"], t["model"]):
                pairs[(image, t["sound"])] = float(score)
    return [(i, s, v) for (i, s), v in pairs.items()]


def congruence(study: dict[str, Any], model: RaterModel) -> dict[tuple[str, str], float]:
    """``{(painting id, sound id): c}`` of every pair the study shows (see the module docstring)."""
    pairs = _pairs(study)
    media = study["media"]
    va = np.array([-np.hypot(media[i]["valence"] - media[s]["valence"], media[i]["arousal"] - media[s]["arousal"])
                   for i, s, _ in pairs])
    score = np.array([v for _, _, v in pairs])

    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / x.std() if x.std() > 0 else np.zeros_like(x)

    rng = np.random.default_rng([model.seed, 1603])
    c = (1 - model.model_weight) * z(va) + model.model_weight * z(score) + model.item_sd * rng.normal(size=len(pairs))
    return {(i, s): float(x) for (i, s, _), x in zip(pairs, c)}


def _rating_trials(study: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in study["trials"] if t["kind"] == "rating"]


def expected_ratings(study: dict[str, Any], model: RaterModel) -> dict[str, float]:
    """The mean rating of each rating trial over infinitely many (attentive) raters."""
    c = congruence(study, model)
    sd = float(np.sqrt(model.noise ** 2 + model.rater_item_sd ** 2 + model.bias_sd ** 2))
    levels = np.arange(1, 8)
    out = {}
    for t in _rating_trials(study):
        mu = 4 + model.agreement * c[(t["image"], t["sound"])]
        if sd == 0:
            out[t["id"]] = float(np.clip(np.round(mu), 1, 7))
            continue
        upper = norm.cdf((levels + 0.5 - mu) / sd)
        lower = norm.cdf((levels - 0.5 - mu) / sd)
        upper[-1], lower[0] = 1.0, 0.0
        out[t["id"]] = float(((upper - lower) * levels).sum())
    return out


def planted_truth(study: dict[str, Any], model: RaterModel) -> dict[str, float]:
    """What an analysis of infinitely many attentive raters would find: Spearman between the model's (and
    the baseline's) score and the expected rating, and the expected 2AFC agreement with the model."""
    expected = expected_ratings(study, model)
    trials = _rating_trials(study)
    means = np.array([expected[t["id"]] for t in trials])

    def rho(scores: list[float]) -> float:  # 0 when people rate every pair alike (agreement = 0)
        return float(spearmanr(scores, means).statistic) if np.ptp(means) > 0 else 0.0

    out = {"spearman_model": rho([t["model"] for t in trials])}
    if all(t.get("baseline") is not None for t in trials):
        out["spearman_baseline"] = rho([t["baseline"] for t in trials])
    c = congruence(study, model)
    agree = []
    for t in study["trials"]:
        if t["kind"] != "2afc":
            continue
        preferred = int(np.argmax(t["model"]))
        d = model.agreement * (c[(t["images"][preferred], t["sound"])] - c[(t["images"][1 - preferred], t["sound"])])
        agree.append(norm.cdf(d / (model.choice_noise * np.sqrt(2))) if model.choice_noise > 0 else float(d > 0))
    if agree:
        out["afc_agreement"] = float(np.mean(agree))
    return out


def simulate_rating_matrix(study: dict[str, Any], model: RaterModel, n_raters: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Ratings (n_raters, n_rating_trials) of attentive simulated raters (fast path of the rater plan)."""
    c = congruence(study, model)
    mu = 4 + model.agreement * np.array([c[(t["image"], t["sound"])] for t in _rating_trials(study)])
    bias = rng.normal(0, model.bias_sd, (n_raters, 1))
    own = rng.normal(0, model.rater_item_sd, (n_raters, mu.size))
    latent = mu[None, :] + bias + own + rng.normal(0, model.noise, (n_raters, mu.size))
    return np.clip(np.round(latent), 1, 7)


class SimulatedRater:
    """One simulated person: answers a trial from what the page shows (media ids in shown order)."""

    def __init__(self, study: dict[str, Any], model: RaterModel, index: int) -> None:
        self.study, self.model = study, model
        self.rng = np.random.default_rng([model.seed, 1604, index])
        self.careless = bool(self.rng.random() < model.careless)
        self.no_headphones = bool(self.rng.random() < model.no_headphones)
        self.bias = float(self.rng.normal(0, model.bias_sd))
        self.own: dict[tuple[str, str], float] = {}  # this rater's stable view of each pair
        self.c = congruence(study, model)
        self.headphone = {t["sound"]: t for t in study["trials"] if t["kind"] == "headphone"}
        self.catch = {(t["sound"], frozenset(t["images"])) for t in study["trials"] if t["kind"] == "catch"}

    def va_distance(self, image: str, sound: str) -> float:
        a, b = self.study["media"][image], self.study["media"][sound]
        return float(np.hypot(a["valence"] - b["valence"], a["arousal"] - b["arousal"]))

    def answer(self, kind: str, sound: str, images: Sequence[str]) -> dict[str, Any]:
        """``{"response", "valence", "arousal", "rt_ms"}`` for a ``kind`` trial ("rating", "choice",
        "headphone") showing ``images`` with ``sound``."""
        rng, m = self.rng, self.model
        rt = int(rng.integers(300, 2500))
        if kind == "headphone":
            trial = self.headphone[sound]
            if self.careless:
                response = int(rng.integers(1, 4))
            elif self.no_headphones:
                response = trial["order"].index("antiphase") + 1
            else:
                response = trial["answer"] if rng.random() < 0.97 else int(rng.integers(1, 4))
            return {"response": response, "rt_ms": rt}
        if kind == "rating":
            if self.careless:
                response = int(rng.integers(1, 8))
            else:
                pair = (images[0], sound)
                if pair not in self.own:
                    self.own[pair] = float(rng.normal(0, m.rater_item_sd))
                latent = 4 + m.agreement * self.c[pair] + self.bias + self.own[pair] + rng.normal(0, m.noise)
                response = int(np.clip(np.round(latent), 1, 7))
        elif kind == "choice":
            key = (sound, frozenset(images))
            if self.careless:
                response = int(rng.integers(0, 2))
            elif key in self.catch:  # obvious by design: answered by the labels, as an attentive person would
                u = [-self.va_distance(im, sound) * 4 + rng.normal(0, m.choice_noise) for im in images]
                response = int(np.argmax(u))
            else:
                u = [m.agreement * self.c[(im, sound)] + rng.normal(0, m.choice_noise) for im in images]
                response = int(np.argmax(u))
        else:
            raise ParameterError(f"unknown trial kind {kind!r}")
        media = self.study["media"][sound]
        felt = {}
        if rng.random() < 0.5:  # the sliders are optional; half the time a rater moves them
            felt = {f: int(np.clip(np.round(1 + 8 * media[f] + rng.normal(0, 1.2)), 1, 9))
                    for f in ("valence", "arousal")}
        return {"response": response, "rt_ms": rt, **felt}


def _shown(study: dict[str, Any], trial_id: str, flip: int) -> tuple[str, str, list[str]]:
    t = study["_by_id"][trial_id]
    if t["kind"] == "repeat":
        t = study["_by_id"][t["of"]]
    if t["kind"] == "headphone":
        return "headphone", t["sound"], []
    if t["kind"] == "rating":
        return "rating", t["sound"], [t["image"]]
    images = list(t["images"][::-1] if flip else t["images"])
    return "choice", t["sound"], images


def simulate_into_store(store: Any, study: dict[str, Any], n_raters: int, model: RaterModel, *,
                        start: float | None = None, alias: str = "simulated") -> list[int]:
    """Add ``n_raters`` simulated raters to ``store`` and answer their whole schedules through it.

    Timestamps are simulated (each answer follows its clip's full duration and a response time), so the
    store's checks apply as for a browser. Returns the new raters' ids.
    """
    from resonance.judge.store import PLAY_SLACK_S

    tokens = store.add_raters(study, n_raters, alias=alias)
    now = time.time() if start is None else float(start)
    ids = []
    for token in tokens:
        rater = store.rater(token)
        ids.append(rater["id"])
        person = SimulatedRater(study, model, rater["id"])
        store.consent(rater["id"], alias, now=now)
        while True:
            trial = store.current(rater["id"], now=now)
            if trial is None:
                break
            kind, sound, images = _shown(study, trial["trial_id"], trial["flip"])
            now += trial["duration_s"] + PLAY_SLACK_S
            store.mark_ended(rater["id"], trial["uid"], now=now)
            given = person.answer(kind, sound, images)
            now += given["rt_ms"] / 1000
            store.answer(rater["id"], trial["uid"], given["response"], valence=given.get("valence"),
                         arousal=given.get("arousal"), client_rt_ms=given["rt_ms"], now=now)
    return ids


# -- over HTTP --------------------------------------------------------------------------------------

async def _http_rater(client: Any, base: str, token: str, person: SimulatedRater, deadline: float,
                      acknowledged: list[tuple[str, str, int]], stats: dict[str, int]) -> None:
    import httpx

    api = f"{base}/api/{token}"

    async def call(method: str, url: str, **kw: Any) -> Any:
        while time.monotonic() < deadline:
            try:
                return await client.request(method, url, **kw)
            except (httpx.TransportError, OSError):
                stats["retries"] += 1  # the server is down (killed, restarting): wait and try again
                await asyncio.sleep(0.2)
        return None

    await call("POST", f"{api}/consent", json={"alias": "sim"})
    body = None
    while time.monotonic() < deadline:
        if body is None:  # after a refusal or an error; otherwise the answer's reply holds the next trial
            state = await call("GET", f"{api}/state")
            if state is None:
                return
            body = state.json()
        trial = body.get("trial")
        if body.get("stage") == "done" or trial is None:
            return
        await asyncio.sleep(trial["duration_s"] + 0.02)  # the sound plays to its end
        ended = await call("POST", f"{api}/ended", json={"uid": trial["uid"]})
        if ended is None:
            return
        if ended.status_code != 200:
            stats["refused_ended"] += 1
            body = None
            continue
        sound = trial["sound"].rsplit("/", 1)[-1]
        images = [u.rsplit("/", 1)[-1] for u in trial.get("images", [])]
        given = person.answer(trial["kind"], sound, images)
        reply = await call("POST", f"{api}/answer", json={"uid": trial["uid"], **given})
        if reply is None:
            return
        if reply.status_code == 200:
            acknowledged.append((token, trial["uid"], int(given["response"])))
            body = reply.json()
        else:
            stats[f"refused_{reply.status_code}"] = stats.get(f"refused_{reply.status_code}", 0) + 1
            body = None


async def _simulate_http(base: str, tokens: Sequence[str], study: dict[str, Any], model: RaterModel,
                         seconds: float) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    import httpx

    deadline = time.monotonic() + seconds
    acknowledged: list[tuple[str, str, int]] = []
    stats = {"retries": 0, "refused_ended": 0}
    limits = httpx.Limits(max_connections=len(tokens) + 4, max_keepalive_connections=len(tokens) + 4)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        await asyncio.gather(*(_http_rater(client, base, t, SimulatedRater(study, model, k), deadline,
                                           acknowledged, stats) for k, t in enumerate(tokens)))
    return acknowledged, stats


def simulate_http(base_url: str, tokens: Sequence[str], study: dict[str, Any], model: RaterModel, *,
                  seconds: float = 15.0) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """Simulated raters (one per token) answering concurrently over HTTP for at most ``seconds``, each
    waiting out its clips as a browser would, retrying while the server is unreachable.

    Returns ``(acknowledged, stats)``: ``(token, trial uid, response)`` of every answer the server
    acknowledged (status 200), and counts of retries and refusals.
    """
    return asyncio.run(_simulate_http(base_url.rstrip("/"), tokens, study, model, float(seconds)))
