"""Simulation metrics from a hand-made trace: curves, crossings, engagement, new-creator figures."""

from __future__ import annotations

from sim.metrics import compute_metrics, crossing, curve, views_threshold
from sim.trace import PageRecord, Trace, UploadRecord, ViewRecord


def _page(user: int, k: int, share: float, arm: str = "p", since: int | None = None) -> PageRecord:
    return PageRecord(
        user=user, arm=arm, k=k, since_shift=since, on_interest=share, size=4, personalized=True, t=float(k)
    )


def _view(
    user: int,
    vid: str,
    *,
    arm: str = "p",
    on: bool = True,
    t: float = 0.0,
    tick: int = 0,
    completed: bool = True,
    creator: str = "c1",
) -> ViewRecord:
    return ViewRecord(
        user=user,
        arm=arm,
        session=0,
        video_id=vid,
        creator_id=creator,
        hashtags=("cats", "pets"),
        topic="cats",
        on_interest=on,
        watch_ms=4000 if completed else 500,
        duration_ms=4000,
        completed=completed,
        skipped=not completed,
        liked=completed,
        shared=False,
        followed=False,
        t=t,
        tick=tick,
    )


def test_cold_start_is_the_first_k_where_the_mean_share_reaches_the_target() -> None:
    pages = [_page(u, k, s) for u in range(3) for k, s in ((0, 0.25), (4, 0.5), (8, 0.75), (12, 0.75))]
    c = curve(pages)
    assert c[8] == (0.75, 3)
    assert crossing(c, 0.7) == 8
    assert crossing(c, 0.8) is None
    assert crossing(c, 0.7, min_pages=4) is None  # too few users at each k
    shifted = [_page(0, 30, 0.0, since=0), _page(0, 34, 1.0, since=4)]
    assert curve(shifted) == {} and curve(shifted, shifted=True) == {0: (0.0, 1), 4: (1.0, 1)}


def test_compute_metrics_shapes_and_values() -> None:
    trace = Trace(users=2, steps=2, page_size=2, arms={0: "p", 1: "q"})
    trace.pages = [_page(0, 0, 1.0), _page(1, 0, 0.0, arm="q")]
    trace.uploads = [
        UploadRecord(
            video_id="new",
            creator_id="nc",
            topic="cats",
            quality=0.8,
            new_creator=True,
            uploaded_t=0.0,
            published_t=1.0,
            published_tick=0,
            status="published",
        )
    ]
    trace.views = [
        _view(0, "new", t=2.0, tick=1, creator="nc"),
        _view(0, "old", t=3.0, tick=2),
        _view(1, "old", arm="q", on=False, completed=False, t=3.0, tick=3),
    ]
    m = compute_metrics(trace, target=0.7)
    p, q = m["arms"]["p"], m["arms"]["q"]
    assert p["cold_start"]["interactions"] is None  # one page per k: below min_pages
    assert p["engagement"]["completion_rate"] == 1.0 and q["engagement"]["skip_rate"] == 1.0
    assert p["engagement"]["watch_s_per_session"] == 8.0
    assert p["exploration"]["new_creator_impression_share"] == 0.5
    assert q["exploration"]["new_creator_impression_share"] == 0.0
    assert p["diversity"]["distinct_creators"] == 2 and p["diversity"]["distinct_hashtags"] == 2
    nc = m["new_creators"]
    assert nc["good"] == 1 and nc["views_threshold"] == 5 and nc["good_not_reaching_threshold"] == 1
    assert views_threshold(200) == 10 and views_threshold(10) == 5


def test_degraded_pages_are_counted_by_the_kind_of_reason() -> None:
    from sim.metrics import degraded_reasons

    def page(reason: str | None, personalized: bool = False) -> PageRecord:
        return PageRecord(user=0, arm="p", k=0, since_shift=None, on_interest=0.0, size=4,
                          personalized=personalized, t=0.0, reason=reason)

    pages = [page("ranking unavailable (stage 'ranking' took over 100 ms): retrieval order")] * 3 + [
        page("user state unavailable: shard down; served from last feed"),
        page(None), page(None, personalized=True)]
    assert degraded_reasons(pages) == {"ranking unavailable": 3, "user state unavailable": 1, "no reason given": 1}
    assert list(degraded_reasons(pages, top=1)) == ["ranking unavailable"]
    trace = Trace(users=1, steps=1, page_size=4, arms={0: "p"}, pages=pages)
    assert compute_metrics(trace)["arms"]["p"]["degraded_reasons"]["ranking unavailable"] == 3
