"""The running Serve app over HTTP: upload -> publish -> published -> in feeds, read-your-writes, privacy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .api_client import Api, wait_status

pytestmark = pytest.mark.timeout(600)


def _feed_ids(api: Api, pages: int = 6, count: int = 10) -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    bodies = []
    cursor = None
    for _ in range(pages):
        r = api.get("/feed", params={"count": count, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.append(body)
        ids += [v["video_id"] for v in body["videos"]]
        cursor = body["cursor"]
        if not cursor or not body["videos"]:
            break
    return ids, bodies


def test_published_video_card_and_media(videos: dict[str, Any]) -> None:
    creator: Api = videos["creator"]
    card = videos["cards"]["public"]
    assert card["creator"]["id"] == creator.user_id and card["creator"]["name"] == "Clip Maker"
    assert card["hashtags"][:2] == ["apitest", "public"] and card["music"]["id"] == "sound-public"
    assert card["duration_sec"] == pytest.approx(3.0, abs=0.3)
    assert set(card["stats"]) == {"plays", "likes", "comments", "shares"}
    playlist = creator.get(card["hls_url"])
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    thumb = creator.get(card["thumbnail_url"], headers={"Range": "bytes=0-99"})
    assert thumb.status_code == 206 and len(thumb.content) == 100
    assert thumb.headers["content-range"].startswith("bytes 0-99/")


def test_published_video_appears_in_feeds_search_and_profile(videos: dict[str, Any],
                                                             api_platform: Any) -> None:
    vid = videos["ids"]["public"]
    viewer = Api(api_platform.base_url).register(name="Viewer", birth_year=1995)
    ids, bodies = _feed_ids(viewer)
    assert vid in ids
    first = bodies[0]
    assert first["videos"] and {"video_id", "creator", "stats", "hls_url", "thumbnail_url", "duration_sec",
                                "created_at", "description", "hashtags", "music"} <= set(first["videos"][0])
    assert first["prefetch"] and first["prefetch"][0]["playlist_url"]
    r = viewer.get("/feed")
    timing = r.headers["Server-Timing"]
    assert "total" in timing or "feed" in timing
    found = viewer.get("/search", params={"q": "apitest", "type": "video"}).json()["results"]
    assert vid in [c["video_id"] for c in found]
    profile = viewer.get(f"/users/{videos['creator'].user_id}/videos").json()["videos"]
    assert [c["video_id"] for c in profile] == [vid]  # private and friends-only are not listed


def test_like_shows_in_counters_and_next_feed_user_state_version(videos: dict[str, Any],
                                                                 api_platform: Any) -> None:
    vid = videos["ids"]["public"]
    fan = Api(api_platform.base_url).register(name="Fan", birth_year=2000)
    before = fan.get("/feed").json()
    likes_before = fan.get(f"/videos/{vid}").json()["stats"]["likes"]
    r = fan.post(f"/videos/{vid}/like")
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    assert r.json()["stats"]["likes"] == likes_before + 1
    assert fan.get(f"/videos/{vid}").json()["stats"]["likes"] == likes_before + 1
    after = fan.get("/feed").json()
    if before["user_state_version"] is not None:
        assert after["user_state_version"] > before["user_state_version"]
    else:
        assert after["user_state_version"] is not None
    r = fan.request("DELETE", f"/videos/{vid}/like")
    assert r.status_code == 200 and r.json()["stats"]["likes"] == likes_before


def test_private_and_friends_only_visibility(videos: dict[str, Any], api_platform: Any) -> None:
    creator: Api = videos["creator"]
    private, friends = videos["ids"]["private"], videos["ids"]["friends"]
    stranger = Api(api_platform.base_url).register(name="Stranger", birth_year=1990)
    friend = Api(api_platform.base_url).register(name="Friend", birth_year=1990)
    assert creator.get(f"/videos/{private}").status_code == 200
    for vid in (private, friends):
        r = stranger.get(f"/videos/{vid}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert stranger.post(f"/videos/{vid}/like").status_code == 404
    # following one way is not enough for friends-only; mutual follows are
    assert friend.post(f"/users/{creator.user_id}/follow").status_code == 200
    assert friend.get(f"/videos/{friends}").status_code == 404
    assert creator.post(f"/users/{friend.user_id}/follow").status_code == 200
    assert friend.get(f"/videos/{friends}").status_code == 200
    assert friend.get(f"/videos/{private}").status_code == 404
    listed = [c["video_id"] for c in friend.get(f"/users/{creator.user_id}/videos").json()["videos"]]
    assert friends in listed and private not in listed
    ids, _ = _feed_ids(stranger)
    assert private not in ids and friends not in ids


def test_owner_sees_rejection_reason_of_failed_upload(api_platform: Any, tmp_path: Path) -> None:
    creator = Api(api_platform.base_url).register(name="Bad Uploader", birth_year=1990)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    vid = creator.upload(junk, description="broken")
    card = wait_status(creator, vid, {"failed", "rejected"}, timeout_s=120)
    assert card["reason"]
    other = Api(api_platform.base_url).register(name="Other", birth_year=1990)
    assert other.get(f"/videos/{vid}").status_code == 404


def test_comments_and_notifications(videos: dict[str, Any], api_platform: Any) -> None:
    vid = videos["ids"]["public"]
    creator: Api = videos["creator"]
    commenter = Api(api_platform.base_url).register(name="Chatty", birth_year=1990)
    r = commenter.post(f"/videos/{vid}/comments", json={"text": "first!"})
    assert r.status_code == 201, r.text
    listed = commenter.get(f"/videos/{vid}/comments").json()["comments"]
    assert listed[0]["text"] == "first!" and listed[0]["user"]["name"] == "Chatty"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inbox = creator.get("/notifications").json()
        if any(n["kind"] == "comment" for n in inbox["items"]):
            break
        time.sleep(0.2)
    assert inbox["unread"] >= 1 and any(n["kind"] == "comment" for n in inbox["items"])
    assert creator.post("/notifications/read", json={}).json()["unread"] == 0


def test_creator_analytics_only_for_the_creator(videos: dict[str, Any], api_platform: Any) -> None:
    creator: Api = videos["creator"]
    r = creator.get(f"/creators/{creator.user_id}/analytics", params={"days": 7})
    assert r.status_code == 200 and len(r.json()["days"]) == 7
    other = Api(api_platform.base_url).register(name="Nosy", birth_year=1990)
    r = other.get(f"/creators/{creator.user_id}/analytics")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
