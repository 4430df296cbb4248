"""Helpers of the API integration tests: a token-carrying HTTP client and waiting for video states."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

__all__ = ["Api", "wait_status"]


class Api:
    """Plain ``requests`` against the running app (no retries: tests see every status)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.user_id: str | None = None
        self.s = requests.Session()

    def url(self, path: str) -> str:
        return self.base + (path if path.startswith(("/api/", "/media/", "/docs", "/openapi")) else
                            "/api/v1" + path)

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> requests.Response:
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return self.s.request(method, self.url(path), headers=h, timeout=60, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def register(self, **body: Any) -> Api:
        r = requests.post(self.url("/auth/register"), json={"name": "t", "region": "GB", **body}, timeout=60)
        assert r.status_code == 201, r.text
        api = Api(self.base, r.json()["token"])
        api.user_id = r.json()["user_id"]
        return api

    def upload(self, clip: Path, *, description: str = "a clip #test", privacy: str = "public",
               music_id: str | None = "sound-test") -> str:
        r = self.post("/videos/upload-url")
        assert r.status_code == 201, r.text
        ticket = r.json()
        put = self.request("PUT", ticket["upload_url"], data=clip.read_bytes())
        assert put.status_code == 201, put.text
        pub = self.post(f"/videos/{ticket['video_id']}/publish",
                        json={"description": description, "privacy": privacy, "music_id": music_id})
        assert pub.status_code == 202, pub.text
        assert pub.json()["status"] == "processing"
        return str(ticket["video_id"])


def wait_status(api: Api, video_id: str, statuses: set[str], timeout_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = api.get(f"/videos/{video_id}")
        body = r.json()
        if r.status_code == 200 and body.get("status") in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"video {video_id} did not reach {statuses} in {timeout_s} s: {body}")
