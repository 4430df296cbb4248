"""Every error code of the API over HTTP, each with the ``{"error": {"code", "message"}}`` body;
idempotent retries; rate limits with ``Retry-After``; request-size limits."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from events.ids import now_us
from serve.api.auth import Principal, sign_token

from .api_client import Api

pytestmark = pytest.mark.timeout(300)


def _error(r: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"code", "message"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return dict(err)


@pytest.fixture(scope="module")
def user(api_platform: Any) -> Api:
    return Api(api_platform.base_url).register(name="Errors", birth_year=1990)


@pytest.fixture(scope="module")
def video_id(api_platform: Any) -> str:
    """A published public video (the flow tests' clip fixture is session-wide; this one is standalone)."""
    import tempfile
    from pathlib import Path

    from media.synth import make_clip

    from .api_client import wait_status

    creator = Api(api_platform.base_url).register(name="Err Creator", birth_year=1990)
    clip = make_clip(Path(tempfile.mkdtemp()) / "e.mp4", 2, 288, 512, fps=24, seed=77)
    vid = creator.upload(clip, description="errors #errors")
    assert wait_status(creator, vid, {"published"})["status"] == "published"
    return vid


def test_401_without_bad_or_expired_token(api_platform: Any) -> None:
    anon = Api(api_platform.base_url)
    r = anon.get("/auth/me")
    _error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    _error(Api(api_platform.base_url, "not-a-token").get("/auth/me"), 401)
    forged = sign_token(Principal(user_id="u-x", role="admin", expires_at=now_us() + 10**9), b"wrong key")
    _error(Api(api_platform.base_url, forged).get("/moderation/queue"), 401)
    secret = api_platform.settings.auth_secret.encode()
    expired = sign_token(Principal(user_id="u-x", expires_at=now_us() - 1), secret)
    _error(Api(api_platform.base_url, expired).get("/auth/me"), 401)


def test_403_roles_and_ownership(api_platform: Any, user: Api, video_id: str) -> None:
    _error(user.get("/moderation/queue"), 403, "forbidden")
    r = requests.post(api_platform.base_url + "/api/v1/auth/anonymous", json={"region": "GB"}, timeout=30)
    assert r.status_code == 201 and r.json()["anonymous"] is True
    anon = Api(api_platform.base_url, r.json()["token"])
    assert anon.get("/auth/me").json()["anonymous"] is True
    _error(anon.post(f"/videos/{video_id}/like"), 403)  # anonymous users watch; they do not engage
    _error(anon.post("/videos/upload-url"), 403)
    _error(user.post(f"/videos/{video_id}/publish", json={"description": "mine now"}), 403)
    _error(user.post(f"/videos/{video_id}/appeal", json={"reason": "?"}), 403, "appeal_not_allowed")


def test_moderator_role_reaches_the_queue(api_platform: Any) -> None:
    from reelstack.settings import load_settings  # noqa: F401  (the token below is what `reel users` prints)

    secret = api_platform.settings.auth_secret.encode()
    mod = Api(api_platform.base_url,
              sign_token(Principal(user_id="u-mod", role="moderator", expires_at=now_us() + 10**9), secret))
    r = mod.get("/moderation/queue")
    assert r.status_code == 200 and {"items", "health"} <= set(r.json())
    _error(mod.post(f"/moderation/videos/{uuid.uuid4()}/decision", json={"decision": "approve"}), 409,
           "not_in_review")


def test_404s(user: Api) -> None:
    _error(user.get(f"/videos/{uuid.uuid4()}"), 404, "not_found")
    _error(user.get("/users/u-nobody"), 404)
    _error(user.get("/no/such/route"), 404)
    _error(user.get("/media/videos/none/master.m3u8"), 404)


def test_400_and_422(user: Api, video_id: str) -> None:
    _error(user.post(f"/videos/{video_id}/comments", data=b"{not json",
                     headers={"Content-Type": "application/json"}), 400, "bad_json")
    _error(user.get("/feed", params={"cursor": "garbage"}), 400)
    _error(user.post(f"/videos/{video_id}/comments", json={"text": ""}), 422, "validation_failed")
    _error(user.get("/feed", params={"count": 0}), 422)
    _error(user.post("/events", json={"events": [{"type": "teleport", "video_id": "x"}]}), 422)
    _error(user.post("/auth/register", json={"birth_year": 1200}), 422)
    _error(user.post("/events", json={"events": [{"type": "view_ended", "video_id": video_id,
                                                  "watch_ms": 10**7, "duration_ms": 1000}]}), 400)


def test_409_conflicts(api_platform: Any, video_id: str) -> None:
    fan = Api(api_platform.base_url).register(name="Fan 409", birth_year=1990)
    assert fan.post(f"/videos/{video_id}/like").status_code == 200
    _error(fan.post(f"/videos/{video_id}/like"), 409, "already_liked")
    ticket = fan.post("/videos/upload-url").json()
    assert fan.request("PUT", ticket["upload_url"], data=b"x" * 1000).status_code == 201
    _error(fan.request("PUT", ticket["upload_url"], data=b"x" * 1000), 409, "already_uploaded")


def test_413_body_and_upload_limits(api_platform: Any, user: Api, video_id: str) -> None:
    big = "x" * (api_platform.settings.max_body_bytes + 10)
    _error(user.post(f"/videos/{video_id}/comments", json={"text": big}), 413, "payload_too_large")
    ticket = user.post("/videos/upload-url").json()
    too_big = b"\0" * (api_platform.settings.upload_max_bytes + 1)
    _error(user.request("PUT", ticket["upload_url"], data=too_big), 413, "upload_too_large")
    # chunked (no Content-Length) bodies are counted as they arrive
    r = user.post(f"/videos/{video_id}/comments", data=iter([big.encode()[:40_000]] * 3),
                  headers={"Content-Type": "application/json"})
    _error(r, 413)


def test_upload_url_of_another_user_is_refused(api_platform: Any, user: Api) -> None:
    other = Api(api_platform.base_url).register(name="Other", birth_year=1990)
    ticket = user.post("/videos/upload-url").json()
    _error(other.request("PUT", ticket["upload_url"], data=b"abc"), 403)
    _error(user.request("PUT", "/api/v1/uploads/forged.token", data=b"abc"), 403, "upload_token_invalid")


def test_idempotent_retries_append_once(api_platform: Any, video_id: str) -> None:
    fan = Api(api_platform.base_url).register(name="Retrier", birth_year=1990)
    likes = fan.get(f"/videos/{video_id}").json()["stats"]["likes"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = fan.post(f"/videos/{video_id}/like", headers=key)
    again = fan.post(f"/videos/{video_id}/like", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert fan.get(f"/videos/{video_id}").json()["stats"]["likes"] == likes + 1
    key = {"Idempotency-Key": str(uuid.uuid4())}
    c1 = fan.post(f"/videos/{video_id}/comments", json={"text": "once"}, headers=key)
    c2 = fan.post(f"/videos/{video_id}/comments", json={"text": "once"}, headers=key)
    assert c1.status_code == c2.status_code == 201 and c1.json()["comment_id"] == c2.json()["comment_id"]
    listed = fan.get(f"/videos/{video_id}/comments", params={"limit": 100}).json()["comments"]
    texts = [c["text"] for c in listed if c["user"]["id"] == fan.user_id]
    assert texts == ["once"]
    _error(fan.post(f"/videos/{video_id}/comments", json={"text": "different"}, headers=key), 422,
           "idempotency_key_reused")
    # the same key from another user is another request
    other = Api(api_platform.base_url).register(name="Other retrier", birth_year=1990)
    c3 = other.post(f"/videos/{video_id}/comments", json={"text": "once"}, headers=key)
    assert c3.status_code == 201 and c3.json()["comment_id"] != c1.json()["comment_id"]


def test_rate_limit_429_with_retry_after(api_platform: Any) -> None:
    burst = api_platform.settings.rate_user_burst
    hog = Api(api_platform.base_url).register(name="Hog", birth_year=1990)

    def hit(_: int) -> requests.Response:
        return requests.get(hog.url("/auth/me"), headers={"Authorization": f"Bearer {hog.token}"}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(hit, range(burst * 2 + 20)))
    limited = [r for r in answers if r.status_code == 429]
    assert limited, [r.status_code for r in answers]
    _error(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert sum(r.status_code == 200 for r in answers) >= burst // 2
    # another user is not affected
    assert Api(api_platform.base_url).register(name="Calm").get("/auth/me").status_code == 200
