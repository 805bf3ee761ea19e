"""The answers of a study: SQLite in WAL mode, every answer committed (``synchronous=FULL``) before the
reply that acknowledges it, hence before the next trial is shown.

Tables::

    raters    id, token_sha256 (the token itself is never stored), alias, created_at, consented_at, finished_at
    schedule  rater_id, position, trial_id, shown_kind, flip, uid (the trial instance's opaque id),
              duration_s, served_at, ended_at                            -- one row per trial a rater sees
    answers   rater_id, position, uid, trial_id, response, valence, arousal, client_rt_ms, answered_at
              UNIQUE (rater_id, position), UNIQUE (uid)                  -- at most one answer per trial

The rules every answer passes (:meth:`Store.answer`, raising :class:`Refused` with an HTTP status):

* the trial instance ``uid`` is one of the rater's own (404 otherwise: another rater's trial is unknown here);
* it is the rater's current trial, the first one without an answer (409: answered already, or not yet due);
* its sound played to its end: the client reported ``ended`` (:meth:`Store.mark_ended`) no sooner than the
  clip's duration after the trial was first served (409);

Answers are committed with ``synchronous=FULL`` (on disk before the reply); the served/ended marks through
a second connection with ``synchronous=NORMAL`` (they survive a killed server; a power cut may cost a mark,
so the rater replays the sound), which keeps one disk sync per trial.
* the values are in range: rating 1-7, choice 0-1, headphone 1-3, felt valence/arousal 1-9 or absent,
  response time 0-1 h or absent (422).

Timestamps are seconds since the epoch (``now`` may be passed, as the simulated raters do).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from resonance.errors import DatasetError, ParameterError, ResonanceError

__all__ = ["PLAY_SLACK_S", "RANGES", "Refused", "Store", "open_store", "shown_kind", "token_hash"]

#: How much sooner than the clip's duration an ``ended`` report is still believed (timer granularity).
PLAY_SLACK_S = 0.05
#: Allowed responses by the kind of trial the page shows.
RANGES = {"rating": (1, 7), "choice": (0, 1), "headphone": (1, 3)}
SAM_RANGE = (1, 9)
MAX_ALIAS = 40

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, alias TEXT, created_at REAL NOT NULL,
    consented_at REAL, finished_at REAL);
CREATE TABLE IF NOT EXISTS schedule (
    rater_id INTEGER NOT NULL REFERENCES raters(id), position INTEGER NOT NULL, trial_id TEXT NOT NULL,
    shown_kind TEXT NOT NULL, flip INTEGER NOT NULL, uid TEXT NOT NULL UNIQUE, duration_s REAL NOT NULL,
    served_at REAL, ended_at REAL, PRIMARY KEY (rater_id, position));
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, rater_id INTEGER NOT NULL REFERENCES raters(id), position INTEGER NOT NULL,
    uid TEXT NOT NULL UNIQUE, trial_id TEXT NOT NULL, response INTEGER NOT NULL, valence INTEGER, arousal INTEGER,
    client_rt_ms INTEGER, answered_at REAL NOT NULL, UNIQUE (rater_id, position));
"""


class Refused(ResonanceError):
    """An answer or report the store does not take; ``status`` is the HTTP status the app replies with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def token_hash(token: str) -> str:
    """The SHA-256 under which a rater's token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def shown_kind(kind: str) -> str:
    """What the page shows for a design trial kind (catch trials look like 2AFC, repeats like ratings)."""
    return {"rating": "rating", "repeat": "rating", "2afc": "choice", "catch": "choice",
            "headphone": "headphone"}[kind]


def _duration(study: dict[str, Any], trial: dict[str, Any]) -> float:
    if trial["kind"] == "repeat":
        trial = study["_by_id"][trial["of"]]
    return float(study["media"][trial["sound"]]["duration_s"])


