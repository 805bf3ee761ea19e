"""The rating web app (ASGI, Starlette): consent and instructions, the headphone check, then one trial at a
time; imported only by ``resonance judge serve`` (:mod:`resonance.cli.judge`).

Routes (``TOKEN`` is the rater's secret from their link; an unknown or malformed one is a 404)::

    GET  /r/TOKEN               the page (plain HTML/JS/CSS from the package, no CDN)
    GET  /static/app.js|app.css the page's script and style (a fixed table of package files)
    GET  /api/TOKEN/state       where the rater stands: consent, the current trial (served now), or done
    POST /api/TOKEN/consent     {"alias": optional, <= 40 characters}
    POST /api/TOKEN/ended       {"uid"}: the trial's sound played to its end
    POST /api/TOKEN/answer      {"uid", "response", "valence"?, "arousal"?, "rt_ms"?} -> the next state
    GET  /m/TOKEN/MEDIA_ID      one of the study's own media files, looked up by its opaque id
    GET  /healthz               "ok"

The security model: no part of a URL or body ever becomes a file path -- media are looked up by id in the
table the design wrote, and page assets in a fixed table; every API call and media file needs a valid
token; answers are checked by :class:`~resonance.judge.store.Store` (the rater's own, current trial; the
sound played to its end, also timed server-side; values in range; one answer per trial); request bodies
are limited to :data:`MAX_BODY` bytes and must be a JSON object of known keys; replies carry a strict
Content-Security-Policy, ``nosniff`` and ``no-referrer`` (the token is in the URL).
"""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from resonance.errors import DatasetError
from resonance.judge.design import BROWSER_AUDIO, BROWSER_IMAGE, MEDIA_DIR, load_study
from resonance.judge.store import Refused, Store, open_store

__all__ = ["MAX_BODY", "create_app", "serve"]

#: The largest request body taken, in bytes (an answer is well under 200).
MAX_BODY = 2048
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MEDIA_ID = re.compile(r"[0-9a-f]{20}")
_ASSETS = {"app.js": "application/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
}
PROMPTS = {"rating": "How well do the painting and the sound match emotionally?",
           "choice": "Which painting fits the sound better?",
           "headphone": "Which of the three tones was the quietest?"}
_KEYS = {"consent": {"alias"}, "ended": {"uid"}, "answer": {"uid", "response", "valence", "arousal", "rt_ms"}}


def _asset(name: str) -> bytes:
    return resources.files("resonance.judge").joinpath("static", name).read_bytes()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**_HEADERS, "Cache-Control": "no-store"})


