"""The A/B report folds exposure (Impression.experiment) and outcomes from events into per-arm CIs."""

from __future__ import annotations

from events.schema import Impression, Liked, VideoPublished, VideoRemoved, ViewEnded
from sim.abreport import summarise

N = 0


def _id() -> str:
    global N
    N += 1
    return f"e{N:06d}"


def _events() -> list:
    ev: list = [VideoPublished(event_id=_id(), ts=1, video_id="old", creator_id="c-old")]
    ts = 10
    for i in range(60):
        arm = "a" if i % 2 else "b"
        user = f"u{i}"
        vids = ["old", "new"] if arm == "b" else ["old", "old2"]
        for pos, v in enumerate(vids):
            ts += 1
            ev.append(
                Impression(
                    event_id=_id(),
                    ts=ts,
                    user_id=user,
                    video_id=v,
                    request_id="r",
                    position=pos,
                    experiment={"exp": arm},
                )
            )
            watch = 4000 if arm == "b" else 1000
            ev.append(
                ViewEnded(event_id=_id(), ts=ts, user_id=user, video_id=v, watch_ms=watch, duration_ms=4000)
            )
        if arm == "b":
            ev.append(Liked(event_id=_id(), ts=ts, user_id=user, video_id="new"))
        if i == 0:
            ev.append(VideoPublished(event_id=_id(), ts=ts, video_id="new", creator_id="c-new"))
            ev.append(VideoPublished(event_id=_id(), ts=ts, video_id="old2", creator_id="c-old"))
    ev.append(
        Impression(event_id=_id(), ts=ts + 1, user_id="outsider", video_id="old", request_id="r", position=0)
    )
    ev.append(VideoRemoved(event_id=_id(), ts=ts + 2, video_id="old2", reason="spam"))
    return ev


def test_report_per_arm_with_cis_lifts_and_guardrails() -> None:
    out = summarise(_events(), "exp", control="a", resamples=200, creator_views=10)
    a, b = out["arms"]["a"], out["arms"]["b"]
    assert a["users"] == b["users"] == 30 and "outsider" not in str(out)
    assert b["metrics"]["watch_s_per_user"]["mean"] == 8.0 and a["metrics"]["watch_s_per_user"]["mean"] == 2.0
    assert b["metrics"]["completion_rate"]["mean"] == 1.0 and a["metrics"]["skip_rate"]["mean"] == 0.0
    assert b["metrics"]["new_creator_impression_share"]["mean"] == 0.5
    assert a["metrics"]["new_creator_impression_share"]["mean"] == 0.0
    lift = out["lift"]["b"]["watch_s_per_user"]
    assert lift["mean"] == 3.0 and lift["lo"] <= 3.0 <= lift["hi"]
    g = out["guardrails"]
    assert (
        g["a"]["safety_removed_impression_share"] == 0.5 and g["b"]["safety_removed_impression_share"] == 0.0
    )
    assert g["b"]["creator_health"]["new_creators"] == 1 and g["b"]["creator_health"]["reached"] == 1
    assert g["a"]["creator_health"]["reached"] == 0
    assert summarise(_events(), "other")["arms"] == {}
