"""The ``ViewStore`` contract, run against every backend: memory, SQLite and a real redis-server."""

from __future__ import annotations

import multiprocessing as mp
import uuid
from collections.abc import Iterator

import pytest

from projections.errors import CheckpointConflictError, StoreUnavailableError, UnsupportedStoreURLError
from projections.store import Checkpoint, ViewStore, open_store, prefix_end

STORE_BACKENDS = ["memory", "sqlite", "redis"]


def _fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'views.db'}"
    base: str = request.getfixturevalue("redis_url")
    # a fresh database per test keeps tests independent on one server
    db = 1 + (uuid.uuid4().int % 15)
    url = base.rsplit("/", 1)[0] + f"/{db}"
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return _fresh_url(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Backends shared between processes (memory:// lives in one process by design)."""
    return _fresh_url(request.param, request, tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[ViewStore]:
    s = open_store(store_url)
    yield s
    s.close()


def ck(seq: int, **offsets: int) -> Checkpoint:
    return Checkpoint(offsets={int(k[1:]): v for k, v in offsets.items()}, version=3, seq=seq,
                      events=seq * 10, last_event_ts=1_700_000_000_000_000 + seq, updated_at=seq)


KEYS = ["a", "a:1", "a:10", "a:2", "a;", "ab", "b", "b:x", "é", "日本", "a:\U0001f600", ""]


def fill(store: ViewStore, view: str = "v") -> None:
    store.commit(view, {k: k.encode() + b"!" for k in KEYS}, [], ck(1, p0=5))


def test_get_many_returns_present_keys_only(store: ViewStore) -> None:
    assert store.get_many("v", ["a"]) == {}
    fill(store)
    got = store.get_many("v", ["a", "nope", "日本", "b:x"])
    assert got == {"a": b"a!", "日本": "日本!".encode(), "b:x": b"b:x!"}
    assert store.get_many("v", []) == {}
    assert store.get_many("other", ["a"]) == {}
    many = [f"k{i}" for i in range(12_000)]
    store.commit("big", {k: b"x" for k in many}, [], ck(1))
    assert len(store.get_many("big", [*many, "missing"])) == 12_000


def test_scan_is_ordered_and_bounded_by_prefix(store: ViewStore) -> None:
    fill(store)
    assert [k for k, _ in store.scan("v", "")] == sorted(KEYS)
    assert [k for k, _ in store.scan("v", "a:")] == ["a:1", "a:10", "a:2", "a:\U0001f600"]
    assert [k for k, _ in store.scan("v", "a")] == ["a", "a:1", "a:10", "a:2", "a:\U0001f600", "a;", "ab"]
    assert store.scan("v", "zzz") == []
    assert store.scan("v", "a:1") == [("a:1", b"a:1!"), ("a:10", b"a:10!")]


def test_scan_limit_and_start_after_page_through(store: ViewStore) -> None:
    fill(store)
    assert [k for k, _ in store.scan("v", "a", limit=2)] == ["a", "a:1"]
    assert [k for k, _ in store.scan("v", "a", limit=2, start_after="a:1")] == ["a:10", "a:2"]
    assert [k for k, _ in store.scan("v", "a:", start_after="0")] == ["a:1", "a:10", "a:2", "a:\U0001f600"]
    assert store.scan("v", "a", start_after="ab") == []
    assert store.scan("v", "a", limit=0) == []
    pages, after = [], None
    while True:
        page = store.scan("v", "", limit=3, start_after=after)
        if not page:
            break
        pages.extend(k for k, _ in page)
        after = page[-1][0]
    assert pages == sorted(KEYS)


def test_commit_applies_puts_deletes_and_checkpoint_together(store: ViewStore) -> None:
    assert store.checkpoint("v") is None
    fill(store)
    assert store.checkpoint("v") == ck(1, p0=5)
    store.commit("v", {"a": b"new", "c": b"c"}, ["b", "missing", "ab"], ck(2, p0=7, p1=1))
    assert store.get_many("v", ["a", "b", "ab", "c"]) == {"a": b"new", "c": b"c"}
    assert store.checkpoint("v") == ck(2, p0=7, p1=1)
    assert "b" not in dict(store.scan("v", "b"))


def test_commit_with_a_stale_checkpoint_changes_nothing(store: ViewStore) -> None:
    fill(store)
    with pytest.raises(CheckpointConflictError) as err:
        store.commit("v", {"a": b"lost"}, ["b"], ck(1, p0=9))  # a second runner that also read seq 0
    assert err.value.found_seq == 1
    with pytest.raises(CheckpointConflictError):
        store.commit("v", {"a": b"lost"}, [], ck(5, p0=9))
    assert store.get_many("v", ["a", "b"]) == {"a": b"a!", "b": b"b!"}
    assert store.checkpoint("v") == ck(1, p0=5)
    with pytest.raises(CheckpointConflictError):
        store.commit("fresh", {"x": b"1"}, [], ck(2))
    assert store.get_many("fresh", ["x"]) == {}


def test_views_are_independent_and_drop_removes_one(store: ViewStore) -> None:
    fill(store, "v")
    fill(store, "w")
    assert store.views() == ["v", "w"]
    store.drop("v")
    assert store.views() == ["w"]
    assert store.checkpoint("v") is None
    assert store.scan("v", "") == []
    assert len(store.scan("w", "")) == len(KEYS)
    store.commit("v", {"z": b"1"}, [], ck(1))  # a dropped view starts over at seq 1
    assert store.scan("v", "") == [("z", b"1")]
    store.drop("never-existed")


def test_empty_commit_moves_only_the_checkpoint(store: ViewStore) -> None:
    fill(store)
    store.commit("v", {}, [], ck(2, p0=6))
    assert store.checkpoint("v") == ck(2, p0=6)
    assert len(store.scan("v", "")) == len(KEYS)


def _read_in_child(url: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    s = open_store(url)
    ckpt = s.checkpoint("v")
    queue.put((s.get_many("v", ["a", "c"]), None if ckpt is None else ckpt.seq))
    s.close()


def test_another_process_sees_committed_data(shared_url: str) -> None:
    store = open_store(shared_url)
    fill(store)
    store.commit("v", {"c": b"c"}, [], ck(2))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_read_in_child, args=(shared_url, queue))
    proc.start()
    got = queue.get(timeout=60)
    proc.join(timeout=30)
    store.close()
    assert got == ({"a": b"a!", "c": b"c"}, 2)


def _write_pairs(url: str, commits: int) -> None:
    s = open_store(url)
    for seq in range(1, commits + 1):
        value = str(seq).encode()
        s.commit("pairs", {"x": value, "y": value}, ["gone"] if seq % 2 else [], ck(seq))
    s.close()


def test_readers_in_other_processes_never_see_half_a_commit(shared_url: str) -> None:
    commits = 300
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_write_pairs, args=(shared_url, commits))
    proc.start()
    reader = open_store(shared_url)
    seen = set()
    while proc.is_alive() or not seen:
        got = reader.get_many("pairs", ["x", "y"])
        if got:
            assert got["x"] == got["y"]
            seen.add(got["x"])
        rows = dict(reader.scan("pairs", ""))
        if rows:
            assert rows["x"] == rows["y"]
    proc.join(timeout=60)
    assert proc.exitcode == 0
    assert reader.get_many("pairs", ["x", "y"]) == {"x": str(commits).encode(), "y": str(commits).encode()}
    ckpt = reader.checkpoint("pairs")
    assert ckpt is not None and ckpt.seq == commits
    reader.close()


def test_urls() -> None:
    with pytest.raises(UnsupportedStoreURLError):
        open_store("postgres://x")
    with pytest.raises(UnsupportedStoreURLError):
        open_store("views.db")


def test_an_unreachable_store_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reelstack.services import free_port

    with pytest.raises(StoreUnavailableError, match="start redis-server"):
        open_store(f"redis://127.0.0.1:{free_port()}/0")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailableError, match="can be created"):
        open_store(f"sqlite://{blocker / 'views.db'}")
    (tmp_path / "junk.db").write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(StoreUnavailableError):
        open_store(f"sqlite://{tmp_path / 'junk.db'}")


def test_prefix_end() -> None:
    assert prefix_end("") is None
    assert prefix_end("a:") == "a;"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\ud7ff") == "\ue000"
