"""The pure user-state update: direction of movement, decay, bounds, cold start, seen set, negatives,
held-back events, and the checkpoint round trip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from actors.embeddings import ContentEncoder, VideoDirectory
from actors.fold import release, step
from actors.seen import SeenSet
from actors.snapshot import from_record, to_record
from actors.user_state import StateParams, UserState, VideoInfo, apply, new_state, personalisation
from actors.view import might_have_seen, session_vector, view_of
from events.schema import (
    Event,
    Followed,
    Impression,
    Liked,
    NotInterested,
    Shared,
    UserRegistered,
    VideoDetailsSubmitted,
    ViewEnded,
)

P = StateParams(dim=16)
T0 = 1_763_000_000_000_000
_ids = itertools.count()


def eid() -> str:
    return f"e{next(_ids)}"


def unit(i: int, dim: int = 16) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def video(vid: str, axis: int, creator: str = "c1", sound: str | None = "s1") -> VideoInfo:
    return VideoInfo(video_id=vid, embedding=unit(axis), creator_id=creator, sound_id=sound)


def view(vid: str, ts: int, watch: int, duration: int = 20_000, loops: int = 0,
         user: str = "u1") -> ViewEnded:
    return ViewEnded(event_id=eid(), ts=ts, user_id=user, video_id=vid, watch_ms=watch,
                     duration_ms=duration, loops=loops)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na and nb else 0.0


def warmed(axis: int = 1) -> UserState:
    """A user whose vectors point somewhere else than axis 0, so movements show."""
    s = new_state("u1", P)
    apply(s, view("w", T0, 20_000), video("w", axis), P)
    return s


def test_complete_watch_moves_both_vectors_toward_the_video() -> None:
    s = warmed()
    before_s, before_l = s.short.copy(), s.long.copy()
    apply(s, view("v", T0 + 1, 20_000), video("v", 0), P)
    e = unit(0)
    assert cos(s.short, e) > cos(before_s, e)
    assert cos(s.long, e) > cos(before_l, e)


def test_skip_moves_both_vectors_away() -> None:
    s = warmed()
    apply(s, view("x", T0 + 1, 20_000), video("x", 0), P)  # some positive component on axis 0
    before_s, before_l = s.short.copy(), s.long.copy()
    apply(s, view("v", T0 + 2, 1_500), video("v", 0), P)  # < 3 s: a skip
    e = unit(0)
    assert s.short @ e < before_s @ e
    assert s.long @ e < before_l @ e
    assert s.counts.skips == 1


def test_short_share_of_a_short_clip_is_a_skip_but_not_of_a_long_one() -> None:
    s = new_state("u1", P)
    apply(s, view("v", T0, 5_000, duration=40_000), video("v", 0), P)  # 12.5% of 40 s: skip
    assert s.counts.skips == 1 and s.short[0] < 0
    s2 = new_state("u1", P)
    apply(s2, view("v", T0, 5_000, duration=120_000), video("v", 0), P)  # long clip: weak positive
    assert s2.counts.skips == 0 and s2.short[0] > 0


def test_loops_weigh_more_than_a_single_completion() -> None:
    once, looped = new_state("a", P), new_state("b", P)
    apply(once, view("v", T0, 20_000), video("v", 0), P)
    apply(looped, view("v", T0, 20_000, loops=2), video("v", 0), P)
    assert looped.long[0] > once.long[0] > 0


@pytest.mark.parametrize("event_type", [Liked, Shared])
def test_like_and_share_move_toward(event_type: type[Liked] | type[Shared]) -> None:
    s = warmed()
    before = s.long.copy()
    apply(s, event_type(event_id=eid(), ts=T0 + 1, user_id="u1", video_id="v"), video("v", 0), P)
    assert cos(s.long, unit(0)) > cos(before, unit(0))
    assert s.counts.positives == 2  # the warm-up completion and this one


def test_not_interested_moves_away_and_marks_creator_and_sound() -> None:
    s = warmed(axis=0)
    before = s.long.copy()
    apply(s, NotInterested(event_id=eid(), ts=T0 + 1, user_id="u1", video_id="v"),
          video("v", 0, creator="c9", sound="s9"), P)
    assert s.long[0] < before[0]
    assert s.neg_creators == {"c9"} and s.neg_sounds == {"s9"}
    assert "v" in s.seen
    apply(s, NotInterested(event_id=eid(), ts=T0 + 2, user_id="u1", video_id="w", sound_id="s7"),
          video("w", 1, creator="c8"), P)
    assert s.neg_creators == {"c9"} and s.neg_sounds == {"s7", "s9"}  # only what the event names


def test_short_term_decays_with_event_time_and_long_term_does_not() -> None:
    s = warmed(axis=0)
    short0, long0 = float(np.linalg.norm(s.short)), s.long.copy()
    half = int(P.short_half_life_s * 1e6)
    apply(s, Impression(event_id=eid(), ts=T0 + half, user_id="u1", video_id="z", request_id="r",
                        position=0), None, P)
    assert np.linalg.norm(s.short) == pytest.approx(short0 / 2, rel=1e-5)
    np.testing.assert_array_equal(s.long, long0)
    # an event older than the last one never "un-decays"
    apply(s, Impression(event_id=eid(), ts=T0, user_id="u1", video_id="y", request_id="r", position=1),
          None, P)
    assert np.linalg.norm(s.short) == pytest.approx(short0 / 2, rel=1e-5)
    assert s.last_ts == T0 + half


def test_vectors_stay_bounded() -> None:
    s = new_state("u1", P)
    for i in range(200):
        apply(s, view("v", T0 + i, 20_000, loops=3), video("v", 0), P)
        apply(s, Shared(event_id=eid(), ts=T0 + i, user_id="u1", video_id="v"), video("v", 0), P)
    assert np.linalg.norm(s.short) <= P.max_norm + 1e-6
    assert np.linalg.norm(s.long) <= P.max_norm + 1e-6
    for i in range(200):
        apply(s, view("v", T0 + 1_000 + i, 100), video("v", 0), P)
    assert np.linalg.norm(s.long) <= P.max_norm + 1e-6
    assert s.short.dtype == np.float32 and s.long.dtype == np.float32


def test_cold_start_counts_and_personalisation() -> None:
    s = new_state("stranger", P)
    assert s.version == 0 and not s.registered and personalisation(s, P) == 0.0
    assert s.region == "ZZ" and s.age_band == "unknown"
    apply(s, UserRegistered(event_id=eid(), ts=T0, user_id="stranger", region="GB", language="en",
                            birth_year=2000), None, P)
    assert s.registered and s.region == "GB" and s.age_band == "25-34"
    levels = []
    for i in range(P.warm_after + 5):
        apply(s, view(f"v{i}", T0 + i, 20_000, user="stranger"), video(f"v{i}", i % 16), P)
        levels.append(personalisation(s, P))
    assert levels == sorted(levels) and levels[0] > 0 and levels[-1] == 1.0
    apply(s, view("w", T0 + 99, 500, user="stranger"), video("w", 3), P)
    assert s.counts.views == P.warm_after + 6 and s.counts.completes == P.warm_after + 5
    assert s.counts.skips == 1
    assert s.version == P.warm_after + 7  # every applied event counts, registration included


def test_follow_after_watching_the_creator_boosts_toward_that_video() -> None:
    s = warmed()
    apply(s, view("v", T0 + 1, 1_000), video("v", 0, creator="c5"), P)  # a skip: away from axis 0
    before = s.long[0]
    f = Followed(event_id=eid(), ts=T0 + 2, user_id="u1", creator_id="c5")
    apply(s, f, video("v", 0, creator="c5"), P)
    assert s.long[0] > before and s.following == {"c5"} and s.counts.follows == 1


def test_seen_set_ring_spills_into_bloom() -> None:
    seen = SeenSet(ring=4, bits=1024, hashes=3)
    for i in range(10):
        seen.add(f"v{i}")
        seen.add(f"v{i}")  # repeats are no-ops
    assert seen.recent() == ["v6", "v7", "v8", "v9"]
    assert all(f"v{i}" in seen for i in range(10))
    assert seen.bloom and sum(f"x{i}" in seen for i in range(1000)) < 100  # few false positives
    copy = SeenSet.restore(seen.recent(), bytes(seen.bloom), 4, 1024, 3)
    for s in (seen, copy):
        s.add("v10")
    assert copy.recent() == seen.recent() and copy.bloom == seen.bloom


def test_view_reports_filters_in_one_struct() -> None:
    s = new_state("u1", StateParams(dim=16, seen_ring=2))
    p = StateParams(dim=16, seen_ring=2)
    for i in range(5):
        apply(s, view(f"v{i}", T0 + i, 20_000), video(f"v{i}", i), p)
    v = view_of(s, p)
    assert v.seen == ["v3", "v4"] and v.version == 5 and len(v.short) == 16
    assert all(might_have_seen(v, f"v{i}") for i in range(5))
    later = session_vector(v, v.last_ts + int(p.short_half_life_s * 1e6))
    assert np.allclose(np.array(later) * 2, v.short) and session_vector(v, v.last_ts) == v.short


def _lookup(known: dict[str, VideoInfo]):  # type: ignore[no-untyped-def]
    return known.get


def test_held_back_events_apply_in_order_once_the_embedding_arrives() -> None:
    known = {"a": video("a", 0), "b": video("b", 1)}
    events: list[Event] = [view("a", T0, 20_000), view("late", T0 + 10, 20_000),
              Liked(event_id=eid(), ts=T0 + 20, user_id="u1", video_id="b"), view("b", T0 + 30, 1_000)]
    live = new_state("u1", P)
    held = [step(live, e, _lookup(known), P) for e in events]
    assert held == [False, True, True, True]
    assert live.version == 1 and len(live.held) == 3
    assert "late" in view_of(live, P).seen  # filtered even while held
    known["late"] = video("late", 2)
    assert release(live, _lookup(known), P) is False
    reference = new_state("u1", P)
    for e in events:
        step(reference, e, _lookup(known), P)
    assert to_record(live) == to_record(reference)
    assert live.counts.unembedded == 0


def test_held_back_events_expire_into_an_unembedded_apply() -> None:
    p = StateParams(dim=16, max_held=3)
    s = new_state("u1", p)
    for i in range(5):
        step(s, view("ghost", T0 + i, 20_000), _lookup({}), p)
    assert len(s.held) == 3 and s.version == 2
    assert s.counts.unembedded == 2 and s.counts.views == 2 and "ghost" in s.seen
    assert not s.long.any()  # nothing to move toward: vectors untouched, the event is counted
    s2 = new_state("u1", p)
    step(s2, view("ghost", T0, 20_000), _lookup({}), p)
    step(s2, view("ghost", T0 + int(p.hold_window_s * 1e6) + 1, 20_000), _lookup({}), p)
    assert s2.version == 1 and len(s2.held) == 1  # the window, in event time, also expires


def test_checkpoint_record_round_trips_exactly() -> None:
    p = StateParams(dim=16, seen_ring=3)
    s = new_state("u1", p)
    for i in range(8):
        known = _lookup({f"v{i}": video(f"v{i}", i)})
        step(s, view(f"v{i}", T0 + i * 1_000_000, 20_000, loops=i % 2), known, p)
    step(s, view("missing", T0 + 10**7, 20_000), _lookup({}), p)
    back = from_record(to_record(s), p)
    assert to_record(back) == to_record(s)
    nxt = view("v1", T0 + 2 * 10**7, 20_000)
    known = _lookup({"v1": video("v1", 1), "missing": video("missing", 5)})
    for state in (s, back):
        step(state, nxt, known, p)
    assert to_record(back) == to_record(s) and not s.held


def test_content_encoder_is_deterministic_and_meaningful() -> None:
    enc = ContentEncoder(dim=64, seed=3)
    a = enc.encode(video_id="v1", creator_id="c1", caption="cute cats", hashtags=("cats", "pets"),
                   sound_id="s1")
    b = enc.encode(video_id="v2", creator_id="c2", caption="my cat", hashtags=("#Cats", "pets"),
                   sound_id="s1")
    c = enc.encode(video_id="v3", creator_id="c3", caption="football goals", hashtags=("football",),
                   sound_id="s9")
    assert a.dtype == np.float32 and np.linalg.norm(a) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(a, ContentEncoder(dim=64, seed=3).encode(
        video_id="v1", creator_id="c1", caption="cute cats", hashtags=("cats", "pets"), sound_id="s1"))
    assert cos(a, b) > cos(a, c) + 0.2
    assert not np.array_equal(a, ContentEncoder(dim=64, seed=4).encode(
        video_id="v1", creator_id="c1", caption="cute cats", hashtags=("cats", "pets"), sound_id="s1"))


def test_directory_learns_from_details_and_first_details_win() -> None:
    d = VideoDirectory(ContentEncoder(dim=16))
    first = VideoDetailsSubmitted(event_id=eid(), ts=T0, video_id="v", creator_id="c", caption="hello",
                                  sound_id="s")
    assert d.get("v") is None and d.observe(first)
    emb = d.get("v")
    assert emb is not None and emb.creator_id == "c" and emb.sound_id == "s"
    again = VideoDetailsSubmitted(event_id=eid(), ts=T0 + 1, video_id="v", creator_id="c", caption="edited")
    assert not d.observe(again)
    np.testing.assert_array_equal(d.get("v").embedding, emb.embedding)  # type: ignore[union-attr]
