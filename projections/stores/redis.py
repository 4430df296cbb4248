"""``redis://host:port[/db]``: the view store shared across a cluster (redis-py).

Per view (the ``{view}`` hash tag keeps them in one Redis Cluster slot, so one script may touch all):

- ``proj:{view}:data`` — a hash ``key -> value`` (``get_many`` is one ``HMGET``);
- ``proj:{view}:keys`` — a sorted set of the keys, all with score 0, for prefix scans (``ZRANGEBYLEX``);
- ``proj:{view}:ckpt`` — a hash with the checkpoint's ``seq`` and its JSON ``data``.

A commit is one Lua script: it checks the checkpoint sequence, then writes the puts, deletes and
the checkpoint. Redis runs a script whole, without interleaving, and replicates/persists it as one
unit; a client that dies while sending it sends nothing that runs. A scan is a script too, so the
keys and values it returns come from one instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import redis
import redis.exceptions as rex

from ..errors import CheckpointConflictError, StoreError, StoreUnavailableError
from ..store import Checkpoint, decode_checkpoint, encode_checkpoint, prefix_end

__all__ = ["RedisStore", "open_redis_store"]

_CHUNK = 5000  # keys per HMGET

_COMMIT = """
local found = tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
if tonumber(ARGV[1]) ~= found + 1 then
  return redis.error_reply('REELCONFLICT ' .. found)
end
local nputs = tonumber(ARGV[3])
local ndels = tonumber(ARGV[4])
local i = 5
local done = 0
while done < nputs do
  local n = math.min(500, nputs - done)
  local h, z = {}, {}
  for j = 0, n - 1 do
    local k = ARGV[i + 2 * j]
    h[2 * j + 1] = k
    h[2 * j + 2] = ARGV[i + 2 * j + 1]
    z[2 * j + 1] = 0
    z[2 * j + 2] = k
  end
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('ZADD', KEYS[2], unpack(z))
  i = i + 2 * n
  done = done + n
end
done = 0
while done < ndels do
  local n = math.min(1000, ndels - done)
  local d = {}
  for j = 0, n - 1 do d[j + 1] = ARGV[i + j] end
  redis.call('HDEL', KEYS[1], unpack(d))
  redis.call('ZREM', KEYS[2], unpack(d))
  i = i + n
  done = done + n
end
redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'data', ARGV[2])
return 1
"""

_SCAN = """
local keys
if ARGV[3] == '' then
  keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
else
  keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
end
if #keys == 0 then return {} end
local out = {}
local i = 1
while i <= #keys do
  local chunk = {}
  for j = i, math.min(i + 999, #keys) do chunk[#chunk + 1] = keys[j] end
  local vals = redis.call('HMGET', KEYS[1], unpack(chunk))
  for j = 1, #chunk do
    if vals[j] then
      out[#out + 1] = chunk[j]
      out[#out + 1] = vals[j]
    end
  end
  i = i + 1000
end
return out
"""


def _keys(view: str) -> tuple[str, str, str]:
    base = f"proj:{{{view}}}"
    return f"{base}:data", f"{base}:keys", f"{base}:ckpt"


class RedisStore:
    """A ``ViewStore`` in Redis (see the module docstring for the layout and atomicity)."""

    catchup_batch = 10_000  # a commit script blocks the server: ~5 µs per entry
    remote = True

    def __init__(self, url: str) -> None:
        self.url = url
        with self._translate():
            self._r = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
            self._r.ping()
        self._commit = self._r.register_script(_COMMIT)
        self._scan = self._r.register_script(_SCAN)

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (rex.ConnectionError, rex.TimeoutError) as exc:
            raise StoreUnavailableError(
                url=self.url, detail=str(exc),
                hint=("start redis-server, or fix the URL (REEL_VIEW_STORE_URL; "
                      "`reel up --views-url`, `reel projections --store`)"),
            ) from exc
        except rex.RedisError as exc:
            raise StoreUnavailableError(
                url=self.url, detail=f"{type(exc).__name__}: {exc}",
                hint="check the Redis server's log and memory limits",
            ) from exc

    def get_many(self, view: str, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        data = _keys(view)[0]
        with self._translate():
            if len(wanted) <= _CHUNK:
                values: list[Any] = self._r.hmget(data, wanted)
            else:
                pipe = self._r.pipeline(transaction=True)  # one instant, like a single HMGET
                for i in range(0, len(wanted), _CHUNK):
                    pipe.hmget(data, wanted[i : i + _CHUNK])
                values = [v for part in pipe.execute() for v in part]
        return {k: v for k, v in zip(wanted, values, strict=True) if v is not None}

    def scan(
        self, view: str, prefix: str = "", *, limit: int | None = None, start_after: str | None = None
    ) -> list[tuple[str, bytes]]:
        after = start_after is not None and start_after >= prefix
        low = "(" + start_after if after and start_after is not None else "[" + prefix
        end = prefix_end(prefix)
        high = "+" if end is None else "(" + end
        if limit is not None and limit <= 0:
            return []
        data, keys, _ = _keys(view)
        with self._translate():
            args = [low, high, "" if limit is None else limit]
            flat: list[bytes] = self._scan(keys=[data, keys], args=args)
        return [(flat[i].decode(), flat[i + 1]) for i in range(0, len(flat), 2)]

    def checkpoint(self, view: str) -> Checkpoint | None:
        with self._translate():
            raw = self._r.hget(_keys(view)[2], "data")
        return None if raw is None else decode_checkpoint(raw)

    def commit(
        self, view: str, puts: Mapping[str, bytes], deletes: Iterable[str], checkpoint: Checkpoint
    ) -> None:
        dels = list(deletes)
        args: list[Any] = [checkpoint.seq, encode_checkpoint(checkpoint), len(puts), len(dels)]
        for kv in puts.items():
            args.extend(kv)
        args.extend(dels)
        try:
            with self._translate():
                self._commit(keys=list(_keys(view)), args=args)
        except StoreUnavailableError as exc:
            cause = exc.__cause__
            if isinstance(cause, rex.ResponseError) and "REELCONFLICT" in str(cause):
                found = int(str(cause).rsplit(" ", 1)[-1])
                raise CheckpointConflictError(
                    view=view, expected_seq=checkpoint.seq - 1, found_seq=found
                ) from None
            raise

    def drop(self, view: str) -> None:
        with self._translate():
            self._r.unlink(*_keys(view))

    def views(self) -> list[str]:
        out: list[str] = []
        with self._translate():
            for raw in self._r.scan_iter(match="proj:{*}:ckpt", count=1000):
                name = raw.decode()
                out.append(name[len("proj:{") : -len("}:ckpt")])
        return sorted(out)

    def close(self) -> None:
        self._r.close()


def open_redis_store(url: str) -> RedisStore:
    return RedisStore(url)
