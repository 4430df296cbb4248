"""A double tap over HTTP: requests of one user for the same follow at once append one event."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from .api_client import Api

pytestmark = pytest.mark.timeout(300)


def test_concurrent_follows_of_one_user_append_one_follow(api_platform: Any) -> None:
    base = api_platform.base_url
    fan = Api(base).register(name="Double Tapper")
    star = Api(base).register(name="Followed Once")
    url = fan.url(f"/users/{star.user_id}/follow")
    auth = {"Authorization": f"Bearer {fan.token}"}

    def tap(_: int) -> int:  # a session each: four connections, as four taps in flight
        return requests.post(url, headers=auth, timeout=60).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(tap, range(4)))
    assert codes == [200, 409, 409, 409]
    assert fan.get(f"/users/{star.user_id}").json()["followers"] == 1
    # and back: one unfollow goes through, the rest find nothing to undo
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: requests.delete(url, headers=auth, timeout=60).status_code, range(4)))
    assert codes == [200, 409, 409, 409]
    assert fan.get(f"/users/{star.user_id}").json()["followers"] == 0
