"""A small blocking HTTP client of the Reelstack API (demo seeding, ``reel users``, tools).

Retries 429 and 503 answers after their ``Retry-After`` (bounded), raises ``ApiCallError`` with the
API's error code and message otherwise.
"""

from __future__ import annotations

import time
from typing import Any

import requests

__all__ = ["ApiCallError", "ApiClient"]


class ApiCallError(RuntimeError):
    def __init__(self, *, method: str, path: str, status: int, code: str, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{method} {path} -> {status} {code}: {message}")


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 30.0,
                 retries: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.retries = retries
        self.session = requests.Session()

    def with_token(self, token: str) -> ApiClient:
        return ApiClient(self.base_url, token, timeout_s=self.timeout_s, retries=self.retries)

    def call(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        url = path if path.startswith("http") else self.base_url + (
            path if path.startswith("/api/") or path.startswith("/media/") else "/api/v1" + path)
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        for attempt in range(self.retries + 1):
            r = self.session.request(method, url, json=json, data=data, params=params, headers=hdrs,
                                     timeout=self.timeout_s)
            if r.status_code in (429, 503) and attempt < self.retries:
                time.sleep(min(5.0, float(r.headers.get("Retry-After", "1") or 1)))
                continue
            break
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
                code, message = err["code"], err["message"]
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", r.text[:300]
            raise ApiCallError(method=method, path=path, status=r.status_code, code=code, message=message)
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, json: Any = None) -> Any:
        return self.call("POST", path, json=json)
