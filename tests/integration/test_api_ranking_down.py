"""The ranking deployment killed under a running app: feeds still answer 200, ``personalized: false``
with the reason, and personalised pages come back once Serve has replaced the replica."""

from __future__ import annotations

import time
from typing import Any

import pytest
import ray

from .api_client import Api

pytestmark = pytest.mark.timeout(300)


def _ranking_replicas() -> list[Any]:
    names = [a for a in ray.util.list_named_actors(all_namespaces=True)
             if "#ranking#" in a["name"] and a["name"].startswith("SERVE_REPLICA")]
    return [ray.get_actor(a["name"], namespace=a["namespace"]) for a in names]


def _first_page(api_platform: Any) -> dict[str, Any]:
    """A brand-new viewer's first page (nothing seen yet, so the catalogue's videos are all candidates)."""
    viewer = Api(api_platform.base_url).register(name="Ranked", birth_year=1990)
    r = viewer.get("/feed", params={"count": 5})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _personalised_page(api_platform: Any, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = _first_page(api_platform)
        if body["personalized"] and body["videos"]:
            return body
        time.sleep(0.5)
    raise AssertionError(f"no personalised page within {timeout_s} s: {body}")


def test_ranking_killed_degrades_to_unpersonalised_200(videos: dict[str, Any], api_platform: Any) -> None:
    _personalised_page(api_platform, 60)
    replicas = _ranking_replicas()
    assert replicas, "the ranking deployment is not running"
    for handle in replicas:
        ray.kill(handle, no_restart=True)
    degraded = [_first_page(api_platform) for _ in range(4)]
    assert any(not b["personalized"] and "ranking" in (b["reason"] or "") for b in degraded), degraded
    assert all(b["videos"] for b in degraded)  # degraded, never empty
    # Serve replaces the replica and the breaker closes again
    _personalised_page(api_platform, 120)
