"""The judge web app (resonance.judge.web): what a client may not do (path traversal, foreign tokens,
other raters' trials, oversized and malformed bodies, double and early answers), 50 simulated raters
over loopback against a real uvicorn server killed with SIGKILL mid-run, and a real headless chromium
(Playwright, Debian's /usr/bin/chromium) that plays the sounds, leaves and resumes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from judge_fixtures import copy_study

from resonance.judge import RaterModel, load_study, open_store
from resonance.judge.simulate import simulate_http
from resonance.judge.web import MAX_BODY, create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SCREENS = Path(os.environ.get("RESONANCE_SCREENS", "")) if os.environ.get("RESONANCE_SCREENS") else None


@pytest.fixture()
def served(judge_study, tmp_path):
    import warnings

    with warnings.catch_warnings():  # starlette >= 1.1 prefers httpx2 for its test client; httpx still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    folder = copy_study(judge_study["study"], tmp_path / "study")
    study = load_study(folder)
    store = open_store(folder)
    tokens = store.add_raters(study, 2)
    store.close()
    with TestClient(create_app(folder)) as client:
        yield client, tokens, folder


def _wait_out(client, token: str) -> dict:
    state = client.get(f"/api/{token}/state").json()
    time.sleep(state["trial"]["duration_s"])
    assert client.post(f"/api/{token}/ended", json={"uid": state["trial"]["uid"]}).status_code == 200
    return state


def test_only_the_studys_own_media_are_served(served):
    client, (tok, _), folder = served
    assert client.get(f"/r/{tok}").status_code == 200
    assert client.post(f"/api/{tok}/consent", json={"alias": "pat"}).status_code == 200
    state = client.get(f"/api/{tok}/state").json()
    sound = state["trial"]["sound"]
    reply = client.get(sound)
    assert reply.status_code == 200 and reply.headers["content-type"] == "audio/wav" and reply.content[:4] == b"RIFF"
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    mid = sound.rsplit("/", 1)[1]
    for path in (f"/m/{tok}/../study.json", f"/m/{tok}/..%2fstudy.json", f"/m/{tok}/%2e%2e%2fjudge.sqlite",
                 f"/m/{tok}/{mid}.wav", f"/m/{tok}/{mid}%00", f"/m/{tok}/..%5c..%5cstudy.json",
                 f"/m/{tok}//etc/passwd", "/static/../web.py", "/static/..%2fweb.py", "/static/index.html",
                 "/static/%2e%2e/design.py", f"/m/{tok}/" + "0" * 20, "/r/../study.json", "/study.json",
                 "/media/" + mid, f"/m/{'x' * 32}/{mid}", "/links.txt", "/judge.sqlite"):
        got = client.get(path)
        assert got.status_code == 404, (path, got.status_code)
        assert b"RIFF" not in got.content and b"trials" not in got.content and b"SQLite" not in got.content
    assert client.get("/static/app.js").status_code == 200


def test_foreign_tokens_and_other_raters_trials_are_refused(served):
    client, (tok_a, tok_b), folder = served
    for tok in (tok_a, tok_b):
        client.post(f"/api/{tok}/consent", json={})
    stranger = "A" * 32
    for method, path in (("get", f"/r/{stranger}"), ("get", f"/api/{stranger}/state"),
                         ("post", f"/api/{stranger}/answer"), ("get", "/api/short/state"),
                         ("get", f"/api/{tok_a[:-1]}/state")):
        assert getattr(client, method)(path).status_code == 404, path
    state_b = _wait_out(client, tok_b)
    uid_b = state_b["trial"]["uid"]
    for endpoint in ("ended", "answer"):  # rater A sends rater B's trial
        body = {"uid": uid_b, **({"response": 1} if endpoint == "answer" else {})}
        got = client.post(f"/api/{tok_a}/{endpoint}", json=body)
        assert got.status_code == 404, got.text
    store = open_store(folder)
    try:
        assert store.count("answers") == 0
    finally:
        store.close()


def test_bodies_are_limited_validated_and_answers_taken_once(served):
    client, (tok, _), folder = served
    api = f"/api/{tok}"
    assert client.post(f"{api}/answer", json={"uid": "x" * 16, "response": 1}).status_code == 409  # no consent
    big = b'{"alias": "' + b"a" * (MAX_BODY + 10) + b'"}'
    assert client.post(f"{api}/consent", content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks():
        for _ in range(10):
            yield b" " * 1024
    assert client.post(f"{api}/consent", content=chunks()).status_code == 413  # no Content-Length, streamed
    for body in (b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"alias": "a"}{'):
        assert client.post(f"{api}/consent", content=body).status_code == 400, body
    assert client.post(f"{api}/consent", json={"alias": "a" * 41}).status_code == 422
    assert client.post(f"{api}/consent", json={"alias": "ok", "email": "x@y"}).status_code == 422
    assert client.post(f"{api}/consent", json={"alias": "pat"}).status_code == 200
    state = client.get(f"{api}/state").json()
    uid = state["trial"]["uid"]
    assert state["trial"]["kind"] == "headphone" and state["total"] == 63
    early = client.post(f"{api}/ended", json={"uid": uid})  # before the clip could have played
    assert early.status_code == 409 and "cannot have ended" in early.json()["error"]
    assert client.post(f"{api}/answer", json={"uid": uid, "response": 1}).status_code == 409  # not played
    time.sleep(state["trial"]["duration_s"])
    assert client.post(f"{api}/ended", json={"uid": uid}).status_code == 200
    for bad in ({"uid": uid, "response": 9}, {"uid": uid, "response": "1"}, {"uid": uid, "response": True},
                {"uid": uid}, {"uid": uid, "response": 1, "valence": 0}, {"uid": uid, "response": 1, "rt_ms": -5},
                {"uid": "../../etc", "response": 1}, {"uid": 5, "response": 1},
                {"uid": uid, "response": 1, "sql": "drop table answers"}):
        assert client.post(f"{api}/answer", json=bad).status_code == 422, bad
    ok = client.post(f"{api}/answer", json={"uid": uid, "response": 2, "rt_ms": 800})
    assert ok.status_code == 200 and ok.json()["done"] == 1 and ok.json()["trial"]["uid"] != uid
    again = client.post(f"{api}/answer", json={"uid": uid, "response": 3})
    assert again.status_code == 409 and "already" in again.json()["error"]
    store = open_store(folder)
    try:
        frame = store.answers_frame()
        assert len(frame) == 1 and frame["response"].tolist() == [2] and frame["alias"].tolist() == ["pat"]
    finally:
        store.close()


# -- a real server ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(folder: Path, port: int, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "resonance.cli.main", "judge", "serve", str(folder), "--port",
                             str(port)], stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the server did not start: {log.read_text()[-2000:]}")


def test_fifty_raters_and_a_sigkill_lose_nothing_acknowledged(judge_study, tmp_path):
    import threading

    folder = copy_study(judge_study["study"], tmp_path / "study")
    study = load_study(folder)
    store = open_store(folder)
    tokens = store.add_raters(study, 50)
    store.close()
    port = _free_port()
    log = tmp_path / "server.log"
    server = _start(folder, port, log)
    outcome: dict = {}
    started = time.monotonic()

    def run() -> None:
        outcome["result"] = simulate_http(f"http://127.0.0.1:{port}", tokens, study, RaterModel(seed=9), seconds=14)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(6)
    server.send_signal(signal.SIGKILL)  # mid-run: answers in flight are lost, acknowledged ones must not be
    server.wait()
    killed_at = time.monotonic() - started
    server = _start(folder, port, log)
    worker.join(timeout=60)
    server.terminate()
    server.wait(timeout=10)
    acknowledged, stats = outcome["result"]
    store = open_store(folder)
    try:
        frame = store.answers_frame()
    finally:
        store.close()
    stored = dict(zip(frame["uid"], frame["response"]))
    assert len(acknowledged) > 100 and stats["retries"] > 0, (len(acknowledged), stats, killed_at)  # 2+ per rater
    assert len({uid for _, uid, _ in acknowledged}) == len(acknowledged)  # none acknowledged twice
    missing = [uid for _, uid, r in acknowledged if stored.get(uid) != r]
    assert not missing, f"{len(missing)} acknowledged answers lost or changed"
    assert not frame.duplicated(["rater", "position"]).any() and frame["uid"].is_unique
    # at most the one answer per rater in flight at the kill is stored without an acknowledgement
    assert 0 <= len(frame) - len(acknowledged) <= 50
    for _, rows in frame.groupby("rater"):  # every rater's answers are the first positions, no gap
        assert rows["position"].tolist() == list(range(len(rows)))
    rate = len(acknowledged) / 14
    print(f"\nload: {len(acknowledged)} answers acknowledged by 50 raters in 14 s ({rate:.1f}/s), "
          f"SIGKILL at {killed_at:.1f} s, {stats}")


# -- a real browser ---------------------------------------------------------------------------------

def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; `make test` installs it)")


def test_a_rater_in_headless_chromium_plays_answers_leaves_and_resumes(judge_study, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    executable = _chromium()
    folder = copy_study(judge_study["study"], tmp_path / "study")
    study = load_study(folder)
    store = open_store(folder)
    (token,) = store.add_raters(study, 1)
    store.close()
    port = _free_port()
    server = _start(folder, port, tmp_path / "server.log")
    link = f"http://127.0.0.1:{port}/r/{token}"
    heads = {t["sound"]: t["answer"] for t in study["trials"] if t["kind"] == "headphone"}
    answered: list[str] = []
    felt: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True,
                                         args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox",
                                               "--mute-audio"])

            def session(n_trials: int, shoot: bool = False) -> None:
                page = browser.new_page(viewport={"width": 1000, "height": 800})
                page.goto(link)
                if not answered:
                    page.wait_for_selector("#consent:not([hidden])")
                    assert page.is_disabled("#start")
                    page.fill("#alias", "browser-rater")
                    page.check("#agree")
                    page.click("#start")
                for _ in range(n_trials):
                    page.wait_for_selector("#trial:not([hidden])")
                    uid = page.evaluate("document.body.dataset.uid")
                    kind = page.evaluate("document.body.dataset.kind")
                    assert page.is_disabled("button.answer >> nth=0")  # nothing taken before the sound ends
                    page.click("#play")
                    page.wait_for_selector("#audio[data-ended='1']", state="attached", timeout=15000)
                    played = page.evaluate("(() => { const a = document.getElementById('audio');"
                                           " return [a.played.length ? a.played.end(0) : 0, a.duration]; })()")
                    assert played[0] == pytest.approx(played[1], abs=0.1) and played[1] > 0.05, played
                    if shoot and kind == "rating" and not felt:  # the optional SAM sliders, once
                        page.click("#sam summary")
                        page.check("#sam-on")
                        page.fill("#valence", "7")
                        felt.append(uid)
                        if SCREENS is not None:
                            page.screenshot(path=str(SCREENS / "judge_trial_page.png"), full_page=True)
                    if kind == "headphone":
                        sound = page.eval_on_selector("#audio", "a => a.src").rsplit("/", 1)[1]
                        choice = heads[sound]
                    else:
                        choice = 1 if kind == "choice" else 5
                    page.click(f"button.answer[data-value='{choice}']")
                    page.wait_for_selector(f"body:not([data-uid='{uid}'])", state="attached", timeout=10000)
                    answered.append(uid)
                page.close()  # the rater leaves

            session(3 + 5)  # consent, the three headphone trials, five trials
            session(5, shoot=True)  # comes back through the same link: resumes where they stopped
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    store = open_store(folder)
    try:
        frame = store.answers_frame()
        rater = store.rater(token)
    finally:
        store.close()
    assert len(answered) == 13 and len(set(answered)) == 13
    assert frame["uid"].tolist() == answered  # each exactly once, in order: the resume skipped nothing
    assert frame["position"].tolist() == list(range(13)) and rater["alias"] == "browser-rater"
    with_sliders = frame[frame["valence"].notna()]
    assert with_sliders["uid"].tolist() == felt and with_sliders["valence"].tolist() == [7]
    assert with_sliders["arousal"].tolist() == [5]
    assert (frame["ended_at"] - frame["served_at"] >= frame["duration_s"] - 0.05).all()  # played to the end
    assert (frame.loc[frame["shown_kind"] == "headphone", "response"].tolist()
            == [heads[study["_by_id"][t]["sound"]] for t in frame.loc[frame["shown_kind"] == "headphone",
                                                                      "trial_id"]])


def test_a_study_file_naming_files_outside_its_media_is_refused(judge_study, tmp_path):
    import json

    from resonance.errors import DatasetError

    folder = copy_study(judge_study["study"], tmp_path / "study")
    raw = json.loads((folder / "study.json").read_text())
    mid = next(iter(raw["media"]))
    for name in ("../study.json", "/etc/passwd", "../../judge.sqlite", "x.sqlite"):
        raw["media"][mid]["file"] = name
        (folder / "study.json").write_text(json.dumps(raw))
        with pytest.raises(DatasetError, match="not one of"):
            create_app(folder)
