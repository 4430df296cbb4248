"""The feed's batch seen test answers what the shard's Bloom filter answers, id by id."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.seen import SeenSet, bloom_contains
from serve.feed.bloom import BloomProbe


@settings(max_examples=60, deadline=None)
@given(seen=st.integers(0, 400), bits=st.sampled_from([64, 1024, 32_768]), hashes=st.integers(1, 5),
       seed=st.integers(0, 1000))
def test_the_batch_test_matches_the_filter_id_by_id(seen: int, bits: int, hashes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    video_ids = [f"v{i}" for i in range(600)]
    s = SeenSet(ring=16, bits=bits, hashes=hashes)
    for i in rng.permutation(600)[:seen].tolist():
        s.add(video_ids[i])
    bloom = bytes(s.bloom)
    probe = BloomProbe()
    for _ in range(3):  # the second and later batches read positions computed by earlier ones
        labels = rng.integers(0, 600, size=int(rng.integers(0, 200)))
        want = [bloom_contains(bloom, video_ids[label], hashes) for label in labels.tolist()]
        assert probe.contains(bloom, hashes, video_ids, labels).tolist() == want


def test_a_growing_catalogue_and_two_filter_shapes() -> None:
    video_ids = [f"v{i}" for i in range(10)]
    a, b = SeenSet(ring=1, bits=64, hashes=3), SeenSet(ring=1, bits=128, hashes=2)
    for vid in ("v1", "v2", "v3", "v12", "v0"):  # a ring of one: all but the last spill into the filter
        a.add(vid)
        b.add(vid)
    probe = BloomProbe()
    labels = np.arange(10)
    for _ in range(2):
        assert probe.contains(bytes(a.bloom), 3, video_ids, labels).tolist() == [
            bloom_contains(bytes(a.bloom), v, 3) for v in video_ids]
        assert probe.contains(bytes(b.bloom), 2, video_ids, labels).tolist() == [
            bloom_contains(bytes(b.bloom), v, 2) for v in video_ids]
        video_ids += [f"v{i}" for i in range(len(video_ids), len(video_ids) + 40)]  # published meanwhile
        labels = np.arange(len(video_ids))
    assert probe.contains(b"", 3, video_ids, labels).tolist() == [False] * len(video_ids)
    assert bloom_contains(bytes(a.bloom), "v12", 3)  # the ids added after the first batches are found
    assert probe.contains(bytes(a.bloom), 3, video_ids, np.array([12]))[0]
