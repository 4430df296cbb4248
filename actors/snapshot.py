"""The checkpoint form of user states and of a whole shard (msgpack; vectors as raw float32 bytes).

``to_record``/``from_record`` round-trip a ``UserState`` exactly (bit-for-bit vectors, the seen
ring in canonical order, the Bloom filter bytes, held-back events), so a restored shard continues
the fold as if it had never stopped.
"""

from __future__ import annotations

import msgspec
import numpy as np

from events.codec import decode, encode

from .seen import SeenSet
from .user_state import Counts, StateParams, UserState

__all__ = ["SNAPSHOT_FORMAT", "ShardSnapshot", "UserRecord", "decode_snapshot", "encode_snapshot",
           "from_record", "to_record"]

SNAPSHOT_FORMAT = 1


class UserRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    user_id: str
    version: int
    last_ts: int
    short: bytes
    long: bytes
    seen: list[str]
    bloom: bytes = b""
    registered: bool = False
    region: str = "ZZ"
    language: str = "en"
    birth_year: int | None = None
    counts: Counts = msgspec.field(default_factory=Counts)
    neg_creators: list[str] = []
    neg_sounds: list[str] = []
    following: list[str] = []
    last_video_id: str | None = None
    last_creator_id: str | None = None
    held: list[bytes] = []  # msgpack events (events.codec)


class ShardSnapshot(msgspec.Struct, kw_only=True):
    """Every user of one shard plus the log offsets (next to read) they reflect."""

    format: int = SNAPSHOT_FORMAT
    shard: int
    shards: int
    partitions: int
    params: StateParams
    offsets: dict[int, int]
    events_applied: int
    created_us: int  # wall clock of the snapshot (information only; never used by the fold)
    users: list[UserRecord]


def _vec(raw: bytes, dim: int) -> np.ndarray:
    v = np.frombuffer(raw, dtype="<f4").astype(np.float32)  # a writable copy
    if v.shape != (dim,):
        raise ValueError(f"vector of {v.shape[0]} floats in a checkpoint of dim {dim}")
    return v


def to_record(state: UserState) -> UserRecord:
    return UserRecord(
        user_id=state.user_id, version=state.version, last_ts=state.last_ts,
        short=state.short.astype("<f4").tobytes(), long=state.long.astype("<f4").tobytes(),
        seen=state.seen.recent(), bloom=bytes(state.seen.bloom),
        registered=state.registered, region=state.region, language=state.language,
        birth_year=state.birth_year, counts=msgspec.structs.replace(state.counts),
        neg_creators=sorted(state.neg_creators), neg_sounds=sorted(state.neg_sounds),
        following=sorted(state.following), last_video_id=state.last_video_id,
        last_creator_id=state.last_creator_id, held=[encode(e) for e in state.held],
    )


def from_record(rec: UserRecord, params: StateParams) -> UserState:
    return UserState(
        user_id=rec.user_id, version=rec.version, last_ts=rec.last_ts,
        short=_vec(rec.short, params.dim), long=_vec(rec.long, params.dim),
        seen=SeenSet.restore(rec.seen, rec.bloom, params.seen_ring, params.bloom_bits, params.bloom_hashes),
        registered=rec.registered, region=rec.region, language=rec.language, birth_year=rec.birth_year,
        counts=msgspec.structs.replace(rec.counts), neg_creators=set(rec.neg_creators),
        neg_sounds=set(rec.neg_sounds), following=set(rec.following), last_video_id=rec.last_video_id,
        last_creator_id=rec.last_creator_id, held=[decode(b) for b in rec.held],
    )


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ShardSnapshot)


def encode_snapshot(snapshot: ShardSnapshot) -> bytes:
    return _encoder.encode(snapshot)


def decode_snapshot(data: bytes) -> ShardSnapshot:
    return _decoder.decode(data)
