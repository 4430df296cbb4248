"""``reel simulate`` against the shared platform over HTTP, its experiment arms, and the A/B report.

A tiny run (10 users x 5 interactions, a 4-clip catalogue, one new creator): the JSON has every
metric with sane values, users are split between a personalised and a most-popular arm through the
data dir's experiments file (re-read without a restart), the most-popular arm's pages are never
personalised, and ``reel experiments report`` finds the same arms in the event log.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from sim.driver import SimConfig, simulate
from sim.experiments import Arm, Experiment, ExperimentStore
from sim.metrics import compute_metrics

pytestmark = pytest.mark.timeout(900)

EXP = "it-sim-popular"


@pytest.fixture(scope="module")
def sim_run(api_platform: Any) -> dict[str, Any]:
    store = ExperimentStore(api_platform.settings.data_dir)
    store.upsert(
        Experiment(
            name=EXP, arms=[Arm(name="personalised"), Arm(name="popular", overrides={"personalize": False})]
        )
    )
    time.sleep(1.1)  # the ingress re-reads the file at most once a second
    cfg = SimConfig(
        base_url=api_platform.base_url,
        users=10,
        steps=5,
        page_size=4,
        concurrency=4,
        catalogue=6,
        creators=2,
        new_creators=1,
        experiment=EXP,
        publish_timeout_s=400,
    )
    trace = simulate(cfg)
    return {"trace": trace, "metrics": compute_metrics(trace), "store": store, "platform": api_platform}


def test_simulation_metrics_shape_and_values(sim_run: dict[str, Any]) -> None:
    trace, m = sim_run["trace"], sim_run["metrics"]
    assert not trace.errors, trace.errors
    assert len(trace.views) == 10 * 5
    assert set(m["arms"]) <= {"personalised", "popular"} and sum(a["users"] for a in m["arms"].values()) == 10
    for arm in m["arms"].values():
        e = arm["engagement"]
        for key in ("completion_rate", "like_rate", "share_rate", "skip_rate", "on_interest_share"):
            assert 0.0 <= e[key] <= 1.0
        assert e["watch_s_per_session"] > 0 and e["views"] == arm["users"] * 5
        assert (
            set(arm["cold_start"]) == {"target", "interactions", "curve"}
            and "0" in arm["cold_start"]["curve"]
        )
        assert 0 < arm["diversity"]["distinct_creators"] <= arm["diversity"]["mean_videos_in_window"]
        assert 0.0 <= arm["exploration"]["new_creator_impression_share"] <= 1.0
    if "popular" in m["arms"]:
        assert m["arms"]["popular"]["personalized_pages"] == 0.0
    assert m["new_creators"]["views_threshold"] == 5
    assert all(u.status == "published" for u in trace.uploads), [u.status for u in trace.uploads]


def test_arm_changes_apply_without_a_restart(sim_run: dict[str, Any]) -> None:
    store, platform = sim_run["store"], sim_run["platform"]
    store.set_weights(EXP, {"popular": 0.0})
    time.sleep(1.1)

    async def arms() -> set[str]:
        seen = set()
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=60) as c:
            for i in range(6):
                tok = (await c.post("/api/v1/auth/register", json={"name": f"ramp {i}"})).json()["token"]
                r = await c.get(
                    "/api/v1/feed", params={"count": 2}, headers={"Authorization": f"Bearer {tok}"}
                )
                assert r.status_code == 200
                seen.add(r.json()["experiment"].get(EXP))
        return seen

    assert asyncio.run(arms()) == {"personalised"}
    store.set_status(EXP, "stopped")


def test_report_from_the_event_log(sim_run: dict[str, Any]) -> None:
    from sim.abreport import experiment_report

    platform, trace = sim_run["platform"], sim_run["trace"]
    deadline = time.monotonic() + 30
    while True:
        out = asyncio.run(experiment_report(platform.settings.log_url, EXP, resamples=200))
        expect = {a: sum(1 for x in trace.arms.values() if x == a) for a in set(trace.arms.values())}
        got = {a: v["users"] for a, v in out["arms"].items()}
        if all(got.get(a, 0) >= n for a, n in expect.items()) or time.monotonic() > deadline:
            break
        time.sleep(1)  # impressions are appended in the background of each page
    assert all(got.get(a, 0) >= n for a, n in expect.items()), (got, expect)
    for arm in out["arms"].values():
        assert arm["impressions"] > 0 and arm["views"] > 0
        for ci in arm["metrics"].values():
            assert ci["lo"] <= ci["mean"] <= ci["hi"] or ci["lo"] != ci["lo"]  # nan when undefined
    assert set(out["guardrails"]) == set(out["arms"])
