"""``sqlite:///path/views.db``: the embedded view store, shared by every process of one machine.

One ``kv(view, key, value) WITHOUT ROWID`` table (the primary key is the clustered index, so a prefix
scan is one range read) and a ``checkpoints`` table; a commit is one ``BEGIN IMMEDIATE`` transaction.

Pragmas: WAL (readers in other processes never block the writer and see each commit whole), a busy
timeout (writers of several processes queue instead of failing), and ``synchronous=NORMAL``: in WAL
mode a commit is then durable against a process crash (SIGKILL) but the last few commits may roll
back on power loss. That is safe here because a view's changes and its log offsets live in the same
transaction: a lost commit loses both, and the runner replays those events from the log (which is
fsynced before an event is ever consumed). FULL would buy nothing but an fsync per batch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import msgspec

from ..errors import CheckpointConflictError, StoreError, StoreUnavailableError
from ..store import Checkpoint, decode_checkpoint, encode_checkpoint, prefix_end

__all__ = ["SqliteStore", "open_sqlite_store"]

BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    view TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (view, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    view TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""

_GET_MANY = "SELECT key, value FROM kv WHERE view = ? AND key IN (SELECT value FROM json_each(?))"
_PUT = ("INSERT INTO kv (view, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (view, key) DO UPDATE SET value = excluded.value")
_DELETE = "DELETE FROM kv WHERE view = ? AND key = ?"
_json = msgspec.json.Encoder()


class SqliteStore:
    """A ``ViewStore`` in one SQLite file (see the module docstring for the pragmas and why)."""

    catchup_batch = 50_000
    remote = False

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path
        self._lock = threading.Lock()
        with self._translate():
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA cache_size = -65536")  # 64 MiB of page cache
            self._db.execute("PRAGMA temp_store = MEMORY")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                hint = (
                    f"another process held a write transaction on {self.path} for over "
                    f"{BUSY_TIMEOUT_S:.0f} s; find it (e.g. `fuser {self.path}`) and retry"
                )
            else:
                hint = f"check that {self.path} is a writable SQLite file on a local disk"
            raise StoreUnavailableError(url=self.url, detail=text, hint=hint) from exc
        except OSError as exc:
            raise StoreUnavailableError(
                url=self.url, detail=str(exc), hint=f"check that the directory of {self.path} can be created "
                "and written",
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailableError(
                url=self.url, detail=str(exc),
                hint=f"{self.path} is damaged or not a view store: move it away and rebuild the views",
            ) from exc

    def get_many(self, view: str, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        with self._lock, self._translate():
            rows = self._db.execute(_GET_MANY, (view, _json.encode(wanted))).fetchall()
        return dict(rows)

    def scan(
        self, view: str, prefix: str = "", *, limit: int | None = None, start_after: str | None = None
    ) -> list[tuple[str, bytes]]:
        sql = "SELECT key, value FROM kv WHERE view = ? AND key >= ?"
        args: list[object] = [view, prefix]
        end = prefix_end(prefix)
        if end is not None:
            sql += " AND key < ?"
            args.append(end)
        if start_after is not None:
            sql += " AND key > ?"
            args.append(start_after)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock, self._translate():
            return self._db.execute(sql, args).fetchall()

    def checkpoint(self, view: str) -> Checkpoint | None:
        with self._lock, self._translate():
            row = self._db.execute("SELECT data FROM checkpoints WHERE view = ?", (view,)).fetchone()
        return None if row is None else decode_checkpoint(row[0])

    def commit(
        self, view: str, puts: Mapping[str, bytes], deletes: Iterable[str], checkpoint: Checkpoint
    ) -> None:
        db = self._db
        with self._lock, self._translate():
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT seq FROM checkpoints WHERE view = ?", (view,)).fetchone()
                found = 0 if row is None else int(row[0])
                if checkpoint.seq != found + 1:
                    raise CheckpointConflictError(
                        view=view, expected_seq=checkpoint.seq - 1, found_seq=found
                    )
                if puts:
                    # in key order: B-tree pages are visited once each, in sequence
                    db.executemany(_PUT, [(view, k, puts[k]) for k in sorted(puts)])
                dels = [(view, k) for k in deletes]
                if dels:
                    db.executemany(_DELETE, dels)
                db.execute(
                    "INSERT OR REPLACE INTO checkpoints (view, seq, data) VALUES (?, ?, ?)",
                    (view, checkpoint.seq, encode_checkpoint(checkpoint)),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def drop(self, view: str) -> None:
        db = self._db
        with self._lock, self._translate():
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM kv WHERE view = ?", (view,))
                db.execute("DELETE FROM checkpoints WHERE view = ?", (view,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def views(self) -> list[str]:
        with self._lock, self._translate():
            return [r[0] for r in self._db.execute("SELECT view FROM checkpoints ORDER BY view")]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_sqlite_store(url: str) -> SqliteStore:
    """``sqlite:///abs/path.db`` or ``sqlite://relative/path.db``."""
    path = url.partition("://")[2]
    if not path:
        from ..errors import UnsupportedStoreURLError

        raise UnsupportedStoreURLError(url=url)
    return SqliteStore(url, path)
