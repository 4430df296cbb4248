"""``Idempotency-Key`` for writes: the first response per (user, key) is kept and replayed on retries.

A SQLite table beside the views (``<data_dir>/idempotency.db``, or ``:memory:`` in tests) shared by
every ingress replica of a machine. ``begin`` claims a key before the write runs: a retry of a
finished request gets the stored response (and appends nothing), a retry while the first is still
running gets 409, the same key with a different request body gets 422. ``abandon`` releases a claim
whose request failed, so the client may retry it. Entries expire after ``ttl_s``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from .errors import Conflict, Unprocessable

__all__ = ["IdempotencyStore", "Stored", "request_fingerprint"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL DEFAULT 0,
    body BLOB,
    created REAL NOT NULL
)
"""


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    body: bytes


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class IdempotencyStore:
    def __init__(self, path: str | Path = ":memory:", *, ttl_s: float = 24 * 3600,
                 pending_timeout_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self.ttl_s = ttl_s
        self.pending_timeout_s = pending_timeout_s
        self.clock = clock

    @staticmethod
    def scope(user_id: str, key: str) -> str:
        return f"{user_id}\x00{key}"

    def begin(self, scope: str, fingerprint: str) -> Stored | None:
        """Claim ``scope`` (None: go ahead) or return the stored first response."""
        now = self.clock()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO idempotency (key, fingerprint, created) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET fingerprint=excluded.fingerprint, done=0, status=0, "
                "body=NULL, created=excluded.created WHERE idempotency.created < ? "
                "OR (idempotency.done = 0 AND idempotency.created < ?)",
                (scope, fingerprint, now, now - self.ttl_s, now - self.pending_timeout_s),
            )
            if cur.rowcount == 1:  # inserted, or took over an expired / abandoned claim
                return None
            row = self._db.execute(
                "SELECT fingerprint, done, status, body FROM idempotency WHERE key = ?", (scope,)
            ).fetchone()
        if row is None:  # pragma: no cover - deleted between statements by an abandon
            return self.begin(scope, fingerprint)
        if row[0] != fingerprint:
            raise Unprocessable(
                "this Idempotency-Key was already used for a different request; use a new key per request",
                code="idempotency_key_reused",
            )
        if not row[1]:
            raise Conflict(
                "a request with this Idempotency-Key is still being processed; retry in a moment",
                code="idempotency_in_progress",
            )
        return Stored(status=int(row[2]), body=bytes(row[3] or b""))

    def finish(self, scope: str, status: int, body: bytes) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE idempotency SET done = 1, status = ?, body = ? WHERE key = ?", (status, body, scope)
            )

    def abandon(self, scope: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM idempotency WHERE key = ? AND done = 0", (scope,))

    def purge(self) -> int:
        with self._lock:
            cur = self._db.execute("DELETE FROM idempotency WHERE created < ?", (self.clock() - self.ttl_s,))
            return int(cur.rowcount)

    def close(self) -> None:
        self._db.close()
