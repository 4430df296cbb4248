"""Moderation: review queue order and stats, report thresholds (10/11, 50/51), one appeal, flags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    AppealDecided,
    AppealFiled,
    ModerationDecided,
    ModerationScored,
    Reported,
    ReviewDecided,
    VideoRemoved,
)
from projections.base import fold_all
from projections.moderation import (
    PROJECTION,
    ModerationProjection,
    appeal_status,
    queue_stats,
    review_queue,
    video_flags,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

S = 1_000_000
_n = iter(range(10**9))


def eid():
    return f"e{next(_n)}"


def held(video, ts, scores=None):
    return [
        ModerationScored(
            event_id=eid(), ts=ts, video_id=video, scores=scores or {"nudity": 0.8, "violence": None}
        ),
        ModerationDecided(
            event_id=eid(), ts=ts, video_id=video, decision="review", category="nudity", max_score=0.8
        ),
    ]


def review(video, decision="approve", ts=T0 + 100 * S, rating=None):
    return ReviewDecided(
        event_id=eid(), ts=ts, video_id=video, moderator_id="m", decision=decision, age_rating=rating
    )


def reports(video, n, start=0, ts=T0):
    return [
        Reported(event_id=eid(), ts=ts + i, user_id=f"u{i}", video_id=video, reason="spam")
        for i in range(start, n)
    ]


def test_queue_oldest_first_with_scores_and_stats():
    view = fold_all(PROJECTION, [*held("b", T0 + 20 * S), *held("a", T0 + 10 * S), *held("c", T0 + 30 * S)])
    queue = review_queue(view)
    assert [i.video_id for i in queue] == ["a", "b", "c"]
    assert queue[0].scores == {"nudity": 0.8, "violence": None} and queue[0].max_score == 0.8
    assert queue[0].reason == "review" and queue[0].category == "nudity"
    assert [i.video_id for i in review_queue(view, limit=2)] == ["a", "b"]
    stats = queue_stats(view, now_us=T0 + 70 * S)
    assert stats.size == 3 and stats.oldest_age_us == 60 * S

    view = fold_all(PROJECTION, [review("a"), review("a")], view)  # deciding twice dequeues once
    assert [i.video_id for i in review_queue(view)] == ["b", "c"]
    assert queue_stats(view, now_us=T0 + 70 * S) == type(stats)(size=2, oldest_age_us=50 * S)
    view = fold_all(PROJECTION, [review("b", "reject"), review("c", rating="mature")], view)
    assert review_queue(view) == [] and queue_stats(view, now_us=T0).oldest_age_us == 0
    assert queue_stats(view, now_us=T0).size == 0
    assert video_flags(view, "c").mature and not video_flags(view, "b").mature


def test_decision_held_twice_keeps_its_place():
    view = fold_all(PROJECTION, [*held("a", T0), *held("b", T0 + 1), *held("a", T0 + 2)])
    assert [i.video_id for i in review_queue(view)] == ["a", "b"] and queue_stats(view, T0).size == 2


def test_report_thresholds_demote_after_10_and_remove_after_50():
    view = fold_all(PROJECTION, reports("v", 10))
    assert video_flags(view, "v").reports == 10 and not video_flags(view, "v").demoted
    view = fold_all(PROJECTION, reports("v", 11, start=10), view)
    assert video_flags(view, "v").demoted and not video_flags(view, "v").removed_by_reports
    view = fold_all(PROJECTION, reports("v", 50, start=11), view)
    assert not video_flags(view, "v").removed_by_reports and review_queue(view) == []
    view = fold_all(PROJECTION, reports("v", 51, start=50, ts=T0 + S), view)
    flags = video_flags(view, "v")
    assert flags.removed_by_reports and flags.demoted and flags.reports == 51
    queue = review_queue(view)
    assert [(i.video_id, i.reason, i.queued_at) for i in queue] == [("v", "reports", T0 + S + 50)]
    view = fold_all(PROJECTION, reports("v", 60, start=51), view)
    assert queue_stats(view, T0).size == 1  # queued once


def test_one_report_per_user_counts_once():
    same = [Reported(event_id=eid(), ts=T0 + i, user_id="troll", video_id="v", reason="x") for i in range(30)]
    view = fold_all(PROJECTION, same)
    assert video_flags(view, "v").reports == 1 and not video_flags(view, "v").demoted


def test_thresholds_are_configurable():
    proj = ModerationProjection(demote_after=1, remove_after=2)
    view = fold_all(proj, reports("v", 2))
    assert video_flags(view, "v").demoted and not video_flags(view, "v").removed_by_reports
    view = fold_all(proj, reports("v", 3, start=2), view)
    assert video_flags(view, "v").removed_by_reports


def test_approval_clears_report_flags_and_reports_count_afresh():
    view = fold_all(PROJECTION, [*reports("v", 51), review("v")])
    flags = video_flags(view, "v")
    assert not flags.demoted and not flags.removed_by_reports and flags.reports == 51
    view = fold_all(PROJECTION, reports("v", 62, start=51), view)
    assert video_flags(view, "v").demoted  # 11 fresh reports


def test_appeal_counts_once_and_records_outcome():
    appeal = [
        AppealFiled(event_id=eid(), ts=T0 + 200 * S + i, video_id="v", creator_id="c") for i in range(3)
    ]
    base = [*held("v", T0), review("v", "reject")]
    view = fold_all(PROJECTION, [*base, *appeal])
    assert appeal_status(view, "v") == "pending"
    assert [(i.video_id, i.reason, i.appeal) for i in review_queue(view)] == [("v", "appeal", "pending")]
    assert queue_stats(view, T0 + 300 * S).oldest_age_us == 100 * S
    decided = AppealDecided(event_id=eid(), ts=T0 + 400 * S, video_id="v", moderator_id="m2", upheld=True)
    view = fold_all(PROJECTION, [decided], view)
    assert appeal_status(view, "v") == "upheld" and review_queue(view) == []
    again = AppealFiled(event_id=eid(), ts=T0 + 500 * S, video_id="v", creator_id="c")
    view = fold_all(PROJECTION, [again], view)
    assert appeal_status(view, "v") == "upheld" and review_queue(view) == []
    overturn = fold_all(
        PROJECTION,
        [
            *base,
            appeal[0],
            AppealDecided(event_id=eid(), ts=T0 + 400 * S, video_id="v", moderator_id="m", upheld=False),
        ],
    )
    assert appeal_status(overturn, "v") == "overturned"
    assert appeal_status(overturn, "unknown") == "none"


def test_creator_removal_dequeues_but_report_removal_keeps_it_queued():
    view = fold_all(PROJECTION, [*held("a", T0), *reports("b", 51)])
    view = fold_all(PROJECTION, [VideoRemoved(event_id=eid(), ts=T0 + S, video_id="b", by="reports")], view)
    assert [i.video_id for i in review_queue(view)] == ["a", "b"]
    view = fold_all(PROJECTION, [VideoRemoved(event_id=eid(), ts=T0 + S, video_id="a", by="creator")], view)
    assert [i.video_id for i in review_queue(view)] == ["b"] and queue_stats(view, T0).size == 1


def test_unknown_video_flags_are_clear():
    flags = video_flags(fold_all(PROJECTION, []), "nothing")
    assert not flags.demoted and not flags.removed_by_reports and not flags.mature and flags.reports == 0


def _queue_consistent(view) -> None:
    entries = [k for k in view.data if k.startswith("q:")]
    size = view.data.get("qs")
    assert (0 if size is None else size.size) == len(entries)
    queued = {v.video_id for k, v in view.data.items() if k.startswith("v:") and v.queued_at is not None}
    assert queued == {item.video_id for item in review_queue(view, limit=None)}


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    _queue_consistent(check_fold_laws(PROJECTION, events, split))
    _queue_consistent(check_fold_laws(ModerationProjection(demote_after=1, remove_after=2), events, split))


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    _queue_consistent(check_fold_laws(PROJECTION, events, len(events) // 2))