class _BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _json_body(request: Request, allowed: set[str]) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise _BadBody(413, f"request bodies are limited to {MAX_BODY} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise _BadBody(413, f"request bodies are limited to {MAX_BODY} bytes")
    try:
        body = json.loads(bytes(data) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _BadBody(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadBody(400, "the body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise _BadBody(422, f"unknown fields {sorted(unknown)}")
    return body


def create_app(folder: str | os.PathLike[str]) -> Starlette:
    """The app serving the study folder ``folder`` (its ``study.json``, ``media/`` and ``judge.sqlite``)."""
    folder = Path(folder).resolve()
    study = load_study(folder)
    media_root = (folder / MEDIA_DIR).resolve()
    types = {**BROWSER_AUDIO, **BROWSER_IMAGE}
    media: dict[str, tuple[Path, str]] = {}
    for mid, entry in study["media"].items():
        path = (media_root / entry["file"]).resolve()
        if path.parent != media_root or not MEDIA_ID.fullmatch(mid) or path.suffix.lower() not in types:
            raise DatasetError(f"study.json names a media file that is not one of {media_root}'s: "
                               f"{entry['file']!r}; design the study again")
        media[mid] = (path, types[path.suffix.lower()])
    page = _asset("index.html")
    assets = {name: _asset(name) for name in _ASSETS}
    sliders = bool(study["config"].get("sliders", True))
    holder: dict[str, Store] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette):
        holder["store"] = open_store(folder)
        try:
            yield
        finally:
            holder.pop("store").close()

    lock = threading.Lock()

    async def locked(fn: Any, *args: Any) -> Any:
        """Run the store work ``fn`` in a worker thread, one at a time: the event loop keeps parsing other
        requests while a commit waits for the disk."""
        def run() -> Any:
            with lock:
                return fn(*args)
        return await run_in_threadpool(run)

    def lookup(token: str) -> dict[str, Any] | None:
        if not TOKEN.fullmatch(token):
            return None
        return holder["store"].rater(token)

    def state(rater: dict[str, Any], token: str) -> dict[str, Any]:
        store = holder["store"]
        if rater["consented_at"] is None:
            done, total = store.progress(rater["id"])
            return {"stage": "consent", "done": done, "total": total}
        trial = store.current(rater["id"])
        done, total = store.progress(rater["id"])
        if trial is None:
            return {"stage": "done", "done": done, "total": total}
        design = study["_by_id"][trial["trial_id"]]
        if design["kind"] == "repeat":
            design = study["_by_id"][design["of"]]
        images = [design["image"]] if "image" in design else list(design.get("images", []))
        if trial["flip"]:
            images = images[::-1]
        kind = trial["shown_kind"]
        return {"stage": "trial", "done": done, "total": total, "sliders": sliders and kind != "headphone",
                "trial": {"uid": trial["uid"], "kind": kind, "prompt": PROMPTS[kind],
                          "sound": f"/m/{token}/{design['sound']}", "images": [f"/m/{token}/{m}" for m in images],
                          "duration_s": trial["duration_s"]}}

    def reply(payload: dict[str, Any]) -> JSONResponse:
        return JSONResponse(payload, headers={**_HEADERS, "Cache-Control": "no-store"})

    async def index(request: Request) -> Response:
        return PlainTextResponse("Open the personal link you were given.", status_code=404, headers=_HEADERS)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok", headers=_HEADERS)

    async def rater_page(request: Request) -> Response:
        if await locked(lookup, request.path_params["token"]) is None:
            return PlainTextResponse("This link is not valid.", status_code=404, headers=_HEADERS)
        return Response(page, media_type="text/html; charset=utf-8", headers={**_HEADERS, "Cache-Control": "no-store"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return PlainTextResponse("not found", status_code=404, headers=_HEADERS)
        return Response(assets[name], media_type=_ASSETS[name], headers=_HEADERS)

    async def media_file(request: Request) -> Response:
        mid = request.path_params["mid"]
        if not MEDIA_ID.fullmatch(mid) or mid not in media or \
                await locked(lookup, request.path_params["token"]) is None:
            return PlainTextResponse("not found", status_code=404, headers=_HEADERS)
        path, content_type = media[mid]
        return FileResponse(path, media_type=content_type, headers={**_HEADERS, "Cache-Control": "private"})

    async def api_state(request: Request) -> Response:
        token = request.path_params["token"]

        def work() -> dict[str, Any] | None:
            rater = lookup(token)
            return None if rater is None else state(rater, token)

        payload = await locked(work)
        return _error(404, "unknown link") if payload is None else reply(payload)

    def post(name: str):
        def work(token: str, body: dict[str, Any]) -> dict[str, Any] | None:
            rater = lookup(token)
            if rater is None:
                return None
            store = holder["store"]
            if name == "consent":
                alias = body.get("alias")
                if alias is not None and not isinstance(alias, str):
                    raise Refused(422, "the alias must be text")
                store.consent(rater["id"], alias)
                return state(store.rater(token), token)
            uid = body.get("uid")
            if not isinstance(uid, str) or not TOKEN.fullmatch(uid):
                raise Refused(422, "uid must be the trial's id")
            if rater["consented_at"] is None:
                raise Refused(409, "consent first")
            if name == "ended":
                store.mark_ended(rater["id"], uid)
                return {"ok": True}
            store.answer(rater["id"], uid, body.get("response"), valence=body.get("valence"),
                         arousal=body.get("arousal"), client_rt_ms=body.get("rt_ms"))
            return state(rater, token)

        async def endpoint(request: Request) -> Response:
            token = request.path_params["token"]
            try:
                if not TOKEN.fullmatch(token):
                    return _error(404, "unknown link")
                body = await _json_body(request, _KEYS[name])
                payload = await locked(work, token, body)
            except (_BadBody, Refused) as error:
                return _error(error.status, str(error))
            return _error(404, "unknown link") if payload is None else reply(payload)
        return endpoint

    routes = [
        Route("/", index), Route("/healthz", health), Route("/r/{token}", rater_page),
        Route("/static/{name}", asset), Route("/m/{token}/{mid}", media_file),
        Route("/api/{token}/state", api_state),
        *(Route(f"/api/{{token}}/{name}", post(name), methods=["POST"]) for name in ("consent", "ended", "answer")),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve(folder: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the study ``folder`` with uvicorn until interrupted."""
    import uvicorn

    app = create_app(folder)
    uvicorn.run(app, host=host, port=int(port), log_level="warning", timeout_keep_alive=5,
                h11_max_incomplete_event_size=16 * 1024, server_header=False)
