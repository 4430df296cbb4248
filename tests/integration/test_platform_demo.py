"""A small demo seeding (``reelstack.demo.seed_demo``) shows up in every demo creator's analytics.

The demo creators' ``GET /creators/{id}/analytics`` has ``totals.plays`` (an object with named
counts, as the API documents; it used to be the stored array ``["cc", plays, ...]``, so clients
reading ``totals.plays`` showed 0) equal to the views of its daily rows, and all of them together
count every view the demo replayed.
"""

from __future__ import annotations

import time
from typing import Any

from events.ids import now_us
from reelstack.demo import seed_demo
from serve.api.auth import Principal, sign_token

from .api_client import Api


def test_demo_views_count_as_plays_in_creator_analytics(api_platform: Any) -> None:
    report = seed_demo(api_platform.base_url, clips=2, creators=2, viewers=6, workers=2, seed=23,
                       publish_timeout_s=420)
    assert report.published == 2 and report.views > 0, report
    assert len(report.creator_ids) == 2
    secret = api_platform.settings.auth_secret.encode()
    plays = {}
    for creator in report.creator_ids:
        token = sign_token(Principal(user_id=creator, expires_at=now_us() + 3600 * 10**6), secret)
        api = Api(api_platform.base_url, token)
        deadline = time.monotonic() + 60  # the views are folded by two views (counters, analytics)
        while True:
            r = api.get(f"/creators/{creator}/analytics", params={"days": 30})
            assert r.status_code == 200, r.text
            body = r.json()
            totals, day_views = body["totals"], sum(d["views"] for d in body["days"])
            assert isinstance(totals, dict), totals
            if (totals["plays"] == day_views and day_views > 0) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert totals["plays"] == day_views > 0, body
        assert totals["videos"] == 1 and totals["viewers"] >= 1
        plays[creator] = totals["plays"]
    # every viewer watches each published demo clip (<= 6 of them) besides what its feed shows, which on a
    # shared test platform includes other tests' videos: so at least viewers x published plays, at most views
    assert report.viewers * report.published <= sum(plays.values()) <= report.views, (plays, report)