class Store:
    """One connection to a study's SQLite file (use from one thread, or one event loop).

    ``durable=False`` syncs less often (``synchronous=NORMAL``): what simulated raters use.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"no answers database at {path}; design the study first "
                               "(`resonance judge design --checkpoint C --data D --out S`)")
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise DatasetError(f"{path} cannot be put in WAL mode (got {mode!r}); keep the study on a local disk")
        # FULL: each commit is on disk before the reply that acknowledges it. NORMAL (durable=False, for
        # simulated raters) survives a killed process, not a power cut, and does not sync every commit.
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.execute("PRAGMA foreign_keys=ON")
        # served/ended marks go through a second connection that does not sync each commit: losing one
        # to a power cut only makes a rater replay a sound; the next answer's FULL commit syncs them too
        self._marks = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._marks.row_factory = sqlite3.Row
        self._marks.execute("PRAGMA synchronous=NORMAL")

    @classmethod
    def create(cls, path: str | os.PathLike[str], study: dict[str, Any]) -> Store:
        """A new, empty database for ``study``."""
        path = Path(path)
        if path.exists():
            raise ParameterError(f"{path} exists already; a study has one database")
        sqlite3.connect(path).close()
        store = cls(path)
        store._db.executescript(_SCHEMA)
        store._db.execute("INSERT INTO meta VALUES ('study_seed', ?)", (str(study["config"]["seed"]),))
        return store

    def close(self) -> None:
        self._marks.close()
        self._db.close()

    # -- raters -------------------------------------------------------------------------------------

    def add_raters(self, study: dict[str, Any], n: int, *, alias: str | None = None) -> list[str]:
        """``n`` new raters with their schedules (:func:`~resonance.judge.design.rater_schedule`); returns
        their tokens, which are not stored (only their hashes)."""
        from resonance.judge.design import rater_schedule

        tokens = []
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            first = db.execute("SELECT COALESCE(MAX(id), 0) FROM raters").fetchone()[0]
            for k in range(int(n)):
                token = secrets.token_urlsafe(24)
                rater_id = first + k + 1
                db.execute("INSERT INTO raters (id, token_sha256, alias, created_at) VALUES (?, ?, ?, ?)",
                           (rater_id, token_hash(token), alias, time.time()))
                rows = [(rater_id, p, tid, shown_kind(study["_by_id"][tid]["kind"]), flip, secrets.token_urlsafe(12),
                         _duration(study, study["_by_id"][tid]))
                        for p, (tid, flip) in enumerate(rater_schedule(study, rater_id - 1))]
                db.executemany("INSERT INTO schedule (rater_id, position, trial_id, shown_kind, flip, uid, duration_s)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                tokens.append(token)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return tokens

    def rater(self, token: str) -> dict[str, Any] | None:
        """The rater whose token this is, or None."""
        row = self._db.execute("SELECT * FROM raters WHERE token_sha256 = ?", (token_hash(str(token)),)).fetchone()
        return dict(row) if row is not None else None

    def consent(self, rater_id: int, alias: str | None, *, now: float | None = None) -> None:
        """Record consent (once; a later call changes nothing) and the optional alias (<= 40 characters)."""
        alias = (alias or "").strip() or None
        if alias is not None and (len(alias) > MAX_ALIAS or not alias.isprintable()):
            raise Refused(422, f"the alias must be at most {MAX_ALIAS} printable characters")
        self._db.execute("UPDATE raters SET consented_at = ?, alias = COALESCE(?, alias) WHERE id = ? "
                         "AND consented_at IS NULL", (time.time() if now is None else now, alias, rater_id))

    # -- trials -------------------------------------------------------------------------------------

    def progress(self, rater_id: int) -> tuple[int, int]:
        """``(answered, total)`` trials of a rater."""
        done = self._db.execute("SELECT COUNT(*) FROM answers WHERE rater_id = ?", (rater_id,)).fetchone()[0]
        total = self._db.execute("SELECT COUNT(*) FROM schedule WHERE rater_id = ?", (rater_id,)).fetchone()[0]
        return int(done), int(total)

    def current(self, rater_id: int, *, now: float | None = None) -> dict[str, Any] | None:
        """The rater's first trial without an answer (marked served the first time), or None when done."""
        db = self._db
        row = db.execute("SELECT s.* FROM schedule s LEFT JOIN answers a ON a.uid = s.uid WHERE s.rater_id = ? "
                         "AND a.uid IS NULL ORDER BY s.position LIMIT 1", (rater_id,)).fetchone()
        if row is None:
            db.execute("UPDATE raters SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                       (time.time() if now is None else now, rater_id))
            return None
        trial = dict(row)
        if trial["served_at"] is None:
            trial["served_at"] = time.time() if now is None else now
            self._marks.execute("UPDATE schedule SET served_at = ? WHERE uid = ? AND served_at IS NULL",
                                (trial["served_at"], trial["uid"]))
        return trial

    def _own(self, rater_id: int, uid: str) -> sqlite3.Row:
        row = self._db.execute("SELECT * FROM schedule WHERE uid = ? AND rater_id = ?", (str(uid), rater_id)).fetchone()
        if row is None:
            raise Refused(404, "no such trial for this rater")
        return row

    def mark_ended(self, rater_id: int, uid: str, *, now: float | None = None) -> None:
        """The client says the trial's sound played to its end; believed only if the clip's duration has
        passed since the trial was first served."""
        now = time.time() if now is None else now
        row = self._own(rater_id, uid)
        if row["served_at"] is None:
            raise Refused(409, "this trial has not been served yet")
        if now - row["served_at"] < row["duration_s"] - PLAY_SLACK_S:
            raise Refused(409, f"the sound lasts {row['duration_s']:.2f} s; it cannot have ended "
                          f"{now - row['served_at']:.2f} s after the trial was shown")
        self._marks.execute("UPDATE schedule SET ended_at = COALESCE(ended_at, ?) WHERE uid = ?", (now, row["uid"]))

    @staticmethod
    def _optional_int(value: Any, low: int, high: int, name: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Refused(422, f"{name} must be an integer in {low}..{high} or absent")
        return int(value)

    def answer(self, rater_id: int, uid: str, response: Any, *, valence: Any = None, arousal: Any = None,
               client_rt_ms: Any = None, now: float | None = None) -> None:
        """Store the rater's answer to the trial instance ``uid`` (see the module docstring for the rules)."""
        now = time.time() if now is None else now
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = self._own(rater_id, uid)
            if db.execute("SELECT 1 FROM answers WHERE uid = ?", (row["uid"],)).fetchone():
                raise Refused(409, "this trial was answered already")
            current = db.execute("SELECT MIN(s.position) FROM schedule s LEFT JOIN answers a ON a.uid = s.uid "
                                 "WHERE s.rater_id = ? AND a.uid IS NULL", (rater_id,)).fetchone()[0]
            if row["position"] != current:
                raise Refused(409, "this is not the rater's current trial")
            if row["ended_at"] is None:
                raise Refused(409, "the sound has not been played to its end yet")
            low, high = RANGES[row["shown_kind"]]
            value = self._optional_int(response, low, high, "response")
            if value is None:
                raise Refused(422, f"response must be an integer in {low}..{high}")
            felt = [self._optional_int(v, *SAM_RANGE, n) for v, n in ((valence, "valence"), (arousal, "arousal"))]
            rt = self._optional_int(client_rt_ms, 0, 3_600_000, "rt_ms")
            db.execute("INSERT INTO answers (rater_id, position, uid, trial_id, response, valence, arousal, "
                       "client_rt_ms, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rater_id, row["position"], row["uid"], row["trial_id"], value, *felt, rt, now))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading ------------------------------------------------------------------------------------

    def answers_frame(self) -> Any:
        """Every answer with its schedule row and rater (no token), as a pandas DataFrame.

        ``choice`` is the chosen painting's index in the design's ``images`` (the shown side undone by
        ``flip``); ``rt_s`` the server-side time from serving the trial to its answer.
        """
        import pandas as pd

        frame = pd.read_sql_query(
            "SELECT a.rater_id AS rater, r.alias, a.position, a.uid, a.trial_id, s.shown_kind, s.flip, a.response, "
            "a.valence, a.arousal, a.client_rt_ms, s.duration_s, s.served_at, s.ended_at, a.answered_at "
            "FROM answers a JOIN schedule s ON s.uid = a.uid JOIN raters r ON r.id = a.rater_id "
            "ORDER BY a.rater_id, a.position", self._db)
        frame["choice"] = (frame["response"] ^ frame["flip"]).where(frame["shown_kind"] == "choice")
        frame["rt_s"] = frame["answered_at"] - frame["served_at"]
        return frame

    def raters_frame(self) -> Any:
        """Every rater (no token) with their answered and scheduled trial counts."""
        import pandas as pd

        return pd.read_sql_query(
            "SELECT r.id AS rater, r.alias, r.created_at, r.consented_at, r.finished_at, "
            "(SELECT COUNT(*) FROM answers a WHERE a.rater_id = r.id) AS answered, "
            "(SELECT COUNT(*) FROM schedule s WHERE s.rater_id = r.id) AS scheduled FROM raters r ORDER BY r.id",
            self._db)

    def count(self, table: str) -> int:
        if table not in ("raters", "schedule", "answers"):
            raise ParameterError(f"unknown table {table!r}")
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def open_store(folder: str | os.PathLike[str], *, durable: bool = True) -> Store:
    """The store of a study folder."""
    return Store(Path(folder) / "judge.sqlite", durable=durable)
