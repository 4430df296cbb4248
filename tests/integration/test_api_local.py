"""Route logic of the API in-process (Starlette TestClient, no Ray): 503 with ``Retry-After`` when the
log is down, and while the replica is starting; the OpenAPI document; idempotency on a real log."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blobs import open_blobs
from events import open_log
from pipeline.uploads import UploadService
from projections.admin import run_views
from projections.registry import all_projections
from projections.store import open_store
from reelstack.settings import load_settings
from serve.api import ApiContext, create_api, resolve_secrets
from serve.api.deps import set_context
from serve.api.routes_auth import issue_token


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[TestClient, ApiContext, Any]]:
    """The app in a TestClient, its context on a real file log opened in the app's own event loop."""
    settings = resolve_secrets(load_settings({}, data_dir=str(tmp_path)))
    with TestClient(create_api()) as client:
        assert client.portal is not None
        log = client.portal.call(functools.partial(open_log, settings.log_url, partitions=4))
        blobs = open_blobs(settings.blob_url)
        ctx = ApiContext(settings=settings, appender=log, store=open_store("memory://"), blobs=blobs,
                         uploads=UploadService(log, blobs, secret=b"k"))
        set_context(ctx)
        yield client, ctx, log
        set_context(None)
        client.portal.call(log.close)


def _fold(client: TestClient, ctx: ApiContext, log: Any) -> None:
    assert client.portal is not None
    client.portal.call(functools.partial(run_views, log, ctx.store, all_projections(), asyncio.Event(),
                                         until_caught_up=True))


def _events(client: TestClient, log: Any) -> list[Any]:
    assert client.portal is not None
    return [rec.event for p in range(4) for rec in client.portal.call(log.read, p, 0)]


def test_starting_replica_answers_503_with_retry_after() -> None:
    set_context(None)
    client = TestClient(create_api())
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer x.y"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "unavailable"


def test_log_down_answers_503_with_retry_after(local: tuple[TestClient, ApiContext, Any]) -> None:
    client, ctx, log = local
    token = issue_token(ctx, "u-1").token
    h = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/v1/events", headers=h,
                    json={"events": [{"type": "impression", "video_id": "v1"}]})
    assert r.status_code == 202, r.text
    assert client.portal is not None
    client.portal.call(log.close)
    r = client.post("/api/v1/events", headers=h,
                    json={"events": [{"type": "impression", "video_id": "v1"}]})
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "storage_unavailable"
    r = client.post("/api/v1/auth/register", json={"name": "x"})
    assert r.status_code == 503


def test_register_appends_user_registered(local: tuple[TestClient, ApiContext, Any]) -> None:
    client, ctx, log = local
    r = client.post("/api/v1/auth/register", json={"name": "Ann", "region": "de", "birth_year": 1999})
    assert r.status_code == 201
    user_id = r.json()["user_id"]
    events = _events(client, log)
    [reg] = [e for e in events if type(e).__name__ == "UserRegistered"]
    assert (reg.user_id, reg.name, reg.region, reg.birth_year) == (user_id, "Ann", "DE", 1999)
    assert reg.role == "user"
    _fold(client, ctx, log)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).json()
    assert me["name"] == "Ann" and me["region"] == "DE"


def test_idempotency_key_in_progress_conflict(local: tuple[TestClient, ApiContext, Any]) -> None:
    client, ctx, _ = local
    token = issue_token(ctx, "u-2").token
    scope = ctx.idempotency.scope("u-2", "k1")
    ctx.idempotency.begin(scope, "fingerprint-of-a-request-still-running")
    r = client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"},
                    json={"events": [{"type": "impression", "video_id": "v1"}]})
    assert r.status_code in (409, 422)  # a different body: 422; the same one still running: 409
    assert r.json()["error"]["code"] in ("idempotency_in_progress", "idempotency_key_reused")


def test_openapi_lists_every_route() -> None:
    spec = create_api().openapi()
    paths = set(spec["paths"])
    for p in ("/api/v1/auth/register", "/api/v1/auth/anonymous", "/api/v1/feed", "/api/v1/videos/upload-url",
              "/api/v1/videos/{video_id}/publish", "/api/v1/videos/{video_id}", "/api/v1/events",
              "/api/v1/videos/{video_id}/like", "/api/v1/videos/{video_id}/comments", "/api/v1/search",
              "/api/v1/trending", "/api/v1/users/{user_id}", "/api/v1/notifications",
              "/api/v1/creators/{creator_id}/analytics", "/api/v1/moderation/queue",
              "/api/v1/videos/{video_id}/appeal", "/api/v1/users/{user_id}/follow"):
        assert p in paths, p


def test_web_client_at_root_and_docs() -> None:
    client = TestClient(create_api())
    root = client.get("/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    assert client.get("/docs").status_code == 200
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
